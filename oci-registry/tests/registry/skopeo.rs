//! skopeo (noauth) pushing to and pulling from the embedded server, and
//! reading a repository of the filesystem storage as an `oci:` layout.

use std::process::Command;

use ocikit_image::Layout;
use ocikit_registry::Registry;
use ocikit_types::Digest;

use crate::support::build_image;

fn skopeo(args: &[&str]) {
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn skopeo_copies_both_ways_keeping_digests() {
    if !testkit::need::tool("skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let reg = Registry::builder()
        .filesystem(&store)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 100_000);
    src.tag("v1", image.clone()).unwrap();
    let digest_file = dir.path().join("digest");
    let src_ref = format!("oci:{}:v1", src.path().display());
    let dest = format!("docker://{}/interop/app:v1", reg.host());
    let copy = |from: &str, to: &str, extra: &[&str]| {
        let mut args = vec![
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[from, to]);
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            skopeo(&args)
        })
    };
    let df = digest_file.display().to_string();
    copy(&src_ref, &dest, &["--digestfile", &df]).await.unwrap();
    let pushed: Digest = std::fs::read_to_string(&digest_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pushed, image.digest);

    let back = dir.path().join("back");
    copy(&dest, &format!("oci:{}:got", back.display()), &[])
        .await
        .unwrap();
    let back = Layout::open(&back).unwrap();
    assert_eq!(back.resolve("got").unwrap().digest, image.digest);
    assert!(back.verify().unwrap().is_ok());

    // The repository on disk is a layout skopeo reads directly.
    let repo = store.join("repositories/interop/app/_layout");
    let direct = dir.path().join("direct");
    copy(
        &format!("oci:{}:v1", repo.display()),
        &format!("oci:{}:v1", direct.display()),
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        Layout::open(&direct).unwrap().resolve("v1").unwrap().digest,
        image.digest
    );
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async skopeo_copies_both_ways_keeping_digests];
