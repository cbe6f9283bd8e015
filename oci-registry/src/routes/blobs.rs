//! `GET`, `HEAD` and `DELETE /v2/<name>/blobs/<digest>`, with `Range`.

use axum::body::Body;
use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use ocikit_types::ErrorCode;
use std::io::{Read, Seek};

use super::{hv, parse_digest, ApiError, Call};
use crate::storage::BlobContent;
use crate::{Deletes, RepositoryName};

/// Bytes read from a blob file per chunk sent.
const SEND_CHUNK: usize = 256 << 10;

/// Chunks read ahead of the connection (memory per download is about
/// this many chunks plus the one being sent).
const READ_AHEAD: usize = 4;

pub(crate) async fn handle(
    call: Call,
    name: RepositoryName,
    digest: &str,
) -> Result<Response, ApiError> {
    let digest = parse_digest(digest)?;
    match call.method {
        Method::GET | Method::HEAD => {}
        Method::DELETE => {
            if call.state.options.deletes == Deletes::Disabled {
                return Err(ApiError::deletes_disabled());
            }
            let d = digest.clone();
            if !call.state.run(move |s| s.unlink_blob(&name, &d)).await? {
                return Err(ApiError::blob_unknown(digest.as_str()));
            }
            return Ok(Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(CONTENT_LENGTH, "0")
                .body(Body::empty())
                .unwrap_or_default());
        }
        m => return Err(ApiError::unsupported(format!("{m} on a blob"))),
    }
    let (d, head) = (digest.clone(), call.is_head());
    let found = call
        .state
        .run(move |s| {
            if head {
                // A 200 to HEAD is a promise: the collector keeps the
                // blob for its grace period, for the manifest naming it.
                return Ok(s.promise_blob(&name, &d)?.map(|size| (None, size)));
            }
            Ok(s.open_blob(&name, &d)?.map(|(c, size)| (Some(c), size)))
        })
        .await?;
    let Some((content, size)) = found else {
        return Err(ApiError::blob_unknown(digest.as_str()));
    };
    if let (Some(BlobContent::Remote(blob)), false) = (&content, call.is_head()) {
        if let Some(url) = blob.redirect_url() {
            return Ok(Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header(axum::http::header::LOCATION, hv(url))
                .header(CONTENT_LENGTH, "0")
                .header("docker-content-digest", hv(digest.as_str()))
                .body(Body::empty())
                .unwrap_or_default());
        }
    }
    let range = match call.header("range") {
        Some(r) => Some(parse_range(r, size).ok_or_else(|| {
            ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                ErrorCode::Other("RANGE_INVALID".into()),
                format!("range {r:?} is not satisfiable for {size} bytes"),
            )
            .header(CONTENT_RANGE, format!("bytes */{size}"))
        })?),
        None => None,
    };
    let (start, len) = range.map_or((0, size), |(s, e)| (s, e - s + 1));
    let mut resp = Response::builder()
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_LENGTH, len)
        .header(ACCEPT_RANGES, "bytes")
        .header("docker-content-digest", hv(digest.as_str()));
    if let Some((s, e)) = range {
        resp = resp
            .status(StatusCode::PARTIAL_CONTENT)
            .header(CONTENT_RANGE, format!("bytes {s}-{e}/{size}"));
    }
    let body = match content {
        Some(content) => send(content, start, len).await?,
        None => Body::empty(),
    };
    Ok(resp.body(body).unwrap_or_default())
}

/// The body of `len` bytes from `start`, streamed from a file.
async fn send(content: BlobContent, start: u64, len: u64) -> Result<Body, ApiError> {
    Ok(match content {
        BlobContent::Memory(bytes) => {
            let (s, l) = (start as usize, len as usize);
            Body::from(bytes::Bytes::from_owner(super::Shared(bytes)).slice(s..s + l))
        }
        BlobContent::File(mut f) => {
            f.seek(std::io::SeekFrom::Start(start))
                .map_err(|e| crate::Error::io("seek in blob", "", e))?;
            // One blocking task reads the whole range straight into the
            // chunks it sends (tokio's File would take a blocking-pool
            // round trip and a copy out of its own buffer per read); it
            // ends when the range is sent or the client is gone.
            let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
            tokio::task::spawn_blocking(move || read_chunks(f, len, &tx));
            Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            }))
        }
        BlobContent::Remote(blob) => {
            let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
            tokio::task::spawn_blocking(move || match blob.read_range(start, len) {
                Ok(r) => read_chunks(r, len, &tx),
                Err(e) => drop(tx.blocking_send(Err(std::io::Error::other(e)))),
            });
            Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            }))
        }
    })
}

/// Reads `len` bytes of `f` from its position in chunks of [`SEND_CHUNK`]
/// into `tx`, until done, a read fails (the body then fails) or the
/// receiver is dropped.
///
/// The chunks' buffers go round a ring: a buffer whose chunk was sent is
/// taken again, so its pages stay mapped (a fresh buffer per chunk spent
/// a tenth of the sending CPU on page faults).
fn read_chunks(
    mut f: impl Read,
    len: u64,
    tx: &tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>,
) {
    let mut ring: Vec<bytes::BytesMut> = (0..READ_AHEAD + 2).map(|_| Default::default()).collect();
    let mut left = len;
    for i in 0.. {
        if left == 0 {
            return;
        }
        let n = left.min(SEND_CHUNK as u64) as usize;
        let buf = &mut ring[i % (READ_AHEAD + 2)];
        // Reclaims the buffer's allocation when its last chunk is gone.
        buf.reserve(n);
        buf.resize(n, 0);
        let chunk = match f.read_exact(buf) {
            Ok(()) => {
                left -= n as u64;
                Ok(buf.split().freeze())
            }
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if tx.blocking_send(chunk).is_err() || failed {
            return;
        }
    }
}

/// A single `bytes=` range of RFC 9110 within `size`, as inclusive
/// bounds; `None` when malformed or unsatisfiable.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (start, end) = if a.is_empty() {
        let suffix = num(b)?;
        if suffix == 0 || size == 0 {
            return None;
        }
        (size.saturating_sub(suffix), size - 1)
    } else {
        let start = num(a)?;
        let end = if b.is_empty() {
            size.checked_sub(1)?
        } else {
            num(b)?.min(size.checked_sub(1)?)
        };
        (start, end)
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    proptest::proptest! {
        #[test]
        fn a_range_stays_within_the_blob(h in "bytes=[0-9]{0,3}-[0-9]{0,3}|\\PC{0,20}", size in 0u64..2000) {
            if let Some((s, e)) = parse_range(&h, size) {
                proptest::prop_assert!(s <= e && e < size);
            }
        }
    }

    /// The chunks of a range spanning several chunks, from an offset,
    /// put back together, are the range.
    #[test]
    fn chunks_make_up_the_range() {
        use std::io::{Seek, Write};
        let data: Vec<u8> = (0..(3 * super::SEND_CHUNK + 123))
            .map(|i| (i % 253) as u8)
            .collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        let (start, len) = (7u64, data.len() as u64 - 10);
        f.seek(std::io::SeekFrom::Start(start)).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(super::READ_AHEAD);
        let reader = std::thread::spawn(move || super::read_chunks(f, len, &tx));
        let mut got = Vec::new();
        while let Some(chunk) = rx.blocking_recv() {
            got.extend_from_slice(&chunk.unwrap());
        }
        reader.join().unwrap();
        assert_eq!(got, &data[start as usize..(start + len) as usize]);
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        for bad in [
            "bytes=100-",
            "bytes=9-0",
            "bytes=a-b",
            "0-9",
            "bytes=0-1,3-4",
            "bytes=-0",
            "bytes=-",
        ] {
            assert_eq!(parse_range(bad, 100), None, "{bad}");
        }
    }
}
