//! The storage conformance suite (feature `conformance`), split by concern.
//!
//! Every backend runs every case through [`crate::conformance_tests!`]; a backend is correct
//! when the whole suite passes.

mod alerts;
mod audit;
mod coordination;
mod fixtures;
mod inspection;
mod outbox;
mod quarantine;

pub use alerts::*;
pub use audit::*;
pub use coordination::*;
pub use inspection::*;
pub use outbox::*;
pub use quarantine::*;

/// Instantiates the suite for a backend. `$make` is an async expression yielding
/// `Option<Arc<dyn Store>>` on a fresh, empty database; `None` skips the case (only when the
/// developer explicitly asked to skip an unavailable backend).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            new_alert_creates_exactly_one_page_job,
            reingesting_the_same_version_changes_nothing,
            a_changed_alert_never_pages_again,
            an_alert_raised_above_the_threshold_later_pages_then,
            idempotency_keys_are_unique,
            cursors_round_trip_per_tenant_and_source,
            claims_lease_jobs_and_fence_their_completion,
            retries_wait_until_their_time,
            buried_jobs_are_visible_and_never_retried,
            paused_jobs_wait_for_unpause,
            one_parked_job_leaves_the_others_running,
            due_jobs_come_oldest_first,
            first_pages_of_new_incidents_go_before_an_incidents_follow_ups,
            deferring_a_kind_moves_its_pending_jobs_only,
            housekeeping_is_claimed_after_pages,
            concurrent_claimers_never_share_a_job,
            releasing_leases_makes_in_flight_jobs_due,
            coalescing_jobs_merge_while_pending_and_rearm_when_done,
            completing_a_stale_revision_releases_the_job_to_run_again,
            inbound_events_are_recorded_once_with_their_effects,
            sync_bookkeeping_and_lookups,
            live_pages_are_the_paged_rows_still_open_in_signl4,
            routes_episodes_and_grouping_are_kept_and_more_pages_come_only_with_the_page,
            follow_ups_commit_only_with_a_done_job,
            one_owner_holds_a_lease_until_it_expires,
            writes_fenced_by_a_lease_fail_after_a_takeover_and_change_nothing,
            only_the_lease_holder_claims_a_tenants_jobs,
            an_attempt_begun_and_not_ended_makes_the_job_in_doubt,
            leases_of_running_jobs_are_extended_and_dead_ones_are_not_revived,
            ping_works,
            only_dead_jobs_are_redriven_and_running_ones_keep_their_lease,
            jobs_are_found_by_key_and_the_oldest_pending_job_of_each_kind_is_known,
            the_first_acknowledgement_is_kept_with_its_time,
            recent_jobs_the_queue_by_kind_and_the_cursors_are_listed,
            audit_records_are_stored_once_with_what_they_record_and_arm_one_upload_job,
            audit_records_come_oldest_first_until_marked_sent,
            quarantined_items_are_stored_once_with_reason_attempts_and_their_audit_record,
            quarantine_writes_fenced_by_a_lost_lease_change_nothing,
            a_retried_item_is_released_when_it_worked_and_stays_when_it_failed_again,
            a_page_and_its_quarantined_items_are_stored_together_or_not_at_all
        );
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                match $make.await {
                    Some(store) => $crate::conformance::$case(store).await,
                    None => eprintln!("skipped: backend unavailable and skipping was requested"),
                }
            }
        )*
    };
}
