//! Round trips with the real tools: skopeo and umoci read the layouts
//! ocikit writes, and ocikit reads what they write.

use std::path::Path;
use std::process::Command;

use ocikit_image::{GcMode, Layout};
use ocikit_types::{
    Digest, Document, ImageConfiguration, ImageIndex, ImageManifest, MediaType, Raw,
};

use crate::layout::tiny_image;

pub(crate) fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A gzip layer holding `etc/hello` and an executable `bin/tool`.
fn gzip_layer() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, mode, body) in [
        ("etc/hello", 0o644, &b"hello from ocikit\n"[..]),
        ("bin/tool", 0o755, &b"#!/bin/sh\necho tool\n"[..]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, body).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

pub(crate) fn image_with_diff_id(layout: &Layout) -> ocikit_types::Descriptor {
    let layer = gzip_layer();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&layer[..]), &mut plain).unwrap();
    let layer_desc = layout
        .write_blob(MediaType::ImageLayerGzip, &layer)
        .unwrap();
    let mut config = ImageConfiguration::new("linux", "amd64");
    config.rootfs.diff_ids.push(Digest::sha256(&plain));
    let mut c = ocikit_types::Config::default();
    c.cmd = Some(vec!["/bin/tool".into()]);
    config.config = Some(c);
    let config_desc = layout
        .write_document(&Raw::from_value(config), MediaType::ImageConfig)
        .unwrap();
    let manifest = Raw::from_value(ImageManifest::new(config_desc, vec![layer_desc]));
    layout
        .write_document(&manifest, MediaType::ImageManifest)
        .unwrap()
}

fn manifest_of(layout: &Layout, tag: &str) -> Raw<ImageManifest> {
    let desc = layout.resolve(tag).unwrap();
    let m: Raw<ImageManifest> = layout.read_document(&desc).unwrap();
    m.value().validate().unwrap();
    for blob in std::iter::once(&m.value().config).chain(&m.value().layers) {
        layout.read_blob(blob).unwrap();
    }
    m
}

fn skopeo_copies_our_layout_and_we_read_its_copy() {
    if !testkit::need::tool("skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (src, dst) = (dir.path().join("src"), dir.path().join("dst"));
    let layout = Layout::create(&src).unwrap();
    let image = image_with_diff_id(&layout);
    layout.tag("v1", image.clone()).unwrap();

    // skopeo reads ours: its raw manifest is our exact bytes.
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw"])
        .arg(format!("oci:{}:v1", src.display())));
    assert_eq!(Digest::sha256(raw.as_bytes()), image.digest);

    run(Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("oci:{}:v1", src.display()))
        .arg(format!("oci:{}:copied", dst.display())));

    // We read skopeo's: same manifest digest, every blob verifies.
    let theirs = Layout::open(&dst).unwrap();
    let m = manifest_of(&theirs, "copied");
    assert_eq!(m.digest(), &image.digest);
    assert_eq!(theirs.index().unwrap().manifests.len(), 1);
}

fn umoci_unpacks_our_layout_and_we_read_what_it_writes() {
    if !testkit::need::tool("umoci") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("img");
    let layout = Layout::create(&src).unwrap();
    let image = image_with_diff_id(&layout);
    layout.tag("v1", image).unwrap();
    // An unrelated tiny image proves umoci tolerates other entries.
    layout
        .tag("other", tiny_image(&layout, b"x", MediaType::ImageLayer))
        .unwrap();

    let bundle = dir.path().join("bundle");
    let mut unpack = Command::new("umoci");
    unpack.arg("unpack");
    if !testkit::need::is_root() {
        unpack.arg("--rootless");
    }
    run(unpack
        .arg("--image")
        .arg(format!("{}:v1", src.display()))
        .arg(&bundle));
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/etc/hello")).unwrap(),
        "hello from ocikit\n"
    );
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(spec["process"]["args"][0], "/bin/tool");

    // umoci writes a new image into our layout; we read it.
    run(Command::new("umoci")
        .args(["config", "--image"])
        .arg(format!("{}:v1", src.display()))
        .args(["--tag", "v2", "--config.env", "GREETING=hi"]));
    let layout = Layout::open(&src).unwrap();
    let m = manifest_of(&layout, "v2");
    let config: Raw<ImageConfiguration> = layout.read_document(&m.value().config).unwrap();
    let env = config.value().config.as_ref().unwrap().env.clone().unwrap();
    assert!(env.contains(&"GREETING=hi".to_string()), "{env:?}");
    assert_eq!(manifest_of(&layout, "v1").value().layers, m.value().layers);

    // And our gc keeps everything the three tags reach.
    layout.gc(GcMode::Delete).unwrap();
    for tag in ["v1", "v2", "other"] {
        manifest_of(&layout, tag);
    }
    let index = ImageIndex::from_slice(&std::fs::read(Path::new(&src).join("index.json")).unwrap())
        .unwrap();
    index.validate().unwrap();
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    skopeo_copies_our_layout_and_we_read_its_copy,
    umoci_unpacks_our_layout_and_we_read_what_it_writes
];
