//! Integration tests of the registry server: ocikit's own client and
//! skopeo pushing and pulling through it, the spec's errors for bad
//! input, the OCI distribution-spec conformance suite against the
//! `ocikit-registry` binary, and the tools users run (podman, buildah,
//! containerd's ctr, the ORAS Python client, skopeo with docker-registry)
//! moving images through it with their digests kept.

mod balanced;
mod buildah;
mod cli;
mod client;
mod concurrency;
mod conformance;
mod containerd;
mod distribution;
mod errors;
mod oras;
mod peer;
mod podman;
mod replicas;
mod s3;
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
        podman::TESTS,
        buildah::TESTS,
        containerd::TESTS,
        oras::TESTS,
        distribution::TESTS,
        s3::TESTS,
        replicas::TESTS,
        balanced::TESTS,
    ]);
}
