//! Blobs through the cache: one upstream fetch per missing blob and
//! repository, written to a temp file that every waiting client reads
//! as it grows, and to an upload session of the storage, committed once
//! the blob matched its digest.

use std::os::unix::fs::FileExt;
use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use futures_util::StreamExt as _;
use ocikit_types::{Descriptor, Digest, ErrorCode, MediaType};

use super::{lock, Proxy, Req};
use crate::api_error::ApiError;
use crate::api_path::parse_digest;
use crate::reply::hv;
use crate::{RepositoryName, Storage};

/// Bytes read from the temp file per chunk sent.
const SEND_CHUNK: u64 = 256 << 10;

/// A fetch in progress, shared by the clients reading it.
#[derive(Debug)]
pub(super) struct Fetch {
    /// The bytes received so far (unlinked: gone with the last reader).
    file: std::fs::File,
    progress: tokio::sync::watch::Sender<Progress>,
}

/// How far a fetch got.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// The size the upstream states, once it answered.
    size: Option<u64>,
    /// Bytes in the temp file.
    written: u64,
    end: Option<End>,
}

#[derive(Debug, Clone)]
enum End {
    /// Verified and stored.
    Stored,
    /// The upstream does not have it.
    Unknown,
    /// The reason, for the client.
    Failed(String),
}

/// The answer to `GET`/`HEAD` of a blob, or `None` when storage has it
/// (the usual handler serves it).
pub(super) async fn serve(
    proxy: &Arc<Proxy>,
    req: Req<'_>,
    name: RepositoryName,
    digest: &str,
) -> Option<Result<Response, ApiError>> {
    let digest = match parse_digest(digest) {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    let storage = req.storage;
    let (n, d) = (name.clone(), digest.clone());
    let local = crate::storage::run(storage, move |s| {
        if s.blob_size(&n, &d)?.is_some() {
            return Ok((true, true));
        }
        Ok((false, s.has_any_blob(&d)?))
    })
    .await;
    let (linked, stored) = match local {
        Ok(v) => v,
        Err(e) => return Some(Err(e.into())),
    };
    if linked {
        return None;
    }
    if stored || *req.method == Method::HEAD {
        // Stored for another repository, or only asked about: the
        // upstream's HEAD says whether this repository has it.
        let size = match upstream_size(proxy, &name, &digest).await {
            Ok(size) => size,
            Err(e) => return Some(Err(e)),
        };
        if stored {
            let (n, d) = (name.clone(), digest.clone());
            return match crate::storage::run(storage, move |s| s.link_blob(&n, &d)).await {
                Ok(_) => None,
                Err(e) => Some(Err(e.into())),
            };
        }
        return Some(Ok(head(&digest, size)));
    }
    Some(get(proxy, storage, name, digest).await)
}

/// The upstream's size of the blob; `BLOB_UNKNOWN` when it lacks it.
async fn upstream_size(
    proxy: &Proxy,
    name: &RepositoryName,
    digest: &Digest,
) -> Result<u64, ApiError> {
    let r = proxy.reference(name, &format!("@{digest}"))?;
    match proxy.client.blob_size(&r, digest).await {
        Ok(Some(size)) => Ok(size),
        Ok(None) => Err(ApiError::blob_unknown(digest.as_str())),
        Err(e) => Err(proxy.failed("the blob's size", &e)),
    }
}

fn head(digest: &Digest, size: u64) -> Response {
    Response::builder()
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, size)
        .header("docker-content-digest", hv(digest.as_str()))
        .body(Body::empty())
        .unwrap_or_default()
}

/// Joins the fetch of the blob in progress, or starts one, and answers
/// with its bytes as they come.
async fn get(
    proxy: &Arc<Proxy>,
    storage: &Arc<dyn Storage>,
    name: RepositoryName,
    digest: Digest,
) -> Result<Response, ApiError> {
    let fetch = {
        let mut fetches = lock(&proxy.fetches);
        let key = (name.clone(), digest.clone());
        match fetches.get(&key) {
            Some(f) => f.clone(),
            None => {
                let file = tempfile::tempfile().map_err(|e| {
                    crate::Error::io("create a temp file in", std::env::temp_dir(), e)
                })?;
                let (progress, _) = tokio::sync::watch::channel(Progress::default());
                let f = Arc::new(Fetch { file, progress });
                fetches.insert(key, f.clone());
                let (p, s, f2) = (proxy.clone(), storage.clone(), f.clone());
                tokio::spawn(run(p, s, name, digest.clone(), f2));
                f
            }
        }
    };
    let mut rx = fetch.progress.subscribe();
    let p = rx
        .wait_for(|p| p.size.is_some() || p.end.is_some())
        .await
        .map(|p| p.clone())
        .unwrap_or_default();
    let size = match (p.size, p.end) {
        (Some(size), _) => size,
        (None, Some(End::Unknown)) => return Err(ApiError::blob_unknown(digest.as_str())),
        (None, Some(End::Failed(why))) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::Unavailable,
                why,
            ))
        }
        _ => return Err(crate::Error::TaskFailed.into()),
    };
    let mut resp = head(&digest, size);
    *resp.body_mut() = body(fetch, size);
    Ok(resp)
}

/// The blob's bytes as the fetch writes them. The last byte waits for
/// the digest to match; a failed fetch ends the body with an error,
/// which cuts the connection short of its `Content-Length`.
fn body(fetch: Arc<Fetch>, size: u64) -> Body {
    let rx = fetch.progress.subscribe();
    let stream = futures_util::stream::unfold(Some((fetch, rx, 0u64)), move |state| async move {
        let (fetch, mut rx, pos) = state?;
        loop {
            let p = rx.borrow_and_update().clone();
            let ready = match &p.end {
                Some(End::Stored) if pos >= size => return None,
                Some(End::Stored) => size,
                Some(End::Unknown) | Some(End::Failed(_)) => {
                    let why = match p.end {
                        Some(End::Failed(why)) => why,
                        _ => "the upstream no longer has the blob".to_owned(),
                    };
                    return Some((Err(std::io::Error::other(why)), None));
                }
                None => p.written.min(size.saturating_sub(1)),
            };
            if ready > pos {
                let n = (ready - pos).min(SEND_CHUNK) as usize;
                let f = fetch.clone();
                let read = tokio::task::spawn_blocking(move || {
                    let mut buf = vec![0; n];
                    f.file.read_exact_at(&mut buf, pos).map(|()| buf)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
                return match read {
                    Ok(buf) => Some((
                        Ok(bytes::Bytes::from(buf)),
                        Some((fetch, rx, pos + n as u64)),
                    )),
                    Err(e) => Some((Err(e), None)),
                };
            }
            if rx.changed().await.is_err() {
                return None;
            }
        }
    });
    Body::from_stream(stream)
}

/// The fetch, from the upstream's `HEAD` to the commit; then it is
/// forgotten, so later clients find the blob in storage (or try again).
async fn run(
    proxy: Arc<Proxy>,
    storage: Arc<dyn Storage>,
    name: RepositoryName,
    digest: Digest,
    fetch: Arc<Fetch>,
) {
    let end = match fetch_into(&proxy, &storage, &name, &digest, &fetch).await {
        Ok(()) => End::Stored,
        Err(e) => e,
    };
    if let End::Failed(why) = &end {
        tracing::warn!(%name, %digest, "fetching the blob from upstream failed: {why}");
    }
    lock(&proxy.fetches).remove(&(name, digest));
    fetch.progress.send_modify(|p| p.end = Some(end));
}

async fn fetch_into(
    proxy: &Proxy,
    storage: &Arc<dyn Storage>,
    name: &RepositoryName,
    digest: &Digest,
    fetch: &Arc<Fetch>,
) -> Result<(), End> {
    let failed = |what: &str, e: ocikit_distribution::Error| {
        End::Failed(format!(
            "{what} from upstream {} failed: {e}",
            proxy.upstream.url()
        ))
    };
    let storage_failed = |e: crate::Error| {
        tracing::warn!(error = &e as &dyn std::error::Error, "storage failure");
        End::Failed("the registry's storage failed".to_owned())
    };
    let r = proxy
        .reference(name, &format!("@{digest}"))
        .map_err(|_| End::Failed(format!("{name} is not a name the upstream takes")))?;
    let size = match proxy.client.blob_size(&r, digest).await {
        Ok(Some(size)) => size,
        Ok(None) => return Err(End::Unknown),
        Err(e) => return Err(failed("the blob's size", e)),
    };
    fetch.progress.send_modify(|p| p.size = Some(size));
    let desc = Descriptor::new(
        MediaType::Other("application/octet-stream".into()),
        digest.clone(),
        size,
    );
    let mut stream = proxy
        .client
        .blob_stream(&r, &desc)
        .await
        .map_err(|e| failed("the blob", e))?;
    let n = name.clone();
    let session = crate::storage::run(storage, move |s| s.create_upload(&n))
        .await
        .map_err(storage_failed)?;
    let mut written = 0u64;
    let result = loop {
        match stream.next().await {
            Some(Ok(chunk)) => {
                let (f, s, id, at) = (fetch.clone(), storage.clone(), session.id.clone(), written);
                let len = chunk.len() as u64;
                let wrote = tokio::task::spawn_blocking(move || {
                    f.file
                        .write_all_at(&chunk, at)
                        .map_err(|e| crate::Error::io("write", std::env::temp_dir(), e))?;
                    s.append_upload(&id, &chunk)
                })
                .await
                .unwrap_or(Err(crate::Error::TaskFailed));
                if let Err(e) = wrote {
                    break Err(storage_failed(e));
                }
                written += len;
                fetch.progress.send_modify(|p| p.written = written);
            }
            Some(Err(e)) => break Err(failed("the blob", e)),
            None => break Ok(()),
        }
    };
    let (id, n, d) = (session.id.clone(), name.clone(), digest.clone());
    match result {
        Ok(()) => crate::storage::run(storage, move |s| s.commit_upload(&id, &n, &d))
            .await
            .map_err(storage_failed),
        Err(e) => {
            let _ = crate::storage::run(storage, move |s| s.cancel_upload(&id)).await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    fn fetch(size: u64) -> Arc<Fetch> {
        let (progress, _) = tokio::sync::watch::channel(Progress {
            size: Some(size),
            ..Progress::default()
        });
        let file = tempfile::tempfile().unwrap();
        Arc::new(Fetch { file, progress })
    }

    fn write(f: &Fetch, at: u64, bytes: &[u8]) {
        f.file.write_all_at(bytes, at).unwrap();
        let end = at + bytes.len() as u64;
        f.progress.send_modify(|p| p.written = end);
    }

    /// Readers joining at any point get every byte; the last one only
    /// once the blob is stored.
    #[tokio::test]
    async fn readers_get_the_bytes_as_written_and_the_last_when_stored() {
        let f = fetch(6);
        let mut early = body(f.clone(), 6);
        write(&f, 0, b"abc");
        let first = early.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&first[..], b"abc");
        write(&f, 3, b"def");
        let next = early.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&next[..], b"de", "the last byte waits for the digest");
        let late = body(f.clone(), 6);
        let pending = tokio::spawn(async move { early.collect().await.map(|b| b.to_bytes()) });
        f.progress.send_modify(|p| p.end = Some(End::Stored));
        assert_eq!(&pending.await.unwrap().unwrap()[..], b"f");
        assert_eq!(&late.collect().await.unwrap().to_bytes()[..], b"abcdef");
    }

    /// A failed fetch ends every reader with an error, the last byte
    /// unsent.
    #[tokio::test]
    async fn a_failed_fetch_ends_its_readers_with_an_error() {
        let f = fetch(3);
        write(&f, 0, b"xyz");
        let mut b = body(f.clone(), 3);
        let got = b.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&got[..], b"xy");
        f.progress
            .send_modify(|p| p.end = Some(End::Failed("digest mismatch".into())));
        assert!(b.frame().await.unwrap().is_err());
    }
}
