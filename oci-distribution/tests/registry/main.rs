//! Integration tests of the registry client against the real CNCF
//! Distribution registry (Debian's `docker-registry`), skopeo, and a
//! fault-injecting server for what a real registry will not do.

mod artifact;
mod auth;
mod errors;
mod fault;
mod image_config;
mod real;
mod sha512;

fn main() {
    testkit::run(&[
        real::TESTS,
        real::BLOCKING_TESTS,
        auth::TESTS,
        fault::TESTS,
        artifact::TESTS,
        errors::TESTS,
        image_config::TESTS,
        sha512::TESTS,
    ]);
}
