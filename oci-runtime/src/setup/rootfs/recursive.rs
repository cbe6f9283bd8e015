//! The recursive mount options of runtime-spec 1.1 (`rro`, `rnosuid`,
//! `rnoatime`, ...): mount(2) flags only ever reach one mount, so these are
//! applied after the mount with mount_setattr(2) `AT_RECURSIVE`, reaching
//! every mount below the destination too (a submount under an `rro` bind
//! is read-only as well).

use std::io;
use std::path::Path;

use crate::sys::syscalls::Syscalls;

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
/// The atime field: one of the three values below, never a bit set.
const MOUNT_ATTR_ATIME: u64 = 0x70;
const MOUNT_ATTR_RELATIME: u64 = 0x0;
const MOUNT_ATTR_NOATIME: u64 = 0x10;
const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// The recursive options this runtime applies.
pub(crate) const RECURSIVE_OPTIONS: &[&str] = &[
    "ratime",
    "rdev",
    "rdiratime",
    "rexec",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "rrelatime",
    "rro",
    "rrw",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
];

/// Options written like a recursive option (`r` + a mount flag word) that
/// mount_setattr(2) cannot apply; refused rather than handed to the
/// filesystem, which would ignore them on a bind mount.
const NOT_RECURSIVE: &[&str] = &[
    "rasync", "rdirsync", "rmand", "rnomand", "rremount", "rsync",
];

/// The mount attributes the recursive options of one mount ask for; later
/// options win over earlier ones, as with the plain flags.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecursiveAttrs {
    set: u64,
    clear: u64,
    /// The atime mode (`MOUNT_ATTR_RELATIME`, `_NOATIME` or
    /// `_STRICTATIME`) when an option chose one.
    atime: Option<u64>,
}

/// What [`RecursiveAttrs::add`] made of one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A recursive option, recorded.
    Recursive,
    /// Not a recursive option: the caller handles it.
    Other,
    /// Written as a recursive option but not one mount_setattr(2) applies.
    Unsupported,
}

impl RecursiveAttrs {
    /// Records `opt` if it is a recursive option.
    pub(crate) fn add(&mut self, opt: &str) -> Parsed {
        let (set, clear) = match opt {
            "rro" => (MOUNT_ATTR_RDONLY, 0),
            "rrw" => (0, MOUNT_ATTR_RDONLY),
            "rnosuid" => (MOUNT_ATTR_NOSUID, 0),
            "rsuid" => (0, MOUNT_ATTR_NOSUID),
            "rnodev" => (MOUNT_ATTR_NODEV, 0),
            "rdev" => (0, MOUNT_ATTR_NODEV),
            "rnoexec" => (MOUNT_ATTR_NOEXEC, 0),
            "rexec" => (0, MOUNT_ATTR_NOEXEC),
            "rnodiratime" => (MOUNT_ATTR_NODIRATIME, 0),
            "rdiratime" => (0, MOUNT_ATTR_NODIRATIME),
            "rnosymfollow" => (MOUNT_ATTR_NOSYMFOLLOW, 0),
            "rsymfollow" => (0, MOUNT_ATTR_NOSYMFOLLOW),
            // The atime field holds one mode; "not noatime" and "not
            // strictatime" are the kernel's default, relatime, and "not
            // relatime" means every access updates atime (strictatime).
            "rnoatime" => return self.atime(MOUNT_ATTR_NOATIME),
            "rstrictatime" => return self.atime(MOUNT_ATTR_STRICTATIME),
            "rnorelatime" => return self.atime(MOUNT_ATTR_STRICTATIME),
            "rrelatime" | "ratime" | "rnostrictatime" => return self.atime(MOUNT_ATTR_RELATIME),
            _ if NOT_RECURSIVE.contains(&opt) => return Parsed::Unsupported,
            _ => return Parsed::Other,
        };
        self.set = (self.set | set) & !clear;
        self.clear = (self.clear | clear) & !set;
        Parsed::Recursive
    }

    fn atime(&mut self, mode: u64) -> Parsed {
        self.atime = Some(mode);
        Parsed::Recursive
    }

    /// Whether no recursive option was given.
    pub(crate) fn is_empty(&self) -> bool {
        *self == RecursiveAttrs::default()
    }

    /// The `(attr_set, attr_clr)` pair for mount_setattr(2): choosing an
    /// atime mode clears the whole atime field first, as the kernel asks.
    pub(crate) fn set_clear(&self) -> (u64, u64) {
        match self.atime {
            Some(mode) => (self.set | mode, self.clear | MOUNT_ATTR_ATIME),
            None => (self.set, self.clear),
        }
    }

    /// Applies the attributes to the mount at `target` and every mount
    /// below it.
    pub(crate) fn apply(&self, sys: &dyn Syscalls, target: &Path) -> io::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let (set, clear) = self.set_clear();
        sys.mount_setattr(target, true, set, clear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(opts: &[&str]) -> RecursiveAttrs {
        let mut r = RecursiveAttrs::default();
        for o in opts {
            assert_eq!(r.add(o), Parsed::Recursive, "{o}");
        }
        r
    }

    #[test]
    fn each_listed_option_is_recursive() {
        for o in RECURSIVE_OPTIONS {
            let mut r = RecursiveAttrs::default();
            assert_eq!(r.add(o), Parsed::Recursive, "{o}");
            assert!(!r.is_empty(), "{o}");
        }
    }

    #[test]
    fn later_options_win() {
        let r = parse(&["rro", "rnosuid", "rrw"]);
        assert_eq!(r.set_clear(), (MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY));
        let r = parse(&["rrw", "rro", "rnosymfollow"]);
        assert_eq!(
            r.set_clear(),
            (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSYMFOLLOW, 0)
        );
    }

    #[test]
    fn an_atime_mode_clears_the_whole_field() {
        let r = parse(&["rnoatime"]);
        assert_eq!(r.set_clear(), (MOUNT_ATTR_NOATIME, MOUNT_ATTR_ATIME));
        let r = parse(&["rnoatime", "rstrictatime"]);
        assert_eq!(r.set_clear(), (MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_ATIME));
        let r = parse(&["rnoatime", "ratime"]);
        assert_eq!(r.set_clear(), (MOUNT_ATTR_RELATIME, MOUNT_ATTR_ATIME));
    }

    #[test]
    fn other_words_are_left_to_the_caller_or_refused() {
        let mut r = RecursiveAttrs::default();
        assert_eq!(r.add("ro"), Parsed::Other);
        assert_eq!(r.add("rbind"), Parsed::Other);
        assert_eq!(r.add("size=10m"), Parsed::Other);
        assert_eq!(r.add("rsync"), Parsed::Unsupported);
        assert_eq!(r.add("rremount"), Parsed::Unsupported);
        assert!(r.is_empty());
    }
}
