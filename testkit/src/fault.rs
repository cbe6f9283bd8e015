//! A fault-injecting HTTP/1.1 server on loopback, for the faults a real
//! registry will not produce: 429 storms, 5xx then success, cut
//! connections, lying digests, huge bodies, cross-host redirects, missing
//! headers, refused uploads, answers that never come or stall mid-body.
//! Each test gives it a handler from [`Request`] to [`Reply`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    /// Header names in lower case, with their values.
    pub headers: HashMap<String, String>,
    /// The whole request body.
    pub body: Vec<u8>,
}

/// What to answer.
#[derive(Debug)]
pub enum Reply {
    /// Status, headers, body.
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Send headers announcing `declared` bytes, then only `body`, then
    /// close the connection.
    Cut(u16, Vec<(String, String)>, Vec<u8>, usize),
    /// Never answer, keeping the connection open.
    Hang,
    /// Send headers announcing `declared` bytes, then only `body`, then
    /// nothing more, keeping the connection open.
    Stall(u16, Vec<(String, String)>, Vec<u8>, usize),
}

/// A [`Reply::Full`] with `headers` and `body`.
pub fn reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Reply::Full(
        status,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body.to_vec(),
    )
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running fault server; records every request.
#[derive(Debug)]
pub struct FaultServer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Every request so far, in order.
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl FaultServer {
    /// Listens on a free loopback port and answers every request with
    /// `handler`, on tasks of the current tokio runtime, until the
    /// runtime ends.
    pub async fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Handler = Arc::new(handler);
        let recorded = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        // Read one request (headers, then a Content-Length body).
                        let head_end = loop {
                            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break p;
                            }
                            let mut chunk = [0u8; 8192];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                        let mut lines = head.split("\r\n");
                        let mut first = lines.next().unwrap_or("").split(' ');
                        let method = first.next().unwrap_or("").to_owned();
                        let path = first.next().unwrap_or("").to_owned();
                        let headers: HashMap<String, String> = lines
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                            .collect();
                        let len: usize = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let chunked = headers
                            .get("transfer-encoding")
                            .is_some_and(|v| v.contains("chunked"));
                        let mut rest = buf.split_off(head_end + 4);
                        let body = if chunked {
                            // Decode chunked bodies (streamed uploads).
                            let mut body = Vec::new();
                            loop {
                                let Some(p) = rest.windows(2).position(|w| w == b"\r\n") else {
                                    let mut chunk = [0u8; 65536];
                                    match sock.read(&mut chunk).await {
                                        Ok(0) | Err(_) => return,
                                        Ok(n) => rest.extend_from_slice(&chunk[..n]),
                                    }
                                    continue;
                                };
                                let size = usize::from_str_radix(
                                    String::from_utf8_lossy(&rest[..p]).trim(),
                                    16,
                                )
                                .unwrap_or(0);
                                while rest.len() < p + 2 + size + 2 {
                                    let mut chunk = [0u8; 65536];
                                    match sock.read(&mut chunk).await {
                                        Ok(0) | Err(_) => return,
                                        Ok(n) => rest.extend_from_slice(&chunk[..n]),
                                    }
                                }
                                body.extend_from_slice(&rest[p + 2..p + 2 + size]);
                                rest.drain(..p + 2 + size + 2);
                                if size == 0 {
                                    break;
                                }
                            }
                            body
                        } else {
                            while rest.len() < len {
                                let mut chunk = [0u8; 65536];
                                match sock.read(&mut chunk).await {
                                    Ok(0) | Err(_) => return,
                                    Ok(n) => rest.extend_from_slice(&chunk[..n]),
                                }
                            }
                            let body = rest[..len].to_vec();
                            rest.drain(..len);
                            body
                        };
                        buf = rest;
                        let req = Request {
                            method,
                            path,
                            headers,
                            body,
                        };
                        recorded.lock().unwrap().push(req.clone());
                        let mut stall = false;
                        let (status, hdrs, body, cut) = match handler(&req) {
                            Reply::Full(s, h, b) => {
                                let n = b.len();
                                (s, h, b, n)
                            }
                            Reply::Cut(s, h, b, declared) => (s, h, b, declared),
                            Reply::Hang => {
                                std::future::pending::<()>().await;
                                return;
                            }
                            Reply::Stall(s, h, b, declared) => {
                                stall = true;
                                (s, h, b, declared)
                            }
                        };
                        let mut out = format!("HTTP/1.1 {status} X\r\n");
                        let has_len = hdrs
                            .iter()
                            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
                        for (k, v) in &hdrs {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        if !has_len {
                            out.push_str(&format!("content-length: {cut}\r\n"));
                        }
                        out.push_str("\r\n");
                        if sock.write_all(out.as_bytes()).await.is_err() {
                            return;
                        }
                        if req.method != "HEAD" && sock.write_all(&body).await.is_err() {
                            return;
                        }
                        if stall {
                            let _ = sock.flush().await;
                            std::future::pending::<()>().await;
                        }
                        if cut != body.len() || req.method == "HEAD" && cut == usize::MAX {
                            let _ = sock.shutdown().await;
                            return;
                        }
                    }
                });
            }
        });
        FaultServer { addr, requests }
    }

    /// How many requests so far had `method` and a path starting with
    /// `path_prefix`.
    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }
}
