//! `run` never hangs, however fast the container exits.

use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("stress::run_true_200_times", run_true_200_times),
    (
        "stress::run_true_500_times_with_both_cpus_loaded",
        run_true_500_times_loaded,
    ),
];

fn run_true_200_times() {
    if !root_or_skip() {
        return;
    }
    run_true_times(200);
}

/// The case that hangs other runtimes: the container exits at once while
/// every CPU is busy, so SIGCHLD and the runtime's wait race.
fn run_true_500_times_loaded() {
    if !root_or_skip() {
        return;
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let burners: Vec<_> = (0..cpus)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let result = std::panic::catch_unwind(|| run_true_times(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for b in burners {
        let _ = b.join();
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Runs `/bin/true` `n` times in a row, each within 10 s, all exiting 0.
fn run_true_times(n: usize) {
    let b = Bundle::new(&["/bin/true"]);
    b.write();
    let rt = b.rt.clone();
    let bundle = b.path().to_owned();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..n {
            let r = rt.run(
                &format!("t-stress-{i}"),
                &bundle,
                ocikit_runtime::CreateOptions::new(),
            );
            if tx
                .send(r.map(|s| s.code()).map_err(|e| e.to_string()))
                .is_err()
            {
                return;
            }
        }
    });
    for i in 0..n {
        let r = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("run {i} did not finish within 10s"));
        assert_eq!(r, Ok(0), "run {i}");
    }
}
