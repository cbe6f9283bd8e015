//! Integration tests of oci-image, as one binary.

mod archive;
mod layer;
mod layout;
mod peers;
