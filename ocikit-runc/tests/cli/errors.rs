//! Issue 21: an error reaches the user with each cause once, one a line
//! on stderr, and on one line in the log file engines read.

use crate::common::{tempdir, Runc};

fn issue_21_errors_print_each_cause_once() {
    let dir = tempdir("errors");
    let bundle = dir.path().join("bundle");
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(
        bundle.join("config.json"),
        r#"{"ociVersion":"1.2.0","process":{"cwd":"/","args":"sh"}}"#,
    )
    .unwrap();
    let runc = Runc::new(dir.path().join("state"));
    let bundle_arg = bundle.to_str().unwrap();
    let stderr = runc.fails(&["create", "--bundle", bundle_arg, "c1"]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    let config = std::fs::canonicalize(&bundle).unwrap().join("config.json");
    assert_eq!(
        lines[0],
        format!("ocikit-runc: bundle config {}", config.display())
    );
    assert!(
        lines[1].starts_with("  caused by: malformed runtime config at $.process.args"),
        "{stderr}"
    );

    // A file the command reads itself: the step, then the OS error.
    let stderr = runc.fails(&["update", "--resources", "/no/such/resources.json", "c1"]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines[0], "ocikit-runc: read /no/such/resources.json",
        "{stderr}"
    );
    assert_eq!(
        lines[1..],
        ["  caused by: No such file or directory (os error 2)"],
        "{stderr}"
    );

    // The log file keeps the whole chain on one line.
    let log = dir.path().join("log.json");
    let out = runc
        .cmd(&["--log", log.to_str().unwrap(), "--log-format", "json"])
        .args(["create", "--bundle", bundle_arg, "c1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let msg = last["msg"].as_str().unwrap();
    assert!(msg.starts_with("bundle config "), "{msg}");
    assert!(
        msg.contains(": malformed runtime config at $.process.args"),
        "{msg}"
    );
}

pub(crate) const TESTS: &[testkit::Test] = testkit::tests![issue_21_errors_print_each_cause_once];
