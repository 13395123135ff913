//! Conformance cases for `Inspection`: liveness.

use std::sync::Arc;

use crate::traits::Store;

pub async fn ping_works(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}
