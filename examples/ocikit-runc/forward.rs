//! Signal forwarding for the foreground commands (`run`, `exec` without
//! `--detach`): as runc does, signals the command receives go to the
//! container's process instead of ending the command, so `kill` of the
//! command (or Ctrl-C) reaches the container, which decides. The engine's
//! [`oci_runtime::SignalRelay`] does it with a handler that calls kill(2):
//! no thread.

pub(crate) use oci_runtime::SignalRelay as Forwarder;
