//! `reload_file [FILE]` (keepalived's `create_reload_file()` and `remove_reload_file()`,
//! `keepalived/core/main.c`): the file exists, empty, while the parent reads the
//! configuration for a reload, so that whatever writes the configuration can wait for it
//! to go before writing again. keepalived.conf(5): created (or truncated) before the
//! files are read, removed once they have been, and a file left from a previous run is
//! removed at start.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use keepalived_engine::config::model::RootOptions;
use tracing::info;

/// What the parser stores for `reload_file` without a name.
pub const PARSED_DEFAULT: &str = "/run/keepalived.reload";

/// The file `reload_file` names: its own name, or without one keepalived's default beside
/// the pidfiles (`init_global_data()`): `/run/keepalived/keepalived_INSTANCE.reload` with
/// an `instance`, `/run/keepalived/keepalived.reload` when the pidfiles go to
/// `/run/keepalived` (`use_pid_dir`, `net_namespace`), else `/run/keepalived.reload`.
/// The parser gives the bare keyword as [`PARSED_DEFAULT`], so that name written out in
/// full is taken as the default too.
pub fn resolve(configured: &str, root: &RootOptions) -> PathBuf {
    if configured != PARSED_DEFAULT {
        return PathBuf::from(configured);
    }
    let dir = Path::new("/run/keepalived");
    match &root.instance {
        Some(i) => dir.join(format!("keepalived_{i}.reload")),
        None if root.use_pid_dir || root.net_namespace.is_some() => dir.join("keepalived.reload"),
        None => PathBuf::from(PARSED_DEFAULT),
    }
}

/// Creates `path` empty, or empties it, readable by all (rw-r--r-- whatever the umask,
/// as keepalived makes it). A link is not followed. A failure is logged and the reload
/// goes on.
pub fn create(path: &Path) {
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path);
    let result = match opened {
        Ok(f) => f.set_permissions(std::fs::Permissions::from_mode(0o644)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map(drop),
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        info!("Failed to create reload file ({}): {e}", path.display());
    }
}

/// Removes `path`, if it is there.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_default_goes_beside_the_pidfiles() {
        let mut root = RootOptions::default();
        assert_eq!(resolve(PARSED_DEFAULT, &root), Path::new(PARSED_DEFAULT));
        assert_eq!(resolve("/tmp/r", &root), Path::new("/tmp/r"));
        root.use_pid_dir = true;
        assert_eq!(
            resolve(PARSED_DEFAULT, &root),
            Path::new("/run/keepalived/keepalived.reload")
        );
        root.instance = Some("lb1".into());
        assert_eq!(
            resolve(PARSED_DEFAULT, &root),
            Path::new("/run/keepalived/keepalived_lb1.reload")
        );
    }

    #[test]
    fn the_file_is_created_empty_and_world_readable_then_removed() {
        let dir = std::env::temp_dir().join(format!("kars-reload-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("k.reload");
        create(&f);
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!((meta.len(), meta.mode() & 0o777), (0, 0o644));
        std::fs::write(&f, "started?").unwrap();
        create(&f);
        assert_eq!(std::fs::metadata(&f).unwrap().len(), 0, "truncated");
        remove(&f);
        assert!(!f.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
