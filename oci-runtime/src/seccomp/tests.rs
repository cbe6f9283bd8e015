//! The compiler, checked by running its programs in a small classic BPF
//! interpreter on hand-made `seccomp_data`.

use oci_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall, SyscallArg,
};

use super::*;
use crate::syscall::fake::Recording;

/// `struct seccomp_data`.
struct Data {
    nr: u32,
    arch: u32,
    args: [u64; 6],
}

impl Data {
    fn new(nr: i64, args: &[u64]) -> Data {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        Data {
            nr: nr as u32,
            arch: AUDIT_ARCH_X86_64,
            args: a,
        }
    }

    fn word(&self, off: u32) -> u32 {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&self.nr.to_le_bytes());
        bytes.extend_from_slice(&self.arch.to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        for a in self.args {
            bytes.extend_from_slice(&a.to_le_bytes());
        }
        let o = off as usize;
        assert!(o % 4 == 0 && o + 4 <= bytes.len(), "load at {off}");
        u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap())
    }
}

/// Runs `prog` as the kernel would and returns its `SECCOMP_RET_*` value.
fn run(prog: &[Insn], d: &Data) -> u32 {
    assert!(prog.len() <= MAX_INSNS);
    let mut a = 0u32;
    let mut pc = 0usize;
    loop {
        let i = prog.get(pc).copied().expect("pc runs off the program");
        pc += 1;
        let cond = |c: bool| {
            if c {
                usize::from(i.jt)
            } else {
                usize::from(i.jf)
            }
        };
        match i.code {
            BPF_LD_W_ABS => a = d.word(i.k),
            BPF_ALU_AND_K => a &= i.k,
            BPF_JMP_JA => pc += i.k as usize,
            BPF_JMP_JEQ_K => pc += cond(a == i.k),
            BPF_JMP_JGT_K => pc += cond(a > i.k),
            BPF_JMP_JGE_K => pc += cond(a >= i.k),
            BPF_RET_K => return i.k,
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
}

fn rule(names: &[&str], action: SeccompAction) -> Syscall {
    Syscall::new(names.iter().map(|s| s.to_string()).collect(), action)
}

fn errno(e: i32) -> u32 {
    RET_ERRNO | e as u32
}

#[test]
fn names_map_to_x86_64_numbers() {
    assert_eq!(syscall_number("read"), Some(0));
    assert_eq!(syscall_number("mkdirat"), Some(libc::SYS_mkdirat as u32));
    assert_eq!(syscall_number("no_such_call"), None);
}

#[test]
fn default_allow_with_errno_rule() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule(&["mkdir", "mkdirat", "no_such_call"], SeccompAction::Errno);
    r.errno_ret = Some(1);
    p.syscalls.push(r);
    let f = compile(&p).unwrap();
    assert_eq!(f.flags, 0);
    assert!(!f.notify);
    let prog = &f.program;
    assert_eq!(run(prog, &Data::new(libc::SYS_mkdir, &[])), errno(1));
    assert_eq!(run(prog, &Data::new(libc::SYS_mkdirat, &[])), errno(1));
    assert_eq!(run(prog, &Data::new(libc::SYS_write, &[])), RET_ALLOW);
    assert_eq!(run(prog, &Data::new(0, &[])), RET_ALLOW);
}

#[test]
fn other_architectures_and_x32_are_killed() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    let f = compile(&p).unwrap();
    let mut d = Data::new(libc::SYS_write, &[]);
    assert_eq!(run(&f.program, &d), RET_ALLOW);
    d.arch = 0x4000_0003; // AUDIT_ARCH_I386
    assert_eq!(run(&f.program, &d), RET_KILL_PROCESS);
    let mut d = Data::new(libc::SYS_write, &[]);
    d.nr |= X32_SYSCALL_BIT;
    assert_eq!(run(&f.program, &d), RET_KILL_PROCESS);

    p.architectures = vec![SeccompArch::Aarch64];
    let e = compile(&p).unwrap_err();
    assert!(e.to_string().contains("SCMP_ARCH_AARCH64"), "{e}");
}

#[test]
fn every_action_and_default_errno() {
    let actions = [
        (SeccompAction::Kill, RET_KILL_THREAD),
        (SeccompAction::KillThread, RET_KILL_THREAD),
        (SeccompAction::KillProcess, RET_KILL_PROCESS),
        (SeccompAction::Trap, RET_TRAP),
        (SeccompAction::Errno, errno(libc::EPERM)),
        (SeccompAction::Trace, RET_TRACE | libc::EPERM as u32),
        (SeccompAction::Allow, RET_ALLOW),
        (SeccompAction::Log, RET_LOG),
    ];
    for (action, want) in actions.clone() {
        let mut p = Seccomp::new(SeccompAction::Allow);
        p.syscalls.push(rule(&["getpid"], action.clone()));
        let f = compile(&p).unwrap();
        assert_eq!(
            run(&f.program, &Data::new(libc::SYS_getpid, &[])),
            want,
            "{action}"
        );
        // As the default action too.
        let f = compile(&Seccomp::new(action.clone())).unwrap();
        assert_eq!(
            run(&f.program, &Data::new(libc::SYS_getpid, &[])),
            want,
            "{action}"
        );
    }
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.default_errno_ret = Some(38);
    let mut r = rule(&["ptrace"], SeccompAction::Trace);
    r.errno_ret = Some(7);
    p.syscalls.push(r);
    let f = compile(&p).unwrap();
    assert_eq!(run(&f.program, &Data::new(libc::SYS_read, &[])), errno(38));
    assert_eq!(
        run(&f.program, &Data::new(libc::SYS_ptrace, &[])),
        RET_TRACE | 7
    );

    let mut p = Seccomp::new(SeccompAction::Allow);
    p.default_errno_ret = Some(1);
    assert!(compile(&p).is_err(), "errnoRet on SCMP_ACT_ALLOW");
    assert!(compile(&Seccomp::new(SeccompAction::Notify)).is_err());
}

fn with_arg(name: &str, op: SeccompOperator, value: u64, value_two: u64) -> Filter {
    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule(&[name], SeccompAction::Errno);
    let mut a = SyscallArg::new(1, value, op);
    a.value_two = value_two;
    r.args.push(a);
    p.syscalls.push(r);
    compile(&p).unwrap()
}

/// Whether the argument condition held for `arg1`.
fn denied(f: &Filter, arg1: u64) -> bool {
    run(&f.program, &Data::new(libc::SYS_ioctl, &[0, arg1])) != RET_ALLOW
}

#[test]
fn operators_compare_64_bits() {
    // Values that differ only in the high half, only in the low half, and
    // in both, around a value with both halves set.
    let v: u64 = 0x0000_0005_8000_0000;
    let probes = [
        0,
        v - 1,
        v,
        v + 1,
        v - (1 << 32),
        v + (1 << 32),
        0x0000_0005_0000_0000,
        0x0000_0004_ffff_ffff,
        0x0000_0006_0000_0000,
        0x8000_0000,
        u64::MAX,
    ];
    type Holds = fn(u64, u64) -> bool;
    let cases: [(SeccompOperator, Holds); 6] = [
        (SeccompOperator::Equal, |x, v| x == v),
        (SeccompOperator::NotEqual, |x, v| x != v),
        (SeccompOperator::LessThan, |x, v| x < v),
        (SeccompOperator::LessOrEqual, |x, v| x <= v),
        (SeccompOperator::GreaterThan, |x, v| x > v),
        (SeccompOperator::GreaterOrEqual, |x, v| x >= v),
    ];
    for (op, holds) in cases {
        let f = with_arg("ioctl", op.clone(), v, 0);
        for x in probes {
            assert_eq!(denied(&f, x), holds(x, v), "{op} {x:#x} vs {v:#x}");
        }
        // Another syscall with the same argument is never affected.
        assert_eq!(
            run(&f.program, &Data::new(libc::SYS_read, &[0, v])),
            RET_ALLOW
        );
    }
    // (arg & value) == valueTwo, on both halves.
    let mask = 0xff00_0000_0000_00ff;
    let f = with_arg(
        "ioctl",
        SeccompOperator::MaskedEqual,
        mask,
        0x1200_0000_0000_0034,
    );
    assert!(denied(&f, 0x12ab_cdef_0123_4534));
    assert!(!denied(&f, 0x13ab_cdef_0123_4534), "high half differs");
    assert!(!denied(&f, 0x12ab_cdef_0123_4535), "low half differs");
}

#[test]
fn args_are_anded_and_rules_ored() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    // socket(AF_INET, SOCK_STREAM, *) -> EACCES; socket(AF_INET6, ...) -> EPERM.
    let mut r = rule(&["socket"], SeccompAction::Errno);
    r.errno_ret = Some(libc::EACCES as u32);
    r.args = vec![
        SyscallArg::new(0, 2, SeccompOperator::Equal),
        SyscallArg::new(1, 1, SeccompOperator::Equal),
    ];
    p.syscalls.push(r);
    let mut r = rule(&["socket"], SeccompAction::Errno);
    r.args = vec![SyscallArg::new(0, 10, SeccompOperator::Equal)];
    p.syscalls.push(r);
    let f = compile(&p).unwrap();
    let sock = |a: &[u64]| run(&f.program, &Data::new(libc::SYS_socket, a));
    assert_eq!(sock(&[2, 1]), errno(libc::EACCES));
    assert_eq!(sock(&[2, 2]), RET_ALLOW, "second condition fails");
    assert_eq!(sock(&[1, 1]), RET_ALLOW, "first condition fails");
    assert_eq!(sock(&[10, 2]), errno(libc::EPERM));
    assert_eq!(sock(&[(1 << 32) | 2, 1]), RET_ALLOW, "high half compared");

    let mut p = Seccomp::new(SeccompAction::Allow);
    let mut r = rule(&["read"], SeccompAction::Errno);
    r.args = vec![SyscallArg::new(6, 0, SeccompOperator::Equal)];
    p.syscalls.push(r);
    assert!(compile(&p).unwrap_err().to_string().contains("0 to 5"));
}

#[test]
fn large_profiles_chain_and_the_limit_is_enforced() {
    // Every known syscall allowed, default errno: longer than one chain.
    let names: Vec<&str> = include_str!("../seccomp.rs")
        .lines()
        .filter_map(|l| l.trim().strip_suffix(',')?.split_once(" => SYS_"))
        .map(|(n, _)| n)
        .collect();
    assert!(names.len() > CHAIN, "{}", names.len());
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.syscalls.push(rule(&names, SeccompAction::Allow));
    let f = compile(&p).unwrap();
    for n in &names {
        let nr = syscall_number(n).unwrap();
        assert_eq!(
            run(&f.program, &Data::new(nr.into(), &[])),
            RET_ALLOW,
            "{n}"
        );
    }
    assert_eq!(run(&f.program, &Data::new(1000, &[])), errno(libc::EPERM));

    // Each conditioned rule costs a block per syscall: too many is refused.
    let mut p = Seccomp::new(SeccompAction::Allow);
    for i in 0..700 {
        let mut r = rule(&["ioctl"], SeccompAction::Errno);
        r.args = vec![SyscallArg::new(1, i, SeccompOperator::Equal)];
        p.syscalls.push(r);
    }
    let e = match compile(&p) {
        Err(e) => e,
        Ok(f) => panic!("{} instructions accepted", f.program.len()),
    };
    assert!(
        e.to_string().contains("at most 4096 BPF instructions"),
        "{e}"
    );
}

#[test]
fn flags_and_notify() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.flags = vec![SeccompFlag::Log, SeccompFlag::SpecAllow];
    assert_eq!(compile(&p).unwrap().flags, FLAG_LOG | FLAG_SPEC_ALLOW);

    p.flags = vec![SeccompFlag::Tsync];
    p.syscalls.push(rule(&["mkdirat"], SeccompAction::Notify));
    assert!(compile(&p)
        .unwrap_err()
        .to_string()
        .contains("listenerPath"));
    p.listener_path = "/run/agent.sock".into();
    let f = compile(&p).unwrap();
    assert!(f.notify);
    assert_eq!(f.flags, FLAG_TSYNC | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH);
    assert_eq!(
        run(&f.program, &Data::new(libc::SYS_mkdirat, &[])),
        RET_USER_NOTIF
    );

    p.syscalls.push(rule(&["sendmsg"], SeccompAction::Notify));
    assert!(compile(&p).is_err());
}

#[test]
fn install_goes_through_the_seam() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.flags = vec![SeccompFlag::Log];
    let f = compile(&p).unwrap();
    let sys = Recording::default();
    assert!(install(&sys, &f).unwrap().is_none());
    assert_eq!(
        sys.lines(),
        [format!("seccomp flags=0x2 insns={}", f.program.len())]
    );

    let sys = Recording {
        fail_prefix: Some("seccomp".into()),
        ..Recording::default()
    };
    let e = install(&sys, &f).unwrap_err();
    assert!(e.step.starts_with("install seccomp filter"), "{}", e.step);
    assert!(before_caps(false));
    assert!(!before_caps(true));
}
