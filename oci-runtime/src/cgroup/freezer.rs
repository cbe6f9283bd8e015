//! Pausing: the v1 `freezer` controller or cgroup2's `cgroup.freeze`.

use std::io;
use std::path::PathBuf;

use super::{read, write, Cgroup};
use crate::error::{Error, Result};

impl Cgroup {
    /// The freezer of the group: the v1 `freezer` hierarchy, else the
    /// cgroup2 group when it has `cgroup.freeze` (not in the root group).
    fn freezer(&self) -> Option<Freezer> {
        if let Some((_, dir)) = self
            .dirs
            .iter()
            .find(|(h, _)| h.controllers.iter().any(|c| c == "freezer"))
        {
            return Some(Freezer::V1(dir.clone()));
        }
        self.dirs
            .iter()
            .filter(|(h, _)| h.v2)
            .map(|(_, dir)| dir)
            .find(|dir| dir.join("cgroup.freeze").exists())
            .map(|dir| Freezer::V2(dir.clone()))
    }

    /// Whether the group is frozen (or freezing); false without a freezer.
    pub(crate) fn is_frozen(&self) -> bool {
        match self.freezer() {
            Some(Freezer::V1(dir)) => std::fs::read_to_string(dir.join("freezer.state"))
                .is_ok_and(|s| s.trim() != "THAWED"),
            Some(Freezer::V2(dir)) => {
                std::fs::read_to_string(dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
            }
            None => false,
        }
    }

    /// Freezes (`FreezerState::Frozen`) or thaws the group, waiting until
    /// the kernel reports every task frozen.
    pub(crate) fn freeze(&self, state: FreezerState) -> Result<()> {
        let freezer = self.freezer().ok_or(Error::ControllerMissing {
            controller: "freezer",
            setting: "pause",
        })?;
        let frozen = state == FreezerState::Frozen;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        match &freezer {
            Freezer::V1(dir) => {
                let file = dir.join("freezer.state");
                let want = if frozen { "FROZEN" } else { "THAWED" };
                let mut tries = 0u32;
                loop {
                    // Re-writing FROZEN retries tasks that were busy (in
                    // vfork, say) on the previous attempt, as runc does.
                    if tries % 10 == 0 {
                        write(&file, want)?;
                    }
                    if read(&file)?.trim() == want {
                        return Ok(());
                    }
                    if std::time::Instant::now() > deadline {
                        break;
                    }
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if frozen {
                    let _ = write(&file, "THAWED");
                }
                Err(Error::io(
                    "freeze cgroup",
                    file,
                    io::Error::from(io::ErrorKind::TimedOut),
                ))
            }
            Freezer::V2(dir) => {
                write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
                let events = dir.join("cgroup.events");
                let want = if frozen { "frozen 1" } else { "frozen 0" };
                loop {
                    if read(&events)?.lines().any(|l| l.trim() == want) {
                        return Ok(());
                    }
                    if std::time::Instant::now() > deadline {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                if frozen {
                    let _ = write(&dir.join("cgroup.freeze"), "0");
                }
                Err(Error::io(
                    "freeze cgroup",
                    events,
                    io::Error::from(io::ErrorKind::TimedOut),
                ))
            }
        }
    }
}

/// Where a group's freezer lives.
#[derive(Debug)]
enum Freezer {
    /// A v1 `freezer` group directory (`freezer.state`).
    V1(PathBuf),
    /// A cgroup2 group directory (`cgroup.freeze`, `cgroup.events`).
    V2(PathBuf),
}

/// What [`Cgroup::freeze`] makes of the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FreezerState {
    /// Every task stopped.
    Frozen,
    /// Running again.
    Thawed,
}
