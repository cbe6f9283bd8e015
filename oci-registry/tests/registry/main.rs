//! Integration tests of the registry server: ocikit's own client and
//! skopeo pushing and pulling through it, the spec's errors for bad
//! input, and the OCI distribution-spec conformance suite against the
//! `ocikit-registry` binary.

mod cli;
mod client;
mod concurrency;
mod conformance;
mod errors;
mod skopeo;
mod support;

fn main() {
    testkit::run(&[
        cli::TESTS,
        client::TESTS,
        concurrency::TESTS,
        errors::TESTS,
        skopeo::TESTS,
        conformance::TESTS,
    ]);
}
