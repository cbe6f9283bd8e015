//! `linux.resources.devices` on cgroup v2, which has no devices
//! controller: the rules are compiled to an eBPF program of type
//! `BPF_PROG_TYPE_CGROUP_DEVICE` and attached to the container's group
//! (what runc's `devicefilter.go` and `ebpf.go` do).
//!
//! The kernel runs the program on every mknod and open of a device node
//! by a task in the group with a `struct bpf_cgroup_dev_ctx { u32
//! access_type; u32 major; u32 minor; }`: the low 16 bits of
//! `access_type` are the device type (`BPF_DEVCG_DEV_BLOCK`/`CHAR`), the
//! high 16 the access asked for (`BPF_DEVCG_ACC_MKNOD`/`READ`/`WRITE`). A
//! return value of 1 allows, 0 refuses with EPERM.
//!
//! The rules are the v1 list [`super::devices::device_rules`] writes, with the
//! v1 controller's meaning:
//! - a rule of type `a` resets the list: after `a` allowed, everything not
//!   denied later is allowed; after `a` denied, everything not allowed
//!   later is denied (the kernel ignores the rest of an `a` line);
//! - of the later rules the last one that matches decides;
//! - an allow rule matches when the access asked for is a subset of the
//!   rule's, a deny rule when it shares any access with it (an `r` deny
//!   after an `rwm` allow refuses a read-write open, as v1 does);
//! - with no `a` rule the default is deny.

use std::ffi::CStr;
use std::os::fd::AsFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::sys;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One v1 device rule, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    allow: bool,
    /// `BPF_DEVCG_DEV_*`; `None` for type `a`.
    kind: Option<i32>,
    /// `None` for `*`.
    major: Option<i32>,
    minor: Option<i32>,
    /// `BPF_DEVCG_ACC_*` bits.
    access: i32,
}

impl Rule {
    /// Parses one (`devices.allow` or `devices.deny`, line) pair of
    /// [`super::devices::device_rules`]: `a`, or `TYPE MAJOR:MINOR ACCESS`.
    pub(crate) fn parse(file: &str, line: &str) -> Result<Rule> {
        let bad = |expected| Error::BadConfig {
            field: "linux.resources.devices",
            expected,
            found: line.to_owned(),
        };
        let allow = file == "devices.allow";
        let mut words = line.split_whitespace();
        let kind = match words.next() {
            Some("a") => {
                return Ok(Rule {
                    allow,
                    kind: None,
                    major: None,
                    minor: None,
                    access: ACC_ALL,
                })
            }
            Some("b") => DEV_BLOCK,
            Some("c") => DEV_CHAR,
            _ => return Err(bad("device type a, b or c")),
        };
        let (major, minor) = words
            .next()
            .and_then(|n| n.split_once(':'))
            .ok_or_else(|| bad("MAJOR:MINOR"))?;
        let number = |n: &str| -> Result<Option<i32>> {
            if n == "*" {
                return Ok(None);
            }
            // The program compares with 32-bit immediates, which the
            // kernel sign-extends: keep them non-negative.
            n.parse::<i32>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| bad("a device number from 0 to 2147483647, or *"))
        };
        let mut access = 0;
        for c in words.next().unwrap_or("rwm").chars() {
            access |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => return Err(bad("access letters r, w and m")),
            };
        }
        Ok(Rule {
            allow,
            kind: Some(kind),
            major: number(major)?,
            minor: number(minor)?,
            access,
        })
    }
}

/// One eBPF instruction (`struct bpf_insn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    dst: u8,
    src: u8,
    off: i16,
    imm: i32,
}

// Opcodes: class | operation | source (linux/bpf_common.h, bpf.h).
const LDX_MEM_W: u8 = 0x01 | 0x60; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x04 | 0x70; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0x04 | 0xb0; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0x04 | 0xb0 | 0x08; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JEQ_K: u8 = 0x05 | 0x10; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JNE_K: u8 = 0x05 | 0x50; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x05 | 0x50 | 0x08; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x05 | 0x90; // BPF_JMP | BPF_EXIT

/// A jump offset not yet resolved: "to the next rule's block".
const TO_NEXT: i16 = i16::MIN;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

impl Insn {
    /// The instruction as the kernel reads it: `code`, the registers'
    /// nibbles in C bitfield order (`dst_reg:4, src_reg:4`), `off`, `imm`,
    /// in this machine's byte order.
    pub(crate) fn encode(self) -> u64 {
        let regs = if cfg!(target_endian = "little") {
            self.dst | (self.src << 4)
        } else {
            (self.dst << 4) | self.src
        };
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = regs;
        b[2..4].copy_from_slice(&self.off.to_ne_bytes());
        b[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        u64::from_ne_bytes(b)
    }
}

/// The program for `rules` (see the module docs for their meaning).
pub(crate) fn program(rules: &[Rule]) -> Vec<Insn> {
    // Only the rules after the last `a` rule count.
    let start = rules.iter().rposition(|r| r.kind.is_none());
    let default_allow = start.is_some_and(|i| rules[i].allow);
    let rules = &rules[start.map_or(0, |i| i + 1)..];

    // r2 = type, r3 = access, r4 = major, r5 = minor; r1 (the context)
    // is free afterwards.
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(ALU32_AND_K, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    // Last match wins: test the rules from the last.
    for r in rules.iter().rev() {
        let mut block = Vec::new();
        if let Some(kind) = r.kind {
            block.push(insn(JMP_JNE_K, 2, 0, TO_NEXT, kind));
        }
        if r.access != ACC_ALL {
            block.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
            block.push(insn(ALU32_AND_K, 1, 0, 0, r.access));
            if r.allow {
                // Every access asked for is allowed: (r3 & access) == r3.
                block.push(insn(JMP_JNE_X, 1, 3, TO_NEXT, 0));
            } else {
                // Some access asked for is denied: (r3 & access) != 0.
                block.push(insn(JMP_JEQ_K, 1, 0, TO_NEXT, 0));
            }
        }
        if let Some(major) = r.major {
            block.push(insn(JMP_JNE_K, 4, 0, TO_NEXT, major));
        }
        if let Some(minor) = r.minor {
            block.push(insn(JMP_JNE_K, 5, 0, TO_NEXT, minor));
        }
        block.push(insn(ALU32_MOV_K, 0, 0, 0, i32::from(r.allow)));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.off == TO_NEXT {
                // Blocks are a few instructions long.
                ins.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
    }
    p.push(insn(ALU32_MOV_K, 0, 0, 0, i32::from(default_allow)));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// Compiles `rules` (from [`super::devices::device_rules`]), loads the program and
/// attaches it to the cgroup2 group `dir`, then detaches the programs
/// attached there before (an earlier `apply`), so the group is never
/// without a filter.
pub(crate) fn install(dir: &Path, rules: &[(&'static str, String)]) -> Result<()> {
    let rules = rules
        .iter()
        .map(|(file, line)| Rule::parse(file, line))
        .collect::<Result<Vec<_>>>()?;
    let insns: Vec<u64> = program(&rules).into_iter().map(Insn::encode).collect();
    let group = std::fs::File::open(dir).map_err(|e| Error::io("open cgroup", dir, e))?;
    let old = sys::bpf_prog_query(group.as_fd(), sys::bpf::CGROUP_DEVICE)
        .map_err(|e| Error::io("query the device programs of cgroup", dir, e))?;
    let prog = load(&insns).map_err(|e| Error::io("load the device eBPF program for", dir, e))?;
    sys::bpf_prog_attach(
        group.as_fd(),
        prog.as_fd(),
        sys::bpf::CGROUP_DEVICE,
        sys::bpf::F_ALLOW_MULTI,
    )
    .map_err(|e| Error::io("attach the device eBPF program to", dir, e))?;
    tracing::debug!(
        instructions = insns.len(),
        replaced = old.len(),
        "device rules attached as eBPF"
    );
    for id in old {
        let detach = sys::bpf_prog_get_fd_by_id(id).and_then(|fd| {
            sys::bpf_prog_detach(group.as_fd(), fd.as_fd(), sys::bpf::CGROUP_DEVICE)
        });
        match detach {
            Ok(()) => {}
            // Detached meanwhile (another update): nothing left to do.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(Error::io("detach an old device eBPF program from", dir, e)),
        }
    }
    Ok(())
}

/// Loads `insns`; on failure, loads again with a log buffer so the error
/// carries the verifier's report.
fn load(insns: &[u64]) -> std::io::Result<std::os::fd::OwnedFd> {
    // CGROUP_DEVICE programs need no GPL-only helpers.
    const LICENSE: &CStr = c"Apache-2.0";
    fn load(insns: &[u64], log: Option<&mut [u8]>) -> std::io::Result<std::os::fd::OwnedFd> {
        sys::bpf_prog_load(
            sys::bpf::PROG_TYPE_CGROUP_DEVICE,
            sys::bpf::CGROUP_DEVICE,
            insns,
            LICENSE,
            log,
        )
    }
    load(insns, None).or_else(|e| {
        let mut log = vec![0u8; 64 << 10];
        match load(insns, Some(&mut log)) {
            Ok(fd) => Ok(fd),
            Err(_) => {
                let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
                let report = String::from_utf8_lossy(&log[..end]);
                let report = report.trim();
                if report.is_empty() {
                    Err(e)
                } else {
                    Err(std::io::Error::new(
                        e.kind(),
                        format!("{e}; verifier: {report}"),
                    ))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instructions as text, one per line, for golden comparisons.
    fn text(p: &[Insn]) -> String {
        p.iter()
            .enumerate()
            .map(|(n, i)| {
                let (d, s, off, imm) = (i.dst, i.src, i.off, i.imm);
                let body = match i.code {
                    LDX_MEM_W => format!("r{d} = *(u32 *)(r{s} + {off})"),
                    ALU32_AND_K => format!("w{d} &= {imm:#x}"),
                    ALU32_RSH_K => format!("w{d} >>= {imm}"),
                    ALU32_MOV_K => format!("w{d} = {imm}"),
                    ALU32_MOV_X => format!("w{d} = w{s}"),
                    JMP_JEQ_K => format!("if r{d} == {imm} goto +{off}"),
                    JMP_JNE_K => format!("if r{d} != {imm} goto +{off}"),
                    JMP_JNE_X => format!("if r{d} != r{s} goto +{off}"),
                    JMP_EXIT => "exit".to_owned(),
                    c => format!("?{c:#x}"),
                };
                format!("{n}: {body}\n")
            })
            .collect()
    }

    fn compile(rules: &[(&str, &str)]) -> String {
        let rules: Vec<Rule> = rules
            .iter()
            .map(|(f, l)| Rule::parse(f, l).unwrap())
            .collect();
        text(&program(&rules))
    }

    const PROLOGUE: &str = "\
0: r2 = *(u32 *)(r1 + 0)
1: w2 &= 0xffff
2: r3 = *(u32 *)(r1 + 0)
3: w3 >>= 16
4: r4 = *(u32 *)(r1 + 4)
5: r5 = *(u32 *)(r1 + 8)
";

    #[test]
    fn deny_all_then_allow_null() {
        let p = compile(&[("devices.deny", "a"), ("devices.allow", "c 1:3 rwm")]);
        let want = PROLOGUE.to_owned()
            + "\
6: if r2 != 2 goto +4
7: if r4 != 1 goto +3
8: if r5 != 3 goto +2
9: w0 = 1
10: exit
11: w0 = 0
12: exit
";
        assert_eq!(p, want);
    }

    #[test]
    fn last_rule_is_tested_first_and_wildcards_skip_their_test() {
        let p = compile(&[
            ("devices.deny", "a"),
            ("devices.allow", "c 136:* rwm"),
            ("devices.allow", "b *:* m"),
            ("devices.deny", "c *:5 rwm"),
        ]);
        let want = PROLOGUE.to_owned()
            + "\
6: if r2 != 2 goto +3
7: if r5 != 5 goto +2
8: w0 = 0
9: exit
10: if r2 != 1 goto +5
11: w1 = w3
12: w1 &= 0x1
13: if r1 != r3 goto +2
14: w0 = 1
15: exit
16: if r2 != 2 goto +3
17: if r4 != 136 goto +2
18: w0 = 1
19: exit
20: w0 = 0
21: exit
";
        assert_eq!(p, want);
    }

    #[test]
    fn allow_all_resets_and_defaults_to_allow() {
        let p = compile(&[
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "a"),
            ("devices.deny", "b 8:0 rw"),
        ]);
        let want = PROLOGUE.to_owned()
            + "\
6: if r2 != 1 goto +7
7: w1 = w3
8: w1 &= 0x6
9: if r1 == 0 goto +4
10: if r4 != 8 goto +3
11: if r5 != 0 goto +2
12: w0 = 0
13: exit
14: w0 = 1
15: exit
";
        assert_eq!(p, want);
        assert_eq!(
            compile(&[("devices.allow", "a")]),
            PROLOGUE.to_owned() + "6: w0 = 1\n7: exit\n"
        );
        // No `a` rule: deny by default.
        assert_eq!(compile(&[]), PROLOGUE.to_owned() + "6: w0 = 0\n7: exit\n");
        // The kernel takes any `a` line as `a`.
        assert_eq!(Rule::parse("devices.deny", "a 1:3 r").unwrap().kind, None);
    }

    #[test]
    fn access_subsets_block_and_char() {
        let p = compile(&[("devices.deny", "a"), ("devices.allow", "b 254:0 r")]);
        let want = PROLOGUE.to_owned()
            + "\
6: if r2 != 1 goto +7
7: w1 = w3
8: w1 &= 0x2
9: if r1 != r3 goto +4
10: if r4 != 254 goto +3
11: if r5 != 0 goto +2
12: w0 = 1
13: exit
14: w0 = 0
15: exit
";
        assert_eq!(p, want);
        let rw = Rule::parse("devices.allow", "c 1:3 wr").unwrap();
        assert_eq!(rw.access, ACC_READ | ACC_WRITE);
        assert_eq!(rw.kind, Some(DEV_CHAR));
    }

    #[test]
    fn bad_rules_are_refused() {
        for line in [
            "x 1:3 rwm",
            "c 1 rwm",
            "c 1:3 rx",
            "c -1:3 r",
            "b 1:4294967296 r",
        ] {
            assert!(
                matches!(
                    Rule::parse("devices.allow", line),
                    Err(Error::BadConfig { .. })
                ),
                "{line}"
            );
        }
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn encoding_is_struct_bpf_insn() {
        // r2 = *(u32 *)(r1 + 4): code 0x61, dst 2 | src 1 << 4, off 4.
        assert_eq!(
            insn(LDX_MEM_W, 2, 1, 4, 0).encode().to_le_bytes(),
            [0x61, 0x12, 4, 0, 0, 0, 0, 0]
        );
        // if r4 != 254 goto +3
        assert_eq!(
            insn(JMP_JNE_K, 4, 0, 3, 254).encode().to_le_bytes(),
            [0x55, 0x04, 3, 0, 254, 0, 0, 0]
        );
    }

    /// Runs a program on this kernel; needs root (CAP_BPF), skipped
    /// otherwise.
    #[test]
    fn the_kernel_verifier_accepts_the_programs() {
        if !rustix::process::geteuid().is_root() {
            println!("test the_kernel_verifier_accepts_the_programs ... skipped: needs root");
            return;
        }
        let rules: Vec<Rule> = crate::cgroup::devices::device_rules(&{
            let mut r = ocikit_types::runtime::Resources::default();
            r.devices = vec![ocikit_types::runtime::DeviceCgroup::all(false)];
            r
        })
        .iter()
        .map(|(f, l)| Rule::parse(f, l).unwrap())
        .chain([Rule::parse("devices.deny", "c *:* w").unwrap()])
        .collect();
        let insns: Vec<u64> = program(&rules).into_iter().map(Insn::encode).collect();
        load(&insns).unwrap();
        // And a bad one is refused with the verifier's words.
        let e = load(&[insn(JMP_EXIT, 0, 0, 0, 0).encode()]).unwrap_err();
        assert!(e.to_string().contains("verifier: "), "{e}");
    }

    /// On a real cgroup2 group: the program is enforced, and a second
    /// install replaces the first instead of adding to it. Needs root and
    /// a cgroup2 mount with a block device to open, skipped otherwise.
    #[test]
    fn install_is_enforced_and_replaces_the_previous_program() {
        let test = "install_is_enforced_and_replaces_the_previous_program";
        let Some(root) = crate::cgroup::hierarchies()
            .unwrap_or_default()
            .into_iter()
            .find(|h| h.v2)
            .map(|h| h.mountpoint)
        else {
            println!("test {test} ... skipped: no cgroup2 mount");
            return;
        };
        if !rustix::process::geteuid().is_root() || std::fs::File::open("/dev/loop0").is_err() {
            println!("test {test} ... skipped: needs root and /dev/loop0");
            return;
        }
        let dir = root.join(format!("ocikit-devicefilter-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let probe = || {
            let script = format!(
                "echo $$ > {}/cgroup.procs && \
                 (head -c 1 /dev/loop0 >/dev/null 2>&1 && echo loop-read; \
                  echo x >/dev/null && echo null-write)",
                dir.display()
            );
            let out = std::process::Command::new("sh")
                .args(["-c", &script])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let query = || {
            let group = std::fs::File::open(&dir).unwrap();
            sys::bpf_prog_query(group.as_fd(), sys::bpf::CGROUP_DEVICE).unwrap()
        };
        let mut rules = crate::cgroup::devices::device_rules(&{
            let mut r = ocikit_types::runtime::Resources::default();
            r.devices = vec![ocikit_types::runtime::DeviceCgroup::all(false)];
            r
        });
        install(&dir, &rules).unwrap();
        let first = query();
        let denied = probe();
        rules.push(("devices.allow", "b 7:0 r".to_owned()));
        install(&dir, &rules).unwrap();
        let second = query();
        let allowed = probe();
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(denied, "null-write\n");
        assert_eq!(allowed, "loop-read\nnull-write\n");
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1);
        assert_ne!(first, second);
    }
}
