//! The checker engine's run-time state: one record per virtual server, real server and
//! checker (keepalived's `virtual_server_t`, `real_server_t`, `checker_t`).

use std::collections::BTreeMap;

use super::ipvs::{Service, ServiceKey};
use super::probe::ProbeId;
use crate::config::model::{Checker, CheckerKind, Protocol, RealServer, VirtualServer, VsAddress};
use crate::time::Instant;

/// A checker's run-time state (`checker_t`: `is_up`, `has_run`, `retry_it`, …).
#[derive(Debug, Clone)]
pub(super) struct CheckerRt {
    pub(super) id: ProbeId,
    pub(super) cfg: Checker,
    /// Checkers without what they need never probe and count as up.
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
    /// MISC_CHECK: the exit status that last settled its state, a success or the
    /// failure after the retries (`misck_checker->last_exit_code`), for the dump.
    pub(super) last_exit: u32,
    /// FILE_CHECK: what its file adds to the real server's weight (`cur_weight`), 0
    /// while down.
    pub(super) file_weight: i64,
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
    /// Whether it runs probes: FILE_CHECK follows its file and BFD_CHECK its BFD
    /// session instead.
    pub(super) fn probes(&self) -> bool {
        self.supported
            && !matches!(
                self.cfg.kind,
                CheckerKind::FileCheck { .. } | CheckerKind::BfdCheck { .. }
            )
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
    /// A reload kept it (`rs->reloaded`), and its effective weight before the reload
    /// (`peffective_weight`, 0 otherwise), for the dump.
    pub(super) reloaded: bool,
    pub(super) prev_weight: i64,
}

impl RsRt {
    pub(super) fn port(&self) -> u16 {
        self.cfg.port.unwrap_or(0)
    }
    fn iweight(&self) -> i64 {
        i64::from(self.cfg.weight)
    }
    /// `rs->effective_weight`: the configured weight plus each dynamic MISC_CHECK's
    /// `cur_weight = status − 2 − iweight` (`misc_check_child_thread()`) and each
    /// FILE_CHECK's value × weight (`set_track_file_weights()`).
    pub(super) fn effective_weight(&self) -> i64 {
        let iw = self.iweight();
        let misc = self
            .checkers
            .iter()
            .filter_map(|c| c.dyn_status)
            .map(|s| i64::from(s) - 2 - iw)
            .sum::<i64>();
        let files = self.checkers.iter().map(|c| c.file_weight).sum::<i64>();
        iw + misc + files
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
    /// A reload kept it (`vs->reloaded`), for the dump.
    pub(super) reloaded: bool,
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
