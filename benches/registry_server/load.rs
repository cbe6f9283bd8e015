//! Manifest requests under load: GET with `wrk`, HEAD with a small
//! client of our own (wrk waits for a body after a HEAD reply that has a
//! `Content-Length`, so it cannot measure HEAD).

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The media type the bench image's manifest was pushed with; Distribution
/// answers 404 to a GET that does not accept it.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const CONNECTIONS: usize = 32;
pub(crate) const DURATION: Duration = Duration::from_secs(10);

/// Requests per second and latency percentiles of one load run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) rps: f64,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
}

/// `wrk --latency` with 2 threads and [`CONNECTIONS`] connections for
/// [`DURATION`] against `url`.
pub(crate) fn wrk_get(url: &str) -> Load {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{}s", DURATION.as_secs()),
            "--latency",
            "-H",
            &format!("Accept: {ACCEPT}"),
            url,
        ])
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw failed requests:\n{text}"
    );
    let field = |prefix: &str| -> &str {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix:?} in wrk's output:\n{text}"))
            .trim()
    };
    Load {
        rps: field("Requests/sec:").parse().unwrap(),
        p50: wrk_time(field("50%")),
        p99: wrk_time(field("99%")),
    }
}

/// wrk's `12.34ms`, `567.00us`, `1.20s`.
fn wrk_time(s: &str) -> Duration {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    let v: f64 = num.parse().unwrap();
    Duration::from_secs_f64(match unit {
        "us" => v / 1e6,
        "ms" => v / 1e3,
        "s" => v,
        "m" => v * 60.0,
        other => panic!("wrk time unit {other:?}"),
    })
}

/// [`CONNECTIONS`] keep-alive connections sending `HEAD path` one after
/// the other for [`DURATION`]; every reply must be 200.
pub(crate) async fn head(addr: &str, path: &str) -> Load {
    let req = format!("HEAD {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: {ACCEPT}\r\n\r\n");
    let start = Instant::now();
    let deadline = start + DURATION;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (addr, req) = (addr.to_owned(), req.clone());
            tokio::spawn(async move {
                let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = vec![0u8; 8192];
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    s.write_all(req.as_bytes()).await.unwrap();
                    let mut n = 0;
                    while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        let k = s.read(&mut buf[n..]).await.unwrap();
                        assert!(k > 0, "the server closed the connection");
                        n += k;
                    }
                    assert!(
                        buf.starts_with(b"HTTP/1.1 200"),
                        "HEAD answered {}",
                        String::from_utf8_lossy(&buf[..n])
                    );
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    Load {
        rps: times.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}
