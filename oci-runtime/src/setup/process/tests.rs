use super::attributes::*;
use super::*;
use crate::sys::fake::Recording;
use ocikit_types::runtime::{Capabilities, Rlimit, User};
use ocikit_types::runtime::{
    IoPriority, IoPriorityClass, MemoryPolicy, MemoryPolicyFlag, MemoryPolicyMode, Personality,
    PersonalityDomain, Scheduler, SchedulerFlag, SchedulerPolicy, Spec,
};

#[test]
fn order_and_values() {
    let mut p = Process::new("/work");
    let mut u = User::new(1000, 100);
    u.additional_gids = vec![5, 6];
    u.umask = Some(0o077);
    p.user = Some(u);
    p.no_new_privileges = true;
    p.rlimits = vec![Rlimit::new(RlimitType::Nofile, 512, 1024)];
    let mut caps = Capabilities::default();
    caps.bounding = vec![Capability::Kill, Capability::Chown];
    caps.effective = vec![Capability::Kill];
    caps.permitted = vec![Capability::Kill];
    caps.ambient = vec![Capability::Kill];
    p.capabilities = Some(caps);
    let sys = Recording::default();
    setup(&sys, &p).unwrap();
    let lines = sys.lines();
    assert_eq!(
        lines[0],
        format!("setrlimit {} 512 1024", libc::RLIMIT_NOFILE)
    );
    // Chown (0) and Kill (5) stay in the bounding set, the rest go.
    assert!(!lines.contains(&"drop_bounding 0".to_owned()));
    assert!(!lines.contains(&"drop_bounding 5".to_owned()));
    assert!(lines.contains(&"drop_bounding 21".to_owned()));
    let pos = |s: &str| lines.iter().position(|l| l == s).unwrap();
    assert!(pos("drop_bounding 21") < pos("set_ids 1000 100"));
    assert!(pos("keep_caps") < pos("set_ids 1000 100"));
    assert!(pos("setgroups [5, 6]") < pos("set_ids 1000 100"));
    assert!(pos("set_ids 1000 100") < pos("capset 0x20 0x20 0x0"));
    assert!(pos("capset 0x20 0x20 0x0") < pos("raise_ambient 5"));
    assert_eq!(
        &lines[lines.len() - 3..],
        ["no_new_privs", "umask 77", "chdir /work"]
    );
}

#[test]
fn ambient_not_inheritable_is_skipped() {
    let mut p = Process::new("/");
    let mut caps = Capabilities::default();
    caps.permitted = vec![Capability::Kill, Capability::Chown];
    caps.inheritable = vec![Capability::Chown];
    caps.ambient = vec![Capability::Kill];
    p.capabilities = Some(caps.clone());
    let sys = Recording {
        fail_prefix: Some("raise_ambient".into()),
        ..Recording::default()
    };
    setup(&sys, &p).unwrap();
    // One that is permitted and inheritable must be raised.
    caps.ambient = vec![Capability::Chown];
    p.capabilities = Some(caps);
    let e = setup(&sys, &p).unwrap_err();
    assert_eq!(e.to_string(), "raise ambient capability 0");
}

#[test]
fn failures_name_the_step() {
    let mut p = Process::new("/");
    p.user = Some(User::new(7, 7));
    let sys = Recording {
        fail_prefix: Some("set_ids".into()),
        ..Recording::default()
    };
    let e = setup(&sys, &p).unwrap_err();
    assert_eq!(e.to_string(), "set uid 7 and gid 7");
    assert!(
        matches!(&e, SetupError::Os { source, .. } if source.raw_os_error() == Some(libc::EPERM)),
        "{e:?}"
    );
}

#[test]
fn lists_parse() {
    let p = |s| parse_list("f", s);
    assert_eq!(p("0-1,3").unwrap(), [0, 1, 3]);
    assert_eq!(p("7").unwrap(), [7]);
    assert_eq!(p("3,1-2,2").unwrap(), [1, 2, 3]);
    for bad in ["", "1-", "-1", "2-1", "a", "1,,2", "0-9000"] {
        let e = p(bad).unwrap_err();
        assert_eq!(e.field, "f");
        assert_eq!(e.found, format!("{bad:?}"));
    }
    // Surrounding whitespace is tolerated, as the kernel does.
    assert_eq!(p("0-1\n").unwrap(), [0, 1]);
}

#[test]
fn attribute_values() {
    let mut s = Scheduler::new(SchedulerPolicy::Batch);
    s.nice = 7;
    s.flags = vec![SchedulerFlag::ResetOnFork];
    let a = sched_attr(&s).unwrap();
    assert_eq!((a.policy, a.flags, a.nice, a.size), (3, 1, 7, 56));
    s.policy = SchedulerPolicy::Iso;
    assert_eq!(
        sched_attr(&s).unwrap_err().field,
        "process.scheduler.policy"
    );
    s.policy = SchedulerPolicy::Deadline;
    s.nice = 20;
    assert_eq!(sched_attr(&s).unwrap_err().field, "process.scheduler.nice");

    assert_eq!(
        ioprio_value(&IoPriority::new(IoPriorityClass::Idle, 0)).unwrap(),
        3 << 13
    );
    assert_eq!(
        ioprio_value(&IoPriority::new(IoPriorityClass::Be, 6)).unwrap(),
        2 << 13 | 6
    );
    assert!(ioprio_value(&IoPriority::new(IoPriorityClass::Rt, 8)).is_err());

    let mut p = Personality::default();
    assert!(personality_value(&p).is_err());
    p.domain = Some(PersonalityDomain::Linux32);
    assert_eq!(personality_value(&p).unwrap(), 8);
    p.flags = vec!["SHORT_INODE".into()];
    assert_eq!(
        personality_value(&p).unwrap_err().field,
        "linux.personality.flags"
    );

    let mut m = MemoryPolicy::default();
    m.mode = Some(MemoryPolicyMode::Bind);
    assert!(mempolicy(&m).is_err(), "bind without nodes");
    m.nodes = "0,65".into();
    m.flags = vec![MemoryPolicyFlag::StaticNodes];
    assert_eq!(mempolicy(&m).unwrap(), (2 | 1 << 15, vec![1, 2]));
    m.mode = Some(MemoryPolicyMode::Local);
    assert!(mempolicy(&m).is_err(), "local with nodes");
    m.nodes.clear();
    m.flags.clear();
    assert_eq!(mempolicy(&m).unwrap(), (4, vec![]));
}

#[test]
fn attributes_are_applied_in_order() {
    use ocikit_types::runtime::ExecCpuAffinity;
    let mut spec = Spec::default_linux();
    let linux = spec.linux.as_mut().unwrap();
    let mut pers = Personality::default();
    pers.domain = Some(PersonalityDomain::Linux32);
    linux.personality = Some(pers);
    let mut m = MemoryPolicy::default();
    m.mode = Some(MemoryPolicyMode::Preferred);
    m.nodes = "0".into();
    linux.memory_policy = Some(m);
    let p = spec.process.as_mut().unwrap();
    p.io_priority = Some(IoPriority::new(IoPriorityClass::Be, 4));
    let mut s = Scheduler::new(SchedulerPolicy::Idle);
    s.flags = vec![SchedulerFlag::ResetOnFork];
    p.scheduler = Some(s);
    let mut a = ExecCpuAffinity::default();
    a.initial = Some("0".into());
    a.r#final = Some("1-2".into());
    p.exec_cpu_affinity = Some(a);
    check_attributes(&spec).unwrap();
    let mut dl = spec.clone();
    dl.process.as_mut().unwrap().scheduler = Some(Scheduler::new(SchedulerPolicy::Deadline));
    let mut hooks = ocikit_types::runtime::Hooks::default();
    hooks.start_container = vec![ocikit_types::runtime::Hook::new("/bin/true")];
    dl.hooks = Some(hooks);
    assert_eq!(
        check_attributes(&dl).unwrap_err().field,
        "process.scheduler.flags"
    );
    let sys = Recording::default();
    setup_attributes(&sys, &spec).unwrap();
    final_affinity(&sys, spec.process.as_ref().unwrap()).unwrap();
    let sys_reset = Recording::default();
    spec.process
        .as_mut()
        .unwrap()
        .exec_cpu_affinity
        .as_mut()
        .unwrap()
        .r#final = None;
    final_affinity(&sys_reset, spec.process.as_ref().unwrap()).unwrap();
    let reset = sys_reset.lines();
    assert!(reset[0].starts_with("sched_setaffinity [0, 1, 2,"));
    assert!(reset[0].ends_with(", 1023]"));
    assert_eq!(
        sys.lines(),
        [
            "personality 0x8",
            "set_mempolicy 0x1 [1]",
            "ioprio_set 0x4004",
            "sched_setattr policy=5 flags=0x1 nice=0 prio=0 dl=0/0/0",
            "sched_setaffinity [1, 2]",
        ]
    );
    let sys = Recording {
        fail_prefix: Some("ioprio_set".into()),
        ..Recording::default()
    };
    let e = setup_attributes(&sys, &spec).unwrap_err();
    assert_eq!(e.to_string(), "set I/O priority IOPRIO_CLASS_BE 4");
}

#[test]
fn unknown_capability_is_refused() {
    let mut p = Process::new("/");
    let mut caps = Capabilities::default();
    caps.bounding = vec![Capability::from("CAP_NONSENSE")];
    p.capabilities = Some(caps);
    let e = setup(&Recording::default(), &p).unwrap_err();
    assert!(e.to_string().contains("CAP_NONSENSE"), "{e}");
}
