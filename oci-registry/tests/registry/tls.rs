//! TLS: ocikit's client and skopeo pushing and pulling over HTTPS with a
//! private CA, HTTP/2 by ALPN, the binary reloading its certificate on
//! SIGHUP, and the conformance suite over TLS.

use std::process::Command;
use std::time::{Duration, Instant};

use ocikit_distribution::{ClientBuilder, Platforms};
use ocikit_image::Layout;
use ocikit_registry::{Http2, Registry};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::served::Served;
use crate::support::build_image;

/// A reqwest client trusting `ca` (PEM) only, recording the peer's
/// certificate.
fn https(ca: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .tls_info(true)
        .timeout(Duration::from_secs(30))
}

fn peer_certificate(resp: &reqwest::Response) -> Vec<u8> {
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .unwrap()
        .to_vec()
}

fn der(pem_file: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(pem_file).unwrap().to_vec()
}

async fn ocikit_client_pushes_and_pulls_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = testkit::auth::tls_files(dir.path());
    let reg = Registry::builder()
        .tls(&cert, &key)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    assert_eq!(reg.url(), format!("https://{}", reg.host()));
    let client = ClientBuilder::new()
        .add_root_certificate_pem(ca.as_bytes())
        .build()
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 200_000);
    let r = format!("{}/tls/app:1", reg.host()).parse().unwrap();
    assert_eq!(
        client.push_image(&src, &image, &r).await.unwrap(),
        image.digest
    );
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = client.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    assert!(dst.verify().unwrap().is_ok());
    // A client that does not trust the CA is refused by its own TLS.
    let stranger = ClientBuilder::new().build().unwrap();
    assert!(stranger.ping(&r).await.is_err());
    reg.shutdown().await;
}

async fn http2_is_negotiated_by_alpn_unless_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = testkit::auth::tls_files(dir.path());
    for (http2, expected) in [
        (Http2::Enabled, reqwest::Version::HTTP_2),
        (Http2::Disabled, reqwest::Version::HTTP_11),
    ] {
        let reg = Registry::builder()
            .tls(&cert, &key)
            .http2(http2)
            .spawn("127.0.0.1:0")
            .await
            .unwrap();
        let resp = https(&ca)
            .build()
            .unwrap()
            .get(format!("{}/v2/", reg.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), expected, "{http2:?}");
        assert_eq!(peer_certificate(&resp), der(&cert));
        // HTTP/1.1 stays available to clients that only speak it.
        let resp = https(&ca)
            .http1_only()
            .build()
            .unwrap()
            .get(format!("{}/v2/", reg.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.version(), reqwest::Version::HTTP_11);
        reg.shutdown().await;
    }
    // Plain TCP: HTTP/2 with prior knowledge (h2c).
    let reg = Registry::builder().spawn("127.0.0.1:0").await.unwrap();
    let resp = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
        .get(format!("{}/v2/", reg.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (resp.status().as_u16(), resp.version()),
        (200, reqwest::Version::HTTP_2)
    );
}

async fn skopeo_pushes_and_pulls_over_tls() {
    if !testkit::need::tool("skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = testkit::auth::tls_files(dir.path());
    let certs = dir.path().join("certs.d");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("ca.crt"), &ca).unwrap();
    let reg = Registry::builder()
        .tls(&cert, &key)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 100_000);
    src.tag("v1", image.clone()).unwrap();
    let remote = format!("docker://{}/tls/skopeo:v1", reg.host());
    let back = dir.path().join("back");
    let certs = certs.display().to_string();
    let steps = [
        vec![
            "--dest-cert-dir".to_owned(),
            certs.clone(),
            format!("oci:{}:v1", src.path().display()),
            remote.clone(),
        ],
        vec![
            "--src-cert-dir".to_owned(),
            certs,
            remote,
            format!("oci:{}:got", back.display()),
        ],
    ];
    for step in steps {
        let out = tokio::task::spawn_blocking(move || {
            Command::new("skopeo")
                .args(["copy", "--quiet", "--preserve-digests"])
                .args(&step)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let back = Layout::open(&back).unwrap();
    assert_eq!(back.resolve("got").unwrap().digest, image.digest);
    reg.shutdown().await;
}

async fn sighup_reloads_the_certificate_and_keeps_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let (ca_a, cert_a, key_a) = testkit::auth::tls_files(&a);
    let (ca_b, cert_b, key_b) = testkit::auth::tls_files(&b);
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::copy(&cert_a, &cert).unwrap();
    std::fs::copy(&key_a, &key).unwrap();
    let server = Served::start(
        dir.path(),
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        ),
    );
    let url = format!("https://{}/v2/", server.host());
    let old = https(&ca_a).build().unwrap();
    let resp = old.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(peer_certificate(&resp), der(&cert_a));

    std::fs::copy(&key_b, &key).unwrap();
    std::fs::copy(&cert_b, &cert).unwrap();
    server.signal(rustix::process::Signal::HUP);
    let fresh = || async {
        let client = https(&ca_b).build().unwrap();
        client.get(&url).send().await
    };
    let start = Instant::now();
    let resp = loop {
        match fresh().await {
            Ok(resp) => break resp,
            Err(e) => assert!(
                start.elapsed() < Duration::from_secs(20),
                "the new certificate is not served: {e:?}\n{}",
                server.log_text()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(peer_certificate(&resp), der(&cert_b));
    // The old connection was kept: this client trusts only the first CA,
    // so a new connection would fail.
    let resp = old.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(peer_certificate(&resp), der(&cert_a));

    // A bad file: the reload fails, says why, and the certificate stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    server.signal(rustix::process::Signal::HUP);
    let start = Instant::now();
    while !server.log_text().contains("the previous certificate stays") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(server.log_text().contains(&format!(
        "{} does not hold PEM certificates",
        cert.display()
    )));
    let resp = fresh().await.unwrap();
    assert_eq!(peer_certificate(&resp), der(&cert_b));
}

fn the_conformance_suite_passes_over_tls() {
    let Some(suite) = crate::conformance::suite() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = testkit::auth::tls_files(dir.path());
    // The suite's OCI_TLS=insecure still verifies here; it trusts the CA
    // through Go's SSL_CERT_FILE instead.
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let server = Served::start(
        dir.path(),
        &format!("  tls:\n    certificate: {cert}\n    key: {key}\n"),
    );
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let mut cmd = Command::new(&suite);
    for (k, _) in std::env::vars() {
        if k.starts_with("OCI_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(&results)
        .env("OCI_REGISTRY", server.host())
        .env("OCI_TLS", "enabled")
        .env("SSL_CERT_FILE", &ca_file)
        .env("OCI_REPO1", "conformance/repo1")
        .env("OCI_REPO2", "conformance/repo2")
        .env("OCI_VERSION", "1.1")
        .env("OCI_RESULTS_DIR", &results)
        .env("OCI_LOG", "error");
    for api in [
        "PULL",
        "PUSH",
        "TAGS_LIST",
        "TAGS_DELETE",
        "MANIFESTS_DELETE",
        "BLOBS_DELETE",
        "REFERRER",
        "BLOBS_UPLOAD_CANCEL",
        "BLOBS_DIGEST_HEADER",
        "MANIFESTS_DIGEST_HEADER",
        "MANIFESTS_TAG_PARAM",
    ] {
        cmd.env(format!("OCI_API_{api}"), "true");
    }
    let out = cmd.output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let count = |name| crate::conformance::count(&report, name);
    println!(
        "conformance over TLS: {:?} passed, {:?} failed, {:?} errors",
        count("Pass"),
        count("FAIL"),
        count("Error")
    );
    assert!(
        out.status.success()
            && count("FAIL") == Some(0)
            && count("Error") == Some(0)
            && count("Pass").unwrap_or(0) > 800,
        "the conformance suite over TLS failed (exit {:?}):\n{}",
        out.status.code(),
        report
            .lines()
            .filter(|l| l.contains("FAIL"))
            .take(40)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    the_conformance_suite_passes_over_tls;
    async ocikit_client_pushes_and_pulls_over_tls,
    http2_is_negotiated_by_alpn_unless_disabled,
    skopeo_pushes_and_pulls_over_tls,
    sighup_reloads_the_certificate_and_keeps_connections,
];
