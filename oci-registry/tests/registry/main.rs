//! Integration tests of the registry server: ocikit's own client and
//! skopeo pushing and pulling through it, the spec's errors for bad
//! input, the OCI distribution-spec conformance suite against the
//! `ocikit-registry` binary, and the tools users run (podman, buildah,
//! containerd's ctr, the ORAS Python client, skopeo with docker-registry)
//! moving images through it with their digests kept.

mod auth;
mod auth_binary;
mod auth_token;
#[cfg(feature = "s3")]
mod balanced;
mod blob_limit;
mod buildah;
mod cli;
mod client;
mod concurrency;
mod conformance;
mod conn_limit;
mod containerd;
mod crash;
mod distribution;
mod drain;
mod errors;
mod expiry;
mod fsck;
mod gc;
mod leaks;
mod limits;
mod ops;
mod oras;
mod peer;
mod podman;
#[cfg(feature = "proxy")]
mod proxy;
#[cfg(feature = "proxy")]
mod proxy_auth;
mod push;
#[cfg(feature = "s3")]
mod replicas;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "s3")]
mod s3gc;
mod served;
mod skopeo;
mod support;
mod tls;

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
        ops::TESTS,
        drain::TESTS,
        tls::TESTS,
        limits::TESTS,
        blob_limit::TESTS,
        conn_limit::TESTS,
        gc::TESTS,
        fsck::TESTS,
        expiry::TESTS,
        crash::TESTS,
        leaks::TESTS,
        auth::TESTS,
        auth_token::TESTS,
        auth_binary::TESTS,
        #[cfg(feature = "proxy")]
        proxy::TESTS,
        #[cfg(feature = "proxy")]
        proxy_auth::TESTS,
        #[cfg(feature = "s3")]
        s3::TESTS,
        #[cfg(feature = "s3")]
        replicas::TESTS,
        #[cfg(feature = "s3")]
        balanced::TESTS,
        #[cfg(feature = "s3")]
        s3gc::TESTS,
    ]);
}
