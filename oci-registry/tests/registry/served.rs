//! The `ocikit-registry` binary serving a config of the test's, stopped
//! when dropped: for what only a process shows (signals, its open file
//! descriptors).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Served {
    child: Child,
    pub(crate) port: u16,
    pub(crate) log: PathBuf,
}

impl Served {
    /// Serves `dir/data` on a free loopback port; `http_extra` is YAML
    /// added under `http:` (indented by four spaces).
    pub(crate) fn start(dir: &Path, http_extra: &str) -> Served {
        let port = testkit::registry::free_port();
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: debug\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{http_extra}",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let log = dir.join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ocikit-registry"))
            .arg("serve")
            .arg(&config)
            .env("RUST_LOG", "ocikit_registry=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let served = Served { child, port, log };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the server did not listen: {}",
                served.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        served
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
    }

    /// The server's open file descriptors.
    pub(crate) fn fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .unwrap()
            .count()
    }

    /// What each of the server's file descriptors points at, one a line.
    pub(crate) fn open_files(&self) -> String {
        let dir = format!("/proc/{}/fd", self.child.id());
        let mut lines: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.flatten()
                    .map(|e| {
                        let target = std::fs::read_link(e.path()).unwrap_or_default();
                        format!(
                            "{} -> {}",
                            e.file_name().to_string_lossy(),
                            target.display()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        lines.sort();
        lines.join("\n")
    }

    /// The server's file descriptors once their count has held still for
    /// half a second (up to 10 s): a server just started may still have
    /// its start-up work's files open.
    pub(crate) async fn steady_fds(&self) -> usize {
        let start = Instant::now();
        let (mut last, mut since) = (self.fds(), Instant::now());
        while since.elapsed() < Duration::from_millis(500)
            && start.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = self.fds();
            if now != last {
                (last, since) = (now, Instant::now());
            }
        }
        last
    }

    /// Waits (up to 20 s) until the server has `n` file descriptors open;
    /// returns how many it has then.
    pub(crate) async fn settle_fds(&self, n: usize) -> usize {
        let start = Instant::now();
        loop {
            let now = self.fds();
            if now == n || start.elapsed() > Duration::from_secs(20) {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
