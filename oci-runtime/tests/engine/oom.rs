//! OOM kills are counted (what `runc events` reports as `oom`).

use ocikit_runtime::DeleteMode;
use ocikit_types::runtime::{Memory, Resources};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[("oom::oom_kill_is_counted", oom_kill_is_counted)];

fn oom_kill_is_counted() {
    if !root_or_skip() {
        return;
    }
    let id = "t-oom";
    // The shell survives; its child, filling a variable past the limit,
    // is killed.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "sh -c 'x=$(busybox yes | busybox head -c 200000000)'; echo child=$?; sleep 1000",
    ]);
    let mut mem = Memory::default();
    mem.limit = Some(16 << 20);
    mem.swap = Some(16 << 20);
    let mut r = Resources::default();
    r.memory = Some(mem);
    b.spec.linux.as_mut().unwrap().resources = Some(r);
    b.write();
    let (o, out) = b.capture();
    b.rt.create(id, b.path(), o).unwrap();
    assert_eq!(b.rt.oom_kills(id).unwrap(), 0);
    b.rt.start(id).unwrap();
    let start = std::time::Instant::now();
    while b.rt.oom_kills(id).unwrap() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "no OOM kill counted: {}",
            std::fs::read_to_string(&out).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(b.rt.oom_kills(id).unwrap() >= 1);
    b.rt.delete(id, DeleteMode::Force).unwrap();
}
