//! Syscall numbers by name, for every architecture the runtime-spec names.
//!
//! The numbers come from the [`syscalls`](https://docs.rs/syscalls) crate
//! (jasonwhite/syscalls), chosen because its per-architecture tables are
//! generated from the kernel's own `syscall.tbl` files and kept current
//! (0.8.1: Linux 6.18, so `mseal`, `listmount`, `statmount`, the `lsm_*`
//! and `*xattrat` calls and `file_getattr` are there), it builds every
//! architecture's table on any host (one cargo feature each), declares no
//! MSRV above ours, and needs nothing from the build machine. The other
//! candidates fell short: `syscall-numbers` 4.0.3 has x32 and n32 but needs
//! Rust 1.88 (above the workspace's 1.85), and its last release our MSRV
//! accepts (4.0.2) stops before `mseal`/`listmount`; `sc` stopped at Linux
//! 5.x.
//!
//! `syscalls` has no module for x32, MIPS n32 or 31-bit s390; those ABIs
//! are derived from its x86_64, n64 and s390x tables plus the short lists
//! in `supplement.rs` (see there), as libseccomp derives its x32 table
//! from x86_64's. ARM's private calls (`set_tls`, `cacheflush`, ...) come
//! from the same file.

use std::str::FromStr;

use ocikit_types::runtime::SeccompArch;

use super::supplement::*;

/// `__X32_SYSCALL_BIT`.
pub(crate) const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// linux/audit.h: EM_* | __AUDIT_ARCH_64BIT (0x8000_0000) |
// __AUDIT_ARCH_LE (0x4000_0000), and MIPS's n32 convention bit.
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(crate) const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
pub(crate) const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;
pub(crate) const AUDIT_ARCH_MIPS: u32 = 0x0000_0008;
pub(crate) const AUDIT_ARCH_MIPS64: u32 = 0x8000_0008;
pub(crate) const AUDIT_ARCH_MIPS64N32: u32 = 0xa000_0008;
pub(crate) const AUDIT_ARCH_MIPSEL: u32 = 0x4000_0008;
pub(crate) const AUDIT_ARCH_MIPSEL64: u32 = 0xc000_0008;
pub(crate) const AUDIT_ARCH_MIPSEL64N32: u32 = 0xe000_0008;
pub(crate) const AUDIT_ARCH_PPC: u32 = 0x0000_0014;
pub(crate) const AUDIT_ARCH_PPC64: u32 = 0x8000_0015;
pub(crate) const AUDIT_ARCH_PPC64LE: u32 = 0xc000_0015;
pub(crate) const AUDIT_ARCH_S390: u32 = 0x0000_0016;
pub(crate) const AUDIT_ARCH_S390X: u32 = 0x8000_0016;
pub(crate) const AUDIT_ARCH_RISCV64: u32 = 0xc000_00f3;
pub(crate) const AUDIT_ARCH_LOONGARCH64: u32 = 0xc000_0102;

/// An ABI a filter can have a section for: the runtime-spec's
/// `SCMP_ARCH_*` values libseccomp supports, minus PA-RISC, SuperH and
/// m68k (no table in the crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Arch {
    X86,
    X86_64,
    X32,
    Arm,
    Aarch64,
    Mips,
    Mips64,
    Mips64n32,
    Mipsel,
    Mipsel64,
    Mipsel64n32,
    Ppc,
    Ppc64,
    Ppc64le,
    S390,
    S390x,
    Riscv64,
    Loongarch64,
}

/// The number of `name` in one of the crate's tables.
macro_rules! from_crate {
    ($module:ident, $name:expr) => {
        syscalls::$module::Sysno::from_str($name)
            .ok()
            .and_then(|s| u32::try_from(s.id()).ok())
    };
}

fn find(list: &[(&str, u32)], name: &str) -> Option<u32> {
    list.iter().find(|(n, _)| *n == name).map(|&(_, nr)| nr)
}

impl Arch {
    /// Every supported ABI, in `SeccompArch` order.
    pub(crate) const ALL: [Arch; 18] = [
        Arch::X86,
        Arch::X86_64,
        Arch::X32,
        Arch::Arm,
        Arch::Aarch64,
        Arch::Mips,
        Arch::Mips64,
        Arch::Mips64n32,
        Arch::Mipsel,
        Arch::Mipsel64,
        Arch::Mipsel64n32,
        Arch::Ppc,
        Arch::Ppc64,
        Arch::Ppc64le,
        Arch::S390,
        Arch::S390x,
        Arch::Riscv64,
        Arch::Loongarch64,
    ];

    /// The ABI of a profile's `SCMP_ARCH_*`, if the engine can filter it.
    pub(crate) fn from_spec(arch: &SeccompArch) -> Option<Arch> {
        Some(match arch {
            SeccompArch::X86 => Arch::X86,
            SeccompArch::X86_64 => Arch::X86_64,
            SeccompArch::X32 => Arch::X32,
            SeccompArch::Arm => Arch::Arm,
            SeccompArch::Aarch64 => Arch::Aarch64,
            SeccompArch::Mips => Arch::Mips,
            SeccompArch::Mips64 => Arch::Mips64,
            SeccompArch::Mips64n32 => Arch::Mips64n32,
            SeccompArch::Mipsel => Arch::Mipsel,
            SeccompArch::Mipsel64 => Arch::Mipsel64,
            SeccompArch::Mipsel64n32 => Arch::Mipsel64n32,
            SeccompArch::Ppc => Arch::Ppc,
            SeccompArch::Ppc64 => Arch::Ppc64,
            SeccompArch::Ppc64le => Arch::Ppc64le,
            SeccompArch::S390 => Arch::S390,
            SeccompArch::S390x => Arch::S390x,
            SeccompArch::Riscv64 => Arch::Riscv64,
            SeccompArch::Loongarch64 => Arch::Loongarch64,
            _ => return None,
        })
    }

    /// The profile's name for this ABI.
    pub(crate) fn to_spec(self) -> SeccompArch {
        match self {
            Arch::X86 => SeccompArch::X86,
            Arch::X86_64 => SeccompArch::X86_64,
            Arch::X32 => SeccompArch::X32,
            Arch::Arm => SeccompArch::Arm,
            Arch::Aarch64 => SeccompArch::Aarch64,
            Arch::Mips => SeccompArch::Mips,
            Arch::Mips64 => SeccompArch::Mips64,
            Arch::Mips64n32 => SeccompArch::Mips64n32,
            Arch::Mipsel => SeccompArch::Mipsel,
            Arch::Mipsel64 => SeccompArch::Mipsel64,
            Arch::Mipsel64n32 => SeccompArch::Mipsel64n32,
            Arch::Ppc => SeccompArch::Ppc,
            Arch::Ppc64 => SeccompArch::Ppc64,
            Arch::Ppc64le => SeccompArch::Ppc64le,
            Arch::S390 => SeccompArch::S390,
            Arch::S390x => SeccompArch::S390x,
            Arch::Riscv64 => SeccompArch::Riscv64,
            Arch::Loongarch64 => SeccompArch::Loongarch64,
        }
    }

    /// The ABI the engine is built for (always in a filter, as libseccomp's
    /// native architecture), or `None` on a host it has no table for.
    pub(crate) fn native() -> Option<Arch> {
        let big = cfg!(target_endian = "big");
        if cfg!(target_arch = "x86_64") {
            Some(if cfg!(target_pointer_width = "32") {
                Arch::X32
            } else {
                Arch::X86_64
            })
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "arm") && !big {
            Some(Arch::Arm)
        } else if cfg!(target_arch = "mips") {
            Some(if big { Arch::Mips } else { Arch::Mipsel })
        } else if cfg!(target_arch = "mips64") {
            Some(match (big, cfg!(target_pointer_width = "32")) {
                (true, false) => Arch::Mips64,
                (true, true) => Arch::Mips64n32,
                (false, false) => Arch::Mipsel64,
                (false, true) => Arch::Mipsel64n32,
            })
        } else if cfg!(target_arch = "powerpc") {
            Some(Arch::Ppc)
        } else if cfg!(target_arch = "powerpc64") {
            Some(if big { Arch::Ppc64 } else { Arch::Ppc64le })
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "loongarch64") {
            Some(Arch::Loongarch64)
        } else {
            None
        }
    }

    /// `seccomp_data.arch` for this ABI (x32 shares x86_64's and is told
    /// apart by [`X32_SYSCALL_BIT`] in the number).
    pub(crate) fn audit(self) -> u32 {
        match self {
            Arch::X86 => AUDIT_ARCH_I386,
            Arch::X86_64 | Arch::X32 => AUDIT_ARCH_X86_64,
            Arch::Arm => AUDIT_ARCH_ARM,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
            Arch::Mips => AUDIT_ARCH_MIPS,
            Arch::Mips64 => AUDIT_ARCH_MIPS64,
            Arch::Mips64n32 => AUDIT_ARCH_MIPS64N32,
            Arch::Mipsel => AUDIT_ARCH_MIPSEL,
            Arch::Mipsel64 => AUDIT_ARCH_MIPSEL64,
            Arch::Mipsel64n32 => AUDIT_ARCH_MIPSEL64N32,
            Arch::Ppc => AUDIT_ARCH_PPC,
            Arch::Ppc64 => AUDIT_ARCH_PPC64,
            Arch::Ppc64le => AUDIT_ARCH_PPC64LE,
            Arch::S390 => AUDIT_ARCH_S390,
            Arch::S390x => AUDIT_ARCH_S390X,
            Arch::Riscv64 => AUDIT_ARCH_RISCV64,
            Arch::Loongarch64 => AUDIT_ARCH_LOONGARCH64,
        }
    }

    /// Whether arguments are compared on their low 32 bits only, as
    /// libseccomp does on its 32-bit ABIs.
    pub(crate) fn narrow(self) -> bool {
        matches!(
            self,
            Arch::X86
                | Arch::X32
                | Arch::Arm
                | Arch::Mips
                | Arch::Mipsel
                | Arch::Mips64n32
                | Arch::Mipsel64n32
                | Arch::Ppc
                | Arch::S390
        )
    }

    /// Whether `seccomp_data.args` are big-endian (the high half of an
    /// argument comes first).
    pub(crate) fn big_endian(self) -> bool {
        self.audit() & 0x4000_0000 == 0
    }

    /// The number of syscall `name` on this ABI, as `seccomp_data.nr`
    /// carries it (with MIPS's 4000/5000/6000 base and x32's bit).
    pub(crate) fn number(self, name: &str) -> Option<u32> {
        match self {
            Arch::X86 => from_crate!(x86, name),
            Arch::X86_64 => from_crate!(x86_64, name),
            Arch::X32 => x32_number(name),
            Arch::Arm => from_crate!(arm, name).or_else(|| find(ARM_PRIVATE, name)),
            Arch::Aarch64 => from_crate!(aarch64, name),
            Arch::Mips | Arch::Mipsel => from_crate!(mips, name),
            Arch::Mips64 | Arch::Mipsel64 => from_crate!(mips64, name),
            Arch::Mips64n32 | Arch::Mipsel64n32 => n32_number(name),
            Arch::Ppc => from_crate!(powerpc, name),
            Arch::Ppc64 | Arch::Ppc64le => from_crate!(powerpc64, name),
            Arch::S390 => s390_number(name),
            Arch::S390x => from_crate!(s390x, name),
            Arch::Riscv64 => from_crate!(riscv64, name),
            Arch::Loongarch64 => from_crate!(loongarch64, name),
        }
    }

    /// Whether any supported ABI knows `name`.
    pub(crate) fn known_anywhere(name: &str) -> bool {
        Arch::ALL.iter().any(|a| a.number(name).is_some())
    }
}

/// x32: its own entries, else x86_64's common ones with the x32 bit.
fn x32_number(name: &str) -> Option<u32> {
    if let Some(nr) = find(X32_OWN, name) {
        return Some(nr | X32_SYSCALL_BIT);
    }
    if X86_64_ONLY.contains(&name) {
        return None;
    }
    from_crate!(x86_64, name).map(|nr| nr | X32_SYSCALL_BIT)
}

/// MIPS n32: the frozen range from the supplement, later calls at n64's
/// number moved to the 6000 base.
fn n32_number(name: &str) -> Option<u32> {
    if let Some(nr) = find(MIPS64N32_BELOW_424, name) {
        return Some(6000 + nr);
    }
    from_crate!(mips64, name)
        .filter(|&nr| nr >= 5424)
        .map(|nr| nr + 1000)
}

/// 31-bit s390: its own entries and the generic `*_time64` calls, else
/// s390x's common ones (same numbers).
fn s390_number(name: &str) -> Option<u32> {
    if let Some(nr) = find(S390_OWN, name) {
        return Some(nr);
    }
    if S390X_ONLY.contains(&name) {
        return None;
    }
    if let Some(nr) = from_crate!(x86, name).filter(|nr| (403..424).contains(nr)) {
        return Some(nr);
    }
    from_crate!(s390x, name)
}
