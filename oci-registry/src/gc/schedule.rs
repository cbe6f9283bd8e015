//! Collections run periodically by a serving registry.

use std::sync::Arc;
use std::time::Duration;

use super::{GcOptions, Scope};
use crate::state::State;

/// Periodic removal of idle upload sessions (Distribution's
/// `storage.maintenance.uploadpurging`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPurging {
    /// Sessions idle at least this long are removed; default 168 hours.
    pub age: Duration,
    /// Time between purges, the first when the server starts; default
    /// 24 hours (at least one second is waited).
    pub interval: Duration,
    /// Only log what would be removed; default false.
    pub dry_run: bool,
}

impl Default for UploadPurging {
    fn default() -> Self {
        UploadPurging::new()
    }
}

impl UploadPurging {
    /// Distribution's defaults: age 168 hours, every 24 hours, not a dry
    /// run.
    pub fn new() -> Self {
        UploadPurging {
            age: Duration::from_secs(168 * 3600),
            interval: Duration::from_secs(24 * 3600),
            dry_run: false,
        }
    }
}

/// Periodic garbage collection of blobs (and, with its options, of
/// untagged manifests and upload sessions).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcSchedule {
    /// Time between collections, the first when the server starts;
    /// default 24 hours (at least one second is waited).
    pub interval: Duration,
    /// What each collection removes; default [`GcOptions::new`].
    pub options: GcOptions,
}

impl Default for GcSchedule {
    fn default() -> Self {
        GcSchedule::new()
    }
}

impl GcSchedule {
    /// Every 24 hours with [`GcOptions::new`].
    pub fn new() -> Self {
        GcSchedule {
            interval: Duration::from_secs(24 * 3600),
            options: GcOptions::new(),
        }
    }
}

/// The periodic work a registry was configured with.
#[derive(Debug, Clone, Default)]
pub(crate) struct Maintenance {
    pub(crate) uploads: Option<UploadPurging>,
    pub(crate) gc: Option<GcSchedule>,
}

/// The periodic tasks of a serving registry; stopped when dropped.
#[derive(Debug)]
pub(crate) struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// Starts the periodic work `m` on `state`'s storage on the current
/// runtime.
pub(crate) fn start(state: &Arc<State>, m: &Maintenance) -> Tasks {
    let mut jobs: Vec<(Duration, GcOptions, Scope)> = Vec::new();
    if let Some(u) = &m.uploads {
        let mut options = GcOptions::new();
        options.dry_run = u.dry_run;
        options.upload_age = Some(u.age);
        jobs.push((u.interval, options, Scope::Uploads));
    }
    if let Some(g) = &m.gc {
        jobs.push((g.interval, g.options.clone(), Scope::Everything));
    }
    let tasks = jobs
        .into_iter()
        .map(|(interval, options, scope)| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    if let Err(e) = super::run(&state, options.clone(), scope).await {
                        tracing::warn!(
                            error = &e as &dyn std::error::Error,
                            "periodic garbage collection failed"
                        );
                    }
                }
            })
        })
        .collect();
    Tasks(tasks)
}
