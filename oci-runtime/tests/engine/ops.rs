//! pause, resume, ps, stats and update of live containers.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ocikit_runtime::{CreateOptions, DeleteMode, KillScope, Runtime, Signal};
use ocikit_types::runtime::{Cpu, Memory, Pids, Resources, Status};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    ("ops::pause_resume_kill", pause_resume_kill),
    ("ops::force_delete_paused", force_delete_paused),
    ("ops::ps_lists_children", ps_lists_children),
    (
        "ops::stats_of_running_container",
        stats_of_running_container,
    ),
    ("ops::update_live_limits", update_live_limits),
    ("ops::pause_resume_pure_v2", pause_resume_pure_v2),
];

fn wait_for(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Lines of the log the container appends to (rootfs/tmp/log).
fn lines(b: &Bundle) -> usize {
    std::fs::read_to_string(b.path().join("rootfs/tmp/log"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// A started container appending a line to /tmp/log every 20 ms.
fn ticker(id: &str) -> Bundle {
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "while true; do echo x >> /tmp/log; sleep 0.02; done",
    ]);
    if let Some(root) = b.spec.root.as_mut() {
        root.readonly = false;
    }
    b.write();
    b.rt.create(id, b.path(), CreateOptions::new()).unwrap();
    b.rt.start(id).unwrap();
    wait_for(|| lines(&b) > 0);
    b
}

fn status(b: &Bundle, id: &str) -> Status {
    b.rt.state(id).unwrap().status
}

fn pause_resume_kill() {
    if !root_or_skip() {
        return;
    }
    let id = "t-pause";
    let b = ticker(id);
    let e = b.rt.resume(id).unwrap_err();
    assert!(e.is_not_paused(), "{e}");
    assert_eq!(e.to_string(), format!("container not paused: {id}"));

    b.rt.pause(id).unwrap();
    assert_eq!(status(&b, id).as_str(), "paused");
    let json = serde_json::to_value(b.rt.state(id).unwrap()).unwrap();
    assert_eq!(json["status"], "paused");
    let frozen = lines(&b);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lines(&b), frozen, "the log grew while paused");
    // Pausing twice is refused in runc's words.
    assert!(b.rt.pause(id).unwrap_err().is_not_running());

    b.rt.resume(id).unwrap();
    assert_eq!(status(&b, id), Status::Running);
    wait_for(|| lines(&b) > frozen);

    b.rt.pause(id).unwrap();
    b.rt.resume(id).unwrap();
    b.rt.kill(id, Signal::KILL, KillScope::All).unwrap();
    wait_for(|| status(&b, id) == Status::Stopped);
    assert!(b.rt.pause(id).unwrap_err().is_not_running());
    assert!(b.rt.resume(id).unwrap_err().is_not_paused());
    b.rt.delete(id, DeleteMode::Stopped).unwrap();
}

fn force_delete_paused() {
    if !root_or_skip() {
        return;
    }
    let id = "t-pause-del";
    let b = ticker(id);
    let pid = b.rt.container(id).unwrap().pid();
    b.rt.pause(id).unwrap();
    let e = b.rt.delete(id, DeleteMode::Stopped).unwrap_err();
    assert!(e.to_string().contains("found paused"), "{e}");
    b.rt.delete(id, DeleteMode::Force).unwrap();
    assert!(b.rt.state(id).unwrap_err().is_not_found());
    assert!(
        !Path::new(&format!("/proc/{pid}/stat")).exists() || {
            let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            s.contains(") Z")
        }
    );
}

fn ps_lists_children() {
    if !root_or_skip() {
        return;
    }
    let id = "t-ps";
    let b = Bundle::new(&["sh", "-c", "sleep 100 & sleep 200"]);
    b.write();
    let c = b.rt.create(id, b.path(), CreateOptions::new()).unwrap();
    assert_eq!(b.rt.ps(id).unwrap(), [c.pid()]);
    b.rt.start(id).unwrap();
    wait_for(|| b.rt.ps(id).unwrap().len() >= 2);
    let pids = b.rt.ps(id).unwrap();
    assert!(pids.contains(&c.pid()), "{pids:?}");
    assert!(pids.windows(2).all(|w| w[0] < w[1]), "{pids:?}");
    b.rt.kill(id, Signal::KILL, KillScope::All).unwrap();
    wait_for(|| b.rt.ps(id).unwrap().is_empty());
    b.rt.delete(id, DeleteMode::Stopped).unwrap();
    assert!(b.rt.ps(id).unwrap_err().is_not_found());
}

fn stats_of_running_container() {
    if !root_or_skip() {
        return;
    }
    let id = "t-stats";
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100",
    ]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    let mut m = Memory::default();
    m.limit = Some(64 << 20);
    r.memory = Some(m);
    r.pids = Some(Pids::new(50));
    linux.resources = Some(r);
    b.write();
    b.rt.create(id, b.path(), CreateOptions::new()).unwrap();
    b.rt.start(id).unwrap();
    wait_for(|| b.rt.stats(id).unwrap().cpu.usage.total > 0);
    let s = b.rt.stats(id).unwrap();
    assert!(s.memory.usage.usage > 0, "{s:?}");
    assert_eq!(s.memory.usage.limit, 64 << 20);
    assert!(s.pids.current >= 1, "{s:?}");
    assert_eq!(s.pids.limit, 50);
    assert!(!s.cpuset.cpus.is_empty(), "{s:?}");
    assert!(!s.memory.raw.is_empty());
    let v = serde_json::to_value(&s).unwrap();
    for key in ["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    assert!(v["memory"]["usage"]["usage"].as_u64().unwrap() > 0);
    assert!(v["pids"]["current"].as_u64().unwrap() >= 1);
    assert!(v["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    b.rt.kill(id, Signal::KILL, KillScope::All).unwrap();
    wait_for(|| status(&b, id) == Status::Stopped);
    assert!(b.rt.stats(id).unwrap_err().is_not_running());
}

fn update_live_limits() {
    if !root_or_skip() {
        return;
    }
    let id = "t-update";
    let mut b = Bundle::new(&["sleep", "100"]);
    let linux = b.spec.linux.as_mut().unwrap();
    let mut r = linux.resources.clone().unwrap_or_default();
    r.pids = Some(Pids::new(20));
    linux.resources = Some(r);
    b.write();
    b.rt.create(id, b.path(), CreateOptions::new()).unwrap();
    b.rt.start(id).unwrap();
    let read = |v1: &str, v2: &str| {
        let p = cgroup_file(id, v1, v2)
            .or_else(|| cgroup_file(id, "", v2))
            .unwrap_or_else(|| panic!("{v1}/{v2}"));
        std::fs::read_to_string(p).unwrap().trim().to_owned()
    };
    assert_eq!(read("pids", "pids.max"), "20");

    let mut r = Resources::default();
    r.pids = Some(Pids::new(33));
    let mut m = Memory::default();
    m.limit = Some(96 << 20);
    r.memory = Some(m);
    let mut cpu = Cpu::default();
    cpu.quota = Some(30_000);
    cpu.period = Some(100_000);
    cpu.cpus = Some("0".into());
    r.cpu = Some(cpu);
    b.rt.update(id, &r).unwrap();
    assert_eq!(read("pids", "pids.max"), "33");
    let mem = cgroup_file(id, "memory", "memory.limit_in_bytes")
        .or_else(|| cgroup_file(id, "", "memory.max"))
        .expect("memory limit file");
    assert_eq!(
        std::fs::read_to_string(mem).unwrap().trim(),
        (96u64 << 20).to_string()
    );
    assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    if let Some(q) = cgroup_file(id, "cpu", "cpu.cfs_quota_us") {
        assert_eq!(std::fs::read_to_string(q).unwrap().trim(), "30000");
    } else {
        assert_eq!(read("", "cpu.max"), "30000 100000");
    }
    let s = b.rt.stats(id).unwrap();
    assert_eq!((s.pids.limit, s.memory.usage.limit), (33, 96 << 20));

    // Unlimited again, and only what is given changes.
    let mut r = Resources::default();
    r.pids = Some(Pids::new(-1));
    b.rt.update(id, &r).unwrap();
    assert_eq!(read("pids", "pids.max"), "max");
    assert_eq!(b.rt.stats(id).unwrap().memory.usage.limit, 96 << 20);

    // Hugepage limits too, wherever hugetlb lives (cgroup2 on the hybrid
    // host).
    let mut r = Resources::default();
    r.hugepage_limits
        .push(ocikit_types::runtime::HugepageLimit::new("2MB", 6 << 20));
    b.rt.update(id, &r).unwrap();
    let file = cgroup_file(id, "hugetlb", "hugetlb.2MB.limit_in_bytes")
        .or_else(|| cgroup_file(id, "unified", "hugetlb.2MB.max"))
        .or_else(|| cgroup_file(id, "", "hugetlb.2MB.max"))
        .expect("hugetlb file");
    assert_eq!(std::fs::read_to_string(file).unwrap().trim(), "6291456");

    b.rt.kill(id, Signal::KILL, KillScope::Init).unwrap();
    wait_for(|| status(&b, id) == Status::Stopped);
    assert!(b
        .rt
        .update(id, &Resources::default())
        .unwrap_err()
        .is_not_running());
}

const PAUSE_ENV: &str = "OCIKIT_TEST_PAUSE";

/// In the child of [`pause_resume_pure_v2`]: `OCIKIT_TEST_PAUSE=root:bundle`
/// reads stats of a ticker container, pauses and resumes it with
/// cgroup2's freezer, then
/// exits 0, or prints what failed and exits 1.
pub(crate) fn pause_child_if_requested() {
    let Ok(req) = std::env::var(PAUSE_ENV) else {
        return;
    };
    let (root, bundle) = req.split_once(':').unwrap();
    let rt = Runtime::new(root);
    let id = "t-pause-v2";
    let log = Path::new(bundle).join("rootfs/tmp/log");
    let lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let events = Path::new("/sys/fs/cgroup/ocikit")
        .join(id)
        .join("cgroup.events");
    let check = || -> Result<(), String> {
        rt.create(id, bundle, CreateOptions::new())
            .map_err(|e| e.to_string())?;
        rt.start(id).map_err(|e| e.to_string())?;
        wait_for(|| lines() > 0);
        // Only cgroup2's core files here: cpu.stat gives the CPU time.
        let stats = rt.stats(id).map_err(|e| e.to_string())?;
        if stats.cpu.usage.total == 0 {
            return Err(format!("no cpu time on cgroup2: {stats:?}"));
        }
        rt.pause(id).map_err(|e| e.to_string())?;
        let st = rt.state(id).map_err(|e| e.to_string())?.status;
        let ev = std::fs::read_to_string(&events).map_err(|e| e.to_string())?;
        if st.as_str() != "paused" || !ev.contains("frozen 1") {
            return Err(format!("after pause: status {st:?}, cgroup.events {ev:?}"));
        }
        let frozen = lines();
        std::thread::sleep(Duration::from_millis(200));
        if lines() != frozen {
            return Err("the log grew while paused".into());
        }
        rt.resume(id).map_err(|e| e.to_string())?;
        wait_for(|| lines() > frozen);
        rt.pause(id).map_err(|e| e.to_string())?;
        rt.delete(id, DeleteMode::Force).map_err(|e| e.to_string())
    };
    let code = match check() {
        Ok(()) => 0,
        Err(e) => {
            println!("{e}");
            let _ = rt.delete(id, DeleteMode::Force);
            1
        }
    };
    std::process::exit(code);
}

fn pause_resume_pure_v2() {
    if !root_or_skip() {
        return;
    }
    if !Path::new("/sys/fs/cgroup/unified/cgroup.controllers").exists() {
        testkit::need::skip("no cgroup2 hierarchy to mount alone");
        return;
    }
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "while true; do echo x >> /tmp/log; sleep 0.02; done",
    ]);
    if let Some(root) = b.spec.root.as_mut() {
        root.readonly = false;
    }
    b.spec.linux.as_mut().unwrap().resources = None;
    b.write();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg("umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" pause-child")
        .arg(exe)
        .env(
            PAUSE_ENV,
            format!("{}:{}", b.rt.root().display(), b.path().display()),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!Path::new("/sys/fs/cgroup/unified/ocikit/t-pause-v2").exists());
}
