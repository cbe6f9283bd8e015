//! A registry inside a program (a test, a tool): started in memory on a
//! free loopback port, an image pushed to it with ocikit's client and
//! pulled back, every digest the same.
//!
//! ```text
//! cargo run --example embed-registry --features registry,distribution
//! ```

use std::process::ExitCode;

#[path = "common/chain.rs"]
mod chain;

use ocikit::distribution::{ClientBuilder, Platforms};
use ocikit::image::{ImageBuilder, Layout};
use ocikit::registry::Registry;
use ocikit::types::{Digest, MediaType, Platform};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            chain::print(e.as_ref());
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // The one line: a registry until `reg` is dropped.
    let reg = Registry::builder().in_memory().spawn("127.0.0.1:0").await?;
    println!("registry at {}", reg.url());

    let dir = tempfile::tempdir()?;
    let src = Layout::create(dir.path().join("src"))?;
    let mut image = ImageBuilder::new(&src, Platform::new("linux", "amd64"));
    let layer = b"not really a tar, but a blob all the same".to_vec();
    let blob = src.write_blob(MediaType::ImageLayer, &layer)?;
    image.add_layer(blob, Digest::sha256(&layer), Some("a layer"));
    let manifest = image.write()?;

    let client = ClientBuilder::new()
        .insecure_http_host(&reg.host())
        .build()?;
    let r = format!("{}/demo/app:1", reg.host()).parse()?;
    let pushed = client.push_image(&src, &manifest, &r).await?;
    println!("pushed {r} as {pushed}");

    let dst = Layout::create(dir.path().join("dst"))?;
    let pulled = client.pull_image(&r, &dst, &Platforms::All).await?;
    println!(
        "pulled {}: same digest: {}",
        pulled.digest,
        pulled.digest == pushed
    );
    println!("tags: {:?}", client.tags(&r, None).await?);
    reg.shutdown().await;
    Ok(())
}
