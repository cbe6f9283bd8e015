//! Integration tests of ocikit-image, as one binary.

mod archive;
mod bundle;
mod errors;
mod layer;
mod layout;
mod peers;
mod snapshot;
mod verify;

fn main() {
    layer::dirs::child_if_requested();
    snapshot::concurrent::child_if_requested();
    testkit::run(&[
        archive::TESTS,
        bundle::TESTS,
        errors::TESTS,
        layout::TESTS,
        peers::TESTS,
        verify::TESTS,
        layer::digest::TESTS,
        layer::dirs::TESTS,
        layer::hostile::TESTS,
        layer::long::TESTS,
        layer::overlay::TESTS,
        layer::props::TESTS,
        layer::roundtrip::TESTS,
        layer::whiteout::TESTS,
        snapshot::concurrent::TESTS,
        snapshot::roots::TESTS,
        snapshot::store::TESTS,
    ]);
}
