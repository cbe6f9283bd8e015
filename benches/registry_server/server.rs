//! The two servers under test, each a child process started from the same
//! Distribution-style `config.yml`, and what `/proc` tells about them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which registry a [`Server`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `ocikit-registry serve` (release build).
    Ocikit,
    /// Debian's `docker-registry serve` (CNCF Distribution 2.8).
    Distribution,
}

impl Kind {
    pub(crate) const BOTH: [Kind; 2] = [Kind::Ocikit, Kind::Distribution];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Ocikit => "ocikit-registry",
            Kind::Distribution => "docker-registry",
        }
    }
}

/// A running registry on 127.0.0.1, killed on drop (its storage stays:
/// deleting large trees slows file creation on this disk for minutes).
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    /// Spawn to the first `200` on `/v2/`.
    pub(crate) startup: Duration,
}

/// How long a server may take to answer its first ping.
const START_TIMEOUT: Duration = Duration::from_secs(20);

impl Server {
    /// Starts `kind` with its storage in `dir/data`; `ocikit` is the path
    /// of the `ocikit-registry` binary.
    pub(crate) fn start(kind: Kind, ocikit: &Path, dir: &Path) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        // Debian's default cache for Distribution; ocikit-registry warns
        // that it ignores it (stderr is discarded).
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                 storage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n\
                 \x20 delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let program: PathBuf = match kind {
            Kind::Ocikit => ocikit.to_owned(),
            Kind::Distribution => "docker-registry".into(),
        };
        let t = Instant::now();
        let child = Command::new(program)
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", kind.name()));
        let mut server = Server {
            child,
            addr,
            startup: Duration::ZERO,
        };
        while !ping(&server.addr) {
            assert!(
                t.elapsed() < START_TIMEOUT,
                "{} did not answer /v2/ within {START_TIMEOUT:?}",
                kind.name()
            );
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{} exited at start: {status}", kind.name());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        server.startup = t.elapsed();
        server
    }

    fn proc(&self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id())).unwrap()
    }

    /// User + system CPU seconds of the server (all its threads).
    pub(crate) fn cpu(&self) -> f64 {
        let stat = self.proc("stat");
        // The fields after the command name, which is in parentheses.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<f64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        // utime and stime are fields 14 and 15 (11 and 12 here), in
        // clock ticks of 1/100 s.
        (f[11] + f[12]) / 100.0
    }

    /// A `/proc/PID/status` line in MiB (`VmRSS`, `VmHWM`).
    pub(crate) fn mem_mib(&self, key: &str) -> f64 {
        let status = self.proc("status");
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} in /proc/PID/status"));
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap();
        kib / 1024.0
    }

    /// Resets the peak RSS (`VmHWM`) to the current RSS.
    pub(crate) fn reset_peak(&self) {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when `GET /v2/` answers 200.
fn ping(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}
