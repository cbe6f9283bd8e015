//! Integration tests of the engine with real containers (busybox bundles).
//!
//! One binary with its own small runner (`harness = false`): the engine
//! re-executes this program as the container init, so `main` must call
//! `ocikit_runtime::init_if_requested` before anything else, which libtest's
//! generated main cannot do. Filter with a substring argument:
//! `cargo test -p ocikit-runtime --test engine -- hostname`.

mod cgroup_layouts;
mod common;
mod console;
mod errors;
mod escapes;
mod exec;
mod fields;
mod isolation;
mod lifecycle;
mod limits;
mod oom;
mod ops;
mod rootless;
mod seccomp;
mod stress;

type Test = (&'static str, fn());

fn main() {
    ocikit_runtime::init_if_requested();
    cgroup_layouts::run_if_requested();
    ops::pause_child_if_requested();
    rootless::child_if_requested();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let tests: Vec<Test> = [
        lifecycle::TESTS,
        isolation::TESTS,
        limits::TESTS,
        ops::TESTS,
        errors::TESTS,
        console::TESTS,
        cgroup_layouts::TESTS,
        seccomp::TESTS,
        stress::TESTS,
        escapes::TESTS,
        exec::TESTS,
        rootless::TESTS,
        oom::TESTS,
        fields::TESTS,
    ]
    .concat();
    let total = tests.len();
    let started = std::time::Instant::now();
    let mut failed = Vec::new();
    let mut ran = 0;
    let mut skipped = 0;
    for (name, f) in tests {
        if !filter.is_empty() && !filter.iter().any(|p| name.contains(p.as_str())) {
            continue;
        }
        ran += 1;
        println!("test {name} ...");
        let start = std::time::Instant::now();
        common::SKIPPED.store(false, std::sync::atomic::Ordering::SeqCst);
        match std::panic::catch_unwind(f) {
            Ok(()) if common::SKIPPED.load(std::sync::atomic::Ordering::SeqCst) => skipped += 1,
            Ok(()) => println!("test {name} ... ok ({:?})", start.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name);
            }
        }
    }
    // The closing line in libtest's shape, so tools that read cargo test
    // output count these tests too (skipped ones as ignored).
    println!(
        "\ntest result: {}. {} passed; {} failed; {skipped} ignored; 0 measured; {} filtered out; finished in {:.2}s",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - skipped - failed.len(),
        failed.len(),
        total - ran,
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        println!("failures: {failed:?}");
        std::process::exit(1);
    }
}
