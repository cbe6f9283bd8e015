//! An escape test kept beside `escapes` (whose file is long): CVE-2019-19921,
//! a rootfs whose `/proc` (or `/sys`) is a symlink, which would mount
//! procfs through it where the masked paths no longer apply. Refused, as
//! runc refuses it; the host side is unchanged.

use std::os::unix::fs::symlink;

use ocikit_runtime::CreateOptions;
use ocikit_types::runtime::Mount;

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[(
    "escapes::cve_2019_19921_symlinked_proc_or_sys_refused",
    cve_2019_19921_symlinked_proc_or_sys_refused,
)];

fn cve_2019_19921_symlinked_proc_or_sys_refused() {
    if !root_or_skip() {
        return;
    }
    let target = tempfile::tempdir().unwrap();
    for (i, (dest, kind)) in [("/proc", "proc"), ("/sys", "sysfs"), ("/other", "proc")]
        .into_iter()
        .enumerate()
    {
        let mut b = Bundle::new(&["true"]);
        let rootfs = b.path().join("rootfs");
        let link = rootfs.join(dest.trim_start_matches('/'));
        let _ = std::fs::remove_dir_all(&link);
        // A host path (resolved inside the rootfs) and a relative one.
        if i == 0 {
            symlink(target.path(), &link).unwrap();
        } else {
            std::fs::create_dir(rootfs.join("elsewhere")).unwrap();
            symlink("elsewhere", &link).unwrap();
        }
        if dest == "/other" {
            b.spec.mounts.push(Mount::new(dest, kind, kind, &[]));
        }
        b.write();
        let id = format!("t-19921-{i}");
        let e =
            b.rt.create(&id, b.path(), CreateOptions::new())
                .unwrap_err();
        assert!(
            e.to_string()
                .contains(&format!("{dest} ({kind}) is a symlink")),
            "{dest}: {e}"
        );
        assert!(b.rt.state(&id).unwrap_err().is_not_found());
        assert_eq!(std::fs::read_dir(target.path()).unwrap().count(), 0);
        assert!(std::fs::read_dir(rootfs.join("elsewhere"))
            .map(|d| d.count() == 0)
            .unwrap_or(true));
    }
}
