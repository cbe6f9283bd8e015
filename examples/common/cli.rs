//! Shared by the async examples: run a future on a multi-threaded runtime
//! and turn its outcome into an exit code (errors printed as their chain,
//! see `chain.rs`, which an example including this file includes too).

use std::future::Future;
use std::process::ExitCode;

/// Runs `fut` to completion, printing its error, if any, on stderr.
pub(crate) fn block_on_main<F>(fut: F) -> ExitCode
where
    F: Future<Output = Result<(), Box<dyn std::error::Error>>>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::chain::print(&e);
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::chain::print(&*e);
            ExitCode::FAILURE
        }
    }
}
