//! The pull-through cache of an upstream docker-registry that asks for
//! credentials: Basic auth over TLS with a private CA, and token auth.

use ocikit_distribution::{ClientBuilder, Credentials, Platforms};
use ocikit_image::Layout;
use ocikit_registry::{Registry, Upstream};
use ocikit_types::Reference;

use crate::support::{build_image, client, http, reference};

/// The status and error code of a `GET` of `url`.
async fn answer(url: &str) -> (u16, String) {
    let resp = http().get(url).send().await.unwrap();
    (
        resp.status().as_u16(),
        crate::support::error_code(resp).await,
    )
}

/// An upstream asking for Basic auth over TLS with a private CA: the
/// cache logs in with its credentials; without them it answers 502.
async fn an_upstream_with_basic_auth() {
    let dir = testkit::temp::dir("proxy-auth");
    let Some((upstream, ca)) = testkit::auth::basic_tls_registry(dir.path()) else {
        return;
    };
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 2, 10_000);
    let pusher = ClientBuilder::new()
        .add_root_certificate_pem(ca.as_bytes())
        .credentials(
            &upstream.addr,
            Credentials::basic(testkit::auth::USER, testkit::auth::PASSWORD),
        )
        .build()
        .unwrap();
    let r: Reference = format!("{}/private/app:v1", upstream.addr).parse().unwrap();
    pusher.push_image(&src, &image, &r).await.unwrap();

    let url = format!("https://{}", upstream.addr);
    let up = Upstream::new(&url)
        .unwrap()
        .add_root_certificate_pem(ca.as_bytes());
    let authed = up
        .clone()
        .credentials(testkit::auth::USER, testkit::auth::PASSWORD);
    let cache = Registry::builder()
        .pull_through(authed)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let got = dir.path().join("got");
    let (layout, desc) = client(&cache)
        .pull_image_to(&reference(&cache, "private/app:v1"), &got, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(desc.digest, image.digest);
    assert!(layout.verify().unwrap().is_ok());

    let anonymous = Registry::builder()
        .pull_through(up)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("{}/v2/private/app/manifests/v1", anonymous.url());
    assert_eq!(answer(&url).await, (502, "UNAVAILABLE".to_owned()));
}

/// An upstream with token auth: the cache logs in for a `pull` token of
/// the repository asked for.
async fn an_upstream_with_token_auth() {
    use testkit::auth::{Grant, TokenSetup, PASSWORD, USER};
    let dir = testkit::temp::dir("proxy-token");
    let Some(t) = TokenSetup::start(dir.path(), 300, Grant::All).await else {
        return;
    };
    let addr = t.reg.addr.clone();
    let pusher = ClientBuilder::new()
        .insecure_http_host(&addr)
        .credentials(&addr, Credentials::basic(USER, PASSWORD))
        .build()
        .unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 10_000);
    let r: Reference = format!("{addr}/tok/app:v1").parse().unwrap();
    pusher.push_image(&src, &image, &r).await.unwrap();
    let pushed = t.requests().len();

    let up = Upstream::new(&format!("http://{addr}"))
        .unwrap()
        .credentials(USER, PASSWORD);
    let cache = Registry::builder()
        .pull_through(up)
        .spawn("127.0.0.1:0")
        .await
        .unwrap();
    let got = dir.path().join("got");
    let (_, desc) = client(&cache)
        .pull_image_to(&reference(&cache, "tok/app:v1"), &got, &Platforms::All)
        .await
        .unwrap();
    assert_eq!(desc.digest, image.digest);
    let asked = t.requests();
    assert!(asked.len() > pushed, "the cache asked for no token");
    for tr in &asked[pushed..] {
        assert_eq!(tr.scopes, ["repository:tok/app:pull"], "{asked:?}");
    }
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![;
    async an_upstream_with_basic_auth,
    an_upstream_with_token_auth,
];
