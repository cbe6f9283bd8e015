//! The health check served at `/debug/health` on the debug address, as
//! Distribution serves it: the storage must take a write and give it
//! back.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::state::State;
use crate::{Error, RepositoryName};

/// How long the storage may take to answer the check before it counts as
/// failed (a hung network filesystem must not hang the probe).
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The bytes the check writes and reads back.
const PROBE: &[u8] = b"ocikit-registry health check";

/// Opens an upload session (a write), appends a few bytes, reads them
/// back and cancels the session: through the [`Storage`](crate::Storage)
/// trait, so any backend is checked, and nothing is left in the catalog.
pub(crate) async fn check(state: &Arc<State>) -> Result<(), Error> {
    let probe = state.run(|s| {
        let repo = RepositoryName::parse("ocikit-health-check").expect("a valid constant name");
        let session = s.create_upload(&repo)?;
        let result = (|| {
            s.append_upload(&session.id, PROBE)?;
            let mut back = Vec::new();
            std::io::Read::read_to_end(&mut s.read_upload(&session.id)?, &mut back)
                .map_err(|e| Error::io("read back the health check's upload", &session.id, e))?;
            if back != PROBE {
                return Err(Error::Corrupt {
                    path: session.id.clone().into(),
                    expected: "the bytes the health check wrote",
                    found: format!("{} other bytes", back.len()),
                });
            }
            Ok(())
        })();
        let cancelled = s.cancel_upload(&session.id);
        result.and(cancelled.map(drop))
    });
    match tokio::time::timeout(CHECK_TIMEOUT, probe).await {
        Ok(result) => result,
        Err(_) => Err(Error::StorageTimeout {
            waited: CHECK_TIMEOUT,
        }),
    }
}

/// `GET /debug/health`: 200 with `{}` when the storage works, 503 with
/// `{"storage": "<the error and its causes>"}` when it does not.
pub(crate) async fn handle(state: Arc<State>) -> Response {
    match check(&state).await {
        Ok(()) => (StatusCode::OK, [("content-type", "application/json")], "{}").into_response(),
        Err(e) => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(": ");
                text.push_str(&c.to_string());
                cause = c.source();
            }
            tracing::warn!(error = %text, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "application/json")],
                serde_json::json!({ "storage": text }).to_string(),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_working_storage_is_healthy_and_keeps_nothing() {
        let reg = crate::Registry::builder().build().unwrap();
        reg.check_health().await.unwrap();
        assert!(reg.storage().repositories().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_removed_root_is_unhealthy() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("r");
        let reg = crate::Registry::builder()
            .filesystem(&root)
            .build()
            .unwrap();
        reg.check_health().await.unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let e = reg.check_health().await.unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
    }
}
