//! `linux.netDevices`: host network interfaces moved into the container's
//! network namespace (and renamed) with one rtnetlink `RTM_NEWLINK`
//! message each, by the runtime once the container's init exists. Their
//! permanent IP addresses, which the kernel drops on the move, are added
//! again in the container's namespace (as runc and youki do).
//!
//! Physical devices return to the host's initial namespace when the
//! container's namespace goes away; virtual ones (dummy, veth) are
//! destroyed with it, as the kernel does for any namespace.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use ocikit_types::runtime::{NamespaceType, NetDevice, Spec};

use crate::error::{Error, Result};
use crate::setup::error::Invalid;

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;

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

/// A netlink message header followed by `body`, length filled in.
fn message(kind: u16, flags: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(16 + body.len());
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&seq.to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(body);
    msg
}

/// An interface address as rtnetlink describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    family: u8,
    prefix_len: u8,
    flags: u8,
    scope: u8,
    /// IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST and IFA_FLAGS, as received.
    attrs: Vec<(u16, Vec<u8>)>,
}

/// An `RTM_GETADDR` dump request for every address.
pub(crate) fn getaddr_message(seq: u32) -> Vec<u8> {
    // struct ifaddrmsg: family AF_UNSPEC, prefixlen, flags, scope, index.
    message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, &[0; 8])
}

/// An `RTM_NEWADDR` request adding `a` to interface `index`.
pub(crate) fn newaddr_message(seq: u32, index: u32, a: &Address) -> Vec<u8> {
    let mut body = vec![a.family, a.prefix_len, a.flags, a.scope];
    body.extend_from_slice(&index.to_ne_bytes());
    for (kind, payload) in &a.attrs {
        push_attr(&mut body, *kind, payload);
    }
    message(
        RTM_NEWADDR,
        NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        seq,
        &body,
    )
}

/// The netlink messages in `buf`: (type, payload).
fn messages(buf: &[u8]) -> io::Result<Vec<(u16, &[u8])>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed netlink answer");
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_ne_bytes([rest[4], rest[5]]);
        if len < 16 || len > rest.len() {
            return Err(bad());
        }
        out.push((kind, &rest[16..len]));
        rest = &rest[((len + 3) & !3).min(rest.len())..];
    }
    Ok(out)
}

/// The permanent addresses of interface `index` in one part of an
/// `RTM_GETADDR` dump, and whether the dump is complete.
pub(crate) fn parse_addresses(buf: &[u8], index: u32) -> io::Result<(Vec<Address>, bool)> {
    let mut out = Vec::new();
    for (kind, body) in messages(buf)? {
        match kind {
            NLMSG_DONE => return Ok((out, true)),
            NLMSG_ERROR => {
                let code = match body {
                    [a, b, c, d, ..] => i32::from_ne_bytes([*a, *b, *c, *d]),
                    _ => -libc::EIO,
                };
                return Err(io::Error::from_raw_os_error(
                    code.checked_neg().unwrap_or(libc::EIO),
                ));
            }
            RTM_NEWADDR if body.len() >= 8 => {
                let ifindex = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
                if ifindex != index {
                    continue;
                }
                let mut a = Address {
                    family: body[0],
                    prefix_len: body[1],
                    flags: body[2],
                    scope: body[3],
                    attrs: Vec::new(),
                };
                let mut flags = u32::from(a.flags);
                let mut rest = &body[8..];
                while rest.len() >= 4 {
                    let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
                    let kind = u16::from_ne_bytes([rest[2], rest[3]]);
                    if len < 4 || len > rest.len() {
                        break;
                    }
                    let payload = &rest[4..len];
                    if let (IFA_FLAGS, [a, b, c, d]) = (kind, payload) {
                        flags = u32::from_ne_bytes([*a, *b, *c, *d]);
                    }
                    if matches!(kind, IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST | IFA_FLAGS) {
                        a.attrs.push((kind, payload.to_vec()));
                    }
                    rest = &rest[((len + 3) & !3).min(rest.len())..];
                }
                if flags & IFA_F_PERMANENT != 0 {
                    out.push(a);
                }
            }
            _ => {}
        }
    }
    Ok((out, false))
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
            let code = rest[..len]
                .get(16..20)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)
                .ok_or_else(bad)?;
            return match code {
                0 => Ok(()),
                e => Err(io::Error::from_raw_os_error(
                    e.checked_neg().unwrap_or(libc::EIO),
                )),
            };
        }
        rest = &rest[((len + 3) & !3).min(rest.len())..];
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
    use rustix::net::{AddressFamily, SocketType};
    let sock = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)
        .map_err(|e| Error::io("open rtnetlink socket", "NETLINK_ROUTE", e.into()))?;
    // A socket in the container's namespace, for its addresses.
    let inside = socket_in(&ns).map_err(|e| Error::io("open rtnetlink socket in", &ns_path, e))?;
    let mut seq = 0u32;
    for (host, dev) in devices {
        let path = PathBuf::from("/sys/class/net").join(host);
        let fail = |e: io::Error| Error::io("move network device", &path, e);
        let name = target_name(host, dev);
        let index =
            rustix::net::netdevice::name_to_index(&sock, host).map_err(|e| fail(e.into()))?;
        seq += 1;
        let addresses = dump_addresses(&sock, seq, index).map_err(fail)?;
        seq += 1;
        let msg = move_message(seq, index as i32, ns.as_raw_fd() as u32, name);
        request(&sock, &msg, seq).map_err(fail)?;
        let new_index =
            rustix::net::netdevice::name_to_index(&inside, name).map_err(|e| fail(e.into()))?;
        for a in &addresses {
            seq += 1;
            request(&inside, &newaddr_message(seq, new_index, a), seq).map_err(|e| {
                Error::io("restore address of network device in container", &path, e)
            })?;
        }
        tracing::debug!(device = %host, name, pid, addresses = addresses.len(), "moved network device");
    }
    Ok(())
}

/// Sends `msg` and waits for the kernel's ack of `seq`.
fn request(sock: &impl std::os::fd::AsFd, msg: &[u8], seq: u32) -> io::Result<()> {
    use rustix::net::{RecvFlags, SendFlags};
    rustix::net::send(sock, msg, SendFlags::empty())?;
    let mut buf = vec![0u8; 8192];
    let (n, _) = rustix::net::recv(sock, &mut buf[..], RecvFlags::empty())?;
    parse_ack(&buf[..n.min(buf.len())], seq)
}

/// The permanent addresses of interface `index`.
fn dump_addresses(sock: &impl std::os::fd::AsFd, seq: u32, index: u32) -> io::Result<Vec<Address>> {
    use rustix::net::{RecvFlags, SendFlags};
    rustix::net::send(sock, &getaddr_message(seq), SendFlags::empty())?;
    let mut all = Vec::new();
    let mut buf = vec![0u8; 32768];
    loop {
        let (n, _) = rustix::net::recv(sock, &mut buf[..], RecvFlags::empty())?;
        let (found, done) = parse_addresses(&buf[..n.min(buf.len())], index)?;
        all.extend(found);
        if done {
            return Ok(all);
        }
    }
}

/// An rtnetlink socket in the network namespace open as `ns`: made by a
/// short-lived thread that enters it (a socket keeps the namespace it was
/// made in), so the calling thread's namespace never changes.
fn socket_in(ns: &std::fs::File) -> io::Result<std::os::fd::OwnedFd> {
    let fd = ns.as_raw_fd();
    std::thread::scope(|s| {
        s.spawn(|| {
            crate::sys::setns(fd, libc::CLONE_NEWNET)?;
            use rustix::net::{AddressFamily, SocketType};
            Ok(rustix::net::socket(
                AddressFamily::NETLINK,
                SocketType::RAW,
                None,
            )?)
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    /// Found by the `netlink_reply` fuzz target: an unaligned last
    /// message, and an error message too short for its code, used to
    /// index past the reply.
    #[test]
    fn truncated_acks_are_malformed_not_a_panic() {
        let crash: &[u8] = &[
            0x27, 0, 0, 0, 0x14, 0, 0x02, 0x0a, 0, 0, 0x02, 0x08, 0, 0, 0x02, 0x0a, 0, 0, 0x02,
            0x14, 0, 0, 0, 0x03, 0x09, 0, 0, 0, 0x02, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0,
        ];
        assert!(super::parse_ack(crash, 0).is_err());
        // NLMSG_ERROR (2) for seq 9 whose length leaves no room for the code.
        let short: &[u8] = &[16, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 2];
        assert!(super::parse_ack(short, 9).is_err());
        // An error code of i32::MIN cannot be negated into an errno.
        let mut min = vec![20, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0];
        min.extend_from_slice(&i32::MIN.to_ne_bytes());
        assert!(super::parse_ack(&min, 9).is_err());
        assert!(super::parse_addresses(&min, 1).is_err());
    }

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
    fn address_dump_and_add() {
        // RTM_NEWADDR for interface 5 (10.0.0.2/24, permanent through
        // IFA_FLAGS), for interface 6, and a non-permanent one for 5.
        let addr = |index: u32, flags: u32| {
            let mut body = vec![libc::AF_INET as u8, 24, 0, 0];
            body.extend_from_slice(&index.to_ne_bytes());
            push_attr(&mut body, IFA_LOCAL, &[10, 0, 0, 2]);
            push_attr(&mut body, IFA_ADDRESS, &[10, 0, 0, 2]);
            push_attr(&mut body, 3, b"eth0\0"); // IFA_LABEL: not kept
            push_attr(&mut body, IFA_FLAGS, &flags.to_ne_bytes());
            message(RTM_NEWADDR, 2, 1, &body)
        };
        let mut dump = addr(5, IFA_F_PERMANENT);
        dump.extend(addr(6, IFA_F_PERMANENT));
        dump.extend(addr(5, 0));
        let (found, done) = parse_addresses(&dump, 5).unwrap();
        assert!(!done);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].prefix_len, 24);
        assert_eq!(
            found[0].attrs.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            [IFA_LOCAL, IFA_ADDRESS, IFA_FLAGS]
        );
        let (none, done) = parse_addresses(&message(NLMSG_DONE, 2, 1, &[0; 4]), 5).unwrap();
        assert!(done && none.is_empty());
        let e = parse_addresses(
            &message(NLMSG_ERROR, 0, 1, &(-libc::EPERM).to_ne_bytes()),
            5,
        )
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM));

        let m = newaddr_message(9, 7, &found[0]);
        assert_eq!(
            u32::from_ne_bytes(m[0..4].try_into().unwrap()) as usize,
            m.len()
        );
        assert_eq!(u16::from_ne_bytes(m[4..6].try_into().unwrap()), RTM_NEWADDR);
        assert_eq!(&m[16..20], &[libc::AF_INET as u8, 24, 0, 0]);
        assert_eq!(u32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
        let g = getaddr_message(3);
        assert_eq!(g.len(), 24);
        assert_eq!(
            u16::from_ne_bytes(g[6..8].try_into().unwrap()),
            NLM_F_REQUEST | NLM_F_DUMP
        );
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
