//! Registry operations: manifests, blobs, tags, referrers.

use ocikit_image::{Layout, Verification, Verifier};
use ocikit_types::{
    AnyManifest, Descriptor, Digest, Document, ImageIndex, MediaType, Reference, TagList,
};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::{Method, StatusCode};

use crate::client::{check, header_str, read_limited, scope, Access, Client, Progress};
use crate::Error;

/// Every manifest and index media type this client understands, for
/// `Accept` headers.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// Chunk size when falling back to chunked uploads.
const FALLBACK_CHUNK: u64 = 2 << 20;

/// A manifest or index fetched from a registry, verified against its
/// digest, with its exact bytes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PulledManifest {
    /// The exact bytes the registry sent.
    pub bytes: Vec<u8>,
    /// Their digest (checked against the reference's digest, or the
    /// registry's `Docker-Content-Digest`).
    pub digest: Digest,
    /// The media type (from `Content-Type`, else the document).
    pub media_type: MediaType,
    /// The parsed document.
    pub manifest: AnyManifest,
}

impl PulledManifest {
    /// A descriptor of these bytes.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.media_type.clone(),
            self.digest.clone(),
            self.bytes.len() as u64,
        )
    }
}

fn target(r: &Reference) -> String {
    match r.digest() {
        Some(d) => d.to_string(),
        None => r.tag().unwrap_or("latest").to_owned(),
    }
}

impl Client {
    /// Checks that the registry speaks the protocol (`GET /v2/`), logging
    /// in when it asks.
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Auth`], [`Error::Transport`].
    pub async fn ping(&self, r: &Reference) -> Result<(), Error> {
        let base = self.base(r);
        let url = format!("{}/", &base[..base.len() - r.repository().len() - 1]);
        self.send_ok(r, &[], Method::GET, &url, &|b| b).await?;
        Ok(())
    }

    /// Fetches the manifest or index `r` names (by digest when it has one,
    /// else by tag), verifies it, and parses it.
    ///
    /// The body is capped (4 MiB by default); its digest must equal the
    /// reference's digest, or the registry's `Docker-Content-Digest` when
    /// pulling by tag.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Integrity`], [`Error::Document`],
    /// [`Error::Status`] (use [`Error::is_not_found`]).
    pub async fn pull_manifest(&self, r: &Reference) -> Result<PulledManifest, Error> {
        let url = format!("{}/manifests/{}", self.base(r), target(r));
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self
            .send_ok(r, &scopes, Method::GET, &url, &|b| {
                b.header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let content_type = header_str(resp.headers(), "content-type").map(str::to_owned);
        let header_digest = header_str(resp.headers(), "docker-content-digest").map(str::to_owned);
        let bytes = read_limited(resp, self.cfg_max_manifest(), "manifest", &url).await?;
        let digest = match (r.digest(), header_digest) {
            (Some(want), _) => {
                let mut d = want.digester().map_err(|source| Error::Integrity {
                    url: url.clone(),
                    source,
                })?;
                d.update(&bytes);
                let found = d.finalize();
                if &found != want {
                    return Err(Error::digest(&url, want, &found));
                }
                found
            }
            (None, Some(h)) => {
                let claimed: Digest = h.parse().map_err(|_| Error::Protocol {
                    url: url.clone(),
                    expected: "a digest in Docker-Content-Digest",
                    found: h.clone(),
                })?;
                let found = match claimed.digester() {
                    Ok(mut d) => {
                        d.update(&bytes);
                        d.finalize()
                    }
                    Err(_) => Digest::sha256(&bytes),
                };
                if found != claimed {
                    return Err(Error::digest(&url, &claimed, &found));
                }
                found
            }
            (None, None) => Digest::sha256(&bytes),
        };
        let manifest =
            AnyManifest::from_slice(&bytes, content_type.as_deref()).map_err(|source| {
                Error::Document {
                    url: url.clone(),
                    source,
                }
            })?;
        Ok(PulledManifest {
            media_type: manifest.media_type(),
            bytes,
            digest,
            manifest,
        })
    }

    fn cfg_max_manifest(&self) -> u64 {
        self.cfg().max_manifest
    }

    /// Asks whether the manifest exists, without fetching it (`HEAD`).
    /// Returns its descriptor as the registry describes it.
    ///
    /// # Errors
    /// [`Error::Status`] other than 404, [`Error::Protocol`] when the answer
    /// lacks the digest or size.
    pub async fn head_manifest(&self, r: &Reference) -> Result<Option<Descriptor>, Error> {
        let url = format!("{}/manifests/{}", self.base(r), target(r));
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self
            .send(r, &scopes, Method::HEAD, &url, &|b| {
                b.header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = check(resp, "HEAD", &url).await?;
        let h = resp.headers();
        let digest = match (header_str(h, "docker-content-digest"), r.digest()) {
            (Some(d), _) => d.parse().map_err(|_| Error::Protocol {
                url: url.clone(),
                expected: "a digest in Docker-Content-Digest",
                found: d.to_owned(),
            })?,
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(Error::Protocol {
                    url,
                    expected: "a Docker-Content-Digest header",
                    found: "none".to_owned(),
                })
            }
        };
        let size = header_str(h, "content-length")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let media_type = header_str(h, "content-type")
            .and_then(|s| s.split(';').next())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(MediaType::ImageManifest);
        Ok(Some(Descriptor::new(media_type, digest, size)))
    }

    /// Downloads a blob into `layout`, streaming it through the hasher. The
    /// blob is stored only when its size and digest match `desc`; a body
    /// longer than `desc.size` is cut off and refused. A connection that
    /// breaks mid-blob is resumed with a `Range` request.
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
        if layout.has_blob(&desc.digest) {
            self.progress(Progress::Skipped {
                digest: desc.digest.clone(),
            });
            return Ok(());
        }
        let url = format!("{}/blobs/{}", self.base(r), desc.digest);
        let scopes = [scope(r.repository(), Access::Pull)];
        self.progress(Progress::Started {
            digest: desc.digest.clone(),
            size: desc.size,
        });
        let start = || {
            layout
                .blob_writer_for(&desc.digest, desc.size)
                .map_err(|e| from_store(&url, e))
        };
        let mut writer = start()?;
        let mut resumes = 0u32;
        'attempt: loop {
            let offset = writer.written();
            let resp = self
                .send_ok(r, &scopes, Method::GET, &url, &move |b| {
                    if offset > 0 {
                        b.header(RANGE, format!("bytes={offset}-"))
                    } else {
                        b
                    }
                })
                .await?;
            if offset > 0 && resp.status() != StatusCode::PARTIAL_CONTENT {
                // The registry ignored the range: start over.
                writer = start()?;
            }
            let mut resp = resp;
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        // Refuses a byte past the size before writing it.
                        writer.feed(&chunk).map_err(|e| from_store(&url, e))?;
                        self.progress(Progress::Bytes {
                            digest: desc.digest.clone(),
                            done: writer.written(),
                            size: desc.size,
                        });
                    }
                    Ok(None) => break 'attempt,
                    Err(e) => {
                        if resumes >= self.cfg().retries {
                            return Err(Error::RetriesExhausted {
                                url,
                                attempts: resumes + 1,
                                last: e.to_string(),
                            });
                        }
                        resumes += 1;
                        tracing::debug!(%url, error = %e, at = writer.written(), "blob body broke; resuming");
                        tokio::time::sleep(self.backoff(resumes - 1)).await;
                        continue 'attempt;
                    }
                }
            }
        }
        writer.commit().map_err(|e| from_store(&url, e))?;
        self.progress(Progress::Finished {
            digest: desc.digest.clone(),
        });
        Ok(())
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

    /// Asks whether the repository has the blob (`HEAD`).
    ///
    /// # Errors
    /// [`Error::Status`] other than 404.
    pub async fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<bool, Error> {
        self.blob_exists_for(r, digest, Access::Pull).await
    }

    /// [`Client::blob_exists`] with the token scope of the operation it is
    /// part of: a push asks with `pull,push`, so that one token serves the
    /// check and the upload.
    async fn blob_exists_for(
        &self,
        r: &Reference,
        digest: &Digest,
        access: Access,
    ) -> Result<bool, Error> {
        let url = format!("{}/blobs/{digest}", self.base(r));
        let scopes = [scope(r.repository(), access)];
        let resp = self.send(r, &scopes, Method::HEAD, &url, &|b| b).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(resp, "HEAD", &url).await.map(|_| true)
    }

    /// Mounts a blob from another repository of the same registry. Returns
    /// false when the registry declined (the caller then uploads).
    ///
    /// # Errors
    /// [`Error::Status`] for failures other than a declined mount.
    pub async fn mount_blob(
        &self,
        r: &Reference,
        from: &str,
        digest: &Digest,
    ) -> Result<bool, Error> {
        let url = format!("{}/blobs/uploads/?mount={digest}&from={from}", self.base(r));
        let scopes = [
            scope(r.repository(), Access::Push),
            scope(from, Access::Pull),
        ];
        let resp = self
            .send_ok(r, &scopes, Method::POST, &url, &|b| {
                b.header(CONTENT_LENGTH, "0")
            })
            .await?;
        if resp.status() == StatusCode::CREATED {
            self.progress(Progress::Skipped {
                digest: digest.clone(),
            });
            return Ok(true);
        }
        // 202: an upload session was opened instead; abandon it.
        if let Some(loc) = header_str(resp.headers(), "location") {
            let loc = self.absolute(&url, loc);
            let _ = self.send(r, &scopes, Method::DELETE, &loc, &|b| b).await;
        }
        Ok(false)
    }

    pub(crate) fn absolute(&self, base: &str, location: &str) -> String {
        match reqwest::Url::parse(base).and_then(|b| b.join(location)) {
            Ok(u) => u.to_string(),
            Err(_) => location.to_owned(),
        }
    }

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
        drop(layout.open_blob(desc, Verification::SizeOnlyUnverified)?);
        // Settles the algorithm once; each upload attempt hashes afresh.
        drop(Verifier::for_descriptor(desc)?);
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
        let sep = if loc.contains('?') { '&' } else { '?' };
        let url = format!("{loc}{sep}digest={}", desc.digest);
        let scopes = [scope(r.repository(), Access::Push)];
        let path = path.to_owned();
        let size = desc.size;
        let progress = self.cfg().progress.clone();
        let blob = desc.clone();
        let sent = self
            .send_ok(r, &scopes, Method::PUT, &url, &move |b| {
                b.header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, size)
                    .body(verified_body(&path, &blob, progress.clone()))
            })
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
        let scopes = [scope(r.repository(), Access::Push)];
        let io_err = |op: &'static str, e: std::io::Error| {
            Error::Layout(ocikit_image::Error::Io {
                op,
                path: path.to_owned(),
                source: e,
            })
        };
        let mut file = std::fs::File::open(path).map_err(|e| io_err("open", e))?;
        // The digest of the bytes read so far (once each, whatever resumes
        // send again), checked before the upload is completed.
        let mut verifier = Verifier::for_descriptor(desc)?;
        let mut offset = 0u64;
        let mut resumes = 0u32;
        while offset < desc.size {
            let end = (offset + chunk).min(desc.size);
            let mut body = vec![0u8; usize::try_from(end - offset).unwrap_or(0)];
            file.seek(std::io::SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut body))
                .map_err(|e| io_err("read", e))?;
            if end > verifier.written() {
                let from = usize::try_from(verifier.written().saturating_sub(offset)).unwrap_or(0);
                verifier.update(&body[from.min(body.len())..])?;
            }
            let range = format!("{offset}-{}", end - 1);
            let sent = self
                .send_ok(r, &scopes, Method::PATCH, &loc, &move |b| {
                    b.header(CONTENT_TYPE, "application/octet-stream")
                        .header("content-range", range.clone())
                        .header(CONTENT_LENGTH, body.len())
                        .body(body.clone())
                })
                .await;
            match sent {
                Ok(resp) => {
                    if let Some(l) = header_str(resp.headers(), "location") {
                        loc = self.absolute(&loc, l);
                    }
                    offset = end;
                }
                Err(e @ (Error::Transport { .. } | Error::RetriesExhausted { .. }))
                    if resumes < self.cfg().retries =>
                {
                    // Ask the registry how much it has, and go on from there.
                    resumes += 1;
                    tracing::debug!(url = %loc, error = %e, "chunk failed; asking for the upload status");
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
            // Never complete it: cancel the session (best effort; an
            // abandoned one expires on the registry anyway).
            let _ = self.send(r, &scopes, Method::DELETE, &loc, &|b| b).await;
            return Err(Error::Layout(e));
        }
        let sep = if loc.contains('?') { '&' } else { '?' };
        let url = format!("{loc}{sep}digest={}", desc.digest);
        self.send_ok(r, &scopes, Method::PUT, &url, &|b| {
            b.header(CONTENT_LENGTH, "0")
        })
        .await?;
        Ok(())
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

    /// Uploads a manifest or index under `r`'s digest or tag. Returns the
    /// digest of the bytes (checked against the registry's answer).
    ///
    /// # Errors
    /// [`Error::Status`] (e.g. `MANIFEST_BLOB_UNKNOWN` when a blob was not
    /// pushed first), [`Error::Integrity`] when the registry reports another
    /// digest.
    pub async fn push_manifest(
        &self,
        r: &Reference,
        bytes: &[u8],
        media_type: &MediaType,
    ) -> Result<PushedManifest, Error> {
        let digest = match r.digest() {
            Some(d) => {
                d.verify(bytes).map_err(|source| Error::Integrity {
                    url: r.to_string(),
                    source,
                })?;
                d.clone()
            }
            None => Digest::sha256(bytes),
        };
        let url = format!("{}/manifests/{}", self.base(r), target(r));
        let scopes = [scope(r.repository(), Access::Push)];
        let body = bytes.to_vec();
        let mt = media_type.to_string();
        let resp = self
            .send_ok(r, &scopes, Method::PUT, &url, &move |b| {
                b.header(CONTENT_TYPE, mt.clone()).body(body.clone())
            })
            .await?;
        if let Some(h) = header_str(resp.headers(), "docker-content-digest") {
            if h != digest.as_str() {
                return Err(Error::Integrity {
                    url,
                    source: ocikit_types::Error::DigestMismatch {
                        expected: digest.to_string(),
                        found: h.to_owned(),
                    },
                });
            }
        }
        let subject_processed = header_str(resp.headers(), "oci-subject").is_some();
        if resp.headers().get(LOCATION).is_none() {
            tracing::debug!(%url, "registry sent no Location for the manifest");
        }
        Ok(PushedManifest {
            digest,
            subject_processed,
        })
    }

    /// Lists the repository's tags, following `Link` pagination (at most
    /// 10,000 pages). `page_size` asks for that many per page (`n`).
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Document`].
    pub async fn tags(&self, r: &Reference, page_size: Option<u32>) -> Result<Vec<String>, Error> {
        let mut url = format!("{}/tags/list", self.base(r));
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let scopes = [scope(r.repository(), Access::Pull)];
        let mut tags = Vec::new();
        for _ in 0..10_000 {
            let resp = self.send_ok(r, &scopes, Method::GET, &url, &|b| b).await?;
            let next = header_str(resp.headers(), "link")
                .and_then(parse_next_link)
                .map(|l| self.absolute(&url, &l));
            let body = read_limited(resp, 64 << 20, "tag list", &url).await?;
            let list = TagList::from_slice(&body).map_err(|source| Error::Document {
                url: url.clone(),
                source,
            })?;
            let before = tags.len();
            tags.extend(list.tags);
            match next {
                Some(n) if n != url && tags.len() > before => url = n,
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// Lists the registry's repositories (`GET /v2/_catalog`), following
    /// `Link` pagination (at most 10,000 pages). Only `r`'s registry is
    /// used. Many registries restrict or disable this endpoint.
    ///
    /// # Errors
    /// [`Error::Status`] (404 or 401 where the catalog is not offered),
    /// [`Error::Document`].
    pub async fn catalog(
        &self,
        r: &Reference,
        page_size: Option<u32>,
    ) -> Result<Vec<String>, Error> {
        let base = self.base(r);
        let root = &base[..base.len() - r.repository().len() - 1];
        let mut url = format!("{root}/_catalog");
        if let Some(n) = page_size {
            url.push_str(&format!("?n={n}"));
        }
        let scopes = ["registry:catalog:*".to_owned()];
        let mut repositories = Vec::new();
        for _ in 0..10_000 {
            let resp = self.send_ok(r, &scopes, Method::GET, &url, &|b| b).await?;
            let next = header_str(resp.headers(), "link")
                .and_then(parse_next_link)
                .map(|l| self.absolute(&url, &l));
            let body = read_limited(resp, 64 << 20, "catalog", &url).await?;
            let page =
                ocikit_types::Catalog::from_slice(&body).map_err(|source| Error::Document {
                    url: url.clone(),
                    source,
                })?;
            let before = repositories.len();
            repositories.extend(page.repositories);
            match next {
                Some(n) if n != url && repositories.len() > before => url = n,
                _ => return Ok(repositories),
            }
        }
        Ok(repositories)
    }

    /// Deletes a manifest by digest.
    ///
    /// # Errors
    /// [`Error::Status`] (405 when the registry does not allow deletes).
    pub async fn delete_manifest(&self, r: &Reference, digest: &Digest) -> Result<(), Error> {
        self.delete(r, &format!("manifests/{digest}")).await
    }

    /// Deletes a blob.
    ///
    /// # Errors
    /// [`Error::Status`].
    pub async fn delete_blob(&self, r: &Reference, digest: &Digest) -> Result<(), Error> {
        self.delete(r, &format!("blobs/{digest}")).await
    }

    async fn delete(&self, r: &Reference, path: &str) -> Result<(), Error> {
        let url = format!("{}/{path}", self.base(r));
        let scopes = [
            format!("repository:{}:delete", r.repository()),
            scope(r.repository(), Access::Push),
        ];
        self.send_ok(r, &scopes, Method::DELETE, &url, &|b| b)
            .await?;
        Ok(())
    }

    /// The manifests that refer to `subject` (artifacts: signatures,
    /// SBOMs), filtered by `artifact_type` when given. Uses the referrers
    /// API, falling back to the `sha256-<hex>` tag schema for registries
    /// without it.
    ///
    /// # Errors
    /// [`Error::Status`], [`Error::Document`].
    pub async fn referrers(
        &self,
        r: &Reference,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ImageIndex, Error> {
        let mut url = format!("{}/referrers/{subject}", self.base(r));
        if let Some(t) = artifact_type {
            url.push_str(&format!("?artifactType={t}"));
        }
        let scopes = [scope(r.repository(), Access::Pull)];
        let resp = self
            .send(r, &scopes, Method::GET, &url, &|b| {
                b.header(ACCEPT, "application/vnd.oci.image.index.v1+json")
            })
            .await?;
        let is_index = header_str(resp.headers(), "content-type")
            .is_some_and(|c| c.starts_with("application/vnd.oci.image.index.v1+json"));
        let mut index = if resp.status().is_success() && is_index {
            let filtered = header_str(resp.headers(), "oci-filters-applied")
                .is_some_and(|f| f.contains("artifactType"));
            let body = read_limited(resp, self.cfg_max_manifest(), "referrers index", &url).await?;
            let idx = ImageIndex::from_slice(&body).map_err(|source| Error::Document {
                url: url.clone(),
                source,
            })?;
            if filtered {
                return Ok(idx);
            }
            idx
        } else if resp.status() == StatusCode::NOT_FOUND || resp.status().is_success() {
            self.referrers_tag_index(r, subject)
                .await?
                .unwrap_or_else(|| ImageIndex::new(Vec::new()))
        } else {
            return Err(check(resp, "GET", &url)
                .await
                .err()
                .unwrap_or(Error::Protocol {
                    url,
                    expected: "a referrers index",
                    found: "an unexpected answer".into(),
                }));
        };
        if let Some(t) = artifact_type {
            index
                .manifests
                .retain(|d| d.artifact_type.as_ref().is_some_and(|a| a.as_str() == t));
        }
        Ok(index)
    }

    /// The index under the fallback tag `<alg>-<hex>` for `subject`, if any.
    pub(crate) async fn referrers_tag_index(
        &self,
        r: &Reference,
        subject: &Digest,
    ) -> Result<Option<ImageIndex>, Error> {
        let tag = format!("{}-{}", subject.algorithm(), subject.encoded());
        let tr = Reference::try_from(format!("{}/{}:{tag}", r.registry(), r.repository()))
            .map_err(|source| Error::Document {
                url: tag.clone(),
                source,
            })?;
        match self.pull_manifest(&tr).await {
            Ok(p) => match p.manifest {
                AnyManifest::Index(i) => Ok(Some(*i)),
                _ => Ok(None),
            },
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What [`Client::push_manifest`] learned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushedManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// True when the registry answered with `OCI-Subject`: it maintains the
    /// referrers index itself.
    pub subject_processed: bool,
}

/// The `rel="next"` target of a `Link` header.
fn parse_next_link(link: &str) -> Option<String> {
    for part in link.split(',') {
        let part = part.trim();
        if !part.contains("rel=\"next\"") && !part.contains("rel=next") {
            continue;
        }
        let start = part.find('<')? + 1;
        let end = part[start..].find('>')? + start;
        return Some(part[start..end].to_owned());
    }
    None
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

/// The request body for the blob `desc` at `path`: read once in 1 MiB
/// chunks, each passing a [`Verifier`] on its way out, reporting
/// progress. The chunk that completes the blob is released only once the
/// digest is known to match: otherwise (or when the file is longer or
/// shorter than `desc.size`) the body fails with `InvalidData` carrying
/// the typed mismatch (see [`ocikit_image::Error::find_integrity`])
/// instead of ending, so the registry never gets a complete upload.
fn verified_body(
    path: &std::path::Path,
    desc: &Descriptor,
    progress: Option<crate::client::ProgressFn>,
) -> reqwest::Body {
    use futures_util::StreamExt as _;
    let path = path.to_owned();
    let chunks = futures_util::stream::once(async move { tokio::fs::File::open(path).await })
        .map(|f| match f {
            Ok(f) => tokio_util::io::ReaderStream::with_capacity(f, 1 << 20).left_stream(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).right_stream(),
        })
        .flatten();
    let verifier = Verifier::for_descriptor(desc).map_err(ocikit_image::Error::into_io);
    let stream =
        futures_util::stream::unfold(Some((Box::pin(chunks), verifier)), |state| async move {
            let (mut chunks, verifier) = state?;
            let mut verifier = match verifier {
                Ok(v) => v,
                Err(e) => return Some((Err(e), None)),
            };
            let chunk = match chunks.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => return Some((Err(e), None)),
                // Ended short of the size: finish() reports it.
                None => return verifier.finish().err().map(|e| (Err(e.into_io()), None)),
            };
            if let Err(e) = verifier.update(&chunk) {
                return Some((Err(e.into_io()), None));
            }
            if verifier.is_complete() {
                return Some(match verifier.finish() {
                    Ok(_) => (Ok(chunk), None),
                    Err(e) => (Err(e.into_io()), None),
                });
            }
            Some((Ok(chunk), Some((chunks, Ok(verifier)))))
        });
    let digest = desc.digest.clone();
    let size = desc.size;
    let mut done = 0u64;
    let stream = stream.inspect(move |chunk| {
        if let (Ok(c), Some(p)) = (chunk, &progress) {
            done += c.len() as u64;
            p(Progress::Bytes {
                digest: digest.clone(),
                done,
                size,
            });
        }
    });
    reqwest::Body::wrap_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        assert_eq!(
            parse_next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(parse_next_link(r#"<x>; rel="prev""#), None);
        assert_eq!(parse_next_link("garbage"), None);
    }
}
