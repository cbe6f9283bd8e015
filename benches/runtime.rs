//! Container start cost against runc and crun, in one run on this
//! machine. Prints a table; not a test.
//!
//! As root: `cargo bench --bench runtime [-- RUNS]` (default 50 runs, or
//! `OCIKIT_BENCH_RUNS`). It first builds `ocikit-runc`
//! (`cargo build --release -p ocikit-runc`), unless
//! `OCIKIT_BENCH_RUNC` names the binary to use. runc and crun come from
//! `PATH`; a missing one is left out.
//!
//! The container is busybox `/bin/true` with the config of `runc spec`
//! (terminal off), on tmpfs. For fairness every runtime runs in one
//! private mount namespace where `/sys/fs/cgroup/unified` is unmounted, so
//! all three see the same pure cgroup v1 layout (crun refuses this host's
//! hybrid one): the bench re-executes itself under
//! `unshare -m --propagation private` before spawning anything, and calls
//! crun directly there.
//!
//! Each iteration runs every runtime once, in a rotating order, through:
//! - `run ID`: create, start, wait and delete in one command;
//! - the phases as separate commands: `create --pid-file`, `start`, the
//!   wait until the container process is gone or a zombie (polling
//!   `/proc`), and `delete`.
//!
//! Then each runtime runs `run` RUNS times alone, back to back, and RUNS
//! times with a 100 ms pause before each run (a second table).
//!
//! Peak RSS is `ru_maxrss` from wait4(2) on the `run` command: the
//! largest peak of the runtime process and of every descendant it reaped
//! (its re-executed init stages and the container process, whose peak
//! survives its execve), not their sum, and not a process reaped
//! elsewhere. The command is forked (not vforked) from the bench, so the
//! bench's own anonymous memory is a floor under it; the floor is printed.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NS_ENV: &str = "OCIKIT_BENCH_IN_NS";

/// The pause before each run of the spaced table.
const SPACED: Duration = Duration::from_millis(100);

struct Tool {
    name: &'static str,
    program: PathBuf,
    root: PathBuf,
}

/// One measured command: wall time and peak RSS in KiB.
#[derive(Clone, Copy)]
struct Sample {
    time: Duration,
    rss_kib: i64,
}

#[derive(Default)]
struct Samples {
    run: Vec<Duration>,
    rss: Vec<i64>,
    create: Vec<Duration>,
    start: Vec<Duration>,
    wait: Vec<Duration>,
    delete: Vec<Duration>,
}

fn quantile(v: &[Duration], q: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn have(tool: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// Runs `cmd` to completion with stdio on /dev/null (stderr to `err`), and
/// measures it with wait4(2). Panics with the error output on failure.
// wait4 reaps the child: std's wait would lose the rusage.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command, err: &Path) -> Sample {
    let log = std::fs::File::create(err).unwrap();
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    // A pre-exec step makes std fork instead of posix_spawn, whose vfork
    // child shares this process's memory: its peak RSS, kept across
    // execve, would be this bench's rather than the runtime's. A forked
    // child starts with only this process's anonymous pages (see `floor`).
    // SAFETY: the closure does nothing, so it is async-signal-safe.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let t = Instant::now();
    let child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `child` is our unreaped child; both pointers are valid for
    // writes for the duration of the call. std never waits for a dropped
    // Child, so nothing else reaps it.
    let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let time = t.elapsed();
    assert_eq!(
        r,
        child.id() as i32,
        "wait4: {}",
        std::io::Error::last_os_error()
    );
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        panic!(
            "{cmd:?} failed ({status:#x}): {}",
            std::fs::read_to_string(err).unwrap_or_default()
        );
    }
    Sample {
        time,
        rss_kib: usage.ru_maxrss,
    }
}

impl Tool {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.arg("--root").arg(&self.root).args(args);
        c
    }
}

/// Waits until `pid` is gone or a zombie.
fn wait_exit(pid: u32) -> Duration {
    let t = Instant::now();
    let stat = format!("/proc/{pid}/stat");
    loop {
        match std::fs::read_to_string(&stat) {
            Err(_) => break,
            Ok(s) => {
                let state = s.rsplit_once(") ").and_then(|(_, r)| r.chars().next());
                if state == Some('Z') || state == Some('X') {
                    break;
                }
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "pid {pid} never exited"
        );
        std::thread::sleep(Duration::from_micros(100));
    }
    t.elapsed()
}

/// A busybox bundle with `runc spec`'s config running `/bin/true`.
fn bundle(dir: &Path) {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/true")).unwrap();
    let out = Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "runc spec failed");
    let path = dir.join("config.json");
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    spec["process"]["terminal"] = false.into();
    spec["process"]["args"] = serde_json::json!(["/bin/true"]);
    std::fs::write(&path, serde_json::to_vec_pretty(&spec).unwrap()).unwrap();
}

fn ocikit_runc() -> PathBuf {
    if let Ok(p) = std::env::var("OCIKIT_BENCH_RUNC") {
        return p.into();
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let ok = Command::new(cargo)
        .args(["build", "--release", "-p", "ocikit-runc"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cargo build --release -p ocikit-runc failed");
    // target/release/deps/runtime-HASH -> target/release/ocikit-runc
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(Path::parent).unwrap();
    release.join("ocikit-runc")
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .or_else(|| std::env::var("OCIKIT_BENCH_RUNS").ok()?.parse().ok())
        .unwrap_or(50);
    if std::env::var_os(NS_ENV).is_none() {
        assert!(testkit::need::is_root(), "the runtime bench needs root");
        let ours = ocikit_runc();
        let err = Command::new("unshare")
            .args(["-m", "--propagation", "private", "--"])
            .arg(std::env::current_exe().unwrap())
            .arg(runs.to_string())
            .env(NS_ENV, "1")
            .env("OCIKIT_BENCH_RUNC", ours)
            .exec();
        panic!("unshare: {err}");
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if mountinfo.contains(" /sys/fs/cgroup/unified ") {
        let ok = Command::new("umount")
            .arg("/sys/fs/cgroup/unified")
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "umount /sys/fs/cgroup/unified failed");
    }

    let work = tempfile::Builder::new()
        .prefix("ocikit-bench-runtime")
        .tempdir_in("/dev/shm")
        .unwrap();
    let bundle_dir = work.path().join("bundle");
    std::fs::create_dir(&bundle_dir).unwrap();
    bundle(&bundle_dir);
    let err = work.path().join("stderr");
    let pid_file = work.path().join("pid");

    let mut tools = vec![Tool {
        name: "ocikit",
        program: std::env::var_os("OCIKIT_BENCH_RUNC").unwrap().into(),
        root: work.path().join("root-ocikit"),
    }];
    for name in ["crun", "runc"] {
        match have(name) {
            Some(program) => tools.push(Tool {
                name,
                program,
                root: work.path().join(format!("root-{name}")),
            }),
            None => eprintln!("{name} not found: left out"),
        }
    }

    let mut samples: Vec<Samples> = tools.iter().map(|_| Samples::default()).collect();
    let bundle_arg = bundle_dir.to_str().unwrap();
    let warmup = 3;
    for i in 0..runs + warmup {
        for k in 0..tools.len() {
            let t = (i + k) % tools.len();
            let tool = &tools[t];
            let id = format!("b{i}");
            let run = measure(&mut tool.cmd(&["run", "--bundle", bundle_arg, &id]), &err);

            let id = format!("p{i}");
            let create = measure(
                &mut tool.cmd(&[
                    "create",
                    "--bundle",
                    bundle_arg,
                    "--pid-file",
                    pid_file.to_str().unwrap(),
                    &id,
                ]),
                &err,
            );
            let pid: u32 = std::fs::read_to_string(&pid_file)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let start = measure(&mut tool.cmd(&["start", &id]), &err);
            let wait = wait_exit(pid);
            let delete = measure(&mut tool.cmd(&["delete", &id]), &err);
            if i < warmup {
                continue;
            }
            let s = &mut samples[t];
            s.run.push(run.time);
            s.rss.push(run.rss_kib);
            s.create.push(create.time);
            s.start.push(start.time);
            s.wait.push(wait);
            s.delete.push(delete.time);
        }
    }

    // Then each runtime alone, `run` after `run`, and again with a pause
    // before each run (a container started now and then). A runtime that
    // moves a pid into a cgroup through `cgroup.procs` takes the kernel's
    // global migration lock, whose first taker after a quiet spell waits
    // for an RCU grace period: back to back it finds the lock still warm
    // from its own previous run; after a pause (or after a runtime that
    // does not take it, as in the alternating loop) it waits.
    let alone = |pause: Duration| -> Vec<Vec<Duration>> {
        tools
            .iter()
            .map(|tool| {
                let mut v = Vec::with_capacity(runs);
                for i in 0..runs + warmup {
                    std::thread::sleep(pause);
                    let id = format!("s{i}");
                    let run = measure(&mut tool.cmd(&["run", "--bundle", bundle_arg, &id]), &err);
                    if i >= warmup {
                        v.push(run.time);
                    }
                }
                v
            })
            .collect()
    };
    let back_to_back = alone(Duration::ZERO);
    let spaced = alone(SPACED);

    let floor = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0;
    let med_rss = |s: &Samples| {
        let mut v = s.rss.clone();
        v.sort();
        v[v.len() / 2] as f64 / 1024.0
    };
    let crun = tools.iter().position(|t| t.name == "crun");
    println!(
        "\nbusybox /bin/true, {runs} runs each (after {warmup} warm-up runs), runtimes alternating, \
         one private mount namespace with cgroup v1 only; times in ms, medians unless noted; \
         RSS floor (the bench's anonymous memory) {floor:.1} MiB"
    );
    println!(
        "| runtime | run | run min | run p90 | peak RSS MiB | create | start | wait for exit | delete | run vs crun | RSS vs crun |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (tool, s) in tools.iter().zip(&samples) {
        let (time_ratio, rss_ratio) = match crun {
            Some(c) => (
                format!(
                    "{:.2}x",
                    ms(quantile(&s.run, 0.5)) / ms(quantile(&samples[c].run, 0.5))
                ),
                format!("{:.2}x", med_rss(s) / med_rss(&samples[c])),
            ),
            None => ("-".into(), "-".into()),
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            tool.name,
            ms(quantile(&s.run, 0.5)),
            ms(quantile(&s.run, 0.0)),
            ms(quantile(&s.run, 0.9)),
            med_rss(s),
            ms(quantile(&s.create, 0.5)),
            ms(quantile(&s.start, 0.5)),
            ms(quantile(&s.wait, 0.5)),
            ms(quantile(&s.delete, 0.5)),
            time_ratio,
            rss_ratio,
        );
    }
    println!(
        "\nEach runtime alone, {runs} `run`s back to back, then {runs} with a {} ms pause before each; times in ms",
        SPACED.as_millis()
    );
    println!(
        "| runtime | back to back | min | p90 | vs crun | after a pause | min | p90 | vs crun |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let ratio = |v: &[Duration], all: &[Vec<Duration>]| match crun {
        Some(c) => format!("{:.2}x", ms(quantile(v, 0.5)) / ms(quantile(&all[c], 0.5))),
        None => "-".into(),
    };
    for (k, tool) in tools.iter().enumerate() {
        let (b, p) = (&back_to_back[k], &spaced[k]);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {} |",
            tool.name,
            ms(quantile(b, 0.5)),
            ms(quantile(b, 0.0)),
            ms(quantile(b, 0.9)),
            ratio(b, &back_to_back),
            ms(quantile(p, 0.5)),
            ms(quantile(p, 0.0)),
            ms(quantile(p, 0.9)),
            ratio(p, &spaced),
        );
    }
}
