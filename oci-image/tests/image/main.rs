//! Integration tests of oci-image, as one binary.

mod layout;
mod peers;
