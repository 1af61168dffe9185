//! The probers: one health check of one real server, run on tokio against the network
//! (or, for MISC_CHECK, a child process), as the checker engine asks with a
//! [`ProbeSpec`] and answered with a [`ProbeOutcome`].
//!
//! Everything a server sends is hostile input: reads are capped in size, the whole
//! exchange is capped in time (`timeout_us`, not only the connect), and nothing received
//! can panic the prober. See each protocol's module for its caps and for where it differs
//! from keepalived.

mod dns;
pub mod http;
mod misc;
mod net;
mod ping;
pub(crate) mod smtp;
pub mod tls;
mod udp;

use std::time::Duration;

use keepalived_engine::check::probe::{Endpoint, ProbeKind, ProbeOutcome, ProbeSpec};
use tokio::time::Instant;

use crate::host::script_user::ScriptUser;
pub use tls::{TlsError, TlsSetup};

/// The floor of a probe's time budget, so `timeout_us: 0` still lets a local check finish.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// What every probe needs besides its spec: the TLS client of the `SSL{}` block and who
/// MISC_CHECK scripts run as when they name nobody. Cheap to clone (the TLS config is
/// shared), so a driver can move a clone into each spawned probe.
#[derive(Clone, Debug)]
pub struct Prober {
    pub tls: TlsSetup,
    pub script_user: ScriptUser,
}

impl Prober {
    pub fn new(tls: TlsSetup, script_user: ScriptUser) -> Prober {
        Prober { tls, script_user }
    }

    /// Runs one probe to its end. Network probes take at most `spec.timeout_us` in all
    /// (connect, request and reply together); a probe still running then is `Down
    /// { reason: "timeout" }`. MISC_CHECK gets SIGTERM to its process group at
    /// `timeout_us` and SIGKILL 2 s later, and reports once the script is reaped. Never
    /// panics on anything a server or script does. Dropping the future abandons the
    /// probe: sockets close, and a MISC_CHECK's process group is killed.
    pub async fn run(&self, spec: &ProbeSpec) -> ProbeOutcome {
        let budget = Duration::from_micros(spec.timeout_us).max(MIN_TIMEOUT);
        let deadline = Instant::now() + budget;
        let ep = match (&spec.kind, &spec.endpoint) {
            (ProbeKind::Misc { command }, _) => {
                return misc::run(command, &self.script_user, budget).await
            }
            (_, Some(ep)) => ep,
            (_, None) => return down("no address to probe"),
        };
        // UDP_CHECK decides itself what running out of time means (success unless a
        // reply is required), so it gets the deadline rather than being cut off.
        if let ProbeKind::Udp {
            payload,
            require_reply,
            min_reply_length,
            max_reply_length,
        } = &spec.kind
        {
            let rules = udp::ReplyRules {
                require_reply: require_reply.as_deref(),
                min_len: *min_reply_length,
                max_len: *max_reply_length,
            };
            return outcome(udp::run(ep, payload, &rules, deadline).await);
        }
        match tokio::time::timeout_at(deadline, self.network(&spec.kind, ep)).await {
            Ok(r) => outcome(r),
            Err(_) => down("timeout"),
        }
    }

    async fn network(&self, kind: &ProbeKind, ep: &Endpoint) -> Result<(), String> {
        match kind {
            ProbeKind::Tcp => net::connect_tcp(ep).await.map(drop),
            ProbeKind::Http {
                tls,
                http_protocol,
                virtualhost,
                sni,
                url,
            } => {
                let req = http::Request {
                    path: &url.path,
                    protocol: http::Protocol::parse(http_protocol),
                    virtualhost: virtualhost.as_deref(),
                    target: ep.target,
                };
                let tls = tls.then(|| http::TlsParams {
                    setup: &self.tls,
                    sni: sni.as_deref(),
                    close_notify: url.tls_compliant,
                });
                let window = http::regex_window(url);
                let resp = http::fetch(ep, &req, tls, window).await?;
                http::evaluate(url, &resp)
            }
            ProbeKind::Smtp { helo_name } => smtp::run(ep, helo_name).await,
            ProbeKind::Dns { query_type, name } => dns::run(ep, query_type, name).await,
            ProbeKind::Ping => ping::run(ep).await,
            // Handled in `run`.
            ProbeKind::Udp { .. } | ProbeKind::Misc { .. } => Err("not a network probe".into()),
        }
    }
}

fn outcome(r: Result<(), String>) -> ProbeOutcome {
    match r {
        Ok(()) => ProbeOutcome::Up,
        Err(reason) => ProbeOutcome::Down { reason },
    }
}

fn down(reason: &str) -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: reason.to_string(),
    }
}
