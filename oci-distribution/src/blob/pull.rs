//! Blob downloads: streamed into a layout through its verifying writer,
//! resumed with `Range` when the connection breaks.

use ocikit_image::Layout;
use ocikit_types::{Descriptor, Reference};
use reqwest::header::RANGE;
use reqwest::{Method, StatusCode};

use crate::builder::Progress;
use crate::client::{scope, Access, Client};
use crate::transport::{read_limited, Budget};
use crate::Error;

impl Client {
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
                writer = start()?;
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
                            if e.is_timeout() {
                                return Err(e);
                            }
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
