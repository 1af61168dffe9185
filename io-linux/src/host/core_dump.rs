//! `-m`/`--core-dump` and `-M`/`--core-dump-pattern` (`core_dump_init()` and
//! `update_core_dump_pattern()`, `keepalived/core/main.c`): a process that dies of a
//! signal leaves a core file, under the pattern `-M` gives while the daemon runs.
//!
//! keepalived 2.2.7's `-t -M` sets the host's core_pattern and never puts it back;
//! here the pattern lives in a [`CorePattern`], and whoever holds it puts the old one back
//! when it is dropped: at the end of `-t`, and when the parent stops (a parent killed by
//! SIGKILL, or one that itself dumps core, cannot).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The kernel's core file name pattern (a sysctl for the whole host).
pub const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// The kernel keeps at most this much of a pattern (`CORENAME_MAX_SIZE`, fs/coredump.c).
const CORENAME_MAX_SIZE: u64 = 128;

#[derive(Debug, thiserror::Error)]
pub enum CoreDumpError {
    #[error("cannot raise RLIMIT_CORE: {0}")]
    Rlimit(std::io::Error),
    #[error("cannot make the process dumpable: {0}")]
    Dumpable(std::io::Error),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `-m`: core files of any size (RLIMIT_CORE unlimited, which children and their scripts
/// inherit), and this process dumpable, which it stops being when it changes credentials.
pub fn allow_core_dumps() -> Result<(), CoreDumpError> {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the rlimit we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &unlimited) } != 0 {
        return Err(CoreDumpError::Rlimit(std::io::Error::last_os_error()));
    }
    // SAFETY: PR_SET_DUMPABLE takes one integer argument.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(CoreDumpError::Dumpable(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// `-M`: the kernel's core_pattern set to ours for as long as this lives; dropping it
/// writes back the pattern that was there.
#[derive(Debug)]
pub struct CorePattern {
    path: PathBuf,
    original: Vec<u8>,
}

impl CorePattern {
    /// Sets the host's core_pattern to `pattern`.
    pub fn set(pattern: &[u8]) -> Result<CorePattern, CoreDumpError> {
        CorePattern::set_at(Path::new(CORE_PATTERN), pattern)
    }

    fn set_at(path: &Path, pattern: &[u8]) -> Result<CorePattern, CoreDumpError> {
        let mut original = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(CORENAME_MAX_SIZE).read_to_end(&mut original))
            .map_err(|source| CoreDumpError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        write_pattern(path, pattern)?;
        Ok(CorePattern {
            path: path.to_path_buf(),
            original,
        })
    }

    /// The pattern that was there before, as the kernel shows it (without its newline).
    pub fn original(&self) -> String {
        String::from_utf8_lossy(self.original.strip_suffix(b"\n").unwrap_or(&self.original))
            .into_owned()
    }
}

impl Drop for CorePattern {
    fn drop(&mut self) {
        match write_pattern(&self.path, &self.original) {
            Ok(()) => tracing::info!("{} put back to '{}'", self.path.display(), self.original()),
            Err(e) => tracing::warn!(
                "{e}: the core pattern '{}' is not put back",
                self.original()
            ),
        }
    }
}

/// One write(2) from the start of the file, as a sysctl must be written (the kernel
/// stops at a newline, so the original's own newline does no harm; a sysctl ignores the
/// truncation a regular file needs).
fn write_pattern(path: &Path, pattern: &[u8]) -> Result<(), CoreDumpError> {
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(pattern))
        .map_err(|source| CoreDumpError::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_pattern_comes_back_when_dropped() {
        let dir = std::env::temp_dir().join(format!("kars-core-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("core_pattern");
        std::fs::write(&file, "|/usr/lib/handler %p\n").unwrap();
        let set = CorePattern::set_at(&file, b"/tmp/core.%e.%p").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"/tmp/core.%e.%p");
        assert_eq!(set.original(), "|/usr/lib/handler %p");
        drop(set);
        assert_eq!(std::fs::read(&file).unwrap(), b"|/usr/lib/handler %p\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unreadable_pattern_is_never_overwritten() {
        let missing = Path::new("/nonexistent/kars/core_pattern");
        assert!(matches!(
            CorePattern::set_at(missing, b"core"),
            Err(CoreDumpError::Read { .. })
        ));
    }
}
