//! `exec` into running containers.

use std::io::Read;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use ocikit_runtime::{CreateOptions, DeleteMode, ExecOptions, KillScope, RootEntry, Signal};
use ocikit_types::runtime::{
    Capabilities, Capability, Process, Seccomp, SeccompAction, Syscall, User,
};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "exec::joins_namespaces_root_and_cgroup",
        joins_namespaces_root_and_cgroup,
    ),
    ("exec::exit_code_and_env_cwd", exit_code_and_env_cwd),
    ("exec::user_and_capabilities", user_and_capabilities),
    ("exec::seccomp_applies_to_exec", seccomp_applies_to_exec),
    ("exec::no_pivot_container", no_pivot_container),
    (
        "exec::terminal_over_console_socket",
        terminal_over_console_socket,
    ),
    ("exec::refusals", refusals),
    ("exec::pid_file_and_detached", pid_file_and_detached),
    (
        "exec::lsm_labels_skipped_without_the_module",
        lsm_labels_skipped_without_the_module,
    ),
];

/// A started `sleep` container named `id` with hostname `ctr`.
fn sleeper(id: &str, edit: impl FnOnce(&mut Bundle)) -> Bundle {
    let mut b = Bundle::new(&["sleep", "1000"]);
    b.spec.hostname = "ctr".into();
    std::fs::write(b.path().join("rootfs/etc/marker"), "inside\n").unwrap();
    edit(&mut b);
    b.write();
    b.rt.create(id, b.path(), CreateOptions::new())
        .unwrap_or_else(|e| panic!("create {id}: {e}"));
    b.rt.start(id).unwrap();
    b
}

fn process(args: &[&str]) -> Process {
    let mut p = Process::new("/");
    p.args = args.iter().map(|s| s.to_string()).collect();
    p.env = vec!["PATH=/bin".into()];
    p
}

/// Runs `p` in container `id`, returning its exit code and output.
fn exec(b: &Bundle, id: &str, p: &Process) -> (i32, String) {
    let out = b.path().join(format!("exec-out-{}", std::process::id()));
    let f = std::fs::File::create(&out).unwrap();
    let mut o = ExecOptions::new();
    o.stdout(f.try_clone().unwrap()).stderr(f);
    let child =
        b.rt.exec(id, p, o)
            .unwrap_or_else(|e| panic!("exec in {id}: {e} ({e:?})"));
    let code = child.wait().unwrap().code();
    (code, std::fs::read_to_string(out).unwrap())
}

fn joins_namespaces_root_and_cgroup() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-ns";
    let b = sleeper(id, |_| {});
    let init = b.rt.state(id).unwrap().pid.unwrap();
    let (code, out) = exec(
        &b,
        id,
        &process(&[
            "sh",
            "-c",
            "hostname; echo pid=$$; cat /etc/marker; ls /proc | grep -c '^[0-9]'",
        ]),
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ctr", "{out}");
    // In the container's pid namespace: the init is 1, we are a small pid.
    let pid: u32 = lines[1].trim_start_matches("pid=").parse().unwrap();
    assert!(pid > 1 && pid < 100, "{out}");
    assert_eq!(lines[2], "inside", "{out}");
    // Its /proc shows only the container's processes (sleep, sh, ls, grep).
    let n: u32 = lines[3].parse().unwrap();
    assert!(n <= 5, "{out}");
    // The same namespaces as the init, seen from the host.
    for ns in ["mnt", "pid", "uts", "ipc", "net"] {
        let link = |pid: String| std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        let mine = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        assert_ne!(link(init.to_string()), mine, "{ns}");
    }
    // A long-running exec is in the container's cgroup.
    let mut o = ExecOptions::new();
    o.stdout(std::fs::File::create("/dev/null").unwrap());
    let child = b.rt.exec(id, &process(&["sleep", "1000"]), o).unwrap();
    let ns_of = |pid: u32, ns: &str| std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
    for ns in ["mnt", "pid", "uts", "ipc", "net", "cgroup"] {
        assert_eq!(ns_of(child.pid(), ns), ns_of(init, ns), "{ns}");
    }
    assert!(
        b.rt.ps(id).unwrap().contains(&child.pid()),
        "exec pid {} not in the container's cgroup",
        child.pid()
    );
    // Killing the container (--all) takes the exec process too.
    b.rt.kill(id, Signal::KILL, KillScope::All).unwrap();
    assert_eq!(child.wait().unwrap().code(), 137);
    b.rt.delete(id, DeleteMode::Force).unwrap();
}

fn exit_code_and_env_cwd() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-env";
    let b = sleeper(id, |_| {});
    let mut p = process(&["sh", "-c", "pwd; echo $FOO; exit 7"]);
    p.env.push("FOO=bar baz".into());
    p.cwd = "/etc".into();
    let (code, out) = exec(&b, id, &p);
    assert_eq!(code, 7, "{out}");
    assert_eq!(out, "/etc\nbar baz\n");
    // A missing program fails exec itself, with runc's words.
    let e =
        b.rt.exec(id, &process(&["nope"]), ExecOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("executable file not found"), "{e}");
    // A cwd that does not exist.
    let mut p = process(&["true"]);
    p.cwd = "/does/not/exist".into();
    let e = b.rt.exec(id, &p, ExecOptions::new()).unwrap_err();
    assert!(e.to_string().contains("/does/not/exist"), "{e}");
    // The container is unharmed.
    assert_eq!(b.rt.state(id).unwrap().status.as_str(), "running");
}

fn user_and_capabilities() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-user";
    let b = sleeper(id, |_| {});
    let mut p = process(&[
        "sh",
        "-c",
        "id -u; id -g; id -G; grep -E 'CapEff|NoNewPrivs' /proc/self/status",
    ]);
    let mut u = User::new(1000, 1001);
    u.additional_gids = vec![5];
    p.user = Some(u);
    p.no_new_privileges = true;
    let (code, out) = exec(&b, id, &p);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "{out}");
    assert_eq!(lines[1], "1001", "{out}");
    assert!(lines[2].split_whitespace().any(|g| g == "5"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");

    // Root with only CAP_KILL.
    let mut p = process(&["grep", "CapEff", "/proc/self/status"]);
    let mut caps = Capabilities::default();
    caps.bounding = vec![Capability::Kill];
    caps.effective = vec![Capability::Kill];
    caps.permitted = vec![Capability::Kill];
    p.capabilities = Some(caps);
    let (code, out) = exec(&b, id, &p);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), "CapEff:\t0000000000000020");
}

fn seccomp_applies_to_exec() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-seccomp";
    let b = sleeper(id, |b| {
        b.spec.root.as_mut().unwrap().readonly = false;
        let mut profile = Seccomp::new(SeccompAction::Allow);
        let mut r = Syscall::new(vec!["mkdir".into(), "mkdirat".into()], SeccompAction::Errno);
        r.errno_ret = Some(1);
        profile.syscalls.push(r);
        b.spec.linux.as_mut().unwrap().seccomp = Some(profile);
    });
    let (code, out) = exec(&b, id, &process(&["busybox", "mkdir", "/tmp/x"]));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(!b.path().join("rootfs/tmp/x").exists());
}

fn no_pivot_container() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-nopivot";
    let mut b = Bundle::new(&["sleep", "1000"]);
    std::fs::write(b.path().join("rootfs/etc/marker"), "inside\n").unwrap();
    b.spec.hostname = "ctr".into();
    b.write();
    let mut o = CreateOptions::new();
    o.root_entry(RootEntry::MoveRoot);
    b.rt.create(id, b.path(), o).unwrap();
    b.rt.start(id).unwrap();
    let (code, out) = exec(&b, id, &process(&["sh", "-c", "cat /etc/marker; ls /"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("inside\n"), "{out}");
    // The container's root, not the host's: no /usr, no /home.
    assert!(!out.lines().any(|l| l == "usr" || l == "home"), "{out}");
    let _ = &mut b;
}

fn terminal_over_console_socket() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-tty";
    let b = sleeper(id, |_| {});
    let sock = b.path().join("exec-console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || crate::console::receive_master(listener));
    let mut p = process(&["sh", "-c", "tty; echo hi"]);
    p.terminal = true;
    let mut o = ExecOptions::new();
    o.console_socket(&sock);
    let child = b.rt.exec(id, &p, o).unwrap();
    let (name, master) = receiver.join().unwrap();
    assert!(name.starts_with("/dev/pts/"), "{name}");
    let mut out = Vec::new();
    let _ = std::fs::File::from(master).read_to_end(&mut out);
    assert_eq!(child.wait().unwrap().code(), 0);
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out, format!("{name}\r\nhi\r\n"));
    // terminal without a socket is refused before anything starts.
    let e = b.rt.exec(id, &p, ExecOptions::new()).unwrap_err();
    assert!(e.to_string().contains("console socket"), "{e}");
}

fn refusals() {
    if !root_or_skip() {
        return;
    }
    let b = Bundle::new(&["true"]);
    let e =
        b.rt.exec("t-exec-none", &process(&["true"]), ExecOptions::new())
            .unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    // Stopped.
    let id = "t-exec-stopped";
    b.write();
    b.rt.create(id, b.path(), CreateOptions::new()).unwrap();
    b.rt.start(id).unwrap();
    b.rt.wait(id).unwrap();
    let e =
        b.rt.exec(id, &process(&["true"]), ExecOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("stopped"), "{e}");
    b.rt.delete(id, DeleteMode::Stopped).unwrap();
    // Paused.
    let id = "t-exec-paused";
    let b = sleeper(id, |_| {});
    b.rt.pause(id).unwrap();
    let e =
        b.rt.exec(id, &process(&["true"]), ExecOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("paused"), "{e}");
    b.rt.resume(id).unwrap();
    let (code, _) = exec(&b, id, &process(&["true"]));
    assert_eq!(code, 0);
}

fn pid_file_and_detached() {
    if !root_or_skip() {
        return;
    }
    let id = "t-exec-pidfile";
    let b = sleeper(id, |_| {});
    let pid_file: PathBuf = b.path().join("exec.pid");
    let mut o = ExecOptions::new();
    o.pid_file(&pid_file);
    let child = b.rt.exec(id, &process(&["sleep", "1000"]), o).unwrap();
    let written: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(written, child.pid());
    // Deleting the container with --force kills its exec processes. The
    // exec process is ours to reap, and the kernel keeps the container's
    // init (pid 1 of its namespace) until every process in it is reaped:
    // reap it while the delete waits for the init.
    let waiter = std::thread::spawn(move || child.wait().unwrap().code());
    b.rt.delete(id, DeleteMode::Force).unwrap();
    assert_eq!(waiter.join().unwrap(), 137);
}

/// This host runs neither AppArmor nor SELinux: as runc, a config with
/// labels still runs (for create and exec), and `features` says so.
fn lsm_labels_skipped_without_the_module() {
    if !root_or_skip() {
        return;
    }
    let lsm_enabled = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'))
        || std::path::Path::new("/sys/fs/selinux/enforce").exists();
    if lsm_enabled {
        testkit::need::skip("the host runs an LSM");
        return;
    }
    let id = "t-exec-lsm";
    let b = sleeper(id, |b| {
        let p = b.spec.process.as_mut().unwrap();
        p.apparmor_profile = "docker-default".into();
        p.selinux_label = "system_u:system_r:container_t:s0".into();
    });
    let mut p = process(&["true"]);
    p.apparmor_profile = "docker-default".into();
    let (code, _) = exec(&b, id, &p);
    assert_eq!(code, 0);
    let f = ocikit_runtime::Runtime::features();
    let linux = f.linux.unwrap();
    assert_eq!(linux.apparmor.unwrap().enabled, Some(false));
    assert_eq!(linux.selinux.unwrap().enabled, Some(false));
}
