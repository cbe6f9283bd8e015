//! Collecting what no image or container uses.

use super::layer::{list, lock, Wait};
use super::store::digest_of;
use super::{SnapshotGcReport, SnapshotStore};
use crate::Error;

impl SnapshotStore {
    /// Removes every layer no image and no container uses, what
    /// interrupted unpacks left in `tmp/`, and the references of
    /// containers whose directory is gone. Safe while other processes use
    /// the store: each layer is collected under its lock, which unpacking
    /// and referencing take too.
    ///
    /// # Errors
    /// [`Error::Io`] and [`Error::Lock`].
    pub fn gc(&self) -> Result<SnapshotGcReport, Error> {
        let mut report = SnapshotGcReport::default();
        let containers = self.root.join("containers");
        for refs in list(&self.root.join("refs"))? {
            for holder in list(&refs)? {
                let name = holder.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if let Some(id) = name.strip_prefix("container-") {
                    if !containers.join(id).exists() {
                        std::fs::remove_file(&holder)
                            .map_err(|e| Error::io("remove", &holder, e))?;
                        report.stale_refs += 1;
                    }
                }
            }
        }
        for dir in list(&self.root.join("layers"))? {
            let Some(k) = dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let _lock = lock(&self.root, k, Wait::Block)?;
            let refs = self.root.join("refs").join(k);
            if refs.exists() && !list(&refs)?.is_empty() {
                continue;
            }
            // Out of `layers/` first, so a crash midway leaves no partial
            // layer behind a valid name.
            let doomed = self.root.join("tmp").join(format!("{k}.gc"));
            std::fs::rename(&dir, &doomed).map_err(|e| Error::io("rename", &dir, e))?;
            std::fs::remove_dir_all(&doomed).map_err(|e| Error::io("remove", &doomed, e))?;
            if refs.exists() {
                std::fs::remove_dir(&refs).map_err(|e| Error::io("remove", &refs, e))?;
            }
            tracing::debug!(layer = k, "layer snapshot collected");
            report.layers.extend(digest_of(&dir));
        }
        for tmp in list(&self.root.join("tmp"))? {
            let name = tmp.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let k = name.split('.').next().unwrap_or(name);
            // Held: an unpack of that layer is running.
            let Some(_lock) = lock(&self.root, k, Wait::NoWait)? else {
                continue;
            };
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
            report.temporaries += 1;
        }
        Ok(report)
    }
}
