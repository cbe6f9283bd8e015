//! A small skopeo: copy images between registries and image layouts.
//!
//! ```text
//! cargo run --example copy -- docker://127.0.0.1:5000/app:1 oci:/tmp/layout:app
//! cargo run --example copy -- oci:/tmp/layout:app docker://127.0.0.1:5000/app:2
//! cargo run --example copy -- docker://127.0.0.1:5000/a:1 docker://127.0.0.1:5000/b:1
//! ```
//!
//! Flags: `--insecure HOST` (plain HTTP to HOST; 127.0.0.1 and localhost are
//! always allowed), `--platform os/arch[/variant]` (one platform; default:
//! all), `--creds USER:PASSWORD`.

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
    transfer::main_with(std::env::args().skip(1).collect())
}
