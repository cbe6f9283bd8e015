//! Push and pull speed against a local registry, ocikit against skopeo, in
//! one run on this machine. Prints a markdown table; not a test.
//!
//! `cargo bench --bench registry` (with `docker-registry` and `skopeo`
//! installed). The image has four layers of 64 MiB of pseudo-random bytes
//! (uncompressed media type, so nothing is compressed on the way). Layouts
//! and the registry's storage live on tmpfs (`/dev/shm`), so the disk is not
//! what is measured. Each push goes to a fresh registry; every pull reads
//! one registry that ocikit filled before timing and goes to a fresh
//! layout. The runs alternate between the tools.
//!
//! CPU seconds are user + system time of the client only: for ocikit this
//! process's own (`/proc/self/stat`), for skopeo its children's, taken around
//! the `skopeo copy` it waited for. The registry's CPU is excluded for both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ocikit::distribution::{Client, ClientBuilder, Platforms};
use ocikit::image::{ImageBuilder, Layout};
use ocikit::types::{Descriptor, Digest, MediaType, Platform, Reference};
use testkit::registry::Registry;

const RUNS: usize = 3;
const LAYERS: usize = 4;
const LAYER_SIZE: usize = 64 << 20;
const WORK: &str = "/dev/shm/ocikit-bench-registry";

/// A fresh `docker-registry` on 127.0.0.1 with its storage in `dir`.
fn start_registry(dir: &Path) -> Registry {
    let _ = std::fs::remove_dir_all(dir);
    Registry::start_in(dir, "").expect("docker-registry")
}

/// CPU seconds (user + system) of this process and of its waited-for
/// children, from `/proc/self/stat` (clock ticks of 1/100 s).
fn cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14-17 (11-14 here).
    ((f[11] + f[12]) / 100.0, (f[13] + f[14]) / 100.0)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skopeo(args: &[String]) {
    let out = Command::new("skopeo").args(args).output().expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build_image(layout: &Layout) -> (Descriptor, u64) {
    let mut b = ImageBuilder::new(layout, Platform::new("linux", "amd64"));
    let mut total = 0;
    for i in 0..LAYERS {
        let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut data = vec![0u8; LAYER_SIZE];
        for chunk in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        let blob = layout.write_blob(MediaType::ImageLayer, &data).unwrap();
        total += blob.size;
        b.add_layer(blob, Digest::sha256(&data), Some(&format!("layer {i}")));
    }
    let desc = b.write().unwrap();
    (desc, total)
}

fn client(addr: &str) -> Client {
    ClientBuilder::new()
        .insecure_http_host(addr)
        .build()
        .unwrap()
}

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    dir.to_owned()
}

struct Sample {
    wall: Duration,
    cpu: f64,
}

fn main() {
    if !have("docker-registry") || !have("skopeo") {
        eprintln!("docker-registry or skopeo not installed: bench skipped");
        return;
    }
    let work = Path::new(WORK);
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let src_dir = work.join("src");
    let src = Layout::create(&src_dir).unwrap();
    let (image, bytes) = build_image(&src);
    src.tag("v1", image.clone()).unwrap();

    // The registry every pull reads, filled before timing.
    let source = start_registry(&work.join("registry-source"));
    let source_ref: Reference = format!("{}/bench/src:v1", source.addr).parse().unwrap();
    rt.block_on(client(&source.addr).push_image(&src, &image, &source_ref))
        .unwrap();

    let names = ["ocikit push", "skopeo push", "ocikit pull", "skopeo pull"];
    let mut samples: Vec<Vec<Sample>> = (0..names.len()).map(|_| Vec::new()).collect();
    for run in 0..RUNS {
        // Alternate which tool goes first.
        let order: [usize; 4] = if run % 2 == 0 {
            [0, 1, 2, 3]
        } else {
            [1, 0, 3, 2]
        };
        for which in order {
            let s = match which {
                0 => {
                    let reg = start_registry(&work.join("registry-push"));
                    let r: Reference = format!("{}/bench/ocikit:v1", reg.addr).parse().unwrap();
                    let c = client(&reg.addr);
                    let (cpu0, _) = cpu();
                    let t = Instant::now();
                    let d = rt.block_on(c.push_image(&src, &image, &r)).unwrap();
                    let wall = t.elapsed();
                    let (cpu1, _) = cpu();
                    assert_eq!(d, image.digest);
                    Sample {
                        wall,
                        cpu: cpu1 - cpu0,
                    }
                }
                1 => {
                    let reg = start_registry(&work.join("registry-push"));
                    let (_, c0) = cpu();
                    let t = Instant::now();
                    skopeo(&[
                        "copy".into(),
                        "--quiet".into(),
                        "--preserve-digests".into(),
                        "--dest-tls-verify=false".into(),
                        format!("oci:{}:v1", src_dir.display()),
                        format!("docker://{}/bench/skopeo:v1", reg.addr),
                    ]);
                    let wall = t.elapsed();
                    let (_, c1) = cpu();
                    Sample { wall, cpu: c1 - c0 }
                }
                2 => {
                    let dst = fresh(&work.join("pull-ocikit"));
                    let c = client(&source.addr);
                    let (cpu0, _) = cpu();
                    let t = Instant::now();
                    let layout = Layout::create(&dst).unwrap();
                    let d = rt
                        .block_on(c.pull_image(&source_ref, &layout, &Platforms::All))
                        .unwrap();
                    let wall = t.elapsed();
                    let (cpu1, _) = cpu();
                    assert_eq!(d.digest, image.digest);
                    Sample {
                        wall,
                        cpu: cpu1 - cpu0,
                    }
                }
                _ => {
                    let dst = fresh(&work.join("pull-skopeo"));
                    let (_, c0) = cpu();
                    let t = Instant::now();
                    skopeo(&[
                        "copy".into(),
                        "--quiet".into(),
                        "--preserve-digests".into(),
                        "--src-tls-verify=false".into(),
                        format!("docker://{source_ref}"),
                        format!("oci:{}:v1", dst.display()),
                    ]);
                    let wall = t.elapsed();
                    let (_, c1) = cpu();
                    Sample { wall, cpu: c1 - c0 }
                }
            };
            samples[which].push(s);
        }
    }
    drop(source);

    let mb = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "\n{LAYERS} layers x {} MiB ({:.1} MB of layers), {RUNS} runs each, registry and layouts on tmpfs\n",
        LAYER_SIZE >> 20,
        bytes as f64 / 1e6
    );
    println!("| operation | MB/s median | MB/s runs | client CPU s median | CPU s runs |");
    println!("|---|---:|---|---:|---|");
    for (name, s) in names.iter().zip(&samples) {
        let mut walls: Vec<Duration> = s.iter().map(|x| x.wall).collect();
        let mut cpus: Vec<f64> = s.iter().map(|x| x.cpu).collect();
        let runs_mb: Vec<String> = walls.iter().map(|w| format!("{:.0}", mb(*w))).collect();
        let runs_cpu: Vec<String> = cpus.iter().map(|c| format!("{c:.2}")).collect();
        walls.sort();
        cpus.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.0} | {} | {:.2} | {} |",
            mb(walls[walls.len() / 2]),
            runs_mb.join(", "),
            cpus[cpus.len() / 2],
            runs_cpu.join(", ")
        );
    }
    println!("\nCPU excludes the registry's for both tools.");
    let _ = std::fs::remove_dir_all(work);
}
