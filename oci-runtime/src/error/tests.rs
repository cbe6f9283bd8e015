//! Issue 21: the engine's errors, met as a user meets them, say what and
//! where at each layer and show each cause once.

use std::io;

use super::*;
use crate::{CreateOptions, Runtime, Signal};

fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push(c.to_string());
        cause = c.source();
    }
    out
}

fn once(e: &(dyn std::error::Error + 'static), min_depth: usize) -> Vec<String> {
    let layers = chain(e);
    assert!(layers.len() >= min_depth, "{layers:#?}");
    for pair in layers.windows(2) {
        assert!(
            !pair[0].contains(&pair[1]),
            "repeats its cause: {layers:#?}"
        );
    }
    layers
}

#[test]
fn issue_21_each_error_shows_each_cause_once() {
    let dir = std::env::temp_dir().join(format!("ocikit-rt-chain-{}", std::process::id()));
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    let rt = Runtime::new(dir.join("state"));

    // No such container.
    once(&rt.state("missing").unwrap_err(), 1);

    // A bundle without config.json: the file, then the OS error.
    let e = rt.create("c1", &bundle, CreateOptions::new()).unwrap_err();
    let layers = once(&e, 2);
    assert!(layers[0].ends_with("config.json"), "{layers:?}");

    // A config.json of the wrong shape: the file, then the JSON path.
    std::fs::write(
        bundle.join("config.json"),
        r#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":"echo"}}"#,
    )
    .unwrap();
    let e = rt.create("c1", &bundle, CreateOptions::new()).unwrap_err();
    let layers = once(&e, 2);
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
    assert!(layers[1].contains("$.process.args"), "{layers:?}");

    // An invalid id, an unknown signal, a signal number out of range.
    once(&rt.state("a/b").unwrap_err(), 1);
    once(&"SIGNOPE".parse::<Signal>().unwrap_err(), 1);
    once(&Signal::try_from(0).unwrap_err(), 1);

    // A hook that cannot start: the hook, how it failed, the OS error.
    let e = Error::Hook {
        hook: "prestart",
        path: "/no/hook".into(),
        failure: HookFailure::Spawn(io::Error::from_raw_os_error(libc::ENOENT)),
    };
    assert_eq!(
        once(&e, 3)[..2],
        ["prestart hook /no/hook", "could not start"]
    );

    // A helper that cannot run, and one that refused.
    let e = Error::IdMapHelper {
        tool: "newuidmap",
        pid: 7,
        message: String::new(),
        source: Some(io::Error::from_raw_os_error(libc::ENOENT)),
    };
    assert_eq!(once(&e, 2)[0], "newuidmap for pid 7 failed");
    let e = Error::IdMapHelper {
        tool: "newuidmap",
        pid: 7,
        message: "uid range not allowed (exit status: 1)".into(),
        source: None,
    };
    assert_eq!(
        once(&e, 1)[0],
        "newuidmap for pid 7 failed: uid range not allowed (exit status: 1)"
    );

    // A file operation, a system call for a container, a corrupt state.
    once(
        &Error::io("open", "/x", io::Error::from_raw_os_error(libc::EACCES)),
        2,
    );
    once(
        &Error::sys("kill", "c1", io::Error::from_raw_os_error(libc::ESRCH)),
        2,
    );
    let bad = serde_json::from_slice::<serde_json::Value>(b"{").unwrap_err();
    once(
        &Error::CorruptState {
            path: "/run/ocikit/c1/state.json".into(),
            source: Box::new(bad),
        },
        2,
    );
    std::fs::remove_dir_all(dir).unwrap();
}
