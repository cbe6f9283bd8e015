//! Pull an image from a registry into an image layout.
//!
//! ```text
//! cargo run --example pull -- 127.0.0.1:5000/app:1 /tmp/layout:app [--platform linux/amd64]
//! ```
//! The same as `copy docker://REFERENCE oci:DIR:TAG`; flags as for `copy`.

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
        "docker://",
        "oci:",
        "usage: pull [FLAGS] REFERENCE DIR[:TAG]",
    )
}
