//! Process attributes beyond ids and capabilities: scheduler, I/O
//! priority, personality, memory policy, CPU affinity; their checks at
//! create and their setup in the init.

use ocikit_types::runtime::{
    IoPriority, IoPriorityClass, MemoryPolicy, MemoryPolicyFlag, MemoryPolicyMode, Personality,
    PersonalityDomain, Process, Scheduler, SchedulerFlag, SchedulerPolicy, Spec,
};

use crate::setup::error::{Invalid, SetupError, Step};
use crate::sys::syscalls::Syscalls;
use crate::sys::SchedAttr;

/// The highest CPU or NUMA node number a list may name.
pub(super) const MAX_LIST_ENTRY: usize = 8191;

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
