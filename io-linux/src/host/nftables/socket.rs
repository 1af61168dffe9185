//! The NETLINK_NETFILTER socket batches go over. The kernel applies a batch inside the
//! `send(2)` that carries it (nfnetlink's input runs in the sender's context), so once it
//! returns every ack and error is already queued: they are read without waiting, and a
//! takeover pays a system call per batch, not a round trip per VIP.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::wire::{msg, Batch, Sent};
use crate::ipvs::client::open_netlink;
use crate::ipvs::nl::{messages, WireError, NLMSG_ERROR};

const NETLINK_NETFILTER: libc::c_int = 12;

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("opening a NETLINK_NETFILTER socket: {0}")]
    Socket(io::Error),
    #[error("sending an nf_tables batch: {0}")]
    Send(io::Error),
    #[error("reading nf_tables' answer: {0}")]
    Recv(io::Error),
    #[error("nf_tables' answer: {0}")]
    Wire(#[from] WireError),
    /// The kernel refused a message, and with it the whole batch.
    #[error("{what} ({msg}): {}{}", io::Error::from_raw_os_error(*.errno), .ext.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Kernel {
        what: String,
        msg: &'static str,
        errno: i32,
        ext: Option<String>,
    },
}

impl NftError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            NftError::Kernel { errno, .. } => Some(*errno),
            NftError::Socket(e) | NftError::Send(e) | NftError::Recv(e) => e.raw_os_error(),
            NftError::Wire(_) => None,
        }
    }

    /// What an operator can do about it.
    pub fn advice(&self) -> &'static str {
        match self.errno() {
            Some(libc::EPERM | libc::EACCES) => {
                "the VRRP process needs CAP_NET_ADMIN in its network namespace to install nftables rules"
            }
            Some(libc::EPROTONOSUPPORT | libc::EOPNOTSUPP | libc::EAFNOSUPPORT) => {
                "this kernel has no nf_tables: load it (modprobe nf_tables) or build the kernel with CONFIG_NF_TABLES"
            }
            Some(libc::EEXIST | libc::EBUSY) => {
                "a table, chain or set of the same name is in the way: delete it (nft delete table ip|ip6 NAME) or choose another name with `nftables NAME`"
            }
            Some(libc::ENOENT) => {
                "part of the ruleset was deleted from outside (nft delete …): it is made again"
            }
            _ => "check `nft list ruleset` and the kernel log",
        }
    }
}

pub struct NftSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl NftSocket {
    pub fn open() -> Result<NftSocket, NftError> {
        let fd = open_netlink(NETLINK_NETFILTER).map_err(NftError::Socket)?;
        // Sequence numbers start from the time, as keepalived's do, so a restarted
        // daemon's answers are not taken for an earlier run's.
        let seq = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as u32)
            .unwrap_or(1);
        Ok(NftSocket {
            fd,
            seq,
            buf: vec![0u8; 64 * 1024],
        })
    }

    /// A new batch numbered from the socket's next sequence number.
    pub fn batch(&self) -> Batch {
        Batch::new(self.seq)
    }

    /// Sends `batch` and reads its answers: `Ok` when the kernel took every message.
    pub fn send(&mut self, batch: Batch) -> Result<(), NftError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (buf, sent, next) = batch.finish();
        self.seq = next;
        // Whatever an earlier batch left unread is not this one's answer.
        self.drain(&[]).ok();
        loop {
            // SAFETY: send(2) of a buffer we own, to the kernel (the default peer).
            let n = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
            if n >= 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(NftError::Send(e));
            }
        }
        self.drain(&sent)
    }

    /// Reads every queued answer without waiting; the first error among `sent`'s
    /// messages is returned.
    fn drain(&mut self, sent: &[Sent]) -> Result<(), NftError> {
        let mut first: Option<NftError> = None;
        loop {
            // SAFETY: recv(2) into our own buffer of its full length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => break,
                    _ => return Err(first.unwrap_or(NftError::Recv(e))),
                }
            }
            for m in messages(&self.buf[..n as usize]) {
                let m = m?;
                if m.msg_type() != NLMSG_ERROR {
                    continue;
                }
                let (errno, ext) = m.error()?;
                if errno == 0 || first.is_some() {
                    continue;
                }
                if let Some(s) = sent.iter().find(|s| s.seq == m.seq()) {
                    first = Some(NftError::Kernel {
                        what: s.what.clone(),
                        msg: msg::name(s.msg),
                        errno,
                        ext,
                    });
                } else if !sent.is_empty() {
                    // An error about the batch itself (its markers).
                    first = Some(NftError::Kernel {
                        what: "the batch".into(),
                        msg: "NFNL_MSG_BATCH",
                        errno,
                        ext,
                    });
                }
            }
        }
        match first {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
