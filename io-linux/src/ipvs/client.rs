//! The IPVS generic-netlink socket: resolves the family, sends one request at a time and
//! reads its ack, error or multipart dump. Calls block for the microseconds the kernel
//! takes; a receive timeout keeps a kernel that never answers from holding the caller.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::nl::{
    messages, Attrs, Builder, Message, WireError, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME,
    CTRL_CMD_GETFAMILY, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use super::wire::{
    cmd, cmd_attr, parse_info, DaemonRepr, DestId, DestRepr, DestSpec, ServiceId, ServiceRepr,
    Timeouts, IPVS_GENL_NAME, IPVS_GENL_VERSION,
};

const SOL_NETLINK: libc::c_int = 270;
const NETLINK_CAP_ACK: libc::c_int = 10;
const NETLINK_EXT_ACK: libc::c_int = 11;
/// How long a request may go unanswered before it counts as failed.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum IpvsError {
    /// The kernel has no IPVS family (no `ip_vs` module, or none loadable).
    #[error("IPVS is not available in this kernel (no generic netlink family \"IPVS\"{0})")]
    Unavailable(String),
    #[error("IPVS socket: {0}")]
    Io(#[from] io::Error),
    #[error("IPVS reply: {0}")]
    Wire(#[from] WireError),
    /// The kernel refused a command.
    #[error("{}: {}{}", cmd::name(*.cmd), errno_text(*.cmd, *.errno), .ext.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Kernel {
        cmd: u8,
        errno: i32,
        ext: Option<String>,
    },
}

impl IpvsError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// What an errno means for the command that got it (libipvs's `ipvs_strerror()` table,
/// put in words an operator can act on).
fn errno_text(c: u8, errno: i32) -> String {
    let specific = match (c, errno) {
        (cmd::NEW_SERVICE | cmd::SET_SERVICE, libc::ENOENT) => {
            Some("scheduler or persistence engine not found: is its ip_vs_* module available?")
        }
        (cmd::NEW_SERVICE, libc::EEXIST) => Some("service already exists"),
        (cmd::NEW_DEST, libc::EEXIST) => Some("destination already exists"),
        (_, libc::ESRCH) => Some("no such service"),
        (cmd::SET_DEST | cmd::DEL_DEST, libc::ENOENT) => Some("no such destination"),
        (cmd::NEW_DEST | cmd::SET_DEST, libc::EAFNOSUPPORT) => {
            Some("destination family differs from the service's and the method is not TUN")
        }
        (cmd::NEW_DAEMON, libc::EEXIST) => Some("sync daemon already running"),
        (cmd::NEW_DAEMON, libc::ENODEV) => Some("no such sync interface"),
        (_, libc::EINVAL) => Some("invalid argument"),
        (_, libc::EPERM) => Some("permission denied (needs CAP_NET_ADMIN)"),
        _ => None,
    };
    let os = io::Error::from_raw_os_error(errno);
    match specific {
        Some(s) => format!("{s} [errno {errno}]"),
        None => format!("{os}"),
    }
}

/// Runs the kernel's modprobe (`/proc/sys/kernel/modprobe`) for `ip_vs`; whether it
/// succeeded.
fn load_module() -> bool {
    let modprobe = std::fs::read_to_string("/proc/sys/kernel/modprobe")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/sbin/modprobe".into());
    let mut cmd = std::process::Command::new(modprobe);
    // SAFETY: restore_defaults() makes only async-signal-safe calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(
            &mut cmd,
            crate::host::signals::restore_defaults,
        )
    };
    cmd.args(["-q", "ip_vs"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A netlink socket of `protocol`, with capped and extended acks where the kernel has
/// them.
pub(crate) fn open_netlink(protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned at once.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let one: libc::c_int = 1;
    for opt in [NETLINK_CAP_ACK, NETLINK_EXT_ACK] {
        // Best effort: older kernels lack these and answer the long way.
        // SAFETY: setsockopt with a pointer to a live c_int.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                SOL_NETLINK,
                opt,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    Ok(fd)
}

pub struct IpvsClient {
    fd: OwnedFd,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl IpvsClient {
    /// Opens the socket and resolves the "IPVS" family, loading the `ip_vs` module first
    /// if the family is missing (`modprobe_ipvs()`: nothing else loads it on demand).
    pub fn open() -> Result<IpvsClient, IpvsError> {
        match IpvsClient::open_once() {
            Err(IpvsError::Unavailable(_)) if load_module() => IpvsClient::open_once(),
            r => r,
        }
    }

    fn open_once() -> Result<IpvsClient, IpvsError> {
        let fd = open_netlink(libc::NETLINK_GENERIC)?;
        let tv = libc::timeval {
            tv_sec: REPLY_TIMEOUT.as_secs() as libc::time_t,
            tv_usec: 0,
        };
        // SAFETY: setsockopt with a pointer to a live timeval.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            );
        }
        let mut c = IpvsClient {
            fd,
            family: GENL_ID_CTRL,
            seq: 0,
            buf: vec![0u8; 64 * 1024],
        };
        let mut b = c.builder_for(
            GENL_ID_CTRL,
            CTRL_CMD_GETFAMILY,
            NLM_F_REQUEST | NLM_F_ACK,
            1,
        );
        b.str(CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME);
        let mut id = None;
        match c.transact(b, CTRL_CMD_GETFAMILY, |_, attrs| {
            for a in attrs {
                let (k, v) = a?;
                if k == CTRL_ATTR_FAMILY_ID {
                    id = Some(super::nl::attr_u16(v, k)?);
                }
            }
            Ok(())
        }) {
            Ok(()) => {}
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ENOENT => {
                return Err(IpvsError::Unavailable(
                    ": load the ip_vs module, or build the kernel with CONFIG_IP_VS".into(),
                ))
            }
            Err(e) => return Err(e),
        }
        c.family = id.ok_or(WireError::Missing("CTRL_ATTR_FAMILY_ID"))?;
        Ok(c)
    }

    fn builder_for(&mut self, family: u16, c: u8, flags: u16, version: u8) -> Builder {
        self.seq = self.seq.wrapping_add(1);
        Builder::new(family, flags, self.seq, c, version)
    }

    pub(crate) fn builder(&mut self, c: u8, flags: u16) -> Builder {
        self.builder_for(self.family, c, flags, IPVS_GENL_VERSION)
    }

    /// Sends `b` and reads until its ack, error or end of dump, handing each data
    /// message's attributes to `each`.
    fn transact(
        &mut self,
        b: Builder,
        c: u8,
        mut each: impl FnMut(u8, Attrs<'_>) -> Result<(), IpvsError>,
    ) -> Result<(), IpvsError> {
        let req = b.finish();
        let seq = self.seq;
        // SAFETY: send(2) of a buffer we own, to the kernel (the socket's default peer).
        let n = unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error().into());
        }
        let mut first_error: Option<IpvsError> = None;
        loop {
            // SAFETY: recv(2) into our own buffer of its full length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{} unanswered after {REPLY_TIMEOUT:?}", cmd::name(c)),
                    )
                    .into());
                }
                return Err(e.into());
            }
            let data = &self.buf[..n as usize];
            let mut done = false;
            for m in messages(data) {
                let m: Message<&[u8]> = m?;
                if m.seq() != seq {
                    continue; // a late answer to an earlier, timed-out request
                }
                match m.msg_type() {
                    NLMSG_ERROR => {
                        let (errno, ext) = m.error()?;
                        if errno != 0 && first_error.is_none() {
                            first_error = Some(IpvsError::Kernel { cmd: c, errno, ext });
                        }
                        done = true;
                    }
                    NLMSG_DONE => done = true,
                    _ => {
                        let (gc, attrs) = m.genl()?;
                        if first_error.is_none() {
                            if let Err(e) = each(gc, attrs) {
                                first_error = Some(e);
                            }
                        }
                    }
                }
            }
            if done {
                return match first_error {
                    Some(e) => Err(e),
                    None => Ok(()),
                };
            }
        }
    }

    fn command(&mut self, b: Builder, c: u8) -> Result<(), IpvsError> {
        self.transact(b, c, |_, _| Ok(()))
    }

    /// Sends `b` and parses every `kind` attribute of every reply message with `parse`.
    pub(crate) fn collect<T>(
        &mut self,
        b: Builder,
        c: u8,
        kind: u16,
        parse: impl Fn(&[u8]) -> Result<T, WireError>,
    ) -> Result<Vec<T>, IpvsError> {
        let mut out = Vec::new();
        self.transact(b, c, |_, attrs| {
            for a in attrs {
                let (k, v) = a?;
                if k == kind {
                    out.push(parse(v)?);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// IPVS's version and connection-table size.
    pub fn info(&mut self) -> Result<(u32, u32), IpvsError> {
        let b = self.builder(cmd::GET_INFO, NLM_F_REQUEST | NLM_F_ACK);
        let mut out = None;
        self.transact(b, cmd::GET_INFO, |_, attrs| {
            out = Some(parse_info(attrs)?);
            Ok(())
        })?;
        Ok(out.ok_or(WireError::Missing("IPVS_INFO_ATTR_VERSION"))?)
    }

    /// Every service in the kernel.
    pub fn services(&mut self) -> Result<Vec<ServiceRepr>, IpvsError> {
        let b = self.builder(cmd::GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP);
        self.collect(b, cmd::GET_SERVICE, cmd_attr::SERVICE, ServiceRepr::parse)
    }

    /// One service, or `None` if the kernel has no such service.
    pub fn service(&mut self, id: &ServiceId) -> Result<Option<ServiceRepr>, IpvsError> {
        let mut b = self.builder(cmd::GET_SERVICE, NLM_F_REQUEST | NLM_F_ACK);
        id.emit(&mut b);
        match self.collect(b, cmd::GET_SERVICE, cmd_attr::SERVICE, ServiceRepr::parse) {
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ESRCH => Ok(None),
            Err(e) => Err(e),
            Ok(found) => Ok(found.into_iter().next()),
        }
    }

    /// The destinations of a service.
    pub fn dests(&mut self, id: &ServiceId) -> Result<Vec<DestRepr>, IpvsError> {
        let mut b = self.builder(cmd::GET_DEST, NLM_F_REQUEST | NLM_F_DUMP);
        id.emit(&mut b);
        let af = id.af;
        self.collect(b, cmd::GET_DEST, cmd_attr::DEST, |v| DestRepr::parse(v, af))
    }

    pub fn add_service(&mut self, s: &ServiceRepr) -> Result<(), IpvsError> {
        self.service_cmd(cmd::NEW_SERVICE, s)
    }
    pub fn edit_service(&mut self, s: &ServiceRepr) -> Result<(), IpvsError> {
        self.service_cmd(cmd::SET_SERVICE, s)
    }
    fn service_cmd(&mut self, c: u8, s: &ServiceRepr) -> Result<(), IpvsError> {
        let mut b = self.builder(c, NLM_F_REQUEST | NLM_F_ACK);
        s.emit(&mut b);
        self.command(b, c)
    }
    pub fn del_service(&mut self, id: &ServiceId) -> Result<(), IpvsError> {
        let mut b = self.builder(cmd::DEL_SERVICE, NLM_F_REQUEST | NLM_F_ACK);
        id.emit(&mut b);
        self.command(b, cmd::DEL_SERVICE)
    }

    pub fn add_dest(
        &mut self,
        s: &ServiceId,
        d: &DestId,
        spec: &DestSpec,
    ) -> Result<(), IpvsError> {
        self.dest_cmd(cmd::NEW_DEST, s, d, spec)
    }
    pub fn edit_dest(
        &mut self,
        s: &ServiceId,
        d: &DestId,
        spec: &DestSpec,
    ) -> Result<(), IpvsError> {
        self.dest_cmd(cmd::SET_DEST, s, d, spec)
    }
    fn dest_cmd(
        &mut self,
        c: u8,
        s: &ServiceId,
        d: &DestId,
        spec: &DestSpec,
    ) -> Result<(), IpvsError> {
        let mut b = self.builder(c, NLM_F_REQUEST | NLM_F_ACK);
        s.emit(&mut b);
        DestRepr::emit(d, spec, &mut b);
        self.command(b, c)
    }
    pub fn del_dest(&mut self, s: &ServiceId, d: &DestId) -> Result<(), IpvsError> {
        let mut b = self.builder(cmd::DEL_DEST, NLM_F_REQUEST | NLM_F_ACK);
        s.emit(&mut b);
        d.emit(&mut b);
        self.command(b, cmd::DEL_DEST)
    }

    /// Removes every service and destination (`ipvsadm -C`).
    pub fn flush(&mut self) -> Result<(), IpvsError> {
        let b = self.builder(cmd::FLUSH, NLM_F_REQUEST | NLM_F_ACK);
        self.command(b, cmd::FLUSH)
    }

    pub fn set_timeouts(&mut self, t: &Timeouts) -> Result<(), IpvsError> {
        let mut b = self.builder(cmd::SET_CONFIG, NLM_F_REQUEST | NLM_F_ACK);
        t.emit(&mut b);
        self.command(b, cmd::SET_CONFIG)
    }

    pub fn start_daemon(&mut self, d: &DaemonRepr) -> Result<(), IpvsError> {
        let mut b = self.builder(cmd::NEW_DAEMON, NLM_F_REQUEST | NLM_F_ACK);
        d.emit(&mut b, true);
        self.command(b, cmd::NEW_DAEMON)
    }

    pub fn stop_daemon(&mut self, d: &DaemonRepr) -> Result<(), IpvsError> {
        let mut b = self.builder(cmd::DEL_DAEMON, NLM_F_REQUEST | NLM_F_ACK);
        d.emit(&mut b, false);
        self.command(b, cmd::DEL_DAEMON)
    }
}
