//! The front door of every fake service: enforces [`Limits`] and records each request in the
//! request log.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;
use tokio::time::Instant;

use crate::common::{graph_throttled, json_response, uuidish};
pub use crate::limits::{ArmKind, Limiter};
use crate::limits::{BucketState, Limits, Window};
use crate::reqlog::{Api, RequestRecord};
use crate::state::{Inner, State};

impl ArmKind {
    /// GET/HEAD read, DELETE deletes, everything else writes. The notes do not say how a POST
    /// action (`…/incidents/{id}/alerts`) counts; the stricter reading is the smaller writes
    /// bucket.
    fn of(m: &Method) -> ArmKind {
        match *m {
            Method::GET | Method::HEAD => ArmKind::Reads,
            Method::DELETE => ArmKind::Deletes,
            _ => ArmKind::Writes,
        }
    }

    fn header(self) -> &'static str {
        match self {
            ArmKind::Reads => "x-ms-ratelimit-remaining-subscription-reads",
            ArmKind::Writes => "x-ms-ratelimit-remaining-subscription-writes",
            ArmKind::Deletes => "x-ms-ratelimit-remaining-subscription-deletes",
        }
    }
}

fn classify(path: &str) -> Option<Api> {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    Some(match first {
        "entra" => Api::Entra,
        "graph" => Api::Graph,
        "arm" => Api::Arm,
        "loganalytics" => Api::LogAnalytics,
        "logsingestion" => Api::LogsIngestion,
        "signl4" if path.starts_with("/signl4/webhook") => Api::Signl4Webhook,
        "signl4" => Api::Signl4Rest,
        _ => return None,
    })
}

fn segment(path: &str, i: usize) -> Option<&str> {
    path.trim_start_matches('/').split('/').nth(i).filter(|s| !s.is_empty())
}

/// Path and query without secrets: the webhook's team secret becomes `<team-secret>`.
fn shown(api: Api, uri: &Uri) -> String {
    let path = uri.path();
    let mut out = match (api, segment(path, 2)) {
        (Api::Signl4Webhook, Some(secret)) => path.replacen(secret, "<team-secret>", 1),
        _ => path.to_string(),
    };
    if let Some(q) = uri.query() {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Who is calling, as far as the fake can tell before the handler runs.
#[derive(Debug, Default)]
struct Who {
    tenant: Option<String>,
    client_id: Option<String>,
    /// A valid, unexpired token for this API's audience.
    valid: bool,
    /// SIGNL4: the team secret (the webhook's, or the one of the API key's team).
    secret: Option<String>,
    team_known: bool,
}

fn identify(st: &Inner, api: Api, path: &str, headers: &HeaderMap) -> Who {
    let mut who = Who::default();
    match api {
        Api::Entra => who.tenant = segment(path, 1).map(str::to_string),
        Api::Graph | Api::Arm | Api::LogAnalytics | Api::LogsIngestion => {
            let token = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .and_then(|t| st.tokens.get(t));
            if let Some(info) = token {
                who.tenant = Some(info.tenant.clone());
                who.client_id = Some(info.client_id.clone());
                let aud = info.audience.to_ascii_lowercase();
                let audience_ok = match api {
                    Api::Graph => aud.contains("graph.microsoft") || aud.contains("microsoftgraph"),
                    Api::Arm => aud.contains("management"),
                    Api::LogsIngestion => crate::ingestion::is_monitor_audience(&aud),
                    _ => aud.contains("loganalytics"),
                };
                who.valid = audience_ok && std::time::Instant::now() < info.expires;
            }
        }
        Api::Signl4Webhook => {
            who.secret = segment(path, 2).map(str::to_string);
            if let Some(team) = who.secret.as_ref().and_then(|s| st.teams.get(s)) {
                who.team_known = true;
                who.tenant = Some(team.team_id.clone()).filter(|t| !t.is_empty());
            }
        }
        Api::Signl4Rest => {
            let key = headers.get("x-s4-api-key").and_then(|v| v.to_str().ok());
            if let Some((secret, team)) =
                key.and_then(|k| st.teams.iter().find(|(_, t)| t.api_keys.iter().any(|x| x == k)))
            {
                who.secret = Some(secret.clone());
                who.team_known = true;
                who.tenant = Some(team.team_id.clone()).filter(|t| !t.is_empty());
            }
        }
    }
    who
}

/// What the limits decided before the handler.
#[derive(Default)]
struct Verdict {
    refused: Option<Response>,
    /// For a refusal without `Retry-After`: when a request would be accepted again.
    retry_at: Option<Instant>,
    by: Option<String>,
    /// A SIGNL4 event hit recorded at this instant (forgotten if the event is not accepted).
    counted: Option<Instant>,
    /// ARM: the bucket used and the tokens left in the principal's bucket.
    arm: Option<(ArmKind, u64)>,
}

fn label(w: &Window) -> String {
    format!("{}/{}s", w.requests, w.per_secs)
}

fn s4_throttled() -> Response {
    json_response(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"requestId": uuidish(), "code": 429, "details": "Event throttling: too many events.", "message": "Error raising event."}),
    )
}

fn admit(st: &mut Inner, api: Api, who: &Who, path: &str, method: &Method, now: Instant) -> Verdict {
    let limits: Limits = st.settings.limits.clone();
    let lim = &mut st.limiter;
    let mut v = Verdict::default();
    match api {
        Api::Entra => {}
        Api::Graph if who.valid => {
            let (tenant, app) = (who.tenant.clone().unwrap_or_default(), who.client_id.clone().unwrap_or_default());
            let windows = limits.graph_tenants.get(&tenant).unwrap_or(&limits.graph);
            let per_tenant = lim.graph.entry((tenant, app.clone())).or_default();
            let a = per_tenant.check(now, windows).err().map(|(t, w)| (t, format!("graph {}", label(&w))));
            let global = lim.graph_global.entry(app).or_default();
            let b =
                global.check(now, &limits.graph_global).err().map(|(t, w)| (t, format!("graph global {}", label(&w))));
            match a.into_iter().chain(b).max_by_key(|(t, _)| *t) {
                Some((at, by)) => {
                    v.refused = Some(graph_throttled(at - now));
                    v.by = Some(by);
                }
                None => {
                    global.record(now);
                    per_tenant.record(now);
                }
            }
        }
        Api::Arm => {
            let Some(arm) = limits.arm else { return v };
            let kind = ArmKind::of(method);
            let bucket = match kind {
                ArmKind::Reads => arm.reads,
                ArmKind::Writes => arm.writes,
                ArmKind::Deletes => arm.deletes,
            };
            let sub_bucket = crate::limits::Bucket {
                size: bucket.size * arm.subscription_factor,
                refill_per_sec: bucket.refill_per_sec * arm.subscription_factor,
            };
            let sub = segment(path, 2).unwrap_or("").to_ascii_lowercase();
            if !who.valid {
                // Not attributable to a principal: report a full bucket, take nothing.
                v.arm = Some((kind, bucket.size as u64));
                return v;
            }
            let principal =
                format!("{}/{}", who.tenant.as_deref().unwrap_or(""), who.client_id.as_deref().unwrap_or(""));
            let mine = lim.arm.entry((sub.clone(), principal, kind)).or_insert_with(|| BucketState::full(&bucket, now));
            let all =
                lim.arm_subscription.entry((sub.clone(), kind)).or_insert_with(|| BucketState::full(&sub_bucket, now));
            let wait = mine.wait(&bucket, now).max(all.wait(&sub_bucket, now));
            if wait > Duration::ZERO {
                // ARM's Retry-After is whole seconds; rounded up so that a client that waits
                // it out finds a token.
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                let op = match kind {
                    ArmKind::Reads => "read",
                    ArmKind::Writes => "write",
                    ArmKind::Deletes => "delete",
                };
                let actor = who.client_id.as_deref().unwrap_or("");
                let mut r = json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": {"code": "TooManyRequests", "message": format!(
                        "Number of '{op}' requests for subscription '{sub}' actor '{actor}' exceeded. Please try again after '{secs}' seconds after the last request."
                    )}}),
                );
                r.headers_mut().insert("retry-after", HeaderValue::from(secs));
                v.refused = Some(r);
                v.by = Some(format!("arm {op}s bucket"));
                v.arm = Some((kind, 0));
            } else {
                all.take();
                mine.take();
                v.arm = Some((kind, mine.level(&bucket, now).max(0.0).floor() as u64));
            }
        }
        Api::LogAnalytics if who.valid => {
            let key = (who.tenant.clone().unwrap_or_default(), who.client_id.clone().unwrap_or_default());
            if let Err((at, w)) = lim.log_analytics.entry(key).or_default().admit(now, &limits.log_analytics) {
                // §4.4 gives the limit but no `Retry-After`; the stricter reading for a client
                // is that it gets none and must back off by itself. The error code is an
                // inference (the notes give no 429 body).
                v.refused = Some(json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"error": {"message": "Too many requests. Please retry later.", "code": "ThrottledError",
                                     "innererror": {"code": "TooManyRequests", "message": format!("Limit of {} requests per {} seconds exceeded.", w.requests, w.per_secs)}}}),
                ));
                v.retry_at = Some(at);
                v.by = Some(format!("log analytics {}", label(&w)));
            }
        }
        Api::Signl4Webhook => {
            let Some(secret) = who.secret.clone() else { return v };
            if let Some((until, _)) = lim.signl4_errors.get(&secret).and_then(|b| b.blocked).filter(|(u, _)| now < *u) {
                v.refused = Some(s4_throttled());
                v.retry_at = Some(until);
                v.by = Some("signl4 erroneous requests blocked".into());
                return v;
            }
            if who.team_known {
                match lim.signl4.entry(secret).or_default().admit(now, &limits.signl4_events) {
                    Ok(()) => v.counted = Some(now),
                    Err((until, limit)) => {
                        v.refused = Some(s4_throttled());
                        v.retry_at = Some(until);
                        v.by = Some(format!("signl4 events blocked ({limit} per window exceeded)"));
                    }
                }
            }
        }
        Api::Signl4Rest => {
            let Some(secret) = who.secret.clone() else { return v };
            // §1.7 describes blocking for the event limits; the stricter reading applies it
            // to the REST limits too. No rate-limit headers are documented for REST.
            if let Err((until, limit)) = lim.signl4_rest.entry(secret).or_default().admit(now, &limits.signl4_rest) {
                v.refused = Some(json_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"code": 429, "message": "Too many requests.", "requestId": uuidish()}),
                ));
                v.retry_at = Some(until);
                v.by = Some(format!("signl4 rest blocked ({limit} per window exceeded)"));
            }
        }
        Api::LogsIngestion => {
            // Per rule (§5.2: 12,000 requests per minute per DCR, 429 with Retry-After).
            let dcr = segment(path, 2).unwrap_or("").to_string();
            if let Err((at, w)) = lim.logs_ingestion.entry(dcr).or_default().admit(now, &limits.logs_ingestion) {
                let secs = at.saturating_duration_since(now).as_secs_f64().ceil().max(1.0) as u64;
                let mut r = crate::ingestion::ingestion_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    &format!(
                        "Limit of {} requests per {} seconds exceeded for the data collection rule.",
                        w.requests, w.per_secs
                    ),
                );
                r.headers_mut().insert("retry-after", HeaderValue::from(secs));
                v.refused = Some(r);
                v.by = Some(format!("logs ingestion {}", label(&w)));
            }
        }
        Api::Graph | Api::LogAnalytics => {}
    }
    v
}

fn unix_ceil(now_wall_ms: i64, now: Instant, at: Instant) -> i64 {
    let ms = now_wall_ms + at.saturating_duration_since(now).as_millis() as i64;
    (ms + 999).div_euclid(1000)
}

fn rate_headers(r: &mut Response, limit: u32, remaining: u32, reset_unix: i64) {
    let h = r.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset_unix));
}

/// SIGNL4 webhook bookkeeping once the answer is known, and its `X-RateLimit-*` headers
/// ("The webhook always returns `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
/// `X-RateLimit-Reset` (unix timestamp)", `signl4.md` §1.7).
fn webhook_after(
    st: &mut Inner,
    who: &Who,
    refused: bool,
    counted: Option<Instant>,
    now: Instant,
    wall_ms: i64,
    r: &mut Response,
) {
    let limits = st.settings.limits.clone();
    let Some(secret) = who.secret.clone() else { return };
    let status = r.status();
    if let Some(at) = counted
        && !status.is_success()
        && let Some(b) = st.limiter.signl4.get_mut(&secret)
    {
        b.hits.forget(at);
    }
    // Erroneous requests: 10 per minute (§1.7). Stricter reading of "throttled ... with a
    // throttling warning": once the window is full, every request to that secret is answered
    // 429 until the window's period has passed.
    if !refused && matches!(status.as_u16(), 400 | 404 | 405) && !limits.signl4_erroneous.is_empty() {
        let b = st.limiter.signl4_errors.entry(secret.clone()).or_default();
        b.hits.record(now);
        if let Some(ws) = b.hits.tightest(now, &limits.signl4_erroneous)
            && ws.remaining == 0
        {
            b.blocked = Some((now + ws.per, ws.limit));
        }
    }
    let errors_blocked = st.limiter.signl4_errors.get(&secret).and_then(|b| b.blocked).filter(|(u, _)| now < *u);
    if let Some((until, limit)) = errors_blocked {
        rate_headers(r, limit, 0, unix_ceil(wall_ms, now, until));
        return;
    }
    let (blocking, windows) = if who.team_known {
        (st.limiter.signl4.get(&secret), &limits.signl4_events)
    } else {
        (st.limiter.signl4_errors.get(&secret), &limits.signl4_erroneous)
    };
    let blocked = blocking.and_then(|b| b.blocked).filter(|(until, _)| now < *until);
    let state = match blocking {
        Some(b) => b.hits.tightest(now, windows),
        None => crate::limits::Hits::default().tightest(now, windows),
    };
    match (blocked, state) {
        (Some((until, limit)), _) => rate_headers(r, limit, 0, unix_ceil(wall_ms, now, until)),
        (None, Some(ws)) => rate_headers(r, ws.limit, ws.remaining, unix_ceil(wall_ms, now, ws.reset)),
        (None, None) => {}
    }
}

fn retry_after_of(r: &Response) -> Option<Duration> {
    let s = r.headers().get("retry-after")?.to_str().ok()?;
    s.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0).map(Duration::from_secs_f64)
}

/// Middleware on every route: limits first, then the handler, then the log.
pub async fn front_door(AxState(state): AxState<Arc<State>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(api) = classify(&path) else { return next.run(req).await };
    let service = match api {
        Api::Entra => crate::state::Service::Entra,
        Api::Graph => crate::state::Service::Graph,
        Api::Arm => crate::state::Service::Arm,
        Api::LogAnalytics => crate::state::Service::LogAnalytics,
        Api::LogsIngestion => crate::state::Service::LogsIngestion,
        Api::Signl4Webhook | Api::Signl4Rest => crate::state::Service::Signl4,
    };
    let echo = state.lock().take_echo(service);
    if let Some(status) = echo {
        return crate::common::echo_response(service, status, req).await;
    }
    let shown_path = shown(api, req.uri());
    let method = req.method().clone();
    let (seq, arrived, who, verdict) = {
        let mut st = state.lock();
        // Taken under the lock so that recorded hits are in order.
        let now = Instant::now();
        let seq = st.log.next_seq();
        let who = identify(&st, api, &path, req.headers());
        let verdict = admit(&mut st, api, &who, &path, &method, now);
        (seq, now, who, verdict)
    };
    let mut verdict = verdict;
    let refused = verdict.refused.take();
    let was_refused = refused.is_some();
    let mut resp = match refused {
        Some(r) => {
            let mut st = state.lock();
            let label = match api {
                Api::Graph => "graph.throttled",
                Api::Arm => "arm.throttled",
                Api::LogAnalytics => "loganalytics.throttled",
                Api::LogsIngestion => "logsingestion.throttled",
                Api::Signl4Webhook => {
                    // This counter has always counted every webhook request.
                    st.count("signl4.webhook");
                    "signl4.throttled"
                }
                Api::Signl4Rest => "signl4.rest.throttled",
                Api::Entra => "entra.throttled",
            };
            st.count(label);
            r
        }
        None => next.run(req).await,
    };
    let answered = Instant::now();
    let wall_ms = (crate::common::now().unix_timestamp_nanos() / 1_000_000) as i64;
    let (resp, next_link, status) = {
        let mut st = state.lock();
        match api {
            Api::Signl4Webhook => {
                webhook_after(&mut st, &who, was_refused, verdict.counted, answered, wall_ms, &mut resp)
            }
            Api::Arm => {
                if let Some((kind, left)) = verdict.arm {
                    resp.headers_mut().insert(kind.header(), HeaderValue::from(left));
                }
            }
            _ => {}
        }
        // Injected headers (absurd numbers) go on last, replacing the service's own.
        if let Some(extra) = st.take_headers(service) {
            for (k, v) in extra {
                if let (Ok(name), Ok(value)) = (axum::http::HeaderName::try_from(k.as_str()), HeaderValue::from_str(&v))
                {
                    resp.headers_mut().insert(name, value);
                }
            }
        }
        let next_link = match api {
            Api::Graph => {
                st.next_link_overrides.get(&crate::state::Service::Graph).map(|u| ("@odata.nextLink", u.clone()))
            }
            Api::Arm => st.next_link_overrides.get(&crate::state::Service::Arm).map(|u| ("nextLink", u.clone())),
            _ => None,
        };
        let retry_after = retry_after_of(&resp);
        let status = resp.status().as_u16();
        let retry_at = match (status, retry_after, verdict.retry_at) {
            (429, Some(ra), _) => Some(st.log.since_start(answered) + ra),
            (429, None, Some(at)) => Some(st.log.since_start(at)),
            _ => None,
        };
        let record = RequestRecord {
            seq,
            api,
            at: st.log.since_start(arrived),
            answered: st.log.since_start(answered),
            wall_unix_ms: wall_ms,
            tenant: who.tenant,
            client_id: who.client_id,
            method: method.to_string(),
            path: shown_path,
            status,
            retry_after,
            retry_at,
            throttled_by: verdict.by,
        };
        st.log.push(record);
        (resp, next_link, status)
    };
    match next_link {
        Some((key, link)) if status == 200 && method == Method::GET => with_next_link(resp, key, &link).await,
        _ => resp,
    }
}

/// A listing answer (`{"value": [...]}`) with its next link replaced by `link`.
async fn with_next_link(resp: Response, key: &str, link: &str) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let mut v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    if let Some(obj) = v.as_object_mut()
        && obj.get("value").is_some_and(serde_json::Value::is_array)
    {
        obj.insert(key.to_string(), json!(link));
    }
    let out = serde_json::to_vec(&v).unwrap_or_default();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(out))
}
