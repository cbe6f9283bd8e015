//! The garbage collector's side of [`MemoryStorage`](super::MemoryStorage):
//! promises and removals happen under the store's one lock, so a check
//! and the removal that follows it are a single step.

use std::time::{SystemTime, UNIX_EPOCH};

use ocikit_types::Digest;

use super::Inner;
use crate::storage::StoredBlob;
use crate::RepositoryName;

impl Inner {
    /// Records that `digest` was promised to a client now.
    pub(super) fn promise(&mut self, digest: &Digest) {
        self.promised.insert(digest.clone(), SystemTime::now());
    }

    /// The size of `digest` when linked in `repo`, promised now.
    pub(super) fn promise_in(&mut self, repo: &RepositoryName, digest: &Digest) -> Option<u64> {
        let size = self
            .repo(repo)
            .filter(|r| r.blobs.contains(digest))
            .and_then(|_| self.blobs.get(digest))
            .map(|b| b.len() as u64)?;
        self.promise(digest);
        Some(size)
    }

    fn promised_at(&self, digest: &Digest) -> SystemTime {
        self.promised.get(digest).copied().unwrap_or(UNIX_EPOCH)
    }

    pub(super) fn stored_blobs(&self) -> Vec<StoredBlob> {
        self.blobs
            .iter()
            .map(|(digest, bytes)| StoredBlob {
                digest: digest.clone(),
                size: bytes.len() as u64,
                promised: self.promised_at(digest),
            })
            .collect()
    }

    pub(super) fn remove_blobs(&mut self, digests: &[Digest], since: SystemTime) -> Vec<Digest> {
        let mut removed = Vec::new();
        for d in digests {
            if self.promised_at(d) >= since {
                continue;
            }
            let mut found = self.blobs.remove(d).is_some();
            for r in self.repos.values_mut() {
                found |= r.blobs.remove(d);
            }
            self.promised.remove(d);
            if found {
                removed.push(d.clone());
            }
        }
        removed
    }

    pub(super) fn remove_untagged_manifest(
        &mut self,
        repo: &RepositoryName,
        digest: &Digest,
        since: SystemTime,
    ) -> bool {
        if self.promised_at(digest) >= since {
            return false;
        }
        let Some(r) = self.repos.get_mut(repo.as_str()) else {
            return false;
        };
        if r.tags.values().any(|d| d == digest) || r.manifests.remove(digest).is_none() {
            return false;
        }
        r.blobs.remove(digest);
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::storage::{Storage, StoredManifest};
    use crate::{MemoryStorage, RepositoryName};
    use ocikit_types::{Digest, MediaType};

    fn push(s: &MemoryStorage, repo: &RepositoryName, bytes: &[u8]) -> Digest {
        let session = s.create_upload(repo).unwrap();
        s.append_upload(&session.id, bytes).unwrap();
        let d = Digest::sha256(bytes);
        s.commit_upload(&session.id, repo, &d).unwrap();
        d
    }

    #[test]
    fn a_blob_promised_after_the_cutoff_stays() {
        let s = MemoryStorage::new();
        let (a, b) = (
            RepositoryName::parse("a").unwrap(),
            RepositoryName::parse("b").unwrap(),
        );
        let d = push(&s, &a, b"layer");
        assert!(s.link_blob(&b, &d).unwrap());
        let before = std::time::SystemTime::now() - Duration::from_secs(60);
        assert!(s
            .remove_blobs(std::slice::from_ref(&d), before)
            .unwrap()
            .is_empty());
        assert_eq!(s.promise_blob(&a, &d).unwrap(), Some(5));
        let after = std::time::SystemTime::now() + Duration::from_secs(1);
        assert_eq!(
            s.remove_blobs(std::slice::from_ref(&d), after).unwrap(),
            vec![d.clone()]
        );
        assert_eq!(s.blob_size(&a, &d).unwrap(), None);
        assert_eq!(
            s.blob_size(&b, &d).unwrap(),
            None,
            "gone from every repository"
        );
        assert!(s.stored_blobs().unwrap().is_empty());
    }

    #[test]
    fn a_tagged_manifest_is_never_removed_as_untagged() {
        let s = MemoryStorage::new();
        let r = RepositoryName::parse("r").unwrap();
        let m = StoredManifest::new(
            Digest::sha256(b"{}"),
            MediaType::ImageManifest.as_str(),
            b"{}".to_vec(),
        );
        s.put_manifest(&r, &m, Some("v1")).unwrap();
        let later = std::time::SystemTime::now() + Duration::from_secs(1);
        assert!(!s.remove_untagged_manifest(&r, &m.digest, later).unwrap());
        assert!(s.delete_tag(&r, "v1").unwrap());
        assert!(s.remove_untagged_manifest(&r, &m.digest, later).unwrap());
        assert!(s.manifest_digests(&r).unwrap().is_empty());
    }
}
