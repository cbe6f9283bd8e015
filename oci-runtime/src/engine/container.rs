//! A container's persisted record and its status, derived from its
//! process.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ocikit_types::runtime::{Hooks, NamespaceType, Process, Seccomp, State, Status};
use serde::{Deserialize, Serialize};

use crate::cgroup::Cgroup;
use crate::error::{Error, Result};
use crate::init::EXEC_SOCKET;

/// What the engine remembers about a container: `state.json` in its
/// directory under the runtime root.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Record {
    pub(crate) oci_version: String,
    pub(crate) id: String,
    pub(crate) pid: u32,
    /// Field 22 of `/proc/<pid>/stat` at create time: tells our process
    /// from a later one that reuses its pid.
    pub(crate) start_time: u64,
    pub(crate) bundle: PathBuf,
    pub(crate) rootfs: PathBuf,
    pub(crate) created: String,
    pub(crate) owner: String,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) cgroup: Option<Cgroup>,
    pub(crate) hooks: Option<Hooks>,
    /// What `exec` needs of the config the container was created with
    /// (the bundle may change after create).
    #[serde(default)]
    pub(crate) exec: ExecContext,
}

/// The parts of a container's config that an `exec` process shares.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ExecContext {
    /// The kinds of namespace the container has (new or joined).
    pub(crate) namespaces: Vec<NamespaceType>,
    /// Its seccomp profile, applied to exec processes too (as runc does).
    pub(crate) seccomp: Option<Seccomp>,
    /// Its process: the base of an exec given by flags (runc's `exec`
    /// without `--process`).
    pub(crate) process: Option<Process>,
}

pub(crate) const STATE_FILE: &str = "state.json";
/// runc's status of a frozen container.
pub(crate) const PAUSED: &str = "paused";

impl Record {
    /// Writes the record atomically over `state.json`.
    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        let bytes = serde_json::to_vec(self).map_err(|e| Error::CorruptState {
            path: path.clone(),
            source: Box::new(e),
        })?;
        write_atomic(&path, &bytes).map_err(|e| Error::io("write state", path, e))
    }

    pub(crate) fn load(dir: &Path, id: &str) -> Result<Record> {
        let path = dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound { id: id.to_owned() })
            }
            Err(e) => return Err(Error::io("read state", path, e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::CorruptState {
            path,
            source: Box::new(e),
        })
    }
}

/// Writes `data` to `path` so that readers see the old content or the
/// new, never a part: a temporary file in the same directory
/// (`.NAME.tmp`), synced, then renamed over `path`.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The state character and start time (fields 3 and 22) of
/// `/proc/<pid>/stat`.
pub(crate) fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and ')': split after the last one.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// A container known to a [`Runtime`](crate::Runtime).
#[derive(Debug, Clone)]
pub struct Container {
    pub(crate) record: Record,
    pub(crate) dir: PathBuf,
}

impl Container {
    /// The container's ID.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The host pid of the container's init (the user program once
    /// started).
    pub fn pid(&self) -> u32 {
        self.record.pid
    }

    /// The bundle it was created from.
    pub fn bundle(&self) -> &Path {
        &self.record.bundle
    }

    /// The `process` of the config it was created with: the base that
    /// runc's `exec` flags modify.
    pub fn process(&self) -> Option<&Process> {
        self.record.exec.process.as_ref()
    }

    /// Whether the recorded process still runs: alive, not a zombie, and
    /// with the start time recorded at create (not a reused pid).
    pub fn is_alive(&self) -> bool {
        self.record.pid != 0
            && matches!(proc_stat(self.record.pid), Some((s, t)) if s != 'Z' && s != 'X' && t == self.record.start_time)
    }

    /// The status now: `created` until `start` (the init waits on its exec
    /// socket), `running` after, `stopped` once the process is gone, and
    /// `paused` (runc's status, outside the runtime-spec's set, so
    /// [`Status::Other`]) while its cgroup is frozen or freezing, see
    /// [`Runtime::pause`](crate::Runtime::pause).
    pub fn status(&self) -> Status {
        if !self.is_alive() {
            Status::Stopped
        } else if self.is_paused() {
            Status::from(PAUSED)
        } else if self.dir.join(EXEC_SOCKET).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// Whether the container's cgroup is frozen (or freezing).
    pub(crate) fn is_paused(&self) -> bool {
        self.record.cgroup.as_ref().is_some_and(Cgroup::is_frozen)
    }

    /// The state as `runc state` prints it: the runtime-spec fields plus
    /// runc's `rootfs`, `created` and `owner`; `pid` is 0 once stopped.
    pub fn state(&self) -> State {
        let status = self.status();
        let mut s = State::new(
            self.record.oci_version.clone(),
            self.record.id.clone(),
            status.clone(),
            self.record.bundle.display().to_string(),
        );
        s.pid = Some(if status == Status::Stopped {
            0
        } else {
            self.record.pid
        });
        s.annotations = self.record.annotations.clone();
        s.extra.insert(
            "rootfs".into(),
            self.record.rootfs.display().to_string().into(),
        );
        s.extra
            .insert("created".into(), self.record.created.clone().into());
        s.extra
            .insert("owner".into(), self.record.owner.clone().into());
        s
    }
}

/// Now as RFC 3339 UTC, as runc writes `created` (Go's `RFC3339Nano`:
/// nanoseconds without trailing zeros).
pub(crate) fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    ocikit_types::rfc3339::format_utc(secs, d.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_stat_parses() {
        let (state, start) = proc_stat(std::process::id()).unwrap();
        assert!(state == 'R' || state == 'S');
        assert!(start > 0);
    }

    #[test]
    fn record_round_trip_and_status() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let rec = Record {
            oci_version: "1.0.2".into(),
            id: "c".into(),
            pid: me,
            start_time: proc_stat(me).unwrap().1,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: now_rfc3339(),
            owner: String::new(),
            annotations: BTreeMap::new(),
            cgroup: None,
            hooks: None,
            exec: ExecContext::default(),
        };
        rec.save(dir.path()).unwrap();
        let c = Container {
            record: Record::load(dir.path(), "c").unwrap(),
            dir: dir.path().to_owned(),
        };
        assert_eq!(c.status(), Status::Running);
        std::fs::write(dir.path().join(EXEC_SOCKET), "").unwrap();
        assert_eq!(c.status(), Status::Created);
        let mut stale = c.clone();
        stale.record.start_time += 1;
        assert_eq!(stale.status(), Status::Stopped);
        assert_eq!(stale.state().pid, Some(0));
        let json = serde_json::to_value(c.state()).unwrap();
        for key in [
            "ociVersion",
            "id",
            "pid",
            "status",
            "bundle",
            "rootfs",
            "created",
            "owner",
        ] {
            assert!(json.get(key).is_some(), "{key} in {json}");
        }
        assert!(Record::load(&dir.path().join("nope"), "x")
            .unwrap_err()
            .is_not_found());
    }
}
