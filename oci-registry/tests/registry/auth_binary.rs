//! Access control of the `ocikit-registry` binary, set by its
//! configuration file: the conformance suite with Basic and with token
//! auth, and no credentials in its log at debug level.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::auth::{basic, PASSWORD, USER};
use crate::support::http;

pub(crate) fn htpasswd_file(dir: &Path) -> String {
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let path = dir.join("htpasswd");
    std::fs::write(&path, format!("{USER}:{hash}\n")).unwrap();
    path.display().to_string()
}

/// A PKCS#8 P-256 key in PEM, for the built-in token service.
pub(crate) fn signing_key(dir: &Path) -> String {
    use base64::Engine as _;
    let rng = ring::rand::SystemRandom::new();
    let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &rng,
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(doc.as_ref());
    let path = dir.join("token.key");
    std::fs::write(
        &path,
        format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n"),
    )
    .unwrap();
    path.display().to_string()
}

fn the_conformance_suite_passes_with_basic_auth() {
    crate::conformance::run_suite(
        |dir, _| {
            format!(
                "auth:\n  htpasswd:\n    realm: conformance\n    path: {}\n",
                htpasswd_file(dir)
            )
        },
        &[("OCI_USERNAME", USER), ("OCI_PASSWORD", PASSWORD)],
    );
}

fn the_conformance_suite_passes_with_token_auth() {
    crate::conformance::run_suite(
        |dir, port| {
            format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{port}/auth/token\n    service: conformance\n    issuer: ocikit\n  ocikit:\n    signingkey: {}\n    users: {}\n",
                signing_key(dir),
                htpasswd_file(dir)
            )
        },
        &[("OCI_USERNAME", USER), ("OCI_PASSWORD", PASSWORD)],
    );
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The binary serving `auth_yaml` on a free port at debug level, its log
/// going to `log`.
fn serve(dir: &Path, auth_yaml: impl Fn(u16) -> String, log: &Path) -> (Server, u16) {
    let port = testkit::registry::free_port();
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: debug\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{}",
            dir.join("data").display(),
            auth_yaml(port)
        ),
    )
    .unwrap();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_ocikit-registry"))
            .arg("serve")
            .arg(&config)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

async fn credentials_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let users = htpasswd_file(dir.path());
    let key = signing_key(dir.path());
    let secret = "hunter2-never-logged";
    let mut leaked = vec![secret.to_owned(), PASSWORD.to_owned()];
    let configs = [
        format!("auth:\n  htpasswd:\n    realm: r\n    path: {users}\n"),
        format!("auth:\n  token:\n    realm: http://127.0.0.1:PORT/auth/token\n    service: s\n    issuer: i\n  ocikit:\n    signingkey: {key}\n    users: {users}\n"),
    ];
    for (i, yaml) in configs.iter().enumerate() {
        let log = dir.path().join(format!("server{i}.log"));
        let (server, port) = serve(dir.path(), |p| yaml.replace("PORT", &p.to_string()), &log);
        let base = format!("http://127.0.0.1:{port}");
        let h = http();
        for auth in [
            basic(USER, secret),
            basic(USER, PASSWORD),
            basic(secret, secret),
        ] {
            leaked.push(auth.clone());
            for path in [
                "/v2/",
                "/v2/a/manifests/v1",
                "/auth/token?scope=repository:a:pull",
            ] {
                let _ = h
                    .get(format!("{base}{path}"))
                    .header("authorization", &auth)
                    .send()
                    .await;
            }
        }
        let resp = h
            .get(format!(
                "{base}/auth/token?service=s&scope=repository:a:pull"
            ))
            .header("authorization", basic(USER, PASSWORD))
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            let body: serde_json::Value = resp.json().await.unwrap();
            let token = body["token"].as_str().unwrap().to_owned();
            let resp = h
                .get(format!("{base}/v2/a/manifests/v1"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 404);
            leaked.push(token);
        }
        drop(server);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("request"),
            "nothing logged at debug level: {text}"
        );
        for l in &leaked {
            let needle = l.trim_start_matches("Basic ");
            assert!(!text.contains(needle), "{needle:?} is in the log:\n{text}");
        }
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    the_conformance_suite_passes_with_basic_auth,
    the_conformance_suite_passes_with_token_auth; async
    credentials_never_reach_the_log,
];
