//! The run-time state of a configuration, set up at start and at each reload: each
//! virtual server's services and capped quorum, each real server's checkers, and the
//! labels keepalived logs them by (`alloc_vs()`, `register_checkers_thread()`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::groups::{auto_fwmark_group, fwmark_ranges, service_keys};
use super::ipvs::{proto_str, FwmarkRange, ServiceKey};
use super::probe::ProbeId;
use super::runtime::{CheckerRt, RsRt, VsRt};
use super::CheckEngine;
use crate::config::model::{Checker, CheckerKind, Config, Protocol, VirtualServer, VsAddress};
use crate::time::Instant;

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
        let mut marks = BTreeMap::new();
        let mut ranges = Vec::new();
        for vs_cfg in &config.virtual_servers {
            let label = format_vs(vs_cfg);
            let auto_mark = self.auto_fwmark(vs_cfg, config, &mut marks, &mut ranges);
            let mut keys = Vec::new();
            for k in service_keys(vs_cfg, &config.virtual_server_groups, auto_mark) {
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
                    reloaded: false,
                    prev_weight: 0,
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
                reloaded: false,
                sorry_active: false,
                rss,
                keys,
                ipvs: BTreeMap::new(),
            };
            // set_quorum_states()
            v.quorum_up = v.alive_weight() >= i64::from(v.quorum) + i64::from(v.hysteresis);
            vss.push(v);
        }
        self.auto_fwmarks = marks;
        self.fwmark_ranges = ranges;
        vss
    }

    /// With `nftables_ipvs`, the fwmark of a virtual server's group for its protocol
    /// (`set_vs_fwmark()`): the one the group had before a reload
    /// (`clear_diff_vsg()` carries `auto_fwmark` over), else the next from
    /// `nftables_ipvs_start_fwmark` on (`get_next_fwmark()`: marks are not reused). The
    /// group's entries join `ranges` when its mark is first given out, so they are in
    /// the order keepalived adds them: the virtual servers', then the entries'.
    fn auto_fwmark(
        &mut self,
        vs: &VirtualServer,
        config: &Config,
        marks: &mut BTreeMap<(String, Protocol), u32>,
        ranges: &mut Vec<FwmarkRange>,
    ) -> Option<u32> {
        self.global.nftables_ipvs.as_ref()?;
        let g = auto_fwmark_group(vs, &config.virtual_server_groups)?;
        let key = (g.name.clone(), vs.protocol);
        if let Some(&mark) = marks.get(&key) {
            return Some(mark);
        }
        let mark = match self.auto_fwmarks.get(&key) {
            Some(&mark) => mark,
            None => {
                let next = self
                    .next_fwmark
                    .unwrap_or(self.global.nftables_ipvs_start_fwmark);
                self.next_fwmark = Some(next.wrapping_add(1));
                next
            }
        };
        marks.insert(key, mark);
        ranges.extend(fwmark_ranges(g, vs.protocol, mark));
        Some(mark)
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
        // add_rs_to_track_files(): a FILE_CHECK has run from the start (its file was
        // read) and is down while its file says fault (set_track_file_checkers_down()).
        let file = match &cfg.kind {
            CheckerKind::FileCheck {
                track_file: Some(t),
                weight,
                weight_reverse,
            } => Some(self.file_check_status(t, *weight, *weight_reverse)),
            _ => None,
        };
        // check_data.c: alpha checkers start failed; "for non alpha mode, one failure is
        // enough initially" (retry_it = retry).
        CheckerRt {
            id: ProbeId(0),
            supported,
            is_up: match file {
                Some(status) => status.is_some(),
                None => !(supported && cfg.schedule.alpha),
            },
            has_run: file.is_some(),
            file_weight: file.flatten().unwrap_or(0),
            retry_it: cfg.schedule.retry,
            url_idx: 0,
            failed_url: false,
            dyn_status: None,
            last_exit: 0,
            next_run: None,
            in_flight: None,
            started: now,
            cfg,
        }
    }
}
