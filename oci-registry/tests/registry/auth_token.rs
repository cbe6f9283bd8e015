//! Token auth: the built-in token service end to end with ocikit's
//! client, skopeo and podman; tokens of an external service (testkit's
//! ES256 token server, which docker-registry trusts too).

use std::process::Command;

use ocikit_distribution::Platforms;
use ocikit_image::Layout;
use ocikit_registry::{Access, Action, Registry, RunningRegistry, TokenAuth, TokenService};
use testkit::auth::{Grant, TokenSetup, ISSUER, SERVICE};

use crate::auth::{alice_all_bob_pulls, basic, client_as, users, BOB_PASSWORD, PASSWORD, USER};
use crate::peer::{containers_env, ok, unmount_under};
use crate::support::{build_image, error_code, http, reference};

/// A registry on a free port with the built-in token service as realm.
async fn token_registry() -> RunningRegistry {
    token_registry_with(alice_all_bob_pulls()).await
}

async fn token_registry_with(access: Access) -> RunningRegistry {
    let port = testkit::registry::free_port();
    let mut auth = TokenAuth::new(
        &format!("http://127.0.0.1:{port}/auth/token"),
        SERVICE,
        ISSUER,
    );
    auth.token_service(TokenService::generate(users()).unwrap());
    Registry::builder()
        .token_auth(auth)
        .access(access)
        .spawn(&format!("127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// A token from the built-in service.
async fn token(reg: &RunningRegistry, auth: Option<&str>, scope: &str) -> (u16, String) {
    let url = format!("{}/auth/token?service={SERVICE}&scope={scope}", reg.url());
    let mut rq = http().get(url);
    if let Some(a) = auth {
        rq = rq.header("authorization", a);
    }
    let resp = rq.send().await.unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    (
        status,
        body["token"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn the_built_in_token_service_grants_what_the_rules_allow() {
    let reg = token_registry().await;
    let (h, base) = (http(), reg.url());
    let resp = h.get(format!("{base}/v2/")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let realm = format!("Bearer realm=\"{base}/auth/token\",service=\"{SERVICE}\"");
    assert_eq!(resp.headers()["www-authenticate"], realm.as_str());
    let resp = h
        .get(format!("{base}/v2/team/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!("{realm},scope=\"repository:team/app:pull\"").as_str()
    );
    assert_eq!(error_code(resp).await, "UNAUTHORIZED");

    // alice pushes, pulls, lists and deletes with ocikit's client.
    let alice = client_as(&reg, USER, PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 50_000);
    let r = reference(&reg, "team/app:v1");
    alice.push_image(&src, &image, &r).await.unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    assert_eq!(
        alice
            .pull_image(&r, &dst, &Platforms::All)
            .await
            .unwrap()
            .digest,
        image.digest
    );
    assert_eq!(alice.catalog(&r, None).await.unwrap(), ["team/app"]);

    // bob gets a pull-only token, so his push is DENIED.
    let bob = basic("bob", BOB_PASSWORD);
    let (status, t) = token(&reg, Some(&bob), "repository:team/app:pull,push").await;
    assert_eq!(status, 200);
    let resp = h
        .post(format!("{base}/v2/team/app/blobs/uploads/"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(error_code(resp).await, "DENIED");
    let resp = h
        .get(format!("{base}/v2/team/app/manifests/v1"))
        .bearer_auth(&t)
        .header("accept", image.media_type.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bob_client = client_as(&reg, "bob", BOB_PASSWORD);
    let other = build_image(&src, "arm64", 1, 1000);
    assert!(bob_client.push_image(&src, &other, &r).await.is_err());

    // Wrong credentials get no token; a token for another repository or a
    // forged one does not open this one.
    assert_eq!(
        token(&reg, Some(&basic(USER, "nope")), "repository:team/app:pull")
            .await
            .0,
        401
    );
    let (_, elsewhere) = token(&reg, Some(&basic(USER, PASSWORD)), "repository:other:pull").await;
    let (_, anonymous) = token(&reg, None, "repository:team/app:pull").await;
    let mut forged = elsewhere.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    for (t, error) in [
        (elsewhere, "insufficient_scope"),
        (anonymous, "insufficient_scope"),
        (forged, "invalid_token"),
        ("not-a-jwt".to_owned(), "invalid_token"),
    ] {
        let resp = h
            .get(format!("{base}/v2/team/app/manifests/v1"))
            .bearer_auth(&t)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.ends_with(&format!(",error=\"{error}\"")),
            "{challenge}"
        );
    }
    alice.delete_manifest(&r, &image.digest).await.unwrap();
}

async fn token_mounts_need_pull_on_their_source() {
    let mut access = Access::new();
    access
        .allow(USER, "**", &Action::ALL)
        .allow("bob", "bob/**", &[Action::Pull, Action::Push]);
    let reg = token_registry_with(access).await;
    let (h, base) = (http(), reg.url());
    let data = crate::support::noise(2048, 3);
    let digest = ocikit_types::Digest::sha256(&data);
    let alice = basic(USER, PASSWORD);
    let (_, t) = token(&reg, Some(&alice), "repository:secret/app:pull,push").await;
    let resp = h
        .post(format!(
            "{base}/v2/secret/app/blobs/uploads/?digest={digest}"
        ))
        .bearer_auth(&t)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let mount =
        |repo: &str| format!("{base}/v2/{repo}/blobs/uploads/?mount={digest}&from=secret/app");
    let post = |url: String, t: String| {
        let h = h.clone();
        async move { h.post(url).bearer_auth(t).send().await.unwrap() }
    };
    // bob asks for pull on the source too, but may not have it: a session.
    let bob = basic("bob", BOB_PASSWORD);
    let (_, t) = token(
        &reg,
        Some(&bob),
        "repository:bob/app:pull,push+repository:secret/app:pull",
    )
    .await;
    let resp = post(mount("bob/app"), t).await;
    assert_eq!(resp.status(), 202);
    // alice's token lacks pull on the source, which she may have: 401,
    // asking for both scopes; with them, the blob is mounted.
    let (_, t) = token(&reg, Some(&alice), "repository:alice/app:pull,push").await;
    let resp = post(mount("alice/app"), t).await;
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("scope=\"repository:alice/app:pull,push repository:secret/app:pull\""),
        "{challenge}"
    );
    let (_, t) = token(
        &reg,
        Some(&alice),
        "repository:alice/app:pull,push+repository:secret/app:pull",
    )
    .await;
    assert_eq!(post(mount("alice/app"), t).await.status(), 201);
}

/// testkit's token server (the one docker-registry trusts) as an external
/// issuer: ocikit-registry checks its x5c-signed tokens.
async fn tokens_of_an_external_service_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for (grant, push_ok) in [(Grant::All, true), (Grant::PullOnly, false)] {
        let sub = dir.path().join(format!("{grant:?}"));
        std::fs::create_dir_all(&sub).unwrap();
        let Some(setup) = TokenSetup::start(&sub, 300, grant).await else {
            return;
        };
        let mut auth = TokenAuth::new(
            &format!("http://{}/token", setup.server.addr),
            SERVICE,
            ISSUER,
        );
        auth.trust_certificate_file(sub.join("token-signer.pem"))
            .unwrap();
        let reg = Registry::builder()
            .token_auth(auth)
            .spawn("127.0.0.1:0")
            .await
            .unwrap();
        let c = client_as(&reg, USER, PASSWORD);
        let src = Layout::create(sub.join("src")).unwrap();
        let image = build_image(&src, "amd64", 1, 20_000);
        let r = reference(&reg, "ext/app:v1");
        let pushed = c.push_image(&src, &image, &r).await;
        assert_eq!(pushed.is_ok(), push_ok, "{grant:?}: {pushed:?}");
        if push_ok {
            let dst = Layout::create(sub.join("dst")).unwrap();
            c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
        } else {
            let e = pushed.unwrap_err().to_string();
            assert!(e.contains("insufficient_scope"), "{e}");
        }
        assert!(setup.requests().iter().any(|t| t
            .scopes
            .iter()
            .any(|s| s.starts_with("repository:ext/app:"))));
        // A registry trusting another signer refuses the same tokens.
        let other = tempfile::tempdir().unwrap();
        let Some(stranger) = TokenSetup::start(other.path(), 300, Grant::All).await else {
            return;
        };
        let mut auth = TokenAuth::new(
            &format!("http://{}/token", setup.server.addr),
            SERVICE,
            ISSUER,
        );
        auth.trust_certificate_file(other.path().join("token-signer.pem"))
            .unwrap();
        drop(stranger);
        let wary = Registry::builder()
            .token_auth(auth)
            .spawn("127.0.0.1:0")
            .await
            .unwrap();
        let e = client_as(&wary, USER, PASSWORD)
            .pull_manifest(&reference(&wary, "ext/app:v1"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("invalid_token"), "{e}");
    }
}

fn run(args: &[&str], env: &[(&'static str, String)]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

async fn skopeo_copies_with_credentials_through_token_auth() {
    if !testkit::need::tool("skopeo") {
        return;
    }
    let reg = token_registry().await;
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 30_000);
    src.tag("v1", image.clone()).unwrap();
    let from = format!("oci:{}:v1", src.path().display());
    let dest = format!("docker://{}/skopeo/app:v1", reg.host());
    let back = format!("oci:{}:v1", dir.path().join("back").display());
    let alice = format!("--dest-creds={USER}:{PASSWORD}");
    let bob = format!("--dest-creds=bob:{BOB_PASSWORD}");
    let (h, tls) = (reg.host(), "--dest-tls-verify=false");
    let results = tokio::task::spawn_blocking(move || {
        let copy = |extra: &[&str], a: &str, b: &str| {
            let mut args = vec!["skopeo", "copy", "--quiet", "--preserve-digests", tls];
            args.extend_from_slice(extra);
            args.extend_from_slice(&[a, b]);
            run(&args, &[])
        };
        let pushed = copy(&[&alice], &from, &dest);
        let denied = copy(&[&bob], &from, &format!("docker://{h}/skopeo/bob:v1"));
        let src_creds = format!("--src-creds=bob:{BOB_PASSWORD}");
        let pulled = copy(&[&src_creds, "--src-tls-verify=false"], &dest, &back);
        let anonymous = copy(&["--src-tls-verify=false"], &dest, &back);
        (pushed, denied, pulled, anonymous)
    })
    .await
    .unwrap();
    results.0.unwrap();
    let denied = results.1.unwrap_err();
    assert!(
        denied.contains("denied") || denied.contains("403"),
        "{denied}"
    );
    results.2.unwrap();
    assert!(results.3.is_err(), "anonymous pull succeeded");
    let back = Layout::open(dir.path().join("back")).unwrap();
    assert_eq!(back.resolve("v1").unwrap().digest, image.digest);
}

async fn podman_logs_in_pushes_and_pulls_through_token_auth() {
    if !testkit::need::tools(&["podman", "skopeo", testkit::busybox::BINARY]) {
        return;
    }
    let reg = token_registry().await;
    let dir = testkit::temp::dir("podman-auth");
    let (layout, image) = crate::peer::busybox(dir.path());
    let alice = client_as(&reg, USER, PASSWORD);
    alice
        .push_image(&layout, &image, &reference(&reg, "podman/src:v1"))
        .await
        .unwrap();
    let env = containers_env(dir.path());
    let p = |s: &str| dir.path().join(s).display().to_string();
    let podman = |args: &[&str]| {
        let mut c = Command::new("podman");
        c.envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--root", &p("storage"), "--runroot", &p("runroot")])
            .args([
                "--storage-driver",
                "overlay",
                "--cgroup-manager",
                "cgroupfs",
            ])
            .args(["--events-backend", "file"])
            .args(args);
        c
    };
    let host = reg.host();
    let src = format!("{host}/podman/src:v1");
    let dest = format!("{host}/podman/dest:v1");
    let login = [
        "login",
        "--tls-verify=false",
        "-u",
        USER,
        "-p",
        PASSWORD,
        &host,
    ];
    ok(podman(&login)).await;
    ok(podman(&["pull", "-q", "--tls-verify=false", &src])).await;
    ok(podman(&["tag", &src, &dest])).await;
    ok(podman(&["push", "-q", "--tls-verify=false", &dest])).await;
    let pushed = alice
        .head_manifest(&reference(&reg, "podman/dest:v1"))
        .await
        .unwrap();
    assert!(pushed.is_some());
    ok(podman(&["logout", &host])).await;
    let out = crate::peer::output(podman(&["pull", "-q", "--tls-verify=false", &dest])).await;
    assert!(!out.status.success(), "anonymous pull succeeded");
    let _ = podman(&["rmi", "--all", "--force"]).output();
    unmount_under(dir.path());
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    the_built_in_token_service_grants_what_the_rules_allow,
    token_mounts_need_pull_on_their_source,
    tokens_of_an_external_service_are_checked,
    skopeo_copies_with_credentials_through_token_auth,
    podman_logs_in_pushes_and_pulls_through_token_auth,
];
