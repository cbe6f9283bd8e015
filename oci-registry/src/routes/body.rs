//! Request bodies into upload sessions: the bytes are hashed as they
//! arrive and appended to the session in batches on a blocking thread,
//! never read back (except to resume a session after a restart). A batch
//! is the frames hyper received, written with one vectored write: the
//! bytes are never copied into a buffer of ours.

use std::io::Read;
use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use ocikit_types::Algorithm;

use super::ApiError;
use crate::limits::blob;
use crate::state::{Hasher, State};
use crate::Error;

/// Bytes gathered before a batch is written.
const BATCH: usize = 1 << 20;

/// The session's hash state covering its `size` stored bytes with
/// `algorithm`: the one kept in memory, or one computed again from the
/// stored bytes (after a restart, another algorithm, or a failed request).
pub(crate) async fn session_hasher(
    state: &Arc<State>,
    id: &str,
    size: u64,
    algorithm: Algorithm,
) -> Result<Hasher, ApiError> {
    if let Some(h) = state.take_hasher(id) {
        if h.algorithm == algorithm && h.verifier.written() == size {
            return Ok(h);
        }
    }
    let id = id.to_owned();
    let hasher = state
        .run(move |s| {
            let mut hasher = Hasher::new(algorithm);
            let mut reader = s.read_upload(&id)?;
            let mut buf = vec![0; BATCH];
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| Error::io("read upload", &id, e))?;
                if n == 0 {
                    break;
                }
                // A computing verifier without a cap cannot refuse bytes.
                let _ = hasher.verifier.update(&buf[..n]);
            }
            Ok(hasher)
        })
        .await?;
    Ok(hasher)
}

/// Appends `body` to session `id` while hashing it; returns the hasher
/// and the session's new size. At most `limit` bytes are taken (the
/// length a `Content-Range` announced): a longer body is refused before
/// its excess is stored. On failure the hash state is dropped (the next
/// request recomputes it from what was stored). A body that takes the
/// session past the blob size limit cancels the session.
pub(crate) async fn receive(
    state: &Arc<State>,
    id: &str,
    mut hasher: Hasher,
    mut size: u64,
    mut body: Body,
    limit: Option<u64>,
) -> Result<(Hasher, u64), ApiError> {
    let mut batch = Batch::default();
    let mut received = 0u64;
    let start = size;
    loop {
        let frame = match body.frame().await {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => {
                // What arrived is kept (the client may resume from it).
                if !batch.is_empty() {
                    write(state, id, hasher, batch).await?;
                }
                return Err(ApiError::body_failed(e));
            }
            None => break,
        };
        if let Ok(data) = frame.into_data() {
            received += data.len() as u64;
            if let Err(e) = blob::admit(state.options.blob_size_limit, start, received) {
                // Nothing of an upload over the cap stays stored.
                state.forget_session(id);
                let id = id.to_owned();
                state.run(move |s| s.cancel_upload(&id)).await?;
                return Err(e);
            }
            if limit.is_some_and(|l| received > l) {
                if !batch.is_empty() {
                    write(state, id, hasher, batch).await?;
                }
                return Err(ApiError::new(
                    axum::http::StatusCode::RANGE_NOT_SATISFIABLE,
                    ocikit_types::ErrorCode::BlobUploadInvalid,
                    "the body is longer than its Content-Range",
                ));
            }
            batch.len += data.len();
            batch.parts.push(data);
            if batch.len >= BATCH {
                let full = std::mem::take(&mut batch);
                (hasher, size) = write(state, id, hasher, full).await?;
            }
        }
    }
    if !batch.is_empty() {
        (hasher, size) = write(state, id, hasher, batch).await?;
    }
    Ok((hasher, size))
}

/// Frames received and not yet written.
#[derive(Default)]
struct Batch {
    parts: Vec<bytes::Bytes>,
    len: usize,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Appends `batch` to session `id` and hashes it; returns the hasher and
/// the session's new size.
async fn write(
    state: &Arc<State>,
    id: &str,
    mut hasher: Hasher,
    batch: Batch,
) -> Result<(Hasher, u64), ApiError> {
    let id = id.to_owned();
    let done = state
        .run(move |s| {
            let parts: Vec<&[u8]> = batch.parts.iter().map(|p| &p[..]).collect();
            let size = s.append_upload_parts(&id, &parts)?;
            for p in &parts {
                let _ = hasher.verifier.update(p);
            }
            Ok((hasher, size))
        })
        .await?;
    Ok(done)
}
