use super::*;
use ocikit_types::{annotation::REF_NAME, MediaType};

fn name(s: &str) -> RepositoryName {
    RepositoryName::parse(s).unwrap()
}

fn push_blob(s: &FsStorage, repo: &RepositoryName, bytes: &[u8]) -> Digest {
    let session = s.create_upload(repo).unwrap();
    s.append_upload(&session.id, bytes).unwrap();
    let digest = Digest::sha256(bytes);
    s.commit_upload(&session.id, repo, &digest).unwrap();
    digest
}

#[test]
fn blobs_are_stored_once_and_linked_per_repository() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let (a, b) = (name("a"), name("b/c"));
    let d = push_blob(&s, &a, b"layer");
    assert_eq!(s.blob_size(&a, &d).unwrap(), Some(5));
    assert_eq!(s.blob_size(&b, &d).unwrap(), None, "not linked in b");
    assert!(s.link_blob(&b, &d).unwrap());
    use std::os::unix::fs::MetadataExt;
    let ino = |p: PathBuf| fs::metadata(p).unwrap().ino();
    assert_eq!(ino(s.linked_blob(&a, &d)), ino(s.shared_blob(&d)));
    assert_eq!(ino(s.linked_blob(&b, &d)), ino(s.shared_blob(&d)));
    assert_eq!(s.repositories().unwrap(), ["a", "b/c"]);
    // Nothing is left of the upload.
    assert_eq!(
        fs::read_dir(dir.path().join("_uploads")).unwrap().count(),
        0
    );
}

#[test]
fn an_upload_session_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let repo = name("r");
    let id = {
        let s = FsStorage::open(dir.path()).unwrap();
        let session = s.create_upload(&repo).unwrap();
        s.append_upload(&session.id, b"hello ").unwrap();
        session.id
    };
    let s = FsStorage::open(dir.path()).unwrap();
    let session = s.upload(&id).unwrap().expect("the session is still there");
    assert_eq!((session.repository, session.size), (repo, 6));
    assert_eq!(s.append_upload(&id, b"world").unwrap(), 11);
    let mut text = String::new();
    s.read_upload(&id)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "hello world");
    assert!(s.upload("../../etc").unwrap().is_none());
}

#[test]
fn tags_move_and_each_repository_is_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let repo = name("r");
    let m1 = StoredManifest::new(
        Digest::sha256(b"{1}"),
        MediaType::ImageManifest.as_str(),
        b"{1}".to_vec(),
    );
    let m2 = StoredManifest::new(
        Digest::sha256(b"{2}"),
        MediaType::ImageIndex.as_str(),
        b"{2}".to_vec(),
    );
    s.put_manifest(&repo, &m1, Some("v1")).unwrap();
    s.put_manifest(&repo, &m2, Some("v1")).unwrap();
    assert_eq!(s.resolve_tag(&repo, "v1").unwrap(), Some(m2.digest.clone()));
    // m1 lost its tag but stays pullable by digest, with its media type.
    assert_eq!(s.manifest(&repo, &m1.digest).unwrap(), Some(m1.clone()));
    let layout = ocikit_image::Layout::open(dir.path().join("repositories/r/_layout")).unwrap();
    let index = layout.index().unwrap();
    assert_eq!(index.manifests.len(), 2);
    assert!(index
        .manifests
        .iter()
        .any(|d| d.digest == m2.digest && d.annotation(REF_NAME) == Some("v1")));
    assert!(s.delete_tag(&repo, "v1").unwrap());
    assert_eq!(s.tags(&repo).unwrap(), Some(vec![]));
    assert!(s.manifest(&repo, &m2.digest).unwrap().is_some());
    assert!(s.delete_manifest(&repo, &m2.digest).unwrap());
    assert!(s.manifest(&repo, &m2.digest).unwrap().is_none());
    assert_eq!(s.tags(&name("unknown")).unwrap(), None);
}

#[test]
fn referrers_are_listed_by_subject() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let (repo, subject) = (name("r"), Digest::sha256(b"subject"));
    let desc = Descriptor::new(MediaType::ImageManifest, Digest::sha256(b"sig"), 3);
    s.add_referrer(&repo, &subject, &desc).unwrap();
    assert_eq!(
        s.referrers(&repo, &subject).unwrap(),
        std::slice::from_ref(&desc)
    );
    s.remove_referrer(&repo, &subject, &desc.digest).unwrap();
    assert!(s.referrers(&repo, &subject).unwrap().is_empty());
}

#[test]
fn parts_are_appended_in_order_past_the_vectored_write_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let session = s.create_upload(&name("r")).unwrap();
    // More parts than one writev takes (1024), some of them empty.
    let parts: Vec<Vec<u8>> = (0..2500u32)
        .map(|i| vec![(i % 251) as u8; (i % 7) as usize])
        .collect();
    let refs: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
    let expected: Vec<u8> = parts.concat();
    let size = s.append_upload_parts(&session.id, &refs).unwrap();
    assert_eq!(size, expected.len() as u64);
    assert_eq!(s.append_upload_parts(&session.id, &[]).unwrap(), size);
    let mut stored = Vec::new();
    s.read_upload(&session.id)
        .unwrap()
        .read_to_end(&mut stored)
        .unwrap();
    assert_eq!(stored, expected);
}

/// Sets the promise time of `digest` (every copy of its inode) to two
/// hours ago.
fn backdate(s: &FsStorage, digest: &Digest) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    File::open(s.shared_blob(digest))
        .unwrap()
        .set_modified(old)
        .unwrap();
}

#[test]
fn an_old_blob_goes_from_every_repository_and_a_promised_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    let (a, b) = (name("a"), name("b"));
    let d = push_blob(&s, &a, b"layer");
    assert!(s.link_blob(&b, &d).unwrap());
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    assert!(
        s.remove_blobs(std::slice::from_ref(&d), hour_ago)
            .unwrap()
            .is_empty(),
        "just stored"
    );
    backdate(&s, &d);
    assert_eq!(s.promise_blob(&b, &d).unwrap(), Some(5));
    assert!(
        s.remove_blobs(std::slice::from_ref(&d), hour_ago)
            .unwrap()
            .is_empty(),
        "promised"
    );
    backdate(&s, &d);
    let listed = s.stored_blobs().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].promised < hour_ago);
    assert_eq!(
        s.remove_blobs(std::slice::from_ref(&d), hour_ago).unwrap(),
        vec![d.clone()]
    );
    for r in [&a, &b] {
        assert_eq!(s.blob_size(r, &d).unwrap(), None);
    }
    assert!(!s.has_any_blob(&d).unwrap());
    assert!(s.stored_blobs().unwrap().is_empty());
}

#[test]
fn a_store_opened_alone_loses_what_a_crash_left() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let s = FsStorage::open(root).unwrap();
    let repo = name("r");
    push_blob(&s, &repo, b"x");
    let kept = s.create_upload(&repo).unwrap();
    let leftovers = [
        root.join("_tmp/1234"),
        root.join("repositories/r/_layout/.ocikit/tmp/.ocikit-abc"),
        root.join("repositories/r/_layout/.ocikit-def"),
        root.join("repositories/r/_referrers/sha256/ab/.ocikit-ghi"),
        root.join(format!("_uploads/{}/data", uuid::Uuid::new_v4())),
    ];
    for p in &leftovers {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"partial").unwrap();
    }
    // Another opener while `s` is open cleans nothing.
    drop(FsStorage::open(root).unwrap());
    assert!(leftovers.iter().all(|p| p.exists()));
    drop(s);
    let s = FsStorage::open(root).unwrap();
    for p in &leftovers {
        assert!(!p.exists(), "{} is left", p.display());
    }
    assert!(!leftovers[4].parent().unwrap().exists());
    assert!(
        s.upload(&kept.id).unwrap().is_some(),
        "a whole session stays"
    );
    assert_eq!(s.repositories().unwrap(), ["r"]);
}
