//! Standard output for the command line.
//!
//! `println!` panics when stdout is a pipe whose reader has gone
//! (`ocikit-runc list | head -1`), because Rust programs ignore SIGPIPE.
//! `outln!` ends the program quietly instead, with the status a shell
//! reports for a program killed by SIGPIPE (141).

use std::io::Write;

/// Writes `args` and a newline to stdout; see the module documentation.
pub(crate) fn line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: write to standard output: {e}");
        std::process::exit(1);
    }
}

/// `println!` that survives a closed pipe (see [`line()`]).
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
