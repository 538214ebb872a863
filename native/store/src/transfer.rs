//! Zero-copy transfer of CommitLog slices to a socket with sendfile(2).
//!
//! Runs on a caller-provided thread (never the JS thread: a blocking transfer there would
//! deadlock against a reader sharing that thread). Works on non-blocking sockets: EAGAIN
//! waits for writability with poll(2) and continues. The caller passes a *duplicated* file
//! descriptor it owns, so a socket closed mid-transfer can never make the kernel hand the
//! same descriptor number to a new connection that would then receive these bytes.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::read::MessageSlice;
use crate::stats::StoreStats;

#[derive(Debug)]
pub enum TransferError {
    /// The peer stopped reading for longer than the timeout.
    Timeout { sent: u64 },
    /// The socket failed (closed by the peer, reset...).
    Io { sent: u64, source: std::io::Error },
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferError::Timeout { sent } => write!(f, "transfer timed out after {sent} bytes"),
            TransferError::Io { sent, source } => write!(f, "transfer failed after {sent} bytes: {source}"),
        }
    }
}

/// Send every slice, in order, to `socket`. Returns the bytes sent.
pub fn send_slices(socket: &OwnedFd, slices: &[MessageSlice], timeout: Duration, stats: &StoreStats) -> Result<u64, TransferError> {
    let mut sent = 0u64;
    let deadline = Instant::now() + timeout;
    for slice in slices {
        let mut offset = slice.pos as libc::off_t;
        let mut remaining = slice.len;
        while remaining > 0 {
            // SAFETY: both descriptors are open for the duration of the call (`socket` is owned,
            // the segment keeps its file open); `offset` is a valid pointer to an off_t.
            let n = unsafe { libc::sendfile(socket.as_raw_fd(), slice.segment.raw_fd(), &mut offset, remaining) };
            if n > 0 {
                let n = n as usize;
                remaining -= n;
                sent += n as u64;
                stats.transferred_bytes.fetch_add(n as u64, Ordering::Relaxed);
                continue;
            }
            let error = std::io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => wait_writable(socket, deadline, sent)?,
                _ if n == 0 => {
                    return Err(TransferError::Io { sent, source: std::io::Error::from(std::io::ErrorKind::WriteZero) })
                }
                _ => return Err(TransferError::Io { sent, source: error }),
            }
        }
    }
    Ok(sent)
}

fn wait_writable(socket: &OwnedFd, deadline: Instant, sent: u64) -> Result<(), TransferError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TransferError::Timeout { sent });
        }
        let mut poll = libc::pollfd { fd: socket.as_raw_fd(), events: libc::POLLOUT, revents: 0 };
        let wait_ms = left.as_millis().min(1000) as libc::c_int;
        // SAFETY: `poll` points to one valid pollfd for the duration of the call.
        let rc = unsafe { libc::poll(&mut poll, 1, wait_ms.max(1)) };
        if rc > 0 {
            if poll.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 && poll.revents & libc::POLLOUT == 0 {
                return Err(TransferError::Io { sent, source: std::io::Error::from(std::io::ErrorKind::BrokenPipe) });
            }
            return Ok(());
        }
        if rc < 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINTR) {
                return Err(TransferError::Io { sent, source: error });
            }
        }
    }
}

/// Duplicate `fd` (close-on-exec) so a transfer owns its own descriptor.
pub fn duplicate_fd(fd: i32) -> std::io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC on a caller-supplied descriptor; failure is reported via -1.
    let duplicate = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if duplicate < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `duplicate` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(duplicate) })
}
