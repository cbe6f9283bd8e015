//! Integration tests of the engine with real containers (busybox bundles).
//!
//! One binary on testkit's runner (`harness = false`): the engine
//! re-executes this program as the container init (the runtime crate's
//! pre-main hook takes over there), and some tests re-run it as their
//! own helpers, dispatched first thing in `main`, which libtest's
//! generated main cannot do. Tests that cannot run here are reported as
//! ignored with their reason. Filter with a substring argument:
//! `cargo test -p ocikit-runtime --test engine -- hostname`.

mod cgroup_layouts;
mod common;
mod console;
mod errors;
mod escapes;
mod escapes_proc;
mod exec;
mod fields;
mod gaps;
mod isolation;
mod lifecycle;
mod limits;
mod mount_attrs;
mod oom;
mod ops;
mod rootless;
mod seccomp;
mod stress;

fn main() {
    cgroup_layouts::run_if_requested();
    ops::pause_child_if_requested();
    rootless::child_if_requested();
    // One at a time: tests remount cgroup hierarchies, load the machine and
    // count processes.
    testkit::run_serial(&[
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
        escapes_proc::TESTS,
        exec::TESTS,
        rootless::TESTS,
        oom::TESTS,
        fields::TESTS,
        mount_attrs::TESTS,
        gaps::TESTS,
    ]);
}
