//! What the checker engine asks a prober to do, and what comes back. The engine decides
//! when and against what; the prober (io-linux, or the simulator) only opens the
//! connection, talks the protocol and reports.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::config::model::{Command, Url};

/// One checker of one real server, stable for the life of the engine (a reload that keeps
/// the checker keeps its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProbeId(pub u64);

/// Where a network probe connects from and to (`install_checker_common_keywords()`):
/// `connect_ip`/`connect_port` over the real server's address and port, `bindto` /
/// `bind_port` / `bind_if` for the local end, `fwmark` as SO_MARK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub target: SocketAddr,
    pub bind: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
}

/// The protocol a probe speaks, with what it needs and nothing the engine keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeKind {
    /// TCP_CHECK: success is a completed connect.
    Tcp,
    /// HTTP_GET / SSL_GET: one URL per probe (the engine walks the list).
    Http {
        tls: bool,
        /// `1.0`, `1.0C` (1.0 with `Connection: close`) or `1.1`.
        http_protocol: String,
        /// The Host header's name (precedence url > checker > real server > virtual
        /// server already applied); None means `ip:port` (`[ip6]:port`).
        virtualhost: Option<String>,
        /// TLS server name: `sni_name`, else the virtualhost, when `enable_sni`.
        sni: Option<String>,
        url: Url,
    },
    /// SMTP_CHECK: 220 banner, `HELO helo_name`, 250, QUIT.
    Smtp { helo_name: String },
    /// DNS_CHECK: a query of `query_type` for `name` with RD set; success is a reply
    /// with the same id, QR set and RCODE 0.
    Dns { query_type: String, name: String },
    /// UDP_CHECK: `payload` sent; an ICMP unreachable fails; with `require_reply`, a
    /// reply of the right length whose bytes match the mask (None = any byte).
    Udp {
        payload: Vec<u8>,
        require_reply: Option<Vec<Option<u8>>>,
        min_reply_length: u32,
        max_reply_length: u32,
    },
    /// PING_CHECK: one ICMP (or ICMPv6) echo answered.
    Ping,
    /// MISC_CHECK: the command's exit status is the outcome ([`ProbeOutcome::Exited`]).
    Misc { command: Command },
}

impl ProbeKind {
    /// The checker keyword the probe is for (`SSL_GET` for an HTTP probe over TLS).
    pub fn keyword(&self) -> &'static str {
        match self {
            ProbeKind::Tcp => "TCP_CHECK",
            ProbeKind::Http { tls: false, .. } => "HTTP_GET",
            ProbeKind::Http { tls: true, .. } => "SSL_GET",
            ProbeKind::Smtp { .. } => "SMTP_CHECK",
            ProbeKind::Dns { .. } => "DNS_CHECK",
            ProbeKind::Udp { .. } => "UDP_CHECK",
            ProbeKind::Ping => "PING_CHECK",
            ProbeKind::Misc { .. } => "MISC_CHECK",
        }
    }
}

/// One probe to start now. It must end within `timeout_us` (connect_timeout, or
/// misc_timeout for MISC_CHECK, whose process group gets SIGTERM then SIGKILL 2 s later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSpec {
    pub id: ProbeId,
    pub kind: ProbeKind,
    /// None for MISC_CHECK.
    pub endpoint: Option<Endpoint>,
    pub timeout_us: u64,
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeOutcome {
    Up,
    /// Failed, with why in words for the log ("connection refused", "status 503",
    /// "digest mismatch", "timeout").
    Down {
        reason: String,
    },
    /// MISC_CHECK's exit status (a signal or a timeout is `Down`); the engine applies
    /// `misc_dynamic`.
    Exited(i32),
}
