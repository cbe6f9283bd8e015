//! Test-only helpers shared by the ocikit workspace's test suites
//! (`publish = false`, a dev-dependency only).
//!
//! - [`harness`]: the runner every integration suite uses
//!   (`harness = false`): tests that could not run here are reported as
//!   *ignored* with their reason, never as passed.
//! - [`need`]: what a test needs (root, a peer program, a kernel feature)
//!   and the one way to skip; under `CI=true` a missing peer fails the
//!   test instead.
//! - [`registry`]: Debian's `docker-registry` (CNCF Distribution) started
//!   on loopback with any extra config (basic or token auth, TLS).
//! - [`busybox`]: busybox root filesystems, and a busybox image built with
//!   ocikit-image into an OCI layout.
//! - [`seaweed`]: SeaweedFS, an S3-compatible object store, on loopback
//!   with one identity and one bucket.
//! - [`temp`]: short, private temporary directories.
//! - [`errors`]: the error convention checked on a chain (each cause once).
//! - [`auth`]: docker-registry with Basic auth over TLS, or with token
//!   auth from a token server of our own.
//! - [`fault`]: a fault-injecting HTTP server for what a real registry
//!   will not do.
//!
//! A suite's `main.rs`:
//!
//! ```no_run
//! mod lifecycle {
//!     pub(crate) fn runs_a_container() {
//!         if !testkit::need::root() || !testkit::need::tool("runc") {
//!             return; // reported as ignored, with the reason
//!         }
//!         // ...
//!     }
//!     pub(crate) const TESTS: &[testkit::Test] = testkit::tests![runs_a_container];
//! }
//!
//! fn main() {
//!     testkit::run(&[lifecycle::TESTS]);
//! }
//! ```
#![forbid(unsafe_code)]

pub mod auth;
pub mod busybox;
pub mod errors;
pub mod fault;
pub mod harness;
pub mod need;
pub mod registry;
pub mod seaweed;
pub mod temp;

pub use harness::{block_on, run, run_serial, Test};
