//! The AgentX sub-agent session (RFC 2741), on a thread of its own so that a slow or
//! stalled master agent never touches the VRRP loop: connect to the master agent's
//! socket, Open, Register each subtree, then answer Get, GetNext and GetBulk from the
//! current [`MibTree`] and refuse every Set. A master agent that is absent, closes the
//! session or stops answering is reconnected to with backoff (1 s, doubling to 60 s), as
//! keepalived's net-snmp library reconnects on its ping interval.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived_engine::agentx::{
    frame_len, Body, Oid, Open, Pdu, Register, Response, ResponseError, VarBind, DEFAULT_PRIORITY,
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
/// How long a read may wait for the master agent's next request before the session is
/// pinged (keepalived's `agentxPingInterval` is 120 s).
const IDLE: Duration = Duration::from_secs(120);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What the session serves: the trees by subtree, replaced on reload.
pub type Served = Arc<Mutex<MibTree>>;

/// One sub-agent: its master, the subtrees it registers, its identity.
pub struct SubAgent {
    pub master: MasterSocket,
    pub subtrees: Vec<Oid>,
    /// The Open's id (sysObjectID-like) and description.
    pub id: Oid,
    pub description: String,
    /// The sysORTable entries (AddAgentCaps): each MIB module's OID and description.
    pub caps: Vec<(Oid, String)>,
    pub tree: Served,
}

/// How a session ended.
struct Ended {
    /// Whether it had opened and registered: the next attempt starts the backoff over.
    established: bool,
    why: String,
}

impl SubAgent {
    /// Runs sessions until the process ends: connect, serve, and after a failure wait
    /// and connect again, 1 s after a working session ended, doubling up to 60 s while
    /// none can be opened.
    pub fn run(self) {
        let mut backoff = BACKOFF_MIN;
        let mut said = false;
        loop {
            let ended = self.session();
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
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One session, until the master agent closes it or fails.
    fn session(&self) -> Ended {
        let mut established = false;
        let why = self.serve(&mut established).unwrap_err();
        Ended { established, why }
    }

    fn serve(&self, established: &mut bool) -> Result<(), String> {
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
        for subtree in &self.subtrees {
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
        for (id, description) in &self.caps {
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
        info!(
            "SNMP: AgentX session {session} open, {} subtree(s) registered",
            self.subtrees.len()
        );
        s.set_timeouts(IDLE).map_err(|e| e.to_string())?;
        loop {
            let req = match read_pdu(&mut s) {
                Ok(Some(p)) => p,
                Ok(None) => return Err("the master agent closed the session".into()),
                Err(ReadError::Idle) => {
                    // Idle for the ping interval: is the master still there?
                    s.set_timeouts(TIMEOUT).map_err(|e| e.to_string())?;
                    self.ask(&mut s, &mut packet, session, Body::Ping)?
                        .map_err(|e| format!("Ping refused: {e}"))?;
                    s.set_timeouts(IDLE).map_err(|e| e.to_string())?;
                    continue;
                }
                Err(ReadError::Other(e)) => return Err(e),
            };
            if let Body::Close(r) = req.body {
                return Err(format!("the master agent closed the session ({r})"));
            }
            s.set_timeouts(TIMEOUT).map_err(|e| e.to_string())?;
            self.reply(&mut s, &req)?;
            s.set_timeouts(IDLE).map_err(|e| e.to_string())?;
        }
    }

    /// Sends one of ours and waits for its Response (by packet id), answering whatever
    /// the master asks meanwhile: the Response, or the error the master gave (inner), or
    /// why the session is lost (outer).
    fn ask(
        &self,
        s: &mut Stream,
        packet: &mut u32,
        session: u32,
        body: Body,
    ) -> Result<Result<Pdu, ResponseError>, String> {
        *packet = packet.wrapping_add(1);
        let pdu = Pdu::new(session, 0, *packet, body);
        s.write_all(&pdu.to_bytes()).map_err(|e| e.to_string())?;
        loop {
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
    fn reply(&self, s: &mut Stream, req: &Pdu) -> Result<(), String> {
        match self.answer(req) {
            Some(answer) => s
                .write_all(&req.reply(answer).to_bytes())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// The Response to a request of the master agent; None for what needs none.
    fn answer(&self, req: &Pdu) -> Option<Response> {
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
        let tree = self.tree.lock().unwrap_or_else(|e| e.into_inner());
        let varbinds = match &req.body {
            Body::Get(ranges) => ranges
                .iter()
                .map(|r| VarBind::new(r.start.clone(), tree.get(&r.start)))
                .collect(),
            Body::GetNext(ranges) => ranges.iter().map(|r| tree.next(r)).collect(),
            Body::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges,
            } => tree.bulk(*non_repeaters, *max_repetitions, ranges),
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

    fn agent(sock: &std::path::Path) -> SubAgent {
        let mut tree = MibTree::new();
        tree.insert_scalar(
            oid("1.3.6.1.4.1.9586.100.5.1.2"),
            Value::OctetString(b"r1".to_vec()),
        );
        SubAgent {
            master: MasterSocket::Unix(sock.display().to_string()),
            subtrees: vec![oid("1.3.6.1.4.1.9586.100.5.1")],
            id: oid("1.3.6.1.4.1.8072.3.2.10"),
            description: "test".into(),
            caps: Vec::new(),
            tree: Arc::new(Mutex::new(tree)),
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
            for session in [7, 7] {
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
        let a = agent(&path);
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
        let a = agent(&path);
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
