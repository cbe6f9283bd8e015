//! [`BlobStream`]: a blob read from a registry as it arrives, verified on
//! the way, as a `Stream` of chunks or as an `AsyncRead`.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf as _, Bytes};
use futures_util::Stream;
use tokio::io::{AsyncRead, ReadBuf};

use crate::Error;

/// The chunks of the response body, already counted and hashed.
pub(crate) type Chunks = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// A blob streamed from a registry, from [`Client::blob_stream`]. Its
/// size and digest are checked as the bytes pass: a byte past the
/// descriptor's size, a body that ends short, or one whose digest differs
/// ends it with [`Error::Integrity`] instead of its normal end. So what it
/// has handed out counts as verified only once it has ended without an
/// error.
///
/// Read it either way, not both at once:
/// - as a [`Stream`] of `Result<Vec<u8>, Error>` chunks, in the sizes the
///   connection delivers them;
/// - as a tokio [`AsyncRead`], whose errors are [`io::Error`]s of kind
///   [`io::ErrorKind::InvalidData`] for an integrity failure,
///   [`io::ErrorKind::TimedOut`] for a stall and
///   [`io::ErrorKind::Other`] otherwise, each wrapping this crate's
///   [`Error`] (`get_ref()` and `downcast_ref::<Error>()` give it back).
///
/// Dropping it closes the connection.
///
/// [`Client::blob_stream`]: crate::Client::blob_stream
pub struct BlobStream {
    chunks: Chunks,
    /// What `AsyncRead` took from a chunk but could not hand over yet.
    pending: Bytes,
}

impl BlobStream {
    pub(crate) fn new(chunks: Chunks) -> Self {
        BlobStream {
            chunks,
            pending: Bytes::new(),
        }
    }
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl Stream for BlobStream {
    type Item = Result<Vec<u8>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            return Poll::Ready(Some(Ok(rest.into())));
        }
        let next = ready!(self.chunks.as_mut().poll_next(cx));
        Poll::Ready(next.map(|r| r.map(Vec::from)))
    }
}

impl AsyncRead for BlobStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.pending.is_empty() {
            match ready!(self.chunks.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => self.pending = chunk,
                Some(Err(e)) => return Poll::Ready(Err(into_io(e))),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending[..n]);
        self.pending.advance(n);
        Poll::Ready(Ok(()))
    }
}

fn into_io(e: Error) -> io::Error {
    let kind = if e.is_integrity() {
        io::ErrorKind::InvalidData
    } else if e.is_timeout() {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(kind, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt as _;
    use tokio::io::AsyncReadExt as _;

    fn stream(items: Vec<Result<&'static [u8], Error>>) -> BlobStream {
        let items: Vec<_> = items
            .into_iter()
            .map(|r| r.map(Bytes::from_static))
            .collect();
        BlobStream::new(Box::pin(futures_util::stream::iter(items)))
    }

    fn mismatch() -> Error {
        Error::Integrity {
            url: "http://registry/v2/r/blobs/sha256:00".into(),
            source: ocikit_types::Error::SizeMismatch {
                expected: 3,
                found: 4,
            },
        }
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn reads_every_chunk_through_small_buffers() {
        run(async {
            let mut s = stream(vec![Ok(b"hello "), Ok(b""), Ok(b"world")]);
            let mut got = Vec::new();
            let mut buf = [0u8; 4];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"hello world");
        });
    }

    #[test]
    fn an_integrity_error_is_invalid_data_wrapping_ours() {
        run(async {
            let mut s = stream(vec![Ok(b"abc"), Err(mismatch())]);
            let mut got = Vec::new();
            let e = s.read_to_end(&mut got).await.unwrap_err();
            assert_eq!(got, b"abc");
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            let ours = e.get_ref().unwrap().downcast_ref::<Error>().unwrap();
            assert!(ours.is_integrity());
        });
    }

    #[test]
    fn the_stream_hands_out_what_a_read_left() {
        run(async {
            let mut s = stream(vec![Ok(b"abcdef"), Ok(b"gh")]);
            let mut two = [0u8; 2];
            s.read_exact(&mut two).await.unwrap();
            let rest: Vec<Vec<u8>> = s.map(Result::unwrap).collect().await;
            assert_eq!(rest, [b"cdef".to_vec(), b"gh".to_vec()]);
        });
    }
}
