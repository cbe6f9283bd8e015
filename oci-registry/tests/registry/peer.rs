//! What the suites of real peers (podman, buildah, containerd, ORAS,
//! skopeo with docker-registry) share: running a tool without stalling
//! the embedded server, the busybox image they move, digests as skopeo
//! reads them, and cleaning up the mounts a container engine leaves.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use ocikit_image::Layout;
use ocikit_registry::RunningRegistry;
use ocikit_types::{Descriptor, Digest};

use crate::support::{client, reference};

/// Runs `cmd` on a blocking thread and returns its output. The embedded
/// server runs on the test's own (current-thread) runtime, so a tool
/// must never be waited for on that thread: the server would stop
/// answering it.
pub(crate) async fn output(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null());
    let what = format!("{cmd:?}");
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("the tool's thread")
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"))
}

/// Runs `cmd` (as [`output`]), asserts that it succeeded and returns its
/// standard output.
pub(crate) async fn ok(cmd: Command) -> String {
    let what = format!("{cmd:?}");
    let out = output(cmd).await;
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The busybox image (one layer, the host's platform) built with
/// ocikit-image in `dir/layout`, tagged `v1` there.
pub(crate) fn busybox(dir: &Path) -> (Layout, Descriptor) {
    let layout = Layout::create(dir.join("layout")).unwrap();
    let image = testkit::busybox::image(&layout, dir, |_| {});
    layout.tag("v1", image.clone()).unwrap();
    (layout, image)
}

/// Pushes the busybox image with ocikit's client to `repo` (`name:tag`)
/// of `reg` and returns its descriptor.
pub(crate) async fn push_busybox(reg: &RunningRegistry, dir: &Path, repo: &str) -> Descriptor {
    let (layout, image) = busybox(dir);
    let pushed = client(reg)
        .push_image(&layout, &image, &reference(reg, repo))
        .await
        .unwrap();
    assert_eq!(pushed, image.digest);
    image
}

/// The digest of the manifest the server holds at `repo` (`name:tag`),
/// from a HEAD by ocikit's client.
pub(crate) async fn server_digest(reg: &RunningRegistry, repo: &str) -> Digest {
    client(reg)
        .head_manifest(&reference(reg, repo))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{repo} is not on the server"))
        .digest
}

/// The digest of the manifest (or index) bytes at `docker://HOST/REPO`
/// as skopeo fetches them (`inspect --raw`), over plain HTTP.
pub(crate) async fn skopeo_digest(host: &str, repo: &str) -> Digest {
    let mut c = Command::new("skopeo");
    c.args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{host}/{repo}"));
    let what = format!("{c:?}");
    let out = output(c).await;
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Digest::sha256(&out.stdout)
}

/// Lazily unmounts whatever is mounted under `dir`, deepest first, so a
/// temp dir can be removed after a container engine left mounts there.
pub(crate) fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = Command::new("umount")
            .args(["-l", p])
            .stderr(Stdio::null())
            .status();
    }
}

/// Private config for the containers/ tools (podman, buildah, skopeo) in
/// `dir`: storage under `dir`, no host registries.conf or auth file.
/// Returns the environment to run them with.
pub(crate) fn containers_env(dir: &Path) -> Vec<(&'static str, String)> {
    let p = |s: &str| dir.join(s).display().to_string();
    for d in ["storage", "runroot", "tmp"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::write(
        dir.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            p("storage"),
            p("runroot")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("containers.conf"),
        format!(
            "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             events_logfile_path = \"{}\"\ntmp_dir = \"{}\"\n",
            p("events.log"),
            p("tmp")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("registries.conf"), "").unwrap();
    // podman and buildah refuse a REGISTRY_AUTH_FILE that does not exist.
    std::fs::write(dir.join("auth.json"), "{}").unwrap();
    vec![
        ("CONTAINERS_CONF", p("containers.conf")),
        ("CONTAINERS_STORAGE_CONF", p("storage.conf")),
        ("CONTAINERS_REGISTRIES_CONF", p("registries.conf")),
        ("REGISTRY_AUTH_FILE", p("auth.json")),
        ("TMPDIR", p("tmp")),
    ]
}
