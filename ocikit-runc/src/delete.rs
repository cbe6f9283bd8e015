//! `delete`: like runc-delete(8); `--force` kills a running container and
//! ignores a missing one.
//!
//! Without `--force` a `created` container is deleted too, as runc does,
//! although the runtime spec says that MUST fail: containerd's runc shim
//! deletes a task it created but never started without `--force`.

use ocikit_runtime::{DeleteMode, Runtime};

use crate::args::{flag, Args, Flag};
use crate::Failure;

pub(crate) const FLAGS: &[Flag] = &[flag("force", Some('f'), false)];

pub(crate) fn main(rt: &Runtime, a: Args) -> Result<i32, Failure> {
    let id = a.id("delete")?;
    let mode = if a.has("force") {
        DeleteMode::Force
    } else {
        DeleteMode::StoppedOrCreated
    };
    match rt.delete(id, mode) {
        Err(e) if e.is_not_found() && mode == DeleteMode::Force => Ok(0),
        r => r.map(|()| 0).map_err(Into::into),
    }
}
