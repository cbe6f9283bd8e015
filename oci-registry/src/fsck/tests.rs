//! The check through the `Storage` trait, on `MemoryStorage`: each kind
//! of damage made by hand, found, and repaired where it can be.

use ocikit_types::{Descriptor, Digest, MediaType};
use serde_json::json;

use super::{fsck, Finding, FsckMode};
use crate::storage::StoredManifest;
use crate::{MemoryStorage, RepositoryName, Storage};

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn repo(name: &str) -> RepositoryName {
    RepositoryName::parse(name).unwrap()
}

/// Stores `bytes` as a blob of `r` under `digest` (their own by default).
fn blob(s: &MemoryStorage, r: &str, bytes: &[u8], digest: Option<&Digest>) -> Descriptor {
    let d = digest.cloned().unwrap_or_else(|| Digest::sha256(bytes));
    let id = s.create_upload(&repo(r)).unwrap().id;
    s.append_upload(&id, bytes).unwrap();
    s.commit_upload(&id, &repo(r), &d).unwrap();
    Descriptor::new(MediaType::ImageLayer, d, bytes.len() as u64)
}

/// Stores a manifest over `config` and `layers` (stored or not) in `r`.
fn manifest(
    s: &MemoryStorage,
    r: &str,
    tag: Option<&str>,
    config: &Descriptor,
    layers: &[&Descriptor],
    subject: Option<&Digest>,
) -> Digest {
    let mut doc = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": config.size},
        "layers": layers.iter().map(|l| json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l.digest, "size": l.size})).collect::<Vec<_>>(),
    });
    if let Some(sub) = subject {
        doc["subject"] = json!({"mediaType": MANIFEST, "digest": sub, "size": 1});
    }
    let bytes = serde_json::to_vec(&doc).unwrap();
    let d = Digest::sha256(&bytes);
    s.put_manifest(
        &repo(r),
        &StoredManifest::new(d.clone(), MANIFEST, bytes),
        tag,
    )
    .unwrap();
    d
}

#[test]
fn a_sound_store_is_clean() {
    let s = MemoryStorage::new();
    let config = blob(&s, "a", b"{}", None);
    let layer = blob(&s, "a", b"layer", None);
    manifest(&s, "a", Some("v1"), &config, &[&layer], None);
    let r = fsck(&s, FsckMode::Check).unwrap();
    assert!(r.findings.is_empty(), "{r:?}");
    assert!(r.is_clean() && r.orphans_listed);
    assert_eq!((r.repositories, r.manifests, r.blobs_verified), (1, 1, 3));
}

#[test]
fn a_corrupt_and_a_missing_blob_are_damage_and_an_orphan_is_not() {
    let s = MemoryStorage::new();
    let config = blob(&s, "a", b"{}", None);
    let claimed = Digest::sha256(b"the real layer");
    let corrupt = blob(&s, "a", b"other bytes", Some(&claimed));
    let absent = Descriptor::new(MediaType::ImageLayer, Digest::sha256(b"never pushed"), 12);
    let orphan = blob(&s, "a", b"orphan", None);
    let m = manifest(&s, "a", Some("v1"), &config, &[&corrupt, &absent], None);
    let r = fsck(&s, FsckMode::Repair).unwrap();
    assert!(r.repaired.is_empty());
    assert_eq!(
        r.findings,
        vec![
            Finding::CorruptBlob {
                digest: claimed,
                found: Digest::sha256(b"other bytes"),
                size: 11
            },
            Finding::MissingBlob {
                repository: "a".into(),
                manifest: m,
                blob: absent.digest.clone()
            },
            Finding::OrphanBlob {
                digest: orphan.digest,
                size: 6
            },
        ]
    );
    assert_eq!(r.damage().count(), 2);
    assert!(!r.is_clean());
}

#[test]
fn an_unlinked_blob_is_linked_again() {
    let s = MemoryStorage::new();
    let config = blob(&s, "a", b"{}", None);
    let layer = blob(&s, "a", b"layer", None);
    s.link_blob(&repo("b"), &config.digest).unwrap();
    let m = manifest(&s, "b", None, &config, &[&layer], None);
    let found = Finding::UnlinkedBlob {
        repository: "b".into(),
        manifest: m,
        blob: layer.digest.clone(),
    };
    let r = fsck(&s, FsckMode::Check).unwrap();
    assert_eq!(r.findings, vec![found.clone()]);
    assert!(found.is_repairable() && found.is_damage());
    let r = fsck(&s, FsckMode::Repair).unwrap();
    assert_eq!((r.findings.clone(), r.repaired), (vec![], vec![found]));
    assert_eq!(s.blob_size(&repo("b"), &layer.digest).unwrap(), Some(5));
    assert!(fsck(&s, FsckMode::Check).unwrap().findings.is_empty());
}

#[test]
fn the_referrers_index_is_rebuilt_from_the_subjects() {
    let s = MemoryStorage::new();
    let config = blob(&s, "a", b"{}", None);
    let subject = manifest(&s, "a", Some("v1"), &config, &[], None);
    // A referrer stored without its entry, and an entry without a manifest.
    let referrer = manifest(&s, "a", None, &config, &[], Some(&subject));
    let ghost = Digest::sha256(b"ghost");
    let entry = Descriptor::new(MediaType::ImageManifest, ghost.clone(), 5);
    s.add_referrer(&repo("a"), &subject, &entry).unwrap();
    // A referrer whose subject was never pushed: allowed, not damage.
    let absent = Digest::sha256(b"absent");
    let early = manifest(
        &s,
        "a",
        None,
        &blob(&s, "a", b"c", None),
        &[],
        Some(&absent),
    );
    s.add_referrer(
        &repo("a"),
        &absent,
        &Descriptor::new(MediaType::ImageManifest, early.clone(), 1),
    )
    .unwrap();
    let missing = Finding::MissingReferrer {
        repository: "a".into(),
        subject: subject.clone(),
        referrer: referrer.clone(),
    };
    let stale = Finding::StaleReferrer {
        repository: "a".into(),
        subject: subject.clone(),
        referrer: ghost,
    };
    let r = fsck(&s, FsckMode::Check).unwrap();
    assert!(r.findings.contains(&missing) && r.findings.contains(&stale));
    assert!(r.findings.contains(&Finding::AbsentSubject {
        repository: "a".into(),
        manifest: early,
        subject: absent,
    }));
    assert_eq!(r.damage().count(), 2, "{r:?}");
    let r = fsck(&s, FsckMode::Repair).unwrap();
    assert_eq!(r.repaired.len(), 2, "{r:?}");
    assert!(r.is_clean(), "{r:?}");
    let listed = s.referrers(&repo("a"), &subject).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].digest, referrer);
    assert_eq!(
        listed[0].artifact_type.as_ref().map(|t| t.as_str()),
        Some("application/vnd.oci.image.config.v1+json")
    );
}
