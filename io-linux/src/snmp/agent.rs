//! The AgentX sub-agent session (RFC 2741), on a thread of its own so that a slow or
//! stalled master agent never touches the VRRP loop: connect to the master agent's
//! socket, Open, Register each subtree, then answer Get, GetNext and GetBulk from the
//! [`Content`]'s tree and refuse every Set, and send the notifications its events give
//! (posted to the [`Mailbox`], which never blocks the poster). A master agent that is absent, closes the
//! session or stops answering is reconnected to with backoff (1 s, doubling to 60 s), as
//! keepalived's net-snmp library reconnects on its ping interval.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keepalived_engine::agentx::{
    frame_len, Body, CloseReason, Oid, Open, Pdu, Register, Response, ResponseError, VarBind,
    DEFAULT_PRIORITY,
};
use keepalived_engine::snmp::{MibTree, MAX_VARBINDS};
use tracing::{debug, info, warn};

/// Where the master agent listens: keepalived's `-A`/`snmp_socket` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterSocket {
    /// `unix:/path`, or a bare absolute path.
    Unix(String),
    /// `tcp:host:port`, or `host:port`.
    Tcp(String),
}

/// net-snmp's default AgentX socket.
pub const DEFAULT_SOCKET: &str = "unix:/var/agentx/master";

impl MasterSocket {
    pub fn parse(s: &str) -> Result<MasterSocket, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            return Ok(MasterSocket::Unix(p.to_string()));
        }
        if s.starts_with("udp:") || s.starts_with("udp6:") {
            return Err(format!(
                "{s:?}: AgentX runs over a stream: unix:/path or tcp:host:port"
            ));
        }
        if s.starts_with('/') {
            return Ok(MasterSocket::Unix(s.to_string()));
        }
        let addr = s.strip_prefix("tcp:").unwrap_or(s);
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(MasterSocket::Tcp(addr.to_string()))
            }
            _ => Err(format!(
                "{s:?} is not an AgentX socket: expected unix:/path or tcp:host:port"
            )),
        }
    }
}

/// A connected stream to the master agent.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(to: &MasterSocket) -> io::Result<Stream> {
        Ok(match to {
            MasterSocket::Unix(p) => Stream::Unix(UnixStream::connect(p)?),
            MasterSocket::Tcp(a) => {
                let addr = a.to_socket_addrs()?.next().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "no address for the master agent")
                })?;
                Stream::Tcp(TcpStream::connect_timeout(&addr, TIMEOUT)?)
            }
        })
    }

    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    fn set_timeouts(&self, d: Duration) -> io::Result<()> {
        match self {
            Stream::Unix(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(d))?;
                s.set_write_timeout(Some(d))
            }
        }
    }
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(b),
            Stream::Tcp(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(b),
            Stream::Tcp(s) => s.write(b),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How long a write, or the answer to one of our PDUs, may take: keepalived gives its
/// session a third of a second and no retries; a little more here, since nothing waits
/// on this thread.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How long the master agent may stay silent before the session is pinged
/// (keepalived's `agentxPingInterval` is 120 s).
const IDLE: Duration = Duration::from_secs(120);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Events waiting for the session at most: beyond them, new ones are dropped and
/// counted. Events that may come with every received packet (a refused advert) are
/// held to a smaller share, so a flood of them never pushes a state change out.
const MAX_QUEUED: usize = 1024;
const MAX_QUEUED_BULK: usize = 64;

/// What one process serves: its MIB modules, the tree answering requests, and the
/// notifications its events give.
pub trait Content: Send + 'static {
    /// What the process reports (state changes, refused adverts), for notifications.
    type Event: Send + 'static;
    /// The subtrees registered, each with its sysORTable entry (AddAgentCaps).
    fn modules(&self) -> Vec<(Oid, String)>;
    /// The tree to answer a request from, brought up to date first.
    fn tree(&mut self) -> &MibTree;
    /// The notifications `events` give, in order: each a varbind list starting with
    /// snmpTrapOID.0.
    fn notifications(&mut self, events: Vec<Self::Event>) -> Vec<Vec<VarBind>>;
}

/// Events posted to the sub-agent's thread, and the stop.
pub struct Mailbox<E> {
    mail: Mutex<Mail<E>>,
    /// A byte written here wakes the thread's poll.
    wake_tx: UnixStream,
    wake_rx: UnixStream,
    /// Whether a session is open: the stop waits for its notifications only then.
    connected: AtomicBool,
}

struct Mail<E> {
    events: Vec<E>,
    dropped: u64,
    stop: Option<SyncSender<()>>,
    stopping: bool,
}

impl<E> Mailbox<E> {
    pub fn new() -> io::Result<Mailbox<E>> {
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok(Mailbox {
            mail: Mutex::new(Mail {
                events: Vec::new(),
                dropped: 0,
                stop: None,
                stopping: false,
            }),
            wake_tx,
            wake_rx,
            connected: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Mail<E>> {
        self.mail.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an event for a notification; never blocks. `bulk`: one of those that may
    /// come with every packet received, of which few are kept.
    pub fn post(&self, event: E, bulk: bool) {
        let was_empty = {
            let mut m = self.lock();
            let cap = if bulk { MAX_QUEUED_BULK } else { MAX_QUEUED };
            if m.events.len() >= cap {
                m.dropped += 1;
                return;
            }
            m.events.push(event);
            m.events.len() == 1
        };
        // A wake-up is pending already unless the queue was empty.
        if was_empty {
            self.wake();
        }
    }

    fn wake(&self) {
        // Full means a wake-up is already pending.
        let _ = (&self.wake_tx).write(&[1]);
    }

    /// Sends what is queued, closes the session, and ends the thread; waits at most
    /// `wait` for it, and not at all without a session (keepalived sends its stop
    /// notifications before it exits).
    pub fn stop(&self, wait: Duration) {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        {
            let mut m = self.lock();
            m.stopping = true;
            if !self.connected.load(Ordering::SeqCst) {
                return;
            }
            m.stop = Some(tx);
        }
        self.wake();
        let _ = rx.recv_timeout(wait);
    }

    /// The events queued, and the stop if asked.
    fn take(&self) -> (Vec<E>, u64, Option<SyncSender<()>>) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
        let mut m = self.lock();
        let dropped = std::mem::take(&mut m.dropped);
        (std::mem::take(&mut m.events), dropped, m.stop.take())
    }

    fn stopping(&self) -> bool {
        self.lock().stopping
    }
}

/// Marks the mailbox as without a session when the sub-agent's thread ends.
struct Released<E>(Arc<Mailbox<E>>);

impl<E> Drop for Released<E> {
    fn drop(&mut self) {
        self.0.connected.store(false, Ordering::SeqCst);
        let mut m = self.0.lock();
        m.stopping = true;
        m.stop.take();
    }
}

/// One sub-agent: its master, its identity, what it serves and its mailbox.
pub struct SubAgent<C: Content> {
    pub master: MasterSocket,
    /// The Open's id (sysObjectID-like) and description.
    pub id: Oid,
    pub description: String,
    pub content: C,
    pub mailbox: Arc<Mailbox<C::Event>>,
}

/// How a session ended.
struct Ended {
    /// Whether it had opened and registered: the next attempt starts the backoff over.
    established: bool,
    why: String,
}

/// What the session's poll saw.
struct Ready {
    master: bool,
    mail: bool,
}

impl<C: Content> SubAgent<C> {
    /// Runs sessions until the process stops it: connect, serve, and after a failure
    /// wait and connect again, 1 s after a working session ended, doubling up to 60 s
    /// while none can be opened. Events while no session is open are dropped, as
    /// keepalived's are.
    pub fn run(mut self) {
        // However the thread ends (a panic in a tree builder included), a stop waiting
        // on it is let go at once.
        let _released = Released(self.mailbox.clone());
        let mut backoff = BACKOFF_MIN;
        let mut said = false;
        loop {
            let ended = self.session();
            if self.mailbox.stopping() {
                return;
            }
            if ended.established {
                warn!("SNMP: AgentX session lost: {}; reconnecting", ended.why);
                backoff = BACKOFF_MIN;
                said = false;
            } else if !said {
                // Said once until a session works: snmpd may simply not run.
                warn!(
                    "SNMP: AgentX master agent at {:?}: {}; retrying",
                    self.master, ended.why
                );
                said = true;
            } else {
                debug!("SNMP: AgentX master agent: {}", ended.why);
            }
            let until = Instant::now() + backoff;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                if self.mailbox.stopping() {
                    return;
                }
                let _ = poll(None, &self.mailbox.wake_rx, left);
                let _ = self.mailbox.take();
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One session, until the master agent closes it or fails.
    fn session(&mut self) -> Ended {
        let mut established = false;
        let why = self.serve(&mut established).unwrap_err();
        self.mailbox.connected.store(false, Ordering::SeqCst);
        Ended { established, why }
    }

    fn serve(&mut self, established: &mut bool) -> Result<(), String> {
        let mut s = Stream::connect(&self.master).map_err(|e| e.to_string())?;
        s.set_timeouts(TIMEOUT).map_err(|e| e.to_string())?;
        let mut packet = 0u32;
        let opened = self
            .ask(
                &mut s,
                &mut packet,
                0,
                Body::Open(Open {
                    timeout: 1,
                    id: self.id.clone(),
                    description: self.description.clone().into_bytes(),
                }),
            )?
            .map_err(|e| format!("Open refused: {e}"))?;
        let session = opened.session_id;
        let modules = self.content.modules();
        for (subtree, _) in &modules {
            self.ask(
                &mut s,
                &mut packet,
                session,
                Body::Register(Register {
                    timeout: 0,
                    priority: DEFAULT_PRIORITY,
                    subtree: subtree.clone(),
                    range: None,
                }),
            )?
            .map_err(|e| format!("Register of {subtree} refused: {e}"))?;
        }
        for (id, description) in &modules {
            let added = self.ask(
                &mut s,
                &mut packet,
                session,
                Body::AddAgentCaps {
                    id: id.clone(),
                    description: description.clone().into_bytes(),
                },
            )?;
            // A master that keeps no sysORTable still serves the MIB.
            if let Err(e) = added {
                debug!("SNMP: AddAgentCaps of {id} refused: {e}");
            }
        }
        *established = true;
        self.mailbox.connected.store(true, Ordering::SeqCst);
        info!(
            "SNMP: AgentX session {session} open, {} subtree(s) registered",
            modules.len()
        );
        let mut heard = Instant::now();
        loop {
            let left = IDLE.saturating_sub(heard.elapsed());
            let ready = poll(Some(&s), &self.mailbox.wake_rx, left).map_err(|e| e.to_string())?;
            if ready.mail {
                let (events, dropped, stop) = self.mailbox.take();
                if dropped > 0 {
                    warn!("SNMP: {dropped} notification(s) dropped: the queue was full");
                }
                for varbinds in self.content.notifications(events) {
                    let sent = self.ask(&mut s, &mut packet, session, Body::Notify(varbinds))?;
                    if let Err(e) = sent {
                        debug!("SNMP: the master agent refused a notification: {e}");
                    }
                }
                if let Some(done) = stop {
                    // Close takes no Response (RFC 2741 §7.1.8).
                    packet = packet.wrapping_add(1);
                    let close = Pdu::new(session, 0, packet, Body::Close(CloseReason::SHUTDOWN));
                    let _ = s.write_all(&close.to_bytes());
                    let _ = done.send(());
                    return Err("stopped".into());
                }
            }
            if ready.master {
                let req = match read_pdu(&mut s) {
                    Ok(Some(p)) => p,
                    Ok(None) => return Err("the master agent closed the session".into()),
                    Err(ReadError::Idle) => continue,
                    Err(ReadError::Other(e)) => return Err(e),
                };
                heard = Instant::now();
                if let Body::Close(r) = req.body {
                    return Err(format!("the master agent closed the session ({r})"));
                }
                self.reply(&mut s, &req)?;
            } else if !ready.mail {
                // Silent for the ping interval: is the master still there?
                self.ask(&mut s, &mut packet, session, Body::Ping)?
                    .map_err(|e| format!("Ping refused: {e}"))?;
                heard = Instant::now();
            }
        }
    }

    /// Sends one of ours and waits for its Response (by packet id), answering whatever
    /// the master asks meanwhile: the Response, or the error the master gave (inner), or
    /// why the session is lost (outer).
    fn ask(
        &mut self,
        s: &mut Stream,
        packet: &mut u32,
        session: u32,
        body: Body,
    ) -> Result<Result<Pdu, ResponseError>, String> {
        *packet = packet.wrapping_add(1);
        let pdu = Pdu::new(session, 0, *packet, body);
        s.write_all(&pdu.to_bytes()).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if Instant::now() >= deadline {
                return Err("the master agent did not answer".into());
            }
            let reply = match read_pdu(s) {
                Ok(Some(p)) => p,
                Ok(None) => return Err("the master agent closed the session".into()),
                Err(ReadError::Idle) => return Err("the master agent did not answer".into()),
                Err(ReadError::Other(e)) => return Err(e),
            };
            match reply.body {
                Body::Response(ref r) if reply.packet_id == *packet => {
                    return Ok(if r.error.is_error() {
                        Err(r.error)
                    } else {
                        Ok(reply)
                    });
                }
                // A late Response to something earlier.
                Body::Response(_) => continue,
                Body::Close(r) => return Err(format!("the master agent closed the session ({r})")),
                _ => self.reply(s, &reply)?,
            }
        }
    }

    /// Answers a request of the master agent, when it wants an answer.
    fn reply(&mut self, s: &mut Stream, req: &Pdu) -> Result<(), String> {
        match self.answer(req) {
            Some(answer) => s
                .write_all(&req.reply(answer).to_bytes())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// The Response to a request of the master agent; None for what needs none.
    fn answer(&mut self, req: &Pdu) -> Option<Response> {
        let error = |error: ResponseError, index: u16| Response {
            error,
            index,
            ..Response::default()
        };
        // Only the default context exists here (§7.1.4.1).
        if req.context.is_some()
            && matches!(
                req.body,
                Body::Get(_) | Body::GetNext(_) | Body::GetBulk { .. } | Body::TestSet(_)
            )
        {
            return Some(error(ResponseError::UNSUPPORTED_CONTEXT, 0));
        }
        let ranges = match &req.body {
            Body::Get(r) | Body::GetNext(r) | Body::GetBulk { ranges: r, .. } => r.len(),
            _ => 0,
        };
        if ranges > MAX_VARBINDS {
            return Some(error(ResponseError::TOO_BIG, 0));
        }
        let varbinds = match &req.body {
            Body::Get(ranges) => {
                let tree = self.content.tree();
                ranges
                    .iter()
                    .map(|r| VarBind::new(r.start.clone(), tree.get(&r.start)))
                    .collect()
            }
            Body::GetNext(ranges) => {
                let tree = self.content.tree();
                ranges.iter().map(|r| tree.next(r)).collect()
            }
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => self
                .content
                .tree()
                .bulk(*non_repeaters, *max_repetitions, ranges),
            // Every object is read-only (§7.2.4.1: notWritable, index 1); the later
            // phases are answered, but for CleanupSet, which takes none (§7.2.4.4).
            Body::TestSet(_) => return Some(error(ResponseError::NOT_WRITABLE, 1)),
            Body::CommitSet | Body::UndoSet => return Some(Response::default()),
            _ => return None,
        };
        Some(Response {
            varbinds,
            ..Response::default()
        })
    }
}

/// Waits up to `wait` for the master agent's stream (if any) or the mailbox to be
/// readable.
fn poll(master: Option<&Stream>, mail: &UnixStream, wait: Duration) -> io::Result<Ready> {
    let mut fds = [
        libc::pollfd {
            fd: mail.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: master.map_or(-1, Stream::as_raw_fd),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: fds is a valid array of two pollfds for the call's duration; a
        // negative fd is ignored by poll(2).
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if rc >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let seen = |p: &libc::pollfd| p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    Ok(Ready {
        mail: seen(&fds[0]),
        master: master.is_some() && seen(&fds[1]),
    })
}

/// Why no PDU came.
enum ReadError {
    /// Nothing arrived within the read timeout, before any byte of a PDU.
    Idle,
    Other(String),
}

/// The next whole PDU of the stream: None at its end. A PDU that does not decode, or a
/// timeout inside one, ends the session (the stream cannot be trusted after it).
fn read_pdu(s: &mut Stream) -> Result<Option<Pdu>, ReadError> {
    let mut buf = Vec::with_capacity(64);
    loop {
        let need = frame_len(&buf).map_err(|e| ReadError::Other(e.to_string()))?;
        if buf.len() >= need {
            return Pdu::decode(&buf[..need])
                .map(|(p, _)| Some(p))
                .map_err(|e| ReadError::Other(e.to_string()));
        }
        let have = buf.len();
        buf.resize(need, 0);
        match s.read(&mut buf[have..]) {
            Ok(0) if have == 0 => return Ok(None),
            Ok(0) => {
                return Err(ReadError::Other(
                    "the master agent closed the session inside a PDU".into(),
                ))
            }
            Ok(n) => buf.truncate(have + n),
            Err(e)
                if have == 0
                    && matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
            {
                return Err(ReadError::Idle)
            }
            Err(e) => return Err(ReadError::Other(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::agentx::{SearchRange, Value};
    use std::os::unix::net::UnixListener;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    /// A tree that never changes, and notifications made of the events themselves.
    struct Fixed(MibTree);

    impl Content for Fixed {
        type Event = Vec<VarBind>;
        fn modules(&self) -> Vec<(Oid, String)> {
            vec![(oid("1.3.6.1.4.1.9586.100.5.1"), "test".into())]
        }
        fn tree(&mut self) -> &MibTree {
            &self.0
        }
        fn notifications(&mut self, events: Vec<Vec<VarBind>>) -> Vec<Vec<VarBind>> {
            events
        }
    }

    fn agent(sock: &std::path::Path) -> SubAgent<Fixed> {
        let mut tree = MibTree::new();
        tree.insert_scalar(
            oid("1.3.6.1.4.1.9586.100.5.1.2"),
            Value::OctetString(b"r1".to_vec()),
        );
        SubAgent {
            master: MasterSocket::Unix(sock.display().to_string()),
            id: oid("1.3.6.1.4.1.8072.3.2.10"),
            description: "test".into(),
            content: Fixed(tree),
            mailbox: Arc::new(Mailbox::new().unwrap()),
        }
    }

    /// A fake master agent: accepts one session, answers the Open (session 7) and the
    /// Register, then runs `then` on the stream.
    fn master<T: Send + 'static>(
        listener: UnixListener,
        then: impl FnOnce(&mut UnixStream) -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Open, Register, AddAgentCaps.
            for session in [7, 7, 7] {
                let mut head = [0u8; 20];
                s.read_exact(&mut head).unwrap();
                let len = frame_len(&head).unwrap();
                let mut pdu = head.to_vec();
                pdu.resize(len, 0);
                s.read_exact(&mut pdu[20..]).unwrap();
                let (req, _) = Pdu::decode(&pdu).unwrap();
                let mut reply = req.reply(Response::default());
                reply.session_id = session;
                s.write_all(&reply.to_bytes()).unwrap();
            }
            then(&mut s)
        })
    }

    fn sock(tag: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("kars-agentx-{}-{tag}.sock", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn a_session_opens_registers_and_answers_getnext() {
        let path = sock("getnext");
        let m = master(UnixListener::bind(&path).unwrap(), |s| {
            let ask = Pdu::new(
                7,
                1,
                100,
                Body::GetNext(vec![SearchRange {
                    start: oid("1.3.6.1.4.1.9586.100.5.1"),
                    include: false,
                    end: Oid::null(),
                }]),
            );
            s.write_all(&ask.to_bytes()).unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            let (reply, _) = Pdu::decode(&buf[..n]).unwrap();
            s.write_all(
                &Pdu::new(
                    7,
                    0,
                    101,
                    Body::Close(keepalived_engine::agentx::CloseReason::SHUTDOWN),
                )
                .to_bytes(),
            )
            .unwrap();
            reply
        });
        let mut a = agent(&path);
        let end = a.session();
        assert!(end.established);
        let end = end.why;
        let reply = m.join().unwrap();
        assert_eq!((reply.session_id, reply.packet_id), (7, 100));
        let Body::Response(r) = reply.body else {
            panic!("{reply:?}")
        };
        assert_eq!(r.varbinds[0].name, oid("1.3.6.1.4.1.9586.100.5.1.2.0"));
        assert_eq!(r.varbinds[0].value, Value::OctetString(b"r1".to_vec()));
        assert!(end.contains("closed the session"), "{end}");
    }

    /// The next PDU the fake master reads.
    fn read_one(s: &mut UnixStream) -> Pdu {
        let mut head = [0u8; 20];
        s.read_exact(&mut head).unwrap();
        let len = frame_len(&head).unwrap();
        let mut pdu = head.to_vec();
        pdu.resize(len, 0);
        s.read_exact(&mut pdu[20..]).unwrap();
        Pdu::decode(&pdu).unwrap().0
    }

    #[test]
    fn posted_events_become_notifications_and_the_stop_closes_the_session() {
        let path = sock("notify");
        let m = master(UnixListener::bind(&path).unwrap(), |s| {
            let notify = read_one(s);
            let mut reply = notify.reply(Response::default());
            reply.session_id = 7;
            s.write_all(&reply.to_bytes()).unwrap();
            let close = read_one(s);
            (notify, close)
        });
        let a = agent(&path);
        let mailbox = a.mailbox.clone();
        let runner = std::thread::spawn(move || a.run());
        assert!(
            (0..200).any(|_| {
                std::thread::sleep(Duration::from_millis(10));
                mailbox.connected.load(Ordering::SeqCst)
            }),
            "no session"
        );
        let trap = vec![VarBind::new(
            oid("1.3.6.1.6.3.1.1.4.1.0"),
            Value::ObjectIdentifier(oid("1.3.6.1.4.1.9586.100.5.2.10.0.2")),
        )];
        mailbox.post(trap.clone(), false);
        let started = std::time::Instant::now();
        mailbox.stop(Duration::from_secs(3));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the stop waited out"
        );
        let (notify, close) = m.join().unwrap();
        assert_eq!(notify.body, Body::Notify(trap));
        assert_eq!(close.body, Body::Close(CloseReason::SHUTDOWN));
        runner.join().unwrap();
    }

    #[test]
    fn a_stop_without_a_session_does_not_wait() {
        let a = agent(&sock("nobody"));
        let mailbox = a.mailbox.clone();
        let runner = std::thread::spawn(move || a.run());
        let started = std::time::Instant::now();
        mailbox.stop(Duration::from_secs(3));
        assert!(started.elapsed() < Duration::from_secs(1));
        runner.join().unwrap();
    }

    #[test]
    fn a_hostile_length_ends_the_session_without_waiting_for_it() {
        let path = sock("hostile");
        let m = master(UnixListener::bind(&path).unwrap(), |s| {
            // A GetNext header claiming 4 GiB of payload.
            let mut head = Pdu::new(7, 1, 1, Body::Ping).to_bytes();
            head[1] = 6;
            head[16..20].copy_from_slice(&u32::MAX.to_be_bytes());
            s.write_all(&head[..20]).unwrap();
            // The sub-agent hangs up rather than reading on.
            let mut b = [0u8; 1];
            s.read(&mut b).unwrap_or(0)
        });
        let mut a = agent(&path);
        let started = std::time::Instant::now();
        let end = a.session().why;
        assert_eq!(m.join().unwrap(), 0);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(end.contains("too long") || end.contains("payload"), "{end}");
    }

    #[test]
    fn a_master_that_never_answers_the_open_is_given_up() {
        let path = sock("silent");
        let listener = UnixListener::bind(&path).unwrap();
        let held = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            std::thread::sleep(Duration::from_secs(4));
            drop(s);
        });
        let started = std::time::Instant::now();
        let end = agent(&path).session();
        assert!(!end.established);
        let end = end.why;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(end.contains("did not answer"), "{end}");
        held.join().unwrap();
    }

    #[test]
    fn master_sockets_parse_as_keepalived_writes_them() {
        assert_eq!(
            MasterSocket::parse("unix:/var/agentx/master"),
            Ok(MasterSocket::Unix("/var/agentx/master".into()))
        );
        assert_eq!(
            MasterSocket::parse("/run/agentx"),
            Ok(MasterSocket::Unix("/run/agentx".into()))
        );
        assert_eq!(
            MasterSocket::parse("tcp:localhost:705"),
            Ok(MasterSocket::Tcp("localhost:705".into()))
        );
        assert_eq!(
            MasterSocket::parse("127.0.0.1:705"),
            Ok(MasterSocket::Tcp("127.0.0.1:705".into()))
        );
        assert!(MasterSocket::parse("tcp:nohost").is_err());
        assert!(MasterSocket::parse("udp:localhost:705").is_err());
    }
}
