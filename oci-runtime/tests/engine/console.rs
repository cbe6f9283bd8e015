//! `process.terminal` with a console socket.

use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;

use ocikit_runtime::{CreateOptions, DeleteMode};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};

use crate::common::*;

pub(crate) const TESTS: &[testkit::Test] = &[
    (
        "console::pty_master_over_console_socket",
        pty_master_over_console_socket,
    ),
    (
        "console::terminal_needs_console_socket",
        terminal_needs_console_socket,
    ),
];

pub(crate) fn receive_master(listener: UnixListener) -> (String, OwnedFd) {
    let (conn, _) = listener.accept().unwrap();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut name = [0u8; 128];
    let r = rustix::net::recvmsg(
        &conn,
        &mut [std::io::IoSliceMut::new(&mut name)],
        &mut control,
        RecvFlags::empty(),
    )
    .unwrap();
    let name = String::from_utf8_lossy(&name[..r.bytes]).into_owned();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = msg {
            return (name, fds.next().unwrap());
        }
    }
    panic!("no descriptor received");
}

fn pty_master_over_console_socket() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["sh", "-c", "tty; echo hello"]);
    b.spec.process.as_mut().unwrap().terminal = true;
    b.write();
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let receiver = std::thread::spawn(move || receive_master(listener));
    let mut o = CreateOptions::new();
    o.console_socket(&sock);
    b.rt.create("t-console", b.path(), o).unwrap();
    let (name, master) = receiver.join().unwrap();
    assert!(name.starts_with("/dev/pts/"), "{name}");
    b.rt.start("t-console").unwrap();
    let mut out = Vec::new();
    // Reading the master ends with EIO once the slave side is gone.
    let _ = std::fs::File::from(master).read_to_end(&mut out);
    assert_eq!(b.rt.wait("t-console").unwrap().code(), 0);
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out, format!("{name}\r\nhello\r\n"));
    b.rt.delete("t-console", DeleteMode::Stopped).unwrap();
}

fn terminal_needs_console_socket() {
    if !root_or_skip() {
        return;
    }
    let mut b = Bundle::new(&["true"]);
    b.spec.process.as_mut().unwrap().terminal = true;
    b.write();
    let e =
        b.rt.create("t-noconsole", b.path(), CreateOptions::new())
            .unwrap_err();
    assert!(e.to_string().contains("console socket"), "{e}");
}
