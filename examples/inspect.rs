//! Show an image in a registry: its manifest or index, platforms, layers,
//! configuration, tags and referrers.
//!
//! ```text
//! cargo run --example inspect -- 127.0.0.1:5000/app:1
//! ```
//! Plain HTTP is used for 127.0.0.1 and localhost, and for hosts given with
//! `--insecure HOST`.

#[macro_use]
#[path = "common/out.rs"]
mod out;

use std::process::ExitCode;

#[path = "common/chain.rs"]
mod chain;
#[path = "common/cli.rs"]
mod cli;

use ocikit::distribution::ClientBuilder;
use ocikit::types::{AnyManifest, Reference};

async fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = ClientBuilder::new();
    builder
        .insecure_http_host("127.0.0.1")
        .insecure_http_host("localhost");
    let mut refs = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--insecure" {
            builder.insecure_http_host(&it.next().ok_or("--insecure needs a host")?);
        } else {
            refs.push(a);
        }
    }
    let [r] = refs.as_slice() else {
        return Err("usage: inspect [--insecure HOST] REFERENCE".into());
    };
    let r: Reference = r.parse()?;
    let client = builder.build()?;
    let m = client.pull_manifest(&r).await?;
    outln!("reference  {r}");
    outln!("digest     {}", m.digest);
    outln!("media type {}", m.media_type);
    outln!("size       {} bytes", m.bytes.len());
    match &m.manifest {
        AnyManifest::Index(_) | AnyManifest::DockerManifestList(_) => {
            let entries = match &m.manifest {
                AnyManifest::Index(i) => &i.manifests,
                AnyManifest::DockerManifestList(l) => &l.manifests,
                _ => unreachable!("matched above"),
            };
            outln!("platforms:");
            for d in entries {
                let p = d.platform.as_ref().map(ToString::to_string);
                outln!(
                    "  {:24} {} {}",
                    p.as_deref().unwrap_or("-"),
                    d.digest,
                    d.size
                );
            }
        }
        AnyManifest::Manifest(man) => {
            outln!(
                "config     {} ({} bytes)",
                man.config.digest,
                man.config.size
            );
            let total: u64 = man.layers.iter().map(|l| l.size).sum();
            outln!("layers     {} ({total} bytes)", man.layers.len());
            for l in &man.layers {
                outln!("  {} {:>12} {}", l.digest, l.size, l.media_type);
            }
            if let Ok(bytes) = client.pull_blob_bytes(&r, &man.config).await {
                let v: serde_json::Value = serde_json::from_slice(&bytes)?;
                outln!("config:\n{}", serde_json::to_string_pretty(&v["config"])?);
            }
        }
        _ => {}
    }
    outln!(
        "tags       {}",
        client
            .tags(&r, None)
            .await
            .map(|t| t.join(", "))
            .unwrap_or_else(|e| e.to_string())
    );
    let refs = client.referrers(&r, &m.digest, None).await?;
    outln!("referrers  {}", refs.manifests.len());
    for d in &refs.manifests {
        let t = d
            .artifact_type
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        outln!("  {} {t}", d.digest);
    }
    Ok(())
}

fn main() -> ExitCode {
    cli::block_on_main(run(std::env::args().skip(1).collect()))
}
