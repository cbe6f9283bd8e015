//! docker-registry with authentication: htpasswd Basic auth over TLS
//! with a private CA, and token auth with a token server of our own that
//! signs ES256 JWTs the way Distribution verifies them (see
//! `shared/HOST.md`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};

use crate::fault::{reply, FaultServer, Request};
use crate::registry::Registry;

/// The user the registries and the token server accept.
pub const USER: &str = "alice";
/// [`USER`]'s password.
pub const PASSWORD: &str = "correct horse";

/// A test CA and a leaf for 127.0.0.1 signed by it, written to `dir`.
/// Returns the CA's PEM and the leaf's certificate and key paths.
pub fn tls_files(dir: &Path) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ocikit test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca.self_signed(&ca_key).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    leaf.distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf = leaf.signed_by(&leaf_key, &ca, &ca_key).unwrap();

    let cert = dir.join("leaf.pem");
    let key = dir.join("leaf.key");
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (
        ca.pem(),
        cert.display().to_string(),
        key.display().to_string(),
    )
}

/// A registry serving TLS with a leaf of a fresh CA and asking for
/// htpasswd Basic auth. Returns it with the CA's PEM.
pub fn basic_tls_registry(dir: &Path) -> Option<(Registry, String)> {
    let (ca, cert, key) = tls_files(dir);
    let htpasswd = dir.join("htpasswd");
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    std::fs::write(&htpasswd, format!("{USER}:{hash}\n")).unwrap();
    let reg = Registry::start_with(&format!(
        "  tls:\n    certificate: {cert}\n    key: {key}\nauth:\n  htpasswd:\n    realm: ocikit-test\n    path: {}\n",
        htpasswd.display()
    ))?;
    Some((reg, ca))
}

/// The `service` the registry names in its challenges.
pub const SERVICE: &str = "ocikit-test-registry";
/// The issuer of the tokens.
pub const ISSUER: &str = "ocikit-test-issuer";

/// A token request as the token server saw it.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The `service` parameter.
    pub service: Option<String>,
    /// Every `scope` asked for.
    pub scopes: Vec<String>,
}

/// What the token server grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Every action asked for.
    All,
    /// Only `pull`, whatever was asked.
    PullOnly,
    /// Nothing: 401 to everyone.
    Refuse,
}

/// A token server signing ES256 JWTs, and a registry trusting it.
#[derive(Debug)]
pub struct TokenSetup {
    /// The registry.
    pub reg: Registry,
    /// The token server.
    pub server: FaultServer,
    seen: Arc<Mutex<Vec<TokenRequest>>>,
}

impl TokenSetup {
    /// `lifetime` is the tokens' `expires_in` (and their `exp`).
    pub async fn start(dir: &Path, lifetime: u64, grant: Grant) -> Option<TokenSetup> {
        TokenSetup::start_with(dir, lifetime, grant, "").await
    }

    /// As [`TokenSetup::start`], with `http_yaml` added to the registry's
    /// `http` section (for TLS).
    pub async fn start_with(
        dir: &Path,
        lifetime: u64,
        grant: Grant,
        http_yaml: &str,
    ) -> Option<TokenSetup> {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "ocikit test token signer");
        let cert = p.self_signed(&key).unwrap();
        let bundle = dir.join("token-signer.pem");
        std::fs::write(&bundle, cert.pem()).unwrap();

        let rng = ring::rand::SystemRandom::new();
        let signer = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.serialize_der(),
            &rng,
        )
        .unwrap();
        let x5c = base64::engine::general_purpose::STANDARD.encode(cert.der());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let jti = AtomicU64::new(0);
        let server = FaultServer::start(move |req: &Request| {
            let mut tr = TokenRequest {
                service: None,
                scopes: Vec::new(),
            };
            for (k, v) in query_pairs(&req.path) {
                match &*k {
                    "service" => tr.service = Some(v),
                    "scope" => tr.scopes.extend(v.split(' ').map(str::to_owned)),
                    _ => {}
                }
            }
            record.lock().unwrap().push(tr.clone());
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
            );
            if grant == Grant::Refuse || req.headers.get("authorization") != Some(&expected) {
                return reply(401, &[], br#"{"details":"invalid credentials"}"#);
            }
            let access: Vec<serde_json::Value> = tr
                .scopes
                .iter()
                .filter_map(|s| {
                    let (typ, rest) = s.split_once(':')?;
                    let (name, mut actions) = rest.rsplit_once(':')?;
                    if grant == Grant::PullOnly {
                        actions = "pull";
                    }
                    Some(serde_json::json!({
                        "type": typ,
                        "name": name,
                        "actions": actions.split(',').collect::<Vec<_>>(),
                    }))
                })
                .collect();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
            let claims = serde_json::json!({
                "iss": ISSUER,
                "sub": USER,
                "aud": SERVICE,
                "exp": now + lifetime,
                "nbf": now - 1,
                "iat": now,
                "jti": jti.fetch_add(1, Ordering::SeqCst).to_string(),
                "access": access,
            });
            let signing_input = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let sig = signer.sign(&rng, signing_input.as_bytes()).unwrap();
            let token = format!("{signing_input}.{}", b64(sig.as_ref()));
            let body = serde_json::json!({
                "token": token,
                "access_token": token,
                "expires_in": lifetime,
            });
            reply(
                200,
                &[("content-type", "application/json")],
                body.to_string().as_bytes(),
            )
        })
        .await;
        let reg = Registry::start_with(&format!(
            "{http_yaml}auth:\n  token:\n    realm: http://{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            server.addr,
            bundle.display()
        ))?;
        Some(TokenSetup { reg, server, seen })
    }

    /// Every token request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.seen.lock().unwrap().clone()
    }
}

/// The decoded `name=value` pairs of a request path's query
/// (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte).
fn query_pairs(path: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() && s.is_char_boundary(i + 3) => {
                    match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    path.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
