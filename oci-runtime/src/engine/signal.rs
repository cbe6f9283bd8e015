//! Signals by name or number.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

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
/// use ocikit_runtime::Signal;
/// assert_eq!("SIGKILL".parse::<Signal>()?, "9".parse()?);
/// assert_eq!("term".parse::<Signal>()?.number(), 15);
/// # Ok::<(), ocikit_runtime::Error>(())
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

/// A signal from its number, 1 to 64 (Linux's range, real-time signals
/// included), as `libc::SIGTERM` or a number read from elsewhere.
///
/// ```
/// use ocikit_runtime::Signal;
/// assert_eq!(Signal::try_from(15)?, Signal::TERM);
/// let e = Signal::try_from(99).unwrap_err();
/// assert!(e.to_string().ends_with("found \"99\""));
/// # Ok::<(), ocikit_runtime::Error>(())
/// ```
impl TryFrom<i32> for Signal {
    type Error = Error;
    fn try_from(n: i32) -> Result<Self, Error> {
        if (1..=64).contains(&n) {
            Ok(Signal(n))
        } else {
            Err(Error::InvalidSignal {
                found: n.to_string(),
            })
        }
    }
}

impl From<Signal> for i32 {
    fn from(s: Signal) -> i32 {
        s.0
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
        assert_eq!(Signal::try_from(libc::SIGKILL).unwrap(), Signal::KILL);
        assert_eq!(i32::from(Signal::TERM), libc::SIGTERM);
        for n in [0, -9, 65, i32::MAX] {
            let e = Signal::try_from(n).unwrap_err();
            assert!(e.to_string().ends_with(&format!("found \"{n}\"")), "{e}");
        }
        for bad in ["", "0", "65", "NOPE", "SIG"] {
            let e = bad.parse::<Signal>().unwrap_err();
            assert!(e.to_string().contains("found"), "{e}");
        }
    }
}

/// The signals [`SignalRelay`] passes on: those a caller sends to stop or
/// poke a foreground program (runc relays every signal but SIGCHLD,
/// SIGWINCH and SIGURG).
pub const RELAYED: &[Signal] = &[
    Signal(libc::SIGHUP),
    Signal(libc::SIGINT),
    Signal(libc::SIGQUIT),
    Signal(libc::SIGTERM),
    Signal(libc::SIGUSR1),
    Signal(libc::SIGUSR2),
    Signal(libc::SIGALRM),
    Signal(libc::SIGTSTP),
];

/// Relays the signals in [`RELAYED`] that this process receives to one
/// process (a foreground container's, as `runc run` and `runc exec` do),
/// until dropped; then the previous dispositions come back.
///
/// The handler only calls kill(2), which is async-signal-safe, with the
/// target read from an atomic: no thread, no pipe. One relay at a time
/// per process.
pub struct SignalRelay {
    previous: Vec<(i32, libc::sigaction)>,
}

impl std::fmt::Debug for SignalRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalRelay")
            .field("to", &crate::sys::relay_target())
            .finish_non_exhaustive()
    }
}

impl SignalRelay {
    /// Starts relaying to `pid`.
    ///
    /// # Errors
    /// [`crate::error::Error::Sys`] if a handler cannot be installed (those
    /// installed before are restored).
    pub fn to(pid: u32) -> crate::error::Result<SignalRelay> {
        crate::sys::set_relay_target(pid as i32);
        let mut relay = SignalRelay {
            previous: Vec::with_capacity(RELAYED.len()),
        };
        for sig in RELAYED {
            match crate::sys::install_relay(sig.0) {
                Ok(old) => relay.previous.push((sig.0, old)),
                Err(e) => {
                    return Err(crate::error::Error::sys(
                        "relay signals",
                        &pid.to_string(),
                        e,
                    ))
                }
            }
        }
        Ok(relay)
    }
}

impl Drop for SignalRelay {
    fn drop(&mut self) {
        for (sig, old) in self.previous.drain(..) {
            crate::sys::restore_signal_handler(sig, &old);
        }
        crate::sys::set_relay_target(0);
    }
}

#[cfg(test)]
mod relay_tests {
    use super::*;

    #[test]
    fn relays_to_a_child_and_restores() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        {
            let _relay = SignalRelay::to(child.id()).unwrap();
            // Delivered to us, handled by relaying: this process survives.
            crate::sys::kill(std::process::id() as i32, libc::SIGUSR2).unwrap();
            let status = child.wait().unwrap();
            assert_eq!(
                std::os::unix::process::ExitStatusExt::signal(&status),
                Some(libc::SIGUSR2)
            );
        }
        // Restored: SIGUSR2's disposition is back to what it was.
        let old = crate::sys::install_relay(libc::SIGUSR2).unwrap();
        crate::sys::restore_signal_handler(libc::SIGUSR2, &old);
        assert_eq!(old.sa_sigaction, libc::SIG_DFL);
    }
}
