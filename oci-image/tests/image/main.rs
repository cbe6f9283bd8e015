//! Integration tests of oci-image, as one binary.

mod archive;
mod layout;
mod peers;
