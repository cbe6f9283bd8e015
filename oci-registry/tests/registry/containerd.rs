//! containerd's `ctr` pulling from and pushing to the embedded server
//! over plain HTTP. Each test starts its own containerd on a temp root,
//! state dir and socket, stops it on drop and unmounts what it left.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocikit_distribution::Platforms;
use ocikit_image::Layout;
use ocikit_registry::Registry;

use crate::peer::{busybox, ok, output, push_busybox, server_digest, skopeo_digest, unmount_under};
use crate::support::{client, reference};

const TOOLS: &[&str] = &["containerd", "ctr", "skopeo", testkit::busybox::BINARY];

/// A private containerd (no CRI, no network, only the snapshotters this
/// host has); stopped on drop.
struct Containerd {
    dir: tempfile::TempDir,
    daemon: Child,
}

impl Containerd {
    async fn start() -> Containerd {
        let dir = testkit::temp::dir("ctrd");
        let p = |s: &str| dir.path().join(s).display().to_string();
        std::fs::write(
            p("config.toml"),
            format!(
                "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\", \
                   \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \
                   \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\", \
                   \"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\"]\n\
                 [grpc]\n  address = \"{sock}\"\n\
                 [ttrpc]\n  address = \"{sock}.ttrpc\"\n\
                 [debug]\n  address = \"{sock}.debug\"\n  level = \"info\"\n\
                 [metrics]\n  address = \"\"\n\
                 [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
                root = p("root"),
                state = p("state"),
                sock = p("c.sock"),
                opt = p("opt"),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(p("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(p("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let c = Containerd { dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !output(c.ctr(&["version"])).await.status.success() {
            assert!(
                Instant::now() < deadline,
                "containerd did not come up: {}",
                c.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        c
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("containerd.log")).unwrap_or_default()
    }

    fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.path("c.sock"))
            .args(["--namespace", "ocikit-interop"])
            .args(args);
        c
    }

    async fn ok(&self, args: &[&str]) -> String {
        ok(self.ctr(args)).await
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SIGTERM lets containerd close its database and snapshotter
        // (`Child::kill` sends SIGKILL, kept for when it does not stop).
        let pid = self.daemon.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.daemon.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        unmount_under(self.dir.path());
    }
}

/// `ctr images pull` of what ocikit's client pushed (unpacked into
/// containerd's snapshotter), then `ctr images push` to another
/// repository: containerd, the server, skopeo and ocikit's client agree
/// on the digest.
async fn ctr_pulls_and_pushes_keeping_the_digest() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("ctr-chain");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let image = push_busybox(&reg, dir.path(), "lib/busybox:v1").await;
    let c = Containerd::start().await;
    let src = format!("{}/lib/busybox:v1", reg.host());
    c.ok(&["images", "pull", "--plain-http", &src]).await;
    let listed = c.ok(&["images", "ls"]).await;
    let line = listed
        .lines()
        .find(|l| l.split_whitespace().next() == Some(src.as_str()))
        .unwrap_or_else(|| panic!("{src} not in {listed}"));
    assert!(line.contains(&image.digest.to_string()), "{line}");
    // The layers were unpacked into a snapshot.
    let snapshots = c.ok(&["snapshots", "ls"]).await;
    assert!(snapshots.lines().count() >= 2, "{snapshots}");

    let dest = format!("{}/copies/busybox:by-ctr", reg.host());
    c.ok(&["images", "push", "--plain-http", &dest, &src]).await;
    assert_eq!(
        server_digest(&reg, "copies/busybox:by-ctr").await,
        image.digest
    );
    assert_eq!(
        skopeo_digest(&reg.host(), "copies/busybox:by-ctr").await,
        image.digest
    );
    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(
            &reference(&reg, "copies/busybox:by-ctr"),
            &back,
            &Platforms::All,
        )
        .await
        .unwrap();
    assert_eq!(got.digest, image.digest);
    assert!(back.verify().unwrap().is_ok());
}

/// `ctr images import` of ocikit's busybox image (an OCI archive), then
/// `ctr images push`: containerd uploads every blob itself, and the
/// server and ocikit's client see the image's own digest.
async fn ctr_pushes_an_imported_image() {
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let dir = testkit::temp::dir("ctr-import");
    let reg = Registry::builder()
        .filesystem(dir.path().join("store"))
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let (layout, image) = busybox(dir.path());
    let archive = dir.path().join("busybox.tar");
    ocikit_image::export_layout(&layout, std::fs::File::create(&archive).unwrap()).unwrap();
    let c = Containerd::start().await;
    let name = format!("{}/imported/busybox", reg.host());
    c.ok(&[
        "images",
        "import",
        "--base-name",
        &name,
        archive.to_str().unwrap(),
    ])
    .await;
    let tagged = format!("{name}:v1");
    c.ok(&["images", "push", "--plain-http", &tagged]).await;
    assert_eq!(
        server_digest(&reg, "imported/busybox:v1").await,
        image.digest
    );
    let back = Layout::create(dir.path().join("back")).unwrap();
    let got = client(&reg)
        .pull_image(
            &reference(&reg, "imported/busybox:v1"),
            &back,
            &Platforms::All,
        )
        .await
        .unwrap();
    assert_eq!(got.digest, image.digest);
    assert!(back.verify().unwrap().is_ok());
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    ctr_pulls_and_pushes_keeping_the_digest,
    ctr_pushes_an_imported_image,
];
