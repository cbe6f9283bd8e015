//! `kill`: like runc-kill(8); the signal defaults to SIGTERM.

use ocikit_runtime::{KillScope, Runtime, Signal};

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[flag("all", Some('a'), false)];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("kill")?;
    let signal = match a.positional.get(1) {
        Some(s) => s.parse()?,
        None => Signal::TERM,
    };
    let scope = if a.has("all") {
        KillScope::All
    } else {
        KillScope::Init
    };
    rt.kill(id, signal, scope)?;
    Ok(0)
}
