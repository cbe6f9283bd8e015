//! Blocking readers over the store's streamed `GET`s: a blob (or a range
//! of one) being sent, and an upload session's segments one after the
//! other. At most one received chunk of the store's answer is held.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{GetOptions, ObjectStore};
use tokio::runtime::Handle;

use super::{store_error, IO_TIMEOUT, REDIRECT_VALIDITY};
use crate::storage::RemoteBlob;
use crate::Error;

/// A blob in the bucket, opened for sending.
#[derive(Debug)]
pub(super) struct S3Blob {
    pub(super) store: Arc<AmazonS3>,
    pub(super) handle: Handle,
    pub(super) key: Path,
    /// The presigned URL to redirect to, when redirecting (signed when
    /// the blob is opened, on a blocking thread: signing needs the
    /// client's runtime).
    pub(super) redirect: Option<String>,
}

impl S3Blob {
    /// A presigned `GET` URL of `key`.
    pub(super) fn sign(store: &AmazonS3, handle: &Handle, key: &Path) -> Result<String, Error> {
        let url = wait(handle, "sign a URL for", key, async {
            store
                .signed_url(axum::http::Method::GET, key, REDIRECT_VALIDITY)
                .await
        })?;
        Ok(url.to_string())
    }
}

impl RemoteBlob for S3Blob {
    fn read_range(&self, start: u64, len: u64) -> Result<Box<dyn Read + Send>, Error> {
        if len == 0 {
            return Ok(Box::new(std::io::empty()));
        }
        let stream = open(
            &self.store,
            &self.handle,
            &self.key,
            Some(start..start + len),
        )?;
        Ok(Box::new(StreamReader::new(
            stream,
            self.handle.clone(),
            self.key.clone(),
        )))
    }

    fn redirect_url(&self) -> Option<String> {
        self.redirect.clone()
    }
}

/// Runs `fut` on the client's runtime, at most [`IO_TIMEOUT`].
pub(super) fn wait<T>(
    handle: &Handle,
    action: &'static str,
    key: &Path,
    fut: impl std::future::Future<Output = object_store::Result<T>>,
) -> Result<T, Error> {
    match handle.block_on(async { tokio::time::timeout(IO_TIMEOUT, fut).await }) {
        Ok(r) => r.map_err(|e| store_error(action, key, e)),
        Err(_) => Err(Error::io(
            action,
            key.as_ref(),
            std::io::ErrorKind::TimedOut.into(),
        )),
    }
}

/// Starts a `GET` of `key` (a range of it when given).
fn open(
    store: &Arc<AmazonS3>,
    handle: &Handle,
    key: &Path,
    range: Option<std::ops::Range<u64>>,
) -> Result<BoxStream<'static, object_store::Result<Bytes>>, Error> {
    let opts = GetOptions {
        range: range.map(Into::into),
        ..GetOptions::default()
    };
    let got = wait(handle, "read", key, store.get_opts(key, opts))?;
    Ok(got.into_stream())
}

/// The bytes of one streamed `GET`, as a blocking reader.
pub(super) struct StreamReader {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    handle: Handle,
    key: Path,
    chunk: Bytes,
}

impl StreamReader {
    fn new(
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        handle: Handle,
        key: Path,
    ) -> Self {
        StreamReader {
            stream,
            handle,
            key,
            chunk: Bytes::new(),
        }
    }
}

impl Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            let next = self
                .handle
                .block_on(async { tokio::time::timeout(IO_TIMEOUT, self.stream.next()).await });
            match next {
                Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
                Ok(None) => return Ok(0),
                Ok(Some(Err(e))) => {
                    return Err(std::io::Error::other(store_error("read", &self.key, e)))
                }
                Ok(Some(Ok(b))) => self.chunk = b,
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

/// The objects `keys`, one after the other, as one reader.
pub(super) struct Chain {
    store: Arc<AmazonS3>,
    handle: Handle,
    keys: VecDeque<Path>,
    current: Option<StreamReader>,
}

impl Chain {
    pub(super) fn new(store: Arc<AmazonS3>, handle: Handle, keys: Vec<Path>) -> Self {
        Chain {
            store,
            handle,
            keys: keys.into(),
            current: None,
        }
    }
}

impl Read for Chain {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if let Some(r) = &mut self.current {
                let n = r.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(key) = self.keys.pop_front() else {
                return Ok(0);
            };
            let stream =
                open(&self.store, &self.handle, &key, None).map_err(std::io::Error::other)?;
            self.current = Some(StreamReader::new(stream, self.handle.clone(), key));
        }
    }
}
