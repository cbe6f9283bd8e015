//! The main demo: the three OCI specifications working together, offline.
//!
//! ```text
//! cargo run --example demo                              # build, store, validate, unpack, run
//! cargo run --example demo -- --registry 127.0.0.1:5000 # ... and push to / pull from a registry
//! cargo run --example demo -- --keep /tmp/ocikit-demo   # keep the layout and bundle there
//! ```
//!
//! It builds an image from a tiny rootfs (Debian's busybox-static when
//! installed, else a static program it compiles, else a rootfs with one
//! file), writes it to an OCI image layout, validates every document and
//! blob, pushes it to a registry and pulls it back when one is given,
//! unpacks it into a runtime bundle, and runs it as a container when run as
//! root.

#[macro_use]
#[path = "common/out.rs"]
mod out;
#[path = "common/chain.rs"]
mod chain;
#[path = "common/rootfs.rs"]
mod rootfs;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ocikit::distribution::{ClientBuilder, Platforms};
use ocikit::image::{create_bundle, ImageBuilder, Layout, PackOptions, UnpackOptions};
use ocikit::runtime::{CreateOptions, Runtime};
use ocikit::types::{
    annotation, Document, ImageConfiguration, ImageManifest, Platform, Raw, Reference,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn step(n: u32, what: &str) {
    outln!("\n[{n}/6] {what}");
}

fn done(started: Instant) -> String {
    format!("{:.1} ms", started.elapsed().as_secs_f64() * 1000.0)
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("      {spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_owned());
    pb.enable_steady_tick(Duration::from_millis(80));
    pb
}

fn run(args: Vec<String>) -> Result<()> {
    let mut registry = None;
    let mut keep = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--registry" => registry = Some(it.next().ok_or("--registry needs HOST:PORT")?),
            "--keep" => keep = Some(PathBuf::from(it.next().ok_or("--keep needs a directory")?)),
            other => {
                return Err(
                    format!("unknown argument {other:?}; see the file's header for usage").into(),
                )
            }
        }
    }
    let tmp = tempfile::tempdir()?;
    let work = keep.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&work)?;
    outln!(
        "ocikit demo: image-spec, distribution-spec and runtime-spec together; working in {}",
        work.display()
    );

    step(1, "a root filesystem");
    let rootfs = work.join("src-rootfs");
    let _ = std::fs::remove_dir_all(&rootfs);
    let (what, cmd) = rootfs::make(&rootfs)?;
    outln!("      {what}");

    step(2, "an image in an OCI image layout");
    let t = Instant::now();
    let layout_dir = work.join("layout");
    let _ = std::fs::remove_dir_all(&layout_dir);
    let layout = Layout::create(&layout_dir)?;
    let mut image = ImageBuilder::new(&layout, Platform::host());
    let pb = spinner("packing the rootfs into a gzip layer");
    let layer = image.add_layer_from_dir(&rootfs, &PackOptions::new(), Some("COPY rootfs /"))?;
    pb.finish_and_clear();
    image.config_mut().cmd = Some(cmd);
    image.config_mut().env = Some(vec!["PATH=/bin".into()]);
    image.annotate(annotation::TITLE, "ocikit demo");
    let manifest = image.write()?;
    layout.tag("demo", manifest.clone())?;
    outln!(
        "      layer    {} ({} bytes, {})",
        layer.digest,
        layer.size,
        layer.media_type
    );
    outln!(
        "      manifest {} ({} bytes), tagged demo in {}",
        manifest.digest,
        manifest.size,
        layout_dir.display()
    );
    outln!("      took {}", done(t));

    step(
        3,
        "validation: documents against the specs, blobs against their digests",
    );
    let t = Instant::now();
    let layout = Layout::open(&layout_dir)?;
    let m: Raw<ImageManifest> = layout.read_document(&layout.resolve("demo")?)?;
    m.value().validate()?;
    let c: Raw<ImageConfiguration> = layout.read_document(&m.value().config)?;
    c.value().validate()?;
    let mut bytes = 0;
    for blob in std::iter::once(&m.value().config).chain(&m.value().layers) {
        bytes += layout.read_blob(blob)?.len();
    }
    outln!(
        "      manifest, config and index valid; {} blobs ({bytes} bytes) verified; took {}",
        m.value().layers.len() + 1,
        done(t)
    );

    let mut run_from = (layout_dir.clone(), manifest.clone());
    step(4, "a registry round trip");
    match &registry {
        None => outln!("      skipped: give --registry HOST:PORT (see the README for starting Debian's docker-registry)"),
        Some(host) => {
            let t = Instant::now();
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            let client = ClientBuilder::new().insecure_http_host(host).build()?;
            let r: Reference = format!("{host}/ocikit/demo:latest").parse()?;
            let pb = spinner(&format!("pushing to {r}"));
            let pushed = rt.block_on(client.push_image(&layout, &manifest, &r))?;
            pb.finish_and_clear();
            outln!("      pushed {r} as {pushed}");
            let pulled_dir = work.join("pulled");
            let _ = std::fs::remove_dir_all(&pulled_dir);
            let pulled = Layout::create(&pulled_dir)?;
            let pb = spinner("pulling it back");
            let desc = rt.block_on(client.pull_image(&r, &pulled, &Platforms::Only(Platform::host())))?;
            pb.finish_and_clear();
            pulled.tag("demo", desc.clone())?;
            if desc.digest != manifest.digest {
                return Err(format!("pulled {} but pushed {}", desc.digest, manifest.digest).into());
            }
            outln!("      pulled it back into {}: same digest; took {}", pulled_dir.display(), done(t));
            run_from = (pulled_dir, desc);
        }
    }

    step(
        5,
        "a runtime bundle (rootfs + config.json, per conversion.md)",
    );
    let t = Instant::now();
    let bundle = work.join("bundle");
    let _ = std::fs::remove_dir_all(&bundle);
    let from = Layout::open(&run_from.0)?;
    let mut report = create_bundle(&from, &run_from.1, &bundle, &UnpackOptions::new())?;
    report.spec.hostname = "ocikit-demo".into();
    std::fs::write(bundle.join("config.json"), report.spec.to_pretty_string())?;
    let entries: u64 = report.layers.iter().map(|l| l.entries).sum();
    outln!(
        "      {} layer(s), {entries} entries, diff IDs verified; args {:?}; took {}",
        report.layers.len(),
        report
            .spec
            .process
            .as_ref()
            .map(|p| p.args.clone())
            .unwrap_or_default(),
        done(t)
    );

    step(6, "a container");
    if !rustix::process::geteuid().is_root() {
        outln!("      stopped here: running a container needs root (namespaces, mounts, cgroups).");
        outln!("      as root: sudo cargo run --example demo");
    } else {
        let t = Instant::now();
        let state = work.join("runtime-state");
        let runtime = Runtime::new(&state);
        let id = format!("ocikit-demo-{}", std::process::id());
        outln!("      --- container output ---");
        let status = runtime.run(&id, &bundle, CreateOptions::new())?;
        outln!(
            "      --- exit code {} after {} ---",
            status.code(),
            done(t)
        );
    }
    if keep.is_some() {
        outln!("\nkept in {}", work.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            chain::print(&*e);
            ExitCode::FAILURE
        }
    }
}
