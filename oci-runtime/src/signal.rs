//! Signals by name or number.

use std::fmt;
use std::str::FromStr;

use crate::Error;

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// A signal to send to a container, parsed as `runc kill` does:
/// `KILL`, `SIGKILL` or `9` (`RTMIN+n` is accepted too).
///
/// ```
/// use oci_runtime::Signal;
/// assert_eq!("SIGKILL".parse::<Signal>()?, "9".parse()?);
/// assert_eq!("term".parse::<Signal>()?.number(), 15);
/// # Ok::<(), oci_runtime::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(i32);

impl Signal {
    /// SIGKILL.
    pub const KILL: Signal = Signal(libc::SIGKILL);
    /// SIGTERM, `runc kill`'s default.
    pub const TERM: Signal = Signal(libc::SIGTERM);

    /// The signal's number.
    pub fn number(self) -> i32 {
        self.0
    }
}

impl FromStr for Signal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidSignal {
            found: s.to_owned(),
        };
        if let Ok(n) = s.parse::<i32>() {
            return if (1..=64).contains(&n) {
                Ok(Signal(n))
            } else {
                Err(bad())
            };
        }
        let up = s.to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        if let Some(n) = name.strip_prefix("RTMIN+") {
            let n: i32 = n.parse().map_err(|_| bad())?;
            let sig = libc::SIGRTMIN() + n;
            return if n >= 0 && sig <= libc::SIGRTMAX() {
                Ok(Signal(sig))
            } else {
                Err(bad())
            };
        }
        NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Signal(*v))
            .ok_or_else(bad)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match NAMES.iter().find(|(_, v)| *v == self.0) {
            Some((n, _)) => write!(f, "SIG{n}"),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!("KILL".parse::<Signal>().unwrap(), Signal::KILL);
        assert_eq!("sigterm".parse::<Signal>().unwrap(), Signal::TERM);
        assert_eq!(
            "RTMIN+1".parse::<Signal>().unwrap().number(),
            libc::SIGRTMIN() + 1
        );
        assert_eq!(Signal::KILL.to_string(), "SIGKILL");
        for bad in ["", "0", "65", "NOPE", "SIG"] {
            let e = bad.parse::<Signal>().unwrap_err();
            assert!(e.to_string().contains("found"), "{e}");
        }
    }
}
