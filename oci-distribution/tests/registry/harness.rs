//! Starting peers for the tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when `name` is on PATH; otherwise says the test is skipped (or,
/// under `CI=true`, fails).
pub(crate) fn peer(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let msg = format!("{name} not installed: test skipped (apt-get install {name})");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}; CI=true requires it");
        }
        eprintln!("{msg}");
    }
    found
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `docker-registry` on 127.0.0.1 with filesystem storage in a temp dir,
/// stopped on drop.
pub(crate) struct Registry {
    child: Child,
    pub(crate) addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry without auth; `None` when the peer is missing.
    pub(crate) fn start() -> Option<Registry> {
        Registry::start_with("")
    }

    /// Starts a registry with extra YAML appended to its config.
    pub(crate) fn start_with(extra: &str) -> Option<Registry> {
        if !peer("docker-registry") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{extra}",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Registry {
            child,
            addr,
            _dir: dir,
        })
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
