//! Issue 21: the client's errors, met as a user meets them, say what and
//! where at each layer and show each cause once.

use std::time::Duration;

use crate::peer;
use ocikit_distribution::{ClientBuilder, CredentialFiles, Error, Platforms};
use ocikit_image::Layout;
use ocikit_types::{Digest, Reference};
use testkit::errors::assert_each_cause_once;

use crate::real::{build_image, client, reference};

async fn issue_21_each_error_shows_each_cause_once() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let r = reference(&reg, "errors/app:1");
    c.push_image(&src, &image, &r).await.unwrap();

    // An unknown image: the status, with the registry's error codes.
    let err = c
        .pull_manifest(&reference(&reg, "errors/none:1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 404, .. }), "{err:?}");
    assert_each_cause_once(&err, 1);

    // Content that is not what was asked for (a real registry verifies
    // what it stores, so this one is made as the client makes it): the
    // URL, then the mismatch with both digests.
    let err = Error::Integrity {
        url: format!("http://{}/v2/errors/app/blobs/{}", reg.addr, image.digest),
        source: ocikit_types::Error::DigestMismatch {
            expected: image.digest.to_string(),
            found: Digest::sha256(b"other").to_string(),
        },
    };
    let layers = assert_each_cause_once(&err, 2);
    assert!(layers[1].contains(image.digest.as_str()), "{layers:?}");

    // A registry that is not there: retries, the request, the transport's
    // causes down to the refused connection.
    let gone: Reference = format!("127.0.0.1:{}/a/b:1", testkit::registry::free_port())
        .parse()
        .unwrap();
    let quick = ClientBuilder::new()
        .insecure_http_host("127.0.0.1")
        .max_retries(1)
        .backoff(Duration::from_millis(1), Duration::from_millis(1))
        .build()
        .unwrap();
    let err = quick.pull_manifest(&gone).await.unwrap_err();
    let layers = assert_each_cause_once(&err, 3);
    assert!(
        layers[0].starts_with("giving up on http://127.0.0.1:"),
        "{layers:?}"
    );
    assert!(
        layers[1].starts_with("request to http://127.0.0.1:"),
        "{layers:?}"
    );

    // A layout that cannot be made: the layout's error, then the OS's.
    let err = c
        .pull_image_to(&r, "/dev/null/layout", &Platforms::All)
        .await
        .unwrap_err();
    let layers = assert_each_cause_once(&err, 2);
    assert!(layers[0].contains("/dev/null"), "{layers:?}");

    // A credentials file that is not JSON: which file and where in it;
    // the parser's own message is left out, since it quotes what it met,
    // secrets included.
    let creds = dir.path().join("auth.json");
    std::fs::write(&creds, "{ \"auths\": \"s3cret\" ").unwrap();
    let err = CredentialFiles::new(vec![creds.clone()])
        .lookup("r.example")
        .unwrap_err();
    let layers = assert_each_cause_once(&err, 1);
    assert!(layers[0].contains(creds.to_str().unwrap()), "{layers:?}");
    assert!(!layers.join("\n").contains("s3cret"), "{layers:?}");

    // A root certificate that is not PEM: the configuration, then why.
    let err = ClientBuilder::new()
        .add_root_certificate_pem(
            b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        )
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_each_cause_once(&err, 1);
}

/// Options and builders are written in one expression.
fn issue_21_builders_are_written_inline() {
    let files = dir_files();
    let _client = ClientBuilder::new()
        .insecure_http_host("127.0.0.1")
        .credential_files(CredentialFiles::new(files).helper_timeout(Duration::from_secs(1)))
        .build()
        .unwrap();
}

fn dir_files() -> Vec<std::path::PathBuf> {
    vec![std::path::PathBuf::from("/nonexistent/auth.json")]
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![issue_21_builders_are_written_inline; async issue_21_each_error_shows_each_cause_once];
