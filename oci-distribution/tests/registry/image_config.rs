//! Issue 21: an image's config for a reference and a platform in one
//! call, against the real registry.

use crate::peer;
use ocikit_distribution::Error;
use ocikit_image::Layout;
use ocikit_types::{Document, ImageManifest, Platform, Raw};

use crate::real::{build_image, client, reference};

/// What an embedder asks before running an image: its command, for the
/// platform of the host it runs on; from an index and from a lone
/// manifest, without downloading a layer.
async fn issue_21_pull_config_resolves_the_platform() {
    let Some(reg) = peer::start() else { return };
    let c = client(&reg);
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let amd = build_image(&src, "amd64", 2, 1000);
    let arm = build_image(&src, "arm64", 2, 1000);
    let index = ocikit_image::write_index(&src, vec![amd.clone(), arm.clone()]).unwrap();
    let multi = reference(&reg, "config/multi:1");
    c.push_image(&src, &index, &multi).await.unwrap();
    let single = reference(&reg, "config/single:1");
    c.push_image(&src, &amd, &single).await.unwrap();

    let arm64 = Platform::new("linux", "arm64");
    let got = c.pull_config(&multi, &arm64).await.unwrap();
    assert_eq!(got.manifest.digest, arm.digest);
    assert_eq!(got.config.architecture, "arm64");
    assert_eq!(got.config.os, "linux");
    let m: Raw<ImageManifest> = src.read_document(&arm).unwrap();
    assert_eq!(
        got.config,
        ocikit_types::ImageConfiguration::from_slice(&src.read_blob(&m.value().config).unwrap())
            .unwrap()
    );
    assert_eq!(
        got.config.config.as_ref().and_then(|c| c.cmd.clone()),
        Some(vec!["/bin/sh".to_owned()])
    );

    let amd64 = Platform::new("linux", "amd64");
    let got = c.pull_config(&single, &amd64).await.unwrap();
    assert_eq!(got.manifest.digest, amd.digest);
    assert_eq!(got.config.architecture, "amd64");

    // The wrong platform is refused, naming what there is.
    for (r, offers) in [
        (&multi, "linux/amd64, linux/arm64"),
        (&single, "linux/amd64"),
    ] {
        let err = c
            .pull_config(r, &Platform::new("linux", "s390x"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::PlatformNotFound { .. }), "{err:?}");
        let layers = testkit::errors::assert_each_cause_once(&err, 2);
        assert!(layers[1].ends_with(offers), "{layers:?}");
    }

    // Only documents were fetched: no layer came down for the config.
    let err = c
        .pull_config(&reference(&reg, "config/none:1"), &amd64)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[cfg(feature = "blocking")]
fn issue_21_the_blocking_client_pulls_a_config_too() {
    use ocikit_distribution::blocking::BlockingClient;
    let Some(reg) = peer::start() else { return };
    let c = BlockingClient::new(client(&reg)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = Layout::create(dir.path().join("src")).unwrap();
    let image = build_image(&src, "amd64", 1, 1000);
    let r = reference(&reg, "config/blocking:1");
    c.push_image(&src, &image, &r).unwrap();
    let got = c.pull_config(&r, &Platform::new("linux", "amd64")).unwrap();
    assert_eq!(got.manifest.digest, image.digest);
    assert_eq!(got.config.architecture, "amd64");
}

#[cfg(feature = "blocking")]
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![issue_21_the_blocking_client_pulls_a_config_too; async issue_21_pull_config_resolves_the_platform];
#[cfg(not(feature = "blocking"))]
pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![; async issue_21_pull_config_resolves_the_platform];
