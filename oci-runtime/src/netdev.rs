//! `linux.netDevices`: host network interfaces moved into the container's
//! network namespace (and renamed) with one rtnetlink `RTM_NEWLINK`
//! message each, by the runtime once the container's init exists.
//!
//! Physical devices return to the host's initial namespace when the
//! container's namespace goes away; virtual ones (dummy, veth) are
//! destroyed with it, as the kernel does for any namespace.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use oci_types::runtime::{NamespaceType, NetDevice, Spec};

use crate::process::Invalid;
use crate::{Error, Result};

const RTM_NEWLINK: u16 = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;

/// Whether `name` is an interface name the kernel accepts
/// (`dev_valid_name`): 1-15 bytes, not `.` or `..`, no `/`, `:` or
/// whitespace.
pub(crate) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
}

/// Checks `linux.netDevices` for `create`: valid names, and a network
/// namespace of the container's own to move them to.
pub(crate) fn check(spec: &Spec) -> Result<(), Invalid> {
    let Some(linux) = &spec.linux else {
        return Ok(());
    };
    if linux.net_devices.is_empty() {
        return Ok(());
    }
    if !linux
        .namespaces
        .iter()
        .any(|n| n.kind == NamespaceType::Network)
    {
        return Err(Invalid {
            field: "linux.netDevices",
            expected: "a network namespace to move the devices to",
            found: "the host's network namespace".into(),
        });
    }
    let mut targets = Vec::new();
    for (host, dev) in &linux.net_devices {
        let target = target_name(host, dev);
        for name in [host.as_str(), target] {
            if !valid_ifname(name) {
                return Err(Invalid {
                    field: "linux.netDevices",
                    expected: "interface names of 1-15 bytes without '/', ':' or spaces",
                    found: format!("{name:?}"),
                });
            }
        }
        if targets.contains(&target) {
            return Err(Invalid {
                field: "linux.netDevices",
                expected: "distinct names in the container",
                found: target.to_owned(),
            });
        }
        targets.push(target);
    }
    Ok(())
}

/// The device's name in the container: `name`, else the host name.
fn target_name<'a>(host: &'a str, dev: &'a NetDevice) -> &'a str {
    if dev.name.is_empty() {
        host
    } else {
        &dev.name
    }
}

fn push_attr(msg: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    msg.extend_from_slice(&(len as u16).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(payload);
    msg.resize(msg.len() + (4 - len % 4) % 4, 0);
}

/// An `RTM_NEWLINK` request that moves interface `index` into the
/// namespace open as `netns_fd`, named `name` there.
pub(crate) fn move_message(seq: u32, index: i32, netns_fd: u32, name: &str) -> Vec<u8> {
    let mut msg = Vec::with_capacity(64);
    // struct nlmsghdr; the length is patched in at the end.
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    // struct ifinfomsg: family AF_UNSPEC, type, index, flags, change.
    msg.extend_from_slice(&[0, 0, 0, 0]);
    msg.extend_from_slice(&index.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    push_attr(&mut msg, IFLA_NET_NS_FD, &netns_fd.to_ne_bytes());
    let mut ifname = name.as_bytes().to_vec();
    ifname.push(0);
    push_attr(&mut msg, IFLA_IFNAME, &ifname);
    let len = msg.len() as u32;
    msg[..4].copy_from_slice(&len.to_ne_bytes());
    msg
}

/// The result carried by the kernel's `NLMSG_ERROR` answer to `seq`.
pub(crate) fn parse_ack(answer: &[u8], seq: u32) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed netlink answer");
    let mut rest = answer;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes(rest[0..4].try_into().map_err(|_| bad())?) as usize;
        let kind = u16::from_ne_bytes(rest[4..6].try_into().map_err(|_| bad())?);
        let got_seq = u32::from_ne_bytes(rest[8..12].try_into().map_err(|_| bad())?);
        if len < 16 || len > rest.len() {
            return Err(bad());
        }
        if kind == NLMSG_ERROR && got_seq == seq {
            let code = i32::from_ne_bytes(rest[16..20].try_into().map_err(|_| bad())?);
            return match code {
                0 => Ok(()),
                e => Err(io::Error::from_raw_os_error(-e)),
            };
        }
        rest = &rest[(len + 3) & !3..];
    }
    Err(bad())
}

/// Moves every device of `devices` into the network namespace of process
/// `pid`, renaming it as asked.
///
/// # Errors
/// [`Error::Io`] naming the device (`/sys/class/net/NAME`) when it does
/// not exist or the kernel refuses the move (a name taken in the
/// container, say).
pub(crate) fn move_all(devices: &BTreeMap<String, NetDevice>, pid: u32) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let ns_path = PathBuf::from(format!("/proc/{pid}/ns/net"));
    let ns = std::fs::File::open(&ns_path).map_err(|e| Error::io("open", &ns_path, e))?;
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType};
    let sock = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)
        .map_err(|e| Error::io("open rtnetlink socket", "NETLINK_ROUTE", e.into()))?;
    for (seq, (host, dev)) in (1u32..).zip(devices) {
        let path = PathBuf::from("/sys/class/net").join(host);
        let fail = |e: io::Error| Error::io("move network device", &path, e);
        let index =
            rustix::net::netdevice::name_to_index(&sock, host).map_err(|e| fail(e.into()))?;
        let msg = move_message(
            seq,
            index as i32,
            ns.as_raw_fd() as u32,
            target_name(host, dev),
        );
        rustix::net::send(&sock, &msg, SendFlags::empty()).map_err(|e| fail(e.into()))?;
        let mut buf = vec![0u8; 8192];
        let (n, _) = rustix::net::recv(&sock, &mut buf[..], RecvFlags::empty())
            .map_err(|e| fail(e.into()))?;
        parse_ack(&buf[..n.min(buf.len())], seq).map_err(fail)?;
        tracing::debug!(device = %host, name = %target_name(host, dev), pid, "moved network device");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["eth0", "dummy-1", "a.b", "x23456789012345"] {
            assert!(valid_ifname(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "x234567890123456"] {
            assert!(!valid_ifname(bad), "{bad}");
        }
    }

    #[test]
    fn message_layout() {
        let m = move_message(7, 3, 9, "eth1");
        // 16 header + 16 ifinfomsg + 8 (netns fd) + 12 (name, padded).
        assert_eq!(m.len(), 52);
        assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 52);
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), RTM_NEWLINK);
        assert_eq!(u32::from_ne_bytes(m[8..12].try_into().unwrap()), 7);
        assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 3);
        assert_eq!(
            u16::from_ne_bytes(m[34..36].try_into().unwrap()),
            IFLA_NET_NS_FD
        );
        assert_eq!(u32::from_ne_bytes(m[36..40].try_into().unwrap()), 9);
        assert_eq!(u16::from_ne_bytes(m[40..42].try_into().unwrap()), 9);
        assert_eq!(&m[44..49], b"eth1\0");
    }

    #[test]
    fn acks() {
        let ack = |seq: u32, code: i32| {
            let mut a = Vec::new();
            a.extend_from_slice(&36u32.to_ne_bytes());
            a.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            a.extend_from_slice(&0u16.to_ne_bytes());
            a.extend_from_slice(&seq.to_ne_bytes());
            a.extend_from_slice(&0u32.to_ne_bytes());
            a.extend_from_slice(&code.to_ne_bytes());
            a.extend_from_slice(&[0; 16]);
            a
        };
        parse_ack(&ack(1, 0), 1).unwrap();
        let e = parse_ack(&ack(1, -libc::EEXIST), 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
        assert!(parse_ack(&ack(2, 0), 1).is_err());
        assert!(parse_ack(&[0; 3], 1).is_err());
    }

    #[test]
    fn config_checks() {
        let mut spec = Spec::default_linux();
        let linux = spec.linux.as_mut().unwrap();
        let mut dev = NetDevice::default();
        dev.name = "ctr0".into();
        linux.net_devices.insert("dummy0".into(), dev);
        check(&spec).unwrap();
        let mut bad = NetDevice::default();
        bad.name = "bad/name".into();
        spec.linux
            .as_mut()
            .unwrap()
            .net_devices
            .insert("d1".into(), bad);
        assert!(check(&spec).is_err());
        let linux = spec.linux.as_mut().unwrap();
        linux.net_devices.remove("d1");
        linux
            .namespaces
            .retain(|n| n.kind != NamespaceType::Network);
        assert_eq!(check(&spec).unwrap_err().field, "linux.netDevices");
    }
}
