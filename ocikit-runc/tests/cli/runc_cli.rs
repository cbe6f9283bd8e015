//! Every subcommand of `ocikit-runc` with the flags container engines
//! pass, on busybox bundles; outcomes are checked inside the container
//! (files it writes to `/out`, its stdout) as well as in exit codes.

use std::io::{Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use serde_json::Value;

use crate::common::*;

const ROOT_ONLY: &[&str] = &["/usr/bin/busybox"];

fn spec_writes_a_config_and_refuses_to_overwrite() {
    let dir = tempdir("spec");
    let out = Command::new(binary())
        .args(["spec", "--bundle"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert!(config["ociVersion"].as_str().unwrap().starts_with("1."));
    assert_eq!(config["process"]["args"], serde_json::json!(["sh"]));
    assert_eq!(config["root"]["path"], "rootfs");
    assert!(config["linux"]["namespaces"].as_array().unwrap().len() >= 4);

    let again = Command::new(binary())
        .args(["spec", "-b"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{again:?}"
    );

    let rootless = tempdir("spec-rootless");
    let out = Command::new(binary())
        .args(["spec", "--rootless", "--bundle"])
        .arg(rootless.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let config: Value =
        serde_json::from_slice(&std::fs::read(rootless.path().join("config.json")).unwrap())
            .unwrap();
    let ns: Vec<&str> = config["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    assert!(ns.contains(&"user"), "{ns:?}");
}

fn version_names_the_program_and_the_spec() {
    for flag in ["--version", "-v"] {
        let out = Command::new(binary()).arg(flag).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("ocikit-runc version ")),
            "{text}"
        );
        assert!(lines.any(|l| l.starts_with("spec: 1.")), "{text}");
    }
}

/// Output into a pipe nobody reads any more (`ocikit-runc ... | head -0`)
/// ends the program quietly with 141, as SIGPIPE would, not with a panic.
fn a_closed_stdout_pipe_ends_quietly() {
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    drop(reader);
    let out = Command::new(binary())
        .arg("features")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn features_lists_what_the_engine_supports() {
    let out = Command::new(binary()).arg("features").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(f["ociVersionMin"].is_string(), "{f}");
    assert!(f["ociVersionMax"].is_string(), "{f}");
    let hooks = f["hooks"].as_array().unwrap();
    assert!(hooks.iter().any(|h| h == "prestart"), "{f}");
    let ns = f["linux"]["namespaces"].as_array().unwrap();
    for n in ["pid", "mount", "network", "ipc", "uts"] {
        assert!(ns.iter().any(|x| x == n), "{n} missing in {f}");
    }
    assert!(f["mountOptions"].as_array().is_some_and(|m| !m.is_empty()));
}

fn create_start_state_kill_delete() {
    let test = "create_start_state_kill_delete";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &["sh", "-c", "echo started > /out/started; exec sleep 1000"],
    );
    b.write();
    let id = unique_id("lifecycle");
    let _guard = b.guard(&id);
    let pid_file = b.path().join("init.pid");
    b.runc.detached(
        &[
            "create",
            "--bundle",
            b.bundle_arg(),
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
        ],
        &b.logs(),
    );
    let state = b.runc.state(&id);
    for key in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ] {
        assert!(state.get(key).is_some(), "state lacks {key}: {state}");
    }
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["status"], "created");
    assert_eq!(state["bundle"], b.bundle_arg());
    assert_eq!(
        state["rootfs"],
        b.path().join("rootfs").to_str().unwrap(),
        "{state}"
    );
    let pid = state["pid"].as_u64().unwrap();
    assert!(pid > 0);
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    // The user program has not run yet.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(b.read_out("started"), "");

    b.runc.ok(&["start", &id]);
    b.wait_out("started", |s| s == "started\n");
    assert_eq!(b.runc.status(&id), "running");
    let listed: Value = serde_json::from_str(&b.runc.ok(&["list", "--format", "json"])).unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not in {listed}"));
    assert_eq!(row["status"], "running");
    assert_eq!(row["pid"].as_u64(), Some(pid));
    assert_eq!(b.runc.ok(&["list", "-q"]).trim(), id);
    let table = b.runc.ok(&["list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&id) && table.contains("running"), "{table}");

    // delete refuses a running container.
    let err = b.runc.fails(&["delete", &id]);
    assert!(err.contains(&id), "{err}");

    b.runc.ok(&["kill", &id, "KILL"]);
    b.runc.wait_status(&id, "stopped");
    b.runc.ok(&["delete", &id]);
    let err = b.runc.fails(&["state", &id]);
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(b.runc.ok(&["list", "-q"]).trim(), "");
    // As runc: no containers is `null` in JSON.
    assert_eq!(b.runc.ok(&["list", "--format", "json"]).trim(), "null");
}

fn run_in_the_foreground_passes_stdio_and_the_exit_code() {
    let test = "run_in_the_foreground_passes_stdio_and_the_exit_code";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "read line; echo \"got $line\"; echo oops >&2; hostname > /out/host; exit 7",
        ],
    );
    b.config["hostname"] = "cli-test".into();
    let (id, _guard) = b.write_for(test);
    let mut child = b
        .runc
        .cmd(&["run", "--bundle", b.bundle_arg(), &id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert_eq!(b.read_out("host"), "cli-test\n");
    // run deletes the container it ran.
    let err = b.runc.fails(&["state", &id]);
    assert!(err.contains("does not exist"), "{err}");

    // A signal death is reported as 128 + signal, as runc does.
    b.config["process"]["args"] =
        serde_json::json!(["sh", "-c", "echo ready > /out/ready; exec sleep 1000"]);
    b.write();
    let runc = b.runc.clone();
    let bundle = b.bundle_arg().to_owned();
    let id2 = id.clone();
    let run = std::thread::spawn(move || runc.output(&["run", "-b", &bundle, &id2]));
    b.wait_out("ready", |s| !s.is_empty());
    b.runc.ok(&["kill", &id, "KILL"]);
    let out = run.join().unwrap();
    assert_eq!(out.status.code(), Some(137), "{out:?}");
}

fn run_in_the_foreground_relays_signals() {
    let test = "run_in_the_foreground_relays_signals";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready > /out/ready; \
             while true; do sleep 0.05; done",
        ],
    );
    let (id, _guard) = b.write_for(test);
    let child = b
        .runc
        .cmd(&["run", "--bundle", b.bundle_arg(), &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    b.wait_out("ready", |s| !s.is_empty());
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got-term\n");
}

fn an_empty_block_io_asks_for_nothing() {
    let test = "an_empty_block_io_asks_for_nothing";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(test, &["echo", "ran"]);
    b.config["linux"]["resources"]["blockIO"] = serde_json::json!({});
    let (id, _guard) = b.write_for(test);
    assert_eq!(b.runc.ok(&["run", "-b", b.bundle_arg(), &id]), "ran\n");
    // A real setting is applied where the host has its controller (its
    // effect is checked by the engine's tests) and refused, naming it,
    // where the host lacks it (no BFQ or CFQ group scheduling), never
    // ignored.
    b.config["linux"]["resources"]["blockIO"] = serde_json::json!({"weight": 300});
    b.write();
    let out = b.runc.output(&["run", "-b", b.bundle_arg(), &id]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    } else {
        assert!(stderr.contains("blockIO.weight"), "{stderr}");
        let _ = b.runc.output(&["delete", "--force", &id]);
    }
    b.config["linux"]["resources"]["blockIO"] = serde_json::json!({});
    b.config["linux"]["resources"]["rdma"] = serde_json::json!({"mlx5_0": {"hcaHandles": 3}});
    b.write();
    let err = b.runc.fails(&["run", "-b", b.bundle_arg(), &id]);
    assert!(err.contains("rdma"), "{err}");
}

fn run_keep_leaves_the_stopped_container() {
    let test = "run_keep_leaves_the_stopped_container";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sh", "-c", "exit 3"]);
    let (id, _guard) = b.write_for(test);
    let out = b
        .runc
        .output(&["run", "--keep", "--bundle", b.bundle_arg(), &id]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(b.runc.status(&id), "stopped");
    b.runc.ok(&["delete", &id]);
}

fn kill_by_name_number_and_all() {
    let test = "kill_by_name_number_and_all";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "trap 'echo usr1 >> /out/log' USR1; trap 'echo usr2 >> /out/log' USR2; \
             trap 'echo term >> /out/log; exit 0' TERM; \
             echo ready > /out/ready; while true; do sleep 0.05; done",
        ],
    );
    let (id, _guard) = b.write_for(test);
    b.runc.detached(
        &["run", "--detach", "--bundle", b.bundle_arg(), &id],
        &b.logs(),
    );
    b.wait_out("ready", |s| !s.is_empty());
    b.runc.ok(&["kill", &id, "SIGUSR1"]);
    b.wait_out("log", |s| s == "usr1\n");
    b.runc.ok(&["kill", &id, "USR2"]);
    b.wait_out("log", |s| s == "usr1\nusr2\n");
    b.runc.ok(&["kill", &id, "10"]);
    b.wait_out("log", |s| s == "usr1\nusr2\nusr1\n");
    let err = b.runc.fails(&["kill", &id, "SIGNOPE"]);
    assert!(err.to_lowercase().contains("signal"), "{err}");
    // Default signal: SIGTERM.
    b.runc.ok(&["kill", &id]);
    b.wait_out("log", |s| s.ends_with("term\n"));
    b.runc.wait_status(&id, "stopped");
    let err = b.runc.fails(&["kill", &id, "KILL"]);
    assert!(err.contains("container not running"), "{err}");
    b.runc.ok(&["delete", &id]);

    // --all reaches every process, not only the init (which, as pid 1 of
    // its namespace, ignores SIGTERM without a handler).
    let id = unique_id("kill_all");
    let _guard2 = b.guard(&id);
    let b2 = &mut b;
    b2.config["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "sleep 1000 & sleep 1000 & echo ready > /out/ready2; wait; echo reaped > /out/reaped"
    ]);
    b2.write();
    b2.runc
        .detached(&["run", "-d", "--bundle", b2.bundle_arg(), &id], &b2.logs());
    b2.wait_out("ready2", |s| !s.is_empty());
    let pids: Vec<u64> =
        serde_json::from_str(&b2.runc.ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(pids.len(), 3, "{pids:?}");
    b2.runc.ok(&["kill", "--all", &id, "TERM"]);
    b2.wait_out("reaped", |s| s == "reaped\n");
    b2.runc.wait_status(&id, "stopped");
    b2.runc.ok(&["delete", &id]);
}

fn delete_force_kills_and_ignores_missing() {
    let test = "delete_force_kills_and_ignores_missing";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sleep", "1000"]);
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    let pid = b.runc.state(&id)["pid"].as_u64().unwrap();
    b.runc.ok(&["delete", "--force", &id]);
    assert!(
        wait_for(Duration::from_secs(5), || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            (stat.is_empty() || stat.contains(") Z")).then_some(())
        })
        .is_some(),
        "init {pid} survived delete --force"
    );
    assert!(b.runc.fails(&["state", &id]).contains("does not exist"));
    b.runc.ok(&["delete", "-f", &id]);
    let err = b.runc.fails(&["delete", &id]);
    assert!(err.contains("does not exist"), "{err}");
    // A created container can be deleted too.
    b.runc
        .detached(&["create", "--bundle", b.bundle_arg(), &id], &b.logs());
    b.runc.ok(&["delete", &id]);
}

fn error_words_engines_match() {
    let test = "error_words_engines_match";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sleep", "1000"]);
    let (id, _guard) = b.write_for(test);
    for cmd in ["state", "start", "pause", "resume", "ps", "kill", "delete"] {
        let err = b.runc.fails(&[cmd, &id]);
        assert!(err.contains("does not exist"), "{cmd}: {err}");
    }
    b.runc
        .detached(&["create", "--bundle", b.bundle_arg(), &id], &b.logs());
    let err = b.runc.fails(&["create", "--bundle", b.bundle_arg(), &id]);
    assert!(err.contains("exists"), "{err}");
    b.runc.ok(&["start", &id]);
    let err = b.runc.fails(&["start", &id]);
    assert!(err.contains("running") || err.contains("created"), "{err}");
    let err = b.runc.fails(&["resume", &id]);
    assert!(err.contains("not paused"), "{err}");
    let err = b.runc.fails(&["nonsense", &id]);
    assert!(err.contains("unknown command"), "{err}");
    let out = b.runc.output(&["state", "--bogus", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("flag provided but not defined"));
    let out = Command::new(binary())
        .args(["--systemd-cgroup", "--root"])
        .arg(&b.runc.root)
        .args(["state", &id])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn log_json_writes_error_objects_containerd_parses() {
    let test = "log_json_writes_error_objects_containerd_parses";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let dir = tempdir(test);
    let log = dir.path().join("log.json");
    let id = unique_id(test);
    let out = Command::new(binary())
        .arg("--root")
        .arg(dir.path().join("state"))
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "kill", &id, "KILL"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty(), "empty log");
    for line in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(v["level"].is_string(), "{line}");
        assert!(v["msg"].is_string(), "{line}");
        // containerd (go-runc) decodes `time` into a time.Time: an RFC 3339
        // string, as logrus writes it.
        let time = v["time"].as_str().unwrap_or_else(|| panic!("{line}"));
        assert!(
            time.len() >= 20 && time.as_bytes()[4] == b'-' && time.as_bytes()[10] == b'T',
            "{time}"
        );
    }
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert!(
        last["msg"].as_str().unwrap().contains("does not exist"),
        "{last}"
    );

    // --debug is accepted and the error still reaches stderr.
    let out = Command::new(binary())
        .arg("--debug")
        .arg("--root")
        .arg(dir.path().join("state"))
        .args(["--log-format", "text", "state", &id])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    // The text format, as logrus's text formatter writes it.
    let text_log = dir.path().join("log.txt");
    let out = Command::new(binary())
        .arg("--root")
        .arg(dir.path().join("state"))
        .arg("--log")
        .arg(&text_log)
        .args(["state", &id])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&text_log).unwrap();
    assert!(text.contains("level=error"), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

fn pause_and_resume_freeze_the_container() {
    let test = "pause_and_resume_freeze_the_container";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n 2>/dev/null || cat /out/n.tmp > /out/n; sleep 0.02; done",
        ],
    );
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    b.wait_out("n", |s| s.trim().parse::<u32>().is_ok_and(|n| n > 2));
    b.runc.ok(&["pause", &id]);
    assert_eq!(b.runc.status(&id), "paused");
    let listed: Value = serde_json::from_str(&b.runc.ok(&["list", "-f", "json"])).unwrap();
    assert_eq!(listed[0]["status"], "paused");
    std::thread::sleep(Duration::from_millis(100));
    let frozen = b.read_out("n");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(b.read_out("n"), frozen, "the counter moved while paused");
    let err = b.runc.fails(&["pause", &id]);
    assert!(
        err.contains("container not running") || err.contains("paused"),
        "{err}"
    );
    b.runc.ok(&["resume", &id]);
    assert_eq!(b.runc.status(&id), "running");
    let before: u32 = frozen.trim().parse().unwrap();
    b.wait_out("n", |s| {
        s.trim().parse::<u32>().is_ok_and(|n| n > before + 2)
    });
    b.runc.ok(&["delete", "--force", &id]);
}

fn ps_lists_the_container_processes() {
    let test = "ps_lists_the_container_processes";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &["sh", "-c", "sleep 1000 & echo $! > /out/child; wait"],
    );
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    b.wait_out("child", |s| !s.is_empty());
    let init = b.runc.state(&id)["pid"].as_u64().unwrap();
    let pids: Vec<u64> =
        serde_json::from_str(&b.runc.ok(&["ps", "--format", "json", &id])).unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&init), "{pids:?} lacks init {init}");
    let table = b.runc.ok(&["ps", &id]);
    let mut lines = table.lines();
    assert!(lines.next().unwrap().contains("PID"), "{table}");
    assert_eq!(lines.count(), 2, "{table}");
    assert!(table.contains("sleep 1000"), "{table}");
    let table = b.runc.ok(&["ps", &id, "-o", "pid,comm"]);
    assert!(table.contains(&init.to_string()), "{table}");
    b.runc.ok(&["kill", &id, "KILL"]);
    b.runc.wait_status(&id, "stopped");
    assert_eq!(b.runc.ok(&["ps", "-f", "json", &id]).trim(), "null");
}

fn events_stats_reports_usage() {
    let test = "events_stats_reports_usage";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sh", "-c", "sleep 1000 & sleep 1000"]);
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    assert!(wait_for(Duration::from_secs(5), || {
        let pids: Vec<u64> =
            serde_json::from_str(&b.runc.ok(&["ps", "-f", "json", &id])).unwrap_or_default();
        (pids.len() == 2).then_some(())
    })
    .is_some());
    let out = b.runc.ok(&["events", "--stats", &id]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let e: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(e["type"], "stats");
    assert_eq!(e["id"], id.as_str());
    assert_eq!(e["data"]["pids"]["current"], 2, "{e}");
    assert!(
        e["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{e}"
    );
    assert!(e["data"]["cpu"]["usage"]["total"].as_u64().is_some(), "{e}");

    // The stream: one event per interval until the container stops.
    let mut child = b
        .runc
        .cmd(&["events", "--interval", "100ms", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    std::thread::sleep(Duration::from_millis(350));
    b.runc.ok(&["kill", &id, "KILL"]);
    let mut text = String::new();
    stdout.read_to_string(&mut text).unwrap();
    assert!(child.wait().unwrap().success());
    let n = text.lines().count();
    assert!(n >= 2, "{text}");
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        assert_eq!(e["type"], "stats");
    }
    let err = b.runc.fails(&["events", "--interval", "0s", &id]);
    assert!(err.contains("interval"), "{err}");
}

fn update_changes_limits_from_flags_and_a_file() {
    let test = "update_changes_limits_from_flags_and_a_file";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(test, &["sleep", "1000"]);
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 100});
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    let pid = b.runc.state(&id)["pid"].as_u64().unwrap();
    let pids = cgroup_dir(pid, "pids");
    let memory = cgroup_dir(pid, "memory");
    let read = |p: std::path::PathBuf| std::fs::read_to_string(p).unwrap().trim().to_owned();
    assert_eq!(read(pids.join("pids.max")), "100");

    b.runc
        .ok(&["update", "--memory", "64m", "--pids-limit", "50", &id]);
    assert_eq!(read(pids.join("pids.max")), "50");
    let mem_file = if memory.join("memory.limit_in_bytes").exists() {
        memory.join("memory.limit_in_bytes")
    } else {
        memory.join("memory.max")
    };
    assert_eq!(read(mem_file.clone()), (64u64 << 20).to_string());

    let resources = b.path().join("resources.json");
    std::fs::write(
        &resources,
        r#"{"pids":{"limit":77},"memory":{"limit":33554432}}"#,
    )
    .unwrap();
    b.runc
        .ok(&["update", "--resources", resources.to_str().unwrap(), &id]);
    assert_eq!(read(pids.join("pids.max")), "77");
    assert_eq!(read(mem_file), "33554432");

    // From stdin.
    let mut child = b
        .runc
        .cmd(&["update", "-r", "-", &id])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"pids":{"limit":60}}"#)
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(read(pids.join("pids.max")), "60");

    let err = b.runc.fails(&["update", "--memory", "lots", &id]);
    assert!(err.contains("--memory"), "{err}");
    b.runc.ok(&["delete", "--force", &id]);
}

fn receive_master(listener: UnixListener) -> OwnedFd {
    let (conn, _) = listener.accept().unwrap();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 256];
    rustix::net::recvmsg(
        &conn,
        &mut [std::io::IoSliceMut::new(&mut name)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            return fds.next().unwrap();
        }
    }
    panic!("no descriptor received on the console socket");
}

fn console_socket_receives_the_pty_master() {
    let test = "console_socket_receives_the_pty_master";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(
        test,
        &["sh", "-c", "tty; read line; echo \"said $line\"; exit 0"],
    );
    b.config["process"]["terminal"] = true.into();
    let (id, _guard) = b.write_for(test);
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(listener));
    b.runc.detached(
        &[
            "create",
            "--bundle",
            b.bundle_arg(),
            "--console-socket",
            sock.to_str().unwrap(),
            &id,
        ],
        &b.logs(),
    );
    let master = std::fs::File::from(receiver.join().unwrap());
    b.runc.ok(&["start", &id]);
    let mut writer = master.try_clone().unwrap();
    writer.write_all(b"hi\n").unwrap();
    // Read until the shell's answer (the pty echoes our input too).
    let reader = std::thread::spawn(move || {
        let mut master = master;
        let mut text = Vec::new();
        let mut buf = [0u8; 512];
        while !String::from_utf8_lossy(&text).contains("said hi") {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => text.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let text = reader.join().unwrap();
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("said hi"), "{text:?}");
    b.runc.wait_status(&id, "stopped");
    b.runc.ok(&["delete", &id]);
}

fn no_pivot_no_new_keyring_and_preserve_fds() {
    let test = "no_pivot_no_new_keyring_and_preserve_fds";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "echo through-fd3 >&3 || exit 9; echo $(ls /) > /out/root",
        ],
    );
    let (id, _guard) = b.write_for(test);
    let fd3 = b.path().join("fd3");
    // The shell opens descriptor 3 on a host file for ocikit-runc, which
    // passes it on with --preserve-fds 1.
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$@\" 3>\"$FD3\"")
        .arg("sh")
        .arg(binary())
        .arg("--root")
        .arg(&b.runc.root)
        .args([
            "run",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "1",
            "--bundle",
            b.bundle_arg(),
            &id,
        ])
        .env("FD3", &fd3)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&fd3).unwrap(), "through-fd3\n");
    let root = b.read_out("root");
    assert!(root.contains("bin") && root.contains("out"), "{root}");

    // Without --preserve-fds the descriptor does not reach the container.
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$@\" 3>\"$FD3\"")
        .arg("sh")
        .arg(binary())
        .arg("--root")
        .arg(&b.runc.root)
        .args(["run", "--bundle", b.bundle_arg(), &id])
        .env("FD3", b.path().join("fd3-closed"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(b.path().join("fd3-closed")).unwrap(),
        ""
    );
}

fn exec_runs_processes_in_the_container() {
    let test = "exec_runs_processes_in_the_container";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(test, &["sleep", "1000"]);
    b.config["hostname"] = "exec-host".into();
    b.config["process"]["env"] = serde_json::json!(["PATH=/bin", "FOO=base"]);
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());

    let out = b.runc.ok(&[
        "exec",
        &id,
        "sh",
        "-c",
        "echo $FOO $(hostname) $(pwd); cat /proc/1/cmdline",
    ]);
    assert_eq!(out, "base exec-host /\nsleep\u{0}1000\u{0}");
    let out = b.runc.ok(&[
        "exec",
        "--env",
        "FOO=over",
        "-e",
        "BAR=new",
        "--cwd",
        "/bin",
        &id,
        "sh",
        "-c",
        "echo $FOO $BAR $(pwd)",
    ]);
    assert_eq!(out, "over new /bin\n");
    // Arguments after the command belong to it, even when they look like
    // flags.
    let out = b.runc.ok(&["exec", &id, "ls", "-d", "/out"]);
    assert_eq!(out, "/out\n");
    let out = b
        .runc
        .ok(&["exec", "--user", "1000:1000", "-g", "10", &id, "id"]);
    assert!(
        out.contains("uid=1000") && out.contains("gid=1000"),
        "{out}"
    );
    assert!(out.contains("groups=") && out.contains("10"), "{out}");

    let out = b
        .runc
        .output(&["exec", &id, "sh", "-c", "echo err >&2; exit 9"]);
    assert_eq!(out.status.code(), Some(9), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");

    let mut child = b
        .runc
        .cmd(&["exec", &id, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"via stdin\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via stdin\n");

    // --detach with --pid-file: the process runs on after exec returns.
    let pid_file = b.path().join("exec.pid");
    b.runc.detached(
        &[
            "exec",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &id,
            "sh",
            "-c",
            "echo detached > /out/d; exec sleep 1000",
        ],
        &b.logs(),
    );
    b.wait_out("d", |s| s == "detached\n");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let pids: Vec<u32> = serde_json::from_str(&b.runc.ok(&["ps", "-f", "json", &id])).unwrap();
    assert!(pids.contains(&pid), "{pid} not in {pids:?}");

    // --process: a whole process.json.
    let process = b.path().join("process.json");
    std::fs::write(
        &process,
        serde_json::json!({
            "args": ["sh", "-c", "echo $WHO > /out/p; pwd >> /out/p"],
            "env": ["PATH=/bin", "WHO=from-process"],
            "cwd": "/out",
            "user": {"uid": 0, "gid": 0}
        })
        .to_string(),
    )
    .unwrap();
    b.runc
        .ok(&["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!(b.read_out("p"), "from-process\n/out\n");

    // Errors engines see.
    let err = b.runc.fails(&["exec", &id]);
    assert!(err.contains("command"), "{err}");
    let err = b.runc.fails(&["exec", "no-such-container", "true"]);
    assert!(err.contains("does not exist"), "{err}");
    let out = b.runc.output(&["exec", &id, "/no/such/program"]);
    assert!(!out.status.success(), "{out:?}");

    b.runc.ok(&["kill", &id, "KILL"]);
    b.runc.wait_status(&id, "stopped");
    let err = b.runc.fails(&["exec", &id, "true"]);
    assert!(
        err.contains("not running") || err.contains("stopped"),
        "{err}"
    );
}

fn exec_with_a_terminal_and_preserved_fds() {
    let test = "exec_with_a_terminal_and_preserved_fds";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(test, &["sleep", "1000"]);
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());

    let sock = b.path().join("exec-console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(listener));
    let runc = b.runc.clone();
    let sock_arg = sock.to_str().unwrap().to_owned();
    let id2 = id.clone();
    let exec = std::thread::spawn(move || {
        runc.output(&[
            "exec",
            "--tty",
            "--console-socket",
            &sock_arg,
            &id2,
            "sh",
            "-c",
            "tty; echo on-tty",
        ])
    });
    let mut master = std::fs::File::from(receiver.join().unwrap());
    let mut text = Vec::new();
    let mut buf = [0u8; 512];
    while !String::from_utf8_lossy(&text).contains("on-tty") {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
        }
    }
    let out = exec.join().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("on-tty"), "{text:?}");
    // A terminal without a console socket is refused.
    let err = b.runc.fails(&["exec", "-t", &id, "true"]);
    assert!(err.contains("console"), "{err}");

    let fd3 = b.path().join("exec-fd3");
    let out = Command::new("sh")
        .arg("-c")
        .arg("exec \"$@\" 3>\"$FD3\"")
        .arg("sh")
        .arg(binary())
        .arg("--root")
        .arg(&b.runc.root)
        .args([
            "exec",
            "--preserve-fds",
            "1",
            &id,
            "sh",
            "-c",
            "echo exec-fd3 >&3",
        ])
        .env("FD3", &fd3)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(std::fs::read_to_string(&fd3).unwrap(), "exec-fd3\n");
    b.runc.ok(&["delete", "--force", &id]);
}

/// runc's `tmpcopyup` mount option, which podman puts on `--tmpfs` and
/// `--read-only` mounts: the tmpfs starts with the covered directory's
/// files.
fn tmpfs_with_tmpcopyup_starts_with_the_covered_files() {
    let test = "tmpfs_with_tmpcopyup_starts_with_the_covered_files";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let mut b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "cat /etc/passwd; ls /etc/sub; readlink /etc/link; \
             echo new > /etc/new && cat /etc/new; stat -c %a /etc/sub/secret",
        ],
    );
    let etc = b.path().join("rootfs/etc");
    std::fs::create_dir_all(etc.join("sub")).unwrap();
    std::fs::write(etc.join("sub/secret"), "s").unwrap();
    std::fs::set_permissions(
        etc.join("sub/secret"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("/nowhere", etc.join("link")).unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "destination": "/etc",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
        }));
    b.write();
    let id = unique_id("tmpcopyup");
    let _guard = b.guard(&id);
    let out = b.runc.output(&["run", "--bundle", b.bundle_arg(), &id]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "root:x:0:0::/root:/bin/sh\nsecret\n/nowhere\nnew\n600\n"
    );
    // The bundle's rootfs is untouched: the write went to the tmpfs.
    assert!(!etc.join("new").exists());
}

fn events_streams_oom_kills() {
    let test = "events_streams_oom_kills";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    // The init survives; its child, filling a variable past the limit, is
    // killed once the test says go. The child makes itself the OOM
    // killer's first choice (lowering the init's score needs
    // CAP_SYS_RESOURCE, which this host's root lacks).
    let mut b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "while [ ! -e /out/go ]; do sleep 0.05; done; \
             sh -c 'echo 1000 > /proc/self/oom_score_adj; \
                    x=$(busybox yes | busybox head -c 200000000)'; \
             echo $? > /out/child; sleep 1000",
        ],
    );
    b.config["linux"]["resources"]["memory"] =
        serde_json::json!({"limit": 16 << 20, "swap": 16 << 20});
    let (id, _guard) = b.write_for(test);
    b.runc
        .detached(&["run", "-d", "-b", b.bundle_arg(), &id], &b.logs());
    let mut child = b
        .runc
        .cmd(&["events", "--interval", "10s", &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let oom = line.contains(r#""type":"oom""#);
            seen.push(line);
            if oom {
                break;
            }
        }
        seen
    });
    // The first stats event says the stream is running.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(b.out("go"), "").unwrap();
    b.wait_out("child", |s| !s.is_empty());
    assert_eq!(b.runc.status(&id), "running", "the init was killed");
    let done = wait_for(Duration::from_secs(10), || {
        lines.is_finished().then_some(())
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(done.is_some(), "no oom event within 10 s");
    let seen = lines.join().unwrap();
    let last: Value = serde_json::from_str(seen.last().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({"type": "oom", "id": id}),
        "{seen:?}"
    );
    assert_eq!(b.read_out("child"), "137\n");
}

/// Socket activation, as runc: started with `LISTEN_FDS=2` and
/// `LISTEN_PID` naming it, ocikit-runc passes descriptors 3 and 4 on and
/// the container sees `LISTEN_FDS=2 LISTEN_PID=1`; a preserved descriptor
/// follows them. With a `LISTEN_PID` of another process, nothing passes.
fn listen_fds_socket_activation() {
    let test = "listen_fds_socket_activation";
    if !testkit::need::root_and(ROOT_ONLY) {
        return;
    }
    let b = Bundle::new(
        test,
        &[
            "sh",
            "-c",
            "echo $LISTEN_FDS $LISTEN_PID > /out/env; echo a >&3 && echo b >&4 && echo c >&5 || exit 9",
        ],
    );
    let (id, _guard) = b.write_for(test);
    let run = |listen_pid: &str, out: &str| {
        // `exec` keeps the shell's pid, so $$ is ocikit-runc's.
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "export LISTEN_FDS=2 LISTEN_PID={listen_pid}; \
                 exec \"$@\" 3>\"$OUT.3\" 4>\"$OUT.4\" 5>\"$OUT.5\""
            ))
            .arg("sh")
            .arg(binary())
            .arg("--root")
            .arg(&b.runc.root)
            .args([
                "run",
                "--preserve-fds",
                "1",
                "--bundle",
                b.bundle_arg(),
                &id,
            ])
            .env("OUT", b.path().join(out))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run("$$", "act");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(b.read_out("env"), "2 1\n");
    for (n, want) in [(3, "a\n"), (4, "b\n"), (5, "c\n")] {
        let got = std::fs::read_to_string(b.path().join(format!("act.{n}"))).unwrap();
        assert_eq!(got, want, "fd {n}");
    }
    // LISTEN_PID of another process: not ours to pass on (fd 4 and 5 are
    // then not in the container and the program fails).
    let out = run("1", "other");
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(b.read_out("env"), "\n");
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    spec_writes_a_config_and_refuses_to_overwrite,
    version_names_the_program_and_the_spec,
    a_closed_stdout_pipe_ends_quietly,
    features_lists_what_the_engine_supports,
    create_start_state_kill_delete,
    run_in_the_foreground_passes_stdio_and_the_exit_code,
    run_in_the_foreground_relays_signals,
    an_empty_block_io_asks_for_nothing,
    run_keep_leaves_the_stopped_container,
    kill_by_name_number_and_all,
    delete_force_kills_and_ignores_missing,
    error_words_engines_match,
    log_json_writes_error_objects_containerd_parses,
    pause_and_resume_freeze_the_container,
    ps_lists_the_container_processes,
    events_stats_reports_usage,
    update_changes_limits_from_flags_and_a_file,
    console_socket_receives_the_pty_master,
    no_pivot_no_new_keyring_and_preserve_fds,
    exec_runs_processes_in_the_container,
    exec_with_a_terminal_and_preserved_fds,
    tmpfs_with_tmpcopyup_starts_with_the_covered_files,
    events_streams_oom_kills,
    listen_fds_socket_activation
];
