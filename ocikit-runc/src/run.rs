//! `run`: like runc-run(8): create, start, and unless `--detach`, wait
//! for the container and exit with its status, then delete it. In the
//! foreground a `process.terminal` without `--console-socket` is proxied
//! to this program's stdio (see the `tty` module).

use ocikit_runtime::{DeleteMode, Runtime};

use crate::args::{flag, Args, Flag};
use crate::failure::Step;
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[
    flag("bundle", Some('b'), true),
    flag("console-socket", None, true),
    flag("detach", Some('d'), false),
    flag("keep", None, false),
    flag("pid-file", None, true),
    flag("no-subreaper", None, false),
    flag("no-pivot", None, false),
    flag("no-new-keyring", None, false),
    flag("preserve-fds", None, true),
];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("run")?;
    let options = crate::create::options(&a)?;
    let bundle = crate::create::bundle(&a);
    if a.has("detach") || a.has("keep") {
        rt.create(id, bundle, options)?;
        if let Err(e) = rt.start(id) {
            let _ = rt.delete(id, DeleteMode::Force);
            return Err(e.into());
        }
        if a.has("detach") {
            return Ok(0);
        }
        // --keep: wait, but leave the stopped container for `delete`.
        return Ok(rt.wait(id)?.code());
    }
    // Foreground: create, relay signals to the container, start, wait,
    // delete (Runtime::run without the gap where a signal would end us).
    // A terminal without --console-socket is ours to proxy, as runc.
    let mut options = options;
    let console = if a.value("console-socket").is_none() && crate::tty::wants_terminal(&bundle) {
        let c = crate::tty::ConsoleSocket::bind(id)?;
        options.console_socket(c.path());
        Some(c)
    } else {
        None
    };
    rt.create(id, bundle, options)?;
    let proxy = match console
        .as_ref()
        .map(|c| c.receive().and_then(crate::tty::Proxy::start))
    {
        Some(Err(e)) => {
            let _ = rt.delete(id, DeleteMode::Force);
            return Err(e);
        }
        Some(Ok(p)) => Some(p),
        None => None,
    };
    drop(console);
    let pid = rt.container(id)?.pid();
    let forwarder = match ocikit_runtime::SignalRelay::to(pid).step(|| "relay signals".into()) {
        Ok(f) => f,
        Err(e) => {
            let _ = rt.delete(id, DeleteMode::Force);
            return Err(e.into());
        }
    };
    if let Err(e) = rt.start(id) {
        let _ = rt.delete(id, DeleteMode::Force);
        return Err(e.into());
    }
    let status = rt.wait(id);
    drop(forwarder);
    rt.delete(id, DeleteMode::Force)?;
    if let Some(p) = proxy {
        p.finish();
    }
    Ok(status?.code())
}
