//! The checker engine's run-time state, one record per virtual server, real server and
//! checker (keepalived's `virtual_server_t`, `real_server_t`, `checker_t`), built from a
//! completed configuration with the labels keepalived logs them by.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::groups::service_keys;
use super::ipvs::{proto_str, Service, ServiceKey};
use super::probe::ProbeId;
use super::CheckEngine;
use crate::config::model::{
    Checker, CheckerKind, Config, Protocol, RealServer, VirtualServer, VsAddress,
};
use crate::time::Instant;

/// A checker's run-time state (`checker_t`: `is_up`, `has_run`, `retry_it`, …).
#[derive(Debug, Clone)]
pub(super) struct CheckerRt {
    pub(super) id: ProbeId,
    pub(super) cfg: Checker,
    /// FILE_CHECK, BFD_CHECK and checkers without what they need never probe and count
    /// as up.
    pub(super) supported: bool,
    pub(super) is_up: bool,
    pub(super) has_run: bool,
    pub(super) retry_it: u32,
    /// HTTP_GET / SSL_GET: the URL the next probe asks for (`url_it`).
    pub(super) url_idx: usize,
    /// HTTP_GET / SSL_GET: a URL failed after its retries (`failed_url`).
    pub(super) failed_url: bool,
    /// MISC_CHECK with `misc_dynamic`: the last success's exit status when 2..=255.
    pub(super) dyn_status: Option<u32>,
    pub(super) next_run: Option<Instant>,
    /// A probe is out; the engine gives up on it at this time.
    pub(super) in_flight: Option<Instant>,
    /// When the probe out (or last) started: MISC_CHECK counts its interval from there
    /// (`misck_checker->last_ran`).
    pub(super) started: Instant,
}

impl CheckerRt {
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.in_flight.or(self.next_run)
    }
    pub(super) fn alpha(&self) -> bool {
        self.cfg.schedule.alpha
    }
}

/// A real server's run-time state (`real_server_t`: `alive`, its checkers).
#[derive(Debug, Clone)]
pub(super) struct RsRt {
    /// The configured real server, without its checkers (they are in `checkers`).
    pub(super) cfg: RealServer,
    pub(super) label: String,
    pub(super) alive: bool,
    pub(super) checkers: Vec<CheckerRt>,
}

impl RsRt {
    pub(super) fn port(&self) -> u16 {
        self.cfg.port.unwrap_or(0)
    }
    fn iweight(&self) -> i64 {
        i64::from(self.cfg.weight)
    }
    /// `rs->effective_weight`: the configured weight plus each dynamic MISC_CHECK's
    /// `cur_weight = status − 2 − iweight` (`misc_check_child_thread()`).
    pub(super) fn effective_weight(&self) -> i64 {
        let iw = self.iweight();
        iw + self
            .checkers
            .iter()
            .filter_map(|c| c.dyn_status)
            .map(|s| i64::from(s) - 2 - iw)
            .sum::<i64>()
    }
    pub(super) fn num_failed(&self) -> usize {
        self.checkers.iter().filter(|c| !c.is_up).count()
    }
}

/// A virtual server's run-time state (`virtual_server_t`: quorum, sorry server, its
/// real servers and its share of the IPVS table).
#[derive(Debug, Clone)]
pub(super) struct VsRt {
    /// The configured virtual server, without its real servers (they are in `rss`).
    pub(super) cfg: VirtualServer,
    pub(super) label: String,
    /// quorum capped to the total weight, hysteresis to quorum − 1 (`check_data.c`).
    pub(super) quorum: u32,
    pub(super) hysteresis: u32,
    pub(super) quorum_up: bool,
    /// The sorry server is in the pool (`vs->s_svr->alive`).
    pub(super) sorry_active: bool,
    pub(super) rss: Vec<RsRt>,
    /// The IPVS services this virtual server owns.
    pub(super) keys: Vec<ServiceKey>,
    /// Its share of the table as last emitted.
    pub(super) ipvs: BTreeMap<ServiceKey, Service>,
}

impl VsRt {
    /// `weigh_live_realservers()`: Σ real_weight(effective) of the alive servers.
    pub(super) fn alive_weight(&self) -> i64 {
        self.rss
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(real_weight(r.effective_weight())))
            .sum()
    }
    pub(super) fn identity(&self) -> (VsAddress, Protocol) {
        (self.cfg.address.clone(), self.cfg.protocol)
    }
}

/// Index of one checker: virtual server, real server, checker.
pub(super) type Loc = (usize, usize, usize);

/// `real_weight()`, `check_data.h`: effective weights are clamped to 0..=INT32_MAX.
pub(super) fn real_weight(w: i64) -> u32 {
    w.clamp(0, i64::from(i32::MAX)) as u32
}

/// `format_vs()`, `check_data.c`: `[ip]:proto:port`, `[group]:0`, `FWM n`.
fn format_vs(vs: &VirtualServer) -> String {
    match &vs.address {
        VsAddress::Ip { address, port } => {
            format!("[{address}]:{}:{port}", proto_str(vs.protocol))
        }
        VsAddress::Group { name } => format!("[{name}]:0"),
        VsAddress::Fwmark { mark } => format!("FWM {mark}"),
    }
}

/// `format_rs()` / `inet_sockaddrtotrio_r()`: `[ip]:proto:port`.
fn format_rs(addr: IpAddr, port: u16, p: Protocol) -> String {
    format!("[{addr}]:{}:{port}", proto_str(p))
}

/// Whether a checker can run here, and why not.
fn unsupported_reason(kind: &CheckerKind) -> Option<&'static str> {
    match kind {
        CheckerKind::FileCheck { .. } => Some("FILE_CHECK is not a probe and is not supported"),
        CheckerKind::BfdCheck { .. } => Some("BFD_CHECK is not a probe and is not supported"),
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
            Some("it has no url")
        }
        CheckerKind::MiscCheck(m) if m.misc_path.is_none() => Some("it has no misc_path"),
        _ => None,
    }
}

impl CheckEngine {
    /// Fresh run-time state for every virtual server of `config` (`alloc_vs()`,
    /// `register_checkers_thread()`), drawing each checker's warmup in config order.
    pub(super) fn build(&mut self, config: &Config, now: Instant) -> Vec<VsRt> {
        let mut claimed: BTreeSet<ServiceKey> = BTreeSet::new();
        let mut vss = Vec::with_capacity(config.virtual_servers.len());
        for vs_cfg in &config.virtual_servers {
            let label = format_vs(vs_cfg);
            let mut keys = Vec::new();
            for k in service_keys(vs_cfg, &config.virtual_server_groups) {
                if claimed.insert(k.clone()) {
                    keys.push(k);
                } else {
                    self.log(
                        Some(&label),
                        None,
                        format!("service {k:?} belongs to an earlier virtual_server; ignored here"),
                    );
                }
            }
            // check_data.c: "quorum … exceeds total weight of real servers, reducing",
            // "hysteresis >= quorum; setting hysteresis to quorum - 1".
            let total: i64 = vs_cfg
                .real_servers
                .iter()
                .map(|r| i64::from(r.weight).max(0))
                .sum();
            let quorum = i64::from(vs_cfg.quorum).min(total) as u32;
            let hysteresis = vs_cfg.hysteresis.min(quorum.saturating_sub(1));
            let mut rss = Vec::with_capacity(vs_cfg.real_servers.len());
            for rs_cfg in &vs_cfg.real_servers {
                let mut cfg = rs_cfg.clone();
                let checkers_cfg = std::mem::take(&mut cfg.checkers);
                let rlabel = format_rs(cfg.address, cfg.port.unwrap_or(0), vs_cfg.protocol);
                let mut checkers = Vec::with_capacity(checkers_cfg.len());
                for c in checkers_cfg {
                    let c = self.new_checker(c, now, &label, &rlabel);
                    checkers.push(c);
                }
                let mut rs = RsRt {
                    cfg,
                    label: rlabel,
                    alive: false,
                    checkers,
                };
                // init_service_rs(): without alpha the checkers start up and the server
                // is in the pool at once; an alpha checker keeps it out until it passes.
                rs.alive = rs.num_failed() == 0;
                rss.push(rs);
            }
            let mut cfg = vs_cfg.clone();
            cfg.real_servers = Vec::new();
            let mut v = VsRt {
                cfg,
                label,
                quorum,
                hysteresis,
                quorum_up: false,
                sorry_active: false,
                rss,
                keys,
                ipvs: BTreeMap::new(),
            };
            // set_quorum_states()
            v.quorum_up = v.alive_weight() >= i64::from(v.quorum) + i64::from(v.hysteresis);
            vss.push(v);
        }
        vss
    }

    /// A checker as at startup, without an id or first run yet ([`Self::assign_fresh`]
    /// gives those, so a reload can hand kept checkers their old ones first).
    fn new_checker(&mut self, cfg: Checker, now: Instant, vs: &str, rs: &str) -> CheckerRt {
        let why = unsupported_reason(&cfg.kind);
        if let Some(why) = why {
            self.log(
                Some(vs),
                Some(rs),
                format!(
                    "{} of {rs} not run: {why}; it counts as up",
                    cfg.kind.keyword()
                ),
            );
        }
        let supported = why.is_none();
        // check_data.c: alpha checkers start failed; "for non alpha mode, one failure is
        // enough initially" (retry_it = retry).
        CheckerRt {
            id: ProbeId(0),
            supported,
            is_up: !(supported && cfg.schedule.alpha),
            has_run: false,
            retry_it: cfg.schedule.retry,
            url_idx: 0,
            failed_url: false,
            dyn_status: None,
            next_run: None,
            in_flight: None,
            started: now,
            cfg,
        }
    }

    pub(super) fn checker(&self, (vi, ri, ci): Loc) -> &CheckerRt {
        &self.vss[vi].rss[ri].checkers[ci]
    }

    pub(super) fn checker_mut(&mut self, (vi, ri, ci): Loc) -> &mut CheckerRt {
        &mut self.vss[vi].rss[ri].checkers[ci]
    }
}
