//! create, start, state, kill, delete, run.

use std::time::{Duration, Instant};

use ocikit_runtime::{CreateOptions, DeleteMode, KillScope, Signal};
use ocikit_types::runtime::Status;

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("lifecycle::run_true_is_0", run_true_is_0),
    ("lifecycle::run_exit_code", run_exit_code),
    (
        "lifecycle::create_state_start_stop_delete",
        create_state_start_stop_delete,
    ),
    ("lifecycle::kill_sigkill", kill_sigkill),
    (
        "lifecycle::kill_all_and_force_delete",
        kill_all_and_force_delete,
    ),
    ("lifecycle::pid_file_and_list", pid_file_and_list),
    (
        "lifecycle::issue21_relative_state_root",
        issue21_relative_state_root,
    ),
];

fn run_true_is_0() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["/bin/true"]);
    assert_eq!(b.run("t-true").0, 0);
    assert!(b.rt.state("t-true").unwrap_err().is_not_found());
}

fn run_exit_code() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "echo hi; exit 7"]);
    let (code, out) = b.run("t-exit7");
    assert_eq!((code, out.as_str()), (7, "hi\n"));
}

fn wait_for(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn create_state_start_stop_delete() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "read x; echo got $x"]);
    b.write();
    let (r, w) = std::os::unix::net::UnixStream::pair().unwrap();
    let (mut o, out) = b.capture();
    o.stdin(r);
    let c = b.rt.create("t-life", b.path(), o).unwrap();
    let st = b.rt.state("t-life").unwrap();
    assert_eq!(st.status, Status::Created);
    assert_eq!(st.pid, Some(c.pid()));
    assert!(c.pid() > 0);
    assert_eq!(
        st.bundle,
        b.path().canonicalize().unwrap().display().to_string()
    );
    for key in ["rootfs", "created", "owner"] {
        assert!(st.extra.contains_key(key), "{key}");
    }
    b.rt.start("t-life").unwrap();
    assert_eq!(b.rt.state("t-life").unwrap().status, Status::Running);
    // A second start is refused.
    let e = b.rt.start("t-life").unwrap_err();
    assert!(
        e.to_string()
            .contains("expected status created, found running"),
        "{e}"
    );
    // Running: delete without force is refused.
    assert!(b.rt.delete("t-life", DeleteMode::Stopped).is_err());
    use std::io::Write;
    (&w).write_all(b"x1\n").unwrap();
    w.shutdown(std::net::Shutdown::Write).unwrap();
    drop(w);
    let status = b.rt.wait("t-life").unwrap();
    assert_eq!(status.code(), 0);
    assert_eq!(b.rt.state("t-life").unwrap().status, Status::Stopped);
    assert_eq!(b.rt.state("t-life").unwrap().pid, Some(0));
    let e =
        b.rt.kill("t-life", Signal::KILL, KillScope::Init)
            .unwrap_err();
    assert!(e.to_string().contains("container not running"), "{e}");
    b.rt.delete("t-life", DeleteMode::Stopped).unwrap();
    assert!(b
        .rt
        .state("t-life")
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
    assert!(!b.path().join("state/t-life").exists());
    assert_eq!(std::fs::read_to_string(out).unwrap(), "got x1\n");
    assert!(cgroup_file("t-life", "pids", "").is_none());
}

fn kill_sigkill() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sleep", "100"]);
    b.write();
    b.rt.create("t-kill", b.path(), CreateOptions::new())
        .unwrap();
    // A created container can be killed too; start it first here.
    b.rt.start("t-kill").unwrap();
    b.rt.kill("t-kill", "KILL".parse().unwrap(), KillScope::Init)
        .unwrap();
    let st = b.rt.wait("t-kill").unwrap();
    assert_eq!(st.code(), 128 + 9);
    wait_for(|| b.rt.state("t-kill").unwrap().status == Status::Stopped);
    b.rt.delete("t-kill", DeleteMode::Stopped).unwrap();
}

fn kill_all_and_force_delete() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "sleep 100 & sleep 100 & wait"]);
    b.write();
    b.rt.create("t-killall", b.path(), CreateOptions::new())
        .unwrap();
    b.rt.start("t-killall").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let procs = cgroup_file("t-killall", "pids", "cgroup.procs").expect("container cgroup");
    wait_for(|| std::fs::read_to_string(&procs).unwrap().lines().count() == 3);
    b.rt.kill("t-killall", Signal::KILL, KillScope::All)
        .unwrap();
    wait_for(|| {
        std::fs::read_to_string(&procs)
            .map(|s| s.trim().is_empty())
            .unwrap_or(true)
    });
    // The cgroup empties before the init's parent has reaped it: until
    // then the container still reads as running.
    wait_for(|| b.rt.state("t-killall").unwrap().status == Status::Stopped);
    b.rt.delete("t-killall", DeleteMode::Stopped).unwrap();

    // --force on a running one.
    b.rt.create("t-force", b.path(), CreateOptions::new())
        .unwrap();
    b.rt.start("t-force").unwrap();
    let e = b.rt.delete("t-force", DeleteMode::Stopped).unwrap_err();
    assert!(
        e.to_string()
            .contains("expected status stopped, found running"),
        "{e}"
    );
    b.rt.delete("t-force", DeleteMode::Force).unwrap();
    assert!(b.rt.state("t-force").unwrap_err().is_not_found());
    assert!(cgroup_file("t-force", "pids", "").is_none());
}

fn pid_file_and_list() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sleep", "100"]);
    b.write();
    let pid_file = b.path().join("pid");
    let mut o = CreateOptions::new();
    o.pid_file(&pid_file);
    let c = b.rt.create("t-pidfile", b.path(), o).unwrap();
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap(),
        c.pid().to_string()
    );
    b.rt.create("t-pidfile2", b.path(), CreateOptions::new())
        .unwrap();
    let ids: Vec<_> =
        b.rt.list()
            .unwrap()
            .into_iter()
            .map(|s| (s.id, s.status))
            .collect();
    assert_eq!(
        ids,
        [
            ("t-pidfile".into(), Status::Created),
            ("t-pidfile2".into(), Status::Created)
        ]
    );
    // runtime.md: deleting a container that is not stopped MUST fail; it
    // is left as it was. runc's leniency is a mode of its own.
    let e = b.rt.delete("t-pidfile", DeleteMode::Stopped).unwrap_err();
    assert!(e.to_string().contains("expected status stopped"), "{e}");
    assert_eq!(b.rt.state("t-pidfile").unwrap().status, Status::Created);
    b.rt.delete("t-pidfile", DeleteMode::StoppedOrCreated)
        .unwrap();
    assert!(b.rt.state("t-pidfile").unwrap_err().is_not_found());
    b.rt.delete("t-pidfile2", DeleteMode::Force).unwrap();
    assert!(b.rt.list().unwrap().is_empty());
}

/// Issue 21: `Runtime::new("state")`, relative to the current directory,
/// works through a whole lifecycle (the init, which runs in `/`, used to
/// look for the state directory there), and keeps naming the same
/// directory after the program changes directory.
fn issue21_relative_state_root() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["sh", "-c", "echo relative"]);
    b.write();
    let before = std::env::current_dir().unwrap();
    std::env::set_current_dir(b.path()).unwrap();
    let rt = ocikit_runtime::Runtime::new("state");
    std::env::set_current_dir(&before).unwrap();
    assert_eq!(rt.root(), b.path().join("state"));
    let (o, out) = b.capture();
    rt.create("t-relative", b.path(), o).unwrap();
    assert!(b.path().join("state/t-relative").is_dir());
    assert_eq!(rt.state("t-relative").unwrap().status, Status::Created);
    rt.start("t-relative").unwrap();
    assert_eq!(rt.wait("t-relative").unwrap().code(), 0);
    rt.delete("t-relative", DeleteMode::Stopped).unwrap();
    assert_eq!(std::fs::read_to_string(out).unwrap(), "relative\n");
}
