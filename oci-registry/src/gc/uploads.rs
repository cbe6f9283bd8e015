//! Upload expiry: sessions idle for their purge age are removed, as
//! Distribution's `storage.maintenance.uploadpurging` does. A client that
//! comes back to a removed session gets `BLOB_UPLOAD_UNKNOWN`.

use std::time::{Duration, SystemTime};

use super::{GcReport, RemovedUpload};
use crate::{Error, Storage};

/// Removes (or, in a dry run, lists) the sessions idle for at least
/// `age`, except those `busy` names (a request of this process is
/// using them); adds them to `report`.
///
/// A session in use by another process is told apart only by its idle
/// time: a request that resumes it at the moment it is removed fails.
pub(super) fn purge(
    storage: &dyn Storage,
    age: Duration,
    dry_run: bool,
    busy: &dyn Fn(&str) -> bool,
    report: &mut GcReport,
) -> Result<(), Error> {
    let now = SystemTime::now();
    let mut sessions = storage.uploads()?;
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    for s in sessions {
        // A session updated "in the future" (a clock step) is not idle.
        let idle = now.duration_since(s.updated).unwrap_or(Duration::ZERO);
        if idle < age || busy(&s.id) {
            continue;
        }
        if !dry_run && !storage.cancel_upload(&s.id)? {
            continue; // ended meanwhile
        }
        report.bytes_freed += s.size;
        report.uploads.push(RemovedUpload {
            id: s.id,
            repository: s.repository,
            size: s.size,
        });
    }
    Ok(())
}
