//! A runtime-spec profile compiled to one BPF program with a section
//! per ABI.

use std::collections::BTreeMap;

use ocikit_types::runtime::{Seccomp, SeccompAction, SeccompOperator, Syscall};

use super::action::{bad, flags, ret_value};
use super::program::*;
use super::table::*;
use super::Filter;
use crate::sys::Insn;

/// Argument conditions in one rule: a condition is at most 6
/// instructions on a 64-bit ABI, and a rule's block (2 to match the
/// syscall, its conditions, 1 `ret`) is skipped by one 8-bit jump.
pub(super) const MAX_CONDITIONS: usize = 42;

/// Syscall numbers tested by one `jeq` chain before its `ret`: jump
/// offsets are 8 bits.
pub(super) const CHAIN: usize = 200;

/// The rules for one ABI, in profile order, then `default`. Names without
/// a number on `arch` are skipped and recorded in `unknown`.
fn section<'a>(
    arch: Arch,
    rules: &[(&'a Syscall, u32)],
    default: u32,
    unknown: &mut BTreeMap<&'a str, Vec<Arch>>,
) -> Vec<Insn> {
    let mut program = Vec::new();
    for &(rule, ret) in rules {
        let mut numbers = Vec::new();
        for name in &rule.names {
            match arch.number(name) {
                Some(nr) => numbers.push(nr),
                None => {
                    let missing = unknown.entry(name.as_str()).or_default();
                    if !missing.contains(&arch) {
                        missing.push(arch);
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
                let mut b = Block::new(arch.big_endian());
                b.stmt(BPF_LD_W_ABS, OFF_NR);
                b.jump(BPF_JMP_JEQ_K, nr, To::Skip(0), To::Fail);
                for arg in &rule.args {
                    if arch.narrow() {
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

/// Where a dispatch jump goes.
#[derive(Clone, Copy)]
enum Goal {
    Section(Arch),
    /// The split of `AUDIT_ARCH_X86_64` into x86_64 and x32.
    Split,
    Kill,
}

/// The dispatch on `seccomp_data.arch`, then the sections. Each filtered
/// `AUDIT_ARCH_*` value jumps to its section (`ja` has a 32-bit offset);
/// any other value is killed. `AUDIT_ARCH_X86_64` is split on the x32 bit
/// first, since x32 shares it; a half that is not filtered is killed.
fn link(arches: &[Arch], sections: Vec<(Arch, Vec<Insn>)>) -> Vec<Insn> {
    let stmt = |code, k| Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let kill = stmt(BPF_RET_K, RET_KILL_PROCESS);
    let mut audits: Vec<u32> = Vec::new();
    for arch in arches {
        if !audits.contains(&arch.audit()) {
            audits.push(arch.audit());
        }
    }
    let mut program = vec![stmt(BPF_LD_W_ABS, OFF_ARCH)];
    let mut jumps: Vec<(usize, Goal)> = Vec::new();
    for &audit in &audits {
        program.push(Insn {
            code: BPF_JMP_JEQ_K,
            jt: 0,
            jf: 1,
            k: audit,
        });
        let goal = if audit == AUDIT_ARCH_X86_64 {
            Goal::Split
        } else {
            let arch = arches.iter().find(|a| a.audit() == audit);
            Goal::Section(*arch.expect("an audit value of a filtered ABI"))
        };
        jumps.push((program.len(), goal));
        program.push(stmt(BPF_JMP_JA, 0));
    }
    program.push(kill);
    let (mut split, mut local_kill) = (0, 0);
    if audits.contains(&AUDIT_ARCH_X86_64) {
        split = program.len();
        program.push(stmt(BPF_LD_W_ABS, OFF_NR));
        program.push(Insn {
            code: BPF_JMP_JGE_K,
            jt: 0,
            jf: 1,
            k: X32_SYSCALL_BIT,
        });
        for arch in [Arch::X32, Arch::X86_64] {
            let goal = if arches.contains(&arch) {
                Goal::Section(arch)
            } else {
                Goal::Kill
            };
            jumps.push((program.len(), goal));
            program.push(stmt(BPF_JMP_JA, 0));
        }
        local_kill = program.len();
        program.push(kill);
    }
    let mut starts = Vec::with_capacity(sections.len());
    for (arch, mut insns) in sections {
        starts.push((arch, program.len()));
        program.append(&mut insns);
    }
    for (at, goal) in jumps {
        let to = match goal {
            Goal::Split => split,
            Goal::Kill => local_kill,
            Goal::Section(arch) => {
                let start = starts.iter().find(|(a, _)| *a == arch);
                start.expect("a section per filtered ABI").1
            }
        };
        program[at].k = u32::try_from(to - at - 1).expect("program offsets fit u32");
    }
    program
}

/// Compiles `profile`: the native ABI always, and every ABI listed in
/// `architectures`, each by its own syscall numbers.
///
/// # Errors
/// [`Error::BadConfig`](crate::error::Error::BadConfig) for what the
/// kernel would refuse or misread, or the engine cannot filter faithfully:
/// an architecture without syscall tables (M68K, SH, PARISC, unknown
/// names), an unknown action, operator or flag, an argument index above
/// 5, more than [`MAX_CONDITIONS`] conditions in a rule, `errnoRet` on an
/// action without an errno or above 4095 (above 16 bits for
/// `SCMP_ACT_TRACE`), `SCMP_ACT_NOTIFY` as the default action, for
/// `sendmsg` or without `listenerPath`,
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` without a notify rule, and a
/// program longer than [`MAX_INSNS`] (the kernel's `BPF_MAXINSNS`).
pub(crate) fn compile(profile: &Seccomp) -> crate::error::Result<Filter> {
    // The native ABI is always filtered (libseccomp's native
    // architecture); the listed ones too, each by its own numbers.
    let native = Arch::native().ok_or_else(|| {
        bad(
            "linux.seccomp",
            "a host architecture the engine has syscall tables for",
            std::env::consts::ARCH,
        )
    })?;
    let mut arches = vec![native];
    for listed in &profile.architectures {
        let arch = Arch::from_spec(listed).ok_or_else(|| {
            bad(
                "linux.seccomp.architectures",
                "an architecture libseccomp and the engine filter (not M68K, SH or PARISC)",
                listed.to_string(),
            )
        })?;
        if !arches.contains(&arch) {
            arches.push(arch);
        }
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
        if rule.args.len() > MAX_CONDITIONS {
            return Err(bad(
                "linux.seccomp.syscalls[].args",
                "at most 42 argument conditions in one rule (its BPF must fit one jump)",
                rule.args.len().to_string(),
            ));
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

    let mut unknown: BTreeMap<&str, Vec<Arch>> = BTreeMap::new();
    let mut sections = Vec::with_capacity(arches.len());
    for &arch in &arches {
        sections.push((arch, section(arch, &rules, default, &mut unknown)));
    }
    for (name, missing) in &unknown {
        if !Arch::known_anywhere(name) {
            // As runc: a name no table knows (a typo, or a syscall newer
            // than the tables) is skipped, not an error.
            tracing::warn!(
                syscall = %name,
                "seccomp: unknown syscall, rule skipped for it"
            );
        } else {
            // Profiles mix architectures' names (`socketcall`, `set_tls`):
            // a name applies where its ABI has it.
            let missing: Vec<String> = missing.iter().map(|a| a.to_spec().to_string()).collect();
            tracing::debug!(
                syscall = %name,
                on = ?missing,
                "seccomp: syscall absent on some filtered architectures, skipped there"
            );
        }
    }
    let program = link(&arches, sections);
    if program.len() > MAX_INSNS {
        return Err(bad(
            "linux.seccomp",
            "a profile that compiles to at most 4096 BPF instructions",
            format!("{} instructions", program.len()),
        ));
    }
    if notify && profile.listener_path.is_empty() {
        return Err(bad(
            "linux.seccomp.listenerPath",
            "a listener socket when an action is SCMP_ACT_NOTIFY",
            "none",
        ));
    }
    let flags = flags(profile, notify)?;
    Ok(Filter {
        program,
        flags,
        notify,
    })
}
