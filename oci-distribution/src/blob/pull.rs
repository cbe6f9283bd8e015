//! Blob downloads: streamed into a layout through its verifying writer,
//! resumed with `Range` when the connection breaks.

use bytes::Bytes;
use ocikit_image::{Layout, Verification, Verifier};
use ocikit_types::{Descriptor, Digest, Reference};
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};

use super::stream::BlobStream;
use crate::builder::Progress;
use crate::client::{blocking, scope, Access, Client};
use crate::transport::{read_limited, Budget};
use crate::Error;

impl Client {
    /// Downloads a blob into `layout`, streaming it through the hasher. The
    /// blob is stored only when its size and digest match `desc`; a body
    /// longer than `desc.size` is cut off and refused. A connection that
    /// breaks mid-blob is resumed with a `Range` request.
    ///
    /// A blob already in the layout is checked (size, then digest) and
    /// kept when it verifies; one that does not (a damaged file) is
    /// downloaded again and replaced atomically.
    ///
    /// # Errors
    /// [`Error::Integrity`], [`Error::Layout`], [`Error::Status`],
    /// [`Error::RetriesExhausted`].
    pub async fn pull_blob(
        &self,
        r: &Reference,
        desc: &Descriptor,
        layout: &Layout,
    ) -> Result<(), Error> {
        let stored = {
            let (layout, desc) = (layout.clone(), desc.clone());
            blocking(move || stored_blob_verifies(&layout, &desc)).await
        };
        match stored {
            Ok(true) => {
                self.progress(Progress::Skipped {
                    digest: desc.digest.clone(),
                });
                return Ok(());
            }
            Ok(false) => {}
            Err(e) => {
                // Replaced atomically by the download below.
                tracing::warn!(digest = %desc.digest, error = &e as &dyn std::error::Error, "stored blob does not verify; downloading it again");
            }
        }
        let url = format!("{}/blobs/{}", self.base(r), desc.digest);
        let scopes = [scope(r.repository(), Access::Pull)];
        self.progress(Progress::Started {
            digest: desc.digest.clone(),
            size: desc.size,
        });
        let start = || Sink::start(layout, desc);
        let mut writer = start();
        let mut resumes = 0u32;
        'attempt: loop {
            let offset = writer.written();
            let resp = self
                .send_ok_within(
                    r,
                    &scopes,
                    Method::GET,
                    &url,
                    &move |b| {
                        if offset > 0 {
                            b.header(RANGE, format!("bytes={offset}-"))
                        } else {
                            b
                        }
                    },
                    Budget::Download,
                )
                .await?;
            if offset > 0 && resp.status() != StatusCode::PARTIAL_CONTENT {
                // The registry ignored the range: start over.
                writer = start();
            }
            let mut resp = resp;
            let stall = self.cfg().progress_timeout;
            loop {
                let next = match tokio::time::timeout(stall, resp.chunk()).await {
                    Ok(next) => next.map_err(|e| Error::transport(&url, e)),
                    Err(_) => Err(Error::Timeout {
                        url: url.clone(),
                        stage: "body",
                        after: stall,
                    }),
                };
                match next {
                    Ok(Some(chunk)) => {
                        // Refuses a byte past the size before writing it.
                        writer.feed(chunk).await.map_err(|e| from_store(&url, e))?;
                        self.progress(Progress::Bytes {
                            digest: desc.digest.clone(),
                            done: writer.written(),
                            size: desc.size,
                        });
                    }
                    Ok(None) => break 'attempt,
                    Err(e) => {
                        if resumes >= self.cfg().retries {
                            if e.is_timeout() {
                                return Err(e);
                            }
                            return Err(Error::RetriesExhausted {
                                url,
                                attempts: resumes + 1,
                                last: Box::new(e),
                            });
                        }
                        resumes += 1;
                        tracing::debug!(%url, error = &e as &dyn std::error::Error, at = writer.written(), "blob body broke; resuming");
                        tokio::time::sleep(self.backoff(resumes - 1)).await;
                        continue 'attempt;
                    }
                }
            }
        }
        writer.commit().await.map_err(|e| from_store(&url, e))?;
        self.progress(Progress::Finished {
            digest: desc.digest.clone(),
        });
        Ok(())
    }

    /// Streams the blob `desc` describes, for callers that consume it as
    /// it arrives (unpacking, forwarding) instead of storing it: a
    /// [`BlobStream`], read as a `Stream` of chunks or as an `AsyncRead`.
    /// Each chunk is counted and hashed on its way: a byte past
    /// `desc.size` ends the stream with [`Error::Integrity`], and so does,
    /// in place of its end, a body whose size or digest does not match. A
    /// consumer must treat what it got as unverified until the stream has
    /// ended without an error. A stall of the body (see
    /// [`crate::ClientBuilder::progress_timeout`]) ends it with
    /// [`Error::Timeout`]; it is not resumed.
    ///
    /// ```no_run
    /// # async fn f(client: &ocikit_distribution::Client, desc: &ocikit_types::Descriptor)
    /// #     -> Result<(), Box<dyn std::error::Error>> {
    /// let r = "registry.example/app:1".parse()?;
    /// let mut blob = client.blob_stream(&r, desc).await?;
    /// // Copies the verified blob; fails if its size or digest is wrong.
    /// tokio::io::copy(&mut blob, &mut tokio::io::sink()).await?;
    /// # Ok(())
    /// # }
    /// # let _ = f;
    /// ```
    ///
    /// # Errors
    /// [`Error::Integrity`] for an unsupported digest algorithm, and the
    /// errors of sending the request ([`Error::Status`], ...).
    pub async fn blob_stream(&self, r: &Reference, desc: &Descriptor) -> Result<BlobStream, Error> {
        let url = format!("{}/blobs/{}", self.base(r), desc.digest);
        let verifier = Verifier::for_descriptor(desc).map_err(|e| from_store(&url, e))?;
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self
            .send_ok_within(r, &scopes, Method::GET, &url, &|b| b, Budget::Download)
            .await?;
        let stall = self.cfg().progress_timeout;
        Ok(BlobStream::new(Box::pin(futures_util::stream::unfold(
            Some((resp, verifier, url)),
            move |state| async move {
                let (mut resp, mut verifier, url) = state?;
                let next = match tokio::time::timeout(stall, resp.chunk()).await {
                    Ok(Ok(next)) => next,
                    Ok(Err(e)) => return Some((Err(Error::transport(&url, e)), None)),
                    Err(_) => {
                        let e = Error::Timeout {
                            url,
                            stage: "body",
                            after: stall,
                        };
                        return Some((Err(e), None));
                    }
                };
                match next {
                    Some(chunk) => match verifier.update(&chunk) {
                        Ok(()) => Some((Ok(chunk), Some((resp, verifier, url)))),
                        Err(e) => Some((Err(from_store(&url, e)), None)),
                    },
                    None => match verifier.finish() {
                        Ok(_) => None,
                        Err(e) => Some((Err(from_store(&url, e)), None)),
                    },
                }
            },
        ))))
    }

    /// Fetches a small blob (a config, say) into memory, verified.
    ///
    /// # Errors
    /// [`Error::TooLarge`] above the manifest size limit, [`Error::Integrity`].
    pub async fn pull_blob_bytes(
        &self,
        r: &Reference,
        desc: &Descriptor,
    ) -> Result<Vec<u8>, Error> {
        let url = format!("{}/blobs/{}", self.base(r), desc.digest);
        if desc.size > self.cfg_max_manifest() {
            return Err(Error::TooLarge {
                what: "blob",
                url,
                limit: self.cfg_max_manifest(),
            });
        }
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self.send_ok(r, &scopes, Method::GET, &url, &|b| b).await?;
        let bytes = read_limited(resp, desc.size, "blob", &url).await?;
        if bytes.len() as u64 != desc.size {
            return Err(Error::Integrity {
                url,
                source: ocikit_types::Error::SizeMismatch {
                    expected: desc.size,
                    found: bytes.len() as u64,
                },
            });
        }
        desc.digest
            .verify(&bytes)
            .map_err(|source| Error::Integrity { url, source })?;
        Ok(bytes)
    }
}

/// True when `layout` holds the blob `desc` and it verifies (size first,
/// then digest); false when it is absent; the error says why a stored
/// one does not verify.
fn stored_blob_verifies(layout: &Layout, desc: &Descriptor) -> Result<bool, ocikit_image::Error> {
    let mut reader = match layout.open_blob(desc, Verification::Full) {
        Ok(reader) => reader,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e),
    };
    std::io::copy(&mut reader, &mut std::io::sink()).map_err(|e| reader.error(e))?;
    Ok(true)
}

/// Bytes gathered before they go to the writer thread: one hand-over
/// per MiB rather than per network chunk (often 16 KiB).
const BATCH: usize = 1 << 20;

enum Write {
    Data(Vec<Bytes>),
    Commit,
}

/// A blob being stored by a [`ocikit_image::BlobWriter`] on a blocking
/// thread (writes, fsync and the rename into the store stay off the async
/// workers), fed in batches through a bounded channel. Dropping it
/// abandons the blob: the thread ends and its temp file is removed.
struct Sink {
    tx: Option<tokio::sync::mpsc::Sender<Write>>,
    task: Option<tokio::task::JoinHandle<Result<bool, ocikit_image::Error>>>,
    pending: Vec<Bytes>,
    pending_len: usize,
    written: u64,
    size: u64,
    digest: Digest,
}

impl Sink {
    fn start(layout: &Layout, desc: &Descriptor) -> Sink {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Write>(4);
        let layout = layout.clone();
        let (digest, size) = (desc.digest.clone(), desc.size);
        let task = tokio::task::spawn_blocking(move || {
            let mut writer = layout.blob_writer_for(&digest, size)?;
            while let Some(w) = rx.blocking_recv() {
                match w {
                    Write::Data(chunks) => {
                        for c in &chunks {
                            writer.feed(c)?;
                        }
                    }
                    Write::Commit => {
                        writer.commit()?;
                        return Ok(true);
                    }
                }
            }
            Ok(false)
        });
        Sink {
            tx: Some(tx),
            task: Some(task),
            pending: Vec::new(),
            pending_len: 0,
            written: 0,
            size,
            digest: desc.digest.clone(),
        }
    }

    /// Bytes handed to the writer so far.
    fn written(&self) -> u64 {
        self.written
    }

    async fn feed(&mut self, chunk: Bytes) -> Result<(), ocikit_image::Error> {
        self.written += chunk.len() as u64;
        self.pending_len += chunk.len();
        self.pending.push(chunk);
        if self.written > self.size {
            // The writer refuses the excess: send it now for its error.
            self.send(true).await?;
            return Err(self.outcome().await.err().unwrap_or_else(|| {
                ocikit_image::Error::Integrity {
                    digest: self.digest.clone(),
                    source: ocikit_types::Error::SizeMismatch {
                        expected: self.size,
                        found: self.written,
                    },
                }
            }));
        }
        if self.pending_len >= BATCH {
            self.send(false).await?;
        }
        Ok(())
    }

    /// Hands the pending bytes to the thread (and `Commit` when asked).
    async fn send(&mut self, commit: bool) -> Result<(), ocikit_image::Error> {
        let Some(tx) = &self.tx else {
            return self.outcome().await.map(drop);
        };
        let mut msgs = Vec::with_capacity(2);
        if !self.pending.is_empty() {
            self.pending_len = 0;
            msgs.push(Write::Data(std::mem::take(&mut self.pending)));
        }
        if commit {
            msgs.push(Write::Commit);
        }
        for m in msgs {
            if tx.send(m).await.is_err() {
                // The thread stopped: its result says why.
                return self.outcome().await.map(drop);
            }
        }
        Ok(())
    }

    /// Closes the channel and waits for the thread's result.
    async fn outcome(&mut self) -> Result<bool, ocikit_image::Error> {
        self.tx = None;
        let Some(task) = self.task.take() else {
            return Ok(false);
        };
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("blob writer thread did not run: {e}"),
        }
    }

    /// Sends what is pending, then checks and stores the blob.
    async fn commit(mut self) -> Result<(), ocikit_image::Error> {
        self.send(true).await?;
        match self.outcome().await? {
            true => Ok(()),
            false => Err(ocikit_image::Error::Io {
                op: "commit",
                path: std::path::PathBuf::new(),
                source: std::io::Error::other("the blob writer stopped early"),
            }),
        }
    }
}

/// The store's error for a blob pulled from `url`: a content mismatch
/// is the registry's (`Integrity` with the URL), anything else the
/// layout's.
fn from_store(url: &str, e: ocikit_image::Error) -> Error {
    match e {
        ocikit_image::Error::Integrity { source, .. } => Error::Integrity {
            url: url.to_owned(),
            source,
        },
        ocikit_image::Error::UnsupportedAlgorithm { digest } => Error::Integrity {
            url: url.to_owned(),
            source: ocikit_types::Error::UnsupportedAlgorithm {
                algorithm: digest.algorithm().to_owned(),
            },
        },
        other => Error::Layout(other),
    }
}
