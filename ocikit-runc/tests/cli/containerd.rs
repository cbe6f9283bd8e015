//! containerd with its runc shim (containerd-shim-runc-v2) calling
//! ocikit-runc (`ctr run --runc-binary`). Each test starts its own
//! containerd on a temp root, state dir and socket, and kills it on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;
use crate::image::BusyboxImage;

const TOOLS: &[&str] = &[
    "containerd",
    "ctr",
    "containerd-shim-runc-v2",
    "/usr/bin/busybox",
];

/// The image's name once imported.
const IMAGE: &str = "ocikit.test/busybox:latest";

/// A private containerd; on drop removes its containers, stops it and
/// unmounts what it left.
struct Containerd {
    dir: tempfile::TempDir,
    daemon: Child,
    namespace: String,
}

impl Containerd {
    fn start(test: &str) -> Containerd {
        let dir = tempdir("ctrd");
        let p = |s: &str| dir.path().join(s);
        std::fs::write(
            p("config.toml"),
            format!(
                "version = 2\n\
                 root = \"{root}\"\n\
                 state = \"{state}\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\", \
                   \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \
                   \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\", \
                   \"io.containerd.tracing.processor.v1.otlp\", \"io.containerd.internal.v1.tracing\"]\n\
                 [grpc]\n  address = \"{sock}\"\n\
                 [ttrpc]\n  address = \"{sock}.ttrpc\"\n\
                 [debug]\n  address = \"{sock}.debug\"\n  level = \"info\"\n\
                 [metrics]\n  address = \"\"\n\
                 [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
                root = p("root").display(),
                state = p("state").display(),
                sock = p("c.sock").display(),
                opt = p("opt").display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(p("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(p("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let c = Containerd {
            dir,
            daemon,
            namespace: format!("ocikit-{}-{}", test.replace('_', "-"), std::process::id()),
        };
        let up = wait_for(Duration::from_secs(30), || {
            let out = c.output(&["version"]);
            out.status.success().then_some(())
        });
        assert!(
            up.is_some(),
            "containerd did not come up: {}",
            c.daemon_log()
        );
        c
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    fn daemon_log(&self) -> String {
        let log = std::fs::read_to_string(self.path("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `ctr` on this containerd; `run` and `tasks exec` keep their I/O
    /// FIFOs in the temp dir rather than /run/containerd/fifo.
    fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.path("c.sock"))
            .args(["--namespace", &self.namespace])
            .stdin(Stdio::null());
        let split = match args {
            ["run", ..] => 1,
            ["tasks", "exec", ..] => 2,
            _ => 0,
        };
        c.args(&args[..split]);
        if split > 0 {
            c.arg("--fifo-dir").arg(self.path("fifo"));
        }
        c.args(&args[split..]);
        c
    }

    fn output(&self, args: &[&str]) -> Output {
        self.ctr(args).output().expect("spawn ctr")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed ({}): {}{}\ncontainerd log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.daemon_log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Imports the busybox image built by ocikit-image, as a docker archive.
    fn import_busybox(&self, test: &str) {
        let image = BusyboxImage::build(test);
        let archive = image.docker_archive(IMAGE);
        self.ok(&["images", "import", archive.to_str().unwrap()]);
        let images = self.ok(&["images", "ls", "-q"]);
        assert!(images.lines().any(|l| l == IMAGE), "{images}");
    }

    /// `ctr run` with ocikit-runc as the shim's runc, on a private root.
    fn run(&self, extra: &[&str], id: &str, cmd: &[&str]) -> Output {
        let runc_root = self.path("runc");
        let mut c = self.ctr(&["run", "--runc-binary"]);
        c.arg(binary())
            .arg("--runc-root")
            .arg(&runc_root)
            .args(extra)
            .arg(IMAGE)
            .arg(id)
            .args(cmd);
        c.output().expect("spawn ctr run")
    }

    /// The task's status as `ctr tasks ls` prints it.
    fn task_status(&self, id: &str) -> String {
        let ls = self.ok(&["tasks", "ls"]);
        ls.lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or("")
            .to_owned()
    }

    fn wait_task_status(&self, id: &str, status: &str) {
        let ok = wait_for(Duration::from_secs(10), || {
            (self.task_status(id) == status).then_some(())
        });
        assert!(
            ok.is_some(),
            "task {id} never became {status}: {}",
            self.task_status(id)
        );
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let ids = self.output(&["containers", "ls", "-q"]).stdout.clone();
        for id in String::from_utf8_lossy(&ids).lines() {
            let _ = self.output(&["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
            let _ = self.output(&["tasks", "rm", "--force", id]);
            let _ = self.output(&["containers", "rm", id]);
        }
        let pid = rustix::process::Pid::from_child(&self.daemon);
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let stopped = wait_for(Duration::from_secs(10), || {
            self.daemon.try_wait().ok().flatten()
        });
        if stopped.is_none() {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
        unmount_under(self.dir.path());
        // ctr puts a task in the cgroup /<namespace>/<id>; the shim removes
        // the task's, nobody the namespace's.
        remove_cgroup(&self.namespace);
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_ok(c: &Containerd, out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}\ncontainerd log:\n{}",
        out.status,
        text(out),
        String::from_utf8_lossy(&out.stderr),
        c.daemon_log()
    );
}

fn containerd_run_rm_prints_output_and_exit_code() {
    let test = "containerd_run_rm_prints_output_and_exit_code";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let out = c.run(
        &["--rm"],
        "hello",
        &["sh", "-c", "echo hello; echo $PATH; readlink /bin/sh"],
    );
    assert_ok(&c, &out, "ctr run --rm");
    assert_eq!(text(&out), "hello\n/bin\nbusybox\n");
    let out = c.run(&["--rm"], "fails", &["sh", "-c", "exit 4"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}\n{}", c.daemon_log());
    assert_eq!(c.ok(&["containers", "ls", "-q"]).trim(), "");
}

fn containerd_detached_task_exec_pause_kill_rm() {
    let test = "containerd_detached_task_exec_pause_kill_rm";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let id = "sleeper";
    let out = c.run(&["-d"], id, &["sleep", "1000"]);
    assert_ok(&c, &out, "ctr run -d");
    c.wait_task_status(id, "RUNNING");

    let out = c.output(&[
        "tasks",
        "exec",
        "--exec-id",
        "e1",
        id,
        "sh",
        "-c",
        "echo from exec; cat /proc/1/cmdline | tr '\\0' ' '; echo",
    ]);
    assert_ok(&c, &out, "ctr tasks exec");
    assert_eq!(text(&out), "from exec\nsleep 1000 \n");
    let out = c.output(&["tasks", "exec", "--exec-id", "e2", id, "sh", "-c", "exit 6"]);
    assert_eq!(out.status.code(), Some(6), "{out:?}");

    // ps: the shim runs `ocikit-runc ps --format json`.
    let ps = c.ok(&["tasks", "ps", id]);
    assert_eq!(ps.lines().count(), 2, "{ps}");

    c.ok(&["tasks", "pause", id]);
    c.wait_task_status(id, "PAUSED");
    c.ok(&["tasks", "resume", id]);
    c.wait_task_status(id, "RUNNING");

    c.ok(&["tasks", "kill", "--signal", "SIGKILL", id]);
    c.wait_task_status(id, "STOPPED");
    c.ok(&["tasks", "rm", id]);
    c.ok(&["containers", "rm", id]);
    assert_eq!(c.ok(&["containers", "ls", "-q"]).trim(), "");
    // The shim deleted the container in ocikit-runc's root too.
    let runc = Runc::new(c.path("runc"));
    assert_eq!(runc.ok(&["list", "-q"]).trim(), "");
}

/// Where ocikit-runc's errors reach the user through the shim: the shim
/// reads `--log` (JSON) and containerd reports the last error line.
fn containerd_reports_ocikit_runc_errors() {
    let test = "containerd_reports_ocikit_runc_errors";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let out = c.run(&["--rm"], "nocmd", &["/no/such/program"]);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    println!("ctr run reported: {err}");
    assert!(err.contains("/no/such/program"), "{err}");
}

fn containerd_memory_limit_and_kill_all() {
    let test = "containerd_memory_limit_and_kill_all";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let id = "limited";
    let limit = (64u64 << 20).to_string();
    let out = c.run(
        &["-d", "--memory-limit", &limit],
        id,
        &["sh", "-c", "sleep 1000 & sleep 1000"],
    );
    assert_ok(&c, &out, "ctr run -d --memory-limit");
    c.wait_task_status(id, "RUNNING");
    let pid: u64 = c
        .ok(&["tasks", "ls"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
        .expect("task pid");
    let memory = cgroup_dir(pid, "memory");
    let file = if memory.join("memory.limit_in_bytes").exists() {
        memory.join("memory.limit_in_bytes")
    } else {
        memory.join("memory.max")
    };
    assert_eq!(std::fs::read_to_string(file).unwrap().trim(), limit);
    let ps = c.ok(&["tasks", "ps", id]);
    assert_eq!(ps.lines().count(), 3, "{ps}");

    c.ok(&["tasks", "kill", "--all", "--signal", "SIGKILL", id]);
    c.wait_task_status(id, "STOPPED");
    c.ok(&["tasks", "rm", id]);
    c.ok(&["containers", "rm", id]);
}

fn containerd_process_options_and_metrics() {
    let test = "containerd_process_options_and_metrics";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let out = c.run(
        &["--rm", "--cwd", "/tmp", "--env", "X=from-ctr"],
        "opts",
        &["sh", "-c", "pwd; echo $X"],
    );
    assert_ok(&c, &out, "ctr run --cwd --env");
    assert_eq!(text(&out), "/tmp\nfrom-ctr\n");

    let id = "measured";
    let out = c.run(&["-d"], id, &["sleep", "1000"]);
    assert_ok(&c, &out, "ctr run -d");
    c.wait_task_status(id, "RUNNING");
    // The shim reads the task's cgroup, found through the pid in
    // ocikit-runc's state.
    let metrics = c.ok(&["tasks", "metrics", id]);
    assert!(metrics.contains("memory.usage_in_bytes"), "{metrics}");
    assert!(metrics.contains("cpuacct.usage"), "{metrics}");
    // An exec id can be used again once its process has exited.
    let out = c.output(&["tasks", "exec", "--exec-id", "dup", id, "true"]);
    assert_ok(&c, &out, "ctr tasks exec");
    let out = c.output(&["tasks", "exec", "--exec-id", "dup", id, "true"]);
    assert_ok(&c, &out, "ctr tasks exec with a reused id");
    c.ok(&["tasks", "kill", "--signal", "SIGKILL", id]);
    c.wait_task_status(id, "STOPPED");
    c.ok(&["tasks", "rm", id]);
    c.ok(&["containers", "rm", id]);
}

/// `ctr run -t` and `ctr tasks exec -t` need a terminal on ctr's side:
/// script(1) provides one.
fn containerd_with_a_terminal() {
    let test = "containerd_with_a_terminal";
    if !testkit::need::root_and(&[TOOLS, &["script"]].concat()) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let ctr = |args: &str| {
        format!(
            "ctr --address {} --namespace {} {args}",
            c.path("c.sock").display(),
            c.namespace
        )
    };
    let run = ctr(&format!(
        "run -t --rm --fifo-dir {} --runc-binary {} --runc-root {} {IMAGE} tty1 \
         sh -c 'tty; echo on-a-tty'",
        c.path("fifo").display(),
        binary().display(),
        c.path("runc").display()
    ));
    let out = Command::new("script")
        .args(["-qefc", &run, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{out:?}\n{}", c.daemon_log());
    assert!(t.contains("/dev/pts/0") && t.contains("on-a-tty"), "{t:?}");

    let id = "ttyexec";
    let out = c.run(&["-d"], id, &["sleep", "1000"]);
    assert_ok(&c, &out, "ctr run -d");
    c.wait_task_status(id, "RUNNING");
    let exec = ctr(&format!(
        "tasks exec -t --fifo-dir {} --exec-id t1 {id} sh -c 'tty; exit 3'",
        c.path("fifo").display()
    ));
    let out = Command::new("script")
        .args(["-qefc", &exec, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(text(&out).contains("/dev/pts/"), "{out:?}");
    c.ok(&["tasks", "kill", "--signal", "SIGKILL", id]);
    c.wait_task_status(id, "STOPPED");
    c.ok(&["tasks", "rm", id]);
    c.ok(&["containers", "rm", id]);
}

fn containerd_joins_a_namespace_by_path() {
    let test = "containerd_joins_a_namespace_by_path";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let c = Containerd::start(test);
    c.import_busybox(test);
    let first = "first";
    let out = c.run(&["-d"], first, &["sleep", "1000"]);
    assert_ok(&c, &out, "ctr run -d");
    c.wait_task_status(first, "RUNNING");
    let pid = c
        .ok(&["tasks", "ls"])
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("task pid")
        .to_owned();
    let want = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let with_ns = format!("network:/proc/{pid}/ns/net");
    let out = c.run(
        &["--rm", "--with-ns", &with_ns],
        "second",
        &["sh", "-c", "readlink /proc/self/ns/net"],
    );
    assert_ok(&c, &out, "ctr run --with-ns");
    assert_eq!(text(&out).trim(), want.to_str().unwrap());
    c.ok(&["tasks", "kill", "--signal", "SIGKILL", first]);
    c.wait_task_status(first, "STOPPED");
    c.ok(&["tasks", "rm", first]);
    c.ok(&["containers", "rm", first]);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    containerd_run_rm_prints_output_and_exit_code,
    containerd_detached_task_exec_pause_kill_rm,
    containerd_reports_ocikit_runc_errors,
    containerd_memory_limit_and_kill_all,
    containerd_process_options_and_metrics,
    containerd_with_a_terminal,
    containerd_joins_a_namespace_by_path
];
