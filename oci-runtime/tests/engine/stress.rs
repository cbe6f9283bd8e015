//! `run` never hangs, however fast the container exits.

use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

pub(crate) const TESTS: &[crate::Test] = &[("stress::run_true_200_times", run_true_200_times)];

fn run_true_200_times() {
    if !root_or_skip("run_true_200_times") {
        return;
    }
    let b = Bundle::new(&["/bin/true"]);
    b.write();
    let rt = b.rt.clone();
    let bundle = b.path().to_owned();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..200 {
            let r = rt.run(
                &format!("t-stress-{i}"),
                &bundle,
                oci_runtime::CreateOptions::new(),
            );
            if tx
                .send(r.map(|s| s.code()).map_err(|e| e.to_string()))
                .is_err()
            {
                return;
            }
        }
    });
    for i in 0..200 {
        let r = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("run {i} did not finish within 10s"));
        assert_eq!(r, Ok(0), "run {i}");
    }
}
