//! Layout tars and `docker save` archives, with skopeo as the peer.

use std::process::Command;

use ocikit_image::{export_docker, export_layout, import_docker, import_layout, Error, Layout};
use ocikit_types::{Digest, Document, ImageConfiguration, ImageManifest, MediaType, Raw};

use crate::peers::{image_with_diff_id, run};

fn layout_tar_round_trips_and_skopeo_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("src")).unwrap();
    let image = image_with_diff_id(&layout);
    layout.tag("v1", image.clone()).unwrap();

    let tar_path = dir.path().join("image.tar");
    export_layout(&layout, std::fs::File::create(&tar_path).unwrap()).unwrap();
    // Deterministic: a second export gives the same bytes.
    let mut again = Vec::new();
    export_layout(&layout, &mut again).unwrap();
    assert_eq!(std::fs::read(&tar_path).unwrap(), again);

    let copy = import_layout(
        std::fs::File::open(&tar_path).unwrap(),
        dir.path().join("dst"),
    )
    .unwrap();
    assert_eq!(copy.resolve("v1").unwrap().digest, image.digest);

    if testkit::need::tool("skopeo") {
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci-archive:{}:v1", tar_path.display()))
            .arg(format!("oci:{}:v1", dir.path().join("skopeo").display())));
        let theirs = Layout::open(dir.path().join("skopeo")).unwrap();
        assert_eq!(theirs.resolve("v1").unwrap().digest, image.digest);
    }
}

fn layout_tar_with_a_lying_blob_is_refused() {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, body: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, body).unwrap();
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    let claimed = Digest::sha256(b"honest");
    add(&format!("blobs/sha256/{}", claimed.encoded()), b"lying!");
    let bytes = tar.into_inner().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = import_layout(&bytes[..], dir.path()).unwrap_err();
    assert!(err.is_integrity(), "{err}");
    assert!(!Layout::open(dir.path()).unwrap().has_blob(&claimed));

    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, "etc/passwd", &b"x"[..]).unwrap();
    let bytes = tar.into_inner().unwrap();
    let err = import_layout(&bytes[..], dir.path().join("other")).unwrap_err();
    assert!(matches!(err, Error::BadEntry { .. }), "{err}");
}

fn docker_archives_round_trip_through_skopeo() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("src")).unwrap();
    let image = image_with_diff_id(&layout);
    let m: Raw<ImageManifest> = layout.read_document(&image).unwrap();

    // Ours -> docker archive -> ours.
    let archive = dir.path().join("docker.tar");
    export_docker(
        &layout,
        &image,
        &["example.com/app:1".to_string()],
        std::fs::File::create(&archive).unwrap(),
    )
    .unwrap();
    let back = Layout::create(dir.path().join("back")).unwrap();
    let tags = import_docker(std::fs::File::open(&archive).unwrap(), &back).unwrap();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].0, "example.com/app:1");
    let m2: Raw<ImageManifest> = back.read_document(&tags[0].1).unwrap();
    assert_eq!(m2.value().config.digest, m.value().config.digest);
    let config: Raw<ImageConfiguration> = back.read_document(&m2.value().config).unwrap();
    // Layers come back uncompressed, so their digests are the diff IDs.
    assert_eq!(m2.value().layers[0].media_type, MediaType::ImageLayer);
    assert_eq!(
        m2.value().layers[0].digest,
        config.value().rootfs.diff_ids[0]
    );
    m2.value().validate().unwrap();

    if !testkit::need::tool("skopeo") {
        return;
    }
    // skopeo reads our docker archive...
    run(Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("docker-archive:{}", archive.display()))
        .arg(format!(
            "oci:{}:fromdocker",
            dir.path().join("sk").display()
        )));
    let sk = Layout::open(dir.path().join("sk")).unwrap();
    let m3: Raw<ImageManifest> = sk
        .read_document(&sk.resolve("fromdocker").unwrap())
        .unwrap();
    let c3: Raw<ImageConfiguration> = sk.read_document(&m3.value().config).unwrap();
    assert_eq!(c3.value().rootfs.diff_ids, config.value().rootfs.diff_ids);

    // ...and we read the docker archive skopeo writes.
    let theirs = dir.path().join("skopeo-docker.tar");
    run(Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!(
            "oci:{}:fromdocker",
            dir.path().join("sk").display()
        ))
        .arg(format!(
            "docker-archive:{}:example.com/app:2",
            theirs.display()
        )));
    let ours = Layout::create(dir.path().join("ours")).unwrap();
    let tags = import_docker(std::fs::File::open(&theirs).unwrap(), &ours).unwrap();
    assert_eq!(tags[0].0, "example.com/app:2");
    let m4: Raw<ImageManifest> = ours.read_document(&tags[0].1).unwrap();
    let c4: Raw<ImageConfiguration> = ours.read_document(&m4.value().config).unwrap();
    assert_eq!(c4.value().rootfs.diff_ids, config.value().rootfs.diff_ids);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    layout_tar_round_trips_and_skopeo_reads_it,
    layout_tar_with_a_lying_blob_is_refused,
    docker_archives_round_trip_through_skopeo
];
