//! Layer pack and unpack: round trips, whiteouts, digests, and a corpus of
//! hostile layers. One test binary, one module per concern.

mod common;
mod digest;
mod hostile;
mod props;
mod roundtrip;
mod whiteout;
