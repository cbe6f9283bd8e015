//! podman with `--runtime <ocikit-runc>`, on private storage: every test
//! has its own `--root`, `--runroot`, containers.conf and temp dirs, so
//! the host's podman storage is never touched.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;
use crate::image::{BusyboxImage, TAG};

const TOOLS: &[&str] = &["podman", "conmon", "/usr/bin/busybox"];

/// The name the image gets in the private storage.
const IMAGE: &str = "localhost/ocikit-busybox:latest";

/// Options of every container: the host's hard rlimits are below podman's
/// defaults (HOST.md), and no network backend is needed.
const RUN_OPTS: &[&str] = &[
    "--network",
    "none",
    "--ulimit",
    "nofile=20000:20000",
    "--ulimit",
    "nproc=32768:32768",
];

/// A podman with private storage and config; removes its containers and
/// files on drop.
struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    /// Sets up the storage and imports the busybox image.
    fn new(test: &str) -> Podman {
        let dir = tempdir("p");
        let p = |s: &str| dir.path().join(s);
        for d in ["storage", "runroot", "tmp", "net", "volumes"] {
            std::fs::create_dir_all(p(d)).unwrap();
        }
        std::fs::write(
            p("containers.conf"),
            format!(
                "[engine]\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 events_logfile_path = \"{events}\"\n\
                 runtime_supports_json = [\"ocikit-runc\", \"{runtime}\"]\n\
                 tmp_dir = \"{tmp}\"\n\
                 volume_path = \"{volumes}\"\n\
                 [network]\n\
                 network_backend = \"cni\"\n\
                 network_config_dir = \"{net}\"\n",
                runtime = binary().display(),
                events = p("events.log").display(),
                tmp = p("tmp").display(),
                volumes = p("volumes").display(),
                net = p("net").display(),
            ),
        )
        .unwrap();
        std::fs::write(
            p("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                p("storage").display(),
                p("runroot").display()
            ),
        )
        .unwrap();
        let podman = Podman { dir };
        let image = BusyboxImage::build(test);
        let src = format!("oci:{}:{TAG}", image.layout_dir().display());
        podman.ok(&["pull", "-q", &src]);
        podman.ok(&["tag", &podman.image_id(&src), IMAGE]);
        podman
    }

    fn path(&self, s: &str) -> PathBuf {
        self.dir.path().join(s)
    }

    /// The image that `pull SRC` stored: the only one there is.
    fn image_id(&self, src: &str) -> String {
        let ids = self.ok(&["images", "-q", "--no-trunc"]);
        let id = ids.lines().next().unwrap_or_default().trim().to_owned();
        assert!(!id.is_empty(), "no image after pulling {src}");
        id
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.path("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.path("storage.conf"))
            .arg("--root")
            .arg(self.path("storage"))
            .arg("--runroot")
            .arg(self.path("runroot"))
            .args([
                "--storage-driver",
                "overlay",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
                "--runtime",
            ])
            .arg(binary())
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn output(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn podman")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "podman {args:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `podman run RUN_OPTS EXTRA IMAGE CMD...`
    fn run(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut args = vec!["run"];
        args.extend(RUN_OPTS);
        args.extend(extra);
        args.push(IMAGE);
        args.extend(cmd);
        self.output(&args)
    }

    /// A detached `sleep` container named `name`.
    fn start_sleeper(&self, name: &str, extra: &[&str]) -> String {
        let mut opts = vec!["-d", "--name", name];
        opts.extend(extra);
        let out = self.run(&opts, &["sleep", "1000"]);
        assert!(out.status.success(), "run -d: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn status(&self, name: &str) -> String {
        self.ok(&["inspect", "--format", "{{.State.Status}}", name])
            .trim()
            .to_owned()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.output(&["rm", "--all", "--force", "--time", "0"]);
        let _ = self.output(&["rmi", "--all", "--force"]);
        // Anything podman left mounted under the temp dir.
        unmount_under(self.dir.path());
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn podman_run_rm_prints_output_and_exit_code() {
    let test = "podman_run_rm_prints_output_and_exit_code";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let out = podman.run(
        &["--rm", "--hostname", "pod-host"],
        &["sh", "-c", "echo hello from $(hostname); echo $PATH"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "hello from pod-host\n/bin\n", "{out:?}");
    let out = podman.run(&["--rm"], &["sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(
        podman.ok(&["ps", "-aq"]).trim(),
        "",
        "--rm left a container"
    );
}

fn podman_run_d_then_exec() {
    let test = "podman_run_d_then_exec";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    podman.start_sleeper("sleeper", &[]);
    assert_eq!(podman.status("sleeper"), "running");
    let out = podman.output(&[
        "exec",
        "-e",
        "GREETING=hi",
        "sleeper",
        "sh",
        "-c",
        "echo $GREETING from exec; cat /proc/1/cmdline | tr '\\0' ' '; echo",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "hi from exec\nsleep 1000 \n", "{out:?}");
    let out = podman.output(&["exec", "sleeper", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // exec with a terminal: podman relays the pty itself.
    let out = podman.output(&["exec", "-t", "sleeper", "tty"]);
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out).contains("/dev/pts/"), "{out:?}");
    podman.ok(&["rm", "-f", "-t", "0", "sleeper"]);
}

fn podman_run_with_a_terminal() {
    let test = "podman_run_with_a_terminal";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let out = podman.run(&["--rm", "-t"], &["sh", "-c", "tty; echo on-a-tty"]);
    assert!(out.status.success(), "{out:?}");
    let t = text(&out);
    assert!(t.contains("/dev/pts/0"), "{t:?}");
    assert!(t.contains("on-a-tty"), "{t:?}");
}

fn podman_pause_unpause_stop_rm() {
    let test = "podman_pause_unpause_stop_rm";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    // Declared first so that it outlives the container using it.
    let dir = tempdir(test);
    let podman = Podman::new(test);
    let vol = format!("{}:/out", dir.path().display());
    let out = podman.run(
        &["-d", "--name", "counter", "-v", &vol],
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /out/n.tmp; mv /out/n.tmp /out/n; sleep 0.02; done",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let read = || {
        std::fs::read_to_string(dir.path().join("n"))
            .unwrap_or_default()
            .trim()
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(wait_for(Duration::from_secs(10), || (read() > 2).then_some(())).is_some());
    podman.ok(&["pause", "counter"]);
    assert_eq!(podman.status("counter"), "paused");
    std::thread::sleep(Duration::from_millis(100));
    let frozen = read();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(read(), frozen, "the container ran while paused");
    podman.ok(&["unpause", "counter"]);
    assert_eq!(podman.status("counter"), "running");
    assert!(wait_for(Duration::from_secs(10), || (read() > frozen + 2)
        .then_some(()))
    .is_some());

    podman.ok(&["stop", "-t", "2", "counter"]);
    assert_eq!(podman.status("counter"), "exited");
    let stopped = read();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read(), stopped);
    podman.ok(&["rm", "counter"]);
    assert_eq!(podman.ok(&["ps", "-aq"]).trim(), "");
}

fn podman_stats_no_stream() {
    let test = "podman_stats_no_stream";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    podman.start_sleeper("measured", &[]);
    let out = podman.ok(&["stats", "--no-stream", "--format", "json", "measured"]);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
    let row = &v[0];
    assert_eq!(row["name"], "measured", "{v}");
    assert!(row["mem_usage"].is_string(), "{v}");
    assert_eq!(row["pids"], "1", "{v}");
    let table = podman.ok(&["stats", "--no-stream", "measured"]);
    assert!(table.contains("measured"), "{table}");
    podman.ok(&["rm", "-f", "-t", "0", "measured"]);
}

/// Reads a cgroup v1 file of the container's own cgroup, from inside.
const READ_LIMITS: &str = "for c in memory/memory.limit_in_bytes pids/pids.max; do \
     ctl=${c%%/*}; p=$(grep \":$ctl:\" /proc/self/cgroup | cut -d: -f3); \
     cat /sys/fs/cgroup/$ctl$p/${c#*/} 2>/dev/null || cat /sys/fs/cgroup/$c; done";

fn podman_memory_and_pids_limits_reach_the_cgroup() {
    let test = "podman_memory_and_pids_limits_reach_the_cgroup";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let out = podman.run(
        &["--rm", "--memory", "64m", "--pids-limit", "50"],
        &["sh", "-c", READ_LIMITS],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), format!("{}\n50\n", 64u64 << 20), "{out:?}");

    // And on the host, through the container's pid.
    podman.start_sleeper("limited", &["--memory", "32m", "--pids-limit", "40"]);
    let pid: u64 = podman
        .ok(&["inspect", "--format", "{{.State.Pid}}", "limited"])
        .trim()
        .parse()
        .unwrap();
    let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap().trim().to_owned();
    assert_eq!(read(cgroup_dir(pid, "pids").join("pids.max")), "40");
    assert_eq!(
        read(cgroup_dir(pid, "memory").join("memory.limit_in_bytes")),
        (32u64 << 20).to_string()
    );
    podman.ok(&["update", "--memory", "48m", "limited"]);
    assert_eq!(
        read(cgroup_dir(pid, "memory").join("memory.limit_in_bytes")),
        (48u64 << 20).to_string()
    );
    podman.ok(&["rm", "-f", "-t", "0", "limited"]);
}

fn podman_logs_wait_and_restart() {
    let test = "podman_logs_wait_and_restart";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let out = podman.run(
        &["-d", "--name", "job"],
        &["sh", "-c", "echo line-out; echo line-err >&2; exit 7"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(podman.ok(&["wait", "job"]).trim(), "7");
    assert_eq!(
        podman
            .ok(&["inspect", "--format", "{{.State.ExitCode}}", "job"])
            .trim(),
        "7"
    );
    let logs = podman.output(&["logs", "job"]);
    assert_eq!(text(&logs), "line-out\n", "{logs:?}");
    assert_eq!(String::from_utf8_lossy(&logs.stderr), "line-err\n");
    // Starting the exited container again: delete, create and start anew.
    podman.ok(&["start", "job"]);
    assert_eq!(podman.ok(&["wait", "job"]).trim(), "7");
    assert_eq!(
        text(&podman.output(&["logs", "job"])),
        "line-out\nline-out\n"
    );

    podman.start_sleeper("again", &[]);
    let before = podman.ok(&["inspect", "--format", "{{.State.Pid}}", "again"]);
    podman.ok(&["restart", "-t", "0", "again"]);
    assert_eq!(podman.status("again"), "running");
    let after = podman.ok(&["inspect", "--format", "{{.State.Pid}}", "again"]);
    assert_ne!(before, after, "restart kept the old process");
}

fn podman_run_applies_the_process_config() {
    let test = "podman_run_applies_the_process_config";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let out = podman.run(
        &[
            "--rm",
            "--user",
            "1000:1000",
            "--workdir",
            "/tmp",
            "-e",
            "X=from-env",
            "--read-only",
            "--cap-drop",
            "all",
        ],
        &[
            "sh",
            "-c",
            "id -u; id -g; pwd; echo $X; touch /bin/x 2>/dev/null || echo read-only; \
             grep CapEff /proc/self/status",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out),
        "1000\n1000\n/tmp\nfrom-env\nread-only\nCapEff:\t0000000000000000\n",
        "{out:?}"
    );

    // stdin reaches the container with -i.
    let mut child = podman
        .cmd(&[
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--ulimit",
            "nofile=20000:20000",
            "--ulimit",
            "nproc=32768:32768",
            IMAGE,
            "sh",
            "-c",
            "read l; echo \"read $l\"",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"piped\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "read piped\n");
}

fn podman_namespaces_devices_and_signals() {
    let test = "podman_namespaces_devices_and_signals";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    // Host namespaces: the container sees the host's hostname and pids.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = podman.run(
        &["--rm", "--uts", "host", "--pid", "host", "--ipc", "host"],
        &[
            "sh",
            "-c",
            "hostname; test -d /proc/1 && ls /proc | grep -c '^[0-9]'",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let t = text(&out);
    let mut lines = t.lines();
    assert_eq!(lines.next(), Some(host.trim()), "{t}");
    let procs: u32 = lines.next().unwrap_or("0").parse().unwrap_or(0);
    assert!(procs > 5, "host pid namespace shows {procs} processes");

    // A tmpfs, a device and a security option.
    let out = podman.run(
        &[
            "--rm",
            "--tmpfs",
            "/scratch:size=1m",
            "--device",
            "/dev/fuse",
            "--security-opt",
            "no-new-privileges",
        ],
        &[
            "sh",
            "-c",
            "echo x > /scratch/f && cat /scratch/f; test -c /dev/fuse && echo fuse; \
             grep NoNewPrivs /proc/self/status",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "x\nfuse\nNoNewPrivs:\t1\n", "{out:?}");

    // A signal reaches the container's process.
    let dir = tempdir(test);
    let vol = format!("{}:/out", dir.path().display());
    let out = podman.run(
        &["-d", "--name", "trapper", "-v", &vol],
        &[
            "sh",
            "-c",
            "trap 'echo usr1 > /out/got' USR1; echo ready > /out/ready; \
             while true; do sleep 0.05; done",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(wait_for(Duration::from_secs(10), || dir
        .path()
        .join("ready")
        .exists()
        .then_some(()))
    .is_some());
    podman.ok(&["kill", "--signal", "USR1", "trapper"]);
    assert!(
        wait_for(Duration::from_secs(10), || dir
            .path()
            .join("got")
            .exists()
            .then_some(()))
        .is_some(),
        "USR1 never arrived"
    );
    podman.ok(&["kill", "trapper"]);
    podman.ok(&["wait", "trapper"]);
    podman.ok(&["rm", "trapper"]);
}

fn podman_user_namespace_cpu_limits_and_sysctls() {
    let test = "podman_user_namespace_cpu_limits_and_sysctls";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    // A user namespace: root inside is 100000 outside.
    let out = podman.run(
        &[
            "--rm",
            "--uidmap",
            "0:100000:65536",
            "--gidmap",
            "0:100000:65536",
        ],
        &[
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map; touch /tmp/x && echo writable",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let t = text(&out);
    let words: Vec<&str> = t.split_whitespace().collect();
    assert_eq!(words, ["0", "0", "100000", "65536", "writable"], "{t}");

    // CPU limits and a namespaced sysctl, read back from inside.
    let out = podman.run(
        &[
            "--rm",
            "--cpu-shares",
            "512",
            "--cpu-quota",
            "50000",
            "--cpu-period",
            "100000",
            "--cpuset-cpus",
            "0",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--shm-size",
            "2m",
        ],
        &[
            "sh",
            "-c",
            "for f in cpu/cpu.shares cpu/cpu.cfs_quota_us cpuset/cpuset.cpus; do \
               ctl=${f%%/*}; p=$(grep \":[a-z,]*$ctl[a-z,]*:\" /proc/self/cgroup | head -1 | cut -d: -f3); \
               cat /sys/fs/cgroup/$ctl$p/${f#*/} 2>/dev/null || cat /sys/fs/cgroup/$f; done; \
             cat /proc/sys/net/ipv4/ip_forward; df -k /dev/shm | tail -1",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let t = text(&out);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[..4], ["512", "50000", "0", "1"], "{t}");
    assert!(lines[4].split_whitespace().nth(1) == Some("2048"), "{t}");
}

fn podman_info_and_cgroup_modes() {
    let test = "podman_info_and_cgroup_modes";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    // podman info runs `ocikit-runc --version`.
    let info: Value = serde_json::from_str(&podman.ok(&["info", "--format", "json"])).unwrap();
    let rt = &info["host"]["ociRuntime"];
    // podman names a runtime given by path after the path, which is
    // therefore in `runtime_supports_json` too.
    assert_eq!(rt["name"], binary().to_str().unwrap(), "{rt}");
    assert!(
        rt["version"]
            .as_str()
            .is_some_and(|v| v.contains("ocikit-runc version")),
        "{rt}"
    );

    // A private and the host's cgroup namespace. (`--cgroups disabled` is
    // for runtimes in `runtime_supports_nocgroups`, crun's mode: like runc,
    // ocikit-runc always gives a container a cgroup.)
    for mode in ["private", "host"] {
        let out = podman.run(
            &["--rm", "--cgroupns", mode],
            &["sh", "-c", "echo ran; grep -c memory /proc/self/cgroup"],
        );
        assert!(out.status.success(), "{mode}: {out:?}");
        assert_eq!(text(&out), "ran\n1\n", "{mode}: {out:?}");
    }
    // A blkio weight.
    let out = podman.run(
        &["--rm", "--blkio-weight", "300"],
        &["sh", "-c", "echo blkio-ok"],
    );
    // This host has no blkio weight: podman discards it and leaves an
    // empty blockIO object, which asks for nothing.
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "blkio-ok\n");

    // podman turns "executable file not found" into exit code 127.
    let out = podman.run(&["--rm"], &["/no/such/program"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("/no/such/program"),
        "{out:?}"
    );
}

fn podman_joins_another_containers_namespaces() {
    let test = "podman_joins_another_containers_namespaces";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    podman.start_sleeper("host", &["--hostname", "shared-host"]);
    let out = podman.run(
        &[
            "--rm",
            "--pid",
            "container:host",
            "--uts",
            "container:host",
            "--ipc",
            "container:host",
        ],
        &[
            "sh",
            "-c",
            "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "shared-host\nsleep 1000 \n", "{out:?}");

    // exec with a user, a working directory and --detach.
    let out = podman.output(&[
        "exec",
        "--user",
        "1000:1000",
        "--workdir",
        "/tmp",
        "host",
        "sh",
        "-c",
        "id -u; pwd",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out), "1000\n/tmp\n");
    let out = podman.output(&[
        "exec",
        "-d",
        "host",
        "sh",
        "-c",
        "sleep 0.2; touch /tmp/done",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        wait_for(Duration::from_secs(10), || podman
            .output(&["exec", "host", "test", "-e", "/tmp/done"])
            .status
            .success()
            .then_some(()))
        .is_some(),
        "the detached exec never ran"
    );
}

fn podman_run_options_reach_the_container() {
    let test = "podman_run_options_reach_the_container";
    if !testkit::need::root_and(TOOLS) {
        return;
    }
    let podman = Podman::new(test);
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let cases: &[(&[&str], &str, String)] = &[
        (
            &["--memory", "64m", "--memory-swap", "128m"],
            "echo ok",
            "ok\n".into(),
        ),
        (
            &["--memory", "64m", "--memory-reservation", "32m"],
            "echo ok",
            "ok\n".into(),
        ),
        (
            &["--oom-kill-disable", "--memory", "64m"],
            "echo ok",
            "ok\n".into(),
        ),
        (&["--memory-swappiness", "10"], "echo ok", "ok\n".into()),
        (
            &["--oom-score-adj", "100"],
            "cat /proc/self/oom_score_adj",
            "100\n".into(),
        ),
        (&["--group-add", "10"], "id -G", "0 10\n".into()),
        (
            &["--security-opt", "seccomp=unconfined"],
            "grep Seccomp: /proc/self/status",
            "Seccomp:\t0\n".into(),
        ),
        (
            &["--cap-add", "SYS_ADMIN"],
            "mount -t tmpfs t /tmp && echo mounted",
            "mounted\n".into(),
        ),
        (
            &["--privileged"],
            "test -e /dev/kmsg && echo devices",
            "devices\n".into(),
        ),
        (
            &["--mount", "type=tmpfs,destination=/m,tmpfs-mode=0700"],
            "stat -c %a /m",
            "700\n".into(),
        ),
        (
            &["--volume", "/etc/hostname:/h:ro"],
            "cat /h; echo x 2>/dev/null > /h || echo read-only",
            format!("{host}read-only\n"),
        ),
    ];
    for (opts, script, want) in cases {
        let mut o = vec!["--rm"];
        o.extend(*opts);
        let out = podman.run(&o, &["sh", "-c", script]);
        assert!(out.status.success(), "{opts:?}: {out:?}");
        assert_eq!(&text(&out), want, "{opts:?}: {out:?}");
    }
    // Block I/O throttling of a real block device, read back from the
    // host's blkio cgroup (cgroup v1 here).
    let Some(disk) = std::fs::read_dir("/sys/block")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| !n.starts_with("loop") && !n.starts_with("ram") && !n.starts_with("zram"))
        .filter(|n| std::path::Path::new("/dev").join(n).exists())
    else {
        println!("{test}: no block device, throttling not checked");
        return;
    };
    let majmin = std::fs::read_to_string(format!("/sys/block/{disk}/dev")).unwrap();
    let throttle = format!("/dev/{disk}:1mb");
    podman.start_sleeper("throttled", &["--device-read-bps", &throttle]);
    let pid: u64 = podman
        .ok(&["inspect", "--format", "{{.State.Pid}}", "throttled"])
        .trim()
        .parse()
        .unwrap();
    let file = cgroup_dir(pid, "blkio").join("blkio.throttle.read_bps_device");
    if file.exists() {
        let limits = std::fs::read_to_string(&file).unwrap();
        assert_eq!(limits, format!("{} 1048576\n", majmin.trim()), "{limits}");
    }
    podman.ok(&["rm", "-f", "-t", "0", "throttled"]);
}

/// The tests of this module, for the suite's runner.
pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    podman_run_rm_prints_output_and_exit_code,
    podman_run_d_then_exec,
    podman_run_with_a_terminal,
    podman_pause_unpause_stop_rm,
    podman_stats_no_stream,
    podman_memory_and_pids_limits_reach_the_cgroup,
    podman_logs_wait_and_restart,
    podman_run_applies_the_process_config,
    podman_namespaces_devices_and_signals,
    podman_user_namespace_cpu_limits_and_sysctls,
    podman_info_and_cgroup_modes,
    podman_joins_another_containers_namespaces,
    podman_run_options_reach_the_container
];
