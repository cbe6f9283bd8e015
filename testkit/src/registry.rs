//! Debian's `docker-registry` (CNCF Distribution 2.8) on loopback.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a registry may take to listen before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A `docker-registry` on 127.0.0.1 with filesystem storage in a temp dir
/// and deletes enabled, stopped (and its storage removed) on drop.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    dir: PathBuf,
    /// The temporary directory removed on drop, unless the caller chose
    /// the directory.
    _temp: Option<tempfile::TempDir>,
}

impl Registry {
    /// Starts a registry without auth; `None` (the test is reported
    /// ignored, or fails under CI) when `docker-registry` is missing.
    pub fn start() -> Option<Registry> {
        Registry::start_with("")
    }

    /// Starts a registry with `extra` appended to its YAML config: lines
    /// under `http:` (indented two spaces, e.g. `tls:`) first, then
    /// top-level sections (`auth:`), as Distribution reads them.
    ///
    /// # Panics
    /// When the registry does not listen within 20 seconds.
    pub fn start_with(extra: &str) -> Option<Registry> {
        if !crate::need::tool("docker-registry") {
            return None;
        }
        let temp = tempfile::tempdir().expect("a registry directory");
        let mut reg = Registry::start_in(temp.path(), extra)?;
        reg._temp = Some(temp);
        Some(reg)
    }

    /// Starts a registry (as [`Registry::start_with`]) whose config and
    /// storage (`data/`) are in `dir`, which is left in place on drop
    /// (benchmarks put it on tmpfs).
    ///
    /// # Panics
    /// When the registry does not listen within 20 seconds.
    pub fn start_in(dir: &Path, extra: &str) -> Option<Registry> {
        if !crate::need::tool("docker-registry") {
            return None;
        }
        std::fs::create_dir_all(dir).expect("create the registry directory");
        let addr = format!("127.0.0.1:{}", free_port());
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{extra}",
                dir.join("data").display()
            ),
        )
        .expect("write the registry config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker-registry");
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Registry {
            child,
            addr,
            dir: dir.to_owned(),
            _temp: None,
        })
    }

    /// The directory holding the registry's config and storage (`data/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
