//! ocikit embedded in an async program: pull an image from a registry,
//! make a runtime bundle with the process overridden, run it as a
//! container and print what it wrote.
//!
//! ```text
//! cargo run --example demo -- --registry 127.0.0.1:5000    # pushes ocikit/demo:latest there
//! sudo cargo run --example embed --features runtime-tokio -- [REGISTRY] [REPOSITORY:TAG]
//! ```
//! REGISTRY defaults to `$OCIKIT_REGISTRY`, else 127.0.0.1:5000 (reached
//! over plain HTTP), and the image to `ocikit/demo:latest` (a busybox
//! image). Running the container needs root; without it the example stops
//! after the bundle. `main` is an ordinary `#[tokio::main]`: the engine
//! re-executes this program as the container's init, and the runtime
//! crate takes that copy over before `main` runs. Errors are printed with
//! each cause on a line of its own.

#[path = "common/chain.rs"]
mod chain;

use std::error::Error;
use std::process::ExitCode;

use ocikit::distribution::{ClientBuilder, Platforms};
use ocikit::image::{create_bundle_with, BundleOptions};
use ocikit::runtime::{AsyncRuntime, CreateOptions};
use ocikit::types::{Platform, Reference};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            chain::print(&*e);
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<u8, Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let registry = args
        .next()
        .or_else(|| std::env::var("OCIKIT_REGISTRY").ok())
        .unwrap_or_else(|| "127.0.0.1:5000".to_owned());
    let image = args
        .next()
        .unwrap_or_else(|| "ocikit/demo:latest".to_owned());
    let r: Reference = format!("{registry}/{image}").parse()?;
    let platform = Platform::host();

    // What the image runs by default: the manifest for this platform and
    // its config, without downloading a layer.
    let client = ClientBuilder::new().insecure_http_host(&registry).build()?;
    let image = client.pull_config(&r, &platform).await?;
    let default_cmd = image.config.config.as_ref().and_then(|c| c.cmd.clone());
    println!("{r} is {} and runs {default_cmd:?}", image.manifest.digest);

    // The image into a layout (removed again if the pull fails).
    let dir = tempfile::Builder::new().prefix("ocikit-embed").tempdir()?;
    let (layout, manifest) = client
        .pull_image_to(&r, dir.path().join("layout"), &Platforms::Only(platform))
        .await?;
    println!(
        "pulled {} into {}",
        manifest.digest,
        layout.path().display()
    );

    // A bundle running our own command instead of the image's; unpacking
    // is file work, kept off the async workers.
    let bundle = dir.path().join("bundle");
    let to = bundle.clone();
    let report = tokio::task::spawn_blocking(move || {
        create_bundle_with(
            &layout,
            &manifest,
            &to,
            BundleOptions::new()
                .args(["/bin/sh", "-c", "echo \"$GREETING from $(pwd)\""])
                .env(["GREETING=hello"])
                .cwd("/etc"),
        )
    })
    .await??;
    println!(
        "bundle in {}: {} layer(s) unpacked",
        bundle.display(),
        report.layers.len()
    );

    if !rustix::process::geteuid().is_root() {
        println!("running the container needs root: sudo cargo run --example embed --features runtime-tokio");
        return Ok(0);
    }
    // The container's stdout goes to a file read once it has exited.
    let out_path = dir.path().join("stdout");
    let out = std::fs::File::create(&out_path)?;
    let runtime = AsyncRuntime::new(dir.path().join("state"));
    let id = format!("ocikit-embed-{}", std::process::id());
    // create + start + wait + delete, on tokio's blocking pool.
    let status = runtime
        .run(&id, &bundle, CreateOptions::new().stdout(out))
        .await?;
    let said = std::fs::read_to_string(&out_path)?;
    print!("container said: {said}");
    println!("container exited with {}", status.code());
    Ok(status.code().clamp(0, 255) as u8)
}
