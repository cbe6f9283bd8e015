//! Issue 14: every profile the kernel (or libseccomp, under runc and crun)
//! would refuse or misread is refused by `compile` with the field named,
//! and what it accepts passes the kernel's own checks on the program.

use ocikit_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall, SyscallArg,
};

use super::compile::*;
use super::program::*;
use super::verify::kernel_refusal;
use super::Filter;

fn rule(name: &str, action: SeccompAction) -> Syscall {
    Syscall::new(vec![name.to_owned()], action)
}

/// Compiles `p`, which the kernel must take as it is.
fn accepted(p: &Seccomp) -> Filter {
    let f = compile(p).unwrap_or_else(|e| panic!("refused: {e}"));
    assert_eq!(kernel_refusal(&f), None);
    f
}

/// Compiles `p`, which must be refused with an error naming `field` and
/// containing `words`.
fn refused(p: &Seccomp, field: &str, words: &str) {
    let e = match compile(p) {
        Ok(f) => panic!("accepted ({} instructions)", f.program.len()),
        Err(e) => e.to_string(),
    };
    assert!(e.contains(field), "{e}");
    assert!(e.contains(words), "{e}");
}

#[test]
fn more_than_4096_instructions() {
    // Each conditioned rule is a block of 7 instructions per ABI.
    let profile = |rules: u64| {
        let mut p = Seccomp::new(SeccompAction::Allow);
        for i in 0..rules {
            let mut r = rule("ioctl", SeccompAction::Errno);
            r.args = vec![SyscallArg::new(1, i, SeccompOperator::Equal)];
            p.syscalls.push(r);
        }
        p
    };
    let f = accepted(&profile(580));
    assert!(f.program.len() <= MAX_INSNS);
    refused(
        &profile(600),
        "linux.seccomp",
        "at most 4096 BPF instructions",
    );
}

#[test]
fn architectures_without_tables() {
    for arch in [
        SeccompArch::M68k,
        SeccompArch::Sh,
        SeccompArch::Sheb,
        SeccompArch::Parisc,
        SeccompArch::Parisc64,
        "SCMP_ARCH_VAX".parse().unwrap(),
    ] {
        let mut p = Seccomp::new(SeccompAction::Allow);
        p.architectures = vec![SeccompArch::X86_64, arch.clone()];
        refused(&p, "linux.seccomp.architectures", arch.as_str());
    }
}

#[test]
fn unknown_actions_operators_and_flags() {
    let unknown: SeccompAction = "SCMP_ACT_MAYBE".parse().unwrap();
    refused(&Seccomp::new(unknown.clone()), "action", "SCMP_ACT_MAYBE");
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.syscalls.push(rule("read", unknown));
    refused(&p, "action", "SCMP_ACT_MAYBE");

    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule("read", SeccompAction::Errno);
    r.args = vec![SyscallArg::new(0, 1, "SCMP_CMP_ROUGHLY".parse().unwrap())];
    p.syscalls.push(r);
    refused(&p, "args[].op", "SCMP_CMP_ROUGHLY");

    let mut p = Seccomp::new(SeccompAction::Allow);
    p.flags = vec!["SECCOMP_FILTER_FLAG_FAST".parse().unwrap()];
    refused(&p, "linux.seccomp.flags", "SECCOMP_FILTER_FLAG_FAST");
}

#[test]
fn errno_ranges() {
    let with_default = |errno: u32| {
        let mut p = Seccomp::new(SeccompAction::Errno);
        p.default_errno_ret = Some(errno);
        p
    };
    let f = accepted(&with_default(4095));
    assert_eq!(f.program.last().unwrap().k, RET_ERRNO | 4095);
    accepted(&with_default(0));
    // The kernel would return 4095 instead.
    refused(&with_default(4096), "defaultErrnoRet", "4096");
    refused(&with_default(0x1_0000), "defaultErrnoRet", "65536");

    let with_rule = |action: SeccompAction, errno: u32| {
        let mut p = Seccomp::new(SeccompAction::Allow);
        let mut r = rule("ptrace", action);
        r.errno_ret = Some(errno);
        p.syscalls.push(r);
        p
    };
    accepted(&with_rule(SeccompAction::Errno, 38));
    refused(
        &with_rule(SeccompAction::Errno, 5000),
        "syscalls[].errnoRet",
        "5000",
    );
    // A tracer's message has all 16 bits.
    accepted(&with_rule(SeccompAction::Trace, 0xffff));
    refused(
        &with_rule(SeccompAction::Trace, 0x1_0000),
        "syscalls[].errnoRet",
        "65536",
    );
    for action in [
        SeccompAction::Allow,
        SeccompAction::Log,
        SeccompAction::KillProcess,
    ] {
        refused(
            &with_rule(action, 1),
            "syscalls[].errnoRet",
            "errnoRet only with",
        );
    }
}

#[test]
fn argument_conditions() {
    let with_args = |args: Vec<SyscallArg>| {
        let mut p = Seccomp::new(SeccompAction::Allow);
        let mut r = rule("ioctl", SeccompAction::Errno);
        r.args = args;
        p.syscalls.push(r);
        p.architectures = vec![SeccompArch::X86_64, SeccompArch::X86];
        p
    };
    let masked = |i: u64| {
        let mut a = SyscallArg::new((i % 6) as u32, u64::MAX, SeccompOperator::MaskedEqual);
        a.value_two = i;
        a
    };
    // The longest rule whose block one jump still skips, on a 64-bit ABI.
    accepted(&with_args((0..MAX_CONDITIONS as u64).map(masked).collect()));
    refused(
        &with_args((0..=MAX_CONDITIONS as u64).map(masked).collect()),
        "linux.seccomp.syscalls[].args",
        "at most 42",
    );
    refused(
        &with_args(vec![SyscallArg::new(6, 0, SeccompOperator::Equal)]),
        "args[].index",
        "0 to 5",
    );
}

#[test]
fn notify_and_listener_flags() {
    refused(
        &Seccomp::new(SeccompAction::Notify),
        "defaultAction",
        "SCMP_ACT_NOTIFY",
    );
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.flags = vec![SeccompFlag::WaitKillableRecv];
    refused(&p, "linux.seccomp.flags", "WAIT_KILLABLE_RECV");
    p.syscalls.push(rule("mkdirat", SeccompAction::Notify));
    refused(&p, "listenerPath", "SCMP_ACT_NOTIFY");
    p.listener_path = "/run/agent.sock".into();
    p.flags.push(SeccompFlag::Tsync);
    let f = accepted(&p);
    assert!(f.notify);
    p.syscalls.push(rule("sendmsg", SeccompAction::Notify));
    refused(&p, "names", "sendmsg");
}

#[test]
fn the_kernel_check_finds_what_it_should() {
    let good = accepted(&Seccomp::new(SeccompAction::Allow));
    let with = |program: Vec<Insn>, flags: u32| Filter {
        program,
        flags,
        notify: false,
    };
    let ret = |k| Insn {
        code: BPF_RET_K,
        jt: 0,
        jf: 0,
        k,
    };
    let cases = [
        with(Vec::new(), 0),
        with(vec![ret(RET_ALLOW); MAX_INSNS + 1], 0),
        with(vec![ret(RET_ERRNO | 4096)], 0),
        with(vec![ret(0x1234_0000)], 0),
        with(
            vec![
                Insn {
                    code: BPF_LD_W_ABS,
                    jt: 0,
                    jf: 0,
                    k: 64,
                },
                ret(RET_ALLOW),
            ],
            0,
        ),
        with(
            vec![
                Insn {
                    code: BPF_LD_W_ABS,
                    jt: 0,
                    jf: 0,
                    k: 2,
                },
                ret(RET_ALLOW),
            ],
            0,
        ),
        with(
            vec![
                Insn {
                    code: BPF_JMP_JA,
                    jt: 0,
                    jf: 0,
                    k: 1,
                },
                ret(RET_ALLOW),
            ],
            0,
        ),
        with(
            vec![
                Insn {
                    code: BPF_JMP_JEQ_K,
                    jt: 0,
                    jf: 1,
                    k: 0,
                },
                ret(RET_ALLOW),
            ],
            0,
        ),
        with(
            vec![
                ret(RET_ALLOW),
                Insn {
                    code: BPF_LD_W_ABS,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
            ],
            0,
        ),
        with(
            vec![
                Insn {
                    code: 0x07,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
                ret(RET_ALLOW),
            ],
            0,
        ),
        with(good.program.clone(), super::FLAG_WAIT_KILLABLE_RECV),
        with(good.program.clone(), super::FLAG_NEW_LISTENER),
    ];
    for (i, case) in cases.iter().enumerate() {
        assert!(kernel_refusal(case).is_some(), "case {i}");
    }
}

use crate::sys::Insn;
