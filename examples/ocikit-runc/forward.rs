//! Signal forwarding for the foreground commands (`run`, `exec` without
//! `--detach`): as runc does, signals the command receives go to the
//! container's process instead of ending the command, so `kill` of the
//! command (or Ctrl-C) reaches the container, which decides.

use signal_hook::consts::signal::{
    SIGALRM, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGUSR1, SIGUSR2,
};
use signal_hook::iterator::{Handle, Signals};

/// The signals relayed (runc relays all but SIGCHLD, SIGWINCH and SIGURG;
/// these are the ones a program can catch and a caller sends).
const FORWARDED: &[i32] = &[
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP,
];

/// Relays signals to `pid` until dropped.
pub(crate) struct Forwarder {
    handle: Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Forwarder {
    pub(crate) fn to(pid: u32) -> std::io::Result<Forwarder> {
        let mut signals = Signals::new(FORWARDED)?;
        let handle = signals.handle();
        let thread = std::thread::spawn(move || {
            for sig in signals.forever() {
                if let (Some(sig), Some(pid)) = (
                    rustix::process::Signal::from_named_raw(sig),
                    rustix::process::Pid::from_raw(pid as i32),
                ) {
                    let _ = rustix::process::kill_process(pid, sig);
                }
            }
        });
        Ok(Forwarder {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
