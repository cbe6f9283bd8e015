//! Device nodes: the default set and `linux.devices`, made inside the
//! rootfs.

use std::path::Path;

use ocikit_types::runtime::Spec;

use crate::setup::error::{SetupError, Step};
use crate::setup::rootfs::RootfsOptions;
use crate::sys::syscalls::{Create, Syscalls, MS_BIND};

pub(super) const DEFAULT_DEVICES: &[(&str, u32, u32)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

pub(super) fn create_devices(
    sys: &dyn Syscalls,
    spec: &Spec,
    opts: &RootfsOptions,
) -> Result<(), SetupError> {
    let root = opts.rootfs.as_path();
    type Dev = (String, char, u32, u32, u32, Option<(u32, u32)>);
    let mut devices: Vec<Dev> = DEFAULT_DEVICES
        .iter()
        .map(|(p, ma, mi)| ((*p).to_owned(), 'c', *ma, *mi, 0o666, None))
        .collect();
    for d in spec.linux.iter().flat_map(|l| l.devices.iter()) {
        let kind = d.kind.chars().next().unwrap_or('c');
        let major = d.major.unwrap_or(0).try_into().unwrap_or(0);
        let minor = d.minor.unwrap_or(0).try_into().unwrap_or(0);
        devices.retain(|x| x.0 != d.path);
        let owner =
            (d.uid.is_some() || d.gid.is_some()).then(|| (d.uid.unwrap_or(0), d.gid.unwrap_or(0)));
        devices.push((
            d.path.clone(),
            kind,
            major,
            minor,
            d.file_mode.unwrap_or(0o666),
            owner,
        ));
    }
    for (path, kind, major, minor, mode, owner) in devices {
        if opts.userns {
            // mknod is not allowed in a user namespace: bind the host's.
            let target = sys
                .resolve(root, &path, Create::File)
                .step(|| format!("create bind target {path}"))?;
            sys.mount(Some(Path::new(&path)), &target.path, None, MS_BIND, None)
                .step(|| format!("bind device {path}"))?;
        } else {
            let type_bits = match kind {
                'b' => libc::S_IFBLK,
                'p' => libc::S_IFIFO,
                _ => libc::S_IFCHR,
            };
            sys.mknod(root, &path, type_bits | (mode & 0o7777), major, minor)
                .step(|| format!("mknod {path}"))?;
            if let Some((uid, gid)) = owner {
                sys.chown(root, &path, uid, gid)
                    .step(|| format!("chown {path} to {uid}:{gid}"))?;
            }
        }
    }
    let mut links = vec![
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
        ("/proc/kcore", "/dev/core"),
    ];
    if spec
        .mounts
        .iter()
        .any(|m| m.destination.trim_end_matches('/') == "/dev/pts")
    {
        links.push(("pts/ptmx", "/dev/ptmx"));
    }
    for (target, link) in links {
        sys.symlink(root, target, link)
            .step(|| format!("symlink {link} -> {target}"))?;
    }
    Ok(())
}
