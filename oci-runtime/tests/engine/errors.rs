//! Failures: duplicate ids, missing containers, bad configs, failing
//! hooks; nothing is left behind.

use ocikit_runtime::{CreateOptions, DeleteMode, KillScope, Signal};
use ocikit_types::runtime::{Hook, Hooks};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("errors::duplicate_create", duplicate_create),
    ("errors::missing_container", missing_container),
    ("errors::bad_program_and_cwd", bad_program_and_cwd),
    ("errors::hooks", hooks),
    (
        "errors::init_program_that_cannot_start",
        init_program_that_cannot_start,
    ),
];

/// An init program the kernel will not execute: create fails with the
/// exec's error and leaves no container or cgroup behind.
fn init_program_that_cannot_start() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["true"]);
    b.write();
    let not_executable = b.path().join("config.json");
    b.rt.set_init_program(&not_executable);
    let e =
        b.rt.create("t-noinit", b.path(), CreateOptions::new())
            .unwrap_err();
    let source = std::error::Error::source(&e).map(|s| s.to_string());
    assert!(e.to_string().contains("start container init"), "{e}");
    assert_eq!(source.as_deref(), Some("Permission denied (os error 13)"));
    assert!(b.rt.list().unwrap().is_empty());
    assert!(cgroup_file("t-noinit", "pids", "cgroup.procs").is_none());
}

fn duplicate_create() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sleep", "10"]);
    b.write();
    b.rt.create("t-dup", b.path(), CreateOptions::new())
        .unwrap();
    let e =
        b.rt.create("t-dup", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(e.is_already_exists());
    assert_eq!(e.to_string(), "container with id exists: t-dup");
    b.rt.delete("t-dup", DeleteMode::Force).unwrap();
}

fn missing_container() {
    let rt = ocikit_runtime::Runtime::new(tempfile::tempdir().unwrap().path());
    let e = rt.state("nope").unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(rt.start("nope").unwrap_err().is_not_found());
    assert!(rt
        .kill("nope", Signal::KILL, KillScope::Init)
        .unwrap_err()
        .is_not_found());
    assert!(rt
        .delete("nope", DeleteMode::Force)
        .unwrap_err()
        .is_not_found());
    assert!(rt
        .state("../x")
        .unwrap_err()
        .to_string()
        .contains("invalid container id"));
    assert!(rt.list().unwrap().is_empty());
}

fn bad_program_and_cwd() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["no-such-program"]);
    b.write();
    let e =
        b.rt.create("t-noprog", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        e.to_string().contains("executable file not found in $PATH"),
        "{e}"
    );
    // The init's failure arrives typed, not as a string alone.
    assert!(
        matches!(
            e,
            ocikit_runtime::Error::InitFailed {
                kind: ocikit_runtime::InitFailureKind::ProgramNotFound,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(b.rt.state("t-noprog").unwrap_err().is_not_found());
    assert!(cgroup_file("t-noprog", "pids", "").is_none());

    let mut b = Bundle::new(&["true"]);
    b.spec.process.as_mut().unwrap().cwd = "/nonexistent".into();
    b.write();
    let e =
        b.rt.create("t-nocwd", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("chdir to cwd /nonexistent"), "{e}");
    assert!(
        matches!(
            e,
            ocikit_runtime::Error::InitFailed {
                kind: ocikit_runtime::InitFailureKind::System,
                ..
            }
        ),
        "{e:?}"
    );
}

fn hook(script: &str) -> Hook {
    let mut h = Hook::default();
    h.path = "/bin/sh".into();
    h.args = vec!["sh".into(), "-c".into(), script.into()];
    h
}

fn hooks() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["true"]);
    let log = b.path().join("hooks.log");
    let l = log.display();
    let mut hooks = Hooks::default();
    hooks.create_runtime = vec![hook(&format!(
        "grep -q '\"status\":\"created\"' && echo createRuntime >> {l}"
    ))];
    hooks.create_container = vec![hook(&format!("echo createContainer >> {l}"))];
    hooks.poststart = vec![hook(&format!("echo poststart >> {l}"))];
    hooks.poststop = vec![hook(&format!(
        "grep -q '\"id\":\"t-hooks\"' && echo poststop >> {l}"
    ))];
    b.spec.hooks = Some(hooks);
    let (code, _) = b.run("t-hooks");
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "createRuntime\ncreateContainer\npoststart\npoststop\n"
    );

    // A failing createRuntime hook aborts create and leaves nothing.
    let mut hooks = Hooks::default();
    hooks.create_runtime = vec![hook("exit 3")];
    b.spec.hooks = Some(hooks);
    b.write();
    let e =
        b.rt.create("t-hookfail", b.path(), CreateOptions::new())
            .unwrap_err();
    // The hook, then how it failed (issue 21: each cause once).
    assert_eq!(
        testkit::errors::assert_each_cause_once(&e, 2),
        [
            "createRuntime hook /bin/sh",
            "expected exit code 0, found 3"
        ]
    );
    assert!(b.rt.state("t-hookfail").unwrap_err().is_not_found());

    // prestart runs too; a failing startContainer hook (run inside the
    // container, so /bin/sh is the busybox one) fails start.
    let mut hooks = Hooks::default();
    hooks.prestart = vec![hook(&format!("echo prestart >> {l}"))];
    hooks.start_container = vec![hook("echo from-start-hook; exit 4")];
    b.spec.hooks = Some(hooks);
    b.write();
    std::fs::remove_file(&log).unwrap();
    b.rt.create("t-starthook", b.path(), CreateOptions::new())
        .unwrap();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "prestart\n");
    let e = b.rt.start("t-starthook").unwrap_err();
    assert!(
        e.to_string()
            .contains("startContainer hook /bin/sh: expected exit code 0, found 4"),
        "{e}"
    );
    b.rt.delete("t-starthook", DeleteMode::Force).unwrap();
}
