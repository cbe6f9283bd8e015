//! Issue 21: every error of this crate, made the way a user meets it,
//! prints each cause once (no layer repeats its source).

use crate::runtime::Spec;
use crate::{Descriptor, Digest, Document, ImageConfiguration, ImageManifest, Platform, Reference};

#[test]
fn issue_21_each_error_shows_each_cause_once() {
    let dir = std::env::temp_dir().join(format!("ocikit-types-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        br#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":7}}"#,
    )
    .unwrap();

    let errors: Vec<(crate::Error, usize)> = vec![
        ("sha256:XYZ".parse::<Digest>().unwrap_err(), 1),
        ("Team/App:1".parse::<Reference>().unwrap_err(), 1),
        ("linux".parse::<Platform>().unwrap_err(), 1),
        (Digest::sha256(b"a").verify(b"b").unwrap_err(), 1),
        (
            ImageConfiguration::from_slice(br#"{"os":7}"#).unwrap_err(),
            1,
        ),
        (
            ImageManifest::from_slice(br#"{"schemaVersion":2,"layers":[]}"#).unwrap_err(),
            1,
        ),
        (
            Descriptor::from_slice(br#"{"mediaType":"a/b","size":-1,"digest":"sha256:0"}"#)
                .unwrap_err(),
            1,
        ),
        (Platform::new("linux", "arm64").select(&[]).unwrap_err(), 1),
        // File errors: the file at the top, the OS error or the parse
        // error (with its JSON path) below.
        (Spec::load(dir.join("missing.json")).unwrap_err(), 2),
        (Spec::load(&config).unwrap_err(), 2),
    ];
    for (e, depth) in &errors {
        let layers = chain(e);
        assert!(layers.len() >= *depth, "{layers:?}");
        for pair in layers.windows(2) {
            assert!(!pair[0].contains(&pair[1]), "{layers:#?}");
        }
    }
    let layers = chain(&errors[9].0);
    assert!(layers[0].ends_with("config.json"), "{layers:?}");
    assert!(layers[1].contains("$.process.args"), "{layers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}
