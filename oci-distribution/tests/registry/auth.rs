//! Against the real registry with authentication: htpasswd (Basic) over
//! TLS with a private CA, and token auth with a token server run by the
//! test that signs ES256 JWTs the way the registry verifies them.

use std::time::Duration;

use ocikit_distribution::{Client, ClientBuilder, Credentials, Error, Platforms, Progress};
use ocikit_image::Layout;
use ocikit_types::{ImageManifest, Raw, Reference};

use crate::real::build_image;
use testkit::auth::{basic_tls_registry, tls_files, Grant, TokenSetup, PASSWORD, SERVICE, USER};
use testkit::fault::{reply, FaultServer};
use testkit::registry::Registry;

fn reference(reg: &Registry, rest: &str) -> Reference {
    format!("{}/{rest}", reg.addr).parse().unwrap()
}

fn tls_client(reg: &Registry, ca: &str, creds: Option<Credentials>) -> Client {
    let mut b = ClientBuilder::new();
    b.add_root_certificate_pem(ca.as_bytes());
    if let Some(c) = creds {
        b.credentials(&reg.addr, c);
    }
    b.build().unwrap()
}

async fn basic_auth_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let Some((reg, ca)) = basic_tls_registry(dir.path()) else {
        return;
    };
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 100_000);
    let r = reference(&reg, "basic/app:1");

    let c = tls_client(&reg, &ca, Some(Credentials::basic(USER, PASSWORD)));
    c.ping(&r).await.unwrap();
    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    assert_eq!(c.tags(&r, None).await.unwrap(), ["1"]);
}

/// The error a refused login gives: [`Error::Auth`] naming the registry.
fn assert_refused(err: &Error, registry: &str, says: &str) {
    match err {
        Error::Auth {
            registry: r,
            reason,
            ..
        } => {
            assert_eq!(r, registry);
            assert!(reason.contains(says), "{err}");
        }
        other => panic!("expected Error::Auth, got {other:?}"),
    }
    assert!(err.to_string().contains("authentication"), "{err}");
}

async fn basic_auth_refusals_are_auth_errors() {
    let dir = tempfile::tempdir().unwrap();
    let Some((reg, ca)) = basic_tls_registry(dir.path()) else {
        return;
    };
    let r = reference(&reg, "basic/app:1");

    let wrong = tls_client(&reg, &ca, Some(Credentials::basic(USER, "wrong")));
    let err = wrong.pull_manifest(&r).await.unwrap_err();
    assert_refused(&err, &reg.addr, "refused");
    // The same again once the client knows the registry wants Basic.
    let err = wrong.pull_manifest(&r).await.unwrap_err();
    assert_refused(&err, &reg.addr, "refused");
    let err = wrong.ping(&r).await.unwrap_err();
    assert_refused(&err, &reg.addr, "refused");

    let anonymous = tls_client(&reg, &ca, None);
    let err = anonymous.pull_manifest(&r).await.unwrap_err();
    assert_refused(&err, &reg.addr, "none are configured");
}

async fn an_unknown_ca_is_a_tls_transport_error() {
    let dir = tempfile::tempdir().unwrap();
    let Some((reg, _ca)) = basic_tls_registry(dir.path()) else {
        return;
    };
    let r = reference(&reg, "basic/app:1");
    let c = ClientBuilder::new()
        .credentials(&reg.addr, Credentials::basic(USER, PASSWORD))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c.pull_manifest(&r).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    let mut chain = String::new();
    let mut e: Option<&dyn std::error::Error> = Some(&err);
    while let Some(x) = e {
        chain.push_str(&format!("{x}; "));
        e = x.source();
    }
    assert!(chain.contains("certificate"), "{chain}");
    // A certificate nobody trusts does not become trusted by retrying.
    assert!(started.elapsed() < Duration::from_secs(1), "{chain}");
}

// ---- token auth ----

/// A client builder for a [`TokenSetup`]'s registry, with its user.
trait TokenSetupExt {
    fn builder(&self) -> ClientBuilder;
}

impl TokenSetupExt for TokenSetup {
    fn builder(&self) -> ClientBuilder {
        let mut b = ClientBuilder::new();
        b.insecure_http_host(&self.reg.addr)
            .credentials(&self.reg.addr, Credentials::basic(USER, PASSWORD));
        b
    }
}

async fn token_auth_asks_for_the_right_scopes_and_caches_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = TokenSetup::start(dir.path(), 300, Grant::All).await else {
        return;
    };
    let c = t.builder().build().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 3, 50_000);
    let r = reference(&t.reg, "tok/app:1");

    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
    let after_push = t.requests();
    assert!(!after_push.is_empty());
    for tr in &after_push {
        assert_eq!(tr.service.as_deref(), Some(SERVICE));
        assert_eq!(
            tr.scopes,
            ["repository:tok/app:pull,push"],
            "{after_push:?}"
        );
    }
    assert_eq!(after_push.len(), 1, "one token for the whole push");

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    let after_pull = t.requests();
    assert_eq!(after_pull.len(), 2, "{after_pull:?}");
    assert_eq!(after_pull[1].scopes, ["repository:tok/app:pull"]);

    // A second pull reuses the cached token.
    let dst2 = Layout::create(dir.path().join("dst2")).unwrap();
    c.pull_image(&r, &dst2, &Platforms::All).await.unwrap();
    assert_eq!(t.requests().len(), 2, "{:?}", t.requests());
    // Token-server traffic never includes the registry's own requests.
    assert!(t.server.count("GET", "/token") >= 2);

    // A cross-repository mount asks for both scopes in one token.
    let m: Raw<ImageManifest> = src.read_document(&image).unwrap();
    let layer = &m.value().layers[0].digest;
    let other = reference(&t.reg, "tok/other");
    assert!(c.mount_blob(&other, "tok/app", layer).await.unwrap());
    let reqs = t.requests();
    let mount = reqs.last().unwrap();
    assert_eq!(
        mount.scopes,
        ["repository:tok/other:pull,push", "repository:tok/app:pull"],
        "{reqs:?}"
    );
    assert!(c.blob_exists(&other, layer).await.unwrap());

    // A copy within the registry mounts every blob under token auth.
    let copy = reference(&t.reg, "tok/copy:1");
    assert_eq!(
        c.copy_image(&r, &copy, &Platforms::All).await.unwrap(),
        image.digest
    );
    assert!(t
        .requests()
        .iter()
        .any(|tr| tr.scopes == ["repository:tok/copy:pull,push", "repository:tok/app:pull"]));

    // Deleting asks for the `delete` action the registry checks.
    c.delete_manifest(&copy, &image.digest).await.unwrap();
    assert!(c.head_manifest(&copy).await.unwrap().is_none());
    assert!(t
        .requests()
        .iter()
        .any(|tr| tr.scopes.contains(&"repository:tok/copy:delete".to_owned())));
}

async fn short_lived_tokens_are_renewed_during_a_push() {
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = TokenSetup::start(dir.path(), 1, Grant::All).await else {
        return;
    };
    // One blob at a time, each taking longer than a token lives.
    let c = t
        .builder()
        .concurrency(1)
        .progress(|p| {
            if matches!(p, Progress::Finished { .. }) {
                std::thread::sleep(Duration::from_millis(1200));
            }
        })
        .build()
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 3, 200_000);
    let r = reference(&t.reg, "short/app:1");
    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
    let reqs = t.requests();
    assert!(reqs.len() >= 3, "tokens were not renewed: {reqs:?}");
    assert!(reqs
        .iter()
        .all(|tr| tr.scopes == ["repository:short/app:pull,push"]));

    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
}

async fn a_refusing_token_server_is_an_auth_error() {
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = TokenSetup::start(dir.path(), 300, Grant::Refuse).await else {
        return;
    };
    let c = t.builder().build().unwrap();
    let r = reference(&t.reg, "tok/app:1");
    let err = c.pull_manifest(&r).await.unwrap_err();
    match &err {
        Error::Auth { reason, .. } => {
            assert!(reason.contains("401"), "{err}");
            assert!(reason.contains("invalid credentials"), "{err}");
        }
        other => panic!("expected Error::Auth, got {other:?}"),
    }

    // Wrong credentials against a working token server: the same.
    let Some(t) = TokenSetup::start(dir.path(), 300, Grant::All).await else {
        return;
    };
    let c = ClientBuilder::new()
        .insecure_http_host(&t.reg.addr)
        .credentials(&t.reg.addr, Credentials::basic(USER, "nope"))
        .build()
        .unwrap();
    let err = c
        .pull_manifest(&reference(&t.reg, "tok/app:1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

async fn a_token_without_the_push_action_is_an_auth_error() {
    let dir = tempfile::tempdir().unwrap();
    let Some(t) = TokenSetup::start(dir.path(), 300, Grant::PullOnly).await else {
        return;
    };
    let c = t.builder().build().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let err = c
        .push_image(&src, &image, &reference(&t.reg, "ro/app:1"))
        .await
        .unwrap_err();
    assert_refused(&err, &t.reg.addr, "insufficient_scope");
    assert!(
        err.to_string().contains("repository:ro/app:pull,push"),
        "{err}"
    );
}

async fn credentials_go_to_a_plain_http_token_realm_only_when_it_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = tls_files(dir.path());
    let tls = format!("  tls:\n    certificate: {cert}\n    key: {key}\n");
    let Some(t) = TokenSetup::start_with(dir.path(), 300, Grant::All, &tls).await else {
        return;
    };
    let r = reference(&t.reg, "tls/app:1");
    let mut b = ClientBuilder::new();
    b.add_root_certificate_pem(ca.as_bytes())
        .credentials(&t.reg.addr, Credentials::basic(USER, PASSWORD));
    let err = b.build().unwrap().pull_manifest(&r).await.unwrap_err();
    assert_refused(&err, &t.reg.addr, "plain HTTP");
    assert!(t.requests().is_empty(), "credentials were sent");

    // Marked insecure, the token server gets them; the registry stays TLS.
    b.insecure_http_host(&t.server.addr);
    let c = b.build().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    assert_eq!(t.requests().len(), 2);
}

/// Credentials stored in a docker `config.json` (as `docker login` writes
/// them) authenticate to the real registry.
async fn credentials_from_a_docker_config_file() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let Some((reg, ca)) = basic_tls_registry(dir.path()) else {
        return;
    };
    let config = dir.path().join("config.json");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    std::fs::write(
        &config,
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let c = ClientBuilder::new()
        .add_root_certificate_pem(ca.as_bytes())
        .credential_files(ocikit_distribution::CredentialFiles::new(vec![config]))
        .build()
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let r = reference(&reg, "fromfile/app:1");
    assert_eq!(c.push_image(&src, &image, &r).await.unwrap(), image.digest);
}

/// Issue 14: a credential helper that hangs runs off the runtime's
/// workers with a time limit: requests to other registries go on (this
/// test's runtime has a single thread), and the lookup ends in time.
async fn issue_14_a_hanging_credential_helper_blocks_nothing_else() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let server = FaultServer::start(|req| {
        if req.path.starts_with("/v2/a/tags/list") {
            reply(200, &[], br#"{"name":"a","tags":["1"]}"#)
        } else {
            reply(404, &[], b"")
        }
    })
    .await;
    let port = server.addr.rsplit_once(':').unwrap().1.to_owned();
    let slow_registry = format!("localhost:{port}");
    let helper = dir.path().join("docker-credential-slow");
    std::fs::write(
        &helper,
        "#!/bin/sh\nsleep 3\necho '{\"Username\":\"u\",\"Secret\":\"hunter2\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        format!(r#"{{"credHelpers":{{"{slow_registry}":"slow"}}}}"#),
    )
    .unwrap();
    let mut files = ocikit_distribution::CredentialFiles::new(vec![config]);
    files
        .helper_dir(dir.path())
        .helper_timeout(Duration::from_millis(1500));

    // The lookup alone: a typed error naming helper and registry, in time.
    let started = std::time::Instant::now();
    let err = files.lookup(&slow_registry).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(err.is_timeout(), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("docker-credential-slow"), "{text}");
    assert!(text.contains(&slow_registry), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    let c = ClientBuilder::new()
        .insecure_http_host("localhost")
        .insecure_http_host("127.0.0.1")
        .credential_files(files)
        .build()
        .unwrap();
    let slow: Reference = format!("{slow_registry}/a").parse().unwrap();
    let fast: Reference = format!("{}/a", server.addr).parse().unwrap();
    let started = std::time::Instant::now();
    let (slow_tags, fast_done) = futures_util::future::join(c.tags(&slow, None), async {
        // Let the slow request start its lookup first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tags = c.tags(&fast, None).await.unwrap();
        (tags, started.elapsed())
    })
    .await;
    assert_eq!(fast_done.0, ["1"]);
    assert!(
        fast_done.1 < Duration::from_millis(1000),
        "the other registry waited {:?}",
        fast_done.1
    );
    // The slow registry went on anonymously once its helper timed out.
    assert_eq!(slow_tags.unwrap(), ["1"]);
    assert!(started.elapsed() < Duration::from_millis(2900));
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async basic_auth_over_tls_with_a_private_ca, basic_auth_refusals_are_auth_errors, an_unknown_ca_is_a_tls_transport_error, token_auth_asks_for_the_right_scopes_and_caches_tokens, short_lived_tokens_are_renewed_during_a_push, a_refusing_token_server_is_an_auth_error, a_token_without_the_push_action_is_an_auth_error, credentials_go_to_a_plain_http_token_realm_only_when_it_is_marked, credentials_from_a_docker_config_file, issue_14_a_hanging_credential_helper_blocks_nothing_else];
