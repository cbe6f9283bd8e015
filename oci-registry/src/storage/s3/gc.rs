//! Garbage collection over a bucket shared by replicas with no other
//! coordination: promises as objects, doom markers, and a lease.
//!
//! # The protocol
//!
//! S3 (and SeaweedFS) give strong read-after-write consistency on single
//! objects but no lock and no atomic check-and-delete, so the collector
//! and the replicas pushing meanwhile meet through three kinds of object:
//!
//! - a **promise** `_gc/promises/<alg>/<hex>`, put (empty) by a replica
//!   whenever it tells a client a blob exists or relies on it: a `HEAD`
//!   answered 200, a manifest put checking its references, an upload or
//!   mount of a blob already stored, a manifest put whose bytes are
//!   already stored. Its `Last-Modified` is the promise time; a freshly
//!   written blob's own `Last-Modified` counts as one too.
//! - a **doom marker** `_gc/doomed/<alg>/<hex>`, put by the collector
//!   before it removes a blob and deleted after.
//! - a **lease** `_gc/lease` naming the collector and when its lease
//!   ends, created with `If-None-Match: *` so one collector runs at a
//!   time; an expired lease is taken over.
//!
//! A replica promising blob `X` puts the promise, *then* looks for the
//! marker of `X`, *then* for `X`. The collector removing `X` puts the
//! marker, *then* reads the promise of `X` and keeps `X` when it was
//! promised within the grace period, else removes `X`'s links in every
//! repository, then `X`, then the marker. Each side writes before it
//! reads what the other writes, so (the store being linearizable per
//! object) at least one of them sees the other: either the collector sees
//! the fresh promise and keeps `X`, or the replica sees the marker. A
//! replica seeing a marker waits for it to go (up to
//! [`MARKER_WAIT`]) and looks at `X` again: when `X` is gone, a `HEAD`
//! answers 404 and an upload or manifest put stores the bytes anew. A
//! marker still there after that wait fails the request (the client
//! retries), unless it is older than [`STALE_MARKER`]: its collector
//! died, and `X` reads as absent. The next collector holding the lease
//! removes such markers.
//!
//! The mark phase lists blobs first and manifests after, so a manifest
//! put after the listing names only blobs that were promised for it, and
//! those are kept by the protocol above. The lease is for economy (one
//! collector's work at a time): safety does not depend on it, so a store
//! that ignores `If-None-Match` (two collectors at once) is still safe.
//!
//! Promise times are the store's clock; the grace period is measured on
//! the collector's clock, so replicas' clocks must agree with the store's
//! to well within the grace period (NTP). [`CLOCK_SLACK`] absorbs the
//! store's one-second `Last-Modified` resolution.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, PutMode, PutOptions, PutPayload};
use ocikit_types::Digest;
use serde::{Deserialize, Serialize};

use super::S3Storage;
use crate::storage::{Storage, StoredBlob};
use crate::{Error, RepositoryName};

/// How long a promise waits for a collector's doom marker to go.
pub(super) const MARKER_WAIT: Duration = Duration::from_secs(10);

/// The age from which a doom marker is taken for one a dead collector
/// left (removing one blob takes a collector well under a second).
const STALE_MARKER: Duration = Duration::from_secs(300);

/// How long a collector's lease lasts; a collection taking longer may
/// overlap with the next collector's (which is safe, only wasteful).
const LEASE_TIME: Duration = Duration::from_secs(3600);

/// Added to the grace period: `Last-Modified` has a resolution of one
/// second.
pub(super) const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// What `_gc/lease` holds.
#[derive(Serialize, Deserialize)]
struct Lease {
    holder: String,
    /// Seconds since the Unix epoch when the lease ends.
    expires: u64,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl S3Storage {
    fn promise_key(&self, d: &Digest) -> Path {
        self.keys
            .at(&format!("_gc/promises/{}/{}", d.algorithm(), d.encoded()))
    }

    fn marker_key(&self, d: &Digest) -> Path {
        self.keys
            .at(&format!("_gc/doomed/{}/{}", d.algorithm(), d.encoded()))
    }

    fn meta(&self, key: &Path) -> Result<Option<ObjectMeta>, Error> {
        self.wait_found("look up", key, self.store.head(key))
    }

    /// Promises the stored blob `digest` (see the module's protocol);
    /// its size when it is stored and no collector is removing it.
    pub(super) fn promise(&self, digest: &Digest) -> Result<Option<u64>, Error> {
        self.put_small(&self.promise_key(digest), Vec::new())?;
        let marker = self.marker_key(digest);
        let until = SystemTime::now() + MARKER_WAIT;
        while let Some(m) = self.meta(&marker)? {
            if SystemTime::now() > until {
                let age = SystemTime::now()
                    .duration_since(m.last_modified.into())
                    .unwrap_or_default();
                if age > STALE_MARKER {
                    // Its collector died: nothing removes the blob now,
                    // but it may be half removed, so it reads as absent.
                    return Ok(None);
                }
                // A live collector may still remove it: the caller must
                // not rely on it, nor store it anew under its feet.
                return Err(Error::io(
                    "wait for the garbage collector to finish with",
                    marker.as_ref(),
                    std::io::ErrorKind::TimedOut.into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.exists(&self.keys.blob(digest))
    }

    /// Every object under `prefix` with its metadata.
    fn list_meta(&self, prefix: &Path) -> Result<Vec<ObjectMeta>, Error> {
        use futures_util::TryStreamExt;
        let store = self.store.clone();
        let p = prefix.clone();
        self.wait("list", prefix, async move {
            store.list(Some(&p)).try_collect().await
        })
    }

    /// The digest a key ending in `<alg>/<hex>[/<file>]` names.
    fn digest_in(key: &Path, file: Option<&str>) -> Option<Digest> {
        let mut parts: Vec<&str> = key.as_ref().rsplit('/').collect();
        if let Some(f) = file {
            if parts.first() != Some(&f) {
                return None;
            }
            parts.remove(0);
        }
        let (hex, alg) = (parts.first()?, parts.get(1)?);
        format!("{alg}:{hex}").parse().ok()
    }

    /// The digest of a key `blobs/<alg>/<fan>/<hex>/data`.
    fn blob_digest(key: &Path) -> Option<Digest> {
        let p: Vec<&str> = key.as_ref().rsplit('/').collect();
        if p.first() != Some(&"data") {
            return None;
        }
        format!("{}:{}", p.get(3)?, p.get(1)?).parse().ok()
    }

    pub(super) fn list_stored_blobs(&self) -> Result<Vec<StoredBlob>, Error> {
        let mut promised: HashMap<Digest, SystemTime> = HashMap::new();
        for m in self.list_meta(&self.keys.at("_gc/promises"))? {
            if let Some(d) = Self::digest_in(&m.location, None) {
                promised.insert(d, m.last_modified.into());
            }
        }
        let mut out = Vec::new();
        for m in self.list_meta(&self.keys.at("blobs"))? {
            // blobs/<alg>/<fan>/<hex>/data
            let Some(d) = Self::blob_digest(&m.location) else {
                continue;
            };
            let stored: SystemTime = m.last_modified.into();
            let promise = promised.get(&d).copied().unwrap_or(UNIX_EPOCH);
            out.push(StoredBlob {
                digest: d,
                size: m.size,
                promised: stored.max(promise),
            });
        }
        Ok(out)
    }

    pub(super) fn list_manifest_digests(
        &self,
        repo: &RepositoryName,
    ) -> Result<Vec<Digest>, Error> {
        let prefix = self
            .keys
            .at(&format!("repositories/{repo}/_manifests/revisions"));
        let mut out: Vec<Digest> = self
            .list_all(&prefix)?
            .into_iter()
            .filter_map(|(k, _)| Self::digest_in(&k, Some("link")))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Removes each blob of `digests` not promised since
    /// `unpromised_since`, by the module's protocol.
    pub(super) fn remove_unpromised(
        &self,
        digests: &[Digest],
        unpromised_since: SystemTime,
    ) -> Result<Vec<Digest>, Error> {
        let since = unpromised_since
            .checked_sub(CLOCK_SLACK)
            .unwrap_or(UNIX_EPOCH);
        let repos = self.repositories()?;
        let mut removed = Vec::new();
        for d in digests {
            let marker = self.marker_key(d);
            self.put_small(&marker, Vec::new())?;
            let fresh = |key: &Path| -> Result<bool, Error> {
                Ok(self
                    .meta(key)?
                    .is_some_and(|m| SystemTime::from(m.last_modified) >= since))
            };
            if fresh(&self.promise_key(d))? || fresh(&self.keys.blob(d))? {
                self.delete(&marker)?;
                continue;
            }
            for repo in &repos {
                if let Some(r) = RepositoryName::parse(repo) {
                    self.delete(&self.keys.layer(&r, d))?;
                }
            }
            self.delete(&self.keys.blob(d))?;
            self.delete(&self.promise_key(d))?;
            self.delete(&marker)?;
            removed.push(d.clone());
        }
        Ok(removed)
    }

    /// Takes the collector's lease: false when another collector holds
    /// an unexpired one. Stale doom markers (of a collector that died
    /// mid-removal) are removed once the lease is held.
    pub(super) fn take_lease(&self) -> Result<bool, Error> {
        let key = self.keys.at("_gc/lease");
        let lease = Lease {
            holder: self.id.clone(),
            expires: secs(SystemTime::now() + LEASE_TIME),
        };
        let body = serde_json::to_vec(&lease).unwrap_or_default();
        for _ in 0..2 {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            let payload = PutPayload::from(body.clone());
            let put = self.store.put_opts(&key, payload, opts);
            match self
                .handle()
                .block_on(async { tokio::time::timeout(super::IO_TIMEOUT, put).await })
            {
                Ok(Ok(_)) => {}
                Ok(Err(object_store::Error::AlreadyExists { .. }))
                | Ok(Err(object_store::Error::Precondition { .. })) => {
                    let held = self.get_small(&key)?;
                    let current: Option<Lease> = held.and_then(|b| serde_json::from_slice(&b).ok());
                    match current {
                        Some(l) if l.expires > secs(SystemTime::now()) => return Ok(false),
                        // Expired or unreadable: taken over.
                        _ => {
                            self.delete(&key)?;
                            continue;
                        }
                    }
                }
                // A store without conditional puts: an unconditional
                // put, checked by reading it back below.
                Ok(Err(object_store::Error::NotImplemented)) => {
                    self.put_small(&key, body.clone())?;
                }
                Ok(Err(e)) => return Err(super::store_error("create", &key, e)),
                Err(_) => {
                    return Err(Error::io(
                        "create",
                        key.as_ref(),
                        std::io::ErrorKind::TimedOut.into(),
                    ))
                }
            }
            // Read back: a store ignoring `If-None-Match` lets the last
            // of two racing collectors win.
            let back = self.get_small(&key)?;
            let ours = back
                .and_then(|b| serde_json::from_slice::<Lease>(&b).ok())
                .is_some_and(|l| l.holder == self.id);
            if ours {
                for m in self.list_meta(&self.keys.at("_gc/doomed"))? {
                    self.delete(&m.location)?;
                }
            }
            return Ok(ours);
        }
        Ok(false)
    }

    /// Gives the lease up, if this storage holds it.
    pub(super) fn drop_lease(&self) -> Result<(), Error> {
        let key = self.keys.at("_gc/lease");
        let held = self.get_small(&key)?;
        let ours = held
            .and_then(|b| serde_json::from_slice::<Lease>(&b).ok())
            .is_some_and(|l| l.holder == self.id);
        if ours {
            self.delete(&key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_from_keys() {
        let d = Digest::sha256(b"x");
        let link = Path::from(format!(
            "r/repositories/a/_manifests/revisions/sha256/{}/link",
            d.encoded()
        ));
        assert_eq!(S3Storage::digest_in(&link, Some("link")), Some(d.clone()));
        let promise = Path::from(format!("r/_gc/promises/sha256/{}", d.encoded()));
        assert_eq!(S3Storage::digest_in(&promise, None), Some(d.clone()));
        assert_eq!(S3Storage::digest_in(&promise, Some("link")), None);
        let blob = Path::from(format!(
            "r/blobs/sha256/{}/{}/data",
            &d.encoded()[..2],
            d.encoded()
        ));
        assert_eq!(S3Storage::blob_digest(&blob), Some(d));
    }
}
