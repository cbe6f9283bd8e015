//! The `ocikit-registry` binary: `serve CONFIG` with Distribution's
//! config file.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_ocikit-registry");

fn serve_names_the_keys_it_ignores_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::registry::free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nredis:\n  addr: 127.0.0.1:6379\nfoo: bar\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let stderr = dir.path().join("stderr");
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg(&config)
        .stderr(std::fs::File::create(&stderr).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.path().join("data/repositories").is_dir());
    // SIGTERM: a graceful stop with status 0.
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        log.contains("redis is not supported yet and is ignored"),
        "{log}"
    );
    assert!(log.contains("unknown key foo is ignored"), "{log}");
}

fn a_bad_config_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "storage:\n  delete:\n    enabled: maybe\n").unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("storage.delete.enabled"), "{err}");
    let out = Command::new(BIN).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage");
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![
    serve_names_the_keys_it_ignores_and_stops_on_sigterm,
    a_bad_config_is_refused_naming_the_key,
];
