//! The compiler, checked by running its programs in a small classic BPF
//! interpreter on hand-made `seccomp_data`.

use ocikit_types::runtime::{
    Seccomp, SeccompAction, SeccompArch, SeccompFlag, SeccompOperator, Syscall, SyscallArg,
};

use super::compile::*;
use super::program::*;
use super::table::*;
use super::*;
use crate::sys::fake::Recording;
use crate::sys::Insn;

/// `struct seccomp_data`.
struct Data {
    nr: u32,
    arch: u32,
    args: [u64; 6],
    /// The byte order of the ABI that makes the call.
    big_endian: bool,
}

impl Data {
    fn new(nr: i64, args: &[u64]) -> Data {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        Data {
            nr: nr as u32,
            arch: AUDIT_ARCH_X86_64,
            args: a,
            big_endian: false,
        }
    }

    /// The same call made through another ABI's entry (`arch`).
    fn on(mut self, arch: u32) -> Data {
        self.arch = arch;
        self
    }

    /// The call made on ABI `arch`, in its byte order.
    fn abi(mut self, arch: Arch) -> Data {
        self.arch = arch.audit();
        self.big_endian = arch.big_endian();
        self
    }

    /// `struct seccomp_data` as that ABI's kernel lays it out, loaded as
    /// `BPF_LD | BPF_W | BPF_ABS` does (a word in the same byte order).
    fn word(&self, off: u32) -> u32 {
        let big = self.big_endian;
        let mut bytes = Vec::with_capacity(64);
        let put32 = |b: &mut Vec<u8>, v: u32| {
            b.extend_from_slice(&if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            })
        };
        put32(&mut bytes, self.nr);
        put32(&mut bytes, self.arch);
        bytes.extend_from_slice(&0u64.to_le_bytes());
        for a in self.args {
            bytes.extend_from_slice(&if big {
                a.to_be_bytes()
            } else {
                a.to_le_bytes()
            });
        }
        let o = off as usize;
        assert!(o % 4 == 0 && o + 4 <= bytes.len(), "load at {off}");
        let w: [u8; 4] = bytes[o..o + 4].try_into().unwrap();
        if big {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
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
    assert_eq!(Arch::X86_64.number("read"), Some(0));
    assert_eq!(
        Arch::X86_64.number("mkdirat"),
        Some(libc::SYS_mkdirat as u32)
    );
    assert_eq!(Arch::X86_64.number("no_such_call"), None);
}

/// Issue 14: a table for every architecture, from the crate (plus the
/// supplement), none empty, with the 6.x syscalls at their unified numbers.
#[test]
fn issue_14_every_arch_has_a_table_with_recent_syscalls() {
    // (arch, base of its numbers, `read`, `openat`)
    let archs = [
        (Arch::X86, 0, 3, 295),
        (Arch::X86_64, 0, 0, 257),
        (
            Arch::X32,
            X32_SYSCALL_BIT,
            X32_SYSCALL_BIT,
            X32_SYSCALL_BIT | 257,
        ),
        (Arch::Arm, 0, 3, 322),
        (Arch::Aarch64, 0, 63, 56),
        (Arch::Mips, 4000, 4003, 4288),
        (Arch::Mipsel, 4000, 4003, 4288),
        (Arch::Mips64, 5000, 5000, 5247),
        (Arch::Mipsel64, 5000, 5000, 5247),
        (Arch::Mips64n32, 6000, 6000, 6251),
        (Arch::Mipsel64n32, 6000, 6000, 6251),
        (Arch::Ppc, 0, 3, 286),
        (Arch::Ppc64, 0, 3, 286),
        (Arch::Ppc64le, 0, 3, 286),
        (Arch::S390, 0, 3, 288),
        (Arch::S390x, 0, 3, 288),
        (Arch::Riscv64, 0, 63, 56),
        (Arch::Loongarch64, 0, 63, 56),
    ];
    assert_eq!(archs.len(), Arch::ALL.len());
    let recent = [
        ("futex_waitv", 449),
        ("cachestat", 451),
        ("fchmodat2", 452),
        ("statmount", 457),
        ("listmount", 458),
        ("lsm_get_self_attr", 459),
        ("lsm_set_self_attr", 460),
        ("lsm_list_modules", 461),
        ("mseal", 462),
        ("setxattrat", 463),
        ("getxattrat", 464),
        ("listxattrat", 465),
        ("removexattrat", 466),
    ];
    for (arch, base, read, openat) in archs {
        assert_eq!(Arch::from_spec(&arch.to_spec()), Some(arch));
        assert_eq!(arch.number("read"), Some(read), "{arch:?} read");
        assert_eq!(arch.number("openat"), Some(openat), "{arch:?} openat");
        assert_eq!(arch.number("no_such_call"), None);
        for (name, nr) in recent {
            assert_eq!(arch.number(name), Some(base + nr), "{arch:?} {name}");
        }
    }
    assert_eq!(Arch::X86_64.number("map_shadow_stack"), Some(453));
    // ABI-specific numbers from the supplement.
    assert_eq!(Arch::X32.number("map_shadow_stack"), None, "ABI 64 only");
    assert_eq!(Arch::Mips64n32.number("fcntl64"), Some(6212));
    assert_eq!(Arch::Mips64.number("fcntl64"), None);
    assert_eq!(Arch::S390.number("lchown"), Some(16));
    assert_eq!(Arch::S390.number("lchown32"), Some(198));
    assert_eq!(Arch::S390x.number("lchown"), Some(198));
    assert_eq!(Arch::S390.number("newfstatat"), None);
    assert_eq!(Arch::S390.number("clock_gettime64"), Some(403));
    assert_eq!(Arch::S390x.number("clock_gettime64"), None);
    assert_eq!(Arch::Arm.number("set_tls"), Some(0x0f_0005));
    assert_eq!(Arch::Ppc64le.number("sync_file_range2"), Some(308));
    assert_eq!(Arch::Riscv64.number("riscv_flush_icache"), Some(259));
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
fn names_map_to_i386_and_x32_numbers() {
    assert_eq!(Arch::X86.number("read"), Some(3));
    assert_eq!(Arch::X86.number("open"), Some(5));
    assert_eq!(Arch::X86.number("socketcall"), Some(102));
    assert_eq!(Arch::X86.number("mkdir"), Some(39));
    assert_eq!(Arch::X86.number("newfstatat"), None, "x86_64 only");
    assert_eq!(Arch::X32.number("read"), Some(X32_SYSCALL_BIT));
    // x32's own entries (512 and up), not x86_64's readv (19).
    assert_eq!(Arch::X32.number("readv"), Some(X32_SYSCALL_BIT + 515));
    assert_eq!(Arch::X32.number("socketcall"), None, "i386 only");
    assert_eq!(Arch::X32.number("no_such_call"), None);
    // Most x32 numbers are the x86_64 ones with the x32 bit.
    assert_eq!(
        Arch::X32.number("mkdirat"),
        Some(libc::SYS_mkdirat as u32 | X32_SYSCALL_BIT)
    );
}

#[test]
fn listed_32_bit_abis_are_filtered() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    let f = compile(&p).unwrap();
    let i386 = Data::new(3, &[]).on(AUDIT_ARCH_I386);
    let x32 = Data::new(X32_SYSCALL_BIT.into(), &[]);
    assert_eq!(run(&f.program, &i386), RET_ALLOW);
    assert_eq!(run(&f.program, &x32), RET_ALLOW);
}

#[test]
fn sections_dispatch_on_arch() {
    let i386 = |nr: u32, args: &[u64]| Data::new(nr.into(), args).on(AUDIT_ARCH_I386);
    let x32 = |nr: u32| Data::new((nr | X32_SYSCALL_BIT).into(), &[]);

    // Default allow, mkdir/mkdirat -> EPERM on the three ABIs.
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    p.syscalls.push(rule(
        &["mkdir", "mkdirat", "socketcall"],
        SeccompAction::Errno,
    ));
    let f = compile(&p).unwrap();
    let prog = &f.program;
    assert_eq!(run(prog, &Data::new(libc::SYS_mkdir, &[])), errno(1));
    assert_eq!(run(prog, &Data::new(libc::SYS_read, &[])), RET_ALLOW);
    assert_eq!(run(prog, &i386(39, &[])), errno(1), "i386 mkdir");
    assert_eq!(run(prog, &i386(296, &[])), errno(1), "i386 mkdirat");
    assert_eq!(run(prog, &i386(102, &[])), errno(1), "i386 socketcall");
    assert_eq!(run(prog, &i386(3, &[])), RET_ALLOW, "i386 read");
    // 83 is x86_64's mkdir but i386's lstat: numbers are per ABI.
    assert_eq!(run(prog, &i386(83, &[])), RET_ALLOW, "i386 83");
    assert_eq!(run(prog, &x32(83)), errno(1), "x32 mkdir");
    assert_eq!(run(prog, &x32(258)), errno(1), "x32 mkdirat");
    assert_eq!(run(prog, &x32(0)), RET_ALLOW, "x32 read");
    let other = Data::new(libc::SYS_read, &[]).on(AUDIT_ARCH_AARCH64);
    assert_eq!(run(prog, &other), RET_KILL_PROCESS, "unknown arch");

    // An errno rule on read, x86_64 and x32 listed: i386 is killed.
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::X32];
    let mut r = rule(&["read"], SeccompAction::Errno);
    r.errno_ret = Some(5);
    p.syscalls.push(r);
    let f = compile(&p).unwrap();
    assert_eq!(run(&f.program, &x32(0)), errno(5), "x32 read");
    assert_eq!(run(&f.program, &x32(1)), RET_ALLOW, "x32 write");
    assert_eq!(run(&f.program, &Data::new(0, &[])), errno(5), "read");
    assert_eq!(run(&f.program, &i386(3, &[])), RET_KILL_PROCESS);
    assert_eq!(run(&f.program, &i386(4, &[])), RET_KILL_PROCESS);

    // Only x86_64 (or nothing) listed: x32 and i386 are killed.
    for archs in [vec![SeccompArch::X86_64], vec![]] {
        p.architectures = archs;
        let f = compile(&p).unwrap();
        assert_eq!(run(&f.program, &x32(1)), RET_KILL_PROCESS, "x32");
        assert_eq!(run(&f.program, &i386(4, &[])), RET_KILL_PROCESS, "i386");
        assert_eq!(run(&f.program, &Data::new(0, &[])), errno(5));
        assert_eq!(run(&f.program, &Data::new(1, &[])), RET_ALLOW);
    }

    // A default action applies on every listed ABI.
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.architectures = vec![SeccompArch::X86, SeccompArch::X32];
    p.syscalls.push(rule(&["write"], SeccompAction::Allow));
    let f = compile(&p).unwrap();
    assert_eq!(run(&f.program, &i386(4, &[])), RET_ALLOW);
    assert_eq!(run(&f.program, &i386(3, &[])), errno(libc::EPERM));
    assert_eq!(run(&f.program, &x32(1)), RET_ALLOW);
    assert_eq!(run(&f.program, &x32(0)), errno(libc::EPERM));

    p.architectures = vec![SeccompArch::M68k];
    let e = compile(&p).unwrap_err();
    assert!(e.to_string().contains("SCMP_ARCH_M68K"), "{e}");
}

/// Issue 14: every architecture the runtime-spec names gets a section with
/// its own numbers, byte order and argument width; others are killed.
#[test]
fn issue_14_every_listed_arch_is_filtered_by_its_numbers() {
    let profile = |archs: Vec<SeccompArch>| {
        let mut p = Seccomp::new(SeccompAction::Allow);
        p.architectures = archs;
        let mut r = rule(&["mkdirat", "mseal"], SeccompAction::Errno);
        r.errno_ret = Some(13);
        p.syscalls.push(r);
        let mut r = rule(&["personality"], SeccompAction::Errno);
        r.args = vec![SyscallArg::new(0, 8, SeccompOperator::Equal)];
        p.syscalls.push(r);
        compile(&p).unwrap()
    };
    let others = [
        Arch::Aarch64,
        Arch::Ppc64le,
        Arch::Ppc64,
        Arch::Ppc,
        Arch::S390x,
        Arch::S390,
        Arch::Riscv64,
        Arch::Arm,
        Arch::Mips,
        Arch::Mipsel,
        Arch::Mips64,
        Arch::Mipsel64,
        Arch::Mips64n32,
        Arch::Mipsel64n32,
        Arch::Loongarch64,
    ];
    let all = profile(Arch::ALL.iter().map(|a| a.to_spec()).collect());
    println!("every architecture: {} instructions", all.program.len());
    for arch in others {
        let alone = profile(vec![arch.to_spec()]);
        let nr = |name: &str| i64::from(arch.number(name).unwrap());
        for f in [&alone, &all] {
            let call =
                |name: &str, args: &[u64]| run(&f.program, &Data::new(nr(name), args).abi(arch));
            assert_eq!(call("mkdirat", &[]), errno(13), "{arch:?} mkdirat");
            assert_eq!(call("mseal", &[]), errno(13), "{arch:?} mseal");
            assert_eq!(call("read", &[]), RET_ALLOW, "{arch:?} read");
            assert_eq!(call("personality", &[8]), errno(1), "{arch:?}");
            assert_eq!(call("personality", &[9]), RET_ALLOW, "{arch:?}");
            // A high half set: ignored on a 32-bit ABI, compared on a
            // 64-bit one (whichever end of the word it is stored at).
            let want = if arch.narrow() { errno(1) } else { RET_ALLOW };
            assert_eq!(call("personality", &[8 | 1 << 32]), want, "{arch:?}");
        }
        // x86_64's number for mkdirat (258) means something else here.
        if arch.number("mkdirat") != Some(258) && arch.number("mseal") != Some(258) {
            let d = Data::new(258, &[]).abi(arch);
            assert_eq!(run(&alone.program, &d), RET_ALLOW, "{arch:?} 258");
        }
        // The native ABI stays filtered; an unlisted one is killed.
        let native = Data::new(libc::SYS_mkdirat, &[]);
        assert_eq!(run(&alone.program, &native), errno(13));
        for other in others.iter().filter(|o| o.audit() != arch.audit()) {
            let d = Data::new(nr("read"), &[]).abi(*other);
            assert_eq!(
                run(&alone.program, &d),
                RET_KILL_PROCESS,
                "{other:?} in {arch:?}"
            );
        }
        assert_eq!(
            run(&alone.program, &Data::new(3, &[]).on(AUDIT_ARCH_I386)),
            RET_KILL_PROCESS
        );
        assert_eq!(
            run(&alone.program, &Data::new(0x4000_0000, &[])),
            RET_KILL_PROCESS,
            "x32"
        );
    }
}

/// The level and fields of every event, for the warnings of issue 14.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<(tracing::Level, String)>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0 += &format!("{}={v:?} ", f.name());
            }
        }
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = *event.metadata().level();
        self.0.lock().unwrap().push((level, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Issue 14, as runc: a name no table knows is warned about and skipped
/// (not an error); a name some filtered ABIs know applies there only.
#[test]
fn issue_14_unknown_names_warn_and_partly_known_apply_where_known() {
    let mut p = Seccomp::new(SeccompAction::Allow);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::Aarch64, SeccompArch::Arm];
    let names = [
        "mkdirat",
        "no_such_syscall",
        "set_tls",
        "arch_prctl",
        "socketcall",
    ];
    let mut r = rule(&names, SeccompAction::Errno);
    r.errno_ret = Some(13);
    p.syscalls.push(r);
    let capture = Capture::default();
    let f = tracing::subscriber::with_default(capture.clone(), || compile(&p)).unwrap();
    let events = capture.0.lock().unwrap().clone();
    let warned: Vec<&String> = events
        .iter()
        .filter(|(l, _)| *l == tracing::Level::WARN)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(warned.len(), 1, "{events:?}");
    assert!(warned[0].contains("no_such_syscall"), "{events:?}");
    for name in ["set_tls", "arch_prctl", "socketcall"] {
        assert!(
            events
                .iter()
                .any(|(l, f)| *l == tracing::Level::DEBUG && f.contains(name)),
            "{name}: {events:?}"
        );
    }
    let call = |arch: Arch, name: &str| {
        let nr = arch.number(name).unwrap();
        run(&f.program, &Data::new(nr.into(), &[]).abi(arch))
    };
    for arch in [Arch::X86_64, Arch::Aarch64, Arch::Arm] {
        assert_eq!(call(arch, "mkdirat"), errno(13), "{arch:?}");
    }
    assert_eq!(call(Arch::Arm, "set_tls"), errno(13));
    assert_eq!(call(Arch::X86_64, "arch_prctl"), errno(13));
    // ARM's set_tls number is nothing on AArch64.
    let d = Data::new(0x0f_0005, &[]).abi(Arch::Aarch64);
    assert_eq!(run(&f.program, &d), RET_ALLOW);
    assert_eq!(Arch::Aarch64.number("set_tls"), None);
}

#[test]
fn narrow_abis_compare_low_halves() {
    let archs = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    let compile_arg = |op: SeccompOperator, value: u64, value_two: u64| {
        let mut p = Seccomp::new(SeccompAction::Allow);
        p.architectures = archs.clone();
        let mut r = rule(&["personality"], SeccompAction::Errno);
        let mut a = SyscallArg::new(0, value, op);
        a.value_two = value_two;
        r.args.push(a);
        p.syscalls.push(r);
        compile(&p).unwrap()
    };
    let i386 = |arg0: u64| Data::new(136, &[arg0]).on(AUDIT_ARCH_I386);
    let x32 = |arg0: u64| Data::new((135 | X32_SYSCALL_BIT).into(), &[arg0]);
    let x86_64 = |arg0: u64| Data::new(libc::SYS_personality, &[arg0]);

    type Holds = fn(u32, u32) -> bool;
    let cases: [(SeccompOperator, Holds); 6] = [
        (SeccompOperator::Equal, |x, v| x == v),
        (SeccompOperator::NotEqual, |x, v| x != v),
        (SeccompOperator::LessThan, |x, v| x < v),
        (SeccompOperator::LessOrEqual, |x, v| x <= v),
        (SeccompOperator::GreaterThan, |x, v| x > v),
        (SeccompOperator::GreaterOrEqual, |x, v| x >= v),
    ];
    let v: u32 = 0x8000_0008;
    let probes: [u32; 7] = [0, 8, v - 1, v, v + 1, 0x7fff_ffff, u32::MAX];
    for (op, holds) in cases {
        // The high half of a 64-bit value is dropped (libseccomp
        // truncates operands on its 32-bit architectures).
        for value in [u64::from(v), u64::from(v) | (7 << 32)] {
            let f = compile_arg(op.clone(), value, 0);
            for x in probes {
                let want = if holds(x, v) { errno(1) } else { RET_ALLOW };
                assert_eq!(run(&f.program, &i386(x.into())), want, "i386 {op} {x:#x}");
                assert_eq!(run(&f.program, &x32(x.into())), want, "x32 {op} {x:#x}");
                // x86_64 compares all 64 bits.
                let want64 = if value >> 32 == 0 { want } else { RET_ALLOW };
                let want64 = match op {
                    SeccompOperator::NotEqual
                    | SeccompOperator::LessThan
                    | SeccompOperator::LessOrEqual
                        if value >> 32 != 0 =>
                    {
                        errno(1)
                    }
                    _ => want64,
                };
                assert_eq!(
                    run(&f.program, &x86_64(x.into())),
                    want64,
                    "x86_64 {op} {x:#x} vs {value:#x}"
                );
            }
        }
    }

    // Masked: the expected value is masked too; a zero low mask always
    // holds on a 32-bit ABI.
    let f = compile_arg(SeccompOperator::MaskedEqual, 0xff, 0x1234);
    assert_eq!(run(&f.program, &i386(0x5534)), errno(1));
    assert_eq!(run(&f.program, &i386(0x5535)), RET_ALLOW);
    assert_eq!(run(&f.program, &x32(0x34)), errno(1));
    let f = compile_arg(SeccompOperator::MaskedEqual, 0xff << 32, 0);
    assert_eq!(run(&f.program, &i386(0x1234)), errno(1));
    assert_eq!(run(&f.program, &x32(0x1234)), errno(1));
    assert_eq!(run(&f.program, &x86_64(0x1234)), errno(1));
    assert_eq!(run(&f.program, &x86_64(1 << 32)), RET_ALLOW);
}

/// The names of Docker's default profile (moby `profiles/seccomp/default.json`
/// and containers-common's), on the three x86 ABIs.
#[test]
fn docker_like_profile_fits_on_three_abis() {
    let mut names: Vec<&str> = syscalls::x86_64::Sysno::iter()
        .map(|s| s.name())
        .filter(|n| !DOCKER_DENIED.contains(n))
        .collect();
    names.extend_from_slice(DOCKER_32_BIT);
    assert!(names.len() > 300, "{}", names.len());
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.architectures = vec![SeccompArch::X86_64, SeccompArch::X86, SeccompArch::X32];
    p.syscalls.push(rule(&names, SeccompAction::Allow));
    // personality(2) for the five values Docker allows.
    for v in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        let mut r = rule(&["personality"], SeccompAction::Allow);
        r.args = vec![SyscallArg::new(0, v, SeccompOperator::Equal)];
        p.syscalls.push(r);
    }
    // clone(2) without namespace flags; clone3 -> ENOSYS; no AF_VSOCK.
    let mut r = rule(&["clone"], SeccompAction::Allow);
    let mut a = SyscallArg::new(0, 0x7e02_0000, SeccompOperator::MaskedEqual);
    a.value_two = 0;
    r.args = vec![a];
    p.syscalls.push(r);
    let mut r = rule(&["clone3"], SeccompAction::Errno);
    r.errno_ret = Some(libc::ENOSYS as u32);
    p.syscalls.push(r);
    let mut r = rule(&["socket"], SeccompAction::Allow);
    r.args = vec![SyscallArg::new(0, 40, SeccompOperator::NotEqual)];
    p.syscalls.push(r);
    let f = compile(&p).unwrap();
    println!(
        "docker-like profile: {} names, {} instructions (limit {MAX_INSNS})",
        names.len(),
        f.program.len()
    );
    assert!(f.program.len() <= MAX_INSNS);
    let mut q = p.clone();
    q.architectures = vec![SeccompArch::X86_64];
    let x86_64_only = compile(&q).unwrap();
    println!(
        "docker-like profile on x86_64 alone: {} instructions",
        x86_64_only.program.len()
    );
    let prog = &f.program;
    let i386 = |nr: u32, args: &[u64]| Data::new(nr.into(), args).on(AUDIT_ARCH_I386);
    let x32 = |nr: u32| Data::new((nr | X32_SYSCALL_BIT).into(), &[]);
    assert_eq!(run(prog, &i386(3, &[])), RET_ALLOW, "i386 read");
    assert_eq!(run(prog, &i386(102, &[])), RET_ALLOW, "i386 socketcall");
    assert_eq!(
        run(prog, &i386(136, &[8])),
        RET_ALLOW,
        "i386 personality(8)"
    );
    assert_eq!(run(prog, &i386(136, &[9])), errno(libc::EPERM));
    assert_eq!(run(prog, &i386(21, &[])), errno(libc::EPERM), "i386 mount");
    assert_eq!(run(prog, &x32(0)), RET_ALLOW, "x32 read");
    assert_eq!(run(prog, &x32(515)), RET_ALLOW, "x32 readv");
    assert_eq!(run(prog, &x32(165)), errno(libc::EPERM), "x32 mount");
    let clone3 = libc::SYS_clone3 as u32;
    assert_eq!(run(prog, &x32(clone3)), errno(libc::ENOSYS), "x32 clone3");
    let clone = |flags: u64| Data::new(libc::SYS_clone, &[flags]);
    assert_eq!(run(prog, &clone(0x11)), RET_ALLOW);
    assert_eq!(
        run(prog, &clone(0x1000_0000)),
        errno(libc::EPERM),
        "CLONE_NEWUSER"
    );
    assert_eq!(run(prog, &i386(120, &[0x1000_0000])), errno(libc::EPERM));
    assert_eq!(run(prog, &Data::new(libc::SYS_read, &[])), RET_ALLOW);
    assert_eq!(
        run(prog, &Data::new(libc::SYS_mount, &[])),
        errno(libc::EPERM)
    );
}

/// x86_64 syscalls Docker's default profile leaves out (they need a
/// capability, or are always denied).
const DOCKER_DENIED: &[&str] = &[
    "mount",
    "umount2",
    "pivot_root",
    "swapon",
    "swapoff",
    "reboot",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "acct",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "quotactl",
    "quotactl_fd",
    "bpf",
    "perf_event_open",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "nfsservctl",
    "vm86",
    "vm86old",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "vhangup",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "unshare",
    "setns",
    "syslog",
    "personality",
    "clone",
    "clone3",
    "socket",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "chroot",
];

/// The 32-bit names Docker's default profile also allows.
const DOCKER_32_BIT: &[&str] = &[
    "_llseek",
    "_newselect",
    "chown32",
    "clock_gettime64",
    "clock_nanosleep_time64",
    "fadvise64_64",
    "fchown32",
    "fcntl64",
    "fstat64",
    "fstatat64",
    "fstatfs64",
    "ftruncate64",
    "futex_time64",
    "getegid32",
    "geteuid32",
    "getgid32",
    "getgroups32",
    "getresgid32",
    "getresuid32",
    "getuid32",
    "ipc",
    "lchown32",
    "lstat64",
    "mmap2",
    "mq_timedreceive_time64",
    "mq_timedsend_time64",
    "ppoll_time64",
    "pselect6_time64",
    "recv",
    "recvmmsg_time64",
    "rt_sigtimedwait_time64",
    "sched_rr_get_interval_time64",
    "semtimedop_time64",
    "send",
    "sendfile64",
    "setfsgid32",
    "setfsuid32",
    "setgid32",
    "setgroups32",
    "setregid32",
    "setresgid32",
    "setresuid32",
    "setreuid32",
    "setuid32",
    "sigaction",
    "sigpending",
    "sigprocmask",
    "sigreturn",
    "sigsuspend",
    "socketcall",
    "stat64",
    "statfs64",
    "timer_gettime64",
    "timer_settime64",
    "timerfd_gettime64",
    "timerfd_settime64",
    "truncate64",
    "ugetrlimit",
    "utimensat_time64",
    "waitpid",
    "signal",
    "sync_file_range2",
    "arm_fadvise64_64",
    "set_tls",
    "riscv_flush_icache",
];

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
    let names: Vec<&str> = syscalls::x86_64::Sysno::iter().map(|s| s.name()).collect();
    assert!(names.len() > CHAIN, "{}", names.len());
    let mut p = Seccomp::new(SeccompAction::Errno);
    p.syscalls.push(rule(&names, SeccompAction::Allow));
    let f = compile(&p).unwrap();
    for n in &names {
        let nr = Arch::X86_64.number(n).unwrap();
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
    assert!(e.to_string().starts_with("install seccomp filter"), "{e}");
    assert!(before_caps(false));
    assert!(!before_caps(true));
}
