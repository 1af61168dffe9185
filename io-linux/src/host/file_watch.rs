//! `track_file` (keepalived's `keepalived/trackers/track_file.c`): each tracked file's
//! directory is watched with inotify, and the file is read again whenever it is written,
//! renamed in, removed or renamed away. A file's value is the number at its start, read
//! as keepalived reads it (`process_track_file()`); a missing or unreadable file counts
//! as 0. `init_file` creates the file (or, with `overwrite`, rewrites it) before the
//! watch starts (`track_file_end_handler()`).
//!
//! Both children use this: the VRRP child for `track_file` on instances and sync groups,
//! the checker child for FILE_CHECK.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use keepalived_engine::config::model::TrackFile;
use tokio::io::unix::AsyncFd;
use tracing::{info, warn};

/// How much of a file is read: keepalived reads into `char buf[128]`, one byte kept for
/// the terminating NUL, so a number past byte 127 is never seen, and a huge file costs
/// no more than a small one.
pub const READ_MAX: usize = 127;

/// keepalived's mask on the directory: the file closed after a write, removed, or
/// renamed in or away (`IN_CLOSE_WRITE | IN_DELETE | IN_MOVE`). A file created and
/// closed (`touch`, `echo 1 > f`) reports IN_CLOSE_WRITE; IN_CREATE alone (a symlink
/// made in place) is not read, as in keepalived.
const DIR_MASK: u32 =
    libc::IN_CLOSE_WRITE | libc::IN_DELETE | libc::IN_MOVED_FROM | libc::IN_MOVED_TO;

/// The `inotify_event` header: wd, mask, cookie, len.
const EVENT_HEADER: usize = 16;

/// The mask `init_file` writes with: keepalived's `umask_val`, the process's mask
/// ([`super::umask`]: `-u`, else the configuration's `umask`, else 0177).
pub fn umask_val() -> u32 {
    super::umask::current().unwrap_or(super::umask::DEFAULT)
}

/// A number read from a tracked file that keepalived refuses: `strtol()` overflowed, or
/// the value is outside [INT32_MIN, INT32_MAX + 1]. The file's last value stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Invalid number {0} read - ignoring")]
pub struct InvalidNumber(pub i64);

/// The value of a file's first bytes as `strtol(buf, NULL, 0)` gives it, with
/// `process_track_file()`'s range check: leading white space, an optional sign, then
/// `0x` hex, `0` octal or decimal digits, up to the first character that is none of
/// them. No digits at all is 0; the text ends at the first NUL.
pub fn parse_value(buf: &[u8]) -> Result<i64, InvalidNumber> {
    let buf = &buf[..buf.iter().position(|b| *b == 0).unwrap_or(buf.len())];
    let mut i = 0;
    // isspace() in the C locale.
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match buf.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let hex_digit_at = |j: usize| buf.get(j).is_some_and(|b| b.is_ascii_hexdigit());
    let radix: u32 = if buf.get(i) == Some(&b'0')
        && matches!(buf.get(i + 1), Some(b'x' | b'X'))
        && hex_digit_at(i + 2)
    {
        i += 2;
        16
    } else if buf.get(i) == Some(&b'0') {
        8
    } else {
        10
    };
    // Accumulated as a magnitude so LONG_MIN itself parses; past it, strtol() gives
    // ERANGE.
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(d) = buf.get(i).and_then(|b| (*b as char).to_digit(radix)) {
        match magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    let value = if negative {
        if overflow || magnitude > i64::MIN.unsigned_abs() {
            return Err(InvalidNumber(i64::MIN));
        }
        0i64.wrapping_sub_unsigned(magnitude)
    } else {
        match i64::try_from(magnitude) {
            Ok(v) if !overflow => v,
            _ => return Err(InvalidNumber(i64::MAX)),
        }
    };
    if value < i64::from(i32::MIN) || value > i64::from(i32::MAX) + 1 {
        return Err(InvalidNumber(value));
    }
    Ok(value)
}

/// A tracked file's value now: its first [`READ_MAX`] bytes parsed ([`parse_value`]),
/// 0 when it is missing, unreadable or empty (`process_track_file()`).
///
/// Only a regular file is opened, and without blocking. keepalived opens whatever the
/// path names with O_NONBLOCK; here a FIFO, device, socket or directory reads as 0
/// without being opened, since opening a device can act on it (a watchdog starts on
/// open) and a FIFO's writer would decide what we read.
pub fn read_value(path: &Path) -> Result<i64, InvalidNumber> {
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_file() => {}
        _ => return Ok(0),
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
    else {
        return Ok(0);
    };
    // Replaced between the look and the open: still only a regular file is read.
    if !file.metadata().is_ok_and(|m| m.file_type().is_file()) {
        return Ok(0);
    }
    let mut buf = [0u8; READ_MAX];
    // One read(), as keepalived does.
    // SAFETY: reading into a buffer we own, of its length, from an open descriptor.
    let n = unsafe { libc::read(file.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return Ok(0);
    }
    parse_value(&buf[..n as usize])
}

/// Why `init_file` did not write a file.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("Cannot initialise track file {0} - it is not a regular file")]
    NotRegular(String),
    #[error("Unable to initialise track file {name}: {source}")]
    Write { name: String, source: io::Error },
}

/// `init_file [VALUE] [overwrite]` (`track_file_end_handler()`): a missing file is
/// created holding the value; with `overwrite` an existing regular file is rewritten
/// too, but not on a reload. Returns whether the file was written.
///
/// The file is written as `fopen_safe()` writes: a fresh temporary file beside it with
/// mode rw-rw-rw- less `umask_val`, renamed into place, so a reader never sees it half
/// written and a link planted at the path is replaced rather than followed.
pub fn init_file(tf: &TrackFile, reload: bool, umask_val: u32) -> Result<bool, InitError> {
    let (Some(init), Some(path)) = (&tf.init_file, &tf.file) else {
        return Ok(false);
    };
    if let Ok(m) = std::fs::metadata(path) {
        if !init.overwrite {
            return Ok(false);
        }
        if !m.file_type().is_file() {
            return Err(InitError::NotRegular(tf.name.clone()));
        }
        if reload {
            return Ok(false);
        }
    }
    let write = |e| InitError::Write {
        name: tf.name.clone(),
        source: e,
    };
    write_atomically(
        Path::new(path),
        format!("{}\n", init.value).as_bytes(),
        umask_val,
    )
    .map_err(write)?;
    Ok(true)
}

/// `fopen_safe(path, "w")` then the write: `mkostemp(PATHXXXXXX)`, `fchmod`, `rename`.
fn write_atomically(path: &Path, text: &[u8], umask_val: u32) -> io::Result<()> {
    let mut template = path.as_os_str().as_bytes().to_vec();
    template.extend_from_slice(b"XXXXXX\0");
    // SAFETY: a NUL-terminated template we own, which mkostemp fills in place.
    let fd = unsafe { libc::mkostemp(template.as_mut_ptr().cast(), libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    template.pop();
    let tmp = PathBuf::from(OsString::from_vec(template));
    // SAFETY: a descriptor mkostemp just opened for us.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let done = (|| {
        let mode = 0o666 & !umask_val;
        // SAFETY: fchmod on our own open descriptor.
        if unsafe { libc::fchmod(file.as_raw_fd(), mode as libc::mode_t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        std::fs::rename(&tmp, path)?;
        io::Write::write_all(&mut &file, text)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Where a tracked file is watched from (`init_track_files()`): the file's real path
/// when it exists, otherwise its directory's real path and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub dir: PathBuf,
    pub name: OsString,
    pub exists: bool,
}

impl Resolved {
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// Why a tracked file is not watched: keepalived drops it from every instance and real
/// server that tracks it.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("Track file directory for {0} does not exist - removing")]
    NoDirectory(String),
    #[error("track file {0} is not accessible - ignoring")]
    Inaccessible(String),
}

/// `init_track_files()`'s path resolution: `realpath()` of the file, so a symlink is
/// watched where it points; a missing file by its directory's real path.
pub fn resolve(name: &str, path: &Path) -> Result<Resolved, ResolveError> {
    let split = |p: &Path| -> Option<(PathBuf, OsString)> {
        Some((p.parent()?.to_path_buf(), p.file_name()?.to_os_string()))
    };
    match std::fs::canonicalize(path) {
        Ok(real) => {
            let (dir, file) =
                split(&real).ok_or_else(|| ResolveError::Inaccessible(name.into()))?;
            Ok(Resolved {
                dir,
                name: file,
                exists: true,
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = path
                .file_name()
                .ok_or_else(|| ResolveError::NoDirectory(name.into()))?
                .to_os_string();
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            match std::fs::canonicalize(dir) {
                Ok(d) if d.is_dir() => Ok(Resolved {
                    dir: d,
                    name: file,
                    exists: false,
                }),
                _ => Err(ResolveError::NoDirectory(name.into())),
            }
        }
        Err(_) => Err(ResolveError::Inaccessible(name.into())),
    }
}

/// One event off the inotify descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    wd: i32,
    mask: u32,
    name: Vec<u8>,
}

/// Splits what one read() of an inotify descriptor gave into events.
fn parse_events(buf: &[u8], out: &mut Vec<Event>) {
    let mut at = 0;
    while at + EVENT_HEADER <= buf.len() {
        let word = |i: usize| {
            let b = &buf[at + i * 4..at + i * 4 + 4];
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        };
        let (wd, mask, len) = (word(0) as i32, word(1), word(3) as usize);
        let end = (at + EVENT_HEADER + len).min(buf.len());
        let raw = &buf[at + EVENT_HEADER..end];
        let name = raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())].to_vec();
        out.push(Event { wd, mask, name });
        at += EVENT_HEADER + len;
    }
}

/// A tracked file being watched.
#[derive(Debug)]
struct Watched {
    /// The `track_file` block's name.
    name: String,
    path: PathBuf,
    /// The directory's watch.
    wd: i32,
    /// The file's name in its directory, as the directory's events give it.
    part: Vec<u8>,
    /// `last_status`: a change is reported only when the value moves.
    last: i64,
}

/// The tracked files of one configuration, watched; their values as they change.
#[derive(Debug, Default)]
pub struct FileWatch {
    inotify: Option<AsyncFd<OwnedFd>>,
    files: Vec<Watched>,
    /// Tracked files that could not be watched: keepalived stops tracking them, which
    /// counts as the value 0 here.
    dropped: Vec<String>,
    /// Changes read and not yet handed out.
    ready: VecDeque<(String, i64)>,
}

impl FileWatch {
    /// Writes the `init_file`s of every `track_file` (keepalived writes them while the
    /// configuration is read, tracked or not), then watches those in `tracked` and reads
    /// the ones that exist (`init_track_files()`). Files not tracked are not watched.
    pub fn start(
        files: &[TrackFile],
        tracked: &BTreeSet<String>,
        reload: bool,
        umask_val: u32,
    ) -> FileWatch {
        for tf in files {
            match init_file(tf, reload, umask_val) {
                Ok(_) => {}
                Err(e) => warn!("{e}"),
            }
        }
        let mut w = FileWatch::default();
        for tf in files.iter().filter(|f| tracked.contains(&f.name)) {
            let Some(path) = &tf.file else { continue };
            let r = match resolve(&tf.name, Path::new(path)) {
                Ok(r) => r,
                Err(e) => {
                    warn!("{e}");
                    w.dropped.push(tf.name.clone());
                    continue;
                }
            };
            if w.inotify.is_none() {
                match open_inotify() {
                    Ok(fd) => w.inotify = Some(fd),
                    Err(e) => {
                        warn!("Unable to monitor track files: {e}");
                        break;
                    }
                }
            }
            let Some(fd) = &w.inotify else { break };
            let wd = match add_watch(fd.get_ref(), &r.dir) {
                Ok(wd) => wd,
                Err(e) => {
                    warn!(
                        "track file {}: cannot watch {}: {e}",
                        tf.name,
                        r.dir.display()
                    );
                    w.dropped.push(tf.name.clone());
                    continue;
                }
            };
            let path = r.path();
            let last = if r.exists {
                read_logged(&path).unwrap_or(0)
            } else {
                0
            };
            w.files.push(Watched {
                name: tf.name.clone(),
                path,
                wd,
                part: r.name.as_bytes().to_vec(),
                last,
            });
        }
        w
    }

    /// Each tracked file's value now, by `track_file` name: 0 for one not watched.
    pub fn values(&self) -> BTreeMap<String, i64> {
        let dropped = self.dropped.iter().map(|n| (n.clone(), 0));
        dropped
            .chain(self.files.iter().map(|f| (f.name.clone(), f.last)))
            .collect()
    }

    /// The files watched, by `track_file` name, with the path watched.
    pub fn paths(&self) -> Vec<(String, String)> {
        self.files
            .iter()
            .map(|f| (f.name.clone(), f.path.display().to_string()))
            .collect()
    }

    /// The next change of a file's value: its `track_file` name and the new value.
    /// Pends for ever when nothing is watched. Cancel-safe: events are read and queued
    /// without an await in between.
    pub async fn next(&mut self) -> (String, i64) {
        loop {
            if let Some(change) = self.ready.pop_front() {
                return change;
            }
            let Some(fd) = &self.inotify else {
                return std::future::pending().await;
            };
            let Ok(mut guard) = fd.readable().await else {
                return std::future::pending().await;
            };
            guard.clear_ready();
            drop(guard);
            self.drain();
        }
    }

    /// Reads every pending event and queues the changes they make (`process_inotify()`).
    fn drain(&mut self) {
        let Some(fd) = &self.inotify else { return };
        let raw = fd.get_ref().as_raw_fd();
        // Room for several events with a full NAME_MAX name each.
        let mut buf = [0u8; 4096];
        let mut events = Vec::new();
        loop {
            // SAFETY: reading into a buffer we own, of its length.
            let n = unsafe { libc::read(raw, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if n <= 0 {
                break;
            }
            parse_events(&buf[..n as usize], &mut events);
        }
        for ev in events {
            self.event(&ev);
        }
    }

    fn event(&mut self, ev: &Event) {
        if ev.mask & libc::IN_Q_OVERFLOW != 0 {
            // Events were lost: whatever they were, each file is read again.
            info!("inotify queue overflowed: reading every track file again");
            for i in 0..self.files.len() {
                self.read(i);
            }
            return;
        }
        if ev.mask & libc::IN_ISDIR != 0 {
            return;
        }
        if ev.mask & libc::IN_IGNORED != 0 {
            // The directory went away (or its file system): its files are no longer
            // watched, and keep their last values, as keepalived does.
            for f in self.files.iter().filter(|f| f.wd == ev.wd) {
                info!(
                    "track file {}: directory of {} is no longer watched",
                    f.name,
                    f.path.display()
                );
            }
            return;
        }
        if ev.mask & DIR_MASK == 0 {
            info!("Unknown inotify event 0x{:x}", ev.mask);
            return;
        }
        for i in 0..self.files.len() {
            let f = &self.files[i];
            if f.wd != ev.wd || f.part != ev.name {
                continue;
            }
            if ev.mask & (libc::IN_MOVED_FROM | libc::IN_DELETE) != 0 {
                // "The file has disappeared. Treat as though the value is 0".
                self.set(i, 0);
            } else {
                self.read(i);
            }
        }
    }

    /// Reads file `i` and queues its new value; a refused number leaves the last one.
    fn read(&mut self, i: usize) {
        if let Some(v) = read_logged(&self.files[i].path) {
            self.set(i, v);
        }
    }

    fn set(&mut self, i: usize, value: i64) {
        let f = &mut self.files[i];
        if f.last != value {
            f.last = value;
            self.ready.push_back((f.name.clone(), value));
        }
    }
}

/// [`read_value`], with keepalived's line when the number is refused.
fn read_logged(path: &Path) -> Option<i64> {
    match read_value(path) {
        Ok(v) => Some(v),
        Err(InvalidNumber(n)) => {
            info!("Invalid number {n} read from {} - ignoring", path.display());
            None
        }
    }
}

fn open_inotify() -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: inotify_init1 has no preconditions.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor we just opened and own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `fd` is open and owned by the AsyncFd for its whole life.
    unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)
}

fn add_watch(fd: &OwnedFd, dir: &Path) -> io::Result<i32> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid C string and our own inotify descriptor.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), DIR_MASK) };
    if wd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(wd)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use keepalived_engine::config::model::InitFile;

    use super::*;
    use crate::host::umask::DEFAULT as DEFAULT_UMASK;

    /// A fresh directory under the target's temporary space, removed at the end.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let d =
                std::env::temp_dir().join(format!("ka-file-watch-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
        fn at(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn track(name: &str, path: &Path, init: Option<(i64, bool)>) -> TrackFile {
        TrackFile {
            name: name.into(),
            file: Some(path.to_string_lossy().into_owned()),
            weight: 1,
            weight_reverse: false,
            init_file: init.map(|(value, overwrite)| InitFile { value, overwrite }),
        }
    }

    #[test]
    fn values_parse_as_strtol_base_0_does() {
        let ok = |s: &[u8], v: i64| {
            assert_eq!(parse_value(s), Ok(v), "{:?}", String::from_utf8_lossy(s))
        };
        ok(b"10\n", 10);
        ok(b"  \t-300\n", -300);
        ok(b"\x0b\x0c\r+7", 7);
        ok(b"12abc", 12);
        ok(b"0x1f", 31);
        ok(b"-0X10", -16);
        ok(b"010", 8);
        // Octal stops at the 8; "0x" without a hex digit is the 0 alone.
        ok(b"08", 0);
        ok(b"0x", 0);
        ok(b"0xg", 0);
        // No digits: 0, not an error.
        ok(b"", 0);
        ok(b"abc", 0);
        ok(b"- 5", 0);
        ok(b"\n\n5", 5);
        // The text ends at a NUL.
        ok(b"1\x002", 1);
        // process_track_file(): INT32_MIN ..= INT32_MAX + 1 pass.
        ok(b"2147483648", 2_147_483_648);
        ok(b"-2147483648", -2_147_483_648);
        assert_eq!(
            parse_value(b"2147483649"),
            Err(InvalidNumber(2_147_483_649))
        );
        assert_eq!(
            parse_value(b"-2147483649"),
            Err(InvalidNumber(-2_147_483_649))
        );
        // strtol() overflow (ERANGE): LONG_MAX / LONG_MIN, refused.
        assert_eq!(
            parse_value(b"99999999999999999999"),
            Err(InvalidNumber(i64::MAX))
        );
        assert_eq!(
            parse_value(b"-99999999999999999999"),
            Err(InvalidNumber(i64::MIN))
        );
    }

    #[test]
    fn only_the_first_127_bytes_of_a_regular_file_count() {
        let d = Scratch::new("prefix");
        let f = d.at("v");
        std::fs::write(&f, b"42\n").unwrap();
        assert_eq!(read_value(&f), Ok(42));
        let mut long = vec![b' '; READ_MAX];
        long.extend_from_slice(b"5\n");
        std::fs::write(&f, &long).unwrap();
        assert_eq!(read_value(&f), Ok(0));
        // A huge file costs one short read.
        let mut huge = b"17".to_vec();
        huge.resize(8 << 20, b'9');
        std::fs::write(&f, &huge).unwrap();
        assert!(read_value(&f).is_err(), "17999… overflows");
        std::fs::write(&f, b"").unwrap();
        assert_eq!(read_value(&f), Ok(0));
    }

    #[test]
    fn missing_and_special_files_read_as_zero_without_blocking() {
        let d = Scratch::new("special");
        assert_eq!(read_value(&d.at("missing")), Ok(0));
        assert_eq!(read_value(&d.0), Ok(0));
        let fifo = d.at("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert_eq!(read_value(&fifo), Ok(0));
        let zero = d.at("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert_eq!(read_value(&zero), Ok(0));
    }

    #[test]
    fn init_file_creates_private_and_overwrites_only_when_asked() {
        let d = Scratch::new("init");
        let f = d.at("v");
        let t = track("t", &f, Some((5, false)));
        assert!(init_file(&t, false, DEFAULT_UMASK).unwrap());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "5\n");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Existing: kept without overwrite.
        std::fs::write(&f, "9\n").unwrap();
        assert!(!init_file(&t, false, DEFAULT_UMASK).unwrap());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "9\n");
        // overwrite: rewritten at start, not on a reload; the umask sets the mode.
        let t = track("t", &f, Some((-3, true)));
        assert!(!init_file(&t, true, DEFAULT_UMASK).unwrap());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "9\n");
        assert!(init_file(&t, false, 0o022).unwrap());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "-3\n");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // Missing on a reload: created.
        std::fs::remove_file(&f).unwrap();
        assert!(init_file(&track("t", &f, Some((0, false))), true, DEFAULT_UMASK).unwrap());
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "0\n");
        // Not a regular file: left alone.
        let dir = d.at("dir");
        std::fs::create_dir(&dir).unwrap();
        assert!(matches!(
            init_file(&track("t", &dir, Some((1, true))), false, DEFAULT_UMASK),
            Err(InitError::NotRegular(_))
        ));
        // No directory: an error, and nothing left behind.
        let lost = d.at("nodir/v");
        assert!(matches!(
            init_file(&track("t", &lost, Some((1, false))), false, DEFAULT_UMASK),
            Err(InitError::Write { .. })
        ));
        // A link planted at the path is replaced, not written through.
        let target = d.at("target");
        std::fs::write(&target, "keep\n").unwrap();
        let link = d.at("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(init_file(&track("t", &link, Some((2, true))), false, DEFAULT_UMASK).unwrap());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep\n");
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "2\n");
        let left: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 4, "no temporary file left: {left:?}");
    }

    #[test]
    fn a_missing_directory_is_not_watched_and_a_symlink_is_followed() {
        let d = Scratch::new("resolve");
        assert!(matches!(
            resolve("t", &d.at("nodir/v")),
            Err(ResolveError::NoDirectory(_))
        ));
        let tracked = BTreeSet::from(["t".to_string()]);
        let lost = FileWatch::start(
            &[track("t", &d.at("nodir/v"), Some((9, false)))],
            &tracked,
            false,
            DEFAULT_UMASK,
        );
        assert_eq!(lost.values(), BTreeMap::from([("t".to_string(), 0)]));
        let r = resolve("t", &d.at("v")).unwrap();
        assert!(!r.exists);
        assert_eq!(r.path(), std::fs::canonicalize(&d.0).unwrap().join("v"));
        std::fs::create_dir(d.at("real")).unwrap();
        std::fs::write(d.at("real/v"), "1\n").unwrap();
        std::os::unix::fs::symlink(d.at("real/v"), d.at("link")).unwrap();
        let r = resolve("t", &d.at("link")).unwrap();
        assert!(r.exists);
        assert_eq!(r.dir, std::fs::canonicalize(d.at("real")).unwrap());
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    async fn next(w: &mut FileWatch) -> (String, i64) {
        tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("a change within 5 s")
    }

    #[test]
    fn writes_renames_and_removals_are_reported_once_each() {
        let d = Scratch::new("watch");
        let f = d.at("v");
        let other = d.at("other");
        runtime().block_on(async {
            let files = vec![
                track("a", &f, Some((3, false))),
                track("unused", &other, Some((1, false))),
            ];
            let tracked = BTreeSet::from(["a".to_string()]);
            let mut w = FileWatch::start(&files, &tracked, false, DEFAULT_UMASK);
            // Both init files written; only the tracked one watched, read at start.
            assert!(other.exists());
            assert_eq!(w.values(), BTreeMap::from([("a".to_string(), 3)]));
            std::fs::write(&f, "10\n").unwrap();
            assert_eq!(next(&mut w).await, ("a".into(), 10));
            // The same value again is no change; the next one is.
            std::fs::write(&f, "10\n").unwrap();
            std::fs::write(&f, "-300\n").unwrap();
            assert_eq!(next(&mut w).await, ("a".into(), -300));
            // A refused number keeps the last value.
            std::fs::write(&f, "99999999999\n").unwrap();
            std::fs::write(&other, "7\n").unwrap();
            std::fs::remove_file(&f).unwrap();
            assert_eq!(next(&mut w).await, ("a".into(), 0));
            let tmp = d.at("tmp");
            std::fs::write(&tmp, "0x20").unwrap();
            std::fs::rename(&tmp, &f).unwrap();
            assert_eq!(next(&mut w).await, ("a".into(), 32));
            std::fs::rename(&f, &tmp).unwrap();
            assert_eq!(next(&mut w).await, ("a".into(), 0));
        });
    }

    #[test]
    fn nothing_watched_pends() {
        runtime().block_on(async {
            let mut w = FileWatch::start(&[], &BTreeSet::new(), false, DEFAULT_UMASK);
            let r = tokio::time::timeout(Duration::from_millis(50), w.next()).await;
            assert!(r.is_err());
        });
    }
}
