//! A recording fake of [`Syscalls`]: records every call, injects
//! failures.

use std::cell::RefCell;
use std::collections::BTreeSet;

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::syscalls::*;
use crate::sys::Insn;
use crate::sys::SchedAttr;

/// Records every call as a line of text; fails calls whose line starts
/// with `fail_prefix`; treats `dirs` as directories and `missing` as
/// absent when resolving.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    pub(crate) calls: RefCell<Vec<String>>,
    pub(crate) fail_prefix: Option<String>,
    pub(crate) dirs: BTreeSet<String>,
    pub(crate) missing: BTreeSet<String>,
}

impl Recording {
    fn record(&self, line: String) -> io::Result<()> {
        let fail = self
            .fail_prefix
            .as_ref()
            .is_some_and(|p| line.starts_with(p.as_str()));
        self.calls.borrow_mut().push(line);
        if fail {
            Err(io::Error::from_raw_os_error(libc::EPERM))
        } else {
            Ok(())
        }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

fn p(path: Option<&Path>) -> String {
    path.map_or("none".into(), |p| p.display().to_string())
}

impl Syscalls for Recording {
    fn resolve(&self, root: &Path, path: &str, create: Create) -> io::Result<Resolved> {
        let clean = format!("/{}", path.trim_start_matches('/'));
        if create == Create::No && self.missing.contains(&clean) {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let is_dir = create == Create::Dir || self.dirs.contains(&clean);
        Ok(Resolved::plain(
            root.join(clean.trim_start_matches('/')),
            is_dir,
        ))
    }
    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()> {
        self.record(format!(
            "mount {} {} {} {:#x} {}",
            p(source),
            target.display(),
            fstype.unwrap_or("none"),
            flags,
            data.unwrap_or("")
        ))
    }
    fn mknod(&self, _root: &Path, path: &str, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        self.record(format!("mknod {path} {mode:o} {major}:{minor}"))
    }
    fn chown(&self, _root: &Path, path: &str, uid: u32, gid: u32) -> io::Result<()> {
        self.record(format!("chown {path} {uid}:{gid}"))
    }
    fn symlink(&self, _root: &Path, target: &str, link: &str) -> io::Result<()> {
        self.record(format!("symlink {link} -> {target}"))
    }
    fn mkdir_in_fresh(&self, dir: &Path, name: &str) -> io::Result<PathBuf> {
        let path = dir.join(name);
        self.record(format!("mkdir {}", path.display()))?;
        Ok(path)
    }
    fn pivot_root(&self, root: &Path) -> io::Result<()> {
        self.record(format!("pivot_root {}", root.display()))
    }
    fn move_root(&self, root: &Path) -> io::Result<()> {
        self.record(format!("move_root {}", root.display()))
    }
    fn chroot(&self, root: &Path) -> io::Result<()> {
        self.record(format!("chroot {}", root.display()))
    }
    fn write_file(&self, path: &Path, data: &str) -> io::Result<()> {
        self.record(format!("write {} {data}", path.display()))
    }
    fn sethostname(&self, name: &str) -> io::Result<()> {
        self.record(format!("sethostname {name}"))
    }
    fn setdomainname(&self, name: &str) -> io::Result<()> {
        self.record(format!("setdomainname {name}"))
    }
    fn setrlimit(&self, resource: i32, soft: u64, hard: u64) -> io::Result<()> {
        self.record(format!("setrlimit {resource} {soft} {hard}"))
    }
    fn drop_bounding(&self, cap: u8) -> io::Result<()> {
        self.record(format!("drop_bounding {cap}"))
    }
    fn keep_caps(&self) -> io::Result<()> {
        self.record("keep_caps".into())
    }
    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        self.record(format!("setgroups {gids:?}"))
    }
    fn set_ids(&self, uid: u32, gid: u32) -> io::Result<()> {
        self.record(format!("set_ids {uid} {gid}"))
    }
    fn capset(&self, effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
        self.record(format!(
            "capset {effective:#x} {permitted:#x} {inheritable:#x}"
        ))
    }
    fn raise_ambient(&self, cap: u8) -> io::Result<()> {
        self.record(format!("raise_ambient {cap}"))
    }
    fn no_new_privs(&self) -> io::Result<()> {
        self.record("no_new_privs".into())
    }
    fn umask(&self, mask: u32) {
        let _ = self.record(format!("umask {mask:o}"));
    }
    fn chdir(&self, path: &Path) -> io::Result<()> {
        self.record(format!("chdir {}", path.display()))
    }
    fn seccomp(&self, flags: u32, program: &[Insn]) -> io::Result<Option<OwnedFd>> {
        self.record(format!("seccomp flags={flags:#x} insns={}", program.len()))?;
        Ok(None)
    }
    fn sched_setattr(&self, a: &SchedAttr) -> io::Result<()> {
        self.record(format!(
            "sched_setattr policy={} flags={:#x} nice={} prio={} dl={}/{}/{}",
            a.policy, a.flags, a.nice, a.priority, a.runtime, a.deadline, a.period
        ))
    }
    fn ioprio_set(&self, value: u32) -> io::Result<()> {
        self.record(format!("ioprio_set {value:#x}"))
    }
    fn personality(&self, persona: u64) -> io::Result<()> {
        self.record(format!("personality {persona:#x}"))
    }
    fn set_mempolicy(&self, mode: i32, nodes: &[u64]) -> io::Result<()> {
        self.record(format!("set_mempolicy {mode:#x} {nodes:x?}"))
    }
    fn sched_setaffinity(&self, cpus: &[usize]) -> io::Result<()> {
        self.record(format!("sched_setaffinity {cpus:?}"))
    }
    fn attach_tree(&self, tree: std::os::fd::RawFd, target: &Path) -> io::Result<()> {
        self.record(format!("attach_tree {tree} {}", target.display()))
    }
    fn mount_setattr(
        &self,
        target: &Path,
        recursive: bool,
        set: u64,
        clear: u64,
    ) -> io::Result<()> {
        self.record(format!(
            "mount_setattr {} recursive={recursive} set={set:#x} clear={clear:#x}",
            target.display()
        ))
    }
}
