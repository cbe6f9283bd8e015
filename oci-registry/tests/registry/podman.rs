//! podman pulling from and pushing to the embedded server over plain
//! HTTP, on private storage (the host's podman storage is never
//! touched), with the digests compared across clients.

use std::path::PathBuf;
use std::process::Command;

use ocikit_distribution::Platforms;
use ocikit_image::Layout;
use ocikit_registry::Registry;
use ocikit_types::Digest;

use crate::peer::{containers_env, ok, push_busybox, server_digest, skopeo_digest, unmount_under};
use crate::support::{build_image, client, reference};

/// A podman with its own storage and config in a temp dir; removes its
/// images and the dir on drop.
struct Podman {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Podman {
    fn new() -> Podman {
        let dir = testkit::temp::dir("podman");
        let env = containers_env(dir.path());
        Podman { dir, env }
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("--root")
            .arg(self.path("storage"))
            .arg("--runroot")
            .arg(self.path("runroot"))
            .args([
                "--storage-driver",
                "overlay",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        ok(self.cmd(args)).await
    }

    /// The manifest digest podman recorded for `image`.
    async fn digest(&self, image: &str) -> Digest {
        self.ok(&["image", "inspect", "--format", "{{.Digest}}", image])
            .await
            .trim()
            .parse()
            .unwrap()
    }

    /// `podman push --digestfile` of `image` to `docker://dest`; returns
    /// the digest podman pushed.
    async fn push(&self, image: &str, dest: &str) -> Digest {
        let file = self.path("digest");
        let file = file.to_str().unwrap();
        let dest = format!("docker://{dest}");
        self.ok(&[
            "push",
            "-q",
            "--tls-verify=false",
            "--digestfile",
            file,
            image,
            &dest,
        ])
        .await;
        std::fs::read_to_string(file)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.cmd(&["rmi", "--all", "--force"]).output();
        unmount_under(self.dir.path());
    }
}

const TOOLS: &[&str] = &[
    "podman",
    "conmon",
    "runc",
    "skopeo",
    testkit::busybox::BINARY,
];

/// ocikit's client pushes, podman pulls (same digest) and runs it, then
/// pushes to another repository (same document and blobs, podman's own
/// bytes); a fresh podman pulls that and pushes it to a third: skopeo,
/// the server and ocikit's client read podman's digest throughout.
async fn podman_pulls_and_pushes_keeping_the_digest() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("podman-chain");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let image = push_busybox(&reg, dir.path(), "lib/busybox:v1").await;
    let podman = Podman::new();
    let src = format!("{}/lib/busybox:v1", reg.host());
    podman.ok(&["pull", "-q", "--tls-verify=false", &src]).await;
    assert_eq!(podman.digest(&src).await, image.digest);
    // podman runs what it pulled (runc: crun fails on this host).
    let out = podman
        .ok(&[
            "run",
            "--rm",
            "--runtime",
            "runc",
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
            &src,
            "echo",
            "pulled",
        ])
        .await;
    assert_eq!(out, "pulled\n");

    let dest = format!("{}/copies/busybox:again", reg.host());
    podman.ok(&["tag", &src, &dest]).await;
    let pushed = podman.push(&dest, &dest).await;
    // podman 4.3 writes the manifest anew when it pushes from its storage
    // (containers/image updates the layer list, then marshals it in Go's
    // field order; against docker-registry too), so the bytes of ocikit's
    // canonical JSON are not kept: the document and every blob are.
    let c = client(&reg);
    let first = c
        .pull_manifest(&reference(&reg, "lib/busybox:v1"))
        .await
        .unwrap();
    let again = c
        .pull_manifest(&reference(&reg, "copies/busybox:again"))
        .await
        .unwrap();
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
    assert_eq!(json(&first.bytes), json(&again.bytes));
    assert_eq!(again.digest, pushed);
    assert_eq!(
        skopeo_digest(&reg.host(), "copies/busybox:again").await,
        pushed
    );

    // From there on the digest is kept: a fresh podman pulls podman's
    // manifest and pushes it to a third repository unchanged.
    let fresh = Podman::new();
    fresh.ok(&["pull", "-q", "--tls-verify=false", &dest]).await;
    assert_eq!(fresh.digest(&dest).await, pushed);
    let third = format!("{}/copies/busybox:third", reg.host());
    fresh.ok(&["tag", &dest, &third]).await;
    assert_eq!(fresh.push(&third, &third).await, pushed);
    assert_eq!(server_digest(&reg, "copies/busybox:third").await, pushed);
    assert_eq!(
        skopeo_digest(&reg.host(), "copies/busybox:third").await,
        pushed
    );
    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(
            &reference(&reg, "copies/busybox:third"),
            &back,
            &Platforms::All,
        )
        .await
        .unwrap();
    assert_eq!(got.digest, pushed);
    assert!(back.verify().unwrap().is_ok());
}

/// podman pushes an image it took from an OCI layout (its own
/// compression, its own manifest), and a fresh podman and ocikit's
/// client pull exactly what it said it pushed.
async fn podman_pushes_an_image_others_pull() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("podman-push");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let (layout, _) = crate::peer::busybox(dir.path());
    let podman = Podman::new();
    let src = format!("oci:{}:v1", layout.path().display());
    podman.ok(&["pull", "-q", &src]).await;
    let name = "localhost/from-layout:v1";
    let id = podman.ok(&["images", "-q", "--no-trunc"]).await;
    podman.ok(&["tag", id.trim(), name]).await;
    let dest = format!("{}/pushed/by-podman:v1", reg.host());
    let pushed = podman.push(name, &dest).await;
    assert_eq!(server_digest(&reg, "pushed/by-podman:v1").await, pushed);
    assert_eq!(
        skopeo_digest(&reg.host(), "pushed/by-podman:v1").await,
        pushed
    );

    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(
            &reference(&reg, "pushed/by-podman:v1"),
            &back,
            &Platforms::All,
        )
        .await
        .unwrap();
    assert_eq!(got.digest, pushed);
    assert!(back.verify().unwrap().is_ok());

    let fresh = Podman::new();
    fresh.ok(&["pull", "-q", "--tls-verify=false", &dest]).await;
    assert_eq!(fresh.digest(&dest).await, pushed);
    let listed = fresh
        .ok(&["images", "--digests", "--format", "{{.Digest}}"])
        .await;
    assert_eq!(listed.trim(), pushed.to_string());
}

/// `podman manifest create/add/push --all`: a multi-platform index of
/// two images on the server, pushed back by podman; its children keep
/// their digests and ocikit's client pulls the index podman reported.
async fn podman_pushes_a_manifest_list_of_images_on_the_server() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("podman-list");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let c = client(&reg);
    let mut children = Vec::new();
    for arch in ["amd64", "arm64"] {
        let image = build_image(&src, arch, 1, 20_000);
        c.push_image(&src, &image, &reference(&reg, &format!("multi:{arch}")))
            .await
            .unwrap();
        children.push(image.digest);
    }
    let podman = Podman::new();
    let list = "localhost/ocikit-list:v1";
    podman.ok(&["manifest", "create", list]).await;
    for arch in ["amd64", "arm64"] {
        let image = format!("docker://{}/multi:{arch}", reg.host());
        podman
            .ok(&["manifest", "add", "--tls-verify=false", list, &image])
            .await;
    }
    let file = podman.path("list-digest");
    let dest = format!("docker://{}/multi:list", reg.host());
    podman
        .ok(&[
            "manifest",
            "push",
            "-q",
            "--all",
            "--tls-verify=false",
            "--digestfile",
            file.to_str().unwrap(),
            list,
            &dest,
        ])
        .await;
    let pushed: Digest = std::fs::read_to_string(&file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(server_digest(&reg, "multi:list").await, pushed);
    assert_eq!(skopeo_digest(&reg.host(), "multi:list").await, pushed);
    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = c
        .pull_image(&reference(&reg, "multi:list"), &back, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(got.digest, pushed);
    assert!(back.verify().unwrap().is_ok());
    let index: ocikit_types::Raw<ocikit_types::ImageIndex> = back.read_document(&got).unwrap();
    let mut listed: Vec<Digest> = index
        .value()
        .manifests
        .iter()
        .map(|m| m.digest.clone())
        .collect();
    listed.sort();
    children.sort();
    assert_eq!(listed, children);
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    podman_pulls_and_pushes_keeping_the_digest,
    podman_pushes_an_image_others_pull,
    podman_pushes_a_manifest_list_of_images_on_the_server,
];
