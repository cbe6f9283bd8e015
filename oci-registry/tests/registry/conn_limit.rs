//! The caps on open connections: at the total cap the listener holds new
//! clients back until a connection closes; over a client address's cap
//! the connection is closed at once, and other addresses are served.

use std::time::{Duration, Instant};

use ocikit_registry::{Limits, Registry, RunningRegistry};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

async fn spawn(total: Option<u32>, per_client: Option<u32>) -> RunningRegistry {
    let mut limits = Limits::default();
    limits.max_connections = total;
    limits.connections_per_client = per_client;
    Registry::builder()
        .limits(limits)
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// Connects from the loopback address `from` (any of 127.0.0.0/8).
async fn connect_from(reg: &RunningRegistry, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(reg.addr()).await.unwrap()
}

/// Waits (at most 20 s) until the registry has `n` connections open.
async fn open(reg: &RunningRegistry, n: usize) {
    let start = Instant::now();
    while reg.connections() != n {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} connections open, not {n}",
            reg.connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a ping and returns the reply's first bytes; empty when the
/// server closed the connection without one.
async fn ping(conn: &mut TcpStream) -> String {
    let _ = conn
        .write_all(b"GET /v2/ HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
        .await
        .expect("no reply and the connection stays open")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

async fn at_the_total_cap_new_connections_wait_for_a_free_one() {
    let reg = spawn(Some(2), None).await;
    let mut a = TcpStream::connect(reg.addr()).await.unwrap();
    let _b = TcpStream::connect(reg.addr()).await.unwrap();
    open(&reg, 2).await;
    // The third connects (the kernel's backlog) but is not served...
    let mut c = TcpStream::connect(reg.addr()).await.unwrap();
    c.write_all(b"GET /v2/ HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), c.read(&mut buf)).await;
    assert!(early.is_err(), "a connection over the cap was served");
    assert_eq!(reg.connections(), 2);
    // ...until another closes. The ones open are served meanwhile.
    assert!(ping(&mut a).await.starts_with("HTTP/1.1 200"));
    drop(a);
    let n = tokio::time::timeout(Duration::from_secs(20), c.read(&mut buf))
        .await
        .expect("the waiting connection was never served")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

async fn over_a_clients_cap_connections_are_closed_and_others_served() {
    let reg = spawn(None, Some(2)).await;
    let mut a = connect_from(&reg, "127.0.0.1").await;
    let mut b = connect_from(&reg, "127.0.0.1").await;
    open(&reg, 2).await;
    let mut c = connect_from(&reg, "127.0.0.1").await;
    assert_eq!(ping(&mut c).await, "", "the third connection was served");
    // Another address has its own count.
    let mut d = connect_from(&reg, "127.0.0.2").await;
    assert!(ping(&mut d).await.starts_with("HTTP/1.1 200"));
    assert!(ping(&mut a).await.starts_with("HTTP/1.1 200"));
    assert!(ping(&mut b).await.starts_with("HTTP/1.1 200"));
    // A closed connection gives its place back.
    drop(a);
    open(&reg, 2).await;
    let mut e = connect_from(&reg, "127.0.0.1").await;
    assert!(ping(&mut e).await.starts_with("HTTP/1.1 200"));
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async at_the_total_cap_new_connections_wait_for_a_free_one,
    over_a_clients_cap_connections_are_closed_and_others_served,
];
