//! Manifests, tags, referrers and the catalog on disk. A repository's
//! manifests are the entries of its layout's `index.json`: each tag is an
//! entry with the `org.opencontainers.image.ref.name` annotation, and a
//! manifest without a tag keeps one entry without it.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ocikit_image::Layout;
use ocikit_types::{annotation::REF_NAME, Descriptor, Digest, Document, ImageIndex, MediaType};

use super::{remove_file, FsStorage};
use crate::storage::StoredManifest;
use crate::{Error, RepositoryName};

fn layout_error(repo: &RepositoryName) -> impl FnOnce(ocikit_image::Error) -> Error + '_ {
    move |source| Error::Layout {
        repository: repo.as_str().to_owned(),
        source: Box::new(source),
    }
}

/// After entries were removed, gives each manifest of `digests` that has
/// no entry left an untagged one, so it stays pullable by digest.
fn keep_untagged(index: &mut ImageIndex, removed: Vec<Descriptor>) {
    for mut d in removed {
        if !index.manifests.iter().any(|m| m.digest == d.digest) {
            d.annotations.remove(REF_NAME);
            index.manifests.push(d);
        }
    }
}

impl FsStorage {
    /// The repository's layout, created on first use.
    pub(super) fn layout(&self, repo: &RepositoryName) -> Result<Layout, Error> {
        Layout::create(self.layout_dir(repo)).map_err(layout_error(repo))
    }

    /// The repository's layout when it exists.
    fn existing_layout(&self, repo: &RepositoryName) -> Result<Option<Layout>, Error> {
        let dir = self.layout_dir(repo);
        if !dir.join("oci-layout").is_file() {
            return Ok(None);
        }
        Layout::open(dir).map(Some).map_err(layout_error(repo))
    }

    /// The entries of the repository's `index.json` (read once, without
    /// opening the layout, which would read it twice).
    pub(super) fn entries(&self, repo: &RepositoryName) -> Result<Option<Vec<Descriptor>>, Error> {
        let path = self.layout_dir(repo).join("index.json");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let index = ImageIndex::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path: path.clone(),
            expected: "an image index",
            found: e.to_string(),
        })?;
        Ok(Some(index.manifests))
    }

    pub(super) fn store_manifest(
        &self,
        repo: &RepositoryName,
        manifest: &StoredManifest,
        tag: Option<&str>,
    ) -> Result<(), Error> {
        // Shared: the manifest's blob is promised (linked) and entered in
        // the index before a collector may look at it again.
        let _lock = self.gc_lock(super::Lock::Shared)?;
        let layout = self.layout(repo)?;
        if !self.has_shared(&manifest.digest) {
            let tmp = self.write_temp(&manifest.bytes)?;
            self.install_shared(&tmp, &manifest.digest)?;
        }
        self.link(repo, &manifest.digest)?;
        let media_type: MediaType = manifest.media_type.parse().map_err(|_| Error::Corrupt {
            path: self.layout_dir(repo),
            expected: "a manifest media type",
            found: manifest.media_type.clone(),
        })?;
        let mut desc = Descriptor::new(
            media_type,
            manifest.digest.clone(),
            manifest.bytes.len() as u64,
        );
        layout
            .update_index(|index| {
                match tag {
                    Some(tag) => {
                        let (removed, kept) = std::mem::take(&mut index.manifests)
                            .into_iter()
                            .partition(|d| {
                                d.annotation(REF_NAME) == Some(tag)
                                    || (d.digest == desc.digest && d.annotation(REF_NAME).is_none())
                            });
                        index.manifests = kept;
                        desc.annotations.insert(REF_NAME.to_owned(), tag.to_owned());
                        index.manifests.push(desc);
                        keep_untagged(index, removed);
                    }
                    None => {
                        if !index.manifests.iter().any(|d| d.digest == desc.digest) {
                            index.manifests.push(desc);
                        }
                    }
                }
                Ok(())
            })
            .map_err(layout_error(repo))
    }

    fn has_shared(&self, digest: &Digest) -> bool {
        self.shared_blob(digest).is_file()
    }

    pub(super) fn load_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<Option<StoredManifest>, Error> {
        let Some(entries) = self.entries(repo)? else {
            return Ok(None);
        };
        let Some(entry) = entries.into_iter().find(|d| &d.digest == digest) else {
            return Ok(None);
        };
        let path = self.linked_blob(repo, digest);
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        Ok(Some(StoredManifest {
            digest: digest.clone(),
            media_type: entry.media_type.to_string(),
            bytes: Arc::new(bytes),
        }))
    }

    pub(super) fn find_tag(
        &self,
        repo: &RepositoryName,
        tag: &str,
    ) -> Result<Option<Digest>, Error> {
        Ok(self.entries(repo)?.and_then(|e| {
            e.into_iter()
                .find(|d| d.annotation(REF_NAME) == Some(tag))
                .map(|d| d.digest)
        }))
    }

    pub(super) fn list_tags(&self, repo: &RepositoryName) -> Result<Option<Vec<String>>, Error> {
        Ok(self.entries(repo)?.map(|e| {
            let tags: BTreeSet<String> = e
                .iter()
                .filter_map(|d| d.annotation(REF_NAME).map(str::to_owned))
                .collect();
            tags.into_iter().collect()
        }))
    }

    pub(super) fn remove_manifest(
        &self,
        repo: &RepositoryName,
        digest: &Digest,
    ) -> Result<bool, Error> {
        let Some(layout) = self.existing_layout(repo)? else {
            return Ok(false);
        };
        let removed = layout
            .update_index(|index| {
                let before = index.manifests.len();
                index.manifests.retain(|d| &d.digest != digest);
                Ok(before != index.manifests.len())
            })
            .map_err(layout_error(repo))?;
        if removed {
            remove_file(&self.linked_blob(repo, digest))?;
        }
        Ok(removed)
    }

    pub(super) fn remove_tag(&self, repo: &RepositoryName, tag: &str) -> Result<bool, Error> {
        let Some(layout) = self.existing_layout(repo)? else {
            return Ok(false);
        };
        layout
            .update_index(|index| {
                let (removed, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut index.manifests)
                    .into_iter()
                    .partition(|d| d.annotation(REF_NAME) == Some(tag));
                index.manifests = kept;
                let found = !removed.is_empty();
                keep_untagged(index, removed);
                Ok(found)
            })
            .map_err(layout_error(repo))
    }

    pub(super) fn list_repositories(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        walk(&self.root.join("repositories"), "", &mut out)?;
        out.sort();
        Ok(out)
    }

    pub(super) fn referrer_path(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Digest,
    ) -> PathBuf {
        self.referrers_dir(repo, subject).join(format!(
            "{}-{}.json",
            referrer.algorithm(),
            referrer.encoded()
        ))
    }

    fn referrers_dir(&self, repo: &RepositoryName, subject: &Digest) -> PathBuf {
        self.repo_dir(repo)
            .join("_referrers")
            .join(subject.algorithm())
            .join(subject.encoded())
    }

    pub(super) fn store_referrer(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
        referrer: &Descriptor,
    ) -> Result<(), Error> {
        let path = self.referrer_path(repo, subject, &referrer.digest);
        let dir = super::parent(&path);
        fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))?;
        let json = serde_json::to_vec(referrer).unwrap_or_default();
        ocikit_image::write_atomic(&path, &json).map_err(layout_error(repo))
    }

    pub(super) fn list_referrers(
        &self,
        repo: &RepositoryName,
        subject: &Digest,
    ) -> Result<Vec<Descriptor>, Error> {
        let dir = self.referrers_dir(repo, subject);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &dir, e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| Error::io("list", &dir, e))?.path();
            if path.extension().is_none_or(|x| x != "json") {
                continue; // a temp file of a write in progress
            }
            let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let desc: Descriptor = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path: path.clone(),
                expected: "a referrer's descriptor",
                found: e.to_string(),
            })?;
            out.push(desc);
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }
}

/// Collects the repositories under `dir` (whose name so far is `prefix`):
/// folders with a `_layout`, descending into every folder not starting
/// with `_`.
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("list", dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("list", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('_') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let full = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if path.join("_layout").join("oci-layout").is_file() {
            out.push(full.clone());
        }
        walk(&path, &full, out)?;
    }
    Ok(())
}
