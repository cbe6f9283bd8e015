//! The container process's own settings: rlimits, user, capabilities,
//! no_new_privileges, umask and working directory; and the attributes
//! applied around them: personality, memory policy, I/O priority,
//! scheduler and CPU affinity.

use std::path::Path;

use ocikit_types::runtime::{
    Capability, IoPriority, IoPriorityClass, MemoryPolicy, MemoryPolicyFlag, MemoryPolicyMode,
    Personality, PersonalityDomain, Process, RlimitType, Scheduler, SchedulerFlag, SchedulerPolicy,
    Spec,
};

use crate::setup::rootfs::{SetupError, Step};
use crate::sys::syscalls::Syscalls;
use crate::sys::SchedAttr;

/// The highest capability number this engine knows (CAP_CHECKPOINT_RESTORE).
const LAST_CAP: u8 = 40;

/// The kernel's number for an rlimit type.
pub(crate) fn rlimit_number(kind: &RlimitType) -> Option<i32> {
    let n = match kind {
        RlimitType::Cpu => libc::RLIMIT_CPU,
        RlimitType::Fsize => libc::RLIMIT_FSIZE,
        RlimitType::Data => libc::RLIMIT_DATA,
        RlimitType::Stack => libc::RLIMIT_STACK,
        RlimitType::Core => libc::RLIMIT_CORE,
        RlimitType::Rss => libc::RLIMIT_RSS,
        RlimitType::Nproc => libc::RLIMIT_NPROC,
        RlimitType::Nofile => libc::RLIMIT_NOFILE,
        RlimitType::Memlock => libc::RLIMIT_MEMLOCK,
        RlimitType::As => libc::RLIMIT_AS,
        RlimitType::Locks => libc::RLIMIT_LOCKS,
        RlimitType::Sigpending => libc::RLIMIT_SIGPENDING,
        RlimitType::Msgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitType::Nice => libc::RLIMIT_NICE,
        RlimitType::Rtprio => libc::RLIMIT_RTPRIO,
        RlimitType::Rttime => libc::RLIMIT_RTTIME,
        _ => return None,
    };
    Some(n as i32)
}

/// A bit mask of capabilities; unknown names are an error.
pub(crate) fn cap_mask(caps: &[Capability]) -> Result<u64, String> {
    let mut mask = 0u64;
    for c in caps {
        let n = c.number().ok_or_else(|| c.to_string())?;
        mask |= 1 << n;
    }
    Ok(mask)
}

fn unknown(what: &str) -> SetupError {
    SetupError {
        step: what.to_owned(),
        source: std::io::Error::from_raw_os_error(libc::EINVAL),
    }
}

/// Applies `process` to the calling (single-threaded) init, in the order
/// that keeps the privileges each step needs: rlimits, bounding set (needs
/// CAP_SETPCAP), groups and ids (keeping capabilities), the other sets,
/// no_new_privs, umask, cwd.
pub(crate) fn setup(sys: &dyn Syscalls, process: &Process) -> Result<(), SetupError> {
    for r in &process.rlimits {
        let n =
            rlimit_number(&r.kind).ok_or_else(|| unknown(&format!("unknown rlimit {}", r.kind)))?;
        sys.setrlimit(n, r.soft, r.hard)
            .step(|| format!("set {} to {}:{}", r.kind, r.soft, r.hard))?;
    }
    let caps = match &process.capabilities {
        Some(c) => {
            let m = |v: &[Capability]| {
                cap_mask(v).map_err(|n| unknown(&format!("unknown capability {n}")))
            };
            Some((
                m(&c.bounding)?,
                m(&c.effective)?,
                m(&c.permitted)?,
                m(&c.inheritable)?,
                m(&c.ambient)?,
            ))
        }
        None => None,
    };
    if let Some((bounding, ..)) = caps {
        for cap in 0..=LAST_CAP {
            if bounding & (1 << cap) == 0 {
                match sys.drop_bounding(cap) {
                    // Older kernels do not know the newest capabilities.
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
                    r => r.step(|| format!("drop capability {cap} from the bounding set"))?,
                }
            }
        }
    }
    let (uid, gid, groups, umask) = match &process.user {
        Some(u) => (u.uid, u.gid, u.additional_gids.clone(), u.umask),
        None => (0, 0, Vec::new(), None),
    };
    sys.keep_caps()
        .step(|| "keep capabilities across setuid".into())?;
    sys.setgroups(&groups)
        .step(|| format!("set additional gids {groups:?}"))?;
    sys.set_ids(uid, gid)
        .step(|| format!("set uid {uid} and gid {gid}"))?;
    if let Some((_, effective, permitted, inheritable, ambient)) = caps {
        sys.capset(effective, permitted, inheritable)
            .step(|| "set capabilities".into())?;
        for cap in 0..=LAST_CAP {
            if ambient & (1 << cap) != 0 {
                match sys.raise_ambient(cap) {
                    // The kernel raises only what is both permitted and
                    // inheritable. runc and crun skip the others: runc's
                    // own `runc spec` lists ambient capabilities that are
                    // not inheritable. Skipping only takes privilege away.
                    Err(e)
                        if e.raw_os_error() == Some(libc::EPERM)
                            && permitted & inheritable & (1 << cap) == 0 =>
                    {
                        tracing::warn!(
                            cap,
                            "ambient capability not raised: not both permitted and inheritable"
                        );
                    }
                    r => r.step(|| format!("raise ambient capability {cap}"))?,
                }
            }
        }
    }
    if process.no_new_privileges {
        sys.no_new_privs().step(|| "set no_new_privs".into())?;
    }
    sys.umask(umask.unwrap_or(0o022));
    let cwd = if process.cwd.is_empty() {
        "/"
    } else {
        &process.cwd
    };
    sys.chdir(Path::new(cwd))
        .step(|| format!("chdir to cwd {cwd}"))?;
    Ok(())
}

/// A config value the kernel would refuse or misread, found before any
/// system call (by `create`'s checks, and again by the init).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) field: &'static str,
    pub(crate) expected: &'static str,
    pub(crate) found: String,
}

impl From<Invalid> for crate::Error {
    fn from(i: Invalid) -> Self {
        crate::Error::BadConfig {
            field: i.field,
            expected: i.expected,
            found: i.found,
        }
    }
}

impl From<Invalid> for SetupError {
    fn from(i: Invalid) -> Self {
        SetupError {
            step: format!("{}: expected {}, found {}", i.field, i.expected, i.found),
            source: std::io::Error::from_raw_os_error(libc::EINVAL),
        }
    }
}

/// The highest CPU or NUMA node number a list may name.
const MAX_LIST_ENTRY: usize = 8191;

/// Parses a CPU or NUMA node list (`0-3,7`, the cpuset syntax) into sorted,
/// distinct numbers; `field` names the config field for errors.
pub(crate) fn parse_list(field: &'static str, list: &str) -> Result<Vec<usize>, Invalid> {
    let bad = || Invalid {
        field,
        expected: "a list like 0-3,7 of numbers up to 8191",
        found: format!("{list:?}"),
    };
    let num = |s: &str| -> Result<usize, Invalid> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_LIST_ENTRY)
            .ok_or_else(bad)
    };
    let mut out = Vec::new();
    for part in list.trim().split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (num(lo)?, num(hi)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if lo > hi {
            return Err(bad());
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The `struct sched_attr` for `process.scheduler`.
pub(crate) fn sched_attr(s: &Scheduler) -> Result<SchedAttr, Invalid> {
    let policy = match &s.policy {
        SchedulerPolicy::Normal => libc::SCHED_OTHER,
        SchedulerPolicy::Fifo => libc::SCHED_FIFO,
        SchedulerPolicy::Rr => libc::SCHED_RR,
        SchedulerPolicy::Batch => libc::SCHED_BATCH,
        SchedulerPolicy::Idle => libc::SCHED_IDLE,
        SchedulerPolicy::Deadline => 6,
        other => {
            return Err(Invalid {
                field: "process.scheduler.policy",
                expected: "a policy Linux implements (SCHED_ISO is not one)",
                found: other.to_string(),
            })
        }
    } as u32;
    let mut flags = 0u64;
    for f in &s.flags {
        flags |= match f {
            SchedulerFlag::ResetOnFork => 0x01,
            SchedulerFlag::Reclaim => 0x02,
            SchedulerFlag::DlOverrun => 0x04,
            SchedulerFlag::KeepPolicy => 0x08,
            SchedulerFlag::KeepParams => 0x10,
            SchedulerFlag::UtilClampMin => 0x20,
            SchedulerFlag::UtilClampMax => 0x40,
            other => {
                return Err(Invalid {
                    field: "process.scheduler.flags",
                    expected: "SCHED_FLAG_* names",
                    found: other.to_string(),
                })
            }
        };
    }
    if !(-20..=19).contains(&s.nice) {
        return Err(Invalid {
            field: "process.scheduler.nice",
            expected: "-20 to 19",
            found: s.nice.to_string(),
        });
    }
    let priority = u32::try_from(s.priority).map_err(|_| Invalid {
        field: "process.scheduler.priority",
        expected: "0 or more",
        found: s.priority.to_string(),
    })?;
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy,
        flags,
        nice: s.nice,
        priority,
        runtime: s.runtime,
        deadline: s.deadline,
        period: s.period,
        ..SchedAttr::default()
    })
}

/// The ioprio_set(2) value (`IOPRIO_PRIO_VALUE(class, level)`) for
/// `process.ioPriority`.
pub(crate) fn ioprio_value(p: &IoPriority) -> Result<u32, Invalid> {
    let class = match &p.class {
        IoPriorityClass::Rt => 1u32,
        IoPriorityClass::Be => 2,
        IoPriorityClass::Idle => 3,
        other => {
            return Err(Invalid {
                field: "process.ioPriority.class",
                expected: "IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE",
                found: other.to_string(),
            })
        }
    };
    if !(0..=7).contains(&p.priority) {
        return Err(Invalid {
            field: "process.ioPriority.priority",
            expected: "0 to 7",
            found: p.priority.to_string(),
        });
    }
    Ok(class << 13 | p.priority as u32)
}

/// The personality(2) value for `linux.personality`.
pub(crate) fn personality_value(p: &Personality) -> Result<u64, Invalid> {
    if let Some(flag) = p.flags.first() {
        return Err(Invalid {
            field: "linux.personality.flags",
            expected: "no flags (the specification defines none)",
            found: flag.clone(),
        });
    }
    match &p.domain {
        Some(PersonalityDomain::Linux) => Ok(0x0000),
        Some(PersonalityDomain::Linux32) => Ok(0x0008),
        other => Err(Invalid {
            field: "linux.personality.domain",
            expected: "LINUX or LINUX32",
            found: other.as_ref().map_or("none".into(), |d| d.to_string()),
        }),
    }
}

/// The set_mempolicy(2) mode (flags or'ed in) and node mask for
/// `linux.memoryPolicy`.
pub(crate) fn mempolicy(p: &MemoryPolicy) -> Result<(i32, Vec<u64>), Invalid> {
    let (mode, needs_nodes) = match &p.mode {
        Some(MemoryPolicyMode::Default) => (0, Some(false)),
        Some(MemoryPolicyMode::Preferred) => (1, None),
        Some(MemoryPolicyMode::Bind) => (2, Some(true)),
        Some(MemoryPolicyMode::Interleave) => (3, Some(true)),
        Some(MemoryPolicyMode::Local) => (4, Some(false)),
        Some(MemoryPolicyMode::PreferredMany) => (5, Some(true)),
        Some(MemoryPolicyMode::WeightedInterleave) => (6, Some(true)),
        other => {
            return Err(Invalid {
                field: "linux.memoryPolicy.mode",
                expected: "an MPOL_* mode",
                found: other.as_ref().map_or("none".into(), |m| m.to_string()),
            })
        }
    };
    let mut flags = 0;
    for f in &p.flags {
        flags |= match f {
            MemoryPolicyFlag::NumaBalancing => 1 << 13,
            MemoryPolicyFlag::RelativeNodes => 1 << 14,
            MemoryPolicyFlag::StaticNodes => 1 << 15,
            other => {
                return Err(Invalid {
                    field: "linux.memoryPolicy.flags",
                    expected: "MPOL_F_* names",
                    found: other.to_string(),
                })
            }
        };
    }
    let nodes = if p.nodes.trim().is_empty() {
        Vec::new()
    } else {
        parse_list("linux.memoryPolicy.nodes", &p.nodes)?
    };
    match needs_nodes {
        Some(true) if nodes.is_empty() => {
            return Err(Invalid {
                field: "linux.memoryPolicy.nodes",
                expected: "nodes for this mode",
                found: "none".into(),
            })
        }
        Some(false) if !nodes.is_empty() => {
            return Err(Invalid {
                field: "linux.memoryPolicy.nodes",
                expected: "no nodes for MPOL_DEFAULT and MPOL_LOCAL",
                found: p.nodes.clone(),
            })
        }
        _ => {}
    }
    let mut mask = Vec::new();
    for n in nodes {
        if mask.len() <= n / 64 {
            mask.resize(n / 64 + 1, 0u64);
        }
        mask[n / 64] |= 1 << (n % 64);
    }
    Ok((mode | flags, mask))
}

/// Checks the attributes [`setup_attributes`], [`final_affinity`] and
/// the runtime (initial affinity) will apply, so that `create` refuses a
/// bad config up front.
pub(crate) fn check_attributes(spec: &Spec) -> Result<(), Invalid> {
    if let Some(p) = &spec.process {
        if let Some(s) = &p.scheduler {
            sched_attr(s)?;
            // The init runs the startContainer hooks after setting the
            // policy, and a SCHED_DEADLINE task cannot fork.
            let hooks = spec
                .hooks
                .as_ref()
                .is_some_and(|h| !h.start_container.is_empty());
            if s.policy == SchedulerPolicy::Deadline
                && hooks
                && !s.flags.contains(&SchedulerFlag::ResetOnFork)
            {
                return Err(Invalid {
                    field: "process.scheduler.flags",
                    expected: "SCHED_FLAG_RESET_ON_FORK with SCHED_DEADLINE and startContainer hooks (a deadline task cannot fork)",
                    found: format!("{:?}", s.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>()),
                });
            }
        }
        if let Some(io) = &p.io_priority {
            ioprio_value(io)?;
        }
        if let Some(a) = &p.exec_cpu_affinity {
            if let Some(l) = &a.initial {
                parse_list("process.execCPUAffinity.initial", l)?;
            }
            if let Some(l) = &a.r#final {
                parse_list("process.execCPUAffinity.final", l)?;
            }
        }
    }
    if let Some(l) = &spec.linux {
        if let Some(p) = &l.personality {
            personality_value(p)?;
        }
        if let Some(m) = &l.memory_policy {
            mempolicy(m)?;
        }
    }
    Ok(())
}

/// Applies the personality, memory policy, I/O priority and scheduler of
/// `spec` to the calling init, which passes them on across exec. Called
/// before [`setup`] drops privileges: real-time policies and raising the
/// I/O class need CAP_SYS_NICE / CAP_SYS_ADMIN.
///
/// A `SCHED_DEADLINE` init cannot fork (without `SCHED_FLAG_RESET_ON_FORK`),
/// so such a config cannot have startContainer hooks.
pub(crate) fn setup_attributes(sys: &dyn Syscalls, spec: &Spec) -> Result<(), SetupError> {
    if let Some(p) = spec.linux.as_ref().and_then(|l| l.personality.as_ref()) {
        let v = personality_value(p)?;
        sys.personality(v)
            .step(|| format!("set personality {v:#x}"))?;
    }
    if let Some(m) = spec.linux.as_ref().and_then(|l| l.memory_policy.as_ref()) {
        let (mode, nodes) = mempolicy(m)?;
        sys.set_mempolicy(mode, &nodes)
            .step(|| format!("set memory policy {mode:#x} nodes {:?}", m.nodes))?;
    }
    let Some(p) = &spec.process else {
        return Ok(());
    };
    if let Some(io) = &p.io_priority {
        let v = ioprio_value(io)?;
        sys.ioprio_set(v)
            .step(|| format!("set I/O priority {} {}", io.class, io.priority))?;
    }
    if let Some(s) = &p.scheduler {
        let attr = sched_attr(s)?;
        sys.sched_setattr(&attr)
            .step(|| format!("set scheduler policy {}", s.policy))?;
    }
    Ok(())
}

/// Applies `process.execCPUAffinity.final`, if set: the init's last
/// step before exec. (The initial affinity is set by the runtime when it
/// spawns the init.) With only an initial affinity, the affinity is reset
/// to every CPU the container's cpuset allows, since the kernel keeps the
/// initial one across the cgroup move when the cpusets do not differ.
pub(crate) fn final_affinity(sys: &dyn Syscalls, process: &Process) -> Result<(), SetupError> {
    let Some(a) = &process.exec_cpu_affinity else {
        return Ok(());
    };
    let given = |l: &Option<String>| l.as_deref().filter(|l| !l.trim().is_empty()).is_some();
    if let Some(list) = a.r#final.as_deref().filter(|_| given(&a.r#final)) {
        let cpus = parse_list("process.execCPUAffinity.final", list)?;
        sys.sched_setaffinity(&cpus)
            .step(|| format!("set CPU affinity to {list} (process.execCPUAffinity.final)"))
    } else if given(&a.initial) {
        // The kernel intersects the mask with the cpuset's CPUs.
        let all: Vec<usize> = (0..=MAX_LIST_ENTRY.min(1023)).collect();
        sys.sched_setaffinity(&all)
            .step(|| "reset CPU affinity after process.execCPUAffinity.initial".into())
    } else {
        Ok(())
    }
}

/// Finds `program` as execvp(3) would with `env`'s PATH, inside the current
/// root (the init has already entered the container's).
pub(crate) fn find_program(program: &str, env: &[String]) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let p = Path::new(program);
        return executable(p).then(|| p.to_owned());
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    path.split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(program))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::syscalls::fake::Recording;
    use ocikit_types::runtime::{Capabilities, Rlimit, User};

    #[test]
    fn order_and_values() {
        let mut p = Process::new("/work");
        let mut u = User::new(1000, 100);
        u.additional_gids = vec![5, 6];
        u.umask = Some(0o077);
        p.user = Some(u);
        p.no_new_privileges = true;
        p.rlimits = vec![Rlimit::new(RlimitType::Nofile, 512, 1024)];
        let mut caps = Capabilities::default();
        caps.bounding = vec![Capability::Kill, Capability::Chown];
        caps.effective = vec![Capability::Kill];
        caps.permitted = vec![Capability::Kill];
        caps.ambient = vec![Capability::Kill];
        p.capabilities = Some(caps);
        let sys = Recording::default();
        setup(&sys, &p).unwrap();
        let lines = sys.lines();
        assert_eq!(
            lines[0],
            format!("setrlimit {} 512 1024", libc::RLIMIT_NOFILE)
        );
        // Chown (0) and Kill (5) stay in the bounding set, the rest go.
        assert!(!lines.contains(&"drop_bounding 0".to_owned()));
        assert!(!lines.contains(&"drop_bounding 5".to_owned()));
        assert!(lines.contains(&"drop_bounding 21".to_owned()));
        let pos = |s: &str| lines.iter().position(|l| l == s).unwrap();
        assert!(pos("drop_bounding 21") < pos("set_ids 1000 100"));
        assert!(pos("keep_caps") < pos("set_ids 1000 100"));
        assert!(pos("setgroups [5, 6]") < pos("set_ids 1000 100"));
        assert!(pos("set_ids 1000 100") < pos("capset 0x20 0x20 0x0"));
        assert!(pos("capset 0x20 0x20 0x0") < pos("raise_ambient 5"));
        assert_eq!(
            &lines[lines.len() - 3..],
            ["no_new_privs", "umask 77", "chdir /work"]
        );
    }

    #[test]
    fn ambient_not_inheritable_is_skipped() {
        let mut p = Process::new("/");
        let mut caps = Capabilities::default();
        caps.permitted = vec![Capability::Kill, Capability::Chown];
        caps.inheritable = vec![Capability::Chown];
        caps.ambient = vec![Capability::Kill];
        p.capabilities = Some(caps.clone());
        let sys = Recording {
            fail_prefix: Some("raise_ambient".into()),
            ..Recording::default()
        };
        setup(&sys, &p).unwrap();
        // One that is permitted and inheritable must be raised.
        caps.ambient = vec![Capability::Chown];
        p.capabilities = Some(caps);
        let e = setup(&sys, &p).unwrap_err();
        assert_eq!(e.step, "raise ambient capability 0");
    }

    #[test]
    fn failures_name_the_step() {
        let mut p = Process::new("/");
        p.user = Some(User::new(7, 7));
        let sys = Recording {
            fail_prefix: Some("set_ids".into()),
            ..Recording::default()
        };
        let e = setup(&sys, &p).unwrap_err();
        assert_eq!(e.step, "set uid 7 and gid 7");
        assert_eq!(e.source.raw_os_error(), Some(libc::EPERM));
    }

    #[test]
    fn lists_parse() {
        let p = |s| parse_list("f", s);
        assert_eq!(p("0-1,3").unwrap(), [0, 1, 3]);
        assert_eq!(p("7").unwrap(), [7]);
        assert_eq!(p("3,1-2,2").unwrap(), [1, 2, 3]);
        for bad in ["", "1-", "-1", "2-1", "a", "1,,2", "0-9000"] {
            let e = p(bad).unwrap_err();
            assert_eq!(e.field, "f");
            assert_eq!(e.found, format!("{bad:?}"));
        }
        // Surrounding whitespace is tolerated, as the kernel does.
        assert_eq!(p("0-1\n").unwrap(), [0, 1]);
    }

    #[test]
    fn attribute_values() {
        let mut s = Scheduler::new(SchedulerPolicy::Batch);
        s.nice = 7;
        s.flags = vec![SchedulerFlag::ResetOnFork];
        let a = sched_attr(&s).unwrap();
        assert_eq!((a.policy, a.flags, a.nice, a.size), (3, 1, 7, 56));
        s.policy = SchedulerPolicy::Iso;
        assert_eq!(
            sched_attr(&s).unwrap_err().field,
            "process.scheduler.policy"
        );
        s.policy = SchedulerPolicy::Deadline;
        s.nice = 20;
        assert_eq!(sched_attr(&s).unwrap_err().field, "process.scheduler.nice");

        assert_eq!(
            ioprio_value(&IoPriority::new(IoPriorityClass::Idle, 0)).unwrap(),
            3 << 13
        );
        assert_eq!(
            ioprio_value(&IoPriority::new(IoPriorityClass::Be, 6)).unwrap(),
            2 << 13 | 6
        );
        assert!(ioprio_value(&IoPriority::new(IoPriorityClass::Rt, 8)).is_err());

        let mut p = Personality::default();
        assert!(personality_value(&p).is_err());
        p.domain = Some(PersonalityDomain::Linux32);
        assert_eq!(personality_value(&p).unwrap(), 8);
        p.flags = vec!["SHORT_INODE".into()];
        assert_eq!(
            personality_value(&p).unwrap_err().field,
            "linux.personality.flags"
        );

        let mut m = MemoryPolicy::default();
        m.mode = Some(MemoryPolicyMode::Bind);
        assert!(mempolicy(&m).is_err(), "bind without nodes");
        m.nodes = "0,65".into();
        m.flags = vec![MemoryPolicyFlag::StaticNodes];
        assert_eq!(mempolicy(&m).unwrap(), (2 | 1 << 15, vec![1, 2]));
        m.mode = Some(MemoryPolicyMode::Local);
        assert!(mempolicy(&m).is_err(), "local with nodes");
        m.nodes.clear();
        m.flags.clear();
        assert_eq!(mempolicy(&m).unwrap(), (4, vec![]));
    }

    #[test]
    fn attributes_are_applied_in_order() {
        use ocikit_types::runtime::ExecCpuAffinity;
        let mut spec = Spec::default_linux();
        let linux = spec.linux.as_mut().unwrap();
        let mut pers = Personality::default();
        pers.domain = Some(PersonalityDomain::Linux32);
        linux.personality = Some(pers);
        let mut m = MemoryPolicy::default();
        m.mode = Some(MemoryPolicyMode::Preferred);
        m.nodes = "0".into();
        linux.memory_policy = Some(m);
        let p = spec.process.as_mut().unwrap();
        p.io_priority = Some(IoPriority::new(IoPriorityClass::Be, 4));
        let mut s = Scheduler::new(SchedulerPolicy::Idle);
        s.flags = vec![SchedulerFlag::ResetOnFork];
        p.scheduler = Some(s);
        let mut a = ExecCpuAffinity::default();
        a.initial = Some("0".into());
        a.r#final = Some("1-2".into());
        p.exec_cpu_affinity = Some(a);
        check_attributes(&spec).unwrap();
        let mut dl = spec.clone();
        dl.process.as_mut().unwrap().scheduler = Some(Scheduler::new(SchedulerPolicy::Deadline));
        let mut hooks = ocikit_types::runtime::Hooks::default();
        hooks.start_container = vec![ocikit_types::runtime::Hook::new("/bin/true")];
        dl.hooks = Some(hooks);
        assert_eq!(
            check_attributes(&dl).unwrap_err().field,
            "process.scheduler.flags"
        );
        let sys = Recording::default();
        setup_attributes(&sys, &spec).unwrap();
        final_affinity(&sys, spec.process.as_ref().unwrap()).unwrap();
        let sys_reset = Recording::default();
        spec.process
            .as_mut()
            .unwrap()
            .exec_cpu_affinity
            .as_mut()
            .unwrap()
            .r#final = None;
        final_affinity(&sys_reset, spec.process.as_ref().unwrap()).unwrap();
        let reset = sys_reset.lines();
        assert!(reset[0].starts_with("sched_setaffinity [0, 1, 2,"));
        assert!(reset[0].ends_with(", 1023]"));
        assert_eq!(
            sys.lines(),
            [
                "personality 0x8",
                "set_mempolicy 0x1 [1]",
                "ioprio_set 0x4004",
                "sched_setattr policy=5 flags=0x1 nice=0 prio=0 dl=0/0/0",
                "sched_setaffinity [1, 2]",
            ]
        );
        let sys = Recording {
            fail_prefix: Some("ioprio_set".into()),
            ..Recording::default()
        };
        let e = setup_attributes(&sys, &spec).unwrap_err();
        assert_eq!(e.step, "set I/O priority IOPRIO_CLASS_BE 4");
    }

    #[test]
    fn unknown_capability_is_refused() {
        let mut p = Process::new("/");
        let mut caps = Capabilities::default();
        caps.bounding = vec![Capability::from("CAP_NONSENSE")];
        p.capabilities = Some(caps);
        let e = setup(&Recording::default(), &p).unwrap_err();
        assert!(e.step.contains("CAP_NONSENSE"), "{}", e.step);
    }
}
