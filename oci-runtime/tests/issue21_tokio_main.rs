//! Issue 21: the runtime inside an ordinary `#[tokio::main]` program.
//!
//! Written as the user wrote it: a multi-threaded tokio `main` that never
//! calls `ocikit_runtime::init_if_requested` (the call the crate once
//! required, which this program "forgot"). The engine re-executes this
//! program as each container's init; the init must take over before
//! tokio starts its worker threads, or a user namespace cannot be
//! unshared and the workers' start-up is printed as a panic.
//!
//! Runs one container without and one with a user namespace; both must
//! exit 0 with only the program's own output (no panic, no init error)
//! on the captured stdout and stderr. Not a libtest binary (`harness =
//! false`): libtest's own `main` would hide the shape under test.

use ocikit_runtime::{CreateOptions, Runtime};
use ocikit_types::runtime::{IdMapping, Namespace, NamespaceType, Spec};
use ocikit_types::Document;

#[tokio::main]
async fn main() {
    if let Some(reason) = cannot_run() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{reason} (CI=true: it must be there)");
        }
        println!("test issue21_tokio_main ... ignored, {reason}");
        return;
    }
    // Proof that the runtime's threads exist here, as in the user's program.
    tokio::task::spawn(async {}).await.unwrap();
    for userns in [false, true] {
        let name = if userns {
            "with a user namespace"
        } else {
            "plain"
        };
        let out = run_container(userns);
        assert_eq!(out, "hello\n", "{name}: the container's output");
        println!("test issue21_tokio_main {name} ... ok");
    }
    #[cfg(feature = "tokio")]
    {
        async_api().await;
        println!("test issue21_tokio_main async API ... ok");
    }
    #[cfg(not(feature = "tokio"))]
    println!("test issue21_tokio_main async API ... ignored, needs --features tokio");
}

/// The async API runs a container to completion from the async `main`,
/// step by step and with `run`.
#[cfg(feature = "tokio")]
async fn async_api() {
    use ocikit_runtime::{AsyncRuntime, DeleteMode};
    let (dir, _) = bundle(false);
    let rt = AsyncRuntime::new(dir.path().join("state"));
    let (options, out) = capture(dir.path());
    rt.create("issue21-async", dir.path(), options)
        .await
        .unwrap();
    rt.start("issue21-async").await.unwrap();
    let status = rt.wait("issue21-async").await.unwrap();
    rt.delete("issue21-async", DeleteMode::Stopped)
        .await
        .unwrap();
    assert_eq!(status.code(), 0);
    assert_eq!(std::fs::read_to_string(out).unwrap(), "hello\n");

    let (options, out) = capture(dir.path());
    // Spawned as a task: the future is Send + 'static.
    let run = tokio::spawn(rt.run("issue21-async-run", dir.path(), options));
    assert_eq!(run.await.unwrap().unwrap().code(), 0);
    assert_eq!(std::fs::read_to_string(out).unwrap(), "hello\n");
    assert!(rt.blocking().list().unwrap().is_empty());
}

fn cannot_run() -> Option<&'static str> {
    if !rustix::process::geteuid().is_root() {
        return Some("needs root");
    }
    if !std::path::Path::new(testkit::busybox::BINARY).exists() {
        return Some("needs /usr/bin/busybox (busybox-static)");
    }
    None
}

/// A busybox bundle running `echo hello`, with or without a user namespace.
fn bundle(userns: bool) -> (tempfile::TempDir, Spec) {
    let dir = tempfile::Builder::new()
        .prefix("ocikit-issue21")
        .tempdir()
        .unwrap();
    testkit::busybox::rootfs(&dir.path().join("rootfs"));
    let mut spec = Spec::default_linux();
    let process = spec.process.as_mut().unwrap();
    process.terminal = false;
    process.args = vec!["echo".into(), "hello".into()];
    if userns {
        let linux = spec.linux.as_mut().unwrap();
        linux.namespaces.push(Namespace::new(NamespaceType::User));
        linux.uid_mappings = vec![IdMapping::new(0, 100000, 65536)];
        linux.gid_mappings = vec![IdMapping::new(0, 100000, 65536)];
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(dir.path().join("config.json"), spec.to_pretty_string()).unwrap();
    (dir, spec)
}

/// Options sending the container's stdout and stderr (and its init's,
/// which shares them until it execs) to a fresh file `out` in `dir`.
fn capture(dir: &std::path::Path) -> (CreateOptions, std::path::PathBuf) {
    let out = dir.join("out");
    let file = std::fs::File::create(&out).unwrap();
    let mut options = CreateOptions::new();
    options.stdout(file.try_clone().unwrap()).stderr(file);
    (options, out)
}

/// Runs the bundle with the blocking API and returns what it wrote, after
/// checking it exited 0.
fn run_container(userns: bool) -> String {
    let (dir, _) = bundle(userns);
    let (options, out) = capture(dir.path());
    let rt = Runtime::new(dir.path().join("state"));
    let id = if userns {
        "issue21-userns"
    } else {
        "issue21-plain"
    };
    let status = rt
        .run(id, dir.path(), options)
        .unwrap_or_else(|e| panic!("run {id}: {e} ({e:?})"));
    let out = std::fs::read_to_string(out).unwrap();
    assert_eq!(status.code(), 0, "{id} exited {}: {out}", status.code());
    out
}
