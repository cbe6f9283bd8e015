//! Busybox bundles and helpers.

use std::path::{Path, PathBuf};

use ocikit_runtime::{CreateOptions, Runtime};
use ocikit_types::runtime::Spec;
use ocikit_types::Document;

/// Whether the tests can run containers here (root, busybox); the
/// test is reported ignored otherwise.
pub(crate) fn root_or_skip() -> bool {
    testkit::need::root() && testkit::busybox::available()
}

/// A bundle with a busybox rootfs, plus a runtime with its own state dir.
pub(crate) struct Bundle {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) spec: Spec,
    pub(crate) rt: Runtime,
}

impl Bundle {
    pub(crate) fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("ocikit-bundle")
            .tempdir()
            .unwrap();
        let spec = testkit::busybox::bundle(dir.path(), args);
        let rt = Runtime::new(dir.path().join("state"));
        Bundle { dir, spec, rt }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds `cap` to the process's bounding, permitted and effective sets.
    pub(crate) fn grant(&mut self, cap: ocikit_types::runtime::Capability) {
        let p = self
            .spec
            .process
            .as_mut()
            .expect("the bundle has a process");
        let caps = p.capabilities.get_or_insert_with(Default::default);
        for set in [&mut caps.bounding, &mut caps.permitted, &mut caps.effective] {
            set.push(cap.clone());
        }
    }

    /// Writes config.json from `self.spec`.
    pub(crate) fn write(&self) {
        std::fs::write(
            self.path().join("config.json"),
            self.spec.to_pretty_string(),
        )
        .unwrap();
    }

    /// Options whose stdout and stderr go to `out` in the bundle.
    pub(crate) fn capture(&self) -> (CreateOptions, PathBuf) {
        let out = self.path().join("out");
        let f = std::fs::File::create(&out).unwrap();
        let mut o = CreateOptions::new();
        o.stdout(f.try_clone().unwrap()).stderr(f);
        (o, out)
    }

    /// Runs the bundle, returning the exit code and the captured output.
    pub(crate) fn run(&self, id: &str) -> (i32, String) {
        self.write();
        let (o, out) = self.capture();
        let status = self
            .rt
            .run(id, self.path(), o)
            .unwrap_or_else(|e| panic!("run {id}: {e} ({e:?})"));
        (status.code(), std::fs::read_to_string(out).unwrap())
    }
}

impl Drop for Bundle {
    /// A failed test must not leave containers (and their processes, which
    /// hold the test's stdout) behind.
    fn drop(&mut self) {
        for st in self.rt.list().unwrap_or_default() {
            let _ = self.rt.delete(&st.id, ocikit_runtime::DeleteMode::Force);
        }
    }
}

/// A cgroup file of container `id` in hierarchy `name`, v1 or v2.
pub(crate) fn cgroup_file(id: &str, v1: &str, file: &str) -> Option<PathBuf> {
    let p = Path::new("/sys/fs/cgroup")
        .join(v1)
        .join("ocikit")
        .join(id)
        .join(file);
    if p.exists() {
        return Some(p);
    }
    let p = Path::new("/sys/fs/cgroup/ocikit").join(id).join(file);
    p.exists().then_some(p)
}
