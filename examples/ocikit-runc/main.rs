//! A runc-compatible command line over `oci-runtime` (in progress).

fn main() {
    oci_runtime::init_if_requested();
}
