//! OCI artifacts, as ORAS, Helm, Notation and Cosign use registries: push
//! files, pull them back, attach them to an image, list an image's
//! referrers.
//!
//! ```text
//! cargo run --example artifact -- push 127.0.0.1:5000/docs:v1 application/vnd.example.docs README.md LICENSE
//! cargo run --example artifact -- pull 127.0.0.1:5000/docs:v1 ./out
//! cargo run --example artifact -- attach 127.0.0.1:5000/app:1 application/spdx+json sbom.spdx.json
//! cargo run --example artifact -- referrers 127.0.0.1:5000/app:1
//! ```
//! Plain HTTP is used for 127.0.0.1 and localhost.

#[macro_use]
#[path = "common/out.rs"]
mod out;

use std::collections::BTreeMap;
use std::process::ExitCode;

#[path = "common/chain.rs"]
mod chain;
#[path = "common/cli.rs"]
mod cli;

use ocikit::distribution::{ArtifactFile, ClientBuilder};
use ocikit::types::{MediaType, Reference};

async fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let client = ClientBuilder::new()
        .insecure_http_host("127.0.0.1")
        .insecure_http_host("localhost")
        .build()?;
    let usage = "usage: artifact push REF TYPE FILE... | pull REF DIR | attach IMAGE TYPE FILE... | referrers IMAGE";
    let (cmd, rest) = args.split_first().ok_or(usage)?;
    let files = |paths: &[String]| -> Vec<ArtifactFile> {
        paths
            .iter()
            .map(|p| {
                let media_type = match p.rsplit('.').next() {
                    Some("json") => MediaType::Other("application/json".into()),
                    _ => MediaType::Other("application/octet-stream".into()),
                };
                ArtifactFile::new(p, media_type)
            })
            .collect()
    };
    match (cmd.as_str(), rest) {
        ("push", [r, t, paths @ ..]) if !paths.is_empty() => {
            let r: Reference = r.parse()?;
            let d = client
                .push_artifact(&r, &t.parse()?, &files(paths), None, BTreeMap::new())
                .await?;
            outln!("pushed {r} as {} ({} files)", d.digest, paths.len());
        }
        ("pull", [r, dir]) => {
            for path in client.pull_artifact(&r.parse()?, dir).await? {
                outln!("wrote {}", path.display());
            }
        }
        ("attach", [image, t, paths @ ..]) if !paths.is_empty() => {
            let image: Reference = image.parse()?;
            let subject = client.pull_manifest(&image).await?.descriptor();
            // Stored under a tag of its own; found through the subject.
            let at = image.with_tag(&format!("attached-{}", &subject.digest.encoded()[..12]))?;
            let d = client
                .push_artifact(
                    &at,
                    &t.parse()?,
                    &files(paths),
                    Some(subject.clone()),
                    BTreeMap::new(),
                )
                .await?;
            outln!("attached {} to {} ({image})", d.digest, subject.digest);
        }
        ("referrers", [image]) => {
            let image: Reference = image.parse()?;
            let subject = client.pull_manifest(&image).await?.digest;
            let index = client.referrers(&image, &subject, None).await?;
            outln!("{} referrer(s) of {subject}", index.manifests.len());
            for d in &index.manifests {
                let t = d
                    .artifact_type
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                outln!("  {} {t}", d.digest);
            }
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::block_on_main(run(std::env::args().skip(1).collect()))
}
