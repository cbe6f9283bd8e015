//! The layer snapshot store: shared layers, overlay and copy roots,
//! concurrency, failed layers and collection.

mod common;
pub(crate) mod concurrent;
pub(crate) mod roots;
pub(crate) mod store;
