//! Integration tests of the registry client against the real CNCF
//! Distribution registry (Debian's `docker-registry`), skopeo, and a
//! fault-injecting server for what a real registry will not do. The
//! tests that hold for any registry run again against ocikit's own
//! server (`ocikit_registry::...`, see `peer`).

mod artifact;
mod auth;
mod errors;
mod fault;
mod image_config;
mod peer;
mod real;
mod sha512;

fn main() {
    let any_registry: &[&[testkit::Test]] = &[
        real::TESTS,
        real::BLOCKING_TESTS,
        artifact::TESTS,
        errors::TESTS,
        image_config::TESTS,
    ];
    let on_ocikit = peer::on_ocikit_registry(any_registry);
    let mut groups = any_registry.to_vec();
    groups.extend([auth::TESTS, fault::TESTS, sha512::TESTS, &on_ocikit[..]]);
    testkit::run(&groups);
}
