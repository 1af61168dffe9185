//! iproute2's name files, read as keepalived 2.2.7's `lib/rttables.c` reads them: a
//! number (decimal, `0x` hex or `0` octal, as `strtoul(…, 0)`) is taken as it is; a name
//! is looked up in `rt_tables`, `rt_protos`, `rt_realms`, `rt_dsfield`, `rt_scopes` or
//! `group` of the iproute2 directory, then in the built-in defaults of `main`, `kernel`,
//! `link`… that the file does not give another name to.
//!
//! keepalived 2.2.7 reads `/etc/iproute2/FILE` and nothing else (no `rt_tables.d`). The
//! global_defs `iproute_etc_dir` (a later keepalived's keyword) replaces `/etc/iproute2`,
//! and `iproute_usr_dir`, when set, is read when the file is missing from the first.
//! Files are read through the [`ConfigFs`](crate::config::source::ConfigFs), only when a
//! name is looked up, as `find_entry()` reads a list only the first time a name needs it.

use std::path::Path;

use crate::config::model::{Config, Rule};
use crate::config::source::ConfigFs;

/// Where the files are: global_defs `iproute_etc_dir` and `iproute_usr_dir`.
#[derive(Debug, Clone, Default)]
pub struct IprouteDirs {
    pub etc: Option<String>,
    pub usr: Option<String>,
}

impl IprouteDirs {
    pub fn of(cfg: &Config) -> IprouteDirs {
        IprouteDirs {
            etc: cfg.global.iproute_etc_dir.clone(),
            usr: cfg.global.iproute_usr_dir.clone(),
        }
    }
}

/// What a route or rule line needs from the config read before it: the name files'
/// directories, and how many rule priorities `alloc_rule()` has given per family.
#[derive(Debug, Clone, Default)]
pub struct RoutingCtx {
    pub dirs: IprouteDirs,
    pub given: [u32; 2],
    /// A static_routes/static_rules line, which may name a `track_group` (the
    /// `allow_track_group` of `alloc_route()`/`alloc_rule()`).
    pub statics: bool,
}

impl RoutingCtx {
    pub fn of(cfg: &Config) -> RoutingCtx {
        RoutingCtx {
            dirs: IprouteDirs::of(cfg),
            given: super::rule::given_priorities(
                cfg.static_rules
                    .iter()
                    .chain(cfg.instances.iter().flat_map(|vi| &vi.virtual_rules)),
            ),
            statics: false,
        }
    }

    /// The same, for a static_routes/static_rules line.
    pub fn statics(self) -> RoutingCtx {
        RoutingCtx {
            statics: true,
            ..self
        }
    }

    /// The priorities given so far, with those of `more` (read since).
    pub fn given_with(&self, more: &[Rule]) -> [u32; 2] {
        let m = super::rule::given_priorities(more);
        [self.given[0] + m[0], self.given[1] + m[1]]
    }
}

/// A name file with its largest id and the names known without it.
#[derive(Clone, Copy)]
pub struct NameFile {
    file: &'static str,
    max: u32,
    defaults: &'static [(u32, &'static str)],
}

/// `rt_tables`, with `rttable_default`.
pub const TABLES: NameFile = NameFile {
    file: "rt_tables",
    max: u32::MAX,
    defaults: &[(253, "default"), (254, "main"), (255, "local")],
};
/// `rt_protos`, with `rtprot_default` (no `keepalived`: 2.2.7 knows 18 by number unless
/// the file names it).
pub const PROTOS: NameFile = NameFile {
    file: "rt_protos",
    max: 255,
    defaults: &[
        (0, "none"),
        (1, "redirect"),
        (2, "kernel"),
        (3, "boot"),
        (4, "static"),
        (8, "gated"),
        (9, "ra"),
        (10, "mrt"),
        (11, "zebra"),
        (12, "bird"),
        (42, "babel"),
        (13, "dnrouted"),
        (14, "xorp"),
        (15, "ntk"),
        (16, "dhcp"),
    ],
};
/// `rt_scopes`, with `rtscope_default`.
pub const SCOPES: NameFile = NameFile {
    file: "rt_scopes",
    max: 255,
    defaults: &[
        (0, "global"),
        (255, "nowhere"),
        (254, "host"),
        (253, "link"),
        (200, "site"),
    ],
};
/// `rt_realms`.
pub const REALMS: NameFile = NameFile {
    file: "rt_realms",
    max: 255,
    defaults: &[],
};
/// `rt_dsfield`.
pub const DSFIELD: NameFile = NameFile {
    file: "rt_dsfield",
    max: 255,
    defaults: &[],
};
/// `group` (interface groups, for `suppress_ifgroup`).
pub const GROUPS: NameFile = NameFile {
    file: "group",
    max: i32::MAX as u32,
    defaults: &[],
};

/// `strtoul(s, &end, 0)` over the whole string, without a sign.
pub fn strtoul0(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `find_entry()`: `name` as a number up to the file's maximum, else its id in the file
/// (the first line that names it), else in the defaults.
pub fn find(fs: &dyn ConfigFs, dirs: &IprouteDirs, f: NameFile, name: &str) -> Option<u32> {
    if let Some(n) = strtoul0(name) {
        return u32::try_from(n).ok().filter(|&n| n <= f.max);
    }
    let entries = read(fs, dirs, f);
    entries
        .iter()
        .find(|(_, n)| n == name)
        .map(|(id, _)| *id)
        .or_else(|| {
            f.defaults
                .iter()
                .find(|(id, n)| *n == name && !entries.iter().any(|(i, _)| i == id))
                .map(|(id, _)| *id)
        })
}

/// `get_realms()`: `REALM` or `FROM/TO`, FROM in the upper 16 bits.
pub fn realms(fs: &dyn ConfigFs, dirs: &IprouteDirs, s: &str) -> Option<u32> {
    match s.split_once('/') {
        Some((a, b)) => Some(find(fs, dirs, REALMS, a)? << 16 | find(fs, dirs, REALMS, b)?),
        None => find(fs, dirs, REALMS, s),
    }
}

/// `read_file()`: lines of exactly two words, `ID NAME`, ID at most the maximum; `#` and
/// `!` start a comment.
fn read(fs: &dyn ConfigFs, dirs: &IprouteDirs, f: NameFile) -> Vec<(u32, String)> {
    let etc = dirs.etc.as_deref().unwrap_or("/etc/iproute2");
    let text = fs
        .read_to_string(&Path::new(etc).join(f.file))
        .or_else(|e| match dirs.usr.as_deref() {
            Some(usr) => fs.read_to_string(&Path::new(usr).join(f.file)),
            None => Err(e),
        })
        .unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let line = line.split(['#', '!']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (id, name) = (words.next()?, words.next()?);
            if words.next().is_some() {
                return None;
            }
            let id = u32::try_from(strtoul0(id)?).ok().filter(|&i| i <= f.max)?;
            Some((id, name.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::MemFs;

    #[test]
    fn numbers_names_and_defaults() {
        let fs = MemFs::new()
            .with(
                "/etc/iproute2/rt_tables",
                "# reserved\n255\tlocal\n254 main\n100 vip # comment\n0x65 hexa\nbad line here\n",
            )
            .with("/etc/iproute2/rt_protos", "18 keepalived\n4 mystatic\n");
        let d = IprouteDirs::default();
        assert_eq!(find(&fs, &d, TABLES, "vip"), Some(100));
        assert_eq!(find(&fs, &d, TABLES, "hexa"), Some(101));
        assert_eq!(find(&fs, &d, TABLES, "main"), Some(254));
        assert_eq!(find(&fs, &d, TABLES, "default"), Some(253));
        assert_eq!(find(&fs, &d, TABLES, "0x10"), Some(16));
        assert_eq!(find(&fs, &d, TABLES, "nosuch"), None);
        assert_eq!(find(&fs, &d, PROTOS, "keepalived"), Some(18));
        // The file names 4, so the default "static" is not known.
        assert_eq!(find(&fs, &d, PROTOS, "static"), None);
        assert_eq!(find(&fs, &d, PROTOS, "256"), None);
        assert_eq!(find(&fs, &d, SCOPES, "link"), Some(253));
        let other = IprouteDirs {
            etc: Some("/x".into()),
            usr: Some("/etc/iproute2".into()),
        };
        assert_eq!(find(&fs, &other, TABLES, "vip"), Some(100));
    }

    #[test]
    fn realm_pairs() {
        let fs = MemFs::new().with("/etc/iproute2/rt_realms", "1 a\n2 b\n");
        let d = IprouteDirs::default();
        assert_eq!(realms(&fs, &d, "a/b"), Some(0x0001_0002));
        assert_eq!(realms(&fs, &d, "2"), Some(2));
        assert_eq!(realms(&fs, &d, "c"), None);
    }
}
