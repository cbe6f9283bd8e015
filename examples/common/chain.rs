//! Errors as their chain: each layer's message once, outermost first, one
//! line per cause, the way ocikit's errors are meant to be read (each
//! layer says what failed and where; its cause is its `source()`).
//!
//! ```text
//! error: pull 127.0.0.1:5000/busybox:latest
//!   caused by: giving up on http://127.0.0.1:5000/v2/ after 6 attempts
//!   caused by: request to http://127.0.0.1:5000/v2/ failed
//!   caused by: Connection refused (os error 111)
//! ```

use std::error::Error;

/// The chain as text: the error, then `  caused by: ` and each cause on a
/// line of its own.
pub(crate) fn lines(e: &dyn Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str("\n  caused by: ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Prints the chain on stderr, after `error: `.
#[allow(dead_code)] // `validate` prints causes inside its report instead.
pub(crate) fn print(e: &dyn Error) {
    eprintln!("error: {}", lines(e));
}
