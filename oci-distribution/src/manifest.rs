//! Manifests and indexes: pull (verified against their digest), head,
//! push and delete.

use ocikit_types::{AnyManifest, Descriptor, Digest, MediaType, Reference};
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};

use crate::client::{scope, Access, Client};
use crate::transport::{check, header_str, read_limited};
use crate::Error;

/// Every manifest and index media type this client understands, for
/// `Accept` headers.
pub(crate) const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

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

/// `r`'s repository at `digest`: a manifest an index refers to.
pub(crate) fn by_digest(r: &Reference, digest: &Digest) -> Result<Reference, Error> {
    Reference::try_from(format!("{}/{}@{digest}", r.registry(), r.repository())).map_err(|source| {
        Error::Document {
            url: r.to_string(),
            source,
        }
    })
}

fn target(r: &Reference) -> String {
    match r.digest() {
        Some(d) => d.to_string(),
        None => r.tag().unwrap_or("latest").to_owned(),
    }
}

impl Client {
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

    pub(crate) fn cfg_max_manifest(&self) -> u64 {
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
        self.push_manifest_as(r, bytes, media_type, r.digest())
            .await
    }

    /// [`Client::push_manifest`] of bytes whose digest is `digest` (by
    /// default `r`'s, else their SHA-256): a sha512 manifest pushed by tag
    /// keeps its digest, whatever algorithm the registry names it by.
    pub(crate) async fn push_manifest_as(
        &self,
        r: &Reference,
        bytes: &[u8],
        media_type: &MediaType,
        digest: Option<&Digest>,
    ) -> Result<PushedManifest, Error> {
        let digest = match digest {
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
            // A registry names a manifest pushed by tag by its own
            // canonical algorithm (Distribution: always sha256): another
            // algorithm's digest is fine when it is the one of these bytes.
            let same_bytes_other_algorithm = h
                .parse::<Digest>()
                .is_ok_and(|d| d.algorithm() != digest.algorithm() && d.verify(bytes).is_ok());
            if h != digest.as_str() && !same_bytes_other_algorithm {
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

    /// Deletes a manifest by digest.
    ///
    /// # Errors
    /// [`Error::Status`] (405 when the registry does not allow deletes).
    pub async fn delete_manifest(&self, r: &Reference, digest: &Digest) -> Result<(), Error> {
        self.delete(r, &format!("manifests/{digest}")).await
    }
}
