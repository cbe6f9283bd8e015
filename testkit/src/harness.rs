//! The test runner of the workspace's integration suites.
//!
//! Written here rather than taken from a crate: libtest cannot mark a
//! test ignored once it has started, and libtest-mimic only takes an
//! ignore flag before the run; our tests learn what they lack (a peer, a
//! kernel feature) while they run, and must say so as *ignored*, never as
//! passed. The output keeps libtest's shape (`test NAME ... ok`, and the
//! closing `test result:` line) so cargo's and CI's readers count it.
//!
//! Arguments: substrings select tests by name (as libtest's filter),
//! `--exact` makes them whole names, `--test-threads N` (or
//! `RUST_TEST_THREADS`) sets the parallelism, `--list` lists the tests.
//! Other flags cargo passes (`--nocapture`, `--quiet`, ...) are accepted
//! and have no effect: test output is never captured.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One test: its name and its function. A function returns normally to
/// pass (or to be ignored, after [`crate::need`] recorded why), and
/// panics to fail.
pub type Test = (&'static str, fn());

/// Lists test functions as [`Test`]s named `module::function`.
///
/// `tests![a, b]` for plain functions; `tests![a; async c]` adds `async fn`s,
/// each run on its own current-thread tokio runtime (as `#[tokio::test]`).
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)? $(; async $($aname:ident),* $(,)?)?) => {
        &[
            $((concat!(module_path!(), "::", stringify!($name)), $name as fn()),)*
            $($((
                concat!(module_path!(), "::", stringify!($aname)),
                (|| $crate::block_on($aname())) as fn(),
            ),)*)?
        ]
    };
}

/// Runs `future` to completion on a new current-thread tokio runtime with
/// I/O and timers, as `#[tokio::test]` does.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the test")
        .block_on(future)
}

thread_local! {
    static IGNORED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records that the running test could not run, and why; the runner
/// reports it as ignored when it returns. Called by [`crate::need`].
pub(crate) fn mark_ignored(reason: String) {
    IGNORED.with(|i| {
        i.borrow_mut().get_or_insert(reason);
    });
}

/// Runs the suite's tests with libtest's parallelism and exits with
/// libtest's status (101 when a test failed).
pub fn run(groups: &[&[Test]]) -> ! {
    let threads = std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    run_with(groups, threads)
}

/// Runs the suite's tests one at a time (for tests that change
/// machine-wide state, such as cgroup mounts), then exits as [`run`].
pub fn run_serial(groups: &[&[Test]]) -> ! {
    run_with(groups, 1)
}

/// How one test ended.
enum Outcome {
    Passed,
    Ignored(String),
    Failed,
}

fn run_with(groups: &[&[Test]], default_threads: usize) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = Vec::new();
    let mut exact = false;
    let mut list = false;
    let mut threads = default_threads;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--exact" => exact = true,
            "--list" => list = true,
            "--test-threads" => threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            s if s.starts_with("--test-threads=") => {
                threads = s["--test-threads=".len()..].parse().unwrap_or(1)
            }
            // Flags of libtest's that take a value.
            "--format" | "--logfile" | "--skip" | "-Z" | "--color" => {
                it.next();
            }
            s if s.starts_with('-') => {}
            s => filters.push(s.to_owned()),
        }
    }
    let all: Vec<(String, fn())> = groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|(name, f)| (short_name(name).to_owned(), *f))
        .collect();
    let selected: Vec<&(String, fn())> = all
        .iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        name == f
                    } else {
                        name.contains(f.as_str())
                    }
                })
        })
        .collect();
    if list {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1).min(selected.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, f)) = selected.get(i) else {
                    break;
                };
                let outcome = run_one(name, *f);
                match &outcome {
                    Outcome::Passed => println!("test {name} ... ok"),
                    Outcome::Ignored(why) => println!("test {name} ... ignored, {why}"),
                    Outcome::Failed => println!("test {name} ... FAILED"),
                }
                results.lock().unwrap().push((name.clone(), outcome));
            });
        }
    });
    let results = results.into_inner().unwrap();
    let count = |want: fn(&Outcome) -> bool| results.iter().filter(|(_, o)| want(o)).count();
    let passed = count(|o| matches!(o, Outcome::Passed));
    let ignored = count(|o| matches!(o, Outcome::Ignored(_)));
    let mut failed: Vec<&str> = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed))
        .map(|(n, _)| n.as_str())
        .collect();
    failed.sort_unstable();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {ignored} ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        all.len() - selected.len(),
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if failed.is_empty() { 0 } else { 101 })
}

/// `crate::module::test` -> `module::test`, as libtest names tests; a
/// name written by hand (`module::test`) is kept.
fn short_name(name: &str) -> &str {
    match name.split_once("::") {
        Some((_, rest)) if rest.contains("::") => rest,
        _ => name,
    }
}

/// Runs one test on a thread named after it (so a panic message names the
/// test, as under libtest).
fn run_one(name: &str, f: fn()) -> Outcome {
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            f();
            IGNORED.with(|i| i.borrow_mut().take())
        })
        .expect("spawn a test thread");
    match handle.join() {
        Ok(None) => Outcome::Passed,
        Ok(Some(why)) => Outcome::Ignored(why),
        Err(_) => Outcome::Failed,
    }
}
