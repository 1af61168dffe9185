//! The keyword registry: every keyword keepalived-rs reads, declared once with its block,
//! the kind of value it takes, its default, its synonyms, its deprecation and whether
//! keepalived-rs carries it out at run time (and if not, why).
//!
//! Each block has a module here, named like its parser in `blocks/`. The module's
//! constants are the keyword names the parser matches on, so a misspelt keyword in a
//! match arm does not compile; its `KEYWORDS` table feeds the `-t` warnings for keywords
//! that are accepted but not carried out (`Parser::runtime_note`) and the
//! generated reference `docs/keywords.md` ([`markdown`]).

/// Declares one block's keywords: for each line, a constant per name (the keyword and
/// each synonym), a [`Keyword`] in `KEYWORDS`, and an arm in `lookup`. A name declared
/// twice in one block is an unreachable match arm, which the crate's lints refuse.
///
/// The default is `""` when there is none, a string such as `"30"` when it is one value
/// a config could write ([`DefaultValue::Literal`]), and `(derived "…")` when it is not
/// one fixed value but comes from somewhere else ([`DefaultValue::Derived`]).
macro_rules! keywords {
    (
        $block:ident;
        $(
            $c:ident = $name:literal $(| $sc:ident = $sname:literal)*,
            $value:ident, $default:tt, $rt:ident $(($why:literal))?
            $(, deprecated $dep:literal)?;
        )*
    ) => {
        $(
            pub const $c: &str = $name;
            $(pub const $sc: &str = $sname;)*
        )*

        #[allow(non_upper_case_globals)]
        mod entry {
            use $crate::config::registry::{Block, DefaultValue, Keyword, Runtime, Value};
            $(
                pub static $c: Keyword = Keyword {
                    name: $name,
                    block: Block::$block,
                    value: Value::$value,
                    default: keywords!(@default $default),
                    synonyms: &[$($sname),*],
                    deprecated: keywords!(@opt $($dep)?),
                    runtime: Runtime::$rt $(($why))?,
                };
            )*
        }

        /// This block's keywords, in declaration order.
        pub static KEYWORDS: &[&$crate::config::registry::Keyword] = &[$(&entry::$c),*];

        /// The keyword `name` (or a synonym of it) in this block.
        pub fn lookup(name: &str) -> Option<&'static $crate::config::registry::Keyword> {
            match name {
                $($name $(| $sname)* => Some(&entry::$c),)*
                _ => None,
            }
        }
    };
    (@default "") => { DefaultValue::Unset };
    (@default (derived $how:literal)) => { DefaultValue::Derived($how) };
    (@default $value:literal) => { DefaultValue::Literal($value) };
    (@opt) => { None };
    (@opt $dep:literal) => { Some($dep) };
}

pub mod auth;
pub mod checker;
pub mod global;
pub mod lvs;
pub mod root;
pub mod track;
pub mod vrrp;

/// Where a keyword is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Block {
    Root,
    GlobalDefs,
    VrrpInstance,
    Authentication,
    AuthHmac,
    VrrpSyncGroup,
    VrrpScript,
    TrackFile,
    TrackProcess,
    GarpGroup,
    BfdInstance,
    TrackGroup,
    Ssl,
    VirtualServerGroup,
    VirtualServer,
    RealServer,
    /// The timing keywords a virtual_server, a real_server and a checker all accept.
    Schedule,
    /// The keywords every checker accepts.
    Checker,
    /// How a network checker connects; also an SMTP_CHECK `host {}` block.
    Connection,
    HttpGet,
    Url,
    SmtpCheck,
    DnsCheck,
    MiscCheck,
    UdpCheck,
    FileCheck,
    BfdCheck,
}

impl Block {
    /// Every block, in the order the reference lists them.
    pub const ALL: [Block; 27] = [
        Block::Root,
        Block::GlobalDefs,
        Block::VrrpInstance,
        Block::Authentication,
        Block::AuthHmac,
        Block::VrrpSyncGroup,
        Block::VrrpScript,
        Block::TrackFile,
        Block::TrackProcess,
        Block::GarpGroup,
        Block::BfdInstance,
        Block::TrackGroup,
        Block::Ssl,
        Block::VirtualServerGroup,
        Block::VirtualServer,
        Block::RealServer,
        Block::Schedule,
        Block::Checker,
        Block::Connection,
        Block::HttpGet,
        Block::Url,
        Block::SmtpCheck,
        Block::DnsCheck,
        Block::MiscCheck,
        Block::UdpCheck,
        Block::FileCheck,
        Block::BfdCheck,
    ];

    /// The block as a config writes it.
    pub fn title(self) -> &'static str {
        match self {
            Block::Root => "top level",
            Block::GlobalDefs => "global_defs",
            Block::VrrpInstance => "vrrp_instance",
            Block::Authentication => "vrrp_instance → authentication",
            Block::AuthHmac => "vrrp_instance → auth_hmac",
            Block::VrrpSyncGroup => "vrrp_sync_group",
            Block::VrrpScript => "vrrp_script",
            Block::TrackFile => "vrrp_track_file",
            Block::TrackProcess => "vrrp_track_process",
            Block::GarpGroup => "garp_group",
            Block::BfdInstance => "bfd_instance",
            Block::TrackGroup => "track_group",
            Block::Ssl => "SSL",
            Block::VirtualServerGroup => "virtual_server_group",
            Block::VirtualServer => "virtual_server",
            Block::RealServer => "virtual_server → real_server",
            Block::Schedule => "virtual_server, real_server and every checker",
            Block::Checker => "every checker",
            Block::Connection => "TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK (and its host), DNS_CHECK, UDP_CHECK, PING_CHECK",
            Block::HttpGet => "HTTP_GET, SSL_GET",
            Block::Url => "HTTP_GET, SSL_GET → url",
            Block::SmtpCheck => "SMTP_CHECK",
            Block::DnsCheck => "DNS_CHECK",
            Block::MiscCheck => "MISC_CHECK",
            Block::UdpCheck => "UDP_CHECK",
            Block::FileCheck => "FILE_CHECK",
            Block::BfdCheck => "BFD_CHECK",
        }
    }

    /// The block as a sentence names it: "a vrrp_instance block", "the global_defs block".
    pub fn phrase(self) -> &'static str {
        match self {
            Block::Root => "the top level",
            Block::GlobalDefs => "the global_defs block",
            Block::VrrpInstance => "a vrrp_instance block",
            Block::Authentication => "a vrrp_instance's authentication block",
            Block::AuthHmac => "a vrrp_instance's auth_hmac block",
            Block::VrrpSyncGroup => "a vrrp_sync_group block",
            Block::VrrpScript => "a vrrp_script block",
            Block::TrackFile => "a vrrp_track_file block",
            Block::TrackProcess => "a vrrp_track_process block",
            Block::GarpGroup => "a garp_group block",
            Block::BfdInstance => "a bfd_instance block",
            Block::TrackGroup => "a track_group block",
            Block::Ssl => "the SSL block",
            Block::VirtualServerGroup => "a virtual_server_group block",
            Block::VirtualServer => "a virtual_server block",
            Block::RealServer => "a real_server block",
            Block::Schedule => "a virtual_server, real_server or checker block",
            Block::Checker => "a checker block",
            Block::Connection => "a TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK (or its host), DNS_CHECK, UDP_CHECK or PING_CHECK block",
            Block::HttpGet => "an HTTP_GET or SSL_GET block",
            Block::Url => "an HTTP_GET or SSL_GET url block",
            Block::SmtpCheck => "an SMTP_CHECK block",
            Block::DnsCheck => "a DNS_CHECK block",
            Block::MiscCheck => "a MISC_CHECK block",
            Block::UdpCheck => "a UDP_CHECK block",
            Block::FileCheck => "a FILE_CHECK block",
            Block::BfdCheck => "a BFD_CHECK block",
        }
    }

    /// The keyword that opens this block, when one keyword alone does.
    pub fn opener(self) -> Option<&'static Keyword> {
        let (outer, name) = match self {
            Block::Root => return None,
            Block::GlobalDefs => (Block::Root, root::GLOBAL_DEFS),
            Block::VrrpInstance => (Block::Root, root::VRRP_INSTANCE),
            Block::Authentication => (Block::VrrpInstance, vrrp::instance::AUTHENTICATION),
            Block::AuthHmac => (Block::VrrpInstance, vrrp::instance::AUTH_HMAC),
            Block::VrrpSyncGroup => (Block::Root, root::VRRP_SYNC_GROUP),
            Block::VrrpScript => (Block::Root, root::VRRP_SCRIPT),
            Block::TrackFile => (Block::Root, root::VRRP_TRACK_FILE),
            Block::TrackProcess => (Block::Root, root::VRRP_TRACK_PROCESS),
            Block::GarpGroup => (Block::Root, root::GARP_GROUP),
            Block::BfdInstance => (Block::Root, root::BFD_INSTANCE),
            Block::TrackGroup => (Block::Root, root::TRACK_GROUP),
            Block::Ssl => (Block::Root, root::SSL),
            Block::VirtualServerGroup => (Block::Root, root::VIRTUAL_SERVER_GROUP),
            Block::VirtualServer => (Block::Root, root::VIRTUAL_SERVER),
            Block::RealServer => (Block::VirtualServer, lvs::virtual_server::REAL_SERVER),
            Block::Schedule | Block::Checker | Block::Connection => return None,
            Block::HttpGet => (Block::RealServer, lvs::real_server::HTTP_GET),
            Block::Url => (Block::HttpGet, checker::http::URL),
            Block::SmtpCheck => (Block::RealServer, lvs::real_server::SMTP_CHECK),
            Block::DnsCheck => (Block::RealServer, lvs::real_server::DNS_CHECK),
            Block::MiscCheck => (Block::RealServer, lvs::real_server::MISC_CHECK),
            Block::UdpCheck => (Block::RealServer, lvs::real_server::UDP_CHECK),
            Block::FileCheck => (Block::RealServer, lvs::real_server::FILE_CHECK),
            Block::BfdCheck => (Block::RealServer, lvs::real_server::BFD_CHECK),
        };
        outer.lookup(name)
    }

    /// The block's keywords.
    pub fn keywords(self) -> &'static [&'static Keyword] {
        match self {
            Block::Root => root::KEYWORDS,
            Block::GlobalDefs => global::KEYWORDS,
            Block::VrrpInstance => vrrp::instance::KEYWORDS,
            Block::Authentication => auth::authentication::KEYWORDS,
            Block::AuthHmac => auth::hmac::KEYWORDS,
            Block::VrrpSyncGroup => vrrp::sync_group::KEYWORDS,
            Block::VrrpScript => track::script::KEYWORDS,
            Block::TrackFile => track::file::KEYWORDS,
            Block::TrackProcess => track::process::KEYWORDS,
            Block::GarpGroup => track::garp_group::KEYWORDS,
            Block::BfdInstance => track::bfd::KEYWORDS,
            Block::TrackGroup => track::group::KEYWORDS,
            Block::Ssl => lvs::ssl::KEYWORDS,
            Block::VirtualServerGroup => lvs::group::KEYWORDS,
            Block::VirtualServer => lvs::virtual_server::KEYWORDS,
            Block::RealServer => lvs::real_server::KEYWORDS,
            Block::Schedule => checker::schedule::KEYWORDS,
            Block::Checker => checker::common::KEYWORDS,
            Block::Connection => checker::connection::KEYWORDS,
            Block::HttpGet => checker::http::KEYWORDS,
            Block::Url => checker::url::KEYWORDS,
            Block::SmtpCheck => checker::smtp::KEYWORDS,
            Block::DnsCheck => checker::dns::KEYWORDS,
            Block::MiscCheck => checker::misc::KEYWORDS,
            Block::UdpCheck => checker::udp::KEYWORDS,
            Block::FileCheck => checker::file::KEYWORDS,
            Block::BfdCheck => checker::bfd::KEYWORDS,
        }
    }

    /// The keyword `name` (or a synonym of it) in this block.
    pub fn lookup(self, name: &str) -> Option<&'static Keyword> {
        match self {
            Block::Root => root::lookup(name),
            Block::GlobalDefs => global::lookup(name),
            Block::VrrpInstance => vrrp::instance::lookup(name),
            Block::Authentication => auth::authentication::lookup(name),
            Block::AuthHmac => auth::hmac::lookup(name),
            Block::VrrpSyncGroup => vrrp::sync_group::lookup(name),
            Block::VrrpScript => track::script::lookup(name),
            Block::TrackFile => track::file::lookup(name),
            Block::TrackProcess => track::process::lookup(name),
            Block::GarpGroup => track::garp_group::lookup(name),
            Block::BfdInstance => track::bfd::lookup(name),
            Block::TrackGroup => track::group::lookup(name),
            Block::Ssl => lvs::ssl::lookup(name),
            Block::VirtualServerGroup => lvs::group::lookup(name),
            Block::VirtualServer => lvs::virtual_server::lookup(name),
            Block::RealServer => lvs::real_server::lookup(name),
            Block::Schedule => checker::schedule::lookup(name),
            Block::Checker => checker::common::lookup(name),
            Block::Connection => checker::connection::lookup(name),
            Block::HttpGet => checker::http::lookup(name),
            Block::Url => checker::url::lookup(name),
            Block::SmtpCheck => checker::smtp::lookup(name),
            Block::DnsCheck => checker::dns::lookup(name),
            Block::MiscCheck => checker::misc::lookup(name),
            Block::UdpCheck => checker::udp::lookup(name),
            Block::FileCheck => checker::file::lookup(name),
            Block::BfdCheck => checker::bfd::lookup(name),
        }
    }
}

/// The kind of value a keyword takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// Alone means on; or `on|off|true|false|yes|no`.
    Flag,
    /// A whole number.
    Int,
    /// Decimal seconds, to the microsecond.
    Seconds,
    /// Milliseconds, to the microsecond (three decimal places).
    Millis,
    /// One word.
    Word,
    /// One word from a fixed set.
    Choice,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A script path or quoted command line, then an optional user and group.
    Command,
    /// Several words with a syntax of their own.
    Words,
    /// Opens a block `{ … }`.
    Block,
}

impl Value {
    /// The kind of value, in the words the reference and the manual use.
    pub fn text(self) -> &'static str {
        match self {
            Value::Flag => "flag",
            Value::Int => "integer",
            Value::Seconds => "seconds",
            Value::Millis => "milliseconds",
            Value::Word => "word",
            Value::Choice => "one of a set",
            Value::Ip => "IP address",
            Value::Command => "command [user [group]]",
            Value::Words => "words",
            Value::Block => "block",
        }
    }
}

/// The value in force when a keyword is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// None to speak of: a block, a list, something off or unset unless written.
    Unset,
    /// One value, as a config would write it: writing `keyword VALUE` changes nothing
    /// (`engine/tests/keyword_defaults.rs` holds the parser's defaults to it).
    Literal(&'static str),
    /// Not one fixed value: where it comes from (another keyword, the host, the kind of
    /// checker), in words; Markdown, as the reference shows it.
    Derived(&'static str),
}

/// Whether keepalived-rs does at run time what keepalived does with the keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Read and acted on as keepalived does.
    Carried,
    /// Read and acted on in part; the text says what is not done.
    Partial(&'static str),
    /// Read (and checked) but with no effect; the text says why.
    Ignored(&'static str),
    /// Refused with an error naming the keyword; the text says why.
    Refused(&'static str),
}

/// One keyword of one block.
#[derive(Debug, PartialEq, Eq)]
pub struct Keyword {
    pub name: &'static str,
    pub block: Block,
    pub value: Value,
    /// The value in force when the keyword is absent.
    pub default: DefaultValue,
    /// Other names keepalived accepts for the same keyword.
    pub synonyms: &'static [&'static str],
    /// Why the keyword, or one of its names, is deprecated.
    pub deprecated: Option<&'static str>,
    pub runtime: Runtime,
}

impl Keyword {
    /// The keyword and its synonyms.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.name).chain(self.synonyms.iter().copied())
    }

    /// The `-t` warning for a keyword that is accepted but not (wholly) carried out.
    pub fn runtime_warning(&self, written: &str) -> Option<String> {
        match self.runtime {
            Runtime::Ignored(why) => {
                Some(format!("'{written}' has no effect in keepalived-rs: {why}"))
            }
            Runtime::Partial(what) => Some(format!(
                "'{written}' is only partly carried out by keepalived-rs: {what}"
            )),
            Runtime::Carried | Runtime::Refused(_) => None,
        }
    }
}

/// Every keyword of every block.
pub fn all() -> impl Iterator<Item = &'static Keyword> {
    Block::ALL
        .into_iter()
        .flat_map(|b| b.keywords().iter().copied())
}

/// The blocks `name` (or a synonym) belongs in, in reference order: those that accept
/// it, or, when none does, those that know it only to refuse it. For the hint on a
/// keyword written in a block that does not know it.
pub fn homes(name: &str) -> Vec<Block> {
    let knowing: Vec<(Block, &Keyword)> = Block::ALL
        .into_iter()
        .filter_map(|b| b.lookup(name).map(|k| (b, k)))
        .collect();
    let accepting: Vec<Block> = knowing
        .iter()
        .filter(|(_, k)| !matches!(k.runtime, Runtime::Refused(_)))
        .map(|(b, _)| *b)
        .collect();
    if accepting.is_empty() {
        knowing.into_iter().map(|(b, _)| b).collect()
    } else {
        accepting
    }
}

/// Whether `name` opens a block in some block of the language.
pub fn opens_block(name: &str) -> bool {
    static NAMES: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            all()
                .filter(|k| k.value == Value::Block)
                .flat_map(|k| k.names())
                .collect()
        })
        .contains(name)
}

/// The reference `docs/keywords.md`: every keyword, block by block.
pub fn markdown() -> String {
    use std::fmt::Write;
    let count = |f: fn(&Runtime) -> bool| all().filter(|k| f(&k.runtime)).count();
    let mut out = String::new();
    let _ = writeln!(out, "# keepalived-rs configuration keywords\n");
    let _ = writeln!(
        out,
        "Generated from `engine/src/config/registry/` by \
         `cargo run -p keepalived-engine --example keywords > docs/keywords.md`; \
         a test fails when this file is stale.\n"
    );
    let _ = writeln!(
        out,
        "Run time: **yes** — carried out as keepalived does; **partly** — what is not done \
         is named; **no** — accepted and checked, but without effect (`-t` warns); \
         **refused** — an error.\n"
    );
    let _ = writeln!(
        out,
        "{} keywords: {} carried out, {} partly, {} without effect, {} refused.\n",
        all().count(),
        count(|r| matches!(r, Runtime::Carried)),
        count(|r| matches!(r, Runtime::Partial(_))),
        count(|r| matches!(r, Runtime::Ignored(_))),
        count(|r| matches!(r, Runtime::Refused(_))),
    );
    for b in Block::ALL {
        let _ = writeln!(out, "## {}\n", b.title());
        let _ = writeln!(
            out,
            "| keyword | value | default | synonyms | run time |\n|---|---|---|---|---|"
        );
        for k in b.keywords() {
            let synonyms = k
                .synonyms
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut runtime = match k.runtime {
                Runtime::Carried => "yes".to_string(),
                Runtime::Partial(w) => format!("partly: {w}"),
                Runtime::Ignored(w) => format!("no: {w}"),
                Runtime::Refused(w) => format!("refused: {w}"),
            };
            if let Some(d) = k.deprecated {
                let _ = write!(runtime, " (deprecated: {d})");
            }
            let default = match k.default {
                DefaultValue::Unset => String::new(),
                DefaultValue::Literal(v) => format!("`{v}`"),
                DefaultValue::Derived(how) => how.to_string(),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                k.name,
                k.value.text(),
                default.replace('|', "\\|"),
                synonyms,
                runtime.replace('|', "\\|")
            );
        }
        out.push('\n');
    }
    out
}
