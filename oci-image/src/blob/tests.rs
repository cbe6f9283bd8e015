use std::io::{Read, Write};

use ocikit_types::{Algorithm, Digest, MediaType};

use super::*;

fn layout() -> (tempfile::TempDir, Layout) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("l")).unwrap();
    (dir, layout)
}

/// The temp files of writes under way.
fn temp_files(layout: &Layout) -> usize {
    std::fs::read_dir(layout.temp_dir()).unwrap().count()
}

fn source_of(e: &Error) -> &ocikit_types::Error {
    match e {
        Error::Integrity { source, .. } => source,
        other => panic!("expected an integrity error, got {other:?}"),
    }
}

#[test]
fn writer_commits_matching_content() {
    let (_d, layout) = layout();
    let digest = Digest::sha256(b"abc");
    let mut w = layout.blob_writer_for(&digest, 3).unwrap();
    w.feed(b"a").unwrap();
    w.write_all(b"bc").unwrap();
    assert_eq!(w.commit().unwrap(), (digest.clone(), 3));
    assert_eq!(std::fs::read(layout.blob_path(&digest)).unwrap(), b"abc");
    assert_eq!(temp_files(&layout), 0);
}

#[test]
fn writer_refuses_a_wrong_size() {
    let (_d, layout) = layout();
    let digest = Digest::sha256(b"abc");
    let mut w = layout.blob_writer_for(&digest, 3).unwrap();
    w.feed(b"ab").unwrap();
    let err = w.commit().unwrap_err();
    assert_eq!(
        source_of(&err),
        &ocikit_types::Error::SizeMismatch {
            expected: 3,
            found: 2
        }
    );
    assert!(!layout.has_blob(&digest));
    assert_eq!(temp_files(&layout), 0);
}

#[test]
fn writer_refuses_a_wrong_digest() {
    let (_d, layout) = layout();
    let digest = Digest::sha256(b"abc");
    let mut w = layout.blob_writer_for(&digest, 3).unwrap();
    w.feed(b"abd").unwrap();
    let err = w.commit().unwrap_err();
    assert!(err.is_integrity());
    let ocikit_types::Error::DigestMismatch { expected, found } = source_of(&err) else {
        panic!("{err:?}");
    };
    assert_eq!(expected, digest.as_str());
    assert_eq!(found, Digest::sha256(b"abd").as_str());
    assert!(!layout.has_blob(&digest));
    assert!(!layout.has_blob(&Digest::sha256(b"abd")));
    assert_eq!(temp_files(&layout), 0);
}

#[test]
fn writer_refuses_input_over_the_size_or_cap_before_writing_it() {
    let (_d, layout) = layout();
    let digest = Digest::sha256(b"abc");
    let mut w = layout.blob_writer_for(&digest, 3).unwrap();
    w.feed(b"ab").unwrap();
    let err = w.feed(b"cd").unwrap_err();
    assert_eq!(
        source_of(&err),
        &ocikit_types::Error::SizeMismatch {
            expected: 3,
            found: 4
        }
    );
    assert_eq!(w.written(), 2);
    // Broken for good: even the right last byte does not make it whole.
    assert!(w.feed(b"c").is_err());
    assert!(w.commit().is_err());

    let mut w = layout.blob_writer(Algorithm::Sha256).unwrap();
    w.limit(4);
    w.write_all(b"1234").unwrap();
    let io = w.write_all(b"5").unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert!(matches!(
        w.feed(b"5"),
        Err(Error::BlobTooLarge { limit: 4 }) | Err(Error::Io { .. })
    ));
    drop(w);
    assert_eq!(temp_files(&layout), 0);

    // Through write_blob_from: an endless reader is cut off.
    let endless = std::io::repeat(b'x');
    let err = layout
        .write_blob_from(endless, Algorithm::Sha256, Some((&digest, 3)))
        .unwrap_err();
    assert!(err.is_integrity(), "{err:?}");
    assert_eq!(temp_files(&layout), 0);
}

#[test]
fn writer_hashes_with_the_digests_own_algorithm() {
    let (_d, layout) = layout();
    let digest = Digest::compute(Algorithm::Sha512, b"sha512 content");
    assert_eq!(digest.algorithm(), "sha512");
    let mut w = layout.blob_writer_for(&digest, 14).unwrap();
    w.write_all(b"sha512 content").unwrap();
    assert_eq!(w.commit().unwrap().0, digest);
    assert!(layout.has_blob(&digest));
    let desc = ocikit_types::Descriptor::new(MediaType::ImageLayer, digest, 14);
    assert_eq!(layout.read_blob(&desc).unwrap(), b"sha512 content");

    let unknown: Digest = "foo:abcdefghijklmnopqrstuvwxyz0123456789".parse().unwrap();
    assert!(matches!(
        layout.blob_writer_for(&unknown, 1),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn dropped_writer_removes_its_temp_file_and_spares_stored_blobs() {
    let (_d, layout) = layout();
    let desc = layout.write_blob(MediaType::ImageLayer, b"kept").unwrap();
    let mut w = layout.blob_writer_for(&desc.digest, desc.size).unwrap();
    w.feed(b"ke").unwrap();
    w.flush().unwrap();
    assert_eq!(temp_files(&layout), 1);
    drop(w);
    assert_eq!(temp_files(&layout), 0);
    // A failed rewrite of the same blob leaves the stored one alone.
    let mut w = layout.blob_writer_for(&desc.digest, desc.size).unwrap();
    w.feed(b"lost").unwrap();
    assert!(w.commit().is_err());
    assert_eq!(layout.read_blob(&desc).unwrap(), b"kept");
}

#[test]
fn temp_names_are_not_predictable() {
    let (_d, layout) = layout();
    let a = layout.blob_writer(Algorithm::Sha256).unwrap();
    let b = layout.blob_writer(Algorithm::Sha256).unwrap();
    let name = |w: &BlobWriter<'_>| w.temp_path().file_name().unwrap().to_owned();
    assert_ne!(name(&a), name(&b));
    // 16 random bytes as 16 alphanumerics after the prefix.
    assert!(name(&a).len() >= ".ocikit-".len() + 16);
}

#[test]
fn reader_withholds_the_last_bytes_of_a_wrong_blob() {
    let (_d, layout) = layout();
    let desc = layout
        .write_blob(MediaType::ImageLayer, b"0123456789")
        .unwrap();
    std::fs::write(layout.blob_path(&desc.digest), b"0123456788").unwrap();
    let mut r = layout.open_blob(&desc, Verification::Full).unwrap();
    let mut buf = [0u8; 4];
    let mut got = Vec::new();
    let err = loop {
        match r.read(&mut buf) {
            Ok(0) => panic!("a wrong blob reached its end"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(got, b"01234567");
    let typed = r.error(err);
    assert!(matches!(
        source_of(&typed),
        ocikit_types::Error::DigestMismatch { .. }
    ));
    // It keeps failing rather than ending.
    assert!(r.read(&mut buf).is_err());
}

#[test]
fn verifier_reports_expected_and_found() {
    let digest = Digest::sha256(b"abc");
    let mut v = Verifier::new(&digest, 3).unwrap();
    v.update(b"abc").unwrap();
    assert!(v.is_complete());
    assert!(v.update(b"").is_ok());
    assert!(v.update(b"d").is_err());
    let mut v = Verifier::new(&digest, 3).unwrap();
    v.update(b"xyz").unwrap();
    let err = v.finish().unwrap_err();
    assert!(err.to_string().contains(digest.as_str()), "{err}");
    let carried = err.into_io();
    let back = Error::find_integrity(&carried).unwrap();
    assert!(back.is_integrity());
}
