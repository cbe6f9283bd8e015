//! Layer pack and unpack speed against GNU tar and umoci, in one run on
//! this machine. Prints a table; not a test.
//!
//! `cargo bench --bench unpack` (as root, with tar, zstd and umoci
//! installed). The layer is made from `/usr/share` (or `OCIKIT_BENCH_SRC`)
//! and everything is unpacked on tmpfs (`/dev/shm`), as the host notes ask.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ocikit::image::{pack, unpack, ImageBuilder, Layout, PackOptions, UnpackOptions};
use ocikit::types::{Compression, MediaType, Platform};

const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fresh(dir: &Path) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    dir.to_owned()
}

fn time(mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let src =
        PathBuf::from(std::env::var("OCIKIT_BENCH_SRC").unwrap_or_else(|_| "/usr/share".into()));
    let work = fresh(Path::new("/dev/shm/ocikit-bench"));
    let mb = |bytes: u64, d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();

    // Pack: ours (three compressions) against tar.
    let mut rows: Vec<(String, f64, Duration)> = Vec::new();
    let mut packed = Vec::new();
    let mut uncompressed = 0;
    for (name, c, ext) in [
        ("none", Compression::None, "tar"),
        ("gzip", Compression::Gzip, "tar.gz"),
        ("zstd", Compression::Zstd, "tar.zst"),
    ] {
        let path = work.join(format!("layer.{ext}"));
        let mut opts = PackOptions::new();
        opts.compression(c);
        let mut report = None;
        let d = median(
            (0..RUNS)
                .map(|_| {
                    time(|| {
                        let f = std::io::BufWriter::with_capacity(
                            1 << 20,
                            std::fs::File::create(&path).unwrap(),
                        );
                        report = Some(pack(&src, f, &opts).unwrap());
                    })
                })
                .collect(),
        );
        let report = report.unwrap();
        uncompressed = report.uncompressed_size;
        rows.push((
            format!("pack {name}: ocikit"),
            mb(report.uncompressed_size, d),
            d,
        ));
        packed.push((name, c, path, report));
    }
    for (name, flag) in [("none", ""), ("gzip", "-z"), ("zstd", "--zstd")] {
        let out = work.join("tar-out");
        let d = median(
            (0..RUNS)
                .map(|_| {
                    time(|| {
                        let mut cmd = Command::new("tar");
                        cmd.arg("-C").arg(&src).arg("-cf").arg(&out);
                        if !flag.is_empty() {
                            cmd.arg(flag);
                        }
                        cmd.arg(".");
                        sh(&mut cmd);
                    })
                })
                .collect(),
        );
        rows.push((
            format!(
                "pack {name}: tar -c{}",
                if flag.is_empty() { "" } else { flag }
            ),
            mb(uncompressed, d),
            d,
        ));
    }
    let _ = std::fs::remove_file(work.join("tar-out"));

    // Unpack: ours, with both digests verified, against tar and umoci.
    for (name, c, path, report) in &packed {
        let dst = work.join("dst");
        let d = median(
            (0..RUNS)
                .map(|_| {
                    fresh(&dst);
                    time(|| {
                        let mut o = UnpackOptions::new();
                        o.expected_blob_digest(report.blob_digest.clone())
                            .expected_diff_id(report.diff_id.clone())
                            .compression(*c);
                        let f = std::fs::File::open(path).unwrap();
                        unpack(f, &dst, &o).unwrap();
                    })
                })
                .collect(),
        );
        rows.push((
            format!("unpack {name}: ocikit (both digests)"),
            mb(report.uncompressed_size, d),
            d,
        ));
        let flag = match *name {
            "gzip" => "-z",
            "zstd" => "--zstd",
            _ => "",
        };
        let d = median(
            (0..RUNS)
                .map(|_| {
                    fresh(&dst);
                    time(|| {
                        let mut cmd = Command::new("tar");
                        cmd.arg("-C").arg(&dst).arg("-xf").arg(path);
                        if !flag.is_empty() {
                            cmd.arg(flag);
                        }
                        sh(&mut cmd);
                    })
                })
                .collect(),
        );
        rows.push((
            format!("unpack {name}: tar -x{flag} (no digests)"),
            mb(report.uncompressed_size, d),
            d,
        ));
    }
    if have("umoci") {
        let layout = Layout::create(work.join("layout")).unwrap();
        let (_, _, path, report) = &packed[1];
        let desc = layout
            .write_blob_from(
                std::fs::File::open(path).unwrap(),
                ocikit::types::Algorithm::Sha256,
                Some((&report.blob_digest, report.size)),
            )
            .unwrap();
        let mut b = ImageBuilder::new(&layout, Platform::host());
        b.add_layer(
            ocikit::types::Descriptor::new(MediaType::ImageLayerGzip, desc.0, desc.1),
            report.diff_id.clone(),
            None,
        );
        layout.tag("bench", b.write().unwrap()).unwrap();
        let dst = work.join("umoci");
        let d = median(
            (0..RUNS)
                .map(|_| {
                    let _ = std::fs::remove_dir_all(&dst);
                    time(|| {
                        sh(Command::new("umoci")
                            .args(["unpack", "--image"])
                            .arg(format!("{}:bench", work.join("layout").display()))
                            .arg(&dst))
                    })
                })
                .collect(),
        );
        rows.push((
            "unpack gzip: umoci unpack".into(),
            mb(report.uncompressed_size, d),
            d,
        ));
    }
    let files = packed[0].3.entries;
    println!("\nlayer: {} ({} entries, {:.0} MiB uncompressed; gzip {:.0} MiB, zstd {:.0} MiB), median of {RUNS}",
        src.display(), files, uncompressed as f64 / 1048576.0,
        packed[1].3.size as f64 / 1048576.0, packed[2].3.size as f64 / 1048576.0);
    println!("| operation | MB/s (uncompressed) | median time |");
    println!("|---|---|---|");
    for (name, rate, d) in rows {
        println!("| {name} | {rate:.0} | {:.2} s |", d.as_secs_f64());
    }
    let _ = std::fs::remove_dir_all(&work);
}
