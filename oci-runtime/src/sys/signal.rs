//! Signals: kill(2), signal dispositions, and the handler that relays
//! signals to a foreground container.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

use super::check;

/// kill(2).
pub(crate) fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes only integers.
    check(unsafe { libc::kill(pid, signal) })
}

/// Installs `handler` for `sig` (SA_RESTART, nothing blocked); returns
/// the previous disposition.
fn set_signal_handler(
    sig: i32,
    handler: extern "C" fn(libc::c_int),
) -> io::Result<libc::sigaction> {
    // SAFETY: zeroed sigaction is a valid "default, empty mask" value.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handler as usize;
    new.sa_flags = libc::SA_RESTART;
    // SAFETY: zeroed sigaction is valid; sigaction writes the old one.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live sigaction values; the handler
    // only calls async-signal-safe functions (see `relay_handler`).
    check(unsafe { libc::sigaction(sig, &new, &mut old) })?;
    Ok(old)
}

/// Puts back a disposition [`set_signal_handler`] returned.
pub(crate) fn restore_signal_handler(sig: i32, old: &libc::sigaction) {
    // SAFETY: `old` came from sigaction(2) for this signal.
    unsafe { libc::sigaction(sig, old, std::ptr::null_mut()) };
}

/// The pid signals are relayed to; 0 when none.
static RELAY_TO: AtomicI32 = AtomicI32::new(0);

extern "C" fn relay_handler(sig: libc::c_int) {
    let pid = RELAY_TO.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe and takes only integers.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Sets the pid the relay handler passes signals to (0: none).
pub(crate) fn set_relay_target(pid: i32) {
    RELAY_TO.store(pid, Ordering::Relaxed);
}

/// The pid the relay handler passes signals to (0: none).
pub(crate) fn relay_target() -> i32 {
    RELAY_TO.load(Ordering::Relaxed)
}

/// Installs the relay handler for `sig`: it only calls kill(2), which is
/// async-signal-safe, on the pid of [`set_relay_target`]. Returns the
/// previous disposition, for [`restore_signal_handler`].
pub(crate) fn install_relay(sig: i32) -> io::Result<libc::sigaction> {
    set_signal_handler(sig, relay_handler)
}
