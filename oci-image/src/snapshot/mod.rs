//! Layer snapshots: each layer unpacked once into a directory named by its
//! diff ID, shared by every image that has it, and container roots made
//! from them with overlayfs (or a copy where overlayfs cannot be used).
//!
//! The layout on disk is described on [`SnapshotStore`].

mod copy;
mod gc;
mod layer;
mod mount;
mod store;

pub use mount::{CopyReason, RootMethod, RootStrategy};
pub use store::{ImageSnapshot, PreparedRoot, SnapshotGcReport, SnapshotOptions, SnapshotStore};
