//! The kernel's process events (`NETLINK_CONNECTOR`, `CN_IDX_PROC`): keepalived's
//! `nl_connect()`, `set_proc_ev_listen()` and `handle_proc_ev()`.
//!
//! The kernel answers the subscription only in the initial network, user and PID
//! namespaces: elsewhere the subscription is refused (ECONNREFUSED in another network
//! namespace) or never acknowledged, and [`Connector::open`] says so, so the caller can
//! read /proc instead.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use netlink_sys::{protocols::NETLINK_CONNECTOR, Socket, SocketAddr};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::host::io_error::describe;

/// `CN_IDX_PROC` and `CN_VAL_PROC` (`linux/connector.h`).
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// `enum proc_cn_mcast_op`.
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_CN_MCAST_IGNORE: u32 = 2;
/// `enum what` of `struct proc_event` (`linux/cn_proc.h`).
const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_COMM: u32 = 0x0000_0200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

const NLMSG_HDRLEN: usize = 16;
/// `struct cn_msg` without its data.
const CN_MSG_LEN: usize = 20;
/// Where `struct proc_event` starts in a datagram.
const EVENT_AT: usize = NLMSG_HDRLEN + CN_MSG_LEN;
/// `what`, `cpu` and `timestamp_ns` before `event_data`.
const EVENT_HEAD: usize = 16;

/// The largest datagram read: an event is under 100 bytes.
const RECV_MAX: usize = 1024;
/// The most events taken from the socket before the loop is given back.
const BATCH: usize = 256;

/// One process event, as far as tracking needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcEvent {
    /// The kernel acknowledged a subscription (`PROC_EVENT_NONE`).
    Ack,
    Fork {
        parent_tgid: i32,
        child_pid: i32,
        child_tgid: i32,
    },
    Exec {
        pid: i32,
        tgid: i32,
    },
    Comm {
        pid: i32,
        tgid: i32,
        comm: [u8; 16],
    },
    Exit {
        pid: i32,
        tgid: i32,
    },
    /// An event tracking does not use (uid, gid, sid, ptrace, coredump changes).
    Other,
}

/// What a read of the socket gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Msg {
    Event(ProcEvent),
    /// The socket's buffer overflowed (ENOBUFS): events were lost.
    Overrun,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectorError {
    #[error("the kernel has no process events connector (CONFIG_PROC_EVENTS)")]
    Unsupported,
    #[error("cannot open the process events socket: {}", describe(.0))]
    Socket(io::Error),
    #[error("the kernel refused the subscription to process events: {}", describe(.0))]
    Listen(io::Error),
    #[error("the kernel did not acknowledge the subscription to process events")]
    NoAck,
}

/// `process_monitor_rcv_bufs[_force]`: the socket's receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RcvBuf {
    /// 0: the system's default.
    pub size: u32,
    /// SO_RCVBUFFORCE, past `net.core.rmem_max` (needs CAP_NET_ADMIN).
    pub force: bool,
}

/// A subscribed process events socket.
pub(crate) struct Connector {
    fd: AsyncFd<Socket>,
    port: u32,
    buf: Vec<u8>,
}

impl Connector {
    /// Opens the socket, sizes its buffer, subscribes, and checks that the kernel
    /// acknowledged. The acknowledgement is sent while the subscription is handled, so
    /// it is already queued when `send` returns; events queued before it come from
    /// other subscribers' traffic and also show that events flow. They predate the scan
    /// the caller makes next, which sees what they would have said, so they are
    /// dropped.
    pub(crate) fn open(rcvbuf: RcvBuf) -> Result<Connector, ConnectorError> {
        let mut s = Socket::new(NETLINK_CONNECTOR).map_err(|e| {
            if e.raw_os_error() == Some(libc::EPROTONOSUPPORT) {
                ConnectorError::Unsupported
            } else {
                ConnectorError::Socket(e)
            }
        })?;
        s.bind(&SocketAddr::new(0, CN_IDX_PROC))
            .map_err(ConnectorError::Socket)?;
        let mut addr = SocketAddr::new(0, 0);
        s.get_address(&mut addr).map_err(ConnectorError::Socket)?;
        s.set_non_blocking(true).map_err(ConnectorError::Socket)?;
        if rcvbuf.size > 0 {
            // set_rcv_buf(): a refusal is logged and the default kept.
            if let Err(e) = set_rcvbuf(s.as_raw_fd(), rcvbuf.size, rcvbuf.force) {
                tracing::info!(
                    "Cannot set process monitor SO_RCVBUF{} option: {}",
                    if rcvbuf.force { "FORCE" } else { "" },
                    describe(&e)
                );
            }
        }
        let port = addr.port_number();
        s.send(&listen_message(port, PROC_CN_MCAST_LISTEN), 0)
            .map_err(ConnectorError::Listen)?;
        let mut buf = Vec::with_capacity(RECV_MAX);
        let mut flowing = false;
        loop {
            match recv_one(&s, &mut buf) {
                Ok(Some(Msg::Event(ProcEvent::Ack))) => {
                    flowing = true;
                    break;
                }
                Ok(Some(_)) => flowing = true,
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConnectorError::Socket(e)),
            }
        }
        if !flowing {
            return Err(ConnectorError::NoAck);
        }
        // SAFETY: the socket owns its descriptor, which stays open and unchanged for as
        // long as the AsyncFd (which owns the socket) lives.
        let fd = unsafe { AsyncFd::register_with_interest(s, Interest::READABLE) }
            .map_err(|e| ConnectorError::Socket(io::Error::other(e.to_string())))?;
        Ok(Connector { fd, port, buf })
    }

    /// Waits for events and appends what the socket holds (up to [`BATCH`]) to `out`;
    /// returns once `out` has something. Nothing is lost if the wait is cancelled: what
    /// was read is in `out`, and reads happen only after the wait.
    pub(crate) async fn recv(&mut self, out: &mut Vec<Msg>) -> io::Result<()> {
        let Connector { fd, buf, .. } = self;
        loop {
            let mut guard = fd.readable().await?;
            while out.len() < BATCH {
                match guard.try_io(|s| recv_one(s.get_ref(), buf)) {
                    Ok(Ok(Some(m))) => out.push(m),
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => return Err(e),
                    Err(_would_block) => break,
                }
            }
            if !out.is_empty() {
                return Ok(());
            }
        }
    }

    /// The receive buffer's size as the kernel reports it (twice what was asked).
    #[cfg(test)]
    pub(crate) fn rcvbuf_size(&self) -> usize {
        self.fd.get_ref().get_rx_buf_sz().unwrap_or(0)
    }

    /// A new `process_monitor_rcv_bufs[_force]`, on a reload.
    pub(crate) fn set_size(&self, rcvbuf: RcvBuf) -> io::Result<()> {
        set_rcvbuf(self.fd.get_ref().as_raw_fd(), rcvbuf.size, rcvbuf.force)
    }

    /// After an overrun (`reinitialise_track_processes()`): twice the buffer the
    /// kernel reports, which is itself twice what was asked. Returns the new size.
    pub(crate) fn grow(&self, force: bool) -> io::Result<u32> {
        let now = self.fd.get_ref().get_rx_buf_sz()?;
        let size = u32::try_from(now.saturating_mul(2)).unwrap_or(u32::MAX);
        set_rcvbuf(self.fd.get_ref().as_raw_fd(), size, force)?;
        Ok(size)
    }
}

impl Drop for Connector {
    /// `end_process_monitor()`: the kernel counts subscribers, and sends events to
    /// nobody's benefit while the count is above zero.
    fn drop(&mut self) {
        let _ = self
            .fd
            .get_ref()
            .send(&listen_message(self.port, PROC_CN_MCAST_IGNORE), 0);
    }
}

fn set_rcvbuf(fd: RawFd, size: u32, force: bool) -> io::Result<()> {
    let name = if force {
        libc::SO_RCVBUFFORCE
    } else {
        libc::SO_RCVBUF
    };
    let value = i32::try_from(size).unwrap_or(i32::MAX);
    // SAFETY: an int option with its exact size, on a descriptor the caller holds open.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// One datagram, if the kernel sent it and it is a process event. ENOBUFS is an
/// overrun, not an error.
fn recv_one(s: &Socket, buf: &mut Vec<u8>) -> io::Result<Option<Msg>> {
    buf.clear();
    let (n, from) = match s.recv_from(buf, 0) {
        Ok(r) => r,
        Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(Some(Msg::Overrun)),
        Err(e) => return Err(e),
    };
    // Only the kernel speaks for processes (handle_proc_ev()).
    if from.port_number() != 0 {
        return Ok(None);
    }
    Ok(decode(&buf[..n.min(buf.len())]).map(Msg::Event))
}

/// `nlmsghdr` + `cn_msg` + `enum proc_cn_mcast_op`, as `set_proc_ev_listen()` sends.
fn listen_message(port: u32, op: u32) -> [u8; EVENT_AT + 4] {
    const LEN: usize = EVENT_AT + 4;
    let mut m = [0u8; LEN];
    m[0..4].copy_from_slice(&(LEN as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    m[12..16].copy_from_slice(&port.to_ne_bytes());
    m[16..20].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m[20..24].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m[32..34].copy_from_slice(&4u16.to_ne_bytes());
    m[36..40].copy_from_slice(&op.to_ne_bytes());
    m
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn i32_at(b: &[u8], at: usize) -> Option<i32> {
    u32_at(b, at).map(|v| v as i32)
}

/// A process event from one datagram (`handle_proc_ev()`'s checks): a netlink message
/// that is not an error or no-op, from the process connector, whose `ack` is set only
/// on an acknowledgement, with as much data as its kind needs. The kernel sends one
/// event per datagram.
pub(crate) fn decode(b: &[u8]) -> Option<ProcEvent> {
    let nl_len = u32_at(b, 0)? as usize;
    if nl_len < NLMSG_HDRLEN || nl_len > b.len() {
        return None;
    }
    let b = &b[..nl_len];
    let nl_type = u16::from_ne_bytes(b.get(4..6)?.try_into().ok()?);
    if nl_type == libc::NLMSG_ERROR as u16 || nl_type == libc::NLMSG_NOOP as u16 {
        return None;
    }
    if u32_at(b, 16)? != CN_IDX_PROC || u32_at(b, 20)? != CN_VAL_PROC {
        return None;
    }
    let ack = u32_at(b, 28)?;
    let cn_len = usize::from(u16::from_ne_bytes(b.get(32..34)?.try_into().ok()?));
    let data = b.get(EVENT_AT..EVENT_AT + cn_len)?;
    if data.len() < EVENT_HEAD {
        return None;
    }
    let what = u32_at(data, 0)?;
    if (what == PROC_EVENT_NONE) != (ack != 0) {
        return None;
    }
    let ev = EVENT_HEAD;
    Some(match what {
        PROC_EVENT_NONE => ProcEvent::Ack,
        PROC_EVENT_FORK => ProcEvent::Fork {
            parent_tgid: i32_at(data, ev + 4)?,
            child_pid: i32_at(data, ev + 8)?,
            child_tgid: i32_at(data, ev + 12)?,
        },
        PROC_EVENT_EXEC => ProcEvent::Exec {
            pid: i32_at(data, ev)?,
            tgid: i32_at(data, ev + 4)?,
        },
        PROC_EVENT_COMM => ProcEvent::Comm {
            pid: i32_at(data, ev)?,
            tgid: i32_at(data, ev + 4)?,
            comm: data.get(ev + 8..ev + 24)?.try_into().ok()?,
        },
        PROC_EVENT_EXIT => ProcEvent::Exit {
            pid: i32_at(data, ev)?,
            tgid: i32_at(data, ev + 4)?,
        },
        _ => ProcEvent::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram as the kernel builds it: `what` and the event data.
    fn datagram(what: u32, ack: u32, event: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(&what.to_ne_bytes());
        data.extend_from_slice(&0u32.to_ne_bytes());
        data.extend_from_slice(&123u64.to_ne_bytes());
        data.extend_from_slice(event);
        let mut b = Vec::new();
        b.extend_from_slice(&((EVENT_AT + data.len()) as u32).to_ne_bytes());
        b.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        b.extend_from_slice(&[0; 10]);
        b.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        b.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        b.extend_from_slice(&7u32.to_ne_bytes());
        b.extend_from_slice(&ack.to_ne_bytes());
        b.extend_from_slice(&(data.len() as u16).to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&data);
        b
    }

    fn ints(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|i| i.to_ne_bytes()).collect()
    }

    #[test]
    fn events_decode_from_the_kernels_layout() {
        assert_eq!(decode(&datagram(0, 1, &ints(&[0]))), Some(ProcEvent::Ack));
        assert_eq!(
            decode(&datagram(1, 0, &ints(&[10, 10, 11, 11]))),
            Some(ProcEvent::Fork {
                parent_tgid: 10,
                child_pid: 11,
                child_tgid: 11
            })
        );
        assert_eq!(
            decode(&datagram(2, 0, &ints(&[12, 12]))),
            Some(ProcEvent::Exec { pid: 12, tgid: 12 })
        );
        let mut comm = ints(&[13, 14]);
        comm.extend_from_slice(b"sleep\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(
            decode(&datagram(0x200, 0, &comm)),
            Some(ProcEvent::Comm {
                pid: 13,
                tgid: 14,
                comm: *b"sleep\0\0\0\0\0\0\0\0\0\0\0"
            })
        );
        assert_eq!(
            decode(&datagram(0x8000_0000, 0, &ints(&[15, 15, 0, 17, 1, 1]))),
            Some(ProcEvent::Exit { pid: 15, tgid: 15 })
        );
        assert_eq!(
            decode(&datagram(4, 0, &ints(&[1, 1, 0, 0]))),
            Some(ProcEvent::Other)
        );
    }

    #[test]
    fn malformed_or_foreign_datagrams_are_not_events() {
        let good = datagram(2, 0, &ints(&[12, 12]));
        for n in 0..good.len() {
            assert_eq!(decode(&good[..n]), None, "cut at {n}");
        }
        // An acknowledgement flag on an event, or none on an acknowledgement.
        assert_eq!(decode(&datagram(2, 1, &ints(&[12, 12]))), None);
        assert_eq!(decode(&datagram(0, 0, &ints(&[0]))), None);
        // Too little data for the kind of event.
        assert_eq!(decode(&datagram(1, 0, &ints(&[10, 10, 11]))), None);
        assert_eq!(decode(&datagram(0x200, 0, &ints(&[1, 1, 0]))), None);
        // Another connector, an error, a length beyond the datagram.
        let mut other = good.clone();
        other[16] = 9;
        assert_eq!(decode(&other), None);
        let mut err = good.clone();
        err[4..6].copy_from_slice(&(libc::NLMSG_ERROR as u16).to_ne_bytes());
        assert_eq!(decode(&err), None);
        let mut long = good.clone();
        long[0..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(decode(&long), None);
        let mut cn_long = good;
        cn_long[32..34].copy_from_slice(&500u16.to_ne_bytes());
        assert_eq!(decode(&cn_long), None);
        assert_eq!(decode(&[0xff; 64]), None);
    }

    #[test]
    fn the_subscription_is_the_message_keepalived_sends() {
        let m = listen_message(0x1234, PROC_CN_MCAST_LISTEN);
        assert_eq!(m.len(), 40);
        assert_eq!(u32_at(&m, 0), Some(40));
        assert_eq!(u32_at(&m, 12), Some(0x1234));
        assert_eq!((u32_at(&m, 16), u32_at(&m, 20)), (Some(1), Some(1)));
        assert_eq!(&m[32..34], &4u16.to_ne_bytes());
        assert_eq!(u32_at(&m, 36), Some(PROC_CN_MCAST_LISTEN));
    }
}
