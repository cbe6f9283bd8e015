//! What a subcommand fails with, and how `main` prints it: each layer of
//! the error chain once, one line per cause.

use std::error::Error;
use std::fmt;

/// What a subcommand failed with; printed and logged by `main`.
pub(crate) type Failure = Box<dyn Error>;

/// A step of a subcommand (`read process file p.json`) and why it failed.
/// Display is the step only; the cause is [`Error::source`].
#[derive(Debug)]
pub(crate) struct StepFailed {
    step: String,
    cause: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for StepFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.step)
    }
}

impl Error for StepFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

/// `.step(|| "what was being done")?` for a foreign error.
pub(crate) trait Step<T> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, StepFailed>;
}

impl<T, E: Into<Box<dyn Error + Send + Sync>>> Step<T> for Result<T, E> {
    fn step(self, what: impl FnOnce() -> String) -> Result<T, StepFailed> {
        self.map_err(|e| StepFailed {
            step: what(),
            cause: e.into(),
        })
    }
}

/// Each layer's message, outermost first.
pub(crate) fn chain(e: &dyn Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

/// The chain as `main` prints it on stderr:
/// `ocikit-runc: X` then `  caused by: Y` for each cause.
pub(crate) fn lines(e: &dyn Error) -> String {
    let mut out = String::new();
    for (i, layer) in chain(e).iter().enumerate() {
        if i == 0 {
            out.push_str("ocikit-runc: ");
        } else {
            out.push_str("\n  caused by: ");
        }
        out.push_str(layer);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_printed_once_on_its_own_line() {
        let enoent = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = enoent.to_string();
        let e: Failure = Box::new(
            Err::<(), _>(enoent)
                .step(|| "read process file p.json".into())
                .unwrap_err(),
        );
        assert_eq!(
            lines(&*e),
            format!("ocikit-runc: read process file p.json\n  caused by: {text}")
        );

        // An engine error keeps its cause out of its own message.
        let e: Failure = Box::new(ocikit_runtime::Error::Hook {
            hook: "createRuntime",
            path: "/bin/false".into(),
            failure: ocikit_runtime::HookFailure::Exit(1),
        });
        assert_eq!(
            lines(&*e),
            "ocikit-runc: createRuntime hook /bin/false\n  caused by: expected exit code 0, found 1"
        );
    }
}
