//! The registry server against CNCF Distribution, side by side in one run
//! on this machine: `ocikit-registry serve` (the release binary) and
//! Debian's `docker-registry`, both from the same `config.yml`, both with
//! filesystem storage on the same disk. Prints markdown tables; not a test.
//!
//! ```text
//! cargo build --release -p ocikit-registry
//! cargo bench --bench registry_server
//! ```
//!
//! Needs `docker-registry`, `skopeo` and `wrk`. The binary is taken from
//! `OCIKIT_REGISTRY_BIN`, else from the `target/release/` this bench was
//! built into.
//!
//! 1. Push and pull of an image of 4 gzip layers of 64 MiB (noise, made
//!    once) with skopeo (`--preserve-digests`, from an OCI layout) and with
//!    ocikit's client. Each push goes to a fresh server; the pulls read one
//!    server per kind filled before timing and write to tmpfs. Reported: wall
//!    time and the *server's* CPU seconds (user + system from
//!    `/proc/PID/stat`, before and after) per GiB moved.
//! 2. The manifest by tag under 32 connections for 10 s: GET with `wrk
//!    --latency` (2 threads), HEAD with a small client in this process
//!    (wrk cannot do HEAD): requests per second, p50 and p99.
//! 3. Memory and start-up: spawn to the first 200 on `/v2/` (median of 5
//!    starts), idle RSS, and the peak RSS (`VmHWM`, reset through
//!    `clear_refs` before each step) while ocikit's client pushes a 1 GiB
//!    blob (one streamed PUT) and then streams it back.
//!
//! Storage is left in place until the end of the run: deleting large
//! trees slows file creation on this disk for minutes.

mod load;
mod server;
mod transfer;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ocikit::image::Layout;
use ocikit::types::{MediaType, Reference};

use server::{Kind, Server};
use transfer::{Sample, Tool};

const RUNS: usize = 3;
const STARTS: usize = 5;
const WORK: &str = "/var/tmp/ocikit-bench-registry-server";
const SHM: &str = "/dev/shm/ocikit-bench-registry-server";
const BIG: usize = 1 << 30;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The `ocikit-registry` release binary.
fn ocikit_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCIKIT_REGISTRY_BIN") {
        return Some(p.into());
    }
    // This bench runs from target/release/deps/.
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("ocikit-registry");
    p.is_file().then_some(p)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn median<T: Copy + PartialOrd>(v: &[T]) -> T {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let missing: Vec<_> = ["docker-registry", "skopeo", "wrk"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        eprintln!("{} not installed: bench skipped", missing.join(", "));
        return;
    }
    let Some(bin) = ocikit_binary() else {
        eprintln!(
            "no ocikit-registry binary: run `cargo build --release -p ocikit-registry` \
             (or set OCIKIT_REGISTRY_BIN): bench skipped"
        );
        return;
    };
    let (work, shm) = (Path::new(WORK), Path::new(SHM));
    for d in [work, shm] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let load_before = loadavg();
    let started = Instant::now();

    let src_dir = work.join("src");
    let src = Layout::create(&src_dir).unwrap();
    let (image, bytes) = transfer::build_image(&src);
    let gib = bytes as f64 / (1u64 << 30) as f64;

    // Start-up, on empty storage.
    let mut startup: [Vec<Duration>; 2] = Default::default();
    for i in 0..STARTS {
        for (k, kind) in Kind::BOTH.into_iter().enumerate() {
            let s = Server::start(kind, &bin, &work.join(format!("start-{k}-{i}")));
            startup[k].push(s.startup);
        }
    }

    // Transfers: [kind][tool] samples.
    let mut pushes: [[Vec<Sample>; 2]; 2] = Default::default();
    let mut pulls: [[Vec<Sample>; 2]; 2] = Default::default();
    for run in 0..RUNS {
        for (t, tool) in Tool::BOTH.into_iter().enumerate() {
            for k in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
                let dir = work.join(format!("push-{k}-{t}-{run}"));
                let s = Server::start(Kind::BOTH[k], &bin, &dir);
                pushes[k][t].push(transfer::push(&rt, tool, &s, &src_dir, &image));
            }
        }
    }
    let pull_servers: Vec<Server> = Kind::BOTH
        .into_iter()
        .enumerate()
        .map(|(k, kind)| {
            let s = Server::start(kind, &bin, &work.join(format!("pull-{k}")));
            transfer::push(&rt, Tool::Ocikit, &s, &src_dir, &image);
            s
        })
        .collect();
    for run in 0..RUNS {
        for (t, tool) in Tool::BOTH.into_iter().enumerate() {
            for k in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
                let dst = shm.join("pull");
                pulls[k][t].push(transfer::pull(&rt, tool, &pull_servers[k], &dst, &image));
            }
        }
    }
    let _ = std::fs::remove_dir_all(shm.join("pull"));

    // Manifest requests, on the pull servers.
    let path = "/v2/bench/img/manifests/v1";
    let mut gets = Vec::new();
    let mut heads = Vec::new();
    let mut rss_loaded = Vec::new();
    for s in &pull_servers {
        gets.push(load::wrk_get(&format!("http://{}{path}", s.addr)));
        heads.push(rt.block_on(load::head(&s.addr, path)));
        rss_loaded.push(s.mem_mib("VmRSS"));
    }
    drop(pull_servers);

    // Memory with a 1 GiB blob.
    let big_dir = shm.join("big");
    let big = Layout::create(&big_dir).unwrap();
    let big_desc = big
        .write_blob(MediaType::ImageLayer, &transfer::noise(99, BIG))
        .unwrap();
    let mut mem = Vec::new();
    for (k, kind) in Kind::BOTH.into_iter().enumerate() {
        let s = Server::start(kind, &bin, &work.join(format!("big-{k}")));
        std::thread::sleep(Duration::from_millis(500));
        let idle = s.mem_mib("VmRSS");
        let r: Reference = format!("{}/bench/big:v1", s.addr).parse().unwrap();
        let c = transfer::client(&s.addr);
        s.reset_peak();
        rt.block_on(c.push_blob(&r, &big_desc, &big)).unwrap();
        let push_peak = s.mem_mib("VmHWM");
        s.reset_peak();
        let received = rt.block_on(async {
            let mut stream = Box::pin(c.blob_stream(&r, &big_desc).await.unwrap());
            let mut n = 0;
            while let Some(chunk) = stream.next().await {
                n += chunk.unwrap().len();
            }
            n
        });
        assert_eq!(received, BIG);
        let pull_peak = s.mem_mib("VmHWM");
        mem.push((idle, push_peak, pull_peak));
    }
    let _ = std::fs::remove_dir_all(&big_dir);

    let elapsed = started.elapsed();
    let load_after = loadavg();
    let _ = std::fs::remove_dir_all(work);
    let _ = std::fs::remove_dir_all(shm);

    report(Report {
        gib,
        bytes,
        pushes,
        pulls,
        gets,
        heads,
        rss_loaded,
        startup,
        mem,
        load: (load_before, load_after),
        elapsed,
    });
}

struct Report {
    gib: f64,
    bytes: u64,
    pushes: [[Vec<Sample>; 2]; 2],
    pulls: [[Vec<Sample>; 2]; 2],
    gets: Vec<load::Load>,
    heads: Vec<load::Load>,
    rss_loaded: Vec<f64>,
    startup: [Vec<Duration>; 2],
    mem: Vec<(f64, f64, f64)>,
    load: (String, String),
    elapsed: Duration,
}

fn report(r: Report) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "\nocikit-registry against docker-registry; {RUNS} runs each, medians; storage on the same disk (ext4)"
    );
    println!(
        "load average before {}, after {}; the run took {:.0} s\n",
        r.load.0,
        r.load.1,
        r.elapsed.as_secs_f64()
    );
    println!(
        "Image: {} gzip layers x {} MiB ({:.1} MB)\n",
        transfer::LAYERS,
        transfer::LAYER_SIZE >> 20,
        r.bytes as f64 / 1e6
    );
    println!("| operation | client | server | wall s | MB/s | server CPU s/GiB (runs) | ocikit / docker CPU |");
    println!("|---|---|---|---:|---:|---|---:|");
    for (op, samples) in [("push", &r.pushes), ("pull", &r.pulls)] {
        for (t, tool) in Tool::BOTH.into_iter().enumerate() {
            let per_gib: Vec<Vec<f64>> = (0..2)
                .map(|k| samples[k][t].iter().map(|s| s.server_cpu / r.gib).collect())
                .collect();
            for (k, kind) in Kind::BOTH.into_iter().enumerate() {
                let wall = median(&samples[k][t].iter().map(|s| s.wall).collect::<Vec<_>>());
                let runs: Vec<String> = per_gib[k].iter().map(|c| format!("{c:.2}")).collect();
                let ratio = if k == 0 {
                    format!("{:.2}", median(&per_gib[0]) / median(&per_gib[1]))
                } else {
                    String::new()
                };
                println!(
                    "| {op} | {} | {} | {:.2} | {:.0} | {:.2} ({}) | {ratio} |",
                    tool.name(),
                    kind.name(),
                    wall.as_secs_f64(),
                    r.bytes as f64 / 1e6 / wall.as_secs_f64(),
                    median(&per_gib[k]),
                    runs.join(", "),
                );
            }
        }
    }
    println!(
        "\nManifest by tag, {} connections, {} s\n",
        load::CONNECTIONS,
        load::DURATION.as_secs()
    );
    println!("| request | server | requests/s | p50 ms | p99 ms | ocikit / docker req/s |");
    println!("|---|---|---:|---:|---:|---:|");
    for (req, loads) in [("GET (wrk)", &r.gets), ("HEAD", &r.heads)] {
        for (k, kind) in Kind::BOTH.into_iter().enumerate() {
            let ratio = if k == 0 {
                format!("{:.1}", loads[0].rps / loads[1].rps)
            } else {
                String::new()
            };
            println!(
                "| {req} | {} | {:.0} | {:.2} | {:.2} | {ratio} |",
                kind.name(),
                loads[k].rps,
                ms(loads[k].p50),
                ms(loads[k].p99),
            );
        }
    }
    println!("\nMemory and start-up\n");
    println!("| server | start-up ms (runs) | idle RSS MiB | peak RSS pushing 1 GiB | peak RSS pulling 1 GiB | RSS after the manifest load |");
    println!("|---|---|---:|---:|---:|---:|");
    for (k, kind) in Kind::BOTH.into_iter().enumerate() {
        let runs: Vec<String> = r.startup[k]
            .iter()
            .map(|d| format!("{:.0}", ms(*d)))
            .collect();
        let (idle, push, pull) = r.mem[k];
        println!(
            "| {} | {:.1} ({}) | {idle:.1} | {push:.1} | {pull:.1} | {:.1} |",
            kind.name(),
            ms(median(&r.startup[k])),
            runs.join(", "),
            r.rss_loaded[k],
        );
    }
}
