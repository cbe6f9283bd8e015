//! The OCI distribution-spec conformance suite (a Go test binary kept in
//! `../shared/conformance/` beside the workspace, or at
//! `$OCIKIT_CONFORMANCE`) against `ocikit-registry serve` on loopback,
//! with every API and data set on. No check may fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn suite() -> Option<PathBuf> {
    let path = std::env::var_os("OCIKIT_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/conformance/distribution-spec.test")
        });
    if path.is_file() {
        Some(path)
    } else {
        testkit::need::missing(format!(
            "the conformance suite is not at {}",
            path.display()
        ));
        None
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The count on the result block's line `name....: N`.
pub(crate) fn count(report: &str, name: &str) -> Option<u32> {
    let block = &report[report.find("OCI Conformance Result")?..];
    block
        .lines()
        .find(|l| l.trim_start().starts_with(name))?
        .rsplit(':')
        .next()?
        .trim()
        .parse()
        .ok()
}

fn the_conformance_suite_passes_against_the_binary() {
    run_suite(|_, _| String::new(), &[]);
}

/// The `storage:` section of a filesystem store in `dir`, deletes on.
fn filesystem(dir: &Path) -> String {
    format!(
        "storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n",
        dir.join("data").display()
    )
}

/// Runs the suite against the binary on a filesystem store, its
/// configuration completed by `extra_yaml(dir, port)` and the suite given
/// `env` (credentials).
pub(crate) fn run_suite(extra_yaml: impl Fn(&Path, u16) -> String, env: &[(&str, &str)]) {
    let Some(suite) = suite() else { return };
    run_with(&suite, &filesystem, &extra_yaml, env, &[]);
}

/// Runs the suite at `suite` against the binary with the `storage:`
/// section `storage` makes for a temp dir, every API on but those in `off`
/// (`BLOBS_DIGEST_HEADER`...).
#[cfg(feature = "s3")]
pub(crate) fn run(suite: &Path, off: &[&str], storage: impl Fn(&Path) -> String) {
    run_with(suite, &storage, &|_, _| String::new(), &[], off);
}

fn run_with(
    suite: &Path,
    storage: &dyn Fn(&Path) -> String,
    extra_yaml: &dyn Fn(&Path, u16) -> String,
    env: &[(&str, &str)],
    off: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::registry::free_port();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\n{}http:\n  addr: 127.0.0.1:{port}\n{}",
            storage(dir.path()),
            extra_yaml(dir.path(), port)
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_ocikit-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    let mut cmd = Command::new(suite);
    for (k, _) in std::env::vars() {
        if k.starts_with("OCI_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(&results)
        .env("OCI_REGISTRY", format!("127.0.0.1:{port}"))
        .env("OCI_TLS", "disabled")
        .env("OCI_REPO1", "conformance/repo1")
        .env("OCI_REPO2", "conformance/repo2")
        .env("OCI_VERSION", "1.1")
        .env("OCI_RESULTS_DIR", &results)
        .env("OCI_LOG", "error");
    for api in [
        "PULL",
        "PUSH",
        "TAGS_LIST",
        "TAGS_DELETE",
        "MANIFESTS_DELETE",
        "BLOBS_DELETE",
        "REFERRER",
        "BLOBS_UPLOAD_CANCEL",
        "BLOBS_DIGEST_HEADER",
        "MANIFESTS_DIGEST_HEADER",
        "MANIFESTS_TAG_PARAM",
    ] {
        if off.contains(&api) {
            continue;
        }
        cmd.env(format!("OCI_API_{api}"), "true");
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let (pass, fail, error, skip, disabled) = (
        count(&report, "Pass"),
        count(&report, "FAIL"),
        count(&report, "Error"),
        count(&report, "Skip"),
        count(&report, "Disabled"),
    );
    println!(
        "conformance: {} passed, {} failed, {} errors, {} skipped, {} disabled",
        pass.unwrap_or(0),
        fail.unwrap_or(0),
        error.unwrap_or(0),
        skip.unwrap_or(0),
        disabled.unwrap_or(0)
    );
    let failures: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(": FAIL") || l.trim_start().starts_with("- "))
        .take(40)
        .collect();
    assert!(
        out.status.success()
            && fail == Some(0)
            && error == Some(0)
            && skip == Some(0)
            && pass.unwrap_or(0) > 800,
        "the conformance suite failed (exit {:?}):\n{}",
        out.status.code(),
        failures.join("\n")
    );
}

pub(crate) const TESTS: &[testkit::Test] =
    testkit::tests![the_conformance_suite_passes_against_the_binary];
