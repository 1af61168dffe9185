//! How a child gets its configuration: from the parent, never from the file. keepalived's
//! children load the copy the parent has read and checked, so a slow or broken file never
//! reaches them and a respawned child starts on the last good configuration; here the
//! parent sends that configuration down a Unix stream socket each child inherits as file
//! descriptor [`CHILD_FD`], one frame per configuration: an 8-byte big-endian length, then
//! the `Config` as deflated JSON. The parent keeps the last good frame for as long as it
//! runs, to start a respawned child on it; JSON repeats every field name of every instance,
//! so deflated, 1,000 instances' 2.6 MB is about 70 kB, which the parent holds instead.
//!
//! The child reads its first configuration before it starts, and the later ones on a
//! thread of their own ([`ConfigReader::spawn`]): reading, decoding and the script
//! security pass all happen off the event loop, which only ever awaits a channel receiver
//! (cancel-safe) and gets each configuration complete.

use std::io::{BufWriter, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use keepalived_engine::config::model::Config;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::{debug, error, info, warn};

use crate::host::process::Process;

/// The descriptor a child finds its end of the channel on (the first after stdio).
pub(crate) const CHILD_FD: RawFd = 3;

/// The largest frame a child accepts, and the most JSON it inflates one to. The parent is
/// trusted, but a bound costs nothing: a configuration of 10,000 instances is some tens of
/// MiB of JSON.
pub(crate) const MAX_FRAME: u64 = 256 << 20;

/// What a frame is read into at most at a time while it is skipped.
const SKIP_CHUNK: usize = 64 << 10;

/// The reader thread's stack. Decoding recurses only as deep as the model nests (a few
/// levels; serde_json stops at 128), and the stack is resident for good in a child that
/// locks its memory (`vrrp_no_swap`), so it is not the default 2 MiB.
const READER_STACK: usize = 512 << 10;

/// The parent this child was started by, as it was when the channel was taken: once the
/// parent is gone, `getppid()` names whatever process adopted the child, which must never
/// get a SIGHUP from it.
static PARENT: AtomicI32 = AtomicI32::new(0);

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("descriptor {CHILD_FD} is not a configuration channel from the parent (this process is started by the keepalived-rs parent only)")]
    NotAChannel,
    #[error("the parent closed the configuration channel")]
    Closed,
    #[error("reading the configuration channel: {0}")]
    Io(#[from] std::io::Error),
    #[error("a configuration of {0} bytes is larger than the {MAX_FRAME} bytes a child accepts")]
    TooLarge(u64),
    #[error("the configuration from the parent cannot be decoded: {0}")]
    Decode(#[from] serde_json::Error),
}

/// How much JSON the encoder is handed at a time. serde_json writes a token at a time, and
/// the encoder zero-fills the free room of its 32 KiB output buffer at every write
/// (flate2's `run_vec`): written to it directly, a configuration of 5,000 real servers
/// took 0.6 s to encode here, and a minute in an emulated VM.
const ENCODE_CHUNK: usize = 64 * 1024;

/// `config` as one frame. The JSON is deflated as it is written, so it is never held
/// whole; the fastest level, because the frame is made on every load.
pub(crate) fn encode(config: &Config) -> Result<Arc<Vec<u8>>, serde_json::Error> {
    let mut deflate = DeflateEncoder::new(vec![0u8; 8], Compression::fast());
    let mut json = BufWriter::with_capacity(ENCODE_CHUNK, &mut deflate);
    serde_json::to_writer(&mut json, config)?;
    json.into_inner()
        .map_err(|e| serde_json::Error::io(e.into_error()))?;
    let mut frame = deflate.finish().map_err(serde_json::Error::io)?;
    frame.shrink_to_fit();
    let len = (frame.len() - 8) as u64;
    frame[..8].copy_from_slice(&len.to_be_bytes());
    Ok(Arc::new(frame))
}

/// A new channel: the parent's end, and the end the child inherits. Both are close-on-exec,
/// so no other process the parent starts (a notify script) inherits either;
/// [`install_in_child`] puts the child's end in place.
pub fn pair() -> std::io::Result<(UnixStream, OwnedFd)> {
    let (parent, child) = UnixStream::pair()?;
    Ok((parent, child.into()))
}

/// Between fork and exec: `fd` becomes [`CHILD_FD`], kept across exec.
///
/// # Safety
/// Only async-signal-safe calls are made, so this may run in a `pre_exec` hook; `fd` must
/// be open.
pub unsafe fn install_in_child(fd: RawFd) -> std::io::Result<()> {
    if fd != CHILD_FD && libc::dup2(fd, CHILD_FD) < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // dup2 clears close-on-exec, but not when `fd` is already CHILD_FD.
    if libc::fcntl(CHILD_FD, libc::F_SETFD, 0) < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The parent's end of one child's channel: frames queued here are written in order by a
/// task of their own, so a large frame never holds up the parent's loop. Dropping it ends
/// the task.
pub(crate) struct ChildLink {
    frames: UnboundedSender<Arc<Vec<u8>>>,
}

impl ChildLink {
    /// Starts the writer task on `stream` for the child `role`. Needs a tokio runtime.
    pub fn start(stream: UnixStream, role: Process) -> std::io::Result<ChildLink> {
        stream.set_nonblocking(true)?;
        let mut stream = tokio::net::UnixStream::from_std(stream)?;
        let (frames, mut queue) = unbounded_channel::<Arc<Vec<u8>>>();
        tokio::spawn(async move {
            while let Some(frame) = queue.recv().await {
                if let Err(e) = stream.write_all(&frame).await {
                    // The child has gone; its exit is reported on its own.
                    debug!("configuration to the {} child: {e}", role.title());
                    return;
                }
            }
        });
        Ok(ChildLink { frames })
    }

    /// Queues `frame` for the child; false if its writer has stopped.
    pub fn send(&self, frame: Arc<Vec<u8>>) -> bool {
        self.frames.send(frame).is_ok()
    }
}

/// One frame's configuration from `r`, blocking. A frame over [`MAX_FRAME`] is read past
/// (so the next one can be read) and refused.
pub(crate) fn read_frame(r: &mut impl Read) -> Result<Config, ChannelError> {
    let mut header = [0u8; 8];
    if let Err(e) = r.read_exact(&mut header) {
        return Err(match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ChannelError::Closed,
            _ => ChannelError::Io(e),
        });
    }
    let len = u64::from_be_bytes(header);
    if len > MAX_FRAME {
        let mut chunk = vec![0u8; SKIP_CHUNK];
        let mut left = len;
        while left > 0 {
            let n = left.min(SKIP_CHUNK as u64) as usize;
            r.read_exact(&mut chunk[..n])?;
            left -= n as u64;
        }
        return Err(ChannelError::TooLarge(len));
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body)?;
    // Decoded as it inflates, so the JSON is never held whole either; past MAX_FRAME the
    // JSON is cut short, which serde_json refuses as an early end.
    let json = DeflateDecoder::new(body.as_slice()).take(MAX_FRAME);
    Ok(serde_json::from_reader(std::io::BufReader::new(json))?)
}

/// What the child `role` does to every configuration it is given before using it: the
/// scripts it runs that are not safe to run are disabled (`check_script_secure()`), and
/// said so; its `umask` and process name are taken, as keepalived's children take them
/// when they read the configuration.
fn prepared(mut config: Config, role: Process) -> Config {
    crate::host::umask::from_config(&config.global);
    crate::host::process_name::apply(role, &config.global);
    let root = crate::host::security::running_as_root();
    for m in crate::host::security::disable_insecure(&mut config, root, role) {
        error!("{m}");
    }
    config
}

/// A child's end of the channel.
pub struct ConfigReader {
    stream: UnixStream,
    role: Process,
}

impl ConfigReader {
    /// The channel the child `role` inherited as [`CHILD_FD`].
    pub fn inherited(role: Process) -> Result<ConfigReader, ChannelError> {
        // SAFETY: fstat on a descriptor number into a zeroed stat buffer.
        let is_socket = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            libc::fstat(CHILD_FD, &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFSOCK
        };
        if !is_socket {
            return Err(ChannelError::NotAChannel);
        }
        // SAFETY: getppid cannot fail.
        PARENT.store(unsafe { libc::getppid() }, Ordering::Relaxed);
        // SAFETY: CHILD_FD is open, a socket, and nothing else in this process owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(CHILD_FD) };
        let stream = UnixStream::from(fd);
        // Close-on-exec again, so scripts this child runs do not inherit it.
        // SAFETY: fcntl on a descriptor we own.
        unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        Ok(ConfigReader { stream, role })
    }

    /// The first configuration, blocking until the parent has sent it; ready to use.
    pub fn first(&mut self) -> Result<Config, ChannelError> {
        read_frame(&mut self.stream).map(|c| prepared(c, self.role))
    }

    /// Reads every later configuration on a thread of its own and hands each, ready to
    /// use, to the receiver. A frame that cannot be used is refused there, with a log line
    /// that ends that reload. Spawn it before the process takes a realtime priority, so
    /// decoding a large configuration never runs at it.
    pub fn spawn(self) -> std::io::Result<UnboundedReceiver<Box<Config>>> {
        let (tx, rx) = unbounded_channel();
        let (mut stream, role) = (self.stream, self.role);
        std::thread::Builder::new()
            .name("config-reader".into())
            .stack_size(READER_STACK)
            .spawn(move || loop {
                match read_frame(&mut stream) {
                    Ok(config) => {
                        if tx.send(Box::new(prepared(config, role))).is_err() {
                            return;
                        }
                    }
                    Err(e @ (ChannelError::Decode(_) | ChannelError::TooLarge(_))) => {
                        error!("Reload refused: {e}; the running configuration stays");
                    }
                    Err(ChannelError::Closed) => {
                        debug!(
                            "{}: the parent closed the configuration channel",
                            role.title()
                        );
                        return;
                    }
                    Err(e) => {
                        error!("{e}: no further reload reaches the {} child", role.title());
                        return;
                    }
                }
            })?;
        Ok(rx)
    }
}

/// SIGHUP sent to a child directly. Only the parent reads the configuration, so the child
/// passes the reload on to it, and the new configuration comes back down the channel as
/// for a SIGHUP to the parent. keepalived's children reload on a SIGHUP of their own
/// (`sigreload_vrrp()`); an operator who signals a child expects a reload, not silence.
pub(crate) fn pass_reload_to_parent(role: Process) {
    let parent = PARENT.load(Ordering::Relaxed);
    // SAFETY: getppid cannot fail.
    if parent <= 1 || unsafe { libc::getppid() } != parent {
        warn!(
            "SIGHUP received by the {} child: its parent is gone, and only the parent reads the configuration; ignored",
            role.title()
        );
        return;
    }
    info!(
        "SIGHUP received by the {} child: the parent (pid {parent}) reads the configuration; passing the reload to it",
        role.title()
    );
    // SAFETY: signalling our parent process.
    if unsafe { libc::kill(parent, libc::SIGHUP) } != 0 {
        warn!(
            "passing SIGHUP to the parent: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};
    use std::io::Write;

    /// What a configuration carries across: the model less where each block was
    /// defined (`defined_at`), which only the parser's messages use.
    fn carried(c: &Config) -> serde_json::Value {
        serde_json::to_value(c).unwrap()
    }

    fn sample() -> Config {
        parse_str(
            "global_defs {\n router_id R1\n}\nvrrp_instance VI_1 {\n interface eth0\n \
             virtual_router_id 51\n priority 150\n advert_int 1\n virtual_ipaddress {\n  \
             10.0.0.1/24\n  10.0.0.2/24 dev eth1\n }\n virtual_routes {\n  10.9.0.0/16 via 10.0.0.254\n }\n}\n",
            &ParseOptions::default(),
        )
        .config
    }

    #[test]
    fn a_configuration_comes_through_a_frame_unchanged() {
        let config = sample();
        let frame = encode(&config).unwrap();
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(&frame).unwrap();
        a.write_all(&frame).unwrap();
        assert_eq!(carried(&read_frame(&mut b).unwrap()), carried(&config));
        let second = read_frame(&mut b).unwrap();
        assert_eq!(carried(&second), carried(&config));
        // Which keywords were written comes through: the child's engine decides by it
        // (an instance's own notify_priority_changes over its group's).
        let given = |c: &Config| c.instances[0].explicit;
        assert!(given(&config).has(keepalived_engine::config::model::Given::Priority));
        assert_eq!(given(&second), given(&config));
        drop(a);
        assert!(matches!(read_frame(&mut b), Err(ChannelError::Closed)));
    }

    #[test]
    fn a_frame_over_the_bound_is_refused_and_the_next_one_still_reads() {
        let config = sample();
        let next = encode(&config).unwrap();
        let mut r = std::io::Cursor::new((MAX_FRAME + 1).to_be_bytes())
            .chain(std::io::repeat(b' ').take(MAX_FRAME + 1))
            .chain(std::io::Cursor::new(next.to_vec()));
        assert!(matches!(
            read_frame(&mut r),
            Err(ChannelError::TooLarge(n)) if n == MAX_FRAME + 1
        ));
        assert_eq!(carried(&read_frame(&mut r).unwrap()), carried(&config));
    }

    #[test]
    fn a_frame_that_is_not_a_configuration_is_refused_and_the_next_one_still_reads() {
        let mut bytes = Vec::new();
        let mut garbage = DeflateEncoder::new(Vec::new(), Compression::fast());
        std::io::Write::write_all(&mut garbage, b"{\"x\":").unwrap();
        let garbage = garbage.finish().unwrap();
        bytes.extend_from_slice(&(garbage.len() as u64).to_be_bytes());
        bytes.extend_from_slice(&garbage);
        bytes.extend_from_slice(&encode(&sample()).unwrap());
        let mut r = std::io::Cursor::new(bytes);
        assert!(matches!(read_frame(&mut r), Err(ChannelError::Decode(_))));
        assert_eq!(carried(&read_frame(&mut r).unwrap()), carried(&sample()));
    }

    #[test]
    fn a_frame_that_inflates_past_the_bound_is_refused() {
        // A configuration after MAX_FRAME bytes of white space: JSON that would decode,
        // were it not past the bound.
        let mut bomb = DeflateEncoder::new(Vec::new(), Compression::best());
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..(MAX_FRAME >> 20) {
            std::io::Write::write_all(&mut bomb, &spaces).unwrap();
        }
        serde_json::to_writer(&mut bomb, &sample()).unwrap();
        let bomb = bomb.finish().unwrap();
        let mut bytes = (bomb.len() as u64).to_be_bytes().to_vec();
        bytes.extend_from_slice(&bomb);
        assert!(matches!(
            read_frame(&mut std::io::Cursor::new(bytes)),
            Err(ChannelError::Decode(_))
        ));
    }

    #[test]
    fn a_truncated_frame_is_an_error_not_a_configuration() {
        let frame = encode(&sample()).unwrap();
        let mut r = std::io::Cursor::new(frame[..frame.len() / 2].to_vec());
        assert!(read_frame(&mut r).is_err());
    }
}
