//! Signals: kill(2) and signal dispositions.

use std::io;

use super::check;

/// kill(2).
pub(crate) fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill takes only integers.
    check(unsafe { libc::kill(pid, signal) })
}

/// Installs `handler` for `sig` (SA_RESTART, nothing blocked); returns
/// the previous disposition.
pub(crate) fn set_signal_handler(
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
    // only calls async-signal-safe functions (see signal.rs).
    check(unsafe { libc::sigaction(sig, &new, &mut old) })?;
    Ok(old)
}

/// Puts back a disposition [`set_signal_handler`] returned.
pub(crate) fn restore_signal_handler(sig: i32, old: &libc::sigaction) {
    // SAFETY: `old` came from sigaction(2) for this signal.
    unsafe { libc::sigaction(sig, old, std::ptr::null_mut()) };
}
