//! The binary under test, skipping rules, busybox rootfs and bundles.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `ocikit-runc` under test: `$OCIKIT_RUNC` when set (CI points it at
/// the binary `cargo install --path ocikit-runc` installed), else this
/// package's binary, which cargo builds before the tests.
pub(crate) fn binary() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var_os("OCIKIT_RUNC")
            .map(PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_ocikit-runc").into())
    })
}

/// A container id unique to this process and test.
pub(crate) fn unique_id(test: &str) -> String {
    format!("cli-{test}-{}", std::process::id())
}

pub(crate) use testkit::busybox::rootfs as busybox_rootfs;
pub(crate) use testkit::temp::dir as tempdir;

/// `ocikit-runc` with a private `--root`.
#[derive(Clone)]
pub(crate) struct Runc {
    pub(crate) root: PathBuf,
}

impl Runc {
    pub(crate) fn new(root: impl Into<PathBuf>) -> Runc {
        Runc { root: root.into() }
    }

    /// The command with `--root`, stdin closed.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub(crate) fn output(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn ocikit-runc")
    }

    /// Runs and asserts success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "ocikit-runc {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            !out.status.success(),
            "ocikit-runc {args:?} succeeded, expected a failure: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Runs a command that leaves a container behind (`create`, `run -d`):
    /// its stdio go to files (the container inherits them, so pipes would
    /// never reach end of file). Asserts success.
    pub(crate) fn detached(&self, args: &[&str], logs: &Path) {
        let stdout = logs.join("stdout");
        let stderr = logs.join("stderr");
        let status = self
            .cmd(args)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .status()
            .expect("spawn ocikit-runc");
        assert!(
            status.success(),
            "ocikit-runc {args:?} failed ({status}): {}",
            std::fs::read_to_string(&stderr).unwrap_or_default()
        );
    }

    pub(crate) fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state prints JSON")
    }

    pub(crate) fn status(&self, id: &str) -> String {
        self.state(id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until the container reaches `status`.
    pub(crate) fn wait_status(&self, id: &str, status: &str) {
        let found = wait_for(Duration::from_secs(10), || {
            let s = self.status(id);
            (s == status).then_some(s)
        });
        assert!(
            found.is_some(),
            "container {id} never became {status}: {}",
            self.status(id)
        );
    }
}

/// Deletes the container on drop, whatever happened.
pub(crate) struct Container {
    pub(crate) runc: Runc,
    pub(crate) id: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.runc.output(&["delete", "--force", &self.id]);
    }
}

/// A bundle: busybox rootfs, config from `ocikit-runc spec`, a host
/// directory bind-mounted read-write at `/out`, and a state root.
pub(crate) struct Bundle {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: Value,
    pub(crate) runc: Runc,
}

impl Bundle {
    pub(crate) fn new(test: &str, args: &[&str]) -> Bundle {
        let dir = tempdir(test);
        busybox_rootfs(&dir.path().join("rootfs"));
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        let out = Command::new(binary())
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "spec: {out:?}");
        let mut config: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        config["process"]["terminal"] = false.into();
        config["process"]["args"] = args.iter().map(|a| Value::from(*a)).collect();
        config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "destination": "/out",
                "type": "bind",
                "source": dir.path().join("out"),
                "options": ["rbind", "rw"]
            }));
        let runc = Runc::new(dir.path().join("state"));
        Bundle { dir, config, runc }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn bundle_arg(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    pub(crate) fn logs(&self) -> PathBuf {
        self.path().join("logs")
    }

    /// The host side of `/out`.
    pub(crate) fn out(&self, name: &str) -> PathBuf {
        self.path().join("out").join(name)
    }

    /// Reads `/out/NAME` as the container wrote it (empty if absent).
    pub(crate) fn read_out(&self, name: &str) -> String {
        std::fs::read_to_string(self.out(name)).unwrap_or_default()
    }

    /// Waits until `/out/NAME` satisfies `ok`; returns its content.
    pub(crate) fn wait_out(&self, name: &str, ok: impl Fn(&str) -> bool) -> String {
        wait_for(Duration::from_secs(10), || {
            let s = self.read_out(name);
            ok(&s).then_some(s)
        })
        .unwrap_or_else(|| {
            panic!(
                "/out/{name} never reached the expected content: {:?}",
                self.read_out(name)
            )
        })
    }

    /// Writes config.json.
    pub(crate) fn write(&self) {
        std::fs::write(
            self.path().join("config.json"),
            serde_json::to_string_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Writes config.json and names test `test`'s container: its id and a
    /// guard deleting it on drop.
    pub(crate) fn write_for(&self, test: &str) -> (String, Container) {
        self.write();
        let id = unique_id(test);
        let guard = self.guard(&id);
        (id, guard)
    }

    /// A guard deleting container `id` of this bundle's root on drop.
    pub(crate) fn guard(&self, id: &str) -> Container {
        Container {
            runc: self.runc.clone(),
            id: id.to_owned(),
        }
    }
}

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub(crate) fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The host directory of cgroup v1 `controller` that process `pid` is in.
pub(crate) fn cgroup_dir(pid: u64, controller: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next(), parts.next());
        let (Some(controllers), Some(path)) = (controllers, path) else {
            continue;
        };
        if controllers.split(',').any(|c| c == controller) {
            return Path::new("/sys/fs/cgroup")
                .join(controller)
                .join(path.trim_start_matches('/'));
        }
    }
    // Pure cgroup v2: the unified hierarchy.
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'))
}

/// Lazily unmounts whatever is mounted under `dir` (deepest first), so
/// that a test's temp dir can be removed after an engine left mounts.
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

/// Removes the (empty) cgroup directory `rel` from every hierarchy, for
/// parents an engine creates but never removes (containerd's per-namespace
/// cgroup).
pub(crate) fn remove_cgroup(rel: &str) {
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(rel));
    for e in entries.flatten() {
        let _ = std::fs::remove_dir(e.path().join(rel));
    }
}
