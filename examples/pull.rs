//! Pull an image from a registry into an image layout.
//!
//! ```text
//! cargo run --example pull -- 127.0.0.1:5000/app:1 /tmp/layout:app [--platform linux/amd64]
//! ```
//! The same as `copy docker://REFERENCE oci:DIR:TAG`; flags as for `copy`.

use std::process::ExitCode;

#[path = "common/transfer.rs"]
mod transfer;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")));
    let (Some((src, _)), Some((dst, _))) = (positional.next(), positional.next()) else {
        eprintln!("usage: pull [FLAGS] REFERENCE DIR[:TAG]");
        return ExitCode::FAILURE;
    };
    args[src] = format!("docker://{}", args[src]);
    args[dst] = format!("oci:{}", args[dst]);
    transfer::main_with(args)
}
