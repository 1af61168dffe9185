//! One VRRP instance: its timers, what it does on an advert in each state, and what
//! becoming and leaving master puts on the wire and on the host (keepalived `vrrp.c`).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::config::model::{GlobalDefs, IpAddress, VrrpInstance};
use crate::time::{us, Instant};
use crate::wire::advert::{AdvertRepr, EmitOptions};
use crate::wire::ah::AhRepr;
use crate::wire::vrrp::VrrpBody;
use crate::wire::{self, Family, GarpRepr, UnsolicitedNaRepr, VipList, VrrpRepr};

use super::garp::GarpPacer;
use super::io::{InterfaceInfo, Output, Owned, State};
use super::metrics::Telemetry;
use super::notify;
use super::outbox::{self, Outbox};
use super::receive::{Expect, ExpectAuth, Validator};
use super::stats::Stats;

const SECOND_US: u64 = 1_000_000;
const CENTI_US: u64 = 10_000;

/// The most a master's periodic advert goes early to share a wake-up
/// ([`Instance::advert_slack`]).
pub const ADVERT_SLACK_MAX: Duration = Duration::from_micros(4_000);

/// Why an instance is in FAULT (`vrrp->flags_if_fault` and the tracker count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultFlags {
    pub tracker: bool,
    pub interface_down: bool,
    pub no_source_ip: bool,
    /// `unicast_fault_no_peer` with no `unicast_peer` to send to: a fault of the
    /// configuration, held for the instance's life (`vrrp->num_config_faults`).
    #[serde(default)]
    pub no_peer: bool,
}

impl FaultFlags {
    pub fn any(self) -> bool {
        self.tracker || self.interface_down || self.no_source_ip || self.no_peer
    }

    pub fn reason(self) -> &'static str {
        if self.no_peer {
            "unicast without any peers"
        } else if self.interface_down {
            "interface down"
        } else if self.tracker {
            "tracker down"
        } else if self.no_source_ip {
            "no source address"
        } else {
            "none"
        }
    }
}

/// What the rest of the engine lends an instance while it acts.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub out: &'a mut Outbox,
    pub interfaces: &'a BTreeMap<String, InterfaceInfo>,
    pub global: &'a GlobalDefs,
    pub garp: &'a mut GarpPacer,
}

/// A validated advert, as the state machine needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Heard {
    pub src: IpAddr,
    pub priority: u8,
    /// v3: the sender's Max Adver Int.
    pub interval: Option<Duration>,
}

/// What an advert did to a master, for the engine's sync-group logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MasterRx {
    Stayed,
    /// Heard a lower priority: stayed master and answered.
    Lower,
    /// Yielded to a higher priority: now BACKUP.
    Yielded,
}

/// Why an instance last became master: RFC 6527's `vrrpv3StatisticsNewMasterReason`,
/// kept as keepalived keeps it (`stats->master_reason`, set from `next_master_reason` on
/// entering MASTER; `vrrp_state_backup()` and `vrrp_init_state()` set the next one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MasterReason {
    #[default]
    NotMaster = 0,
    /// The master sent priority 0.
    Priority = 1,
    /// We preempted a lower-priority master.
    Preempted = 2,
    /// The master went quiet.
    MasterNoResponse = 3,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Instance {
    pub cfg: VrrpInstance,
    pub family: Family,
    pub state: State,
    /// What the instance is heading for (`vrrp->wantstate`), for sync groups.
    pub want: State,
    pub effective_priority: u8,
    /// The priority a `notify_priority_changes` FIFO line last reported, or the
    /// configured one (keepalived's `effective_priority` of a freshly read instance, which
    /// a reload starts again from, so a tracked priority is reported anew).
    #[serde(default)]
    pub notified_priority: u8,
    pub master_adver_int: Duration,
    /// BACKUP: when the master is declared down. MASTER: the next advert (`sands`).
    pub deadline: Option<Instant>,
    /// `preempt_delay` running until then.
    pub preempt_time: Option<Instant>,
    /// The source of the last advert accepted from a master, or of a lower-priority
    /// one discarded (keepalived's `master_saddr`, kept "for SNMP purposes"); kept while
    /// master, as keepalived keeps it.
    pub master_addr: Option<IpAddr>,
    pub master_priority: u8,
    /// Why it last became master, and why it would next.
    #[serde(default)]
    pub master_reason: MasterReason,
    #[serde(default)]
    pub next_master_reason: MasterReason,
    /// The last refusal's [`super::Reason::proto_error`] (RFC 6527
    /// `vrrpv3StatisticsProtoErrReason`), 0 before any.
    #[serde(default)]
    pub proto_err_reason: u8,
    pub faults: FaultFlags,
    pub scripts_init: bool,
    pub sync: Option<usize>,
    pub validator: Validator,
    pub stats: Stats,
    /// The [`Outbox`] lane of its interface, where every output of it goes.
    pub lane: usize,
    ip_id: u16,
    ah_seq: u32,
    garp_delayed_at: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    garp_lower_at: Option<Instant>,
    /// `garp_extra_if`: when a master's next round of GARPs on its other interfaces is
    /// due, looked at as each advert goes.
    pub(crate) extra_if_garp_at: Option<Instant>,
    /// The addresses every advert carries, built once.
    advert_vips: VipList,
    /// Duplicate address owner handling (`vrrp_state_master_rx()`): adverts of ours left
    /// before the rogue owner must have gone quiet, the rogue's interval, and until when
    /// we listen for it.
    rogue_counter: u8,
    rogue_adver_int: Duration,
    rogue_until: Option<Instant>,
    /// An owner that backed off from a rogue owner runs at 254 until that owner leaves.
    pub owner_reduced: bool,
    /// When the state last changed (`vrrp->last_transition`), for the dumps.
    #[serde(default)]
    pub last_transition: Option<Instant>,
    /// The priority plus the tracked weights, before it is held within 1..=254
    /// (`vrrp->total_priority`), for the dumps.
    #[serde(default)]
    pub total_priority: i32,
    /// Transitions, time in each state, refused adverts by reason: for metrics.
    #[serde(default)]
    pub telemetry: Telemetry,
}

impl Instance {
    pub fn new(mut cfg: VrrpInstance, global: &GlobalDefs) -> Instance {
        // The parser's growth slack, kept for the instance's life, is a third of the
        // memory of 1,000 one-address instances.
        cfg.virtual_ipaddress.shrink_to_fit();
        cfg.virtual_ipaddress_excluded.shrink_to_fit();
        let expect = Expect::from_instance(&cfg, global);
        let family = expect.family;
        Instance {
            family,
            state: State::Init,
            want: State::Init,
            effective_priority: cfg.priority,
            notified_priority: cfg.priority,
            master_adver_int: us(cfg.advert_int_us),
            deadline: None,
            preempt_time: None,
            master_addr: None,
            master_priority: 0,
            master_reason: MasterReason::NotMaster,
            next_master_reason: MasterReason::MasterNoResponse,
            proto_err_reason: 0,
            faults: FaultFlags::default(),
            scripts_init: false,
            sync: None,
            validator: Validator::new(expect),
            stats: Stats::default(),
            ip_id: 0,
            ah_seq: 0,
            garp_delayed_at: None,
            garp_refresh_at: None,
            garp_lower_at: None,
            extra_if_garp_at: None,
            advert_vips: advert_vips(&cfg, family),
            rogue_counter: 0,
            rogue_adver_int: Duration::ZERO,
            lane: outbox::GENERAL,
            rogue_until: None,
            owner_reduced: false,
            last_transition: None,
            total_priority: i32::from(cfg.priority),
            telemetry: Telemetry::default(),
            cfg,
        }
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn vrid(&self) -> u8 {
        self.cfg.virtual_router_id
    }

    pub fn interface(&self) -> &str {
        self.cfg.interface.as_deref().unwrap_or("")
    }

    /// Where the VIPs go: the VMAC of `use_vmac`, else the interface.
    pub fn vip_interface(&self) -> &str {
        self.cfg.vip_interface().unwrap_or("")
    }

    /// Where adverts are sent and received (see [`VrrpInstance::xmit_interface`]).
    pub fn xmit_interface(&self) -> &str {
        self.cfg.xmit_interface().unwrap_or("")
    }

    pub fn owner(&self) -> bool {
        self.cfg.priority == 255
    }

    pub fn adver_int(&self) -> Duration {
        us(self.cfg.advert_int_us)
    }

    /// How early a master's periodic advert may go, to share a wake-up with the others
    /// due by then: 1/256 of its interval, at most [`ADVERT_SLACK_MAX`] (3.9 ms of 1 s,
    /// 117 µs of 30 ms). A backup's down timer is three intervals and the skew (RFC 5798
    /// §6.4.2), so an advert that early is still in time. The timer after it counts from
    /// when this one was due, so masters whose takeovers went out spread keep their
    /// spread, and their backups' down timers fall due a few at a time: a backup takes
    /// over one instance in about as long as a master takes to, so the slack bounds how
    /// many it finds due at once.
    pub fn advert_slack(&self) -> Duration {
        (self.adver_int() / 256).min(ADVERT_SLACK_MAX)
    }

    /// Whether this master's next advert falls due by `now` with its slack.
    pub(crate) fn advert_due(&self, now: Instant) -> bool {
        self.state == State::Master
            && self
                .deadline
                .is_some_and(|d| d <= now + self.advert_slack())
    }

    pub fn unicast(&self) -> bool {
        !self.cfg.unicast_peers.is_empty()
    }

    /// Skew time (`VRRP_TIMER_SKEW`, RFC 5798 §6.1): v2 (256 − p)/256 s whatever the
    /// interval; v3 (256 − p) × Master_Adver_Interval / 256.
    pub fn skew(&self) -> Duration {
        let p = 256
            - u64::from(if self.owner() {
                255
            } else {
                self.effective_priority
            });
        if self.cfg.version == 2 {
            us(p * SECOND_US / 256)
        } else {
            let cs = self.master_adver_int.as_micros() as u64 / CENTI_US;
            us(p * cs * 625 / 16)
        }
    }

    /// Master_Down_Interval (RFC 5798 §6.1) with keepalived's `down_timer_adverts`.
    pub fn ms_down(&self) -> Duration {
        self.master_adver_int * self.cfg.down_timer_adverts.max(1) + self.skew()
    }

    /// Our advert source: `unicast_src_ip` / `mcast_src_ip`, else the interface's primary
    /// address of the family.
    pub fn src_addr(&self, ifs: &BTreeMap<String, InterfaceInfo>) -> Option<IpAddr> {
        if let Some(a) = self.cfg.src_ip {
            return Some(a);
        }
        let i = ifs.get(self.interface())?;
        match self.family {
            Family::V4 => i.ipv4.map(IpAddr::V4),
            Family::V6 => i.ipv6_ll.map(IpAddr::V6),
        }
    }

    /// The earliest of this instance's timers.
    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.deadline,
            self.garp_delayed_at,
            self.garp_refresh_at,
            self.garp_lower_at,
            self.rogue_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn log(&self, cx: &mut Ctx<'_>, message: String) {
        cx.out.push_back(Output::Log {
            instance: self.name().to_string(),
            message,
        });
    }

    pub(crate) fn set_state(&mut self, cx: &mut Ctx<'_>, to: State, reason: &str) {
        if self.state != to {
            cx.out.push_back(Output::StateChange {
                instance: self.name().to_string(),
                from: self.state,
                to,
                reason: reason.to_string(),
                at: cx.now,
            });
            self.telemetry.transition(self.state, to, cx.now);
            self.state = to;
            self.last_transition = Some(cx.now);
        }
    }

    /// Builds and queues one advert per destination (`vrrp_send_adv()`): the multicast
    /// group, or each unicast peer in turn.
    pub(crate) fn send_advert(&mut self, cx: &mut Ctx<'_>, priority: u8) {
        let Some(src) = self.src_addr(cx.interfaces) else {
            self.log(cx, "no source address to send adverts from".into());
            return;
        };
        // keepalived skips 0: the kernel would fill in its own ID.
        self.ip_id = self.ip_id.wrapping_add(1).max(1);
        let vips = self.advert_vips.clone();
        let auth = self.validator.expect.auth;
        let body = if self.cfg.version == 2 {
            // PASS carries the password; AH's data is in its own header.
            let auth_data = match auth {
                ExpectAuth::Pass(p) => p,
                ExpectAuth::None | ExpectAuth::Ah(_) => [0; 8],
            };
            let secs = (self.cfg.advert_int_us / SECOND_US).clamp(1, 255) as u8;
            VrrpBody::V2 {
                auth_type: auth.auth_type(),
                adver_int_secs: secs,
                auth_data,
            }
        } else {
            let cs = (self.cfg.advert_int_us / CENTI_US)
                .clamp(1, u64::from(wire::vrrp::MAX_V3_INTERVAL_CS)) as u16;
            VrrpBody::V3 {
                max_adver_int_cs: cs,
            }
        };
        let ah = match (auth, src) {
            (ExpectAuth::Ah(_), IpAddr::V4(s)) if self.cfg.version == 2 => {
                // A new master must send above every sequence its peers have seen
                // (keepalived keeps one counter and syncs it from received adverts).
                let floor = self.validator.highest_ah_seq().unwrap_or(0);
                self.ah_seq = self.ah_seq.max(floor).saturating_add(1);
                Some(AhRepr {
                    next_header: wire::IPPROTO_VRRP,
                    spi: u32::from(s),
                    seq: self.ah_seq,
                    icv: [0; 12],
                })
            }
            _ => None,
        };
        let vrrp = VrrpRepr {
            vrid: self.cfg.virtual_router_id,
            priority,
            body,
            vips,
        };
        let opts = EmitOptions {
            v3_checksum: self.validator.tx_v3_checksum(),
            mcast_group4: self.validator.expect.mcast_group4,
            ah_key: match auth {
                ExpectAuth::Ah(k) => Some(k),
                _ => None,
            },
            unicast: self.unicast(),
        };
        let dsts: Vec<(IpAddr, u8)> = if self.unicast() {
            let ttl = self.cfg.unicast_ttl.unwrap_or(wire::VRRP_TTL);
            self.cfg
                .unicast_peers
                .iter()
                .map(|p| (p.address, ttl))
                .collect()
        } else {
            let group = match self.family {
                Family::V4 => self.cfg.mcast_dst_ip.unwrap_or(cx.global.vrrp_mcast_group4),
                Family::V6 => self.cfg.mcast_dst_ip.unwrap_or(cx.global.vrrp_mcast_group6),
            };
            vec![(group, wire::VRRP_TTL)]
        };
        for (dst, ttl) in dsts {
            if Family::of(&dst) != self.family {
                continue;
            }
            let advert = AdvertRepr {
                src,
                dst,
                ttl,
                tos: wire::VRRP_TOS,
                ident: self.ip_id,
                ah,
                vrrp: vrrp.clone(),
            };
            let mut bytes = vec![0u8; advert.buffer_len()];
            advert.emit(&mut bytes, &opts);
            cx.out.push_back(Output::Transmit {
                instance: self.name().to_string(),
                interface: self.xmit_interface().to_string(),
                family: self.family,
                src,
                dst,
                ttl,
                bytes,
            });
        }
        self.stats.advert_sent += 1;
        if priority == 0 {
            self.stats.pri_zero_sent += 1;
        }
    }

    /// Everything this instance puts on the host while it is master: VIPs, excluded
    /// VIPs, virtual routes and rules.
    pub fn owned(&self) -> Vec<Owned> {
        // The address owner always accepts (`vrrp_handle_accept_mode()`).
        let no_accept = !self.cfg.accept && self.cfg.priority != 255;
        let addr = |a: &IpAddress, excluded| Owned::Address {
            addr: a.clone(),
            interface: a
                .dev
                .clone()
                .unwrap_or_else(|| self.vip_interface().to_string()),
            excluded,
            no_accept,
        };
        self.cfg
            .virtual_ipaddress
            .iter()
            .map(|a| addr(a, false))
            .chain(
                self.cfg
                    .virtual_ipaddress_excluded
                    .iter()
                    .map(|a| addr(a, true)),
            )
            .chain(self.cfg.virtual_routes.iter().cloned().map(Owned::from))
            .chain(self.cfg.virtual_rules.iter().cloned().map(Owned::from))
            .collect()
    }

    /// Queues `repeat` GARPs / NAs for every VIP and excluded VIP: each address's frame
    /// is built once (`garp_master_repeat` is 5 by default, and a takeover of thousands
    /// of instances builds them back to back).
    fn garp_burst(&self, cx: &mut Ctx<'_>, repeat: u32) {
        if repeat == 0 {
            return;
        }
        let frames: Vec<Output> = self
            .cfg
            .virtual_ipaddress
            .iter()
            .chain(&self.cfg.virtual_ipaddress_excluded)
            .filter_map(|a| self.garp_frame(cx, a))
            .collect();
        for _ in 1..repeat {
            for frame in &frames {
                cx.garp.send(cx.now, frame.clone(), cx.out);
            }
        }
        for frame in frames {
            cx.garp.send(cx.now, frame, cx.out);
        }
    }

    /// The interface address `a` goes on: its `dev`, else the instance's.
    fn address_interface(&self, a: &IpAddress) -> String {
        a.dev
            .clone()
            .unwrap_or_else(|| self.vip_interface().to_string())
    }

    /// One gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) for `a`
    /// on its interface, through the GARP pacing.
    fn garp_for(&self, cx: &mut Ctx<'_>, a: &IpAddress) {
        if let Some(frame) = self.garp_frame(cx, a) {
            cx.garp.send(cx.now, frame, cx.out);
        }
    }

    /// The gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) for `a`
    /// on its interface; none while the interface is unknown.
    fn garp_frame(&self, cx: &Ctx<'_>, a: &IpAddress) -> Option<Output> {
        let ifname = self.address_interface(a);
        let info = cx.interfaces.get(&ifname)?;
        let frame = match a.address {
            IpAddr::V4(v4) => {
                // The interface's own MAC: on a VMAC that is the virtual MAC.
                let g = GarpRepr {
                    sender_mac: info.mac,
                    addr: v4,
                };
                let mut frame = vec![0; g.buffer_len()];
                g.emit(&mut frame);
                Output::SendGratuitousArp {
                    interface: ifname,
                    addr: v4,
                    frame,
                }
            }
            IpAddr::V6(v6) => {
                let na = UnsolicitedNaRepr {
                    sender_mac: info.mac,
                    target: v6,
                    router: info.ipv6_forwarding,
                };
                let mut frame = vec![0; na.buffer_len()];
                na.emit(&mut frame);
                Output::SendNeighborAdvert {
                    interface: ifname,
                    addr: v6,
                    frame,
                }
            }
        };
        Some(frame)
    }

    /// `garp_extra_if` (`vrrp_send_vmac_update()`): one GARP on each interface other
    /// than the instance's own that holds one of its addresses, for the first such
    /// address: on the VMACs we created (an address VMAC of `use_vmac_addr`), or with
    /// `all` on every such interface; the instance's own interface only with
    /// `vmac_xmit_base`, where adverts and their GARPs leave by the base interface.
    fn extra_if_garps(&self, cx: &mut Ctx<'_>, all: bool) {
        let own = self.vip_interface();
        let addresses = || {
            self.cfg
                .virtual_ipaddress
                .iter()
                .chain(&self.cfg.virtual_ipaddress_excluded)
        };
        // An address VMAC of use_vmac_addr, on an interface not the instance's.
        let address_vmac = |ifname: &str| {
            self.cfg.use_vmac_addr && ifname != own && Some(ifname) != self.cfg.interface.as_deref()
        };
        // With no address elsewhere, or none on a VMAC of ours without `all`, keepalived
        // turns the timer off (`vrrp_complete_instance()`).
        let elsewhere: Vec<String> = addresses()
            .map(|a| self.address_interface(a))
            .filter(|i| i != own)
            .collect();
        if elsewhere.is_empty() || (!all && !elsewhere.iter().any(|i| address_vmac(i))) {
            return;
        }
        let mut done: Vec<String> = Vec::new();
        for a in addresses() {
            let ifname = self.address_interface(a);
            let ours = ifname == own || address_vmac(&ifname);
            if !ours && !all {
                continue;
            }
            if ifname == own && !self.cfg.vmac_xmit_base {
                continue;
            }
            if done.contains(&ifname) {
                continue;
            }
            self.garp_for(cx, a);
            done.push(ifname);
        }
    }

    /// `vrrp_state_master_tx()`: the advert first, so the old master drops the addresses
    /// before our GARPs, and before the log line, which is not on the failover's path; then
    /// (`vrrp_state_become_master()`) the addresses, routes and rules, the GARP burst, a
    /// second burst after `garp_master_delay`, and the periodic refresh.
    pub(crate) fn become_master(&mut self, cx: &mut Ctx<'_>, reason: &str) {
        // The advert first, so the old master drops the addresses before our GARPs
        // (`vrrp_state_master_tx()`), then the addresses and GARPs
        // (`vrrp_state_become_master()`). keepalived logs "Entering MASTER STATE" between
        // the advert and the addresses; we report the state change (the log line, the
        // LVS sync daemon) after the GARPs, where keepalived leaves notifies and the sync
        // daemon, so that nothing the network waits for waits for a log write.
        self.send_advert(cx, self.effective_priority);
        for what in self.owned() {
            cx.out.push_back(Output::Add {
                instance: self.name().to_string(),
                what,
            });
        }
        self.garp_burst(cx, self.cfg.garp_master_repeat);
        self.set_state(cx, State::Master, reason);
        self.garp_delayed_at =
            (self.cfg.garp_master_delay_us > 0).then(|| cx.now + us(self.cfg.garp_master_delay_us));
        self.garp_refresh_at = (self.cfg.garp_master_refresh_us > 0).then(|| {
            cx.now + us(self.cfg.garp_master_delay_us) + us(self.cfg.garp_master_refresh_us)
        });
        self.extra_if_garp_at = self
            .cfg
            .garp_extra_if
            .as_ref()
            .filter(|g| g.interval_us > 0)
            .map(|g| cx.now + us(g.interval_us));
        self.master_adver_int = self.adver_int();
        self.deadline = Some(cx.now + self.adver_int());
        self.preempt_time = None;
        self.master_reason = self.next_master_reason;
        self.want = State::Master;
        self.stats.become_master += 1;
    }

    /// `vrrp_state_leave_master()`: priority 0 when going to FAULT or stopping, then rules,
    /// routes and addresses come off.
    pub(crate) fn leave_master(&mut self, cx: &mut Ctx<'_>, send_priority_zero: bool) {
        if send_priority_zero {
            self.send_advert(cx, 0);
        }
        let mut owned = self.owned();
        owned.reverse();
        for what in owned {
            cx.out.push_back(Output::Del {
                instance: self.name().to_string(),
                what,
            });
        }
        self.garp_delayed_at = None;
        self.garp_refresh_at = None;
        self.garp_lower_at = None;
        self.extra_if_garp_at = None;
        self.rogue_until = None;
        self.rogue_counter = 0;
        self.stats.release_master += 1;
    }

    /// Into BACKUP with a full master-down wait (owners: one interval plus skew).
    pub(crate) fn enter_backup(&mut self, cx: &mut Ctx<'_>, reason: &str) {
        self.master_adver_int = self.adver_int();
        let wait = if self.owner() {
            self.adver_int() + self.skew()
        } else {
            self.ms_down()
        };
        self.deadline = Some(cx.now + wait);
        (self.want, self.next_master_reason) = if self.owner() {
            (State::Master, MasterReason::Preempted)
        } else {
            (State::Backup, MasterReason::MasterNoResponse)
        };
        self.set_state(cx, State::Backup, reason);
    }

    /// `vrrp_state_backup()` after the advert passed `vrrp_check_packet()` (§3.5).
    pub(crate) fn backup_rx(&mut self, cx: &mut Ctx<'_>, h: Heard) {
        // An owner that backed off to 254 takes 255 back once the rogue is gone.
        if self.owner_reduced && (self.master_addr != Some(h.src) || h.priority != 255) {
            self.owner_reduced = false;
            self.effective_priority = 255;
        }
        if h.priority == 0 {
            // RFC 5798 §6.4.2: the master is leaving; take over after skew time.
            self.deadline = Some(cx.now + self.skew());
            self.next_master_reason = MasterReason::Priority;
            return;
        }
        let delay = us(self.cfg.preempt_delay_us);
        let delaying = !delay.is_zero() && self.preempt_time.is_none_or(|t| cx.now < t);
        if self.cfg.nopreempt || h.priority >= self.effective_priority || delaying {
            if h.priority >= self.effective_priority {
                self.preempt_time = None;
            } else if !delay.is_zero() && self.preempt_time.is_none() {
                self.preempt_time = Some(cx.now + delay);
            }
            if let Some(i) = h.interval {
                self.master_adver_int = i;
            }
            self.master_addr = Some(h.src);
            self.master_priority = h.priority;
            self.deadline = Some(cx.now + self.ms_down());
            self.want = State::Backup;
            self.next_master_reason = MasterReason::MasterNoResponse;
        } else {
            // "received lower priority advert - discarding": the down timer keeps running
            // and we preempt when it fires (RFC 5798 §6.4.2).
            self.log(
                cx,
                format!(
                    "received lower priority ({}) advert from {} - discarding",
                    h.priority, h.src
                ),
            );
            self.next_master_reason = MasterReason::Preempted;
            self.master_addr = Some(h.src);
        }
    }

    /// `vrrp_state_master_rx()` after validation (§3.6).
    pub(crate) fn master_rx(&mut self, cx: &mut Ctx<'_>, h: Heard) -> MasterRx {
        let ours = self.effective_priority;
        if h.priority == 0 {
            // RFC 5798 §6.4.3: a backup is waiting on us; answer at once.
            self.send_advert(cx, ours);
            self.deadline = Some(cx.now + self.adver_int());
            return MasterRx::Stayed;
        }
        let cmp = match self.src_addr(cx.interfaces) {
            Some(mine) => addr_cmp(&h.src, &mine),
            None => Ordering::Greater,
        };
        let higher = h.priority > ours || (h.priority == ours && cmp == Ordering::Greater);
        if higher && self.cfg.higher_prio_send_advert {
            self.send_advert(cx, ours);
        }
        if h.priority == ours && cmp == Ordering::Equal {
            self.log(
                cx,
                "equal priority advert received from remote host with our IP address".into(),
            );
            return MasterRx::Stayed;
        }
        let mut higher = higher;
        if h.priority == 255 && ours == 255 {
            self.rogue_owner(cx, h, cmp, &mut higher);
        }
        if higher {
            if let Some(i) = h.interval {
                self.master_adver_int = i;
            }
            self.master_addr = Some(h.src);
            self.master_priority = h.priority;
            self.leave_master(cx, false);
            self.deadline = Some(cx.now + self.ms_down());
            self.want = State::Backup;
            self.set_state(cx, State::Backup, "received higher priority advert");
            return MasterRx::Yielded;
        }
        self.log(
            cx,
            format!(
                "Received advert from {} with lower priority {}, ours {}, forcing new election",
                h.src, h.priority, ours
            ),
        );
        if !self.cfg.lower_prio_no_advert {
            self.send_advert(cx, ours);
            self.deadline = Some(cx.now + self.adver_int());
        }
        let rep = self.cfg.garp_lower_prio_repeat;
        if rep > 0 {
            self.garp_burst(cx, rep);
            self.garp_lower_at = (self.cfg.garp_lower_prio_delay_us > 0)
                .then(|| cx.now + us(self.cfg.garp_lower_prio_delay_us));
        }
        MasterRx::Lower
    }

    /// Two address owners (`vrrp_state_master_rx()`): the one with the lower address backs
    /// off at once; the higher one waits for two adverts of its own and a little more
    /// than an interval, and backs off (to 254) only if the rogue is still advertising.
    fn rogue_owner(&mut self, cx: &mut Ctx<'_>, h: Heard, cmp: Ordering, higher: &mut bool) {
        let msg = |s: &Self| {
            format!(
                "CONFIGURATION ERROR: local instance and {} are both configured as address owner of VRID {}, please resolve",
                h.src, s.cfg.virtual_router_id
            )
        };
        if cmp == Ordering::Greater {
            self.log(cx, msg(self));
        } else if self.rogue_until.is_some_and(|t| cx.now < t) {
            let m = format!(
                "{} is still advertising as address owner, please resolve - reducing our priority",
                h.src
            );
            self.log(cx, m);
            self.rogue_until = None;
            self.owner_reduced = true;
            self.effective_priority = 254;
            *higher = true;
        } else {
            self.rogue_adver_int = h.interval.unwrap_or(self.adver_int());
            if self.rogue_counter == 0 {
                self.log(cx, msg(self));
                self.rogue_counter = 2;
            }
        }
    }

    /// A MASTER's advert timer, and every instance's GARP timers.
    pub(crate) fn master_timers(&mut self, cx: &mut Ctx<'_>) {
        let now = cx.now;
        if let Some(due) = self.deadline.filter(|_| self.advert_due(now)) {
            self.send_advert(cx, self.effective_priority);
            // From when it was due, unless it went later than its slack allows (a stalled
            // loop): then from now, as `vrrp_state_master_tx()` re-arms `sands`, rather
            // than a catch-up burst.
            let from = if now <= due + self.advert_slack() {
                due
            } else {
                now
            };
            self.deadline = Some(from + self.adver_int());
            // `vrrp_state_master_tx()` looks at the extra-interface GARPs as it sends.
            if let (Some(at), Some(g)) = (self.extra_if_garp_at, &self.cfg.garp_extra_if) {
                if now > at {
                    self.extra_if_garp_at = Some(now + us(g.interval_us));
                    self.extra_if_garps(cx, g.all);
                }
            }
            if self.owner() && self.rogue_counter > 0 {
                self.rogue_counter -= 1;
                if self.rogue_counter == 0 {
                    // "a bit more than" the longer of the two intervals: 1.2 ×.
                    let wait = self.rogue_adver_int.max(self.adver_int()) * 12 / 10;
                    self.rogue_until = Some(now + wait);
                }
            }
        }
        if self.rogue_until.is_some_and(|t| t <= now) {
            self.rogue_until = None;
            self.log(
                cx,
                "rogue address owner appears to have stopped advertising".into(),
            );
        }
        if self.garp_delayed_at.is_some_and(|t| t <= now) {
            self.garp_delayed_at = None;
            self.garp_burst(cx, self.cfg.garp_master_repeat);
        }
        if self.garp_lower_at.is_some_and(|t| t <= now) {
            self.garp_lower_at = None;
            self.garp_burst(cx, self.cfg.garp_lower_prio_repeat);
        }
        if self.garp_refresh_at.is_some_and(|t| t <= now) {
            self.garp_refresh_at = Some(now + us(self.cfg.garp_master_refresh_us));
            self.garp_burst(cx, self.cfg.garp_master_refresh_repeat.max(1));
        }
    }

    /// A new effective priority; a BACKUP's pending down timer moves by the skew change.
    /// `reported_state` is the state a `notify_priority_changes` line names.
    pub(crate) fn set_priority(&mut self, cx: &mut Ctx<'_>, p: u8, reported_state: State) {
        // vrrp_set_effective_priority(): an owner's priority never changes, and with
        // notify_priority_changes each change is a FIFO line, MASTER_PRIORITY for a
        // master and BACKUP_PRIORITY in any other state; no script runs for it.
        if p != self.notified_priority && !self.owner() {
            self.notified_priority = p;
            if self.cfg.notify_priority_changes && notify::fifo_configured(cx.global) {
                notify::priority_change(cx.out, self.name(), reported_state, p);
            }
        }
        if p == self.effective_priority {
            return;
        }
        let old_skew = self.skew();
        self.effective_priority = p;
        if self.state == State::Backup {
            if let Some(d) = self.deadline {
                let new_skew = self.skew();
                self.deadline = Some(if new_skew >= old_skew {
                    d + (new_skew - old_skew)
                } else {
                    Instant::from_micros(
                        d.as_micros()
                            .saturating_sub((old_skew - new_skew).as_micros() as u64),
                    )
                });
            }
        }
        cx.out.push_back(Output::PriorityChange {
            instance: self.name().to_string(),
            effective: p,
        });
    }
}

/// `vrrp_saddr_cmp()` / `inet_inaddrcmp()`: numeric order in host byte order.
pub fn addr_cmp(a: &IpAddr, b: &IpAddr) -> Ordering {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(*a).cmp(&u32::from(*b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(*a).cmp(&u128::from(*b)),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}

/// The VIPs of the instance's family, in configuration order, as adverts list them.
fn advert_vips(cfg: &VrrpInstance, family: Family) -> VipList {
    let addrs = cfg.virtual_ipaddress.iter().map(|a| a.address);
    match family {
        Family::V4 => VipList::V4(
            addrs
                .filter_map(|a| match a {
                    IpAddr::V4(v) => Some(v),
                    IpAddr::V6(_) => None,
                })
                .collect(),
        ),
        Family::V6 => VipList::V6(
            addrs
                .filter_map(|a| match a {
                    IpAddr::V6(v) => Some(v),
                    IpAddr::V4(_) => None,
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Notifies;
    use std::mem::size_of;

    /// The log names one cause when several hold, the one the operator must mend first:
    /// no peer to send to, then the interface, then a tracker, then the source address.
    #[test]
    fn a_fault_is_named_by_its_first_cause() {
        let reason = |no_peer, interface_down, tracker, no_source_ip| {
            FaultFlags {
                tracker,
                interface_down,
                no_source_ip,
                no_peer,
            }
            .reason()
        };
        assert_eq!(reason(false, false, false, false), "none");
        assert_eq!(reason(false, false, false, true), "no source address");
        assert_eq!(reason(false, false, true, true), "tracker down");
        assert_eq!(reason(false, true, true, true), "interface down");
        assert_eq!(reason(true, true, true, true), "unicast without any peers");
    }

    /// The engine holds one [`Instance`], its configuration inside, for each
    /// `vrrp_instance`: 1,000 instances cost 1,000 times these sizes before anything they
    /// point to. Rarely set parts of the configuration (notify scripts, `use_vmac`,
    /// `auth_hmac`) are boxed to keep them out of the common case.
    #[test]
    fn an_instance_and_its_configuration_stay_within_their_sizes() {
        let (config, instance, notifies) = (
            size_of::<VrrpInstance>(),
            size_of::<Instance>(),
            size_of::<Notifies>(),
        );
        let advice = "box a rarely set new field, or raise the bound if every instance needs it";
        assert!(
            notifies <= 40,
            "five notify slots take {notifies} bytes: {advice}"
        );
        assert!(
            config <= 700,
            "an instance's configuration takes {config} bytes: {advice}"
        );
        assert!(
            instance <= 1_344,
            "an instance takes {instance} bytes: {advice}"
        );
    }
}
