//! The files the daemon writes: pidfiles and the signal dumps, each created fresh, never
//! through a symlink (the fixes for CVE-2018-19044/19045/19046), with keepalived's modes;
//! and where the dumps go (`state_dump_file`, `stats_dump_file`, `json_dump_file`,
//! `data_use_instance`).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use keepalived_engine::config::model::Config;
use tracing::error;

/// keepalived's `KA_TMP_DIR`: the dumps' directory when $TMPDIR is unset or relative.
const KA_TMP_DIR: &str = "/tmp";

/// The VRRP process's state dump keeps the template's name as it is.
pub(crate) const VRRP_DATA: &str = "";
/// The checker process's state dump: the template's name with `_check` before its
/// extension, `keepalived_check.data` by default (`check_print.c`).
pub(crate) const CHECKER_DATA: &str = "_check";

/// Where the signal dumps go, from the running configuration: the state dumps of SIGUSR1
/// (one per process), the statistics of SIGUSR2 and the JSON of SIGRTMIN+2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DumpPaths {
    /// $TMPDIR if absolute, else /tmp (`set_tmp_dir()`).
    tmp: PathBuf,
    state: Option<String>,
    stats: Option<String>,
    json: Option<String>,
    /// What `data_use_instance` adds before a state dump's extension: `.NS_INSTANCE`,
    /// `.NS` or `.INSTANCE`; empty without it or without either name.
    instance: String,
}

impl DumpPaths {
    /// The paths `config` gives, under this process's $TMPDIR.
    pub(crate) fn new(config: &Config) -> DumpPaths {
        DumpPaths::under(&tmp_dir(std::env::var_os("TMPDIR")), config)
    }

    fn under(tmp: &Path, config: &Config) -> DumpPaths {
        let g = &config.global;
        let (ns, name) = (&config.root.net_namespace, &config.root.instance);
        let instance = match (g.data_use_instance, ns, name) {
            (false, _, _) | (true, None, None) => String::new(),
            (true, Some(ns), None) => format!(".{ns}"),
            (true, None, Some(name)) => format!(".{name}"),
            (true, Some(ns), Some(name)) => format!(".{ns}_{name}"),
        };
        DumpPaths {
            tmp: tmp.to_path_buf(),
            state: g.state_dump_file.clone(),
            stats: g.stats_dump_file.clone(),
            json: g.json_dump_file.clone(),
            instance,
        }
    }

    /// A process's state dump (SIGUSR1), as keepalived's `open_dump_file()` names it:
    /// `state_dump_file` is a template, a directory when it ends in `/` (the default
    /// name `keepalived.data` in it); `process` ([`VRRP_DATA`], [`CHECKER_DATA`]) and
    /// then the `data_use_instance` part go in before the template's extension, so
    /// `/var/run/ka/state.txt` gives the checker `/var/run/ka/state_check.ns1_lb.txt`.
    /// A relative template is under the dumps' directory whole; keepalived keeps only
    /// its last component there, which loses the directory the operator named.
    pub(crate) fn state(&self, process: &str) -> PathBuf {
        let (dir, name) = self.place(self.state.as_deref(), "keepalived.data");
        let (stem, ext) = name.rfind('.').map_or((name, ""), |i| name.split_at(i));
        dir.join(format!("{stem}{process}{}{ext}", self.instance))
    }

    /// The statistics dump (SIGUSR2): `stats_dump_file`, a directory when it ends in
    /// `/`, else `keepalived.stats`. keepalived 2.2.7 to 2.4.3 parse the keyword (those
    /// that know it) but always write `$TMPDIR/keepalived.stats` (`vrrp_print_stats()`);
    /// its man page says the keyword places the file, and that is what is done here.
    /// `data_use_instance` leaves the name alone, as in keepalived's code (its man page
    /// says otherwise).
    pub(crate) fn stats(&self) -> PathBuf {
        let (dir, name) = self.place(self.stats.as_deref(), "keepalived.stats");
        dir.join(name)
    }

    /// The JSON dump (SIGRTMIN+2): `json_dump_file` as `stats_dump_file` is taken, else
    /// `keepalived.json`; keepalived's `vrrp_print_json()` always writes
    /// `$TMPDIR/keepalived.json`.
    pub(crate) fn json(&self) -> PathBuf {
        let (dir, name) = self.place(self.json.as_deref(), "keepalived.json");
        dir.join(name)
    }

    /// The directory and file name `configured` gives, under the dumps' directory
    /// unless absolute; `default` is the name when nothing is configured or it ends in
    /// `/`.
    fn place<'a>(&self, configured: Option<&'a str>, default: &'a str) -> (PathBuf, &'a str) {
        let Some(path) = configured else {
            return (self.tmp.clone(), default);
        };
        let full = self.tmp.join(path);
        if path.ends_with('/') {
            return (full, default);
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        let dir = full
            .parent()
            .map_or_else(|| self.tmp.clone(), Path::to_path_buf);
        (dir, name)
    }
}

/// The dumps' directory: `tmpdir` ($TMPDIR) when it is an absolute path, else /tmp, as
/// keepalived's `set_tmp_dir()` chooses.
fn tmp_dir(tmpdir: Option<std::ffi::OsString>) -> PathBuf {
    tmpdir
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(KA_TMP_DIR))
}

/// A dump written to `path`; a failure is logged, as keepalived's "Can't open dump file".
pub(crate) fn dump_file(path: &Path, text: &str) {
    if let Err(e) = write_private(path, text) {
        error!(file = %path.display(), "Can't open dump file {}: {e}", path.display());
    }
}

/// A dump file created fresh, never through a symlink (the fixes for
/// CVE-2018-19044/19045/19046), read-write for all less the umask as keepalived's
/// `fopen_safe()` makes it: root's only under the default umask 0177.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_new(path, text, 0o666).map(|_| ())
}

fn write_new(path: &Path, text: &str, mode: u32) -> std::io::Result<std::fs::File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(f)
}

/// Our pid in `p`, created fresh as the dumps are, and rw-r--r-- whatever the umask
/// (`pidfile_write()`), so that anyone may read which process to signal.
pub fn write_pidfile(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let f = write_new(p, &format!("{}\n", std::process::id()), 0o644)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    /// The paths `root` (root-level lines) and `global` (global_defs lines) give, under
    /// /t: the VRRP and checker state dumps, the statistics and the JSON.
    fn paths(root: &str, global: &str) -> [String; 4] {
        let text = format!("{root}\nglobal_defs {{\n{global}\n}}\n");
        let loaded = parse_str(&text, &ParseOptions::default());
        let d = DumpPaths::under(Path::new("/t"), &loaded.config);
        [
            d.state(VRRP_DATA),
            d.state(CHECKER_DATA),
            d.stats(),
            d.json(),
        ]
        .map(|p| p.display().to_string())
    }

    #[test]
    fn defaults_are_keepalived_names_in_the_tmp_dir() {
        assert_eq!(
            paths("", ""),
            [
                "/t/keepalived.data",
                "/t/keepalived_check.data",
                "/t/keepalived.stats",
                "/t/keepalived.json"
            ]
        );
    }

    /// `open_dump_file()`: `.NS_INSTANCE` before the extension of the state dumps only.
    #[test]
    fn data_use_instance_names_the_state_dumps() {
        let both = paths("net_namespace ns1\ninstance lb", "data_use_instance");
        assert_eq!(both[0], "/t/keepalived.ns1_lb.data");
        assert_eq!(both[1], "/t/keepalived_check.ns1_lb.data");
        assert_eq!(both[2], "/t/keepalived.stats");
        assert_eq!(both[3], "/t/keepalived.json");
        assert_eq!(
            paths("instance lb", "data_use_instance")[1],
            "/t/keepalived_check.lb.data"
        );
        assert_eq!(
            paths("net_namespace ns1", "data_use_instance")[0],
            "/t/keepalived.ns1.data"
        );
        assert_eq!(paths("", "data_use_instance")[0], "/t/keepalived.data");
        assert_eq!(
            paths("instance lb", "data_use_instance false")[0],
            "/t/keepalived.data"
        );
        assert_eq!(paths("instance lb", "")[0], "/t/keepalived.data");
    }

    #[test]
    fn state_dump_file_is_a_template() {
        let abs = paths(
            "instance lb",
            "state_dump_file /var/ka/state.txt\ndata_use_instance",
        );
        assert_eq!(abs[0], "/var/ka/state.lb.txt");
        assert_eq!(abs[1], "/var/ka/state_check.lb.txt");
        let dir = paths("", "state_dump_file /var/ka/");
        assert_eq!(dir[0], "/var/ka/keepalived.data");
        assert_eq!(dir[1], "/var/ka/keepalived_check.data");
        assert_eq!(paths("", "state_dump_file dump")[1], "/t/dump_check");
        assert_eq!(paths("", "state_dump_file sub/s.d")[0], "/t/sub/s.d");
        assert_eq!(
            paths("", "state_file_location /v/x.data")[1],
            "/v/x_check.data"
        );
    }

    #[test]
    fn stats_and_json_files_are_placed_whole() {
        let p = paths(
            "instance lb",
            "stats_dump_file /v/s.out\njson_dump_file j.out\ndata_use_instance",
        );
        assert_eq!(p[2], "/v/s.out");
        assert_eq!(p[3], "/t/j.out");
        let d = paths("", "stats_dump_file /v/\njson_dump_file /w/");
        assert_eq!(d[2], "/v/keepalived.stats");
        assert_eq!(d[3], "/w/keepalived.json");
    }

    /// `set_tmp_dir()`: a relative $TMPDIR is not used.
    #[test]
    fn the_tmp_dir_is_an_absolute_tmpdir_or_tmp() {
        assert_eq!(tmp_dir(Some("/var/x".into())), PathBuf::from("/var/x"));
        assert_eq!(tmp_dir(Some("rel".into())), PathBuf::from("/tmp"));
        assert_eq!(tmp_dir(Some("".into())), PathBuf::from("/tmp"));
        assert_eq!(tmp_dir(None), PathBuf::from("/tmp"));
    }

    #[test]
    fn a_dump_replaces_a_symlink_rather_than_writing_through_it() {
        let dir = std::env::temp_dir().join(format!("kdf9-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.join("keepalived.data");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        dump_file(&link, "dump\n");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "dump\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
