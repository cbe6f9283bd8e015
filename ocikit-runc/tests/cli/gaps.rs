//! Issue 20, what a runc user meets on day one: `run` with a terminal and
//! no console socket, a relative `--root`, `checkpoint`/`restore`
//! answered as unsupported.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

const ROOT_ONLY: &[&str] = &["/usr/bin/busybox"];

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    issue20_run_with_a_terminal_proxies_it_to_stdio,
    issue20_relative_root_works,
    issue20_checkpoint_and_restore_are_not_supported,
];

fn issue20_run_with_a_terminal_proxies_it_to_stdio() {
    let test = "issue20_run_with_a_terminal_proxies_it_to_stdio";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "read x; tty; test -t 1 && echo \"got $x on a tty\"; exit 3",
        ],
    );
    b.config["process"]["terminal"] = true.into();
    let (id, _guard) = b.write_for(test);
    let mut child = b
        .runc
        .cmd(&["run", "--bundle", b.bundle_arg(), &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let pid = child.id();
    // A hung proxy must fail the test, not hang it.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let waited = finished.recv_timeout(Duration::from_secs(60));
        if waited == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(done);
    watchdog.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stdout.contains("/dev/pts/"), "{stdout:?}");
    assert!(stdout.contains("got abc on a tty"), "{stdout:?}");
    let err = b.runc.fails(&["state", &id]);
    assert!(err.contains("does not exist"), "{err}");
    // The console socket's private directory is gone.
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("ocikit-runc-{pid}-"))
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `--root state`, relative to the caller's directory, through a whole
/// lifecycle.
fn issue20_relative_root_works() {
    let test = "issue20_relative_root_works";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sh", "-c", "echo relative > /out/r"]);
    let (id, _guard) = b.write_for(test);
    let runc = |args: &[&str]| {
        // Not piped: the container's init would hold a pipe open.
        let status = Command::new(binary())
            .current_dir(b.path())
            .args(["--root", "state"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(b.logs().join("stderr")).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "{args:?}: {}",
            std::fs::read_to_string(b.logs().join("stderr")).unwrap_or_default()
        );
    };
    runc(&["create", "--bundle", ".", &id]);
    assert!(b.path().join("state").join(&id).is_dir());
    assert_eq!(b.runc.status(&id), "created");
    runc(&["start", &id]);
    b.wait_out("r", |s| s == "relative\n");
    b.runc.wait_status(&id, "stopped");
    runc(&["delete", &id]);
    assert!(!b.path().join("state").join(&id).exists());
}

fn issue20_checkpoint_and_restore_are_not_supported() {
    for cmd in ["checkpoint", "restore"] {
        let out = Command::new(binary())
            .args([cmd, "some-id"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{cmd} is not supported")), "{err}");
    }
    let out = Command::new(binary()).arg("features").output().unwrap();
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        f["annotations"]["org.opencontainers.runc.checkpoint.enabled"], "false",
        "{f}"
    );
}
