//! `ocikit-runc`: a runc-compatible command line over `ocikit-runtime`.
//!
//! ```text
//! ocikit-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug]
//!             [--systemd-cgroup] COMMAND [OPTIONS] [ARGS]
//! ocikit-runc --version
//! ```
//!
//! Commands follow the runc man pages of the same name: `create`, `start`,
//! `run`, `exec`, `state`, `pause`, `resume`, `ps`, `events`, `update`, `kill`, `delete`, `list`, `spec`, `features`
//! (`checkpoint` and `restore` answer that they are not supported). Run as
//! root; containers' state lives under `--root` (default `/run/ocikit`).
//!
//! The program re-executes itself as each container's init; the runtime
//! crate's pre-main hook turns that copy into the init before `main` runs.
#![forbid(unsafe_code)]

#[macro_use]
mod out;

mod args;
mod checkpoint;
mod create;
mod delete;
mod events;
mod exec;
mod failure;
mod features;
mod kill;
mod list;
mod log;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod tty;
mod update;

use args::{Args, Global};

const USAGE: &str =
    "usage: ocikit-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--version] \
COMMAND [OPTIONS] [ARGS]
commands: create, start, run, exec, state, pause, resume, ps, events, update, kill, delete, list, spec, features";

use failure::Failure;

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (global, rest) = match Global::parse(&argv) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("ocikit-runc: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if global.version {
        // runc's shape: engines (`podman info`) show the output as is.
        outln!(
            "ocikit-runc version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            ocikit_types::runtime::VERSION
        );
        std::process::exit(0);
    }
    let logger = log::Logger::new(&global);
    let code = match dispatch(&global, &rest) {
        Ok(code) => code,
        Err(e) => {
            logger.error(&e);
            1
        }
    };
    std::process::exit(code);
}

fn dispatch(global: &Global, argv: &[String]) -> Result<i32, Failure> {
    let Some((cmd, rest)) = argv.split_first() else {
        outln!("{USAGE}");
        return Ok(0);
    };
    if global.systemd_cgroup {
        return Err(
            "systemd cgroup is not supported (use cgroupfs paths in linux.cgroupsPath)".into(),
        );
    }
    let rt = ocikit_runtime::Runtime::new(&global.root);
    match cmd.as_str() {
        "create" => create::main(&rt, Args::parse(rest, create::FLAGS)?),
        "start" => start::main(&rt, Args::parse(rest, &[])?),
        "run" => run::main(&rt, Args::parse(rest, run::FLAGS)?),
        "state" => state::main(&rt, Args::parse(rest, &[])?),
        "pause" => pause::main(&rt, Args::parse(rest, &[])?),
        "events" => events::main(&rt, Args::parse(rest, events::FLAGS)?),
        "exec" => exec::main(&rt, Args::parse_leading(rest, exec::FLAGS)?),
        // As runc: arguments after the id are ps(1) options.
        "ps" => ps::main(&rt, Args::parse_leading(rest, ps::FLAGS)?),
        "resume" => resume::main(&rt, Args::parse(rest, &[])?),
        "update" => update::main(&rt, Args::parse(rest, update::FLAGS)?),
        "kill" => kill::main(&rt, Args::parse(rest, kill::FLAGS)?),
        "delete" => delete::main(&rt, Args::parse(rest, delete::FLAGS)?),
        "list" | "ps-list" => list::main(&rt, Args::parse(rest, list::FLAGS)?),
        "spec" => spec::main(Args::parse(rest, spec::FLAGS)?),
        "features" => features::main(Args::parse(rest, &[])?),
        "checkpoint" | "restore" => checkpoint::main(cmd),
        "help" | "--help" | "-h" => {
            outln!("{USAGE}");
            Ok(0)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}").into()),
    }
}
