//! Push an image from an image layout to a registry.
//!
//! ```text
//! cargo run --example push -- /tmp/layout:app 127.0.0.1:5000/app:1
//! ```
//! The same as `copy oci:DIR:TAG docker://REFERENCE`; flags as for `copy`.

#[macro_use]
#[path = "common/out.rs"]
mod out;

use std::process::ExitCode;

#[path = "common/chain.rs"]
mod chain;
#[path = "common/cli.rs"]
mod cli;
#[path = "common/transfer.rs"]
mod transfer;

fn main() -> ExitCode {
    transfer::main_prefixed(
        "oci:",
        "docker://",
        "usage: push [FLAGS] DIR[:TAG] REFERENCE",
    )
}
