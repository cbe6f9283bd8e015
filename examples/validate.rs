//! Parse, validate and pretty-print any OCI document or value.
//!
//! ```text
//! cargo run --example validate                     # a built-in sample of each kind
//! cargo run --example validate -- manifest.json    # a document file (kind detected)
//! cargo run --example validate -- busybox          # an image reference
//! cargo run --example validate -- sha256:abc...    # a digest, media type or platform
//! cargo run --example validate -- /tmp/layout      # an OCI image layout: every blob and reference
//! ```
//!
//! Exits 1 when anything given is invalid.

#[macro_use]
#[path = "common/out.rs"]
mod out;
#[path = "common/chain.rs"]
mod chain;
#[path = "common/samples.rs"]
mod samples;

use std::process::ExitCode;

use ocikit::types::runtime::{Features, Spec, State};
use ocikit::types::{
    Catalog, Digest, DockerManifest, DockerManifestList, Document, DocumentKind, Error,
    ErrorResponse, ImageConfiguration, ImageIndex, ImageManifest, MediaType, OciLayout, Platform,
    Reference, TagList,
};

fn check<T: Document>(bytes: &[u8]) -> Result<String, Error> {
    let doc = T::from_slice(bytes)?;
    doc.validate()?;
    Ok(doc.to_pretty_string())
}

fn validate_document(kind: DocumentKind, bytes: &[u8]) -> Result<String, Error> {
    match kind {
        DocumentKind::Descriptor => check::<ocikit::types::Descriptor>(bytes),
        DocumentKind::ImageManifest => check::<ImageManifest>(bytes),
        DocumentKind::ImageIndex => check::<ImageIndex>(bytes),
        DocumentKind::ImageConfiguration => check::<ImageConfiguration>(bytes),
        DocumentKind::OciLayout => check::<OciLayout>(bytes),
        DocumentKind::DockerManifest => check::<DockerManifest>(bytes),
        DocumentKind::DockerManifestList => check::<DockerManifestList>(bytes),
        DocumentKind::RuntimeConfig => check::<Spec>(bytes),
        DocumentKind::RuntimeState => check::<State>(bytes),
        DocumentKind::RuntimeFeatures => check::<Features>(bytes),
        DocumentKind::RegistryError => check::<ErrorResponse>(bytes),
        DocumentKind::TagList => check::<TagList>(bytes),
        _ => check::<Catalog>(bytes),
    }
}

/// Reports on one document; true when it is valid.
fn report_document(label: &str, bytes: &[u8]) -> bool {
    let digest = Digest::sha256(bytes);
    outln!("== {label}");
    outln!("   size    {} bytes", bytes.len());
    outln!("   digest  {digest}");
    let Some(kind) = samples::detect(bytes) else {
        outln!("   kind    unknown: not a JSON object of any OCI document");
        return false;
    };
    outln!("   kind    {kind}");
    match validate_document(kind, bytes) {
        Ok(pretty) => {
            outln!("   verdict valid");
            for line in pretty.lines() {
                outln!("   | {line}");
            }
            true
        }
        Err(Error::Invalid { violations, .. }) => {
            outln!("   verdict INVALID: {} violation(s)", violations.0.len());
            for v in &violations.0 {
                outln!("   - {v}");
            }
            false
        }
        Err(e) => {
            outln!("   verdict INVALID: {}", indented(&e));
            false
        }
    }
}

/// Reports on a value given on the command line; true when it is valid.
fn report_value(arg: &str) -> bool {
    outln!("== {arg:?}");
    if arg.contains(':') && !arg.contains('/') {
        return match arg.parse::<Digest>() {
            Ok(d) => {
                outln!(
                    "   digest: algorithm {}, encoded {}",
                    d.algorithm(),
                    d.encoded()
                );
                true
            }
            Err(e) => {
                outln!("   INVALID: {}", indented(&e));
                false
            }
        };
    }
    const OSES: &[&str] = &["linux", "windows", "darwin", "freebsd", "solaris", "zos"];
    let first = arg.split(['/', '(']).next().unwrap_or("");
    if OSES.contains(&first) {
        return match arg.parse::<Platform>() {
            Ok(p) => {
                outln!(
                    "   platform {p} (os {}, architecture {}, variant {})",
                    p.os,
                    p.architecture,
                    p.variant.as_deref().unwrap_or("-")
                );
                let host = Platform::host();
                outln!("   runs on this host ({host}): {}", host.matches(&p));
                true
            }
            Err(e) => {
                outln!("   INVALID: {}", indented(&e));
                false
            }
        };
    }
    if let Ok(r) = arg.parse::<Reference>() {
        outln!("   reference {r}");
        outln!("   registry   {} (API host {})", r.registry(), r.api_host());
        outln!("   repository {}", r.repository());
        outln!("   tag        {}", r.tag().unwrap_or("-"));
        outln!(
            "   digest     {}",
            r.digest().map(|d| d.to_string()).unwrap_or("-".into())
        );
        return true;
    }
    if let Ok(m) = arg.parse::<MediaType>() {
        outln!(
            "   media type{}: manifest {}, index {}, layer {}",
            if matches!(m, MediaType::Other(_)) {
                " (not one ocikit knows)"
            } else {
                ""
            },
            m.is_manifest(),
            m.is_index(),
            m.is_layer()
        );
        return true;
    }
    match arg.parse::<Reference>() {
        Ok(_) => true,
        Err(e) => {
            outln!("   INVALID: {}", indented(&e));
            false
        }
    }
}

/// An OCI image layout: every blob hashed, every reference followed.
fn report_layout(dir: &str) -> bool {
    outln!("== {dir} (an OCI image layout)");
    let report = match ocikit::image::Layout::open(dir).and_then(|l| l.verify()) {
        Ok(report) => report,
        Err(e) => {
            outln!("   cannot read: {}", indented(&e));
            return false;
        }
    };
    outln!(
        "   blobs {}, references {}",
        report.blobs,
        report.references
    );
    for problem in &report.problems {
        outln!("   INVALID: {problem}");
    }
    if report.is_ok() {
        outln!("   verdict valid");
    }
    report.is_ok()
}

/// An error's chain, its causes indented under the report's line.
fn indented(e: &dyn std::error::Error) -> String {
    chain::lines(e).replace('\n', "\n   ")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut ok = true;
    if args.is_empty() {
        outln!("No arguments: showing built-in samples. Give files, references, digests,");
        outln!("media types or platforms to check your own.\n");
        for (label, json) in samples::DOCUMENTS {
            report_document(label, json.as_bytes());
            outln!();
        }
        let spec = Spec::default_linux();
        report_document(
            "Spec::default_linux() (what `runc spec` writes)",
            &spec.to_canonical_vec(),
        );
        outln!();
        for v in ["busybox", "ghcr.io/org/app:1.0@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "Not/A:Ref!"] {
            report_value(v);
        }
        return ExitCode::SUCCESS;
    }
    for arg in &args {
        let path = std::path::Path::new(arg);
        ok &= if path.join("oci-layout").is_file() {
            report_layout(arg)
        } else if path.is_file() {
            match std::fs::read(path) {
                Ok(bytes) => report_document(arg, &bytes),
                Err(e) => {
                    outln!("== {arg}\n   cannot read: {}", indented(&e));
                    false
                }
            }
        } else if samples::looks_like_a_path(arg) {
            outln!("== {arg}\n   no such file (a reference, digest, media type or platform cannot look like this)");
            false
        } else {
            report_value(arg)
        };
        outln!();
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use ocikit::types::MediaType;

    #[test]
    fn a_layout_with_a_corrupt_blob_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let layout = ocikit::image::Layout::create(dir.path()).unwrap();
        let desc = layout
            .write_blob(MediaType::ImageLayer, b"layer bytes")
            .unwrap();
        let arg = dir.path().to_str().unwrap();
        assert!(super::report_layout(arg));
        let path = dir
            .path()
            .join("blobs/sha256")
            .join(desc.digest.to_string().trim_start_matches("sha256:"));
        std::fs::write(path, b"LAYER BYTES").unwrap();
        assert!(!super::report_layout(arg));
    }
}
