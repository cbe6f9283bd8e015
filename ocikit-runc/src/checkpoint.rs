//! `checkpoint` and `restore`: runc implements them with CRIU; this
//! runtime does not, and says so (as `features` does, with runc's
//! `org.opencontainers.runc.checkpoint.enabled` annotation set to
//! `false`) instead of failing on an unknown command.

use crate::Failure;

/// Refuses `checkpoint` or `restore` (`cmd`), whatever the arguments.
pub(crate) fn main(cmd: &str) -> Result<i32, Failure> {
    Err(
        format!("{cmd} is not supported: ocikit-runc does not implement checkpoint/restore (CRIU)")
            .into(),
    )
}
