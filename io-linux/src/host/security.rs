//! Script security: which scripts may run, and through which path, as keepalived's
//! `check_script_secure()` (`lib/notify.c`) decides it, without its gaps.
//!
//! A script that runs as root (or group root, or is set-uid/gid root) is safe only when
//! nobody but root can change what runs: every directory on the way to it, every symbolic
//! link followed on the way, and the file itself. keepalived checks the path as written
//! and, separately, the path `realpath()` gives. [`resolve`] walks the path itself,
//! component by component with `lstat`, following each link where it points, so it
//! checks both at once and also each link's own directory and owner: a link that a user
//! can replace, or one that leads through a directory a user can write, is unsafe
//! wherever it sits. An intermediate link that root owns in a safe directory is followed
//! (`/bin` → `usr/bin` on a merged-/usr system), as keepalived 2.2.7 does.
//!
//! The script then runs by the path the walk resolved, not by the path as written
//! (keepalived replaces `argv[0]` the same way, `replace_cmd_name()`), so a link swapped
//! after the check changes nothing; `use_symlink_paths` keeps the path as written, whose
//! links the walk has shown only root can change. With `enable_script_security` each
//! run checks the path again ([`crate::host::scripts`]), so a directory root makes
//! writable while the daemon runs does not let a user in either.
//!
//! Every script kind goes through [`disable_insecure`] when a configuration is loaded,
//! in each process, at start and on each reload; `-t` gives the same verdicts through
//! [`check_scripts`].

use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use keepalived_engine::config::model::{CheckerKind, Command, Config, VsAddress};
use keepalived_engine::config::{DiagClass, Diagnostic, Diagnostics, Severity};

use crate::host::process::Process;
use crate::host::script_user::{Identity, ScriptUser};

/// Links followed in one walk before it gives up, as the kernel's own limit (ELOOP).
const MAX_LINKS: usize = 40;

/// What lets someone other than root change one component of a script's path
/// (`check_security()`'s test, which keepalived applies to each component).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// Owned by this uid: its owner can change it, or (a directory) its entries.
    Owner(u32),
    /// Writable by this non-root group (a directory without the sticky bit, or a file).
    GroupWritable(u32),
    /// Writable by everyone (a directory without the sticky bit, or a file).
    WorldWritable,
    /// Writable by this non-root user through a POSIX ACL entry.
    AclUser(u32),
    /// Writable by this non-root group through a POSIX ACL entry.
    AclGroup(u32),
    /// Carries an access ACL that cannot be read, so who may write it is unknown.
    AclUnreadable,
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Weakness::Owner(uid) => write!(f, "is owned by uid {uid}, not root"),
            Weakness::GroupWritable(gid) => write!(f, "is writable by group {gid}"),
            Weakness::WorldWritable => write!(f, "is writable by everyone"),
            Weakness::AclUser(uid) => write!(f, "is writable by uid {uid} through its ACL"),
            Weakness::AclGroup(gid) => write!(f, "is writable by group {gid} through its ACL"),
            Weakness::AclUnreadable => write!(f, "has an ACL that cannot be read"),
        }
    }
}

/// The first component of a path that someone other than root can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeComponent {
    pub path: PathBuf,
    pub weakness: Weakness,
}

impl std::fmt::Display for UnsafeComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.path.display(), self.weakness)
    }
}

/// Why a script cannot be run at all, whatever the security setting (keepalived's
/// SC_NOTFOUND, a wrong file type, or not executable by its user).
#[derive(Debug, thiserror::Error)]
pub enum ScriptFault {
    #[error("empty command")]
    Empty,
    #[error("not found in PATH")]
    NotInPath,
    #[error("cannot be accessed: {}: {source}", path.display())]
    NotFound {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a directory or a regular file", .0.display())]
    WrongType(PathBuf),
    #[error("more than {MAX_LINKS} symbolic links")]
    Loop,
    #[error("is not executable for uid:gid {uid}:{gid}")]
    NotExecutable { uid: u32, gid: u32 },
    #[error("its user {0} does not exist")]
    UnknownUser(String),
}

/// Where a path leads, and the first component on the way that a user could change.
#[derive(Debug)]
pub struct Resolved {
    /// The path with every link followed and `.`/`..` taken out (`realpath()`).
    pub real: PathBuf,
    pub meta: Metadata,
    pub weakness: Option<UnsafeComponent>,
}

/// keepalived's per-component test (`check_security()`): any component not owned by
/// root, and a directory without the sticky bit or a regular file that a non-root
/// group or everyone can write. A link's own mode means nothing; its owner does.
/// keepalived reads only the mode; with a POSIX ACL the mode's group bits are the
/// ACL's mask, and a named entry can give a user write access that the mode does not
/// show, so the ACL is read too ([`acl_weakness`]).
fn weakness(path: &Path, meta: &Metadata) -> Option<Weakness> {
    if meta.uid() != 0 {
        return Some(Weakness::Owner(meta.uid()));
    }
    let ft = meta.file_type();
    let sticky_dir = ft.is_dir() && meta.mode() & libc::S_ISVTX != 0;
    if !(ft.is_file() || (ft.is_dir() && !sticky_dir)) {
        return None;
    }
    if meta.gid() != 0 && meta.mode() & 0o020 != 0 {
        return Some(Weakness::GroupWritable(meta.gid()));
    }
    if meta.mode() & 0o002 != 0 {
        return Some(Weakness::WorldWritable);
    }
    acl_weakness(path)
}

/// The POSIX access ACL's xattr (`acl_ea_header` and `acl_ea_entry` in the kernel's
/// `posix_acl_xattr.h`): a 4-byte version, then 8-byte entries of tag, permissions
/// and id, little-endian.
const ACL_XATTR: &std::ffi::CStr = c"system.posix_acl_access";
const ACL_USER: u16 = 0x02;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_WRITE: u16 = 0x02;

/// A named user or group other than root that `path`'s access ACL lets write (through
/// the mask); an ACL that exists but cannot be read counts as unsafe.
fn acl_weakness(path: &Path) -> Option<Weakness> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut buf = [0u8; 4096];
    // SAFETY: a NUL-terminated path, a NUL-terminated name and a buffer of that length.
    let n = unsafe {
        libc::lgetxattr(
            c.as_ptr(),
            ACL_XATTR.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let e = std::io::Error::last_os_error().raw_os_error();
        // No ACL, or a file system without ACLs: the mode says it all.
        return match e {
            Some(libc::ENODATA) | Some(libc::EOPNOTSUPP) => None,
            _ => Some(Weakness::AclUnreadable),
        };
    }
    let body = buf.get(4..n as usize)?;
    if body.len() % 8 != 0 {
        return Some(Weakness::AclUnreadable);
    }
    let entries: Vec<(u16, u16, u32)> = body
        .chunks_exact(8)
        .map(|e| {
            (
                u16::from_le_bytes([e[0], e[1]]),
                u16::from_le_bytes([e[2], e[3]]),
                u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
            )
        })
        .collect();
    let mask = entries
        .iter()
        .find(|(tag, ..)| *tag == ACL_MASK)
        .map_or(0o7, |(_, perm, _)| *perm);
    if mask & ACL_WRITE == 0 {
        return None;
    }
    entries.iter().find_map(|&(tag, perm, id)| {
        let writes = perm & ACL_WRITE != 0 && id != 0;
        match tag {
            ACL_USER if writes => Some(Weakness::AclUser(id)),
            ACL_GROUP if writes => Some(Weakness::AclGroup(id)),
            _ => None,
        }
    })
}

/// Walks `path` (absolute) from `/`, one component at a time with `lstat`, following
/// each symbolic link where it points; every directory passed, every link followed and
/// the file at the end are checked. The end must be a regular file.
pub fn resolve(path: &Path) -> Result<Resolved, ScriptFault> {
    let lstat = |p: &Path| {
        std::fs::symlink_metadata(p).map_err(|source| ScriptFault::NotFound {
            path: p.to_path_buf(),
            source,
        })
    };
    let mut first_weak: Option<UnsafeComponent> = None;
    let mut note = |p: &Path, meta: &Metadata| {
        if first_weak.is_none() {
            first_weak = weakness(p, meta).map(|weakness| UnsafeComponent {
                path: p.to_path_buf(),
                weakness,
            });
        }
    };
    let root = Path::new("/");
    let root_meta = lstat(root)?;
    note(root, &root_meta);
    // The components still to walk, nearest first.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut cur = PathBuf::from("/");
    let mut meta = root_meta;
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            cur.pop();
            meta = lstat(&cur)?;
            continue;
        }
        if !meta.is_dir() {
            return Err(ScriptFault::NotFound {
                path: cur,
                source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
            });
        }
        let next = cur.join(&name);
        let m = lstat(&next)?;
        note(&next, &m);
        if m.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(ScriptFault::Loop);
            }
            let target = std::fs::read_link(&next).map_err(|source| ScriptFault::NotFound {
                path: next.clone(),
                source,
            })?;
            if target.is_absolute() {
                cur = PathBuf::from("/");
                meta = lstat(&cur)?;
            }
            push_components(&mut pending, &target);
            continue;
        }
        let ft = m.file_type();
        if !(ft.is_dir() || ft.is_file()) || (ft.is_file() && !pending.is_empty()) {
            if ft.is_file() {
                return Err(ScriptFault::NotFound {
                    path: next,
                    source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
                });
            }
            return Err(ScriptFault::WrongType(next));
        }
        cur = next;
        meta = m;
    }
    if !meta.is_file() {
        return Err(ScriptFault::WrongType(cur));
    }
    Ok(Resolved {
        real: cur,
        meta,
        weakness: first_weak,
    })
}

/// Pushes the components of `p` so that the first is popped first (`.` and `/` dropped).
fn push_components(pending: &mut Vec<OsString>, p: &Path) {
    let names: Vec<OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    pending.extend(names.into_iter().rev());
}

/// A "script" that only tests whether a file opens (`<` then a path, for the shell to
/// redirect from): nothing is executed, so there is no path to vet (keepalived's
/// SC_SYSTEM in `check_script_secure()`).
pub(crate) fn is_file_test(argv0: &str) -> bool {
    argv0
        .strip_prefix('<')
        .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with('/'))
}

/// A bare command name found the way `execvp()` and keepalived's `find_path()` find it:
/// the first regular, executable file of that name in `PATH`'s absolute directories.
fn search_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0))
}

/// keepalived's `is_executable()`: root needs any execute bit, the owner the owner's,
/// the group the group's, others the others'.
fn executable_by(meta: &Metadata, id: &Identity) -> bool {
    let mode = meta.mode();
    if id.uid == 0 {
        return mode & 0o111 != 0;
    }
    if id.uid == meta.uid() {
        return mode & 0o100 != 0;
    }
    if id.gid == meta.gid() || id.groups.contains(&meta.gid()) {
        return mode & 0o010 != 0;
    }
    mode & 0o001 != 0
}

/// Whether running this file can give root's powers: run as uid or gid 0, or a set-uid
/// or set-gid root file (`need_script_protection` in `check_script_secure()`).
pub(crate) fn runs_privileged(meta: &Metadata, id: &Identity) -> bool {
    let mode = meta.mode();
    id.privileged()
        || (meta.uid() == 0 && mode & 0o4100 == 0o4100)
        || (meta.gid() == 0 && mode & 0o2010 == 0o2010)
}

/// A script that can run, and how.
#[derive(Debug)]
pub struct Vetted {
    /// The path to execute: where the walk ended, or the path as written with
    /// `use_symlink_paths`.
    pub exec: String,
    /// Whether it runs with root's powers, so that its path must be safe.
    pub privileged: bool,
    /// The first component a user could change, for a privileged script.
    pub weakness: Option<UnsafeComponent>,
}

/// How scripts are vetted: from global_defs and who the daemon is.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// `enable_script_security`: an unsafe privileged script is not run.
    pub enforce: bool,
    /// `use_symlink_paths`: run scripts by the path as written.
    pub keep_symlinks: bool,
    pub default_user: ScriptUser,
    /// Whether the daemon runs as root: a script that names no user runs as the daemon.
    pub running_as_root: bool,
}

impl Policy {
    pub(crate) fn from_config(cfg: &Config, running_as_root: bool) -> Policy {
        Policy {
            enforce: cfg.global.enable_script_security,
            keep_symlinks: cfg.global.use_symlink_paths,
            default_user: ScriptUser::from_global(&cfg.global),
            running_as_root,
        }
    }

    /// Who `cmd` runs as: its own user, else the default script user, else the daemon.
    fn identity(&self, cmd: &Command) -> Result<Identity, ScriptFault> {
        match self.default_user.for_command(cmd) {
            (Some(user), group) => Identity::of(user, group).ok_or_else(|| {
                ScriptFault::UnknownUser(match group {
                    Some(g) => format!("{user}:{g}"),
                    None => user.to_string(),
                })
            }),
            (None, _) if self.running_as_root => Ok(Identity::root()),
            (None, _) => Ok(Identity::current()),
        }
    }

    /// `check_script_secure()` for one command.
    pub(crate) fn vet(&self, cmd: &Command) -> Result<Vetted, ScriptFault> {
        let first = cmd.argv.first().ok_or(ScriptFault::Empty)?;
        if first.is_empty() {
            return Err(ScriptFault::Empty);
        }
        if is_file_test(first) {
            return Ok(Vetted {
                exec: first.clone(),
                privileged: false,
                weakness: None,
            });
        }
        let written = if first.contains('/') {
            let p = PathBuf::from(first);
            // keepalived's realpath() resolves a relative path against the working
            // directory, which is `/` for the daemon once detached: `/` here for every
            // process, so that `-t` run from anywhere, and the daemon with `-n`, judge
            // the same file.
            Path::new("/").join(p)
        } else {
            search_path(first).ok_or(ScriptFault::NotInPath)?
        };
        let id = self.identity(cmd)?;
        let r = resolve(&written)?;
        if !executable_by(&r.meta, &id) {
            return Err(ScriptFault::NotExecutable {
                uid: id.uid,
                gid: id.gid,
            });
        }
        let privileged = runs_privileged(&r.meta, &id);
        let exec = if self.keep_symlinks {
            written
        } else {
            same_name_path(&written, r.real)
        };
        Ok(Vetted {
            exec: exec.to_string_lossy().into_owned(),
            privileged,
            weakness: r.weakness.filter(|_| privileged),
        })
    }
}

/// The resolved path, but under the name the script was given when a link of that name
/// beside the real file leads to it safely, so that a program that acts on the name it
/// is called by (busybox) is called by the same name (`check_script_secure()` in 2.2.7).
fn same_name_path(written: &Path, real: PathBuf) -> PathBuf {
    let (Some(name), Some(dir)) = (written.file_name(), real.parent()) else {
        return real;
    };
    if real.file_name() == Some(name) {
        return real;
    }
    let candidate = dir.join(name);
    match resolve(&candidate) {
        Ok(r) if r.real == real && r.weakness.is_none() => candidate,
        _ => real,
    }
}

/// What disabling a script takes with it.
enum Kind<'a> {
    /// A `vrrp_script`, named: its tracking goes too.
    Track(&'a str),
    /// A MISC_CHECK: its checker goes too.
    Misc,
    /// Any other script: it goes alone.
    Notify,
}

/// The processes that run a script kind: the parent its start-up and shutdown scripts,
/// each child its own, and both children the `notify_fifo` script.
const PARENT: &[Process] = &[Process::Parent];
const VRRP: &[Process] = &[Process::Vrrp];
const CHECKER: &[Process] = &[Process::Checker];
const CHILDREN: &[Process] = &[Process::Vrrp, Process::Checker];

/// Calls `f(owner, kind, runs_in, command)` for every script `cfg` can run, with the
/// processes that run it: one place for every script kind (see the module docs), so `-t`
/// and the loader cannot disagree on which exist. A MISC_CHECK's `user`/`group` are
/// written into its command first (they are who it runs as), and a MISC_CHECK whose
/// command `f` cleared is removed.
fn each_script(
    cfg: &mut Config,
    mut f: impl FnMut(&str, Kind<'_>, &[Process], &mut Option<Command>),
) {
    let g = &mut cfg.global;
    f(
        "global_defs startup_script",
        Kind::Notify,
        PARENT,
        &mut g.startup_script,
    );
    f(
        "global_defs shutdown_script",
        Kind::Notify,
        PARENT,
        &mut g.shutdown_script,
    );
    let fifos = [
        (
            "global_defs notify_fifo_script",
            CHILDREN,
            &mut g.notify_fifo,
        ),
        (
            "global_defs vrrp_notify_fifo_script",
            VRRP,
            &mut g.vrrp_notify_fifo,
        ),
        (
            "global_defs lvs_notify_fifo_script",
            CHECKER,
            &mut g.lvs_notify_fifo,
        ),
    ];
    for (owner, runs_in, fifo) in fifos {
        if let Some(fifo) = fifo {
            f(owner, Kind::Notify, runs_in, &mut fifo.script);
        }
    }
    for s in &mut cfg.vrrp_scripts {
        let owner = format!("vrrp_script {}", s.name);
        f(&owner, Kind::Track(&s.name), VRRP, &mut s.script);
    }
    // The VRRP notify scripts are boxed in the configuration: `f` sees each unboxed.
    let mut notify = |owner: &str, slot: &mut Option<Box<Command>>| {
        let mut command = slot.take().map(|c| *c);
        f(owner, Kind::Notify, VRRP, &mut command);
        *slot = command.map(Box::new);
    };
    for i in &mut cfg.instances {
        let owner = format!("vrrp_instance {}", i.name);
        for slot in i.notifies.slots_mut() {
            notify(&owner, slot);
        }
        notify(&owner, &mut i.notify_master_rx_lower_pri);
        if let Some(slot) = &mut i.notify_deleted {
            notify(&owner, slot);
        }
    }
    for g in &mut cfg.sync_groups {
        let owner = format!("vrrp_sync_group {}", g.name);
        for slot in g.notifies.slots_mut() {
            notify(&owner, slot);
        }
    }
    for vs in &mut cfg.virtual_servers {
        let owner = match &vs.address {
            VsAddress::Ip { address, port } => format!("virtual_server {address} {port}"),
            VsAddress::Fwmark { mark } => format!("virtual_server fwmark {mark}"),
            VsAddress::Group { name } => format!("virtual_server group {name}"),
        };
        f(&owner, Kind::Notify, CHECKER, &mut vs.quorum_up);
        f(&owner, Kind::Notify, CHECKER, &mut vs.quorum_down);
        for rs in &mut vs.real_servers {
            let owner = format!("{owner} real_server {}", rs.address);
            for slot in [&mut rs.notify_up, &mut rs.notify_down] {
                let mut cmd = slot.take().map(|b| *b);
                f(&owner, Kind::Notify, CHECKER, &mut cmd);
                *slot = cmd.map(Box::new);
            }
            let owner = format!("{owner} MISC_CHECK");
            rs.checkers.retain_mut(|ck| {
                let CheckerKind::MiscCheck(m) = &mut ck.kind else {
                    return true;
                };
                if let (Some(c), Some(u)) = (&mut m.misc_path, &m.user) {
                    c.user = Some(u.clone());
                    c.group = m.group.clone();
                }
                if m.misc_path.is_none() {
                    return true;
                }
                f(&owner, Kind::Misc, CHECKER, &mut m.misc_path);
                m.misc_path.is_some()
            });
        }
    }
}

/// The verdict on one script under `policy`.
enum Verdict {
    /// Runs; argv[0] becomes `exec`. `warn` is set for an unsafe privileged script
    /// that runs because `enable_script_security` is off.
    Run {
        exec: String,
        warn: Option<UnsafeComponent>,
    },
    /// Does not run.
    Disabled(String),
}

fn verdict(policy: &Policy, cmd: &Command) -> Verdict {
    match policy.vet(cmd) {
        Err(fault) => Verdict::Disabled(fault.to_string()),
        Ok(v) => match v.weakness {
            Some(w) if policy.enforce => Verdict::Disabled(format!("unsafe: {w}")),
            warn => Verdict::Run { exec: v.exec, warn },
        },
    }
}

/// What `process` does with the scripts it runs before it runs them, at start and on
/// each reload (`check_start_stop_script_secure()` in the parent,
/// `check_vrrp_script_security()` in the VRRP child, `check_check_script_security()` in
/// the checker): a script that cannot be run, or that is unsafe under
/// `enable_script_security`, is disabled (a track script with its tracking, a
/// MISC_CHECK with its checker); every other one is set to run by its vetted path.
/// Scripts other processes run are left as they are. Returns one message per script
/// disabled or run although unsafe, and keepalived's "SECURITY VIOLATION" line when
/// scripts run without `enable_script_security`.
pub fn disable_insecure(cfg: &mut Config, running_as_root: bool, process: Process) -> Vec<String> {
    let policy = Policy::from_config(cfg, running_as_root);
    let mut msgs = Vec::new();
    let mut dropped_tracks = Vec::new();
    let mut ran = false;
    let mut unsafe_ran = false;
    each_script(cfg, |owner, kind, runs_in, slot| {
        if !runs_in.contains(&process) {
            return;
        }
        let Some(cmd) = slot.as_mut() else { return };
        let shown = cmd.argv.join(" ");
        match verdict(&policy, cmd) {
            Verdict::Disabled(why) => {
                msgs.push(format!("{owner}: disabling script '{shown}': {why}"));
                if let Kind::Track(name) = kind {
                    dropped_tracks.push(name.to_string());
                }
                *slot = None;
            }
            Verdict::Run { exec, warn } => {
                ran = true;
                if let Some(w) = warn {
                    unsafe_ran = true;
                    msgs.push(format!(
                        "{owner}: Unsafe permissions found for script '{shown}': {w}"
                    ));
                }
                cmd.argv[0] = exec;
            }
        }
    });
    cfg.vrrp_scripts
        .retain(|s| !dropped_tracks.contains(&s.name));
    for i in &mut cfg.instances {
        i.trackers
            .scripts
            .retain(|r| !dropped_tracks.contains(&r.name));
    }
    for g in &mut cfg.sync_groups {
        g.trackers
            .scripts
            .retain(|r| !dropped_tracks.contains(&r.name));
    }
    if ran && !policy.enforce {
        msgs.push(violation(unsafe_ran));
    }
    msgs
}

/// keepalived's line for scripts that run without `enable_script_security`.
fn violation(unsafe_ran: bool) -> String {
    format!(
        "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{}",
        if unsafe_ran {
            " There are insecure scripts."
        } else {
            ""
        }
    )
}

fn push(d: &mut Diagnostics, severity: Severity, class: DiagClass, message: String) {
    d.push(Diagnostic {
        severity,
        class,
        location: None,
        message,
        source_line: None,
    });
}

/// `-t`'s verdict on the scripts, the same as the daemon's ([`disable_insecure`]): a
/// script that cannot run is a warning (the daemon disables it); an unsafe privileged
/// script is a security error (exit 6) under `enable_script_security`, and without it,
/// any script at all is, as keepalived 2.2.7 reports "SECURITY VIOLATION" there.
pub fn check_scripts(cfg: &Config, running_as_root: bool, d: &mut Diagnostics) {
    let mut cfg = cfg.clone();
    let policy = Policy::from_config(&cfg, running_as_root);
    let mut ran = false;
    let mut unsafe_ran = false;
    each_script(&mut cfg, |owner, _, _, slot| {
        let Some(cmd) = slot.as_ref() else { return };
        let shown = cmd.argv.join(" ");
        match policy.vet(cmd) {
            Err(fault) => push(
                d,
                Severity::Warning,
                DiagClass::Note,
                format!("{owner}: script '{shown}' {fault} - disabling the script"),
            ),
            Ok(v) => {
                ran = true;
                if let Some(w) = v.weakness {
                    unsafe_ran = true;
                    let (severity, class, tail) = if policy.enforce {
                        (
                            Severity::Error,
                            DiagClass::Security,
                            " - disabling the script",
                        )
                    } else {
                        (Severity::Warning, DiagClass::Note, "")
                    };
                    push(
                        d,
                        severity,
                        class,
                        format!(
                            "{owner}: unsafe permissions found for script '{shown}': {w}{tail}"
                        ),
                    );
                }
            }
        }
    });
    if ran && !policy.enforce {
        push(
            d,
            Severity::Error,
            DiagClass::Security,
            violation(unsafe_ran),
        );
    }
}

/// Whether scripts would run as root: keepalived's security checks apply only then.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a file the daemon writes as root at `meta` (opened without following a
/// link) is safe to write: a regular file with one link, owned by us. In a directory
/// others can write, anything else may have been planted: a link to a file of root's,
/// a FIFO, or a file of the user's own that they read.
pub(crate) fn own_regular_file(meta: &Metadata) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    let ft = meta.file_type();
    if !ft.is_file() || ft.is_fifo() {
        return Err("is not a regular file".into());
    }
    if meta.uid() != me {
        return Err(format!("is owned by uid {}, not by us", meta.uid()));
    }
    if meta.nlink() != 1 {
        return Err(format!("has {} hard links", meta.nlink()));
    }
    Ok(())
}

/// A file the daemon writes (a log): opened without following a link, and refused
/// unless it is a regular file of ours with one link ([`own_regular_file`]). `truncate`
/// empties it once it is known to be ours.
pub fn open_own_file(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    own_regular_file(&meta).map_err(|why| {
        std::io::Error::other(format!("{} {why}: not writing to it", path.display()))
    })?;
    if truncate {
        file.set_len(0)?;
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{chown, symlink, PermissionsExt};

    use keepalived_engine::config::{parse_str, ParseOptions};

    use super::*;

    /// A directory tree owned by root under /tmp (root-owned and sticky, so safe), or
    /// `None` when the test cannot make one: ownership by root is what "safe" means, so
    /// only a root test run can build safe files.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Option<Tree> {
            if !running_as_root() {
                eprintln!("skipping: script security needs root-owned files (not root)");
                return None;
            }
            let d = std::env::temp_dir().join(format!("kars-sec-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
            Some(Tree(d))
        }

        fn dir(&self, rel: &str, mode: u32, owner: u32) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            chown(&p, Some(owner), Some(owner)).unwrap();
            p
        }

        fn script(&self, rel: &str, mode: u32, owner: u32) -> PathBuf {
            let p = self.0.join(rel);
            std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            chown(&p, Some(owner), Some(owner)).unwrap();
            p
        }

        fn link(&self, rel: &str, target: &Path, owner: u32) -> PathBuf {
            let p = self.0.join(rel);
            symlink(target, &p).unwrap();
            std::os::unix::fs::lchown(&p, Some(owner), Some(owner)).unwrap();
            p
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn nobody() -> u32 {
        Identity::of("nobody", None).map_or(65534, |i| i.uid)
    }

    fn policy(enforce: bool, keep_symlinks: bool) -> Policy {
        Policy {
            enforce,
            keep_symlinks,
            default_user: ScriptUser::default(),
            running_as_root: true,
        }
    }

    fn cmd(p: &Path) -> Command {
        Command {
            argv: vec![p.display().to_string(), "arg".into()],
            user: None,
            group: None,
        }
    }

    #[test]
    fn a_link_into_a_directory_a_user_owns_is_unsafe_by_either_name() {
        let Some(t) = Tree::new("into") else { return };
        t.dir("user", 0o755, nobody());
        t.dir("user/scripts", 0o755, 0);
        let real = t.script("user/scripts/notify.sh", 0o755, 0);
        t.dir("etc", 0o755, 0);
        let link = t.link("etc/notify.sh", &real, 0);
        for named in [&link, &real] {
            let v = policy(true, false).vet(&cmd(named)).unwrap();
            let w = v.weakness.expect("unsafe");
            assert_eq!(w.path, t.0.join("user"), "{named:?}");
            assert_eq!(w.weakness, Weakness::Owner(nobody()));
            assert_eq!(v.exec, real.display().to_string());
        }
    }

    #[test]
    fn a_link_a_user_owns_is_unsafe_even_to_a_safe_file() {
        let Some(t) = Tree::new("owned-link") else {
            return;
        };
        t.dir("sticky", 0o1777, 0);
        let real = t.script("safe.sh", 0o755, 0);
        let link = t.link("sticky/notify.sh", &real, nobody());
        let w = policy(true, false).vet(&cmd(&link)).unwrap().weakness;
        assert_eq!(
            w,
            Some(UnsafeComponent {
                path: link,
                weakness: Weakness::Owner(nobody())
            })
        );
    }

    #[test]
    fn root_links_in_safe_directories_are_followed_and_the_real_path_is_run() {
        let Some(t) = Tree::new("root-links") else {
            return;
        };
        t.dir("usr/bin", 0o755, 0);
        let real = t.script("usr/bin/notify.sh", 0o755, 0);
        // `bin` -> `usr/bin`, relative, as on a merged-/usr system.
        t.link("bin", Path::new("usr/bin"), 0);
        let written = t.0.join("bin/../bin/./notify.sh");
        let v = policy(true, false).vet(&cmd(&written)).unwrap();
        assert_eq!(v.weakness, None);
        assert!(v.privileged);
        assert_eq!(v.exec, real.display().to_string());
        // use_symlink_paths runs it by the name it was given.
        let v = policy(true, true).vet(&cmd(&written)).unwrap();
        assert_eq!(v.exec, written.display().to_string());
    }

    #[test]
    fn a_writable_directory_or_file_is_unsafe_unless_sticky_or_root_group() {
        let Some(t) = Tree::new("modes") else { return };
        t.dir("world", 0o777, 0);
        let s = t.script("world/a.sh", 0o755, 0);
        assert_eq!(
            policy(true, false)
                .vet(&cmd(&s))
                .unwrap()
                .weakness
                .unwrap()
                .weakness,
            Weakness::WorldWritable
        );
        t.dir("rootgroup", 0o775, 0);
        let s = t.script("rootgroup/a.sh", 0o775, 0);
        assert_eq!(policy(true, false).vet(&cmd(&s)).unwrap().weakness, None);
        t.dir("sticky", 0o1777, 0);
        let s = t.script("sticky/a.sh", 0o755, 0);
        assert_eq!(policy(true, false).vet(&cmd(&s)).unwrap().weakness, None);
        let s = t.script("sticky/b.sh", 0o757, 0);
        assert_eq!(
            policy(true, false)
                .vet(&cmd(&s))
                .unwrap()
                .weakness
                .unwrap()
                .path,
            s
        );
    }

    /// Sets an access ACL on `p` that gives uid `user` read, write and execute.
    fn grant_write_by_acl(p: &Path, user: u32) {
        let mut acl = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in [
            (0x01u16, 7u16, u32::MAX),
            (ACL_USER, 7, user),
            (0x04, 5, u32::MAX),
            (ACL_MASK, 7, u32::MAX),
            (0x20, 5, u32::MAX),
        ] {
            acl.extend(tag.to_le_bytes());
            acl.extend(perm.to_le_bytes());
            acl.extend(id.to_le_bytes());
        }
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: NUL-terminated path and name, a buffer of the length given.
        let r = unsafe {
            libc::setxattr(
                c.as_ptr(),
                ACL_XATTR.as_ptr(),
                acl.as_ptr().cast(),
                acl.len(),
                0,
            )
        };
        assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    }

    /// An ACL entry can give a user write access that the mode does not show: the mode
    /// of this file reads `rwxrwxr-x`, root's group, which keepalived takes as safe.
    #[test]
    fn write_access_through_an_acl_is_unsafe() {
        let Some(t) = Tree::new("acl") else { return };
        let file = t.script("a.sh", 0o755, 0);
        grant_write_by_acl(&file, nobody());
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(
            meta.mode() & 0o777,
            0o775,
            "the mask shows as the group bits"
        );
        let v = policy(true, false).vet(&cmd(&file)).unwrap();
        assert_eq!(
            v.weakness,
            Some(UnsafeComponent {
                path: file.clone(),
                weakness: Weakness::AclUser(nobody())
            })
        );
        let dir = t.dir("d", 0o755, 0);
        grant_write_by_acl(&dir, nobody());
        let s = t.script("d/b.sh", 0o755, 0);
        let w = policy(true, false).vet(&cmd(&s)).unwrap().weakness.unwrap();
        assert_eq!((w.path, w.weakness), (dir, Weakness::AclUser(nobody())));
    }

    #[test]
    fn scripts_that_cannot_run_are_faults() {
        let Some(t) = Tree::new("faults") else { return };
        let plain = t.script("plain", 0o644, 0);
        assert!(matches!(
            policy(false, false).vet(&cmd(&plain)),
            Err(ScriptFault::NotExecutable { .. })
        ));
        assert!(matches!(
            policy(false, false).vet(&cmd(&t.0.join("missing"))),
            Err(ScriptFault::NotFound { .. })
        ));
        assert!(matches!(
            policy(false, false).vet(&cmd(&plain.join("under-a-file"))),
            Err(ScriptFault::NotFound { .. })
        ));
        let a = t.0.join("a");
        symlink(t.0.join("b"), &a).unwrap();
        symlink(&a, t.0.join("b")).unwrap();
        assert!(matches!(
            policy(false, false).vet(&cmd(&a)),
            Err(ScriptFault::Loop)
        ));
        assert!(matches!(
            policy(false, false).vet(&cmd(&t.0)),
            Err(ScriptFault::WrongType(_))
        ));
    }

    #[test]
    fn a_file_test_is_not_a_path() {
        assert!(is_file_test("</dev/tcp/127.0.0.1/80"));
        assert!(is_file_test("< \t/etc/passwd"));
        assert!(!is_file_test("<x"));
        let c = Command {
            argv: vec!["</dev/tcp/127.0.0.1/80".into()],
            user: None,
            group: None,
        };
        assert_eq!(policy(true, false).vet(&c).unwrap().exec, c.argv[0]);
    }

    #[test]
    fn a_script_run_as_a_user_needs_no_protection() {
        let Some(t) = Tree::new("unpriv") else { return };
        t.dir("user", 0o777, nobody());
        let s = t.script("user/a.sh", 0o755, nobody());
        let mut c = cmd(&s);
        c.user = Some("nobody".into());
        let v = policy(true, false).vet(&c).unwrap();
        assert!(!v.privileged);
        assert_eq!(v.weakness, None);
    }

    #[test]
    fn a_link_beside_the_real_file_keeps_the_name_it_was_called_by() {
        let Some(t) = Tree::new("name") else { return };
        t.dir("bin", 0o755, 0);
        let real = t.script("bin/busybox", 0o755, 0);
        let beside = t.link("bin/ping-it", Path::new("busybox"), 0);
        t.dir("etc", 0o755, 0);
        let called = t.link("etc/ping-it", &beside, 0);
        let v = policy(true, false).vet(&cmd(&called)).unwrap();
        assert_eq!(v.exec, beside.display().to_string());
        // Without a link of that name beside it, the real path is run.
        let other = t.link("etc/other", &real, 0);
        let v = policy(true, false).vet(&cmd(&other)).unwrap();
        assert_eq!(v.exec, real.display().to_string());
    }

    /// One configuration naming `script` in every place a script can be named.
    fn every_kind(script: &Path, security: bool) -> Config {
        let s = script.display();
        let text = format!(
            "global_defs {{\n {sec}\n script_user root\n startup_script {s}\n shutdown_script {s}\n \
             notify_fifo /tmp/kars-f1\n notify_fifo_script {s}\n vrrp_notify_fifo /tmp/kars-f2\n \
             vrrp_notify_fifo_script {s}\n lvs_notify_fifo /tmp/kars-f3\n lvs_notify_fifo_script {s}\n}}\n\
             vrrp_script chk {{\n script {s}\n}}\n\
             vrrp_sync_group G {{\n group {{\n VI_1\n }}\n notify_master {s}\n notify {s}\n}}\n\
             vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n priority 100\n \
             virtual_ipaddress {{\n 10.0.0.1/24\n }}\n track_script {{\n chk\n }}\n \
             notify_master {s}\n notify_backup {s}\n notify_fault {s}\n notify_stop {s}\n notify {s}\n \
             notify_master_rx_lower_pri {s}\n notify_deleted {s}\n}}\n\
             virtual_server 10.0.0.1 80 {{\n quorum_up {s}\n quorum_down {s}\n \
             real_server 10.0.0.2 80 {{\n notify_up {s}\n notify_down {s}\n \
             MISC_CHECK {{\n misc_path {s}\n }}\n TCP_CHECK {{\n }}\n }}\n}}\n",
            sec = if security { "enable_script_security" } else { "" },
        );
        let loaded = parse_str(&text, &ParseOptions::default());
        assert!(
            !loaded.diagnostics.has_errors(),
            "{:#?}",
            loaded.diagnostics
        );
        loaded.config
    }

    /// What the parent and both children say when each loads `cfg`, in turn.
    fn in_every_process(cfg: &mut Config) -> Vec<String> {
        [Process::Parent, Process::Vrrp, Process::Checker]
            .into_iter()
            .flat_map(|p| disable_insecure(cfg, true, p))
            .collect()
    }

    #[test]
    fn each_process_vets_only_the_scripts_it_runs() {
        let Some(t) = Tree::new("roles") else { return };
        t.dir("user", 0o755, nobody());
        let s = t.script("user/a.sh", 0o755, 0);
        let mut cfg = every_kind(&s, true);
        let msgs = disable_insecure(&mut cfg, true, Process::Parent);
        assert_eq!(msgs.len(), 2, "start-up and shutdown: {msgs:#?}");
        let msgs = disable_insecure(&mut cfg, true, Process::Checker);
        assert_eq!(msgs.len(), 7, "{msgs:#?}");
        assert_eq!(scripts_left(&cfg), 11, "the VRRP child's are left");
        assert!(cfg
            .global
            .vrrp_notify_fifo
            .as_ref()
            .unwrap()
            .script
            .is_some());
    }

    /// How many scripts `cfg` still runs, by [`each_script`].
    fn scripts_left(cfg: &Config) -> usize {
        let mut n = 0;
        each_script(&mut cfg.clone(), |_, _, _, c| n += usize::from(c.is_some()));
        n
    }

    #[test]
    fn every_script_kind_is_disabled_when_unsafe() {
        let Some(t) = Tree::new("kinds") else { return };
        t.dir("user", 0o755, nobody());
        let s = t.script("user/a.sh", 0o755, 0);
        let mut cfg = every_kind(&s, true);
        assert_eq!(scripts_left(&cfg), 20, "every kind is counted");
        let msgs = in_every_process(&mut cfg);
        assert_eq!(scripts_left(&cfg), 0, "{msgs:#?}");
        assert_eq!(msgs.len(), 20, "one line per script: {msgs:#?}");
        assert!(msgs[0].contains(&format!("{} is owned by uid", t.0.join("user").display())));
        assert!(cfg.vrrp_scripts.is_empty());
        assert!(cfg.instances[0].trackers.scripts.is_empty());
        let rs = &cfg.virtual_servers[0].real_servers[0];
        assert_eq!(
            rs.checkers.len(),
            1,
            "the MISC_CHECK goes, the TCP_CHECK stays"
        );
        // -t says the same: one security error per script.
        let mut d = Diagnostics::default();
        check_scripts(&every_kind(&s, true), true, &mut d);
        assert_eq!(d.exit_code(), 6);
        assert_eq!(
            d.iter().filter(|d| d.class == DiagClass::Security).count(),
            20
        );
    }

    #[test]
    fn without_script_security_scripts_run_and_t_reports_the_violation() {
        let Some(t) = Tree::new("violation") else {
            return;
        };
        t.dir("user", 0o755, nobody());
        let unsafe_script = t.script("user/a.sh", 0o755, 0);
        let safe = t.script("b.sh", 0o755, 0);
        let mut cfg = every_kind(&unsafe_script, false);
        let msgs = in_every_process(&mut cfg);
        assert_eq!(scripts_left(&cfg), 20, "nothing disabled: {msgs:#?}");
        let violations = msgs.iter().filter(|m| {
            *m == "SECURITY VIOLATION - scripts are being executed but script_security not \
                   enabled. There are insecure scripts."
        });
        assert_eq!(violations.count(), 3, "one from each process: {msgs:#?}");
        for (script, code) in [(&unsafe_script, 6), (&safe, 6)] {
            let mut d = Diagnostics::default();
            check_scripts(&every_kind(script, false), true, &mut d);
            assert_eq!(d.exit_code(), code, "{d:#?}");
        }
        let mut d = Diagnostics::default();
        check_scripts(&every_kind(&safe, true), true, &mut d);
        assert_eq!(d.exit_code(), 0, "{d:#?}");
    }

    #[test]
    fn own_files_only() {
        let Some(t) = Tree::new("own") else { return };
        let dir = t.dir("logs", 0o1777, 0);
        let fine = dir.join("fine.log");
        assert!(open_own_file(&fine, false).is_ok());
        let theirs = dir.join("theirs.log");
        std::fs::write(&theirs, "").unwrap();
        chown(&theirs, Some(nobody()), None).unwrap();
        assert!(open_own_file(&theirs, false).is_err());
        let shadow = t.script("shadow", 0o600, 0);
        let hard = dir.join("hard.log");
        std::fs::hard_link(&shadow, &hard).unwrap();
        assert!(open_own_file(&hard, true).is_err());
        assert_eq!(
            std::fs::read_to_string(&shadow).unwrap(),
            "#!/bin/sh\nexit 0\n"
        );
        let soft = t.link("logs/soft.log", &shadow, nobody());
        assert!(open_own_file(&soft, false).is_err());
        let fifo = dir.join("fifo.log");
        let c = std::ffi::CString::new(fifo.display().to_string()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
        assert!(open_own_file(&fifo, false).is_err());
    }
}
