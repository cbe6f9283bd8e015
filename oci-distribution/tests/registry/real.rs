//! Against the real registry and skopeo.

use std::process::Command;
use std::sync::{Arc, Mutex};

use ocikit_distribution::{Client, ClientBuilder, Platforms, Progress};
use ocikit_image::{ImageBuilder, Layout};
use ocikit_types::{
    Descriptor, Digest, Document, ImageManifest, MediaType, Platform, Raw, Reference,
};

use crate::peer::{self, Peer};

pub(crate) fn client(reg: &Peer) -> Client {
    ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .build()
        .unwrap()
}

pub(crate) fn reference(reg: &Peer, rest: &str) -> Reference {
    format!("{}/{rest}", reg.addr).parse().unwrap()
}

/// An image of `layers` layers with pseudo-random content of `size` bytes
/// each, for `arch`.
pub(crate) fn build_image(layout: &Layout, arch: &str, layers: usize, size: usize) -> Descriptor {
    let mut b = ImageBuilder::new(layout, Platform::new("linux", arch));
    for i in 0..layers {
        let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ arch.len() as u64;
        let data: Vec<u8> = (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let blob = layout.write_blob(MediaType::ImageLayer, &data).unwrap();
        b.add_layer(blob, Digest::sha256(&data), Some(&format!("layer {i}")));
    }
    b.config_mut().cmd = Some(vec!["/bin/sh".into()]);
    b.write().unwrap()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn push_then_pull_preserves_digests() {
    let Some(reg) = peer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 3, 300_000);

    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .progress(move |p| ev.lock().unwrap().push(p))
        .build()
        .unwrap();
    let r = reference(&reg, "test/app:1.0");
    c.ping(&r).await.unwrap();
    let pushed = c.push_image(&src, &image, &r).await.unwrap();
    assert_eq!(pushed, image.digest);
    assert!(events
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, Progress::Finished { .. })));

    // A second push skips every blob.
    events.lock().unwrap().clear();
    c.push_image(&src, &image, &r).await.unwrap();
    let skipped = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Progress::Skipped { .. }))
        .count();
    assert_eq!(skipped, 4, "config and three layers already there");

    let head = c.head_manifest(&r).await.unwrap().unwrap();
    assert_eq!(head.digest, image.digest);
    assert_eq!(head.size, image.size);

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    let m: Raw<ImageManifest> = dst.read_document(&got).unwrap();
    for d in std::iter::once(&m.value().config).chain(&m.value().layers) {
        assert_eq!(dst.read_blob(d).unwrap(), src.read_blob(d).unwrap());
    }

    assert_eq!(c.tags(&r, None).await.unwrap(), ["1.0"]);
    c.delete_manifest(&r, &image.digest).await.unwrap();
    assert!(c.head_manifest(&r).await.unwrap().is_none());
    let err = c.pull_manifest(&r).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

async fn multi_platform_index_pulls_all_or_one() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 1, 1000);
    let arm = build_image(&src, "arm64", 1, 1000);
    let index = ocikit_image::write_index(&src, vec![amd.clone(), arm.clone()]).unwrap();
    let r = reference(&reg, "multi:latest");
    c.push_image(&src, &index, &r).await.unwrap();

    let all = Layout::create(dir.path().join("all")).unwrap();
    let d = c.pull_image(&r, &all, &Platforms::All).await.unwrap();
    assert_eq!(d.digest, index.digest);
    assert!(all.has_blob(&amd.digest) && all.has_blob(&arm.digest));

    let one = Layout::create(dir.path().join("one")).unwrap();
    let d = c
        .pull_image(&r, &one, &Platforms::Only("linux/aarch64".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(d.digest, arm.digest);
    assert!(!one.has_blob(&amd.digest));

    let err = c
        .pull_image(&r, &one, &Platforms::Only("linux/s390x".parse().unwrap()))
        .await
        .unwrap_err();
    // The error names the image; its source the platform wanted and
    // those the index offers.
    let why = std::error::Error::source(&err)
        .expect("a source")
        .to_string();
    assert!(err.to_string().contains("multi"), "{err}");
    assert!(
        why.contains("s390x") && why.contains("linux/amd64"),
        "{why}"
    );
}

async fn copies_within_a_registry_mount_blobs() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 5000);
    let a = reference(&reg, "team-a/app:1");
    c.push_image(&src, &image, &a).await.unwrap();
    let b = reference(&reg, "team-b/app:1");
    assert_eq!(
        c.copy_image(&a, &b, &Platforms::All).await.unwrap(),
        image.digest
    );
    let m = c.pull_manifest(&b).await.unwrap();
    assert_eq!(m.digest, image.digest);
    assert!(c
        .mount_blob(&reference(&reg, "team-c/app"), "team-a/app", &image.digest)
        .await
        .is_ok());
}

async fn chunked_uploads_work() {
    let Some(reg) = peer::start() else { return };
    let c = ClientBuilder::new()
        .insecure_http_host(&reg.addr)
        .chunked_upload(64 * 1024)
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 200_000);
    let r = reference(&reg, "chunked:1");
    c.push_image(&src, &image, &r).await.unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    assert_eq!(
        c.pull_image(&r, &dst, &Platforms::All)
            .await
            .unwrap()
            .digest,
        image.digest
    );
}

/// A local blob whose bytes no longer match its digest (same size) is
/// refused with an integrity error, monolithic or chunked, after the bytes
/// were read once, and the registry never gets it.
async fn a_corrupt_local_blob_is_never_pushed() {
    let Some(reg) = peer::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::create(dir.path().join("src")).unwrap();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let desc = layout.write_blob(MediaType::ImageLayer, &data).unwrap();
    let path = layout.blob_path(&desc.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[250_000] ^= 1;
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    for (name, chunked) in [("mono", None), ("chunked", Some(64 * 1024))] {
        let mut b = ClientBuilder::new();
        b.insecure_http_host(&reg.addr).max_retries(3).backoff(
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        );
        if let Some(c) = chunked {
            b.chunked_upload(c);
        }
        let c = b.build().unwrap();
        let r = reference(&reg, &format!("corrupt/{name}:1"));
        let started = std::time::Instant::now();
        let e = c.push_blob(&r, &desc, &layout).await.unwrap_err();
        assert!(e.is_integrity(), "{name}: {e:?}");
        // Refused at once, not after retries and their back-off.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{name}"
        );
        assert!(!c.blob_exists(&r, &desc.digest).await.unwrap(), "{name}");
    }
}

async fn referrers_fall_back_to_the_tag_schema() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 100);
    let r = reference(&reg, "signed:1");
    c.push_image(&src, &image, &r).await.unwrap();

    // A signature artifact with the image as subject.
    let sig = src
        .write_blob(
            MediaType::Other("application/vnd.example.sig".into()),
            b"signature",
        )
        .unwrap();
    src.write_blob(MediaType::EmptyJson, b"{}").unwrap();
    let mut m = ImageManifest::new(Descriptor::empty(), vec![sig]);
    m.artifact_type = Some("application/vnd.example.sig".parse().unwrap());
    m.subject = Some(image.clone());
    m.validate().unwrap();
    let sig_desc = src
        .write_document(&Raw::from_value(m), MediaType::ImageManifest)
        .unwrap();
    let sr = format!("{}/signed@{}", reg.addr, sig_desc.digest)
        .parse()
        .unwrap();
    c.push_image(&src, &sig_desc, &sr).await.unwrap();

    let refs = c.referrers(&r, &image.digest, None).await.unwrap();
    assert_eq!(refs.manifests.len(), 1);
    assert_eq!(refs.manifests[0].digest, sig_desc.digest);
    assert_eq!(
        refs.manifests[0].artifact_type.as_ref().unwrap().as_str(),
        "application/vnd.example.sig"
    );
    assert!(c
        .referrers(&r, &image.digest, Some("application/other"))
        .await
        .unwrap()
        .manifests
        .is_empty());
}

async fn skopeo_reads_what_we_push_and_we_pull_what_it_pushes() {
    let Some(reg) = peer::start() else { return };
    if !testkit::need::tool("skopeo") {
        return;
    }
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 50_000);
    let r = reference(&reg, "interop/ours:1");
    c.push_image(&src, &image, &r).await.unwrap();

    // skopeo pulls ours into a layout: identical digests.
    let sk = dir.path().join("skopeo");
    run(Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
        ])
        .arg(format!("docker://{r}"))
        .arg(format!("oci:{}:got", sk.display())));
    let theirs = Layout::open(&sk).unwrap();
    assert_eq!(theirs.resolve("got").unwrap().digest, image.digest);

    // skopeo pushes from a layout; we pull exactly what it pushed.
    src.tag("v1", image.clone()).unwrap();
    let digest_file = dir.path().join("digest");
    run(Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--digestfile",
        ])
        .arg(&digest_file)
        .arg(format!("oci:{}:v1", dir.path().join("src").display()))
        .arg(format!("docker://{}/interop/theirs:1", reg.addr)));
    let theirs: Digest = std::fs::read_to_string(&digest_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c
        .pull_image(&reference(&reg, "interop/theirs:1"), &dst, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(got.digest, theirs);
    assert_eq!(got.digest, image.digest);
    let m: Raw<ImageManifest> = dst.read_document(&got).unwrap();
    assert_eq!(m.value().layers.len(), 2);
    for l in &m.value().layers {
        dst.read_blob(l).unwrap();
    }
}

fn public_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let c = ClientBuilder::new().build().unwrap();
    let r: Reference = "localhost:1/a:b".parse().unwrap();
    let layout = Layout::create(tempfile::tempdir().unwrap().path()).unwrap();
    let d = Descriptor::empty();
    send(&c.pull_manifest(&r));
    send(&c.pull_blob(&r, &d, &layout));
    send(&c.push_blob(&r, &d, &layout));
    send(&c.pull_image(&r, &layout, &Platforms::All));
    send(&c.push_image(&layout, &d, &r));
    send(&c.copy_image(&r, &r, &Platforms::All));
    send(&c.referrers(&r, &d.digest, None));
    send(&c.tags(&r, None));
    send(&c.blob_stream(&r, &d));
    send(&c.push_blob_from_reader(&r, MediaType::ImageLayer, &b""[..]));
    send(&c.pull_config(&r, &Platform::new("linux", "amd64")));
}

#[cfg(feature = "blocking")]
fn the_blocking_client_pushes_and_pulls() {
    use ocikit_distribution::blocking::BlockingClient;
    let Some(reg) = peer::start() else { return };
    let c = BlockingClient::new(client(&reg)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let r = reference(&reg, "blocking:1");
    assert_eq!(c.push_image(&src, &image, &r).unwrap(), image.digest);
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    assert_eq!(
        c.pull_image(&r, &dst, &Platforms::All).unwrap().digest,
        image.digest
    );
    assert_eq!(c.tags(&r, None).unwrap(), ["1"]);
}

async fn the_catalog_lists_repositories() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path()).unwrap();
    let image = build_image(&src, "amd64", 1, 100);
    for repo in ["b/two", "a/one"] {
        c.push_image(&src, &image, &reference(&reg, &format!("{repo}:1")))
            .await
            .unwrap();
    }
    let repos = c.catalog(&reference(&reg, "any"), Some(1)).await.unwrap();
    assert_eq!(repos, ["a/one", "b/two"]);
}

/// The tests of this module, for the suite's runner.
/// The messages of `err` and its sources, one per line.
pub(crate) fn chain(err: &dyn std::error::Error) -> Vec<String> {
    let mut out = Vec::new();
    let mut e: Option<&dyn std::error::Error> = Some(err);
    while let Some(x) = e {
        out.push(x.to_string());
        e = x.source();
    }
    out
}

/// Issue 21: https to a plain-HTTP registry fails at once (no retries),
/// with a hint naming the insecure-host option, and the TLS failure once
/// in its source chain.
async fn issue_21_https_to_a_plain_http_registry_fails_at_once_with_a_hint() {
    let Some(reg) = peer::start() else { return };
    let c = ClientBuilder::new().build().unwrap();
    let r = reference(&reg, "a/b:1");
    let started = std::time::Instant::now();
    let err = c.pull_manifest(&r).await.unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, ocikit_distribution::Error::PlainHttp { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("insecure_http_host"), "{text}");
    assert!(text.contains(&reg.addr), "{text}");
    let lines = chain(&err);
    let root = lines.last().unwrap().clone();
    assert!(lines.len() > 1, "{lines:?}");
    let all = lines.join("\n");
    assert_eq!(all.matches(root.as_str()).count(), 1, "{all}");
}

/// Issue 14: a pull into a directory that did not exist leaves nothing
/// behind when the registry is unreachable, or when the pull fails after
/// the manifest came; an empty directory stays empty.
async fn issue_14_a_failed_pull_leaves_no_empty_layout() {
    let dir = tempfile::tempdir().unwrap();
    let gone = format!("127.0.0.1:{}", testkit::registry::free_port());
    let c = ClientBuilder::new()
        .insecure_http_host(&gone)
        .max_retries(0)
        .build()
        .unwrap();
    let target = dir.path().join("new/layout");
    let r: Reference = format!("{gone}/a:1").parse().unwrap();
    c.pull_image_to(&r, &target, &Platforms::All)
        .await
        .unwrap_err();
    assert!(!dir.path().join("new").exists());

    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 1000);
    let good = reference(&reg, "whole:1");
    c.push_image(&src, &image, &good).await.unwrap();
    let (layout, desc) = c
        .pull_image_to(&good, dir.path().join("ok"), &Platforms::All)
        .await
        .unwrap();
    assert_eq!(desc.digest, image.digest);
    assert!(layout.has_blob(&image.digest));

    // A layer the registry lost: the manifest comes, the pull fails.
    let broken = reference(&reg, "broken:1");
    c.push_image(&src, &image, &broken).await.unwrap();
    let m: Raw<ImageManifest> = src.read_document(&image).unwrap();
    c.delete_blob(&broken, &m.value().layers[1].digest)
        .await
        .unwrap();
    let target = dir.path().join("b/layout");
    c.pull_image_to(&broken, &target, &Platforms::All)
        .await
        .unwrap_err();
    assert!(
        !dir.path().join("b").exists(),
        "{:?}",
        std::process::Command::new("find")
            .arg(dir.path().join("b"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    c.pull_image_to(&broken, &empty, &Platforms::All)
        .await
        .unwrap_err();
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

/// Issue 14: asking for one platform of a single-platform image of
/// another platform is refused, naming the platform found; nothing is
/// stored.
async fn issue_14_a_single_platform_image_of_another_platform_is_refused() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 1, 1000);
    let r = reference(&reg, "single:1");
    c.push_image(&src, &amd, &r).await.unwrap();

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let arm = Platforms::Only("linux/arm64".parse().unwrap());
    let err = c.pull_image(&r, &dst, &arm).await.unwrap_err();
    assert!(
        matches!(err, ocikit_distribution::Error::PlatformNotFound { .. }),
        "{err:?}"
    );
    let all = chain(&err).join("\n");
    assert!(all.contains("linux/arm64"), "{all}");
    assert!(all.contains("linux/amd64"), "{all}");
    assert!(!dst.has_blob(&amd.digest));
    let err = c
        .pull_image_to(&r, dir.path().join("new"), &arm)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ocikit_distribution::Error::PlatformNotFound { .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("new").exists());

    let d = c
        .pull_image(&r, &dst, &Platforms::Only("linux/amd64".parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(d.digest, amd.digest);
}

/// Issue 14: a re-pull checks the blobs already in the layout and
/// downloads again one that does not verify (same size, other bytes).
async fn issue_14_a_re_pull_repairs_a_corrupt_blob() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 100_000);
    let r = reference(&reg, "repair:1");
    c.push_image(&src, &image, &r).await.unwrap();

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    let m: Raw<ImageManifest> = dst.read_document(&image).unwrap();
    let layer = m.value().layers[1].clone();
    let path = dst.blob_path(&layer.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[50_000] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(dst.read_blob(&layer).is_err(), "the layer is corrupt now");

    c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(
        dst.read_blob(&layer).unwrap(),
        src.read_blob(&layer).unwrap()
    );
    assert_eq!(Digest::sha256(&std::fs::read(&path).unwrap()), layer.digest);
    for d in std::iter::once(&m.value().config).chain(&m.value().layers) {
        dst.read_blob(d).unwrap();
    }
}

/// Issue 15: a blob streams verified; a descriptor that does not match
/// ends the stream with an integrity error.
async fn issue_15_blob_stream_verifies_as_it_goes() {
    use futures_util::StreamExt as _;
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 3_000_000);
    let r = reference(&reg, "stream:1");
    c.push_image(&src, &image, &r).await.unwrap();
    let m: Raw<ImageManifest> = src.read_document(&image).unwrap();
    let layer = m.value().layers[0].clone();

    let mut stream = std::pin::pin!(c.blob_stream(&r, &layer).await.unwrap());
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, src.read_blob(&layer).unwrap());

    // The same blob as an AsyncRead.
    let mut reader = c.blob_stream(&r, &layer).await.unwrap();
    let mut read = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut read)
        .await
        .unwrap();
    assert_eq!(read, got);

    for size in [layer.size - 1, layer.size + 1] {
        let mut wrong = layer.clone();
        wrong.size = size;
        let stream = c.blob_stream(&r, &wrong).await.unwrap();
        let results: Vec<_> = stream.collect().await;
        let err = results
            .into_iter()
            .find_map(Result::err)
            .expect("an error before the end");
        assert!(err.is_integrity(), "{err:?}");
    }
}

/// Issue 15: a blob of unknown length uploads from a reader in chunks,
/// its digest computed on the way.
async fn issue_15_push_blob_from_a_reader_of_unknown_length() {
    use futures_util::StreamExt as _;
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let r = reference(&reg, "reader/blob");
    let data: Vec<u8> = (0..(5u32 << 20) + 123)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let desc = c
        .push_blob_from_reader(&r, MediaType::ImageLayer, &data[..])
        .await
        .unwrap();
    assert_eq!(desc.digest, Digest::sha256(&data));
    assert_eq!(desc.size, data.len() as u64);
    assert!(c.blob_exists(&r, &desc.digest).await.unwrap());
    let mut back = Vec::new();
    let mut stream = std::pin::pin!(c.blob_stream(&r, &desc).await.unwrap());
    while let Some(chunk) = stream.next().await {
        back.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(back, data);

    let empty = c
        .push_blob_from_reader(&r, MediaType::ImageLayer, &b""[..])
        .await
        .unwrap();
    assert_eq!(empty.digest, Digest::sha256(b""));
    assert!(c.blob_exists(&r, &empty.digest).await.unwrap());
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![public_futures_are_send; async push_then_pull_preserves_digests, multi_platform_index_pulls_all_or_one, copies_within_a_registry_mount_blobs, chunked_uploads_work, a_corrupt_local_blob_is_never_pushed, referrers_fall_back_to_the_tag_schema, skopeo_reads_what_we_push_and_we_pull_what_it_pushes, the_catalog_lists_repositories, issue_21_https_to_a_plain_http_registry_fails_at_once_with_a_hint, issue_14_a_failed_pull_leaves_no_empty_layout, issue_14_a_single_platform_image_of_another_platform_is_refused, issue_14_a_re_pull_repairs_a_corrupt_blob, issue_15_blob_stream_verifies_as_it_goes, issue_15_push_blob_from_a_reader_of_unknown_length];

/// The tests of the blocking client, with the `blocking` feature.
#[cfg(feature = "blocking")]
pub(crate) const BLOCKING_TESTS: &[testkit::Test] =
    testkit::tests![the_blocking_client_pushes_and_pulls];
/// No blocking client without the `blocking` feature.
#[cfg(not(feature = "blocking"))]
pub(crate) const BLOCKING_TESTS: &[testkit::Test] = &[];
