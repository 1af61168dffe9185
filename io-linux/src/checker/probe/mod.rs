//! The probers: one health check of one real server, run on tokio against the network
//! (or, for MISC_CHECK, a child process), as the checker engine asks with a
//! [`ProbeSpec`] and answered with a [`ProbeOutcome`].
//!
//! Everything a server sends is hostile input: reads are capped in size, the whole
//! exchange is capped in time (`timeout_us`, not only the connect: by the probe itself or,
//! for most, by its caller, [`Prober::cut_off_by_caller`]), and nothing received
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

    /// A probe's time budget: `timeout_us`, and at least [`MIN_TIMEOUT`].
    pub fn budget(spec: &ProbeSpec) -> Duration {
        Duration::from_micros(spec.timeout_us).max(MIN_TIMEOUT)
    }

    /// Whether [`Prober::run_to_end`] leaves the probe's time budget to its caller: the
    /// network probes other than UDP_CHECK.
    pub fn cut_off_by_caller(kind: &ProbeKind) -> bool {
        !matches!(kind, ProbeKind::Udp { .. } | ProbeKind::Misc { .. })
    }

    /// Runs one probe to its end, in its time budget. Network probes take at most the
    /// budget in all (connect, request and reply together); a probe still running then is
    /// `Down { reason: "timeout" }`. UDP_CHECK decides itself what its budget running out
    /// means. MISC_CHECK gets SIGTERM to its process group at the budget and SIGKILL 2 s
    /// later, and reports once the script is reaped. Never panics on anything a server or
    /// script does. Dropping the future abandons the probe: sockets close, and a
    /// MISC_CHECK's process group is killed.
    pub async fn run(&self, spec: &ProbeSpec) -> ProbeOutcome {
        if !Prober::cut_off_by_caller(&spec.kind) {
            return self.run_to_end(spec).await;
        }
        let deadline = Instant::now() + Prober::budget(spec);
        match tokio::time::timeout_at(deadline, self.run_to_end(spec)).await {
            Ok(outcome) => outcome,
            Err(_) => down("timeout"),
        }
    }

    /// [`Prober::run`], but the probes the caller cuts off ([`Prober::cut_off_by_caller`])
    /// run until their exchange ends: whoever runs them cuts them off at the budget as
    /// `Down { reason: "timeout" }` and drops them. The checker child's
    /// [`ProbeTasks`](crate::checker::probe_tasks::ProbeTasks) does so with one timer for
    /// every probe in flight, as a timer of each probe's own costs the runtime a wake-up
    /// write at nearly every probe.
    pub async fn run_to_end(&self, spec: &ProbeSpec) -> ProbeOutcome {
        let budget = Prober::budget(spec);
        let deadline = Instant::now() + budget;
        let ep = match (&spec.kind, &spec.endpoint) {
            (ProbeKind::Misc { command }, _) => {
                return Box::pin(misc::run(command, &self.script_user, budget)).await
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
            return outcome(Box::pin(udp::run(ep, payload, &rules, deadline)).await);
        }
        outcome(self.network(&spec.kind, ep).await)
    }

    /// A network probe. The others' futures are boxed, so TCP_CHECK's task, the one a
    /// checker runs thousands of a second, holds only its own few hundred bytes and not
    /// room for HTTP over TLS (2,800 bytes, moved into each task as it is spawned).
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
                let resp = Box::pin(http::fetch(ep, &req, tls, window)).await?;
                http::evaluate(url, &resp)
            }
            ProbeKind::Smtp { helo_name } => Box::pin(smtp::run(ep, helo_name)).await,
            ProbeKind::Dns { query_type, name } => Box::pin(dns::run(ep, query_type, name)).await,
            ProbeKind::Ping => Box::pin(ping::run(ep)).await,
            // Handled in `run_to_end`.
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

pub(crate) fn down(reason: &str) -> ProbeOutcome {
    ProbeOutcome::Down {
        reason: reason.to_string(),
    }
}
