//! The [`Storage`] trait over the bucket: blobs and their links,
//! manifests, tags, referrers and the catalog (sessions are in
//! `uploads.rs`).
//!
//! A manifest's bytes are a blob; its revision link holds its media type,
//! and is written after the bytes, so a reader finds either nothing or
//! the whole manifest. A tag is one link object holding a digest: moving
//! it is one put, and racing pushes end with the last writer's.

use std::io::Read;
use std::sync::Arc;
use std::time::SystemTime;

use ocikit_types::{Descriptor, Digest};

use super::read::S3Blob;
use super::S3Storage;
use crate::storage::{BlobContent, Storage, StoredBlob, StoredManifest, UploadSession};
use crate::{Error, RepositoryName};

impl S3Storage {
    /// The digest a link object names.
    fn read_link(&self, key: &object_store::path::Path) -> Result<Option<Digest>, Error> {
        let Some(bytes) = self.get_small(key)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        text.trim().parse().map(Some).map_err(|_| Error::Corrupt {
            path: key.as_ref().into(),
            expected: "a digest",
            found: text.chars().take(200).collect(),
        })
    }

    /// Whether anything is stored for `repo`.
    fn repo_exists(&self, repo: &str) -> Result<bool, Error> {
        Ok(self
            .list_dirs(&self.keys.repo(repo))?
            .iter()
            .any(|d| d.starts_with('_')))
    }

    /// The repositories under `repositories/<prefix>`, depth first.
    fn collect_repos(&self, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
        let key = if prefix.is_empty() {
            self.keys.repos()
        } else {
            self.keys.repo(prefix)
        };
        for dir in self.list_dirs(&key)? {
            if dir.starts_with('_') {
                out.push(prefix.to_owned());
            } else if prefix.is_empty() {
                self.collect_repos(&dir, out)?;
            } else {
                self.collect_repos(&format!("{prefix}/{dir}"), out)?;
            }
        }
        Ok(())
    }
}

impl Storage for S3Storage {
    fn blob_size(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        if self.exists(&self.keys.layer(repo, digest))?.is_none() {
            return Ok(None);
        }
        self.exists(&self.keys.blob(digest))
    }

    fn has_any_blob(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(self.exists(&self.keys.blob(digest))?.is_some())
    }

    fn open_blob(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<(BlobContent, u64)>, Error> {
        let Some(size) = self.blob_size(repo, digest)? else {
            return Ok(None);
        };
        let key = self.keys.blob(digest);
        let redirect = match self.options.redirect {
            true => Some(S3Blob::sign(&self.store, &self.handle(), &key)?),
            false => None,
        };
        let blob = S3Blob {
            store: self.store.clone(),
            handle: self.handle(),
            key,
            redirect,
        };
        Ok(Some((BlobContent::Remote(Box::new(blob)), size)))
    }

    fn link_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        if self.promise(digest)?.is_none() {
            return Ok(false);
        }
        self.put_small(&self.keys.layer(repo, digest), digest.as_str().to_owned())?;
        Ok(true)
    }

    fn unlink_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let key = self.keys.layer(repo, digest);
        if self.exists(&key)?.is_none() {
            return Ok(false);
        }
        self.delete(&key)?;
        Ok(true)
    }

    fn create_upload(&self, repo: &RepositoryName) -> Result<UploadSession, Error> {
        self.create_session(repo)
    }

    fn upload(&self, id: &str) -> Result<Option<UploadSession>, Error> {
        self.session(id)
    }

    fn append_upload(&self, id: &str, bytes: &[u8]) -> Result<u64, Error> {
        self.append(id, &[bytes])
    }

    fn append_upload_parts(&self, id: &str, parts: &[&[u8]]) -> Result<u64, Error> {
        self.append(id, parts)
    }

    fn read_upload(&self, id: &str) -> Result<Box<dyn Read + Send>, Error> {
        self.read_session(id)
    }

    fn commit_upload(&self, id: &str, repo: &RepositoryName, digest: &Digest) -> Result<(), Error> {
        self.commit(id, repo, digest)
    }

    fn cancel_upload(&self, id: &str) -> Result<bool, Error> {
        self.cancel(id)
    }

    fn put_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &StoredManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        let d = &manifest.digest;
        let blob = self.keys.blob(d);
        // Stored already: promised, so a collector does not remove the
        // bytes this manifest's revision will name.
        if self.exists(&blob)?.is_none() || self.promise(d)?.is_none() {
            self.put_small(&blob, manifest.bytes.to_vec())?;
        }
        self.put_small(&self.keys.layer(repo, d), d.as_str().to_owned())?;
        self.put_small(&self.keys.revision(repo, d), manifest.media_type.clone())?;
        if let Some(tag) = tag {
            self.put_small(&self.keys.tag(repo, tag), d.as_str().to_owned())?;
        }
        Ok(())
    }

    fn manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, Error> {
        let Some(media_type) = self.get_small(&self.keys.revision(repo, digest))? else {
            return Ok(None);
        };
        let key = self.keys.blob(digest);
        let bytes = self.get_small(&key)?.ok_or_else(|| Error::Corrupt {
            path: key.as_ref().into(),
            expected: "the bytes of a manifest its revision link names",
            found: "no object".into(),
        })?;
        Ok(Some(StoredManifest {
            digest: digest.clone(),
            media_type: String::from_utf8_lossy(&media_type).into_owned(),
            bytes: Arc::new(bytes.to_vec()),
        }))
    }

    fn resolve_tag(&self, repo: &RepositoryName, tag: &str) -> Result<Option<Digest>, Error> {
        self.read_link(&self.keys.tag(repo, tag))
    }

    fn tags(&self, repo: &RepositoryName) -> Result<Option<Vec<String>>, Error> {
        let tags = self.list_dirs(&self.keys.tags(repo))?;
        if tags.is_empty() && !self.repo_exists(repo.as_str())? {
            return Ok(None);
        }
        Ok(Some(tags))
    }

    fn delete_manifest(&self, repo: &RepositoryName, digest: &Digest) -> Result<bool, Error> {
        let revision = self.keys.revision(repo, digest);
        if self.exists(&revision)?.is_none() {
            return Ok(false);
        }
        for tag in self.list_dirs(&self.keys.tags(repo))? {
            if self.resolve_tag(repo, &tag)?.as_ref() == Some(digest) {
                self.delete(&self.keys.tag(repo, &tag))?;
            }
        }
        self.delete(&revision)?;
        self.delete(&self.keys.layer(repo, digest))?;
        Ok(true)
    }

    fn delete_tag(&self, repo: &RepositoryName, tag: &str) -> Result<bool, Error> {
        let key = self.keys.tag(repo, tag);
        if self.exists(&key)?.is_none() {
            return Ok(false);
        }
        self.delete(&key)?;
        Ok(true)
    }

    fn repositories(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        self.collect_repos("", &mut out)?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn add_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Descriptor,
    ) -> Result<(), Error> {
        let key = self.keys.referrer(repo, subject, &referrer.digest);
        let json = serde_json::to_vec(referrer).unwrap_or_default();
        self.put_small(&key, json)
    }

    fn remove_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> Result<(), Error> {
        self.delete(&self.keys.referrer(repo, subject, referrer))
    }

    fn referrers(&self, repo: &RepositoryName, subject: &Digest) -> Result<Vec<Descriptor>, Error> {
        let mut out = Vec::new();
        for (key, _) in self.list_all(&self.keys.referrers(repo, subject))? {
            let Some(bytes) = self.get_small(&key)? else {
                continue; // removed since the listing
            };
            let d: Descriptor = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path: key.as_ref().into(),
                expected: "a referrer's descriptor",
                found: e.to_string(),
            })?;
            out.push(d);
        }
        out.sort_by(|a, b| a.digest.as_str().cmp(b.digest.as_str()));
        Ok(out)
    }

    fn promise_blob(&self, repo: &RepositoryName, digest: &Digest) -> Result<Option<u64>, Error> {
        if self.exists(&self.keys.layer(repo, digest))?.is_none() {
            return Ok(None);
        }
        self.promise(digest)
    }

    fn stored_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        self.list_stored_blobs()
    }

    fn manifest_digests(&self, repo: &RepositoryName) -> Result<Vec<Digest>, Error> {
        self.list_manifest_digests(repo)
    }

    fn remove_blobs(
        &self,
        digests: &[Digest],
        unpromised_since: SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        self.remove_unpromised(digests, unpromised_since)
    }

    fn begin_collection(&self) -> Result<bool, Error> {
        self.take_lease()
    }

    fn end_collection(&self) -> Result<(), Error> {
        self.drop_lease()
    }
}
