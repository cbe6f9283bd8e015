//! Run a container from an async program: a busybox bundle made in a
//! temporary directory, `echo hello` in it, its output captured.
//!
//! ```text
//! sudo cargo run --example embed-runtime --features runtime-tokio
//! ```
//! Needs root and a static busybox at /usr/bin/busybox (Debian's
//! `busybox-static`). `main` is an ordinary `#[tokio::main]`: the engine
//! re-executes this program as the container's init, and the runtime
//! crate takes over that copy before `main` runs, so nothing else is
//! needed here.

use std::error::Error;
use std::path::Path;
use std::process::ExitCode;

use ocikit::runtime::{AsyncRuntime, CreateOptions};
use ocikit::types::runtime::Spec;
use ocikit::types::Document;

const BUSYBOX: &str = "/usr/bin/busybox";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(e) => {
            // Each layer's message once, then its cause's.
            eprintln!("error: {e}");
            let mut cause = e.source();
            while let Some(c) = cause {
                eprintln!("  caused by: {c}");
                cause = c.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<i32, Box<dyn Error>> {
    let dir = tempfile::Builder::new().prefix("embed-runtime").tempdir()?;
    let bundle = dir.path().join("bundle");
    make_bundle(&bundle, &["echo", "hello"])
        .map_err(|e| format!("make a busybox bundle in {}: {e}", bundle.display()))?;

    // The container's stdout and stderr go to a file we read afterwards.
    let out_path = dir.path().join("out");
    let out = std::fs::File::create(&out_path)?;
    let mut options = CreateOptions::new();
    options.stdout(out.try_clone()?).stderr(out);

    let rt = AsyncRuntime::new(dir.path().join("state"));
    // create + start + wait + delete, on tokio's blocking pool.
    let status = rt.run("embed-hello", &bundle, options).await?;
    let output = std::fs::read_to_string(&out_path)?;
    print!("container said: {output}");
    println!("container exited with {}", status.code());
    Ok(status.code())
}

/// A bundle whose rootfs holds busybox (and a link to it for `args[0]`)
/// and whose config.json runs `args`.
fn make_bundle(bundle: &Path, args: &[&str]) -> std::io::Result<()> {
    let rootfs = bundle.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d))?;
    }
    std::fs::copy(BUSYBOX, rootfs.join("bin/busybox"))
        .map_err(|e| std::io::Error::new(e.kind(), format!("copy {BUSYBOX}: {e}")))?;
    std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(args[0]))?;

    let mut spec = Spec::default_linux();
    let process = spec
        .process
        .as_mut()
        .expect("the default spec has a process");
    process.terminal = false;
    process.args = args.iter().map(|a| a.to_string()).collect();
    std::fs::write(bundle.join("config.json"), spec.to_pretty_string())
}
