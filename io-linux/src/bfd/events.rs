//! BFD session events, from the BFD child to the VRRP and checker children: keepalived's
//! `bfd_vrrp_event_pipe` and `bfd_checker_event_pipe` (`open_bfd_pipes()`,
//! `bfd_event_send()`, `vrrp_bfd_thread()`, `bfd_check_thread()`). The parent opens both
//! pipes once, before it starts any child, and keeps them for its whole life; each child
//! it starts finds its ends at fixed descriptors ([`VRRP_EVENTS_FD`],
//! [`CHECKER_EVENTS_FD`]), as it finds the configuration channel at 3. A child restarted
//! reads the same pipe, so nothing is lost across its restart but what the pipe could not
//! hold; and the parent asks the BFD child to send every session's state again (SIGUSR2)
//! whenever it starts a VRRP or checker child, so a new child learns the states at once
//! instead of at their next change, which is all keepalived's child ever hears.
//!
//! A record is [`RECORD_LEN`] bytes, well under PIPE_BUF, so each write(2) is atomic and
//! records never interleave or split: a magic byte, the state (1 Up, 0 anything else, as
//! `bfd_event_send()` folds the states), the name's length, a spare zero, when it was
//! written (CLOCK_MONOTONIC µs, big-endian, keepalived's `sent_time`, so that the reader
//! can say with `-D` how long it took: "delivered in N usec"), and the name in
//! [`NAME_MAX`] bytes padded with zeros (keepalived's `BFD_INAME_MAX`).

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::unix::AsyncFd;
use tracing::{debug, error, warn};

use crate::host::process::Process;

/// The longest session name a record carries (keepalived's `BFD_INAME_MAX`).
pub const NAME_MAX: usize = 32;

/// Where the name starts: after 4 bytes of header and 8 of sending time.
const NAME_AT: usize = 12;

/// One record's size.
pub const RECORD_LEN: usize = NAME_AT + NAME_MAX;

/// The first byte of every record: a reader that finds anything else has lost its place.
const MAGIC: u8 = 0xBF;

/// Where the VRRP child reads, and the BFD child writes, the VRRP process's events.
pub(crate) const VRRP_EVENTS_FD: RawFd = 5;
/// Where the checker child reads, and the BFD child writes, the checker's events.
pub(crate) const CHECKER_EVENTS_FD: RawFd = 6;

/// Set by the parent in the environment of a child it gave its pipe ends, so that a child
/// never takes for a pipe a descriptor it inherited from whoever started the parent.
pub(crate) const EVENTS_ENV: &str = "KEEPALIVED_RS_BFD_EVENTS";

/// The lowest descriptor the parent keeps its ends at: above every descriptor a child is
/// given (3 to 6), so installing one never overwrites another still to be installed.
const PARENT_FD_FLOOR: RawFd = 10;

/// Records read at most at once.
const READ_RECORDS: usize = 64;

/// One session's state, as the VRRP and checker children hear it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the BFD session name '{0}' is longer than the {NAME_MAX} bytes an event carries")]
    NameTooLong(String),
    #[error("the BFD session name is empty")]
    NameEmpty,
    #[error("not a BFD event record (first byte {0:#04x})")]
    BadMagic(u8),
    #[error("a BFD event record with a name of {0} bytes")]
    BadLength(u8),
    #[error("a BFD event record with state {0}")]
    BadState(u8),
    #[error("a BFD event record whose name is not UTF-8")]
    NotUtf8,
}

impl Record {
    /// The record, sent at `sent_us` ([`monotonic_us`]).
    pub fn encode(&self, sent_us: u64) -> Result<[u8; RECORD_LEN], RecordError> {
        let name = self.name.as_bytes();
        if name.len() > NAME_MAX {
            return Err(RecordError::NameTooLong(self.name.clone()));
        }
        if name.is_empty() {
            return Err(RecordError::NameEmpty);
        }
        let mut b = [0u8; RECORD_LEN];
        b[0] = MAGIC;
        b[1] = u8::from(self.up);
        b[2] = name.len() as u8;
        b[4..NAME_AT].copy_from_slice(&sent_us.to_be_bytes());
        b[NAME_AT..NAME_AT + name.len()].copy_from_slice(name);
        Ok(b)
    }

    /// The record, and when it was sent.
    pub fn decode(b: &[u8; RECORD_LEN]) -> Result<(Record, u64), RecordError> {
        if b[0] != MAGIC {
            return Err(RecordError::BadMagic(b[0]));
        }
        let up = match b[1] {
            0 => false,
            1 => true,
            s => return Err(RecordError::BadState(s)),
        };
        let len = usize::from(b[2]);
        if len == 0 || len > NAME_MAX {
            return Err(RecordError::BadLength(b[2]));
        }
        let name =
            std::str::from_utf8(&b[NAME_AT..NAME_AT + len]).map_err(|_| RecordError::NotUtf8)?;
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&b[4..NAME_AT]);
        Ok((
            Record {
                name: name.to_string(),
                up,
            },
            u64::from_be_bytes(sent),
        ))
    }
}

/// CLOCK_MONOTONIC in microseconds: one clock for every process of the host.
pub fn monotonic_us() -> u64 {
    // SAFETY: a zeroed timespec is valid; clock_gettime writes only it.
    let t = unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t);
        t
    };
    (t.tv_sec as u64) * 1_000_000 + (t.tv_nsec as u64) / 1_000
}

/// A pipe's two ends.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    /// Non-blocking at both ends (a full pipe must never stop the BFD child's loop),
    /// close-on-exec, above [`PARENT_FD_FLOOR`].
    fn open() -> io::Result<Pipe> {
        let mut fds = [-1; 2];
        // SAFETY: pipe2 writes two descriptors into the array.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both are fresh descriptors nobody else owns.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Pipe {
            read: raise(r)?,
            write: raise(w)?,
        })
    }
}

/// `fd` moved to the lowest free descriptor from [`PARENT_FD_FLOOR`] up, close-on-exec.
fn raise(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() >= PARENT_FD_FLOOR {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own; the copy is owned at once.
    let raw = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, PARENT_FD_FLOOR) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// The parent's two pipes (`open_bfd_pipes()`), opened before any child starts.
pub struct EventPipes {
    vrrp: Pipe,
    checker: Pipe,
}

/// What a child is given: up to two (parent's descriptor, child's descriptor) pairs.
pub type ChildEnds = [Option<(RawFd, RawFd)>; 2];

impl EventPipes {
    pub fn open() -> io::Result<EventPipes> {
        Ok(EventPipes {
            vrrp: Pipe::open()?,
            checker: Pipe::open()?,
        })
    }

    /// The ends `role` is given: the VRRP child reads its pipe, the checker child its
    /// own, the BFD child writes both.
    pub fn for_child(&self, role: Process) -> ChildEnds {
        let v = &self.vrrp;
        let c = &self.checker;
        match role {
            Process::Vrrp => [Some((v.read.as_raw_fd(), VRRP_EVENTS_FD)), None],
            Process::Checker => [Some((c.read.as_raw_fd(), CHECKER_EVENTS_FD)), None],
            Process::Bfd => [
                Some((v.write.as_raw_fd(), VRRP_EVENTS_FD)),
                Some((c.write.as_raw_fd(), CHECKER_EVENTS_FD)),
            ],
            Process::Parent => [None, None],
        }
    }
}

/// Between fork and exec: each end at its child's descriptor, kept across exec.
///
/// # Safety
/// Only async-signal-safe calls are made, so this may run in a `pre_exec` hook; the
/// descriptors must be open, and at or above [`PARENT_FD_FLOOR`].
pub unsafe fn install_in_child(ends: ChildEnds) -> io::Result<()> {
    for (from, to) in ends.into_iter().flatten() {
        if libc::dup2(from, to) < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::fcntl(to, libc::F_SETFD, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The pipe end at `fd` this child was given, if the parent said it gave one and it is
/// a pipe; close-on-exec again, so scripts do not inherit it.
fn inherited(fd: RawFd) -> Option<OwnedFd> {
    std::env::var_os(EVENTS_ENV)?;
    // SAFETY: fstat on a descriptor number into a zeroed stat buffer.
    let is_pipe = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(fd, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
    };
    if !is_pipe {
        warn!("descriptor {fd} is not the BFD event pipe the parent was to give: no BFD events");
        return None;
    }
    // SAFETY: fd is open, a pipe, and nothing else in this process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fcntl on a descriptor we own.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(fd)
}

/// The VRRP or checker child's end: the records the BFD child wrote, in order.
pub(crate) struct EventReader {
    fd: AsyncFd<OwnedFd>,
    /// Bytes of a record not yet whole (never, while every write is one whole record).
    partial: Vec<u8>,
    /// Records read and not yet handed out.
    queue: std::collections::VecDeque<Record>,
}

impl EventReader {
    /// The end `role` inherited, registered with the running runtime; `None` when the
    /// parent gave none.
    pub(crate) fn inherited(role: Process) -> Option<EventReader> {
        let fd = match role {
            Process::Vrrp => VRRP_EVENTS_FD,
            Process::Checker => CHECKER_EVENTS_FD,
            _ => return None,
        };
        let fd = inherited(fd)?;
        match EventReader::new(fd) {
            Ok(r) => Some(r),
            Err(e) => {
                error!("the BFD event pipe: {e}; no BFD events");
                None
            }
        }
    }

    pub(crate) fn new(fd: OwnedFd) -> io::Result<EventReader> {
        set_nonblocking(&fd)?;
        Ok(EventReader {
            fd: super::sockets::register(fd)?,
            partial: Vec::new(),
            queue: Default::default(),
        })
    }

    /// The next record. Cancel-safe: what is read is queued before anything awaits.
    pub(crate) async fn next(&mut self) -> Record {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return r;
            }
            let Ok(mut ready) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            let mut buf = [0u8; RECORD_LEN * READ_RECORDS];
            // SAFETY: read(2) into a buffer of the stated size.
            let n = unsafe {
                libc::read(
                    self.fd.get_ref().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            match n {
                n if n > 0 => self.take(&buf[..n as usize]),
                // Every writer gone: the parent holds one for good, so only at its end.
                0 => return std::future::pending().await,
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::WouldBlock {
                        ready.clear_ready();
                    } else if e.kind() != io::ErrorKind::Interrupted {
                        error!("reading the BFD event pipe: {e}; no more BFD events");
                        return std::future::pending().await;
                    }
                }
            }
        }
    }

    /// Splits what was read into records.
    fn take(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let whole = self.partial.len() / RECORD_LEN * RECORD_LEN;
        for chunk in self.partial[..whole].chunks_exact(RECORD_LEN) {
            let Ok(b) = <&[u8; RECORD_LEN]>::try_from(chunk) else {
                continue;
            };
            match Record::decode(b) {
                Ok((r, sent)) => {
                    // keepalived says this with -D (`vrrp_handle_bfd_event()`).
                    debug!(
                        session = %r.name,
                        "Received BFD event: instance {} is in state {} (delivered in {} usec)",
                        r.name,
                        if r.up { "Up" } else { "Down" },
                        monotonic_us().saturating_sub(sent)
                    );
                    self.queue.push_back(r);
                }
                Err(e) => warn!("BFD event pipe: {e}: record skipped"),
            }
        }
        self.partial.drain(..whole);
    }
}

/// The next record from `reader`, or never when there is none (a select branch).
pub(crate) async fn next_record(reader: &mut Option<EventReader>) -> Record {
    match reader {
        Some(r) => r.next().await,
        None => std::future::pending().await,
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One of the BFD child's two pipes, and what could not be written to it yet.
struct Out {
    fd: AsyncFd<OwnedFd>,
    /// "VRRP" or "checker", for log lines.
    to: &'static str,
    /// The latest state of each session whose record found the pipe full: written, in
    /// name order, when it has room again. Only the latest matters to the reader.
    pending: BTreeMap<String, bool>,
}

impl Out {
    fn new(fd: OwnedFd, to: &'static str) -> io::Result<Out> {
        set_nonblocking(&fd)?;
        Ok(Out {
            fd: super::sockets::register(fd)?,
            to,
            pending: BTreeMap::new(),
        })
    }

    /// Writes `name`'s state now if nothing waits before it, else queues it. What waits
    /// is written first, as far as the pipe has room: the reader may have made room
    /// since, and [`EventWriter::flush`] is not the only way out of the queue (under a
    /// flood of packets it is reached late, and a state queued behind a full pipe would
    /// otherwise wait on it, and every later state with it).
    fn send(&mut self, name: &str, up: bool) {
        self.pending.remove(name);
        self.flush();
        if !self.pending.is_empty() || !self.write(name, up) {
            self.pending.insert(name.to_string(), up);
        }
    }

    /// One record; false if the pipe is full. A record that cannot be made or a pipe
    /// that fails otherwise is logged and counted as written (nothing can mend it).
    fn write(&self, name: &str, up: bool) -> bool {
        let bytes = match (Record {
            name: name.to_string(),
            up,
        })
        .encode(monotonic_us())
        {
            Ok(b) => b,
            Err(e) => {
                error!(session = name, "({name}) BFD event not sent: {e}");
                return true;
            }
        };
        loop {
            // SAFETY: write(2) of a buffer of the stated size.
            let n = unsafe {
                libc::write(
                    self.fd.get_ref().as_raw_fd(),
                    bytes.as_ptr().cast(),
                    bytes.len(),
                )
            };
            if n == RECORD_LEN as isize {
                return true;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => {
                    debug!(session = name, "({name}) {} event pipe full: held", self.to);
                    return false;
                }
                _ => {
                    // keepalived logs a write error with -D only (`bfd_event_send()`).
                    debug!(
                        session = name,
                        "({name}) {} pipe write() error {e}", self.to
                    );
                    return true;
                }
            }
        }
    }

    /// Writes what waits, in order, until the pipe is full again.
    fn flush(&mut self) {
        while let Some((name, up)) = self.pending.pop_first() {
            if !self.write(&name, up) {
                self.pending.insert(name, up);
                return;
            }
        }
    }

    /// Ready when the pipe has room for what waits; never when nothing waits.
    async fn writable(&self) {
        if self.pending.is_empty() {
            return std::future::pending().await;
        }
        match self.fd.writable().await {
            Ok(mut ready) => ready.clear_ready(),
            Err(_) => std::future::pending().await,
        }
    }
}

/// A session's state as the BFD child last told it, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Told {
    up: bool,
    vrrp: bool,
    checker: bool,
}

/// The BFD child's ends (`bfd_event_send()`), and each session's last state, which
/// [`EventWriter::resend`] tells again.
pub(crate) struct EventWriter {
    vrrp: Option<Out>,
    checker: Option<Out>,
    told: BTreeMap<String, Told>,
}

impl EventWriter {
    /// The ends the BFD child inherited; either may be missing, and its events are then
    /// dropped.
    pub(crate) fn inherited() -> EventWriter {
        let open = |fd: RawFd, to: &'static str| {
            inherited(fd).and_then(|fd| {
                Out::new(fd, to)
                    .map_err(|e| error!("the BFD {to} event pipe: {e}; no events to it"))
                    .ok()
            })
        };
        EventWriter {
            vrrp: open(VRRP_EVENTS_FD, "vrrp"),
            checker: open(CHECKER_EVENTS_FD, "checker"),
            told: BTreeMap::new(),
        }
    }

    #[cfg(test)]
    fn with(vrrp: Option<OwnedFd>, checker: Option<OwnedFd>) -> EventWriter {
        EventWriter {
            vrrp: vrrp.map(|fd| Out::new(fd, "vrrp").unwrap()),
            checker: checker.map(|fd| Out::new(fd, "checker").unwrap()),
            told: BTreeMap::new(),
        }
    }

    /// A session's state: to the VRRP process if `vrrp`, to the checker if `checker`.
    /// Whether it is news: a session not told before, or told another state.
    pub(crate) fn event(&mut self, session: &str, up: bool, vrrp: bool, checker: bool) -> bool {
        let told = Told { up, vrrp, checker };
        let before = self.told.insert(session.to_string(), told);
        self.write(session, told);
        before.is_none_or(|b| b.up != up)
    }

    fn write(&mut self, session: &str, t: Told) {
        if t.vrrp {
            if let Some(o) = &mut self.vrrp {
                o.send(session, t.up);
            }
        }
        if t.checker {
            if let Some(o) = &mut self.checker {
                o.send(session, t.up);
            }
        }
    }

    /// A session removed: it is no longer told again.
    pub(crate) fn closed(&mut self, session: &str) {
        self.told.remove(session);
        for o in [&mut self.vrrp, &mut self.checker].into_iter().flatten() {
            o.pending.remove(session);
        }
    }

    /// Every session's state again, for a VRRP or checker child just started.
    pub(crate) fn resend(&mut self) {
        let told: Vec<(String, Told)> = self.told.iter().map(|(n, t)| (n.clone(), *t)).collect();
        for (name, t) in told {
            self.write(&name, t);
        }
    }

    /// How many sessions have a state to tell.
    pub(crate) fn sessions(&self) -> usize {
        self.told.len()
    }

    /// Waits until a pipe that had no room has some, and writes what waited there.
    /// Cancel-safe; never ready while nothing waits.
    pub(crate) async fn flush(&mut self) {
        let (v, c) = (&self.vrrp, &self.checker);
        let which = tokio::select! {
            _ = async { match v { Some(o) => o.writable().await, None => std::future::pending().await } } => 0,
            _ = async { match c { Some(o) => o.writable().await, None => std::future::pending().await } } => 1,
        };
        let out = if which == 0 {
            &mut self.vrrp
        } else {
            &mut self.checker
        };
        if let Some(o) = out {
            o.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn pipe() -> (OwnedFd, OwnedFd) {
        let p = Pipe::open().unwrap();
        (p.read, p.write)
    }

    #[test]
    fn a_record_round_trips_and_fits_an_atomic_write() {
        const { assert!(RECORD_LEN <= libc::PIPE_BUF) };
        for (name, up) in [("b", true), ("a_name_of_exactly_32_bytes______", false)] {
            let r = Record {
                name: name.into(),
                up,
            };
            assert_eq!(Record::decode(&r.encode(7).unwrap()), Ok((r, 7)));
        }
    }

    #[test]
    fn what_a_record_cannot_carry_is_refused() {
        let long = "x".repeat(NAME_MAX + 1);
        let r = Record {
            name: long.clone(),
            up: true,
        };
        assert_eq!(r.encode(0), Err(RecordError::NameTooLong(long)));
        let empty = Record {
            name: String::new(),
            up: true,
        };
        assert_eq!(empty.encode(0), Err(RecordError::NameEmpty));
        let good = Record {
            name: "b1".into(),
            up: true,
        }
        .encode(0)
        .unwrap();
        let mut b = good;
        b[0] = 0;
        assert_eq!(Record::decode(&b), Err(RecordError::BadMagic(0)));
        let mut b = good;
        b[1] = 3;
        assert_eq!(Record::decode(&b), Err(RecordError::BadState(3)));
        let mut b = good;
        b[2] = 33;
        assert_eq!(Record::decode(&b), Err(RecordError::BadLength(33)));
        let mut b = good;
        b[NAME_AT] = 0xff;
        assert_eq!(Record::decode(&b), Err(RecordError::NotUtf8));
    }

    #[test]
    fn the_parent_keeps_its_ends_above_the_childrens_descriptors() {
        let pipes = EventPipes::open().unwrap();
        for role in [Process::Vrrp, Process::Checker, Process::Bfd] {
            let ends = pipes.for_child(role);
            assert!(ends
                .iter()
                .flatten()
                .all(|(from, _)| *from >= PARENT_FD_FLOOR));
        }
        let targets = |r| {
            pipes
                .for_child(r)
                .into_iter()
                .flatten()
                .map(|(_, to)| to)
                .collect::<Vec<_>>()
        };
        assert_eq!(targets(Process::Vrrp), [VRRP_EVENTS_FD]);
        assert_eq!(targets(Process::Checker), [CHECKER_EVENTS_FD]);
        assert_eq!(targets(Process::Bfd), [VRRP_EVENTS_FD, CHECKER_EVENTS_FD]);
        assert!(targets(Process::Parent).is_empty());
    }

    /// What the parent's `pre_exec` does, in a real child: the BFD child writes to both
    /// pipes at 5 and 6, and each lands in the pipe it belongs to.
    #[test]
    fn a_child_finds_its_ends_at_the_fixed_descriptors() {
        use std::os::unix::process::CommandExt;
        let pipes = EventPipes::open().unwrap();
        let ends = pipes.for_child(Process::Bfd);
        let mut cmd = std::process::Command::new("/bin/sh");
        cmd.args(["-c", "printf v >&5 && printf c >&6"]);
        // SAFETY: install_in_child is async-signal-safe.
        unsafe { cmd.pre_exec(move || install_in_child(ends)) };
        assert!(cmd.status().unwrap().success());
        let read = |fd: &OwnedFd| {
            let mut b = [0u8; 8];
            // SAFETY: read(2) into a buffer of the stated size.
            let n = unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
            b[..n.max(0) as usize].to_vec()
        };
        assert_eq!(read(&pipes.vrrp.read), b"v");
        assert_eq!(read(&pipes.checker.read), b"c");
    }

    #[test]
    fn events_go_to_the_processes_the_session_names_and_a_resend_tells_them_all_again() {
        runtime().block_on(async {
            let (vr, vw) = pipe();
            let (cr, cw) = pipe();
            let mut w = EventWriter::with(Some(vw), Some(cw));
            let mut vrrp = EventReader::new(vr).unwrap();
            let mut checker = EventReader::new(cr).unwrap();
            assert!(w.event("both", true, true, true));
            assert!(!w.event("both", true, true, true));
            assert!(w.event("vrrp_only", false, true, false));
            w.event("checker_only", true, false, true);
            let rec = |n: &str, up| Record { name: n.into(), up };
            // A state told again is written again: the reader may be new.
            assert_eq!(vrrp.next().await, rec("both", true));
            assert_eq!(vrrp.next().await, rec("both", true));
            assert_eq!(vrrp.next().await, rec("vrrp_only", false));
            assert_eq!(checker.next().await, rec("both", true));
            assert_eq!(checker.next().await, rec("both", true));
            assert_eq!(checker.next().await, rec("checker_only", true));
            // A session a reload removed is not told again.
            w.closed("vrrp_only");
            w.event("both", false, true, true);
            assert_eq!(vrrp.next().await, rec("both", false));
            assert_eq!(w.sessions(), 2);
            w.resend();
            assert_eq!(vrrp.next().await, rec("both", false));
            assert_eq!(checker.next().await, rec("both", false));
            assert_eq!(checker.next().await, rec("both", false));
            assert_eq!(checker.next().await, rec("checker_only", true));
            use futures::FutureExt;
            assert!(vrrp.next().now_or_never().is_none());
            assert!(checker.next().now_or_never().is_none());
        });
    }

    #[test]
    fn a_full_pipe_holds_each_sessions_latest_state_until_it_has_room() {
        runtime().block_on(async {
            let (vr, vw) = pipe();
            let mut w = EventWriter::with(Some(vw), None);
            // Fill the pipe with one session's flapping.
            let mut written = 0usize;
            loop {
                w.event("flap", written.is_multiple_of(2), true, false);
                written += 1;
                if !w.vrrp.as_ref().unwrap().pending.is_empty() {
                    break;
                }
            }
            // Held: the latest of each session, written once the reader makes room.
            w.event("other", true, true, false);
            w.event("flap", true, true, false);
            let mut reader = EventReader::new(vr).unwrap();
            for _ in 0..written - 1 {
                reader.next().await;
            }
            w.flush().await;
            let rec = |n: &str, up| Record { name: n.into(), up };
            assert_eq!(reader.next().await, rec("flap", true));
            assert_eq!(reader.next().await, rec("other", true));
            assert!(w.vrrp.as_ref().unwrap().pending.is_empty());
        });
    }

    // A state told while others wait for room goes out, with them, as soon as the
    // reader has made room: it does not wait for the loop to poll `flush`.
    #[test]
    fn a_state_told_once_the_reader_made_room_goes_out_with_what_waited() {
        use futures::FutureExt;
        runtime().block_on(async {
            let (vr, vw) = pipe();
            let mut w = EventWriter::with(Some(vw), None);
            let mut written = 0usize;
            while w.vrrp.as_ref().unwrap().pending.is_empty() {
                w.event("flap", written.is_multiple_of(2), true, false);
                written += 1;
            }
            let mut reader = EventReader::new(vr).unwrap();
            for _ in 0..written - 1 {
                reader.next().await;
            }
            // No flush: the next state told writes what waited, then itself.
            w.event("news", true, true, false);
            let rec = |n: &str, up| Record { name: n.into(), up };
            let held = rec("flap", (written - 1).is_multiple_of(2));
            assert_eq!(reader.next().now_or_never(), Some(held));
            assert_eq!(reader.next().now_or_never(), Some(rec("news", true)));
            assert!(w.vrrp.as_ref().unwrap().pending.is_empty());
        });
    }

    #[test]
    fn a_record_split_across_reads_is_joined_and_garbage_is_skipped() {
        runtime().block_on(async {
            let (r, _w) = pipe();
            let mut reader = EventReader::new(r).unwrap();
            let a = Record {
                name: "a".into(),
                up: true,
            }
            .encode(monotonic_us())
            .unwrap();
            let mut bytes = vec![0u8; RECORD_LEN];
            bytes.extend_from_slice(&a);
            reader.take(&bytes[..RECORD_LEN + 5]);
            assert!(reader.queue.is_empty());
            reader.take(&bytes[RECORD_LEN + 5..]);
            assert_eq!(reader.next().await.name, "a");
        });
    }
}
