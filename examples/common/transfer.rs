//! Shared by the `copy`, `pull` and `push` examples: moving images between
//! registries (`docker://REFERENCE`) and image layouts (`oci:DIR[:TAG]`)
//! with progress bars.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use ocikit::distribution::{ClientBuilder, Credentials, Platforms, Progress};
use ocikit::image::Layout;
use ocikit::types::{Platform, Reference};

enum Location {
    Registry(Reference),
    Layout(String, String),
}

fn parse(arg: &str) -> Result<Location, Box<dyn std::error::Error>> {
    if let Some(r) = arg.strip_prefix("docker://") {
        // The reference's error names the input and what it expected.
        return Ok(Location::Registry(r.parse()?));
    }
    if let Some(rest) = arg.strip_prefix("oci:") {
        let (dir, tag) = rest.rsplit_once(':').unwrap_or((rest, "latest"));
        return Ok(Location::Layout(dir.to_owned(), tag.to_owned()));
    }
    Err(format!("{arg}: expected docker://REFERENCE or oci:DIR[:TAG]").into())
}

/// Progress bars, one per blob, from the client's events.
fn bars() -> impl Fn(Progress) + Send + Sync + 'static {
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{msg:20} {bar:40} {bytes:>10}/{total_bytes:10} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let bars: Arc<Mutex<HashMap<String, ProgressBar>>> = Arc::default();
    move |p| {
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        match p {
            Progress::Started { digest, size } => {
                let b = multi.add(ProgressBar::new(size));
                b.set_style(style.clone());
                b.set_message(digest.encoded()[..12].to_owned());
                bars.insert(digest.to_string(), b);
            }
            Progress::Bytes { digest, done, .. } => {
                if let Some(b) = bars.get(digest.as_str()) {
                    b.set_position(done);
                }
            }
            Progress::Finished { digest } => {
                if let Some(b) = bars.remove(digest.as_str()) {
                    b.finish_with_message(format!("{} done", &digest.encoded()[..12]));
                }
            }
            Progress::Skipped { digest } => {
                let _ = multi.println(format!("{} already there", &digest.encoded()[..12]));
            }
            _ => {}
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = ClientBuilder::new();
    builder
        .insecure_http_host("127.0.0.1")
        .insecure_http_host("localhost");
    let mut platforms = Platforms::All;
    let mut positional = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--insecure" => {
                builder.insecure_http_host(&it.next().ok_or("--insecure needs a host")?);
            }
            "--platform" => {
                let p: Platform = it.next().ok_or("--platform needs a value")?.parse()?;
                platforms = Platforms::Only(p);
            }
            "--creds" => {
                let c = it.next().ok_or("--creds needs USER:PASSWORD")?;
                let (u, p) = c.split_once(':').ok_or("--creds needs USER:PASSWORD")?;
                positional.push(format!("\0creds\0{u}\0{p}"));
            }
            _ => positional.push(a),
        }
    }
    let creds: Vec<String> = positional
        .iter()
        .filter(|p| p.starts_with('\0'))
        .cloned()
        .collect();
    positional.retain(|p| !p.starts_with('\0'));
    let [src, dst] = positional.as_slice() else {
        return Err("usage: copy [--insecure HOST] [--platform P] [--creds U:P] SRC DST".into());
    };
    let (src, dst) = (parse(src)?, parse(dst)?);
    for c in creds {
        let parts: Vec<&str> = c.split('\0').collect();
        for loc in [&src, &dst] {
            if let Location::Registry(r) = loc {
                builder.credentials(r.registry(), Credentials::basic(parts[2], parts[3]));
            }
        }
    }
    builder.progress(bars());
    let client = builder.build()?;
    let started = std::time::Instant::now();
    let digest = match (&src, &dst) {
        (Location::Registry(r), Location::Layout(dir, tag)) => {
            // Creates the layout only once the registry answered.
            let (layout, desc) = client.pull_image_to(r, dir, &platforms).await?;
            layout.tag(tag, desc.clone())?;
            desc.digest
        }
        (Location::Layout(dir, tag), Location::Registry(r)) => {
            let layout = Layout::open(dir)?;
            let desc = layout.resolve(tag)?;
            let desc = match &platforms {
                Platforms::Only(p) => layout.resolve_platform(&desc, p)?,
                _ => desc,
            };
            client.push_image(&layout, &desc, r).await?
        }
        (Location::Registry(a), Location::Registry(b)) => {
            client.copy_image(a, b, &platforms).await?
        }
        (Location::Layout(..), Location::Layout(..)) => {
            return Err("layout to layout: use ocikit::image::export_layout / import_layout".into())
        }
    };
    outln!(
        "copied {digest} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs a transfer with `args` (flags and two locations) and reports the
/// outcome as an exit code.
pub(crate) fn main_with(args: Vec<String>) -> ExitCode {
    crate::cli::block_on_main(run(args))
}

/// For `pull` and `push`: prefixes the first two positional arguments
/// (`docker://`, `oci:`) and runs the transfer.
#[allow(dead_code)] // `copy` includes this file too and takes locations as they are.
pub(crate) fn main_prefixed(src: &str, dst: &str, usage: &str) -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<usize> = (0..args.len())
        .filter(|&i| !args[i].starts_with("--") && (i == 0 || !args[i - 1].starts_with("--")))
        .take(2)
        .collect();
    let [s, d] = positional[..] else {
        eprintln!("{usage}");
        return ExitCode::FAILURE;
    };
    args[s] = format!("{src}{}", args[s]);
    args[d] = format!("{dst}{}", args[d]);
    main_with(args)
}
