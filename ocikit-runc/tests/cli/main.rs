//! Integration tests of `ocikit-runc`, the runc-compatible
//! command line: the real binary driven directly (`runc_cli`), by podman
//! (`podman`) and by containerd's runc shim (`containerd`).
//!
//! Cargo builds the binary before the tests; `OCIKIT_RUNC=PATH` tests
//! another build of it instead (CI tests the one `cargo install` gives
//! under podman and containerd). Tests need
//! root and the peers; without them they are reported as ignored, with the
//! reason, and with `CI=true` a missing peer fails them. Each test has its own
//! `--root`, temp dirs and container ids, so they run in parallel.

mod common;
mod containerd;
mod errors;
mod gaps;
mod image;
mod podman;
mod runc_cli;

fn main() {
    testkit::run(&[
        runc_cli::TESTS,
        errors::TESTS,
        gaps::TESTS,
        podman::TESTS,
        containerd::TESTS,
    ]);
}
