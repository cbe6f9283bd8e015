//! Running lifecycle hooks: the state on stdin, the hook's own args and
//! env, killed after its timeout.

use std::io::Write;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ocikit_types::runtime::Hook;

use crate::error::Error;
use crate::error::HookFailure;

fn env_pairs(env: &[String]) -> impl Iterator<Item = (&str, &str)> {
    env.iter()
        .map(|e| e.split_once('=').unwrap_or((e.as_str(), "")))
}

/// Runs one hook to completion.
pub(crate) fn run(list: &'static str, hook: &Hook, state: &[u8]) -> Result<(), Error> {
    let fail = |failure| Error::Hook {
        hook: list,
        path: PathBuf::from(&hook.path),
        failure,
    };
    let mut cmd = Command::new(&hook.path);
    if let Some((arg0, rest)) = hook.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear()
        .envs(env_pairs(&hook.env))
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| fail(HookFailure::Spawn(e)))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state);
    }
    let timeout = hook
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t.unsigned_abs()));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(fail(HookFailure::Spawn(e))),
        }
        if let Some(t) = timeout {
            if start.elapsed() >= t {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(HookFailure::Timeout(t)));
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(c), _) => Err(fail(HookFailure::Exit(c))),
        (None, Some(s)) => Err(fail(HookFailure::Signal(s))),
        (None, None) => Err(fail(HookFailure::Exit(-1))),
    }
}

/// Runs hooks in order, stopping at the first failure.
pub(crate) fn run_all(list: &'static str, hooks: &[Hook], state: &[u8]) -> Result<(), Error> {
    for h in hooks {
        tracing::debug!(hook = list, path = %h.path, "running hook");
        run(list, h, state)?;
    }
    Ok(())
}

/// Runs every hook, logging failures (poststart, poststop).
pub(crate) fn run_logged(list: &'static str, hooks: &[Hook], state: &[u8]) {
    for h in hooks {
        if let Err(e) = run(list, h, state) {
            tracing::warn!(error = &e as &dyn std::error::Error, "hook failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(args: &[&str], timeout: Option<i64>) -> Hook {
        let mut h = Hook::default();
        h.path = "/bin/sh".into();
        h.args = args.iter().map(|s| s.to_string()).collect();
        h.env = vec!["X=1".into()];
        h.timeout = timeout;
        h
    }

    #[test]
    fn state_on_stdin_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let script = format!("cat > {} && test \"$X\" = 1", out.display());
        run_all(
            "poststart",
            &[hook(&["sh", "-c", &script], None)],
            b"{\"id\":\"c\"}",
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(out).unwrap(), "{\"id\":\"c\"}");
    }

    #[test]
    fn failures() {
        // Each layer once: the hook, how it failed, the OS error.
        fn chain(e: &dyn std::error::Error) -> Vec<String> {
            let mut out = vec![e.to_string()];
            let mut cause = e.source();
            while let Some(c) = cause {
                out.push(c.to_string());
                cause = c.source();
            }
            out
        }
        let e = run("prestart", &hook(&["sh", "-c", "exit 3"], None), b"").unwrap_err();
        assert_eq!(
            chain(&e),
            ["prestart hook /bin/sh", "expected exit code 0, found 3"]
        );
        let e = run(
            "createRuntime",
            &hook(&["sh", "-c", "sleep 5"], Some(1)),
            b"",
        )
        .unwrap_err();
        assert_eq!(chain(&e)[1], "timed out after 1s", "{e}");
        let mut h = hook(&[], None);
        h.path = "/nonexistent/hook".into();
        let e = run("poststop", &h, b"").unwrap_err();
        let chain = chain(&e);
        assert_eq!(
            chain[..2],
            ["poststop hook /nonexistent/hook", "could not start"]
        );
        assert_eq!(
            chain[2],
            std::io::Error::from_raw_os_error(libc::ENOENT).to_string()
        );
    }
}
