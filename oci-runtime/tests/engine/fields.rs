//! Process attributes and other config fields, checked by their effect
//! inside the container: scheduler, I/O priority, personality, CPU
//! affinity, memory policy.

use oci_runtime::oci_types::runtime::{
    ExecCpuAffinity, IoPriority, IoPriorityClass, MemoryPolicy, MemoryPolicyMode, Namespace,
    NamespaceType, Personality, PersonalityDomain, Scheduler, SchedulerPolicy, TimeOffset,
    TimeOffsets,
};
use oci_runtime::CreateOptions;

use crate::common::*;

pub(crate) const TESTS: &[crate::Test] = &[
    ("fields::scheduler_batch_nice", scheduler_batch_nice),
    ("fields::io_priority_idle_and_be", io_priority_idle_and_be),
    ("fields::personality_linux32", personality_linux32),
    ("fields::exec_cpu_affinity", exec_cpu_affinity),
    ("fields::memory_policy_bind", memory_policy_bind),
    (
        "fields::time_namespace_offsets_and_join",
        time_namespace_offsets_and_join,
    ),
];

fn scheduler_batch_nice() {
    if !root_or_skip("scheduler_batch_nice") {
        return;
    }
    // SCHED_BATCH: a real-time policy would need cpu.rt_runtime_us in
    // the container's v1 cpu group, which is 0 here.
    let mut b = Bundle::new(&["grep", "-E", "^(policy|prio) ", "/proc/self/sched"]);
    let mut s = Scheduler::new(SchedulerPolicy::Batch);
    s.nice = 7;
    b.spec.process.as_mut().unwrap().scheduler = Some(s);
    let (code, out) = b.run("t-sched");
    assert_eq!(code, 0, "{out}");
    let fields: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    // SCHED_BATCH is 3; nice 7 is static priority 120 + 7.
    assert_eq!(
        fields,
        [("policy".into(), "3".into()), ("prio".into(), "127".into())],
        "{out}"
    );
}

fn io_priority_idle_and_be() {
    if !root_or_skip("io_priority_idle_and_be") {
        return;
    }
    for (class, prio, want) in [
        (IoPriorityClass::Idle, 0, "idle"),
        (IoPriorityClass::Be, 6, "best-effort: prio 6"),
    ] {
        let mut b = Bundle::new(&["busybox", "ionice"]);
        b.spec.process.as_mut().unwrap().io_priority = Some(IoPriority::new(class, prio));
        let (code, out) = b.run("t-ioprio");
        assert_eq!((code, out.trim()), (0, want), "{out}");
    }
}

fn personality_linux32() {
    if !root_or_skip("personality_linux32") {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "cat /proc/self/personality; busybox uname -m"]);
    let mut p = Personality::default();
    p.domain = Some(PersonalityDomain::Linux32);
    b.spec.linux.as_mut().unwrap().personality = Some(p);
    let (code, out) = b.run("t-pers");
    assert_eq!((code, out.as_str()), (0, "00000008\ni686\n"), "{out}");
}

fn exec_cpu_affinity() {
    if !root_or_skip("exec_cpu_affinity") {
        return;
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        println!("test exec_cpu_affinity ... skipped: needs 2 CPUs");
        SKIPPED.store(true, std::sync::atomic::Ordering::SeqCst);
        return;
    }
    let mut b = Bundle::new(&["grep", "^Cpus_allowed_list", "/proc/self/status"]);
    let mut a = ExecCpuAffinity::default();
    a.initial = Some("0".into());
    a.r#final = Some("1".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    let (code, out) = b.run("t-affinity");
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.split_whitespace().nth(1), Some("1"), "{out}");

    // A list the kernel cannot take fails create with a config error.
    let mut a = ExecCpuAffinity::default();
    a.r#final = Some("1-0".into());
    b.spec.process.as_mut().unwrap().exec_cpu_affinity = Some(a);
    b.write();
    let e =
        b.rt.create("t-affinity2", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("config process.execCPUAffinity.final: expected"),
        "{e}"
    );
}

fn memory_policy_bind() {
    if !root_or_skip("memory_policy_bind") {
        return;
    }
    if !std::path::Path::new("/proc/self/numa_maps").exists() {
        println!("test memory_policy_bind ... skipped: kernel without NUMA");
        SKIPPED.store(true, std::sync::atomic::Ordering::SeqCst);
        return;
    }
    // numa_maps shows the task's policy for mappings without their own.
    for (mode, nodes, want) in [
        (MemoryPolicyMode::Bind, "0", "bind:0"),
        (MemoryPolicyMode::Preferred, "0", "prefer:0"),
        (MemoryPolicyMode::Interleave, "0", "interleave:0"),
    ] {
        let mut b = Bundle::new(&["sh", "-c", "busybox head -n1 /proc/self/numa_maps"]);
        let mut m = MemoryPolicy::default();
        m.mode = Some(mode);
        m.nodes = nodes.into();
        b.spec.linux.as_mut().unwrap().memory_policy = Some(m);
        let (code, out) = b.run("t-mempolicy");
        assert_eq!(code, 0, "{out}");
        assert_eq!(out.split_whitespace().nth(1), Some(want), "{out}");
    }
}

/// Whole seconds of the first field of /proc/uptime text.
fn uptime(text: &str) -> u64 {
    text.split(['.', ' '])
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("uptime {text:?}"))
}

fn time_namespace_offsets_and_join() {
    if !root_or_skip("time_namespace_offsets_and_join") {
        return;
    }
    const DAYS_1000: i64 = 1000 * 86400;
    let host = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let mut a = Bundle::new(&["sh", "-c", "cat /proc/uptime; sleep 100"]);
    let linux = a.spec.linux.as_mut().unwrap();
    linux.namespaces.push(Namespace::new(NamespaceType::Time));
    let mut boot = TimeOffset::default();
    boot.secs = DAYS_1000;
    let mut mono = TimeOffset::default();
    mono.secs = 3600;
    mono.nanosecs = 5;
    let mut offsets = TimeOffsets::default();
    offsets.boottime = Some(boot);
    offsets.monotonic = Some(mono);
    linux.time_offsets = Some(offsets);
    a.write();
    let (o, out) = a.capture();
    let first = a.rt.create("t-timens-a", a.path(), o).unwrap();
    a.rt.start("t-timens-a").unwrap();
    let ns = format!("/proc/{}/ns/time", first.pid());
    // The kernel's own view of the offsets of the container's namespace.
    let seen = std::fs::read_to_string(format!("/proc/{}/timens_offsets", first.pid())).unwrap();
    let seen: Vec<Vec<&str>> = seen
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        seen,
        [
            vec!["monotonic", "3600", "5"],
            vec!["boottime", "86400000", "0"]
        ]
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let inside = loop {
        let text = std::fs::read_to_string(&out).unwrap();
        if !text.is_empty() || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let inside = uptime(&inside);
    assert!(
        inside >= host + DAYS_1000 as u64 && inside < host + DAYS_1000 as u64 + 60,
        "uptime inside {inside}, host {host}"
    );

    // A second container joins the first one's time namespace by path.
    let mut b = Bundle::new(&["cat", "/proc/uptime"]);
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .namespaces
        .push(Namespace::new(NamespaceType::Time));
    b.spec
        .linux
        .as_mut()
        .unwrap()
        .namespaces
        .last_mut()
        .unwrap()
        .path = ns;
    let (code, text) = b.run("t-timens-b");
    assert_eq!(code, 0, "{text}");
    assert!(uptime(&text) >= host + DAYS_1000 as u64, "{text}");
    a.rt.delete("t-timens-a", oci_runtime::DeleteMode::Force)
        .unwrap();
}
