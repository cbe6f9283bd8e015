//! The `validate` example's built-in samples, and how it guesses what a
//! document is.

use ocikit::types::DocumentKind;

/// Documents shown when `validate` is given nothing: one valid, one not.
pub(crate) const DOCUMENTS: &[(&str, &str)] = &[
    (
        "sample image manifest",
        r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
  "config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":7023,
    "digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
  "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":32654,
    "digest":"sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"}],
  "annotations":{"org.opencontainers.image.ref.name":"v1"}}"#,
    ),
    (
        "sample manifest with three defects",
        r#"{"schemaVersion":3,"config":{"mediaType":"application/vnd.oci.image.config.v1+json",
  "size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  "urls":["not a url"]},"layers":[]}"#,
    ),
];

/// Guesses a document's kind from its `mediaType` or, failing that, its shape.
pub(crate) fn detect(bytes: &[u8]) -> Option<DocumentKind> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let o = v.as_object()?;
    let has = |k: &str| o.contains_key(k);
    let media_type = o.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    Some(match media_type {
        "application/vnd.oci.image.manifest.v1+json" if has("config") => {
            DocumentKind::ImageManifest
        }
        "application/vnd.oci.image.index.v1+json" => DocumentKind::ImageIndex,
        "application/vnd.docker.distribution.manifest.v2+json" => DocumentKind::DockerManifest,
        "application/vnd.docker.distribution.manifest.list.v2+json" => {
            DocumentKind::DockerManifestList
        }
        _ if has("digest") && has("size") => DocumentKind::Descriptor,
        _ if has("manifests") => DocumentKind::ImageIndex,
        _ if has("config") && has("layers") => DocumentKind::ImageManifest,
        _ if has("rootfs") && has("architecture") => DocumentKind::ImageConfiguration,
        _ if has("imageLayoutVersion") => DocumentKind::OciLayout,
        _ if has("ociVersionMin") => DocumentKind::RuntimeFeatures,
        _ if has("ociVersion") && has("status") => DocumentKind::RuntimeState,
        _ if has("ociVersion") => DocumentKind::RuntimeConfig,
        _ if has("errors") => DocumentKind::RegistryError,
        _ if has("tags") => DocumentKind::TagList,
        _ if has("repositories") => DocumentKind::Catalog,
        _ => return None,
    })
}

/// Whether `arg`, which names no file, was meant as one: it starts as a
/// path does (`/`, `./`, `../`, `~`) or ends in a file extension
/// (`.json`, `.tar`) that no reference, digest, media type or platform
/// ends in.
pub(crate) fn looks_like_a_path(arg: &str) -> bool {
    arg.starts_with(['/', '~', '.'])
        || [".json", ".tar", ".tgz", ".gz"]
            .iter()
            .any(|ext| arg.to_ascii_lowercase().ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::looks_like_a_path;

    #[test]
    fn a_mistyped_file_is_not_taken_for_a_reference() {
        for path in [
            "manfest.json",
            "./x",
            "../a/b",
            "/tmp/missing",
            "~/m.json",
            "image.tar",
        ] {
            assert!(looks_like_a_path(path), "{path}");
        }
        for value in [
            "busybox",
            "ghcr.io/org/app:1.0",
            "linux/arm64/v8",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "application/vnd.oci.image.manifest.v1+json",
        ] {
            assert!(!looks_like_a_path(value), "{value}");
        }
    }
}
