//! buildah building on an image pulled from the embedded server and
//! pushing the result back (`buildah push`), on private storage.

use std::path::PathBuf;
use std::process::Command;

use ocikit_distribution::Platforms;
use ocikit_image::Layout;
use ocikit_registry::Registry;
use ocikit_types::{Digest, ImageManifest, Raw};

use crate::peer::{containers_env, ok, push_busybox, server_digest, skopeo_digest, unmount_under};
use crate::support::{client, reference};

const TOOLS: &[&str] = &["buildah", "skopeo", testkit::busybox::BINARY];

/// A buildah with its own storage and config; removes its working
/// containers, images and mounts on drop.
struct Buildah {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Buildah {
    fn new() -> Buildah {
        let dir = testkit::temp::dir("buildah");
        let env = containers_env(dir.path());
        Buildah { dir, env }
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("buildah");
        c.envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--root")
            .arg(self.path("storage"))
            .arg("--runroot")
            .arg(self.path("runroot"))
            .args(["--storage-driver", "overlay"])
            .args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        ok(self.cmd(args)).await
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "--all"]).output();
        let _ = self.cmd(&["rmi", "--all", "--force"]).output();
        unmount_under(self.dir.path());
    }
}

/// buildah starts `FROM` an image ocikit's client pushed, adds a layer,
/// commits and pushes: the server holds what buildah says it pushed, the
/// base layer is the one pushed first, and skopeo and ocikit's client
/// read the same digest.
async fn buildah_builds_on_a_pulled_image_and_pushes() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("buildah-push");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let base = push_busybox(&reg, dir.path(), "base/busybox:v1").await;
    let b = Buildah::new();
    let from = format!("{}/base/busybox:v1", reg.host());
    let ctr = b.ok(&["from", "-q", "--tls-verify=false", &from]).await;
    let ctr = ctr.trim();
    let file = dir.path().join("hello.txt");
    std::fs::write(&file, "built by buildah\n").unwrap();
    b.ok(&["copy", ctr, file.to_str().unwrap(), "/hello.txt"])
        .await;
    b.ok(&["config", "--label", "org.example.by=buildah", ctr])
        .await;
    let name = "localhost/built:v1";
    b.ok(&["commit", "-q", ctr, name]).await;

    let digest_file = dir.path().join("digest");
    let dest = format!("docker://{}/built/app:v1", reg.host());
    b.ok(&[
        "push",
        "-q",
        "--tls-verify=false",
        "--digestfile",
        digest_file.to_str().unwrap(),
        name,
        &dest,
    ])
    .await;
    let pushed: Digest = std::fs::read_to_string(&digest_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(server_digest(&reg, "built/app:v1").await, pushed);
    assert_eq!(skopeo_digest(&reg.host(), "built/app:v1").await, pushed);

    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(&reference(&reg, "built/app:v1"), &back, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(got.digest, pushed);
    assert!(back.verify().unwrap().is_ok());
    let m: Raw<ImageManifest> = back.read_document(&got).unwrap();
    assert_eq!(m.value().layers.len(), 2, "the base layer and buildah's");
    // buildah reused the base layer the server already had: the same blob.
    let base_layout = Layout::open(dir.path().join("layout")).unwrap();
    let base_manifest: Raw<ImageManifest> = base_layout.read_document(&base).unwrap();
    assert_eq!(
        m.value().layers[0].digest,
        base_manifest.value().layers[0].digest
    );
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async buildah_builds_on_a_pulled_image_and_pushes];
