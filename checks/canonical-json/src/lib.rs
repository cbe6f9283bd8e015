//! Nothing but tests: see `tests/digests.rs`. Built with serde_json's
//! `preserve_order` or `arbitrary_precision` feature, it proves that
//! ocikit-types writes the same canonical bytes, and digests, as without.
#![forbid(unsafe_code)]
