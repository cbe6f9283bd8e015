//! Layer snapshots: each layer unpacked once into a directory named by its
//! diff ID, shared by every image that has it, and container roots made
//! from them with overlayfs (or a copy where overlayfs cannot be used).
//!
//! On disk, under the store's directory:
//! - `layers/<algorithm>-<hex>/`: one layer's changes, whiteouts in the
//!   overlay format ([`WhiteoutMode::Overlay`](crate::WhiteoutMode::Overlay)); only ever made whole by a
//!   rename from `tmp/`.
//! - `refs/<algorithm>-<hex>/`: one empty file per user of the layer,
//!   `image-<algorithm>-<hex>` for an image manifest and `container-<id>`
//!   for a container; a layer with none is collected by [`SnapshotStore::gc`].
//! - `locks/<algorithm>-<hex>.lock`: the `flock` taken while a layer is
//!   unpacked, referenced or collected, so processes sharing the store
//!   never unpack a layer twice nor collect one being referenced.
//! - `containers/<id>/`: `rootfs` (the overlay mount point or the copy),
//!   `upper` and `work` for overlayfs, and `method`, which says which.
//! - `tmp/`: unpacks in progress; what an interrupted one left is removed
//!   by [`SnapshotStore::gc`].

mod copy;
mod gc;
mod layer;
mod mount;
mod store;

pub use mount::{CopyReason, RootMethod, RootStrategy};
pub use store::{ImageSnapshot, PreparedRoot, SnapshotGcReport, SnapshotOptions, SnapshotStore};
