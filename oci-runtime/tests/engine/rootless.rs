//! Rootless containers: an unprivileged user runs a container in a user
//! namespace, without cgroups. The test (as root) copies this binary into
//! a directory the user owns and re-runs it as that user; the child runs
//! one container with the engine (and an exec into it) and exits with its
//! status.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use ocikit_runtime::{CreateOptions, DeleteMode, ExecOptions, Runtime};
use ocikit_types::runtime::{IdMapping, Process, Spec};
use ocikit_types::Document;

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("rootless::own_ids_only", own_ids_only),
    ("rootless::subordinate_ids", subordinate_ids),
];

const ENV: &str = "OCIKIT_TEST_ROOTLESS";
/// The user `.ci/run` creates with subordinate ids in /etc/subuid.
const SUB_USER: &str = testkit::need::ROOTLESS_USER;

/// In the child (as the unprivileged user): run the bundle detached, exec
/// `id -u` into it, print both outputs, delete it.
pub(crate) fn child_if_requested() {
    let Ok(req) = std::env::var(ENV) else { return };
    let (state, bundle) = req.split_once(':').unwrap();
    let rt = Runtime::new(state);
    let result = (|| -> Result<i32, ocikit_runtime::Error> {
        rt.create("rl", bundle, CreateOptions::new())?;
        rt.start("rl")?;
        let mut p = Process::new("/");
        p.args = vec!["sh".into(), "-c".into(), "echo exec=$(id -u)".into()];
        p.env = vec!["PATH=/bin".into()];
        let code = rt.exec("rl", &p, ExecOptions::new())?.wait()?.code();
        rt.kill(
            "rl",
            ocikit_runtime::Signal::KILL,
            ocikit_runtime::KillScope::All,
        )?;
        rt.wait("rl")?;
        rt.delete("rl", DeleteMode::Stopped)?;
        Ok(code)
    })();
    std::process::exit(match result {
        Ok(code) => code,
        Err(e) => {
            println!("engine error: {e}");
            99
        }
    });
}

/// Runs the rootless bundle `b` (its spec already rootless) as `uid:gid`;
/// returns the exit code and output.
fn run_as(b: &Bundle, uid: u32, gid: u32) -> (i32, String) {
    b.write();
    let exe = b.path().join("engine-test");
    std::fs::copy("/proc/self/exe", &exe).unwrap();
    let state = b.path().join("rootless-state");
    std::fs::create_dir(&state).unwrap();
    for entry in walk(b.path()) {
        std::os::unix::fs::lchown(&entry, Some(uid), Some(gid)).unwrap();
    }
    std::fs::set_permissions(b.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = b.path().join("out");
    let f = std::fs::File::create(&out).unwrap();
    let status = Command::new(&exe)
        .arg("rootless-child")
        .uid(uid)
        .gid(gid)
        .env(ENV, format!("{}:{}", state.display(), b.path().display()))
        .env_remove("XDG_RUNTIME_DIR")
        .current_dir(b.path())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(out).unwrap(),
    )
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![dir.to_owned()];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            all.extend(walk(&p));
        } else {
            all.push(p);
        }
    }
    all
}

fn rootless_bundle(uid: u32, gid: u32, args: &[&str]) -> Bundle {
    let mut b = Bundle::new(args);
    let mut spec = Spec::default_linux_rootless(uid, gid);
    let p = spec.process.as_mut().unwrap();
    p.terminal = false;
    p.args = args.iter().map(|s| s.to_string()).collect();
    b.spec = spec;
    b
}

fn own_ids_only() {
    if !root_or_skip() {
        return;
    }
    let (uid, gid) = (4242, 4242);
    let b = rootless_bundle(
        uid,
        gid,
        &[
            "sh",
            "-c",
            "echo init=$(id -u); cat /proc/self/uid_map; sleep 1000",
        ],
    );
    let (code, out) = run_as(&b, uid, gid);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("init=0\n"), "{out}");
    assert!(out.contains("exec=0\n"), "{out}");
    let map: Vec<&str> = out
        .lines()
        .find(|l| l.trim_start().starts_with('0'))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(map, ["0", "4242", "1"], "{out}");
    // Nothing was left in the state directory, and no cgroup was made.
    assert_eq!(
        std::fs::read_dir(b.path().join("rootless-state"))
            .unwrap()
            .count(),
        0
    );
    assert!(cgroup_file("rl", "pids", "cgroup.procs").is_none());
}

fn subordinate_ids() {
    if !root_or_skip() {
        return;
    }
    let found = (
        testkit::need::user_ids(SUB_USER),
        testkit::need::subordinate_range("/etc/subuid", SUB_USER),
        testkit::need::subordinate_range("/etc/subgid", SUB_USER),
        Path::new("/usr/bin/newuidmap").exists(),
    );
    let (Some((uid, gid)), Some((su, sn)), Some((sg, gn)), true) = found else {
        let why = format!(
            "needs user {SUB_USER} with /etc/subuid and /etc/subgid ranges and newuidmap \
             (package uidmap); .ci/run sets them up"
        );
        testkit::need::missing(why);
        return;
    };
    let mut b = rootless_bundle(
        uid,
        gid,
        &[
            "sh",
            "-c",
            "echo init=$(id -u); cat /proc/self/uid_map; sleep 1000",
        ],
    );
    let linux = b.spec.linux.as_mut().unwrap();
    linux.uid_mappings = vec![
        IdMapping::new(0, uid, 1),
        IdMapping::new(1, su, sn.min(65536)),
    ];
    linux.gid_mappings = vec![
        IdMapping::new(0, gid, 1),
        IdMapping::new(1, sg, gn.min(65536)),
    ];
    let (code, out) = run_as(&b, uid, gid);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("init=0\n") && out.contains("exec=0\n"),
        "{out}"
    );
    let ranges: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.split_whitespace().count() == 3)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(ranges.len(), 2, "{out}");
    assert_eq!(
        ranges[1],
        ["1", &su.to_string(), &sn.min(65536).to_string()]
    );
    // Ids beyond the user's grant are refused by newgidmap/newuidmap.
    let mut b2 = rootless_bundle(uid, gid, &["true"]);
    b2.spec.linux.as_mut().unwrap().uid_mappings =
        vec![IdMapping::new(0, uid, 1), IdMapping::new(1, 1, 10)];
    let (code, out) = run_as(&b2, uid, gid);
    assert_eq!(code, 99, "{out}");
    assert!(out.contains("newuidmap"), "{out}");
    let _ = b.spec.to_pretty_string();
}
