//! Integration tests of ocikit-image, as one binary.

mod archive;
mod bundle;
mod layer;
mod layout;
mod peers;
