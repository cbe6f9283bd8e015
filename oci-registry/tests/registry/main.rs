//! Integration tests of the registry server.

fn main() {
    testkit::run(&[]);
}
