//! Shutdown with a drain deadline: an upload in flight at SIGTERM that
//! ends within the deadline is committed, one still running past it is
//! cut; for the binary and for an embedded registry. The request log
//! line names the route, never the session or the credentials.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocikit_registry::Registry;
use ocikit_types::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ops::parse_prometheus;
use crate::support::noise;

const BIN: &str = env!("CARGO_BIN_EXE_ocikit-registry");

/// How long anything here may take before the test fails (a guard
/// against hangs, not a measure).
const BOUND: Duration = Duration::from_secs(30);

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < BOUND, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 exchange on a new connection; the whole reply.
fn exchange(addr: &str, head: &str) -> String {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(BOUND)).unwrap();
    c.write_all(format!("{head}connection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    reply
}

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    api: String,
    debug: String,
}

impl Server {
    fn start(drain: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (port, debug_port) = (
            testkit::registry::free_port(),
            testkit::registry::free_port(),
        );
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = \"0.1\"\nfoo = 1\n[storage.filesystem]\nrootdirectory = \"{}\"\n[http]\naddr = \"127.0.0.1:{port}\"\ndraintimeout = \"{drain}\"\n[http.debug]\naddr = \"127.0.0.1:{debug_port}\"\n[http.debug.prometheus]\nenabled = true\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server {
            child,
            dir,
            api: format!("127.0.0.1:{port}"),
            debug: format!("127.0.0.1:{debug_port}"),
        };
        wait_until("the server listens", || {
            TcpStream::connect(&s.api).is_ok() && TcpStream::connect(&s.debug).is_ok()
        });
        s
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn uploads_in_progress(&self) -> f64 {
        let reply = exchange(&self.debug, "GET /metrics HTTP/1.1\r\nhost: x\r\n");
        let body = reply.split_once("\r\n\r\n").unwrap().1;
        parse_prometheus(body)["ocikit_registry_uploads_in_progress"]
    }

    /// Opens a session and starts its final `PUT` with half of `data`;
    /// returns the connection and the session's path once the server is
    /// receiving it.
    fn start_slow_put(&self, data: &[u8]) -> (TcpStream, String) {
        let reply = exchange(
            &self.api,
            "POST /v2/r/blobs/uploads/ HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n",
        );
        assert!(reply.starts_with("HTTP/1.1 202"), "{reply}");
        let location = reply
            .lines()
            .find_map(|l| l.strip_prefix("location: "))
            .unwrap()
            .to_owned();
        let mut c = TcpStream::connect(&self.api).unwrap();
        c.set_read_timeout(Some(BOUND)).unwrap();
        let head = format!(
            "PUT {location}?digest={} HTTP/1.1\r\nhost: x\r\nauthorization: Basic c2VjcmV0\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
            Digest::sha256(data),
            data.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&data[..data.len() / 2]).unwrap();
        wait_until("the upload is in progress", || {
            self.uploads_in_progress() == 1.0
        });
        (c, location)
    }

    fn sigterm(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        wait_until("the server stops accepting", || {
            TcpStream::connect(&self.api).is_err()
        });
    }

    fn exit_status(&mut self) -> std::process::ExitStatus {
        let mut status = None;
        wait_until("the server exits", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }

    fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(self.dir.path().join("stderr")).unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            for c in it.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn blob_path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blobs")
        .join(digest.algorithm())
        .join(digest.encoded())
}

fn sigterm_lets_a_slow_upload_finish_within_the_deadline() {
    let mut s = Server::start("30s");
    let data = noise(200_000, 5);
    let (mut c, location) = s.start_slow_put(&data);
    s.sigterm();
    c.write_all(&data[data.len() / 2..]).unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    let status = s.exit_status();
    assert!(status.success(), "{status:?}");
    let stored = std::fs::read(blob_path(&s.root(), &Digest::sha256(&data))).unwrap();
    assert!(stored == data, "the committed blob differs");
    let log = s.log();
    let line = log
        .lines()
        .find(|l| l.contains("request") && l.contains("status=201"))
        .unwrap_or_else(|| panic!("no request line in {log}"));
    for field in [
        "method=PUT",
        "route=\"blob_upload_chunk\"",
        "repository=\"r\"",
        &format!("bytes_in={}", data.len()),
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
    assert!(log.contains("unknown key foo is ignored"), "{log}");
    let session = location.rsplit('/').next().unwrap();
    assert!(!log.contains(session), "the session id is logged: {log}");
    assert!(!log.contains("c2VjcmV0"), "credentials are logged: {log}");
}

fn a_request_running_past_the_deadline_is_cut() {
    let mut s = Server::start("1s");
    let data = noise(100_000, 6);
    let (mut c, _) = s.start_slow_put(&data);
    s.sigterm();
    // The rest never comes: the deadline cuts the request.
    let mut reply = Vec::new();
    let _ = c.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 503"),
        "{reply}"
    );
    let status = s.exit_status();
    assert!(status.success(), "{status:?}");
    assert!(!blob_path(&s.root(), &Digest::sha256(&data)).exists());
    let log = s.log();
    assert!(log.contains("cutting the requests still running"), "{log}");
}

/// An embedded registry: `shutdown_with_deadline` lets an upload that
/// ends in time commit, and cuts one that does not.
async fn shutdown_with_deadline_drains_then_cuts() {
    for finish in [true, false] {
        let reg = Registry::builder().build().unwrap();
        let running = reg.spawn("127.0.0.1:0").await.unwrap();
        let addr = running.addr();
        let data = noise(50_000, 8);
        let digest = Digest::sha256(&data);
        let session = reg
            .storage()
            .create_upload(&ocikit_registry::RepositoryName::parse("r").unwrap())
            .unwrap();
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "PUT /v2/r/blobs/uploads/{}?digest={digest} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
            session.id,
            data.len()
        );
        c.write_all(head.as_bytes()).await.unwrap();
        c.write_all(&data[..1000]).await.unwrap();
        let in_progress = || async {
            parse_prometheus(&reg.metrics().await)["ocikit_registry_uploads_in_progress"]
        };
        let start = Instant::now();
        while in_progress().await != 1.0 {
            assert!(start.elapsed() < BOUND, "the upload never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let deadline = if finish {
            BOUND
        } else {
            Duration::from_millis(300)
        };
        let stop = tokio::spawn(running.shutdown_with_deadline(deadline));
        if finish {
            let start = Instant::now();
            while tokio::net::TcpStream::connect(addr).await.is_ok() {
                assert!(start.elapsed() < BOUND, "still accepting");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            c.write_all(&data[1000..]).await.unwrap();
        }
        let mut reply = Vec::new();
        let _ = tokio::time::timeout(BOUND, c.read_to_end(&mut reply))
            .await
            .expect("the reply or the cut");
        let reply = String::from_utf8_lossy(&reply);
        tokio::time::timeout(BOUND, stop)
            .await
            .expect("the shutdown ends")
            .unwrap();
        let stored = reg.storage().has_any_blob(&digest).unwrap();
        if finish {
            assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
            assert!(stored);
        } else {
            assert!(
                reply.is_empty() || reply.starts_with("HTTP/1.1 503"),
                "{reply}"
            );
            assert!(!stored);
        }
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    sigterm_lets_a_slow_upload_finish_within_the_deadline,
    a_request_running_past_the_deadline_is_cut;
    async shutdown_with_deadline_drains_then_cuts,
];
