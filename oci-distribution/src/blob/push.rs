//! Blob uploads: monolithic or chunked, each byte read once and hashed
//! once on its way out, never completed when the local blob is not the
//! one described.

use ocikit_image::{Layout, Verification, Verifier};
use ocikit_types::{Descriptor, Digest, MediaType, Reference};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use crate::blob::push_body::verified_body;
use crate::builder::Progress;
use crate::client::{blocking, scope, Access, Client};
use crate::transport::{header_str, Budget};
use crate::Error;

/// Chunk size when falling back to chunked uploads.
const FALLBACK_CHUNK: u64 = 2 << 20;

impl Client {
    /// Uploads a blob from `layout` unless the repository already has it.
    /// Monolithic (POST, then one streamed PUT) by default; chunked when
    /// configured or when the registry refuses the monolithic PUT. The
    /// blob is read once: its digest is computed on the way out, and an
    /// upload whose bytes do not match is never completed on the registry.
    ///
    /// # Errors
    /// [`Error::Layout`] when the blob is missing or corrupt locally
    /// (`is_integrity`; not retried),
    /// [`Error::Status`], [`Error::Protocol`] (no `Location`).
    pub async fn push_blob(
        &self,
        r: &Reference,
        desc: &Descriptor,
        layout: &Layout,
    ) -> Result<(), Error> {
        if self.blob_exists_for(r, &desc.digest, Access::Push).await? {
            self.progress(Progress::Skipped {
                digest: desc.digest.clone(),
            });
            return Ok(());
        }
        // Present and of the right size; the digest is checked while the
        // bytes go out (one read), and a blob that fails it is never
        // completed on the registry.
        {
            let (layout, desc) = (layout.clone(), desc.clone());
            blocking(move || {
                drop(layout.open_blob(&desc, Verification::SizeOnlyUnverified)?);
                // Settles the algorithm once; each upload attempt hashes afresh.
                Verifier::for_descriptor(&desc).map(drop)
            })
            .await?;
        }
        self.progress(Progress::Started {
            digest: desc.digest.clone(),
            size: desc.size,
        });
        let path = layout.blob_path(&desc.digest);
        match self.cfg().chunk_size {
            // Registries that refuse PATCH uploads (405, as GCP's) get one PUT.
            Some(chunk) => match self.upload_chunked(r, desc, &path, chunk).await {
                Err(Error::Status { status: 405, .. }) => {
                    self.upload_monolithic(r, desc, &path).await?
                }
                other => other?,
            },
            // Registries that refuse a monolithic PUT, or cap request bodies
            // (GHCR at 4 MiB), get chunks well under that.
            None => match self.upload_monolithic(r, desc, &path).await {
                Err(Error::Status {
                    status: 405 | 413 | 400,
                    ..
                }) => self.upload_chunked(r, desc, &path, FALLBACK_CHUNK).await?,
                other => other?,
            },
        }
        self.progress(Progress::Finished {
            digest: desc.digest.clone(),
        });
        Ok(())
    }

    /// Uploads a blob of unknown length from `reader`, in chunks (PATCH,
    /// of [`crate::ClientBuilder::chunked_upload`]'s size, 2 MiB by
    /// default, or the registry's minimum when larger), computing its
    /// SHA-256 digest on the way, and returns its descriptor with
    /// `media_type`. Each byte is read once; the upload is completed only
    /// with the digest of what was sent.
    ///
    /// A chunk that fails is not resent (the reader cannot be rewound):
    /// the upload session is cancelled and the error returned.
    ///
    /// # Errors
    /// [`Error::Layout`] (`Io`) when `reader` fails, and
    /// [`Error::Status`], [`Error::Protocol`] as [`Client::push_blob`].
    pub async fn push_blob_from_reader(
        &self,
        r: &Reference,
        media_type: MediaType,
        mut reader: impl tokio::io::AsyncRead + Unpin + Send,
    ) -> Result<Descriptor, Error> {
        self.push_blob_from_reader_inner(r, media_type, &mut reader)
            .await
    }

    async fn push_blob_from_reader_inner(
        &self,
        r: &Reference,
        media_type: MediaType,
        reader: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    ) -> Result<Descriptor, Error> {
        use tokio::io::AsyncReadExt as _;
        let (mut loc, min) = self.start_upload(r).await?;
        let chunk = usize::try_from(
            self.cfg()
                .chunk_size
                .unwrap_or(FALLBACK_CHUNK)
                .max(min.unwrap_or(0))
                .max(1),
        )
        .unwrap_or(usize::MAX);
        let mut verifier = Verifier::computing(ocikit_types::Algorithm::Sha256, u64::MAX);
        let mut offset = 0u64;
        let outcome: Result<(), Error> = async {
            loop {
                let mut body = Vec::with_capacity(chunk.min(FALLBACK_CHUNK as usize));
                let mut limited = (&mut *reader).take(chunk as u64);
                limited.read_to_end(&mut body).await.map_err(|e| {
                    Error::Layout(ocikit_image::Error::Io {
                        op: "read the blob to upload from",
                        path: std::path::PathBuf::from("<reader>"),
                        source: e,
                    })
                })?;
                if body.is_empty() {
                    return Ok(());
                }
                verifier.update(&body)?;
                let len = body.len();
                loc = self.send_chunk(r, &loc, offset, body).await?;
                offset += len as u64;
                if len < chunk {
                    return Ok(());
                }
            }
        }
        .await;
        if let Err(e) = outcome {
            self.cancel_upload(r, &loc).await;
            return Err(e);
        }
        let (digest, size) = verifier.finish()?;
        self.complete_upload(r, &loc, &digest).await?;
        Ok(Descriptor::new(media_type, digest, size))
    }

    /// Sends `body` as the chunk at `offset` of the upload session `loc`
    /// (`PATCH` with its `Content-Range`) and returns the session's next
    /// location. The body is shared, not copied, by each attempt.
    async fn send_chunk(
        &self,
        r: &Reference,
        loc: &str,
        offset: u64,
        body: Vec<u8>,
    ) -> Result<String, Error> {
        let scopes = [scope(r.repository(), Access::Push)];
        let len = body.len() as u64;
        let range = format!("{offset}-{}", (offset + len).saturating_sub(1));
        let body = bytes::Bytes::from(body);
        let resp = self
            .send_ok_within(
                r,
                &scopes,
                Method::PATCH,
                loc,
                &move |b| {
                    b.header(CONTENT_TYPE, "application/octet-stream")
                        .header("content-range", range.clone())
                        .header(CONTENT_LENGTH, len)
                        .body(body.clone())
                },
                Budget::Upload,
            )
            .await?;
        Ok(header_str(resp.headers(), "location")
            .map_or_else(|| loc.to_owned(), |l| self.absolute(loc, l)))
    }

    /// Completes the upload session `loc` as the blob `digest` (an empty
    /// `PUT`; the registry checks the digest of what it received).
    async fn complete_upload(
        &self,
        r: &Reference,
        loc: &str,
        digest: &Digest,
    ) -> Result<(), Error> {
        let scopes = [scope(r.repository(), Access::Push)];
        self.send_ok(r, &scopes, Method::PUT, &with_digest(loc, digest), &|b| {
            b.header(CONTENT_LENGTH, "0")
        })
        .await?;
        Ok(())
    }

    /// Cancels the upload session `loc`, best effort: an abandoned session
    /// expires on the registry anyway.
    async fn cancel_upload(&self, r: &Reference, loc: &str) {
        let scopes = [scope(r.repository(), Access::Push)];
        let _ = self.send(r, &scopes, Method::DELETE, loc, &|b| b).await;
    }

    async fn start_upload(&self, r: &Reference) -> Result<(String, Option<u64>), Error> {
        let url = format!("{}/blobs/uploads/", self.base(r));
        let scopes = [scope(r.repository(), Access::Push)];
        let resp = self
            .send_ok(r, &scopes, Method::POST, &url, &|b| {
                b.header(CONTENT_LENGTH, "0")
            })
            .await?;
        let loc = header_str(resp.headers(), "location").ok_or_else(|| Error::Protocol {
            url: url.clone(),
            expected: "a Location header for the upload",
            found: "none".to_owned(),
        })?;
        let min_chunk =
            header_str(resp.headers(), "oci-chunk-min-length").and_then(|v| v.parse().ok());
        Ok((self.absolute(&url, loc), min_chunk))
    }

    async fn upload_monolithic(
        &self,
        r: &Reference,
        desc: &Descriptor,
        path: &std::path::Path,
    ) -> Result<(), Error> {
        let (loc, _) = self.start_upload(r).await?;
        let url = with_digest(&loc, &desc.digest);
        let scopes = [scope(r.repository(), Access::Push)];
        let path = path.to_owned();
        let size = desc.size;
        let progress = self.cfg().progress.clone();
        let blob = desc.clone();
        let sent = self
            .send_ok_within(
                r,
                &scopes,
                Method::PUT,
                &url,
                &move |b| {
                    b.header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, size)
                        .body(verified_body(&path, &blob, progress.clone()))
                },
                Budget::Upload,
            )
            .await;
        match sent {
            // The local blob failed its check on the way out: the body
            // failed instead of ending, so the registry never completed it.
            Err(e) => Err(ocikit_image::Error::find_integrity(&e)
                .map(Error::Layout)
                .unwrap_or(e)),
            Ok(_) => Ok(()),
        }
    }

    async fn upload_chunked(
        &self,
        r: &Reference,
        desc: &Descriptor,
        path: &std::path::Path,
        chunk: u64,
    ) -> Result<(), Error> {
        use std::io::{Read as _, Seek as _};
        let (mut loc, min) = self.start_upload(r).await?;
        let chunk = chunk.max(min.unwrap_or(0)).max(1);
        let io_err = |op: &'static str, e: std::io::Error| {
            Error::Layout(ocikit_image::Error::Io {
                op,
                path: path.to_owned(),
                source: e,
            })
        };
        let file = {
            let path = path.to_owned();
            blocking(move || std::fs::File::open(path))
                .await
                .map_err(|e| io_err("open", e))?
        };
        let mut file = Some(file);
        // The digest of the bytes read so far (once each, whatever resumes
        // send again), checked before the upload is completed.
        let mut verifier = Verifier::for_descriptor(desc)?;
        let mut offset = 0u64;
        let mut resumes = 0u32;
        while offset < desc.size {
            let end = (offset + chunk).min(desc.size);
            let len = usize::try_from(end - offset).unwrap_or(0);
            let mut f = file
                .take()
                .ok_or_else(|| io_err("read", std::io::Error::other("an earlier read failed")))?;
            let (f, read) = blocking(move || {
                let mut body = vec![0u8; len];
                let read = f
                    .seek(std::io::SeekFrom::Start(offset))
                    .and_then(|_| f.read_exact(&mut body))
                    .map(|()| body);
                (f, read)
            })
            .await;
            file = Some(f);
            let body = read.map_err(|e| io_err("read", e))?;
            if end > verifier.written() {
                let from = usize::try_from(verifier.written().saturating_sub(offset)).unwrap_or(0);
                verifier.update(&body[from.min(body.len())..])?;
            }
            match self.send_chunk(r, &loc, offset, body).await {
                Ok(next) => {
                    loc = next;
                    offset = end;
                }
                Err(e @ (Error::Transport { .. } | Error::RetriesExhausted { .. }))
                    if resumes < self.cfg().retries =>
                {
                    // Ask the registry how much it has, and go on from there.
                    resumes += 1;
                    tracing::debug!(url = %loc, error = &e as &dyn std::error::Error, "chunk failed; asking for the upload status");
                    let (next, l) = self.upload_status(r, &loc).await?;
                    offset = next.min(desc.size);
                    loc = l;
                }
                Err(e) => return Err(e),
            }
            self.progress(Progress::Bytes {
                digest: desc.digest.clone(),
                done: offset,
                size: desc.size,
            });
        }
        if let Err(e) = verifier.finish() {
            // Never complete it.
            self.cancel_upload(r, &loc).await;
            return Err(Error::Layout(e));
        }
        self.complete_upload(r, &loc, &desc.digest).await
    }

    /// The upload session's status: the offset to continue from (one past
    /// the end of its `Range`) and its current location.
    async fn upload_status(&self, r: &Reference, loc: &str) -> Result<(u64, String), Error> {
        let scopes = [scope(r.repository(), Access::Push)];
        let resp = self.send_ok(r, &scopes, Method::GET, loc, &|b| b).await?;
        let next = header_str(resp.headers(), "range")
            .map(|v| v.trim_start_matches("bytes="))
            .and_then(|v| v.split_once('-'))
            .and_then(|(_, end)| end.trim().parse::<u64>().ok())
            .map_or(0, |end| end + 1);
        let loc = header_str(resp.headers(), "location")
            .map_or_else(|| loc.to_owned(), |l| self.absolute(loc, l));
        Ok((next, loc))
    }
}

/// The upload session `loc` with the `digest` query that completes it.
fn with_digest(loc: &str, digest: &Digest) -> String {
    let sep = if loc.contains('?') { '&' } else { '?' };
    format!("{loc}{sep}digest={digest}")
}
