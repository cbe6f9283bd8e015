//! Integration tests of oci-image, as one binary.

mod archive;
mod bundle;
mod layer;
mod layout;
mod peers;
