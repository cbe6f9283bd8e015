//! Layer pack and unpack: round trips, whiteouts, digests, and a corpus of
//! hostile layers. One test binary, one module per concern.

mod common;
pub(crate) mod digest;
pub(crate) mod dirs;
pub(crate) mod hostile;
pub(crate) mod long;
pub(crate) mod overlay;
pub(crate) mod props;
pub(crate) mod roundtrip;
pub(crate) mod whiteout;
