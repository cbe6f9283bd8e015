//! Access control with Basic auth: challenges and refusals, the rules
//! (`DENIED`), anonymous pull, mounts that need pull on their source,
//! and credentials kept out of the server's log.

use ocikit_distribution::{Client, ClientBuilder, Credentials, Platforms};
use ocikit_image::Layout;
use ocikit_registry::{Access, Action, Htpasswd, Registry, RunningRegistry};
use ocikit_types::Digest;

use crate::support::{build_image, error_code, http, noise, reference};

pub(crate) const USER: &str = testkit::auth::USER;
pub(crate) const PASSWORD: &str = testkit::auth::PASSWORD;
pub(crate) const BOB_PASSWORD: &str = "bob's password";

/// alice and bob, hashed at bcrypt's lowest cost to keep tests fast.
pub(crate) fn users() -> Htpasswd {
    let mut h = Htpasswd::new();
    h.insert(USER, PASSWORD, 4).unwrap();
    h.insert("bob", BOB_PASSWORD, 4).unwrap();
    h
}

/// alice may do everything; bob may only pull.
pub(crate) fn alice_all_bob_pulls() -> Access {
    let mut a = Access::new();
    a.allow(USER, "**", &Action::ALL)
        .allow("bob", "**", &[Action::Pull]);
    a
}

pub(crate) fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    let creds = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {creds}")
}

pub(crate) fn client_as(reg: &RunningRegistry, user: &str, password: &str) -> Client {
    ClientBuilder::new()
        .insecure_http_host(&reg.host())
        .credentials(&reg.host(), Credentials::basic(user, password))
        .build()
        .unwrap()
}

async fn basic_registry(access: Access) -> RunningRegistry {
    Registry::builder()
        .basic_auth("ocikit-test", users())
        .access(access)
        .spawn("127.0.0.1:0")
        .await
        .unwrap()
}

/// `method url` with an optional `Authorization`; status and the reply.
async fn send(method: reqwest::Method, url: &str, auth: Option<&str>) -> (u16, reqwest::Response) {
    let mut rq = http().request(method, url).header("content-length", "0");
    if let Some(a) = auth {
        rq = rq.header("authorization", a);
    }
    let resp = rq.send().await.unwrap();
    (resp.status().as_u16(), resp)
}

async fn basic_auth_challenges_and_refuses_wrong_credentials() {
    let reg = basic_registry(Access::any_user()).await;
    let ping = format!("{}/v2/", reg.url());
    let manifest = format!("{}/v2/team/app/manifests/v1", reg.url());
    for auth in [
        None,
        Some(basic(USER, "wrong password")),
        Some(basic("mallory", PASSWORD)),
        Some("Bearer abc".to_owned()),
        Some("Basic !!!".to_owned()),
    ] {
        for url in [&ping, &manifest] {
            let (status, resp) = send(reqwest::Method::GET, url, auth.as_deref()).await;
            assert_eq!(status, 401, "{url} with {auth:?}");
            assert_eq!(
                resp.headers()["www-authenticate"],
                "Basic realm=\"ocikit-test\""
            );
            assert_eq!(error_code(resp).await, "UNAUTHORIZED");
        }
    }
    let good = basic(USER, PASSWORD);
    assert_eq!(send(reqwest::Method::GET, &ping, Some(&good)).await.0, 200);
    let (status, resp) = send(reqwest::Method::GET, &manifest, Some(&good)).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(resp).await, "MANIFEST_UNKNOWN");

    // ocikit's client answers the challenge: push, pull, list, delete.
    let c = client_as(&reg, USER, PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 50_000);
    let r = reference(&reg, "team/app:v1");
    c.push_image(&src, &image, &r).await.unwrap();
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    let got = c.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    assert_eq!(got.digest, image.digest);
    assert_eq!(c.catalog(&r, None).await.unwrap(), ["team/app"]);
    c.delete_manifest(&r, &image.digest).await.unwrap();
    let anonymous = crate::support::client(&reg);
    let e = anonymous.pull_manifest(&r).await.unwrap_err();
    assert!(!e.is_not_found() && e.status() != Some(200), "{e}");
}

async fn rules_deny_what_a_user_may_not_do() {
    let mut access = alice_all_bob_pulls();
    access.allow("carol", "public/*", &[Action::Pull]);
    let mut with_carol = users();
    with_carol.insert("carol", "carol-pw", 4).unwrap();
    let reg = Registry::builder()
        .basic_auth("ocikit-test", with_carol)
        .access(access)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 10_000);
    let alice = client_as(&reg, USER, PASSWORD);
    for repo in ["team/app:v1", "public/base:v1"] {
        alice
            .push_image(&src, &image, &reference(&reg, repo))
            .await
            .unwrap();
    }
    let r = reference(&reg, "team/app:v1");

    // bob pulls, but may neither push nor delete.
    let bob = client_as(&reg, "bob", BOB_PASSWORD);
    let dst = Layout::create(dir.path().join("dst")).unwrap();
    bob.pull_image(&r, &dst, &Platforms::All).await.unwrap();
    let other = build_image(&src, "arm64", 1, 10_000);
    let e = bob.push_image(&src, &other, &r).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    let bob_auth = basic("bob", BOB_PASSWORD);
    let uploads = format!("{}/v2/team/app/blobs/uploads/", reg.url());
    let (status, resp) = send(reqwest::Method::POST, &uploads, Some(&bob_auth)).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(resp).await, "DENIED");
    let delete = format!("{}/v2/team/app/manifests/{}", reg.url(), image.digest);
    let (status, resp) = send(reqwest::Method::DELETE, &delete, Some(&bob_auth)).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(resp).await, "DENIED");
    // DENIED whether the repository exists or not: nothing leaks.
    let absent = format!("{}/v2/nothing/here/blobs/uploads/", reg.url());
    assert_eq!(
        send(reqwest::Method::POST, &absent, Some(&bob_auth))
            .await
            .0,
        403
    );

    // carol sees and pulls only what she may pull.
    let carol = client_as(&reg, "carol", "carol-pw");
    assert_eq!(carol.catalog(&r, None).await.unwrap(), ["public/base"]);
    assert_eq!(
        carol.pull_manifest(&r).await.unwrap_err().status(),
        Some(403)
    );
    let mut all = alice.catalog(&r, None).await.unwrap();
    all.sort();
    assert_eq!(all, ["public/base", "team/app"]);
}

async fn anonymous_pull_is_allowed_only_where_configured() {
    let mut access = Access::any_user();
    access.anonymous_pull("public/**");
    for (access, public_status) in [(access, 200), (Access::any_user(), 401)] {
        let reg = basic_registry(access).await;
        let dir = tempfile::tempdir().unwrap();
        let src = Layout::create(dir.path().join("src")).unwrap();
        let image = build_image(&src, "amd64", 1, 10_000);
        let alice = client_as(&reg, USER, PASSWORD);
        for repo in ["public/base:v1", "team/app:v1"] {
            alice
                .push_image(&src, &image, &reference(&reg, repo))
                .await
                .unwrap();
        }
        let get = |repo: &str| format!("{}/v2/{repo}/manifests/v1", reg.url());
        assert_eq!(
            send(reqwest::Method::GET, &get("public/base"), None)
                .await
                .0,
            public_status
        );
        assert_eq!(
            send(reqwest::Method::GET, &get("team/app"), None).await.0,
            401
        );
        let push = format!("{}/v2/public/base/blobs/uploads/", reg.url());
        assert_eq!(send(reqwest::Method::POST, &push, None).await.0, 401);
        // Clients answer a Basic challenge without credentials with ":".
        let empty = basic("", "");
        assert_eq!(
            send(reqwest::Method::GET, &get("public/base"), Some(&empty))
                .await
                .0,
            public_status
        );
    }
}

async fn mounts_need_pull_on_their_source() {
    let mut access = Access::new();
    access
        .allow(USER, "**", &Action::ALL)
        .allow("bob", "bob/**", &[Action::Pull, Action::Push]);
    let reg = basic_registry(access).await;
    let (alice, bob) = (basic(USER, PASSWORD), basic("bob", BOB_PASSWORD));
    let data = noise(4096, 7);
    let digest = Digest::sha256(&data);
    let url = format!("{}/v2/secret/app/blobs/uploads/?digest={digest}", reg.url());
    let resp = http()
        .post(&url)
        .header("authorization", &alice)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let mount = |repo: &str, from: Option<&str>| {
        let from = from.map(|f| format!("&from={f}")).unwrap_or_default();
        format!(
            "{}/v2/{repo}/blobs/uploads/?mount={digest}{from}",
            reg.url()
        )
    };
    // bob may not pull secret/app: a session, as if the blob were absent.
    for url in [mount("bob/app", Some("secret/app")), mount("bob/app", None)] {
        let (status, resp) = send(reqwest::Method::POST, &url, Some(&bob)).await;
        assert_eq!(status, 202, "{url}");
        assert!(resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/v2/bob/app/blobs/uploads/"));
    }
    let head = format!("{}/v2/bob/app/blobs/{digest}", reg.url());
    assert_eq!(send(reqwest::Method::HEAD, &head, Some(&bob)).await.0, 404);
    // alice may: both mounts link the blob.
    for (repo, from) in [("alice/a", Some("secret/app")), ("alice/b", None)] {
        let (status, _) = send(reqwest::Method::POST, &mount(repo, from), Some(&alice)).await;
        assert_eq!(status, 201, "{repo}");
    }
    // Once bob holds the blob in a repository he may pull, he mounts it.
    let url = format!("{}/v2/bob/own/blobs/uploads/?digest={digest}", reg.url());
    let resp = http()
        .post(&url)
        .header("authorization", &bob)
        .body(data)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    for url in [mount("bob/app", Some("bob/own")), mount("bob/two", None)] {
        assert_eq!(
            send(reqwest::Method::POST, &url, Some(&bob)).await.0,
            201,
            "{url}"
        );
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![; async
    basic_auth_challenges_and_refuses_wrong_credentials,
    rules_deny_what_a_user_may_not_do,
    anonymous_pull_is_allowed_only_where_configured,
    mounts_need_pull_on_their_source,
];
