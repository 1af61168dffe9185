//! Who a script runs as: the default script user from `global_defs` and a resolved
//! identity from the password and group databases.

use std::ffi::CString;

use keepalived_engine::config::model::{Command, GlobalDefs};

/// Who scripts run as when they name nobody (`set_default_script_user()`): global
/// `script_user [group]`, else `keepalived_script` if that user exists, else root;
/// whether `enable_script_security` has each run check its path again; and whether
/// `set_supplementary_groups` gives every script its user's supplementary groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptUser {
    pub user: Option<String>,
    pub group: Option<String>,
    pub secure: bool,
    pub supplementary_groups: bool,
}

impl ScriptUser {
    pub(crate) fn from_global(g: &GlobalDefs) -> ScriptUser {
        let user = g.script_user.clone().or_else(|| {
            Identity::of("keepalived_script", None)
                .is_some()
                .then(|| "keepalived_script".to_string())
        });
        ScriptUser {
            user,
            group: g.script_group.clone(),
            secure: g.enable_script_security,
            supplementary_groups: g.set_supplementary_groups,
        }
    }

    /// The identity a script runs as when it names `user` and `group` (keepalived 2.3's
    /// `set_uid_gid()`): the user's supplementary groups only with
    /// `set_supplementary_groups`, or a group written `:GROUP` (or `:` alone) which asks
    /// for them for this script; otherwise its group alone, as keepalived 2.2.7's
    /// `set_script_env()` clears the others. `None` if the user or group is unknown.
    pub(crate) fn identity(&self, user: &str, group: Option<&str>) -> Option<Identity> {
        let asked = group.is_some_and(|g| g.starts_with(':'));
        let mut id = Identity::of(user, group)?;
        if !(self.supplementary_groups || asked) {
            id.groups = vec![id.gid];
        }
        Some(id)
    }

    /// The user and group `cmd` runs as: its own, else this default (`None`: the
    /// daemon's own).
    pub(crate) fn for_command<'a>(
        &'a self,
        cmd: &'a Command,
    ) -> (Option<&'a str>, Option<&'a str>) {
        match &cmd.user {
            Some(u) => (Some(u.as_str()), cmd.group.as_deref()),
            None => (self.user.as_deref(), self.group.as_deref()),
        }
    }
}

/// A resolved user: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

impl Identity {
    pub fn root() -> Identity {
        Identity {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        }
    }

    /// The daemon's own effective identity.
    pub fn current() -> Identity {
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Identity {
            uid,
            gid,
            groups: Vec::new(),
        }
    }

    /// `user` and optionally `group` from the password and group databases, with every
    /// supplementary group of the user; `None` if either is unknown. A group written
    /// `:GROUP` is GROUP, and `:` alone none (keepalived's syntax for asking for the
    /// supplementary groups). The reentrant lookups: the configuration is vetted on a
    /// loader thread while the event loop may be starting a script.
    pub fn of(user: &str, group: Option<&str>) -> Option<Identity> {
        let group = group
            .map(|g| g.strip_prefix(':').unwrap_or(g))
            .filter(|g| !g.is_empty());
        let c = CString::new(user).ok()?;
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        // SAFETY: zeroed passwd is a valid out-parameter for getpwnam_r.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; the buffer's length is passed.
        let rc = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut found,
            )
        };
        if rc != 0 || found.is_null() {
            return None;
        }
        let (uid, mut gid) = (pwd.pw_uid, pwd.pw_gid);
        if let Some(g) = group {
            let cg = CString::new(g).ok()?;
            // SAFETY: as for getpwnam_r.
            let mut grp: libc::group = unsafe { std::mem::zeroed() };
            let mut found: *mut libc::group = std::ptr::null_mut();
            // SAFETY: as for getpwnam_r.
            let rc = unsafe {
                libc::getgrnam_r(
                    cg.as_ptr(),
                    &mut grp,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut found,
                )
            };
            if rc != 0 || found.is_null() {
                return None;
            }
            gid = grp.gr_gid;
        }
        // The user's own groups, from its primary group, whichever group it runs as.
        let mut groups = vec![0 as libc::gid_t; 64];
        let mut n = groups.len() as libc::c_int;
        // SAFETY: the buffer holds n entries; n is updated to the count found.
        if unsafe { libc::getgrouplist(c.as_ptr(), pwd.pw_gid, groups.as_mut_ptr(), &mut n) } < 0 {
            groups.resize(n.max(0) as usize, 0);
            // SAFETY: as above, with a buffer of the size the first call asked for.
            unsafe { libc::getgrouplist(c.as_ptr(), pwd.pw_gid, groups.as_mut_ptr(), &mut n) };
        }
        groups.truncate(n.max(0) as usize);
        Some(Identity { uid, gid, groups })
    }

    /// Whether it has root's powers.
    pub(crate) fn privileged(&self) -> bool {
        self.uid == 0 || self.gid == 0
    }
}
