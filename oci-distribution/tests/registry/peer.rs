//! The registries the suite runs against: Debian's `docker-registry`
//! (CNCF Distribution 2.8), and ocikit's own server, `ocikit-registry`,
//! with filesystem storage, as an operator would run it.
//!
//! Each test that needs a registry calls [`start`]. The suite lists the
//! tests that hold for any registry twice: once under their own names,
//! run against docker-registry, and once under `ocikit_registry::NAME`
//! (see [`on_ocikit_registry`]), run against ocikit's server. [`start`]
//! tells the two apart by the name of the test's thread, which the runner
//! names after the test.

use std::thread::JoinHandle;

use testkit::Test;

/// The prefix of the tests run against ocikit's server.
const OCIKIT: &str = "ocikit_registry::";

/// A registry on loopback, stopped when dropped.
pub(crate) struct Peer {
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    /// The server, stopped when dropped.
    _server: Box<dyn Send>,
}

/// ocikit's registry on a runtime and thread of its own, so that tests
/// which block their thread (the blocking client, skopeo) cannot stall it.
struct OcikitServer {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for OcikitServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The registry of the running test: ocikit's server for the tests named
/// `ocikit_registry::...`, else docker-registry (`None` when it is not
/// installed: the test is then reported ignored, or fails under CI).
pub(crate) fn start() -> Option<Peer> {
    let on_ocikit = std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with(OCIKIT));
    if on_ocikit {
        Some(start_ocikit())
    } else {
        let reg = testkit::registry::Registry::start()?;
        Some(Peer {
            addr: reg.addr.clone(),
            _server: Box::new(reg),
        })
    }
}

fn start_ocikit() -> Peer {
    let dir = tempfile::tempdir().expect("a registry directory");
    let root = dir.path().join("data");
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for ocikit-registry");
        rt.block_on(async move {
            let reg = ocikit_registry::Registry::builder()
                .filesystem(root)
                .spawn("127.0.0.1:0")
                .await
                .expect("start ocikit-registry");
            let _ = addr_tx.send(reg.host());
            let _ = stop_rx.await;
            reg.shutdown().await;
        });
    });
    let addr = addr_rx.recv().expect("ocikit-registry reports its address");
    Peer {
        addr,
        _server: Box::new(OcikitServer {
            stop: Some(stop_tx),
            thread: Some(thread),
            _dir: dir,
        }),
    }
}

/// The tests of `groups` again, named `ocikit_registry::NAME`, so that
/// [`start`] gives them ocikit's server.
pub(crate) fn on_ocikit_registry(groups: &[&[Test]]) -> Vec<Test> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|(name, f)| {
            // The runner shows `crate::module::test` as `module::test`:
            // keep a crate segment in front for it to drop.
            let short = name.split_once("::").map_or(*name, |(_, rest)| rest);
            let named: &'static str = Box::leak(format!("registry::{OCIKIT}{short}").into());
            (named, *f)
        })
        .collect()
}
