//! Conformance: every upstream spec test vector in ../shared/vectors, read
//! in place, must get the same verdict from ocikit as from upstream.

mod image;
mod props;
mod runtime;
mod vectors;

fn main() {
    testkit::run(&[image::TESTS, runtime::TESTS, props::TESTS]);
}
