//! The container's terminal: a pty opened inside the container, its master
//! sent to the caller's console socket (SCM_RIGHTS), its slave the init's
//! controlling terminal and stdio.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use ocikit_types::runtime::ConsoleSize;
use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;

/// Opens a pty through the container's `/dev/ptmx`, sends the master over
/// `socket` with the slave's name as the message (as runc does), and makes
/// the slave this process's controlling terminal and stdio.
pub(crate) fn setup(socket: &UnixStream, size: Option<&ConsoleSize>) -> io::Result<()> {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if let Some(s) = size {
        let ws = rustix::termios::Winsize {
            ws_row: u16::try_from(s.height).unwrap_or(u16::MAX),
            ws_col: u16::try_from(s.width).unwrap_or(u16::MAX),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, ws)?;
    }
    crate::sys::send_fd(socket, master.as_fd(), name.to_bytes())?;
    drop(master);
    rustix::process::ioctl_tiocsctty(&slave)?;
    rustix::stdio::dup2_stdin(&slave)?;
    rustix::stdio::dup2_stdout(&slave)?;
    rustix::stdio::dup2_stderr(&slave)?;
    Ok(())
}
