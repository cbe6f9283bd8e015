//! The config file's maintenance keys.
//!
//! - Distribution's `storage.maintenance.uploadpurging`: `enabled`
//!   (default true), `age` (default `168h`), `interval` (default `24h`),
//!   `dryrun` (default false).
//! - Ours, `storage.maintenance.garbagecollect`: `enabled` (default
//!   false), `interval` (default `24h`), `graceperiod` (default `1h`),
//!   `deleteuntagged` (default false), `dryrun` (default false). It is
//!   also what `ocikit-registry garbage-collect` reads its grace period
//!   and `deleteuntagged` from.
//!
//! Durations use Go's syntax, as Distribution's.

use std::time::Duration;

use serde_norway::Value;

use super::{GcSchedule, UploadPurging};
use crate::Error;

const UPLOADS: &str = "storage.maintenance.uploadpurging.";
const GC: &str = "storage.maintenance.garbagecollect.";

/// The maintenance keys read so far.
#[derive(Debug)]
pub(crate) struct Keys {
    uploads: UploadPurging,
    uploads_enabled: bool,
    gc: GcSchedule,
    gc_enabled: bool,
}

impl Default for Keys {
    fn default() -> Self {
        Keys {
            uploads: UploadPurging::new(),
            uploads_enabled: true,
            gc: GcSchedule::new(),
            gc_enabled: false,
        }
    }
}

impl Keys {
    /// Takes `key` when it is one of ours: `Ok(false)` when it is not.
    ///
    /// # Errors
    /// [`Error::ConfigValue`] for a value of the wrong kind.
    pub(crate) fn apply(&mut self, key: &str, v: &Value) -> Result<bool, Error> {
        if let Some(k) = key.strip_prefix(UPLOADS) {
            match k {
                "enabled" => self.uploads_enabled = flag(key, v)?,
                "age" => self.uploads.age = duration(key, v)?,
                "interval" => self.uploads.interval = duration(key, v)?,
                "dryrun" => self.uploads.dry_run = flag(key, v)?,
                _ => return Ok(false),
            }
        } else if let Some(k) = key.strip_prefix(GC) {
            match k {
                "enabled" => self.gc_enabled = flag(key, v)?,
                "interval" => self.gc.interval = duration(key, v)?,
                "graceperiod" => self.gc.options.grace = duration(key, v)?,
                "deleteuntagged" => self.gc.options.delete_untagged = flag(key, v)?,
                "dryrun" => self.gc.options.dry_run = flag(key, v)?,
                _ => return Ok(false),
            }
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    /// Upload purging, when enabled.
    pub(crate) fn upload_purging(&self) -> Option<UploadPurging> {
        self.uploads_enabled.then(|| self.uploads.clone())
    }

    /// The blob collection's settings, and whether it runs periodically.
    pub(crate) fn garbage_collection(&self) -> (GcSchedule, bool) {
        (self.gc.clone(), self.gc_enabled)
    }
}

fn found(v: &Value) -> String {
    serde_norway::to_string(v)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn flag(key: &str, v: &Value) -> Result<bool, Error> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(Error::ConfigValue {
            key: key.to_owned(),
            expected: "true or false",
            found: found(other),
        }),
    }
}

fn duration(key: &str, v: &Value) -> Result<Duration, Error> {
    match v {
        Value::String(s) => crate::duration::parse(s),
        _ => None,
    }
    .ok_or_else(|| Error::ConfigValue {
        key: key.to_owned(),
        expected: "a duration such as 24h, 1h30m or 90s",
        found: found(v),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use std::path::Path;

    #[test]
    fn maintenance_keys_are_read() {
        let yaml = "storage:\n  maintenance:\n    uploadpurging:\n      enabled: true\n      age: 2h\n      interval: 30m\n      dryrun: true\n    garbagecollect:\n      enabled: true\n      graceperiod: 10m\n      deleteuntagged: true\n    readonly:\n      enabled: false\n";
        let c = Config::from_yaml(yaml, Path::new("c.yml")).unwrap();
        let u = c.upload_purging.clone().unwrap();
        assert_eq!(
            (u.age, u.interval, u.dry_run),
            (Duration::from_secs(7200), Duration::from_secs(1800), true)
        );
        let g = c.garbage_collection.clone().unwrap();
        assert_eq!(g.options.grace, Duration::from_secs(600));
        assert!(g.options.delete_untagged && !g.options.dry_run);
        assert_eq!(g.interval, Duration::from_secs(24 * 3600));
        assert_eq!(
            c.warnings,
            ["storage.maintenance.readonly is not supported yet and is ignored"]
        );
    }

    #[test]
    fn defaults_purge_uploads_and_collect_no_blobs() {
        let c = Config::from_yaml("version: 0.1\n", Path::new("c")).unwrap();
        assert_eq!(c.upload_purging, Some(UploadPurging::new()));
        assert_eq!(c.garbage_collection, None);
        let off = "storage:\n  maintenance:\n    uploadpurging:\n      enabled: false\n";
        let c = Config::from_yaml(off, Path::new("c")).unwrap();
        assert_eq!(c.upload_purging, None);
    }

    #[test]
    fn a_bad_duration_names_its_key() {
        let yaml = "storage:\n  maintenance:\n    uploadpurging:\n      age: 7 days\n";
        let e = Config::from_yaml(yaml, Path::new("c")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "configuration key storage.maintenance.uploadpurging.age: expected a duration such as 24h, 1h30m or 90s, found \"7 days\""
        );
    }
}
