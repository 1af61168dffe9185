//! The engine's `ConfigFs` over the real filesystem.

use keepalived_engine::config::ConfigFs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub struct HostFs;

impl ConfigFs for HostFs {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        let mut bytes = Vec::new();
        self.open(path)?.read_to_end(&mut bytes)?;
        // keepalived reads bytes; a stray invalid byte must not lose the whole file.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// Only a regular file is read: opening a FIFO would wait for a writer, and a device
    /// could be read without end. The path is opened once as a handle (`O_PATH`, which
    /// opens nothing and never waits), the handle checked, and the file it holds then
    /// opened for reading through `/proc/self/fd`: a FIFO swapped in at the path after
    /// the check is never the file read.
    fn open(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(path)?;
        if !handle.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let held = format!("/proc/self/fd/{}", handle.as_raw_fd());
        Ok(Box::new(std::fs::File::open(held)?))
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// keepalived's default `-i`: the node name up to the first dot.
pub fn host_config_id() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    keepalived_engine::config::default_config_id(name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read_and_a_fifo_never_waits() {
        let dir = std::env::temp_dir().join(format!("kars-hostfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.conf");
        std::fs::write(&file, "vrrp_instance x {\n}\n").unwrap();
        assert_eq!(
            HostFs.read_to_string(&file).unwrap(),
            "vrrp_instance x {\n}\n"
        );
        let fifo = dir.join("fifo.conf");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No writer: opening it for reading would block this test for ever.
        let e = HostFs.open(&fifo).err().expect("refused");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(HostFs.open(Path::new("/dev/zero")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
