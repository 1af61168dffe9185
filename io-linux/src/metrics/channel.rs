//! How the parent's endpoint asks a child: a Unix stream socket per child, which the
//! child inherits as descriptor [`QUERY_FD`] (beside the configuration channel's 3).
//!
//! A question is 5 bytes: the [`Ask`] byte and a 32-bit big-endian sequence number. The
//! answer is the same sequence number, a status byte (0 yes/ok, 1 no/not settled), a
//! 32-bit big-endian length and that many bytes of UTF-8. The parent waits
//! [`ANSWER_TIMEOUT`] for an answer and skips any whose number is not the one it asked
//! with, so an answer that came too late for one question is never taken for the next.
//!
//! The child answers on a thread of its own ([`serve`]); what it needs from its event
//! loop it asks the loop for through a channel, and renders off the loop.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::host::process::Process;

/// The descriptor a child finds its end of the query channel on.
pub(crate) const QUERY_FD: RawFd = 4;

/// Set by the parent in the environment of a child it gave a query channel, so a child
/// never takes for one a descriptor 4 it inherited from whoever started the parent.
pub(crate) const QUERY_ENV: &str = "KEEPALIVED_RS_QUERY_FD";

/// How long the parent waits for a child's answer. A loop carrying out a burst of 1,000
/// takeovers is busy for some tens of milliseconds; a child that takes longer than this
/// is stuck or gone, and the endpoint says so.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest answer the parent takes: the metrics of 10,000 instances are some MiB.
const MAX_ANSWER: u32 = 64 << 20;

/// What the parent asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// The child's part of `/metrics`, in the Prometheus text format.
    Metrics,
    /// Whether everything the child runs has settled (`/healthz`), and if not, what.
    Health,
    /// The JSON state dump (`/status`): the VRRP child's only.
    Status,
}

impl Ask {
    fn byte(self) -> u8 {
        match self {
            Ask::Metrics => b'm',
            Ask::Health => b'h',
            Ask::Status => b's',
        }
    }

    fn from_byte(b: u8) -> Option<Ask> {
        Some(match b {
            b'm' => Ask::Metrics,
            b'h' => Ask::Health,
            b's' => Ask::Status,
            _ => return None,
        })
    }
}

/// A child's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Health: settled. Otherwise: the answer is the one asked for.
    pub ok: bool,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("the {0} child is not running")]
    NotRunning(&'static str),
    #[error("the {0} child did not answer: {1}")]
    Io(&'static str, std::io::Error),
    #[error("the {0} child's answer of {1} bytes is larger than {MAX_ANSWER}")]
    TooLarge(&'static str, u32),
}

/// The parent's ends of the children's query channels, and the children it expects.
#[derive(Default)]
pub struct Children {
    inner: Mutex<Inner>,
    seq: AtomicU32,
}

#[derive(Default)]
struct Inner {
    links: Vec<(Process, Arc<Mutex<Link>>)>,
    /// The children the configuration runs, whether or not they are up at the moment:
    /// one between a crash and its restart is down, not absent.
    expected: Vec<Process>,
}

/// One child's channel, and what has been read of it and not yet taken: an answer cut
/// short by a timeout is finished (and dropped) by the next question, so the stream
/// never loses its frame boundaries.
struct Link {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Children {
    /// A new pair for a child about to start: the parent keeps the first end (see
    /// [`Children::started`]), the child's is installed as [`QUERY_FD`].
    pub fn pair() -> std::io::Result<(UnixStream, UnixStream)> {
        UnixStream::pair()
    }

    /// `role` runs with the other end of `ours`.
    pub fn started(&self, role: Process, ours: UnixStream) {
        let _ = ours.set_write_timeout(Some(ANSWER_TIMEOUT));
        let link = Arc::new(Mutex::new(Link {
            stream: ours,
            buf: Vec::new(),
        }));
        let mut inner = lock(&self.inner);
        inner.links.retain(|(r, _)| *r != role);
        inner.links.push((role, link));
        if !inner.expected.contains(&role) {
            inner.expected.push(role);
        }
    }

    /// `role` has exited; it is still expected (it is restarted).
    pub fn exited(&self, role: Process) {
        lock(&self.inner).links.retain(|(r, _)| *r != role);
    }

    /// `role` was stopped because the configuration gives it no work.
    pub fn retired(&self, role: Process) {
        let mut inner = lock(&self.inner);
        inner.links.retain(|(r, _)| *r != role);
        inner.expected.retain(|r| *r != role);
    }

    /// The children the configuration runs, in the order they first started.
    pub fn roles(&self) -> Vec<Process> {
        lock(&self.inner).expected.clone()
    }

    /// Asks `role` and waits up to [`ANSWER_TIMEOUT`] in all for its answer. Only this
    /// child's channel is held meanwhile: a stuck child holds up no other, nor the
    /// parent's bookkeeping.
    pub fn ask(&self, role: Process, ask: Ask) -> Result<Answer, QueryError> {
        let link = {
            let inner = lock(&self.inner);
            match inner.links.iter().find(|(r, _)| *r == role) {
                Some((_, l)) => l.clone(),
                None => return Err(QueryError::NotRunning(role.title())),
            }
        };
        let mut link = lock(&link);
        let seq = self.seq.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let io = |e| QueryError::Io(role.title(), e);
        let mut question = [0u8; 5];
        question[0] = ask.byte();
        question[1..].copy_from_slice(&seq.to_be_bytes());
        link.stream.write_all(&question).map_err(io)?;
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            // Every whole frame read so far: an earlier question's is dropped.
            while link.buf.len() >= 9 {
                let b = &link.buf;
                let got = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                let len = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
                if len > MAX_ANSWER {
                    // Not a frame this protocol writes: the child is not what it
                    // should be. Dropping the stream ends its query thread.
                    drop(link);
                    self.exited(role);
                    return Err(QueryError::TooLarge(role.title(), len));
                }
                let end = 9 + len as usize;
                if b.len() < end {
                    break;
                }
                let frame: Vec<u8> = link.buf.drain(..end).collect();
                if got == seq {
                    return Ok(Answer {
                        ok: frame[4] == 0,
                        body: String::from_utf8_lossy(&frame[9..]).into_owned(),
                    });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io(std::io::ErrorKind::TimedOut.into()));
            }
            link.stream.set_read_timeout(Some(left)).map_err(io)?;
            let n = link.stream.read(&mut chunk).map_err(io)?;
            if n == 0 {
                return Err(io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            link.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Between fork and exec: `fd` becomes [`QUERY_FD`], kept across exec.
///
/// # Safety
/// Only async-signal-safe calls are made, so this may run in a `pre_exec` hook; `fd` must
/// be open.
pub(crate) unsafe fn install_in_child(fd: RawFd) -> std::io::Result<()> {
    if fd != QUERY_FD && libc::dup2(fd, QUERY_FD) < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // dup2 clears close-on-exec, but not when `fd` is already QUERY_FD.
    if libc::fcntl(QUERY_FD, libc::F_SETFD, 0) < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The child's end, if the parent gave it one (it does with `--metrics`).
pub(crate) fn take_in_child() -> Option<UnixStream> {
    let given = std::env::var_os(QUERY_ENV).is_some();
    // Scripts and probes the child starts do not see it.
    std::env::remove_var(QUERY_ENV);
    if !given {
        return None;
    }
    // SAFETY: fstat only reads the descriptor's status.
    let is_socket = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(QUERY_FD, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
    };
    if !is_socket {
        return None;
    }
    // SAFETY: QUERY_FD is open, a socket, and nothing else in this process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(QUERY_FD) };
    // Scripts and probes the child starts must not inherit it.
    // SAFETY: F_SETFD on a descriptor this process owns.
    unsafe { libc::fcntl(QUERY_FD, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(UnixStream::from(fd))
}

/// Answers the parent's questions on a thread of its own until the parent closes the
/// channel: `answer` is called for each.
pub(crate) fn serve(
    mut stream: UnixStream,
    mut answer: impl FnMut(Ask) -> Answer + Send + 'static,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("metrics".into())
        .stack_size(256 << 10)
        .spawn(move || loop {
            let mut question = [0u8; 5];
            if stream.read_exact(&mut question).is_err() {
                return;
            }
            let a = match Ask::from_byte(question[0]) {
                Some(ask) => answer(ask),
                None => Answer {
                    ok: false,
                    body: format!("unknown question {:#04x}", question[0]),
                },
            };
            // An answer over the bound is refused whole: cut short, it would be a
            // broken exposition.
            let a = if a.body.len() > MAX_ANSWER as usize {
                Answer {
                    ok: false,
                    body: format!("the answer of {} bytes is over {MAX_ANSWER}", a.body.len()),
                }
            } else {
                a
            };
            let body = a.body.as_bytes();
            let mut frame = Vec::with_capacity(9 + body.len());
            frame.extend_from_slice(&question[1..]);
            frame.push(u8::from(!a.ok));
            frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
            frame.extend_from_slice(body);
            if stream.write_all(&frame).is_err() {
                return;
            }
        })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_answer_is_never_taken_for_the_next_question() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let children = Children::default();
        children.started(Process::Vrrp, ours);
        // A child that starts question 1's answer in time but ends it only after
        // question 2 has been asked: the parent, cut off mid-frame, finishes and drops
        // the stale answer, and takes the right one.
        let child = std::thread::spawn(move || {
            let mut s = theirs;
            let frame = |q: &[u8; 5], body: &str| {
                let mut f = q[1..].to_vec();
                f.push(0);
                f.extend_from_slice(&(body.len() as u32).to_be_bytes());
                f.extend_from_slice(body.as_bytes());
                f
            };
            let mut q = [0u8; 5];
            s.read_exact(&mut q).unwrap();
            let stale = frame(&q, "stale");
            s.write_all(&stale[..6]).unwrap();
            let mut q2 = [0u8; 5];
            s.read_exact(&mut q2).unwrap();
            s.write_all(&stale[6..]).unwrap();
            s.write_all(&frame(&q2, "fresh")).unwrap();
        });
        // The first question times out (no answer within ANSWER_TIMEOUT) ...
        assert!(children.ask(Process::Vrrp, Ask::Metrics).is_err());
        // ... and the second gets its own answer, not the first's.
        let a = children.ask(Process::Vrrp, Ask::Metrics).unwrap();
        assert_eq!(a.body, "fresh");
        child.join().unwrap();
    }

    #[test]
    fn a_dead_child_is_down_until_restarted_and_a_retired_one_is_gone() {
        let children = Children::default();
        children.started(Process::Vrrp, UnixStream::pair().unwrap().0);
        children.started(Process::Checker, UnixStream::pair().unwrap().0);
        children.exited(Process::Checker);
        assert_eq!(children.roles(), [Process::Vrrp, Process::Checker]);
        let e = children.ask(Process::Checker, Ask::Metrics).unwrap_err();
        assert!(matches!(e, QueryError::NotRunning(_)), "{e}");
        children.retired(Process::Checker);
        assert_eq!(children.roles(), [Process::Vrrp]);
    }

    #[test]
    fn a_child_not_running_is_said_by_name() {
        let children = Children::default();
        let e = children.ask(Process::Checker, Ask::Health).unwrap_err();
        assert!(matches!(e, QueryError::NotRunning(_)), "{e}");
    }

    #[test]
    fn serve_answers_each_question_in_turn_and_refuses_unknown_ones() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        serve(theirs, |ask| Answer {
            ok: ask != Ask::Health,
            body: format!("{ask:?}"),
        })
        .unwrap();
        let children = Children::default();
        children.started(Process::Vrrp, ours.try_clone().unwrap());
        let m = children.ask(Process::Vrrp, Ask::Metrics).unwrap();
        assert_eq!((m.ok, m.body.as_str()), (true, "Metrics"));
        let h = children.ask(Process::Vrrp, Ask::Health).unwrap();
        assert_eq!((h.ok, h.body.as_str()), (false, "Health"));
        let mut raw = ours;
        raw.write_all(&[b'x', 0, 0, 0, 9]).unwrap();
        let mut head = [0u8; 9];
        raw.read_exact(&mut head).unwrap();
        assert_eq!(head[..5], [0, 0, 0, 9, 1]);
    }
}
