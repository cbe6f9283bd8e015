//! A runtime-spec profile compiled to one BPF program with a section
//! per ABI.

use std::collections::BTreeMap;

use ocikit_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall,
};

use super::program::*;
use super::table::*;
use super::{
    Filter, FLAG_LOG, FLAG_NEW_LISTENER, FLAG_SPEC_ALLOW, FLAG_TSYNC, FLAG_TSYNC_ESRCH,
    FLAG_WAIT_KILLABLE_RECV,
};
use crate::error::Error;
use crate::sys::Insn;

/// An ABI the filter has a section for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Abi {
    X86_64,
    X32,
    I386,
}

impl Abi {
    fn number(self, name: &str) -> Option<u32> {
        match self {
            Abi::X86_64 => syscall_number(name),
            Abi::X32 => x32_number(name),
            Abi::I386 => i386_number(name),
        }
    }

    /// How many names the ABI's table knows (0: built without it).
    fn table_len(self) -> usize {
        match self {
            Abi::X86_64 => usize::MAX,
            Abi::X32 => X32_NAMES,
            Abi::I386 => I386_NAMES,
        }
    }

    /// Whether arguments are compared on their low 32 bits only, as
    /// libseccomp does for its 32-bit architectures (i386 and x32).
    fn narrow(self) -> bool {
        self != Abi::X86_64
    }

    fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::X32 => "x32",
            Abi::I386 => "x86",
        }
    }
}

fn bad(field: &'static str, expected: &'static str, found: impl Into<String>) -> Error {
    Error::BadConfig {
        field,
        expected,
        found: found.into(),
    }
}

/// The `SECCOMP_RET_*` value of `action`; `errno` is `errnoRet` (or
/// `defaultErrnoRet`), named `field` in errors.
fn ret_value(
    action: &SeccompAction,
    errno: Option<u32>,
    field: &'static str,
) -> crate::error::Result<u32> {
    let data = || -> crate::error::Result<u32> {
        let e = errno.unwrap_or(libc::EPERM as u32);
        if e > 0xffff {
            return Err(bad(field, "an errno that fits 16 bits", e.to_string()));
        }
        Ok(e)
    };
    if errno.is_some() && !matches!(action, SeccompAction::Errno | SeccompAction::Trace) {
        return Err(bad(
            field,
            "errnoRet only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE",
            action.to_string(),
        ));
    }
    Ok(match action {
        SeccompAction::Kill | SeccompAction::KillThread => RET_KILL_THREAD,
        SeccompAction::KillProcess => RET_KILL_PROCESS,
        SeccompAction::Trap => RET_TRAP,
        SeccompAction::Errno => RET_ERRNO | data()?,
        SeccompAction::Trace => RET_TRACE | data()?,
        SeccompAction::Allow => RET_ALLOW,
        SeccompAction::Log => RET_LOG,
        SeccompAction::Notify => RET_USER_NOTIF,
        other => {
            return Err(bad(
                "linux.seccomp action",
                "a known SCMP_ACT_* action",
                other.to_string(),
            ))
        }
    })
}

/// Syscall numbers tested by one `jeq` chain before its `ret`: jump
/// offsets are 8 bits.
pub(super) const CHAIN: usize = 200;

/// The rules for one ABI, in profile order, then `default`. Names without
/// a number on `abi` are skipped and recorded in `unknown`.
fn section<'a>(
    abi: Abi,
    rules: &[(&'a Syscall, u32)],
    default: u32,
    unknown: &mut BTreeMap<&'a str, Vec<Abi>>,
) -> Vec<Insn> {
    let mut program = Vec::new();
    for &(rule, ret) in rules {
        let mut numbers = Vec::new();
        for name in &rule.names {
            match abi.number(name) {
                Some(nr) => numbers.push(nr),
                None => {
                    let missing = unknown.entry(name.as_str()).or_default();
                    if !missing.contains(&abi) {
                        missing.push(abi);
                    }
                }
            }
        }
        if rule.args.is_empty() {
            for chain in numbers.chunks(CHAIN) {
                program.push(Insn {
                    code: BPF_LD_W_ABS,
                    jt: 0,
                    jf: 0,
                    k: OFF_NR,
                });
                let n = chain.len();
                for (i, nr) in chain.iter().enumerate() {
                    // Matches jump over the rest of the chain and the `ja`
                    // to the `ret`.
                    let jt = u8::try_from(n - i).expect("chain fits a jump");
                    program.push(Insn {
                        code: BPF_JMP_JEQ_K,
                        jt,
                        jf: 0,
                        k: *nr,
                    });
                }
                program.push(Insn {
                    code: BPF_JMP_JA,
                    jt: 0,
                    jf: 0,
                    k: 1,
                });
                program.push(Insn {
                    code: BPF_RET_K,
                    jt: 0,
                    jf: 0,
                    k: ret,
                });
            }
        } else {
            for nr in numbers {
                let mut b = Block::default();
                b.stmt(BPF_LD_W_ABS, OFF_NR);
                b.jump(BPF_JMP_JEQ_K, nr, To::Skip(0), To::Fail);
                for arg in &rule.args {
                    if abi.narrow() {
                        b.arg32(arg.index, &arg.op, arg.value, arg.value_two);
                    } else {
                        b.arg(arg.index, &arg.op, arg.value, arg.value_two);
                    }
                }
                b.stmt(BPF_RET_K, ret);
                b.finish(&mut program);
            }
        }
    }
    program.push(Insn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k: default,
    });
    program
}

/// Compiles `profile`: x86_64 always, x32 and i386 when listed in
/// `architectures`.
///
/// # Errors
/// [`Error::BadConfig`] for what the engine cannot filter faithfully: an
/// architecture other than x86_64, x86 and x32, an argument index above 5,
/// `errnoRet` on an action without an errno, `SCMP_ACT_NOTIFY` as the
/// default action or without `listenerPath`, and a program longer than
/// [`MAX_INSNS`].
pub(crate) fn compile(profile: &Seccomp) -> crate::error::Result<Filter> {
    for arch in &profile.architectures {
        if !matches!(
            arch,
            SeccompArch::X86_64 | SeccompArch::X86 | SeccompArch::X32
        ) {
            return Err(bad(
                "linux.seccomp.architectures",
                "SCMP_ARCH_X86_64, SCMP_ARCH_X86 or SCMP_ARCH_X32 (the engine filters the x86 ABIs)",
                arch.to_string(),
            ));
        }
    }
    let mut flags = 0;
    for flag in &profile.flags {
        flags |= match flag {
            SeccompFlag::Tsync => FLAG_TSYNC,
            SeccompFlag::Log => FLAG_LOG,
            SeccompFlag::SpecAllow => FLAG_SPEC_ALLOW,
            SeccompFlag::WaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
            other => {
                return Err(bad(
                    "linux.seccomp.flags",
                    "a known SECCOMP_FILTER_FLAG_*",
                    other.to_string(),
                ))
            }
        };
    }
    if profile.default_action == SeccompAction::Notify {
        return Err(bad(
            "linux.seccomp.defaultAction",
            "an action other than SCMP_ACT_NOTIFY (as in libseccomp)",
            "SCMP_ACT_NOTIFY",
        ));
    }
    let default = ret_value(
        &profile.default_action,
        profile.default_errno_ret,
        "linux.seccomp.defaultErrnoRet",
    )?;

    let mut notify = false;
    let mut rules = Vec::with_capacity(profile.syscalls.len());
    for rule in &profile.syscalls {
        let ret = ret_value(
            &rule.action,
            rule.errno_ret,
            "linux.seccomp.syscalls[].errnoRet",
        )?;
        if rule.action == SeccompAction::Notify {
            notify = true;
            // The init sends the listener descriptor with sendmsg(2) after
            // installing the filter: notifying on it would deadlock.
            if rule.names.iter().any(|n| n == "sendmsg") {
                return Err(bad(
                    "linux.seccomp.syscalls[].names",
                    "no SCMP_ACT_NOTIFY rule for sendmsg (the runtime needs it to hand over the listener)",
                    "sendmsg",
                ));
            }
        }
        for arg in &rule.args {
            if arg.index > 5 {
                return Err(bad(
                    "linux.seccomp.syscalls[].args[].index",
                    "an argument index from 0 to 5",
                    arg.index.to_string(),
                ));
            }
            if !matches!(
                arg.op,
                SeccompOperator::Equal
                    | SeccompOperator::NotEqual
                    | SeccompOperator::LessThan
                    | SeccompOperator::LessOrEqual
                    | SeccompOperator::GreaterThan
                    | SeccompOperator::GreaterOrEqual
                    | SeccompOperator::MaskedEqual
            ) {
                return Err(bad(
                    "linux.seccomp.syscalls[].args[].op",
                    "a known SCMP_CMP_* operator",
                    arg.op.to_string(),
                ));
            }
        }
        rules.push((rule, ret));
    }

    // x86_64 is always filtered (libseccomp's native architecture); x32
    // and i386 only when listed, else their syscalls are killed.
    let mut abis = vec![Abi::X86_64];
    for (arch, abi) in [(SeccompArch::X32, Abi::X32), (SeccompArch::X86, Abi::I386)] {
        if !profile.architectures.contains(&arch) {
            continue;
        }
        if abi.table_len() == 0 {
            // Filtering with an empty table would let every call reach
            // the default action: kill them instead.
            tracing::warn!(
                %arch,
                "seccomp: the engine was built without this ABI's syscall table (kernel headers missing), its syscalls are killed"
            );
            continue;
        }
        abis.push(abi);
    }
    let mut unknown: BTreeMap<&str, Vec<Abi>> = BTreeMap::new();
    let mut sections = Vec::with_capacity(abis.len());
    for &abi in &abis {
        sections.push((abi, section(abi, &rules, default, &mut unknown)));
    }
    for (name, missing) in &unknown {
        if missing.len() == abis.len() {
            tracing::warn!(
                syscall = %name,
                "seccomp: unknown syscall on every filtered architecture, rule skipped for it"
            );
        } else {
            let missing: Vec<&str> = missing.iter().map(|a| a.name()).collect();
            tracing::debug!(
                syscall = %name,
                on = ?missing,
                "seccomp: syscall unknown on some architectures, skipped there"
            );
        }
    }

    // The dispatch on `seccomp_data.arch` (and the x32 bit, since x32
    // shares AUDIT_ARCH_X86_64), then the sections in `abis` order. BPF
    // jumps only forward, so an unlisted ABI gets its `ret` in place.
    let stmt = |code, k| Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let kill = stmt(BPF_RET_K, RET_KILL_PROCESS);
    let mut program = vec![
        stmt(BPF_LD_W_ABS, OFF_ARCH),
        // 1: x86_64 or x32 -> 5.
        Insn {
            code: BPF_JMP_JEQ_K,
            jt: 3,
            jf: 0,
            k: AUDIT_ARCH_X86_64,
        },
        // 2: i386 -> 3, anything else -> 4.
        Insn {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: AUDIT_ARCH_I386,
        },
        kill, // 3: `ja` to the i386 section when there is one.
        kill,
        stmt(BPF_LD_W_ABS, OFF_NR),
        // 6: x32 -> 7, x86_64 -> 8.
        Insn {
            code: BPF_JMP_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        },
        kill, // 7: `ja` to the x32 section when there is one.
    ];
    for (abi, mut insns) in sections {
        let at = match abi {
            Abi::X86_64 => None,
            Abi::X32 => Some(7),
            Abi::I386 => Some(3),
        };
        if let Some(at) = at {
            let k = u32::try_from(program.len() - at - 1).expect("program offsets fit u32");
            program[at] = stmt(BPF_JMP_JA, k);
        }
        program.append(&mut insns);
    }
    if program.len() > MAX_INSNS {
        return Err(bad(
            "linux.seccomp",
            "a profile that compiles to at most 4096 BPF instructions",
            format!("{} instructions", program.len()),
        ));
    }
    if notify {
        if profile.listener_path.is_empty() {
            return Err(bad(
                "linux.seccomp.listenerPath",
                "a listener socket when an action is SCMP_ACT_NOTIFY",
                "none",
            ));
        }
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless told to
            // report a sync failure as ESRCH (libseccomp does the same).
            flags |= FLAG_TSYNC_ESRCH;
        }
    }
    Ok(Filter {
        program,
        flags,
        notify,
    })
}
