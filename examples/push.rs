//! Push an image from an image layout to a registry.
//!
//! ```text
//! cargo run --example push -- /tmp/layout:app 127.0.0.1:5000/app:1
//! ```
//! The same as `copy oci:DIR:TAG docker://REFERENCE`; flags as for `copy`.

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
        eprintln!("usage: push [FLAGS] DIR[:TAG] REFERENCE");
        return ExitCode::FAILURE;
    };
    args[src] = format!("oci:{}", args[src]);
    args[dst] = format!("docker://{}", args[dst]);
    transfer::main_with(args)
}
