//! The checker process's SIGUSR1 dump, `keepalived_check.data`, in keepalived 2.2.7's
//! format (`dump_data_check()`, `check_data.c`): the global definitions as the parent
//! prints them (`dump_global_data()` outside the VRRP process: no default interface, the
//! lower-priority GARP values unresolved), then `dump_check_data()`: the SSL context, the
//! LVS topology (virtual server groups, each virtual server with its real servers), the
//! checkers queue (`dump_checkers_queue()`, with each type's own lines), the tracked
//! files and the BFDs the checkers follow. Lines, words and order are keepalived's.
//!
//! What the engine cannot know is passed in the VRRP dump's [`DumpHost`]: the wall
//! clock (a MISC_CHECK's last run), the scripts' uid:gid and the tracked files' paths.
//!
//! Differences from keepalived 2.2.7, each on purpose or for want of a fact:
//! - the SSL password is [`MASK`]; keepalived writes it in clear;
//! - `Regex options:` lists the options given; keepalived lists every option it knows
//!   whenever one is given (its loop tests each table entry's bit, not the url's);
//! - `Regex stack start …, max …` is not written (the configuration keeps one value);
//! - a connection's `Last errno` is not written (the prober keeps no errno; keepalived
//!   writes it only after an unusual `connect()` error);
//! - a MISC_CHECK's `timeout` is the one in force: keepalived writes 0 when
//!   `misc_timeout` is not given, and the completed configuration no longer tells;
//! - scripts' paths are as configured: keepalived writes them through `realpath()`;
//! - an SMTP_CHECK's `host` blocks stay one checker; keepalived makes one per host.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};

use super::ipvs::proto_str;
use super::runtime::{real_weight, CheckerRt, RsRt, VsRt};
use super::CheckEngine;
use crate::config::model::{
    CheckerKind, Command, Config, Given, HttpCheck, LvsKind, LvsMethod, Protocol, SslConfig,
    TrackFile, UdpCheck, Url, VirtualServerGroup, VsAddress, VsgEntry,
};
use crate::time::Instant;
use crate::vrrp::dump::{cmd_str, ctime, global_text, DumpHost, MASK};

/// The uid:gid a command runs as: its own `user [group]`'s as the host resolves it,
/// else the default script user's.
fn ids_of(host: &DumpHost, c: &Command) -> (u32, u32) {
    match (&c.user, host.user_ids) {
        (Some(u), Some(of)) => of(u, c.group.as_deref()).unwrap_or(host.script_ids),
        _ => host.script_ids,
    }
}

/// `t` on the host's wall clock, in microseconds since the epoch.
fn wall_us(host: &DumpHost, t: Instant) -> u64 {
    let (now, t) = (host.now.0, t.0);
    if t <= now {
        host.wall_us.saturating_sub(now - t)
    } else {
        host.wall_us + (t - now)
    }
}

/// What the dump needs of the configuration besides the virtual servers the engine
/// runs, with what a reload kept (keepalived's `reloaded` flags).
#[derive(Debug, Clone, Default)]
pub(super) struct DumpCfg {
    ssl: Option<SslConfig>,
    /// Each group with, per entry, whether the previous configuration had it.
    groups: Vec<(VirtualServerGroup, Vec<bool>)>,
    /// Each `track_file`, and whether the previous configuration had it.
    track_files: Vec<(TrackFile, bool)>,
    /// The `bfd_instance`s, which the checker process follows (`bfd_checker_handler()`).
    bfds: Vec<String>,
}

impl DumpCfg {
    /// From `config`; `old` is the configuration a reload replaces.
    pub(super) fn new(config: &Config, old: Option<&DumpCfg>) -> DumpCfg {
        let groups = config
            .virtual_server_groups
            .iter()
            .map(|g| {
                let before = old.and_then(|o| o.groups.iter().find(|(og, _)| og.name == g.name));
                let kept = g
                    .entries
                    .iter()
                    .map(|e| before.is_some_and(|(og, _)| og.entries.contains(e)))
                    .collect();
                (g.clone(), kept)
            })
            .collect();
        let track_files = config
            .track_files
            .iter()
            .map(|f| {
                let kept =
                    old.is_some_and(|o| o.track_files.iter().any(|(of, _)| of.name == f.name));
                (f.clone(), kept)
            })
            .collect();
        DumpCfg {
            ssl: config.ssl.clone(),
            groups,
            track_files,
            bfds: config
                .tracked_bfds
                .iter()
                .filter(|b| b.to_checker())
                .map(|b| b.name.clone())
                .collect(),
        }
    }
}

/// `format_decimal(val, TIMER_HZ_DIGITS)`: microseconds as seconds with six decimals.
fn decimal(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn on_off(b: bool) -> &'static str {
    if b {
        "ON"
    } else {
        "OFF"
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn abled(b: bool) -> &'static str {
    if b {
        "enabled"
    } else {
        "disabled"
    }
}

/// Whether a virtual server is a firewall-mark service, whose protocol keepalived drops
/// (`validate_check_config()`: a group counts when it holds marks and no addresses).
fn fwmark_only(address: &VsAddress, group: Option<&VirtualServerGroup>) -> bool {
    match (address, group) {
        (VsAddress::Fwmark { .. }, _) => true,
        (VsAddress::Group { .. }, Some(g)) => g
            .entries
            .iter()
            .all(|e| matches!(e, VsgEntry::Fwmark { .. })),
        _ => false,
    }
}

/// The address families a group's entries give (`vsg->have_ipv4`, `have_ipv6`).
fn group_families(g: &VirtualServerGroup) -> (bool, bool) {
    let mut v4v6 = (false, false);
    for e in &g.entries {
        match e {
            VsgEntry::Range { first, .. } => {
                if first.is_ipv6() {
                    v4v6.1 = true
                } else {
                    v4v6.0 = true
                }
            }
            VsgEntry::Fwmark {
                family_v6: Some(v6),
                ..
            } => {
                if *v6 {
                    v4v6.1 = true
                } else {
                    v4v6.0 = true
                }
            }
            VsgEntry::Fwmark { .. } => {}
        }
    }
    v4v6
}

/// `dump_forwarding_method()`. keepalived leaves the prefix out of the GUE and GRE lines.
fn forwarding(s: &mut String, prefix: &str, m: &LvsMethod) {
    let csum = match m.tunnel_checksum.as_deref() {
        Some("csum") => ", checksum",
        Some("remcsum") => ", remote checksum",
        _ => ", no checksum",
    };
    let _ = match (m.kind, m.tunnel_type.as_deref()) {
        (LvsKind::Nat, _) => writeln!(s, "   {prefix}forwarding method = NAT"),
        (LvsKind::Dr, _) => writeln!(s, "   {prefix}forwarding method = DR"),
        (LvsKind::Tun, Some("gue")) => writeln!(
            s,
            "   forwarding method = TUN, type = GUE, port = {}{csum}",
            m.tunnel_port.unwrap_or(0)
        ),
        (LvsKind::Tun, Some("gre")) => {
            writeln!(s, "   forwarding method = TUN, type = GRE{csum}")
        }
        (LvsKind::Tun, _) => writeln!(s, "   {prefix}forwarding method = TUN, type = IPIP"),
    };
}

/// `url->status_code` as `dump_url()` walks its bitmap: ascending, merged ranges.
fn status_ranges(u: &Url) -> Vec<String> {
    const MIN: u16 = 100;
    const MAX: u16 = 599;
    let set = |c: u16| {
        u.status_codes
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&c))
    };
    let mut out = Vec::new();
    let mut start = None;
    for c in MIN..=MAX + 1 {
        match (c <= MAX && set(c), start) {
            (true, None) => start = Some(c),
            (false, Some(a)) => {
                out.push(if a == c - 1 {
                    a.to_string()
                } else {
                    format!("{a}-{}", c - 1)
                });
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// A virtual server as the dump sees it: the run-time record and what keepalived
/// derives from it at parse time.
struct VsView<'a> {
    v: &'a VsRt,
    group: Option<&'a VirtualServerGroup>,
    /// `format_vs()`.
    label: String,
    /// The protocol word of `format_rs()`: `none` for a firewall-mark service.
    proto: &'static str,
}

impl VsView<'_> {
    /// `format_rs()`: `[ip]:proto:port`.
    fn rs_label(&self, addr: IpAddr, port: u16) -> String {
        format!("[{addr}]:{}:{port}", self.proto)
    }

    fn rs_method<'m>(&'m self, r: &'m RsRt) -> &'m LvsMethod {
        r.cfg
            .lvs_method
            .as_deref()
            .unwrap_or(&self.v.cfg.lvs_method)
    }

    /// `vs->af` as `vs_end_handler()` and `link_vsg_to_vs()` settle it: `Some(true)` for
    /// IPv6, `None` when unknown.
    fn family_v6(&self) -> Option<bool> {
        let c = &self.v.cfg;
        if let Some(v6) = c.ip_family_v6 {
            return Some(v6);
        }
        if let VsAddress::Ip { address, .. } = c.address {
            return Some(address.is_ipv6());
        }
        // Tunnelled servers may be of either family, so they do not count.
        let servers = self
            .v
            .rss
            .iter()
            .map(|r| (r.cfg.address, self.rs_method(r).kind))
            .chain(c.sorry_server.as_ref().map(|ss| {
                let kind = ss.lvs_method.as_ref().unwrap_or(&c.lvs_method).kind;
                (ss.address, kind)
            }));
        let mut found = None;
        for (addr, kind) in servers {
            if kind != LvsKind::Tun {
                found = Some(addr.is_ipv6());
                break;
            }
        }
        match (&c.address, found) {
            (_, Some(v6)) => Some(v6),
            (VsAddress::Group { .. }, None) => match self.group.map(group_families) {
                Some((true, false)) => Some(false),
                Some((false, true)) => Some(true),
                _ => None,
            },
            _ => Some(false),
        }
    }

    /// `rs->set`: the server is in the kernel's table, in the pool or held at weight 0
    /// by `inhibit_on_failure` (`ipvs_cmd()`).
    fn rs_set(&self, r: &RsRt) -> bool {
        !self.v.ipvs.is_empty() && ((r.alive && !self.v.sorry_active) || r.cfg.inhibit_on_failure)
    }

    /// The sorry server is in the kernel's table: standing in, or held at weight 0 by
    /// `sorry_server_inhibit` (`init_service_vs()`).
    fn sorry_set(&self) -> bool {
        !self.v.ipvs.is_empty()
            && self.v.cfg.sorry_server.is_some()
            && (self.v.sorry_active || self.v.cfg.sorry_server_inhibit)
    }

    /// Destinations this virtual server has put in each service of its group's entries
    /// (`update_vsge_alive_count()`: one per ADDDEST, less one per DELDEST).
    fn dests_set(&self) -> u32 {
        let rs = self.v.rss.iter().filter(|r| self.rs_set(r)).count();
        rs as u32 + u32::from(self.sorry_set())
    }
}

impl CheckEngine {
    /// `keepalived_check.data` (`check_print_data()`): the global definitions, then
    /// `dump_check_data()`.
    pub fn data_text(&self, host: &DumpHost) -> String {
        let mut s = global_text(&self.global, true, host.script_ids);
        let views = self.views();
        self.ssl_text(&mut s);
        if !views.is_empty() {
            s.push_str("------< LVS Topology >------\n");
            // IP_VS_VERSION_CODE of the headers keepalived is built with.
            s.push_str(" System is compiled with LVS v1.2.1\n");
            for (g, kept) in &self.dump.groups {
                if !g.entries.is_empty() {
                    self.group_text(&mut s, g, kept, &views);
                }
            }
            for view in &views {
                vs_text(&mut s, view, host);
            }
        }
        self.checkers_text(&mut s, &views, host);
        self.track_files_text(&mut s, &views, host);
        self.bfds_text(&mut s, &views);
        s
    }

    fn views(&self) -> Vec<VsView<'_>> {
        // link_vsg_to_vs(): a group's members are numbered, and the number is the port
        // of `[group]:N`.
        let mut members: BTreeMap<&str, u16> = BTreeMap::new();
        self.vss
            .iter()
            .map(|v| {
                let group = match &v.cfg.address {
                    VsAddress::Group { name } => self
                        .dump
                        .groups
                        .iter()
                        .map(|(g, _)| g)
                        .find(|g| &g.name == name),
                    _ => None,
                };
                let label = match &v.cfg.address {
                    VsAddress::Group { name } => {
                        let n = members.entry(name).or_insert(0);
                        *n += 1;
                        format!("[{name}]:{}", *n - 1)
                    }
                    _ => v.label.clone(),
                };
                let proto = if fwmark_only(&v.cfg.address, group) {
                    "none"
                } else {
                    proto_str(v.cfg.protocol)
                };
                VsView {
                    v,
                    group,
                    label,
                    proto,
                }
            })
            .collect()
    }

    /// `dump_ssl()`: the `SSL` block, or the context keepalived makes for SSL_GET.
    fn ssl_text(&self, s: &mut String) {
        let ssl_get = self.vss.iter().any(|v| {
            v.rss
                .iter()
                .flat_map(|r| &r.checkers)
                .any(|c| matches!(c.cfg.kind, CheckerKind::SslGet(_)))
        });
        let ssl = match (&self.dump.ssl, ssl_get) {
            (Some(ssl), _) => ssl.clone(),
            (None, true) => SslConfig::default(),
            (None, false) => return,
        };
        s.push_str("------< SSL definitions >------\n");
        if ssl == SslConfig::default() {
            s.push_str(" Using autogen SSL context\n");
            return;
        }
        if ssl.password.is_some() {
            let _ = writeln!(s, " Password : {MASK}");
        }
        for (what, v) in [
            ("CA-file", &ssl.ca),
            ("Certificate file", &ssl.certificate),
            ("Key file", &ssl.key),
        ] {
            if let Some(v) = v {
                let _ = writeln!(s, " {what} : {v}");
            }
        }
    }

    /// `dump_vsg()`: the address entries, then the fwmark entries.
    fn group_text(&self, s: &mut String, g: &VirtualServerGroup, kept: &[bool], views: &[VsView]) {
        let (v4, v6) = group_families(g);
        s.push_str(" ------< Virtual server group >------\n");
        let _ = writeln!(
            s,
            " Virtual Server Group = {}, IPv4 = {}, IPv6 = {}",
            g.name,
            yes_no(v4),
            yes_no(v6)
        );
        let members: Vec<&VsView> = views.iter().filter(|w| w.group == Some(g)).collect();
        let marks: Vec<(Protocol, u32)> = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp]
            .into_iter()
            .filter_map(|p| Some((p, *self.auto_fwmarks.get(&(g.name.clone(), p))?)))
            .collect();
        if self.global.nftables_ipvs.is_some() && !marks.is_empty() {
            let mark = |p| marks.iter().find(|(q, _)| *q == p).map_or(0, |(_, m)| *m);
            let _ = writeln!(
                s,
                "  Fwmark TCP: {} UDP: {} SCTP: {}",
                mark(Protocol::Tcp),
                mark(Protocol::Udp),
                mark(Protocol::Sctp)
            );
        }
        // With its own fwmark the group is one service, and no entry counts dests.
        let counted = |p: Protocol| -> u32 {
            members
                .iter()
                .filter(|w| w.proto == proto_str(p) && !marks.iter().any(|(q, _)| *q == p))
                .map(|w| w.dests_set())
                .sum()
        };
        let entries = g.entries.iter().zip(kept);
        let ranges = entries
            .clone()
            .filter(|(e, _)| matches!(e, VsgEntry::Range { .. }));
        let fwmarks = entries.filter(|(e, _)| matches!(e, VsgEntry::Fwmark { .. }));
        for (e, kept) in ranges.chain(fwmarks) {
            match e {
                VsgEntry::Range { first, last, port } => {
                    let port = port.unwrap_or(0);
                    if first == last {
                        let _ = writeln!(s, "   VIP = {first}, VPORT = {port}");
                    } else {
                        let _ = writeln!(s, "   VIP Range = {first}-{last}, VPORT = {port}");
                    }
                    let _ = writeln!(
                        s,
                        "     Alive: {} tcp, {} udp, {} sctp",
                        counted(Protocol::Tcp),
                        counted(Protocol::Udp),
                        counted(Protocol::Sctp)
                    );
                }
                VsgEntry::Fwmark { mark, family_v6 } => {
                    let family = match family_v6 {
                        Some(false) => " IPv4",
                        Some(true) => " IPv6",
                        None => "",
                    };
                    let _ = writeln!(s, "   FWMARK = {mark}{family}");
                    // update_vsge_alive_count(): by the virtual server's family.
                    let alive = |v6: bool| -> u32 {
                        members
                            .iter()
                            .filter(|w| w.family_v6() == Some(v6))
                            .map(|w| w.dests_set())
                            .sum()
                    };
                    let _ = writeln!(s, "     Alive: {} IPv4, {} IPv6", alive(false), alive(true));
                }
            }
            let _ = writeln!(
                s,
                "     reloaded = {}",
                if *kept { "True" } else { "False" }
            );
        }
    }

    /// `dump_checkers_queue()`: every checker in configuration order, then the
    /// FILE_CHECKs, which keepalived queues once the configuration is read
    /// (`add_rs_to_track_files()`).
    fn checkers_text(&self, s: &mut String, views: &[VsView], host: &DumpHost) {
        let mut all = Vec::new();
        let mut files = Vec::new();
        for (vi, view) in views.iter().enumerate() {
            for (ri, r) in view.v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if matches!(c.cfg.kind, CheckerKind::FileCheck { .. }) {
                        files.push((vi, ri, ci));
                    } else {
                        all.push((vi, ri, ci));
                    }
                }
            }
        }
        all.extend(files);
        if all.is_empty() {
            return;
        }
        s.push_str("------< Health checkers >------\n");
        for (vi, ri, ci) in all {
            self.checker_text(s, &views[vi], (vi, ri, ci), host);
        }
    }

    /// `dump_checker()` and the type's own `dump_*_check()`.
    fn checker_text(
        &self,
        s: &mut String,
        view: &VsView,
        loc: (usize, usize, usize),
        host: &DumpHost,
    ) {
        let r = &view.v.rss[loc.1];
        let c = &r.checkers[loc.2];
        let sched = &c.cfg.schedule;
        let file = matches!(c.cfg.kind, CheckerKind::FileCheck { .. });
        let _ = writeln!(
            s,
            " {} -> {}",
            view.label,
            view.rs_label(r.cfg.address, r.port())
        );
        let _ = writeln!(s, "   Enabled = {}", yes_no(!self.suspended(loc.0)));
        let _ = writeln!(s, "   Up = {}", yes_no(c.is_up));
        let _ = writeln!(s, "   Has run = {}", yes_no(c.has_run));
        let _ = writeln!(s, "   Current weight = {}", cur_weight(r, c));
        if matches!(c.cfg.kind, CheckerKind::BfdCheck { .. }) {
            // No launch function: check_check_data() leaves queue_checker()'s "unset"
            // ULONG_MAX / UINT_MAX timers and retries as they are.
            let _ = writeln!(s, "   Alpha = {}", yes_no(sched.alpha));
            let _ = writeln!(s, "   Delay loop = {} us", u64::MAX);
            let _ = writeln!(s, "   Warmup = {} us", u64::MAX);
            let _ = writeln!(s, "   Retries = {}", u32::MAX);
            let _ = writeln!(s, "   Delay before retry = {} us", u64::MAX);
            let _ = writeln!(s, "   Retries iterations = {}", u32::MAX);
            s.push_str("   Default delay before retry = 1000000 us\n");
        } else if !file {
            let _ = writeln!(s, "   Alpha = {}", yes_no(sched.alpha));
            let _ = writeln!(s, "   Delay loop = {} us", sched.delay_loop_us);
            let _ = writeln!(s, "   Warmup = {} us", sched.warmup_us);
            let _ = writeln!(s, "   Retries = {}", sched.retry);
            if sched.retry > 0 {
                let _ = writeln!(
                    s,
                    "   Delay before retry = {} us",
                    sched.delay_before_retry_us
                );
                let _ = writeln!(s, "   Retries iterations = {}", c.retry_it);
            }
            // queue_checker()'s 1 s, which HTTP and DNS set for themselves.
            let default_dbr = match c.cfg.kind {
                CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => 3_000_000,
                CheckerKind::DnsCheck { .. } => 0,
                _ => 1_000_000,
            };
            let _ = writeln!(s, "   Default delay before retry = {default_dbr} us");
        }
        let _ = writeln!(
            s,
            "   Log all failures = {}",
            yes_no(c.cfg.log_all_failures)
        );
        let connected = !matches!(
            c.cfg.kind,
            CheckerKind::MiscCheck(_)
                | CheckerKind::FileCheck { .. }
                | CheckerKind::BfdCheck { .. }
        );
        if connected {
            if let Some(ep) = self.probe_spec(loc).endpoint {
                // dump_connection_opts()
                s.push_str("   Connection\n");
                let _ = writeln!(s, "     Dest = [{}]:{}", ep.target.ip(), ep.target.port());
                if let Some(b) = ep.bind {
                    let _ = writeln!(s, "     Bind to = [{b}]:{}", ep.bind_port.unwrap_or(0));
                }
                if let Some(i) = &ep.bind_if {
                    let _ = writeln!(s, "     Bind i/f = {i}");
                }
                if let Some(m) = ep.fwmark.filter(|m| *m != 0) {
                    let _ = writeln!(s, "     Mark = {m}");
                }
                let _ = writeln!(
                    s,
                    "     Timeout = {:.6}",
                    sched.connect_timeout_us as f64 / 1e6
                );
            }
        }
        match &c.cfg.kind {
            CheckerKind::TcpCheck => s.push_str("   Keepalive method = TCP_CHECK\n"),
            CheckerKind::HttpGet(h) => http_text(s, "HTTP", h, c),
            CheckerKind::SslGet(h) => http_text(s, "SSL", h, c),
            CheckerKind::SmtpCheck { helo_name, .. } => {
                s.push_str("   Keepalive method = SMTP_CHECK\n");
                let helo = helo_name.as_deref().unwrap_or(super::SMTP_DEFAULT_HELO);
                let _ = writeln!(s, "   helo = {helo}");
            }
            CheckerKind::DnsCheck { query_type, name } => {
                s.push_str("   Keepalive method = DNS_CHECK\n");
                let _ = writeln!(s, "   Type = {query_type}");
                let _ = writeln!(s, "   Name = {name}");
            }
            CheckerKind::MiscCheck(m) => {
                s.push_str("   Keepalive method = MISC_CHECK\n");
                let mut command = m.misc_path.clone().unwrap_or(Command {
                    argv: Vec::new(),
                    user: None,
                    group: None,
                });
                if m.user.is_some() {
                    command.user = m.user.clone();
                    command.group = m.group.clone();
                }
                let _ = writeln!(s, "   script = {}", cmd_str(&command));
                let timeout = m
                    .misc_timeout_us
                    .unwrap_or(view.v.cfg.schedule.delay_loop_us);
                let _ = writeln!(s, "   timeout = {}", timeout / 1_000_000);
                let _ = writeln!(
                    s,
                    "   dynamic = {}",
                    if m.misc_dynamic { "YES" } else { "NO" }
                );
                let (uid, gid) = ids_of(host, &command);
                let _ = writeln!(s, "   uid:gid = {uid}:{gid}");
                // misck_checker->last_ran: zero until the script first runs.
                let ran = c.has_run || c.in_flight.is_some();
                let w = if ran { wall_us(host, c.started) } else { 0 };
                let (secs, us) = ((w / 1_000_000) as i64, w % 1_000_000);
                let _ = writeln!(
                    s,
                    "   Last ran = {secs}.{us:06} ({}.{us:06})",
                    ctime(if ran {
                        secs + host.utc_offset_s
                    } else {
                        host.utc_offset_s
                    })
                );
                let _ = writeln!(s, "   Last status = {}", c.last_exit);
            }
            CheckerKind::UdpCheck(u) => udp_text(s, u),
            CheckerKind::PingCheck => s.push_str("   Keepalive method = PING_CHECK\n"),
            CheckerKind::FileCheck { track_file, .. } => {
                s.push_str("   Keepalive method = FILE_CHECK\n");
                let name = track_file.as_deref().unwrap_or_default();
                let _ = writeln!(s, "     Tracked file = {name}");
                let kept = self
                    .dump
                    .track_files
                    .iter()
                    .any(|(f, kept)| f.name == name && *kept);
                let _ = writeln!(s, "     Reloaded = {}", if kept { "Yes" } else { "No" });
            }
            CheckerKind::BfdCheck { name } => {
                s.push_str("   Keepalive method = BFD_CHECK\n");
                let _ = writeln!(s, "   Name = {}", name.as_deref().unwrap_or_default());
                let _ = writeln!(s, "   Alpha is {}", on_off(sched.alpha));
            }
        }
    }

    /// `dump_track_file_list()`: the files a FILE_CHECK follows (`init_track_files()`
    /// drops the others), each with the checkers on it (`dump_tracking_rs()`).
    fn track_files_text(&self, s: &mut String, views: &[VsView], host: &DumpHost) {
        let mut out = String::new();
        for (f, _) in &self.dump.track_files {
            let mut tracking = Vec::new();
            for view in views {
                for r in &view.v.rss {
                    for c in &r.checkers {
                        if let CheckerKind::FileCheck {
                            track_file: Some(t),
                            weight,
                            weight_reverse,
                        } = &c.cfg.kind
                        {
                            if *t == f.name {
                                tracking.push(format!(
                                    "     {} -> {}, weight {weight}{}",
                                    view.label,
                                    view.rs_label(r.cfg.address, r.port()),
                                    if *weight_reverse { " reverse" } else { "" }
                                ));
                            }
                        }
                    }
                }
            }
            // The path realpath() gave, as the host watches it; a file the host could
            // not watch is not tracked (init_track_files()).
            let path = match &host.track_files {
                Some(watched) => match watched.iter().find(|(n, _)| *n == f.name) {
                    Some((_, p)) => p.as_str(),
                    None => continue,
                },
                None => f.file.as_deref().unwrap_or_default(),
            };
            if tracking.is_empty() {
                continue;
            }
            let _ = writeln!(out, " Track file = {}", f.name);
            let _ = writeln!(out, "   File = {path}");
            let _ = writeln!(
                out,
                "   Status = {}",
                self.files.get(&f.name).copied().unwrap_or(0)
            );
            let _ = writeln!(
                out,
                "   Weight = {}{}",
                f.weight,
                if f.weight_reverse { " reverse" } else { "" }
            );
            out.push_str("   Tracking instances :\n");
            for t in tracking {
                out.push_str(&t);
                out.push('\n');
            }
        }
        if !out.is_empty() {
            s.push_str("------< Checker track files >------\n");
            s.push_str(&out);
        }
    }

    /// `dump_checker_bfd_list()`: each `bfd_instance` and the real servers whose
    /// BFD_CHECK follows it.
    fn bfds_text(&self, s: &mut String, views: &[VsView]) {
        if self.dump.bfds.is_empty() {
            return;
        }
        s.push_str("------< Checker track BFDs >------\n");
        for b in &self.dump.bfds {
            let _ = writeln!(s, " Checker Track BFD = {b}");
            s.push_str("   Tracking RS :\n");
            for view in views {
                for r in &view.v.rss {
                    let follows = r.checkers.iter().any(
                        |c| matches!(&c.cfg.kind, CheckerKind::BfdCheck { name: Some(n) } if n == b),
                    );
                    if follows {
                        let _ = writeln!(s, "   {}", view.rs_label(r.cfg.address, r.port()));
                    }
                }
            }
        }
    }
}

/// `checker->cur_weight`: what a dynamic MISC_CHECK or a FILE_CHECK adds to its real
/// server's weight.
fn cur_weight(r: &RsRt, c: &CheckerRt) -> i64 {
    match c.dyn_status {
        Some(st) => i64::from(st) - 2 - i64::from(r.cfg.weight),
        None => c.file_weight,
    }
}

/// `dump_vs()`, then `dump_rs()` for each real server.
fn vs_text(s: &mut String, view: &VsView, host: &DumpHost) {
    let (v, c) = (view.v, &view.v.cfg);
    let ex = c.explicit;
    s.push_str(" ------< Virtual server >------\n");
    let _ = match &c.address {
        VsAddress::Group { .. } => writeln!(s, " VS GROUP = {}", view.label),
        VsAddress::Fwmark { mark } => writeln!(s, " VS FWMARK = {mark}"),
        VsAddress::Ip { address, port } => writeln!(s, " VS VIP = {address}, VPORT = {port}"),
    };
    if let Some(h) = &c.virtualhost {
        let _ = writeln!(s, "   VirtualHost = {h}");
    }
    if let Some(n) = &c.snmp_name {
        let _ = writeln!(s, "   SNMP name = '{n}'");
    }
    let family = match (view.family_v6(), view.group.map(group_families)) {
        (Some(false), _) => "inet",
        (Some(true), _) => "inet6",
        (None, Some((true, true))) => "IPv4 & IPv6",
        (None, _) => "unknown",
    };
    let _ = writeln!(s, "   Address family = {family}");
    let _ = writeln!(
        s,
        "   connection timeout = {}",
        decimal(c.schedule.connect_timeout_us)
    );
    let _ = writeln!(s, "   delay_loop = {}", decimal(c.schedule.delay_loop_us));
    let _ = writeln!(s, "   lvs_sched = {}", c.lvs_sched);
    let _ = writeln!(s, "   Hashed = {}", abled(c.hashed));
    // IP_VS_SVC_F_SCHED1..3, which sh and mh name for themselves.
    let flag = |names: &[&str]| c.sched_flags.iter().any(|f| names.contains(&f.as_str()));
    let f1 = flag(&["flag-1", "sh-port", "mh-port"]);
    let f2 = flag(&["flag-2", "sh-fallback", "mh-fallback"]);
    let f3 = flag(&["flag-3"]);
    match c.lvs_sched.as_str() {
        sched @ ("sh" | "mh") => {
            let _ = writeln!(s, "   {sched}-port = {}", abled(f1));
            let _ = writeln!(s, "   {sched}-fallback = {}", abled(f2));
        }
        _ => {
            let _ = writeln!(s, "   flag-1 = {}", abled(f1));
            let _ = writeln!(s, "   flag-2 = {}", abled(f2));
            let _ = writeln!(s, "   flag-3 = {}", abled(f3));
        }
    }
    let udp = view.proto == "udp";
    let _ = writeln!(
        s,
        "   One packet scheduling = {}{}",
        abled(c.ops),
        if c.ops && !udp {
            " (inactive due to not UDP)"
        } else {
            ""
        }
    );
    if let Some(t) = c.persistence_timeout_s.filter(|t| *t != 0) {
        let _ = writeln!(s, "   persistence timeout = {t}");
    }
    if let Some(g) = &c.persistence_granularity {
        // An IPv4 netmask, or an IPv6 prefix length.
        let g = match (view.family_v6(), g.parse::<u32>(), g.parse::<Ipv4Addr>()) {
            (Some(true), _, _) | (_, _, Err(_)) => g.clone(),
            (_, _, Ok(a)) => a.to_string(),
        };
        let _ = writeln!(s, "   persistence granularity = {g}");
    }
    let proto = match view.proto {
        "none" => "none",
        "udp" => "UDP",
        "sctp" => "SCTP",
        _ => "TCP",
    };
    let _ = writeln!(s, "   protocol = {proto}");
    let _ = writeln!(s, "   alpha is {}", on_off(c.schedule.alpha));
    let _ = writeln!(s, "   omega is {}", on_off(c.omega));
    if ex.has(Given::Retry) {
        let _ = writeln!(s, "   Retry count = {}", c.schedule.retry);
    }
    if ex.has(Given::DelayBeforeRetry) {
        let _ = writeln!(
            s,
            "   Retry delay = {}",
            decimal(c.schedule.delay_before_retry_us)
        );
    }
    if ex.has(Given::Warmup) {
        let _ = writeln!(s, "   Warmup = {}", decimal(c.schedule.warmup_us));
    }
    let _ = writeln!(
        s,
        "   Inhibit on failure is {}",
        on_off(c.inhibit_on_failure)
    );
    let _ = writeln!(s, "   quorum = {}, hysteresis = {}", v.quorum, v.hysteresis);
    for (what, cmd) in [("up", &c.quorum_up), ("down", &c.quorum_down)] {
        if let Some(cmd) = cmd {
            let (uid, gid) = ids_of(host, cmd);
            let _ = writeln!(
                s,
                "   Quorum {what} notify script = {}, uid:gid {uid}:{gid}",
                cmd_str(cmd)
            );
        }
    }
    if c.ha_suspend {
        s.push_str("   Using HA suspend\n");
    }
    let _ = writeln!(
        s,
        "   Using smtp notification = {}",
        yes_no(c.smtp_alert.unwrap_or(false))
    );
    forwarding(s, "default ", &c.lvs_method);
    if let Some(ss) = &c.sorry_server {
        let method = ss.lvs_method.as_ref().unwrap_or(&c.lvs_method);
        // validate_check_config(): a sorry server without a port takes the virtual
        // server's, unless NAT; a firewall-mark service's has none.
        let port = match (&c.address, method.kind) {
            (VsAddress::Fwmark { .. }, k) if k != LvsKind::Nat => 0,
            (VsAddress::Ip { port, .. }, k) if k != LvsKind::Nat => ss.port.unwrap_or(*port),
            _ => ss.port.unwrap_or(0),
        };
        let dup = v
            .rss
            .iter()
            .any(|r| r.cfg.address == ss.address && r.port() == port);
        let _ = writeln!(
            s,
            "   sorry server {}= {}",
            if dup { "(duplicates rs) " } else { "" },
            view.rs_label(ss.address, port)
        );
        forwarding(s, "  ", method);
        let _ = writeln!(
            s,
            "     Inhibit on failure is {}",
            on_off(c.sorry_server_inhibit)
        );
    }
    let _ = writeln!(s, "   alive = {}", u8::from(!v.ipvs.is_empty()));
    let _ = writeln!(s, "   quorum_state_up = {}", u8::from(v.quorum_up));
    let _ = writeln!(s, "   reloaded = {}", u8::from(v.reloaded));
    for r in &v.rss {
        rs_text(s, view, r, host);
    }
}

/// `dump_rs()`. A real server's retry, retry delay and warmup are its own or its
/// virtual server's, and written when either level gave them (`validate_check_config()`).
fn rs_text(s: &mut String, view: &VsView, r: &RsRt, host: &DumpHost) {
    let c = &r.cfg;
    let given = |g: Given| c.explicit.has(g) || view.v.cfg.explicit.has(g);
    let eff = r.effective_weight();
    s.push_str("   ------< Real server >------\n");
    let _ = writeln!(
        s,
        "   RIP = {}, RPORT = {}, WEIGHT = {} EFF WEIGHT = {eff}",
        c.address,
        r.port(),
        real_weight(eff)
    );
    forwarding(s, "", view.rs_method(r));
    let _ = writeln!(s, "   Alpha is {}", on_off(c.schedule.alpha));
    let _ = writeln!(
        s,
        "   connection timeout = {}",
        decimal(c.schedule.connect_timeout_us)
    );
    let _ = writeln!(
        s,
        "   connection limit range = {} -> {}",
        c.lthreshold.unwrap_or(0),
        c.uthreshold.unwrap_or(0)
    );
    let _ = writeln!(s, "   Delay loop = {}", decimal(c.schedule.delay_loop_us));
    if given(Given::Retry) {
        let _ = writeln!(s, "   Retry count = {}", c.schedule.retry);
    }
    if given(Given::DelayBeforeRetry) {
        let _ = writeln!(
            s,
            "   Retry delay = {}",
            decimal(c.schedule.delay_before_retry_us)
        );
    }
    if given(Given::Warmup) {
        let _ = writeln!(s, "   Warmup = {}", decimal(c.schedule.warmup_us));
    }
    let _ = writeln!(
        s,
        "   Inhibit on failure is {}",
        on_off(c.inhibit_on_failure)
    );
    for (what, cmd) in [("up", &c.notify_up), ("down", &c.notify_down)] {
        if let Some(cmd) = cmd {
            let (uid, gid) = ids_of(host, cmd);
            let _ = writeln!(
                s,
                "     RS {what} notify script = {}, uid:gid {uid}:{gid}",
                cmd_str(cmd)
            );
        }
    }
    if let Some(h) = &c.virtualhost {
        let _ = writeln!(s, "    VirtualHost = '{h}'");
    }
    if let Some(n) = &c.snmp_name {
        let _ = writeln!(s, "   SNMP name = {n}");
    }
    let _ = writeln!(s, "   Using smtp notification = {}", yes_no(c.smtp_alert));
    let _ = writeln!(s, "   initial weight = {}", c.weight);
    let _ = writeln!(s, "   effective weight = {eff}");
    let _ = writeln!(s, "   previous effective_weight = {}", r.prev_weight);
    let _ = writeln!(s, "   alive = {}", u8::from(r.alive));
    let _ = writeln!(s, "   num failed checkers = {}", r.num_failed());
    let _ = writeln!(s, "   RS set = {}", u8::from(view.rs_set(r)));
    let _ = writeln!(s, "   reloaded = {}", u8::from(r.reloaded));
    let files: Vec<String> = r
        .checkers
        .iter()
        .filter_map(|ch| match &ch.cfg.kind {
            CheckerKind::FileCheck {
                track_file: Some(t),
                weight,
                weight_reverse,
            } => Some(format!(
                "     {t}, weight {weight}{}",
                if *weight_reverse { " reverse" } else { "" }
            )),
            _ => None,
        })
        .collect();
    if !files.is_empty() {
        s.push_str("   Tracked Files\n");
        for f in files {
            s.push_str(&f);
            s.push('\n');
        }
    }
    let bfds: Vec<&str> = r
        .checkers
        .iter()
        .filter_map(|ch| match &ch.cfg.kind {
            CheckerKind::BfdCheck { name: Some(n) } => Some(n.as_str()),
            _ => None,
        })
        .collect();
    if !bfds.is_empty() {
        s.push_str("   Tracked BFDs\n");
        for b in bfds {
            let _ = writeln!(s, "     {b}");
        }
    }
}

/// `dump_http_check()` and `dump_url()`.
fn http_text(s: &mut String, kind: &str, h: &HttpCheck, c: &CheckerRt) {
    let _ = writeln!(
        s,
        "   Keepalive method = {kind}_GET, http protocol {}",
        h.http_protocol
    );
    if let Some(v) = &h.virtualhost {
        let _ = writeln!(s, "   Virtualhost = {v}");
    }
    let _ = writeln!(
        s,
        "   Enable SNI {}set",
        if h.enable_sni { "" } else { "un" }
    );
    let _ = writeln!(
        s,
        "   Fast recovery {}set",
        if h.fast_recovery { "" } else { "un" }
    );
    for u in &h.urls {
        let _ = writeln!(s, "   Checked url = {}", u.path);
        if let Some(d) = &u.digest {
            let _ = writeln!(s, "     digest = {d}");
        }
        s.push_str("     HTTP Status Code(s)\n");
        for r in status_ranges(u) {
            let _ = writeln!(s, "       {r}");
        }
        if let Some(v) = &u.virtualhost {
            let _ = writeln!(s, "     Virtual host = {v}");
        }
        if let Some(re) = &u.regex {
            let _ = writeln!(s, "     Regex = \"{re}\"");
            if u.regex_no_match {
                s.push_str("     Regex no match\n");
            }
            let (min, max) = (u.regex_min_offset.unwrap_or(0), u.regex_max_offset);
            match max {
                Some(max) => {
                    let _ = writeln!(s, "     Regex min offset = {min}, max_offset = {max}");
                }
                None if min > 0 => {
                    let _ = writeln!(s, "     Regex min offset = {min}");
                }
                None => {}
            }
            let opts: String = u.regex_options.iter().map(|o| format!(" {o}")).collect();
            let _ = writeln!(s, "     Regex options:{opts}");
            // prepare_regex(): urls with the same pattern and options share one regex.
            let refs = h
                .urls
                .iter()
                .filter(|o| o.regex == u.regex && o.regex_options == u.regex_options)
                .count();
            let _ = writeln!(s, "     Regex ref count = {refs}");
        }
    }
    if c.failed_url {
        if let Some(u) = h.urls.get(c.url_idx) {
            let _ = writeln!(s, "   Failed URL = {}", u.path);
        }
    }
}

/// `dump_udp_check()`.
fn udp_text(s: &mut String, u: &UdpCheck) {
    s.push_str("   Keepalive method = UDP_CHECK\n");
    if u.payload.is_empty() {
        s.push_str("   Payload specified = no\n");
    } else {
        let _ = writeln!(s, "   Payload len = {}", u.payload.len());
    }
    let _ = writeln!(
        s,
        "   Require reply = {}",
        yes_no(u.require_reply.is_some())
    );
    if let Some(reply) = &u.require_reply {
        let _ = writeln!(s, "     Min reply length = {}", u.min_reply_length);
        let _ = writeln!(s, "     Max reply length = {}", u.max_reply_length);
        let _ = writeln!(s, "     Reply data len = {}", reply.len());
        if !reply.is_empty() {
            let masked = reply.iter().any(Option::is_none);
            let _ = writeln!(s, "     Reply data mask = {}", yes_no(masked));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::probe::{ProbeKind, ProbeOutcome, ProbeSpec};
    use crate::check::{CheckInput, CheckOutput};
    use crate::config::{parse_str, ParseOptions};

    fn engine(text: &str) -> CheckEngine {
        let loaded = parse_str(text, &ParseOptions::default());
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        CheckEngine::new(loaded.config, Instant::ZERO, 1)
    }

    /// Runs the engine to `until` seconds, answering each probe as `answer` says.
    fn run(e: &mut CheckEngine, until: u64, answer: impl Fn(&ProbeSpec) -> ProbeOutcome) {
        let end = Instant::from_micros(until * 1_000_000);
        // Calls in a row at one instant: a timer that never moves on would spin here.
        let (mut last, mut stuck) = (None, 0);
        while let Some(t) = e.poll_timeout().filter(|t| *t <= end) {
            stuck = if last == Some(t) { stuck + 1 } else { 0 };
            assert!(stuck < 10_000, "the checkers' timer stays at {t}");
            last = Some(t);
            e.handle_timeout(t);
            while let Some(out) = e.poll_output() {
                if let CheckOutput::StartProbe(spec) = out {
                    let outcome = answer(&spec);
                    e.handle_input(
                        t,
                        CheckInput::ProbeDone {
                            id: spec.id,
                            outcome,
                        },
                    );
                }
            }
        }
    }

    /// The port a probe goes to; MISC_CHECK's 0.
    fn port(spec: &ProbeSpec) -> u16 {
        spec.endpoint.as_ref().map_or(0, |ep| ep.target.port())
    }

    /// The configuration of the parity case in `tests/tests/ipvs_kernel`.
    const PARITY: &str = r#"
global_defs {
  router_id kcd1
  enable_script_security
  script_user root
}
virtual_server_group kcdg {
  10.71.0.10-11 80
  10.71.0.12 80
}
virtual_server group kcdg {
  delay_loop 2
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  quorum 2
  sorry_server 127.0.0.1 8099
  real_server 127.0.0.1 8101 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
    }
  }
  real_server 127.0.0.1 8102 {
    TCP_CHECK {
      connect_timeout 1
      retry 2
    }
  }
}
virtual_server 10.71.0.20 80 {
  delay_loop 2
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  retry 3
  real_server 127.0.0.1 8103 {
    weight 2
    inhibit_on_failure
    HTTP_GET {
      url {
        path /index.html
        digest 5d41402abc4b2a76b9719d911017c592
      }
      url {
        path /x
        status_code 200-204 404
      }
      connect_timeout 1
    }
  }
  real_server 127.0.0.1 8104 {
    MISC_CHECK {
      misc_path "/usr/bin/false"
      misc_timeout 3
    }
  }
}
"#;

    /// keepalived 2.2.7's `keepalived_check.data` from `------< LVS Topology >------` on,
    /// written by its checker for [`PARITY`] in a VM with IPVS, 11 s after start: 8101
    /// and 8103 answering, 8102 refusing, the MISC_CHECK exiting 1.
    const KEEPALIVED_LVS: &str = r#"------< LVS Topology >------
 System is compiled with LVS v1.2.1
 ------< Virtual server group >------
 Virtual Server Group = kcdg, IPv4 = yes, IPv6 = no
   VIP Range = 10.71.0.10-10.71.0.11, VPORT = 80
     Alive: 1 tcp, 0 udp, 0 sctp
     reloaded = False
   VIP = 10.71.0.12, VPORT = 80
     Alive: 1 tcp, 0 udp, 0 sctp
     reloaded = False
 ------< Virtual server >------
 VS GROUP = [kcdg]:0
   Address family = inet
   connection timeout = 5.000000
   delay_loop = 2.000000
   lvs_sched = rr
   Hashed = disabled
   flag-1 = disabled
   flag-2 = disabled
   flag-3 = disabled
   One packet scheduling = disabled
   protocol = TCP
   alpha is OFF
   omega is OFF
   Inhibit on failure is OFF
   quorum = 2, hysteresis = 0
   Using smtp notification = no
   default forwarding method = NAT
   sorry server = [127.0.0.1]:tcp:8099
     forwarding method = NAT
     Inhibit on failure is OFF
   alive = 1
   quorum_state_up = 0
   reloaded = 0
   ------< Real server >------
   RIP = 127.0.0.1, RPORT = 8101, WEIGHT = 1 EFF WEIGHT = 1
   forwarding method = NAT
   Alpha is OFF
   connection timeout = 5.000000
   connection limit range = 0 -> 0
   Delay loop = 2.000000
   Inhibit on failure is OFF
   Using smtp notification = yes
   initial weight = 1
   effective weight = 1
   previous effective_weight = 0
   alive = 1
   num failed checkers = 0
   RS set = 0
   reloaded = 0
   ------< Real server >------
   RIP = 127.0.0.1, RPORT = 8102, WEIGHT = 1 EFF WEIGHT = 1
   forwarding method = NAT
   Alpha is OFF
   connection timeout = 5.000000
   connection limit range = 0 -> 0
   Delay loop = 2.000000
   Inhibit on failure is OFF
   Using smtp notification = yes
   initial weight = 1
   effective weight = 1
   previous effective_weight = 0
   alive = 0
   num failed checkers = 1
   RS set = 0
   reloaded = 0
 ------< Virtual server >------
 VS VIP = 10.71.0.20, VPORT = 80
   Address family = inet
   connection timeout = 5.000000
   delay_loop = 2.000000
   lvs_sched = wrr
   Hashed = disabled
   flag-1 = disabled
   flag-2 = disabled
   flag-3 = disabled
   One packet scheduling = disabled
   protocol = TCP
   alpha is OFF
   omega is OFF
   Retry count = 3
   Inhibit on failure is OFF
   quorum = 1, hysteresis = 0
   Using smtp notification = no
   default forwarding method = NAT
   alive = 1
   quorum_state_up = 1
   reloaded = 0
   ------< Real server >------
   RIP = 127.0.0.1, RPORT = 8103, WEIGHT = 2 EFF WEIGHT = 2
   forwarding method = NAT
   Alpha is OFF
   connection timeout = 5.000000
   connection limit range = 0 -> 0
   Delay loop = 2.000000
   Retry count = 3
   Inhibit on failure is ON
   Using smtp notification = yes
   initial weight = 2
   effective weight = 2
   previous effective_weight = 0
   alive = 1
   num failed checkers = 0
   RS set = 1
   reloaded = 0
   ------< Real server >------
   RIP = 127.0.0.1, RPORT = 8104, WEIGHT = 1 EFF WEIGHT = 1
   forwarding method = NAT
   Alpha is OFF
   connection timeout = 5.000000
   connection limit range = 0 -> 0
   Delay loop = 2.000000
   Retry count = 3
   Inhibit on failure is OFF
   Using smtp notification = yes
   initial weight = 1
   effective weight = 1
   previous effective_weight = 0
   alive = 0
   num failed checkers = 1
   RS set = 0
   reloaded = 0
------< Health checkers >------
 [kcdg]:0 -> [127.0.0.1]:tcp:8101
   Enabled = yes
   Up = yes
   Has run = yes
   Current weight = 0
   Alpha = no
   Delay loop = 2000000 us
   Warmup = 2000000 us
   Retries = 1
   Delay before retry = 1000000 us
   Retries iterations = 0
   Default delay before retry = 1000000 us
   Log all failures = no
   Connection
     Dest = [127.0.0.1]:8101
     Timeout = 1.000000
   Keepalive method = TCP_CHECK
 [kcdg]:0 -> [127.0.0.1]:tcp:8102
   Enabled = yes
   Up = no
   Has run = yes
   Current weight = 0
   Alpha = no
   Delay loop = 2000000 us
   Warmup = 2000000 us
   Retries = 2
   Delay before retry = 1000000 us
   Retries iterations = 0
   Default delay before retry = 1000000 us
   Log all failures = no
   Connection
     Dest = [127.0.0.1]:8102
     Timeout = 1.000000
   Keepalive method = TCP_CHECK
 [10.71.0.20]:tcp:80 -> [127.0.0.1]:tcp:8103
   Enabled = yes
   Up = yes
   Has run = yes
   Current weight = 0
   Alpha = no
   Delay loop = 2000000 us
   Warmup = 2000000 us
   Retries = 3
   Delay before retry = 3000000 us
   Retries iterations = 0
   Default delay before retry = 3000000 us
   Log all failures = no
   Connection
     Dest = [127.0.0.1]:8103
     Timeout = 1.000000
   Keepalive method = HTTP_GET, http protocol 1.0
   Enable SNI unset
   Fast recovery unset
   Checked url = /index.html
     digest = 5d41402abc4b2a76b9719d911017c592
     HTTP Status Code(s)
       200-299
   Checked url = /x
     HTTP Status Code(s)
       200-204
       404
 [10.71.0.20]:tcp:80 -> [127.0.0.1]:tcp:8104
   Enabled = yes
   Up = no
   Has run = yes
   Current weight = 0
   Alpha = no
   Delay loop = 2000000 us
   Warmup = 2000000 us
   Retries = 3
   Delay before retry = 1000000 us
   Retries iterations = 0
   Default delay before retry = 1000000 us
   Log all failures = no
   Keepalive method = MISC_CHECK
   script = '/usr/bin/false'
   timeout = 3
   dynamic = NO
   uid:gid = 0:0
   Last ran = 1796507739.313171 (Sat Dec  5 21:55:39 2026.313171)
   Last status = 1
"#;

    #[test]
    fn topology_and_checkers_are_keepalived_2_2_7s_byte_for_byte() {
        let mut e = engine(PARITY);
        run(&mut e, 11, |spec| match (&spec.kind, port(spec)) {
            (ProbeKind::Misc { .. }, _) => ProbeOutcome::Exited(1),
            (_, 8102) => ProbeOutcome::Down {
                reason: "connection refused".into(),
            },
            _ => ProbeOutcome::Up,
        });
        // The clock as keepalived's last MISC_CHECK run had it.
        let misc = &e.vss[1].rss[1].checkers[0];
        let host = DumpHost {
            now: misc.started,
            wall_us: 1_796_507_739_313_171,
            script_ids: (0, 0),
            ..DumpHost::default()
        };
        let text = e.data_text(&host);
        let lvs = &text[text.find("------< LVS Topology >------").unwrap()..];
        assert_eq!(lvs, KEEPALIVED_LVS);
    }

    #[test]
    fn the_global_section_is_the_parents() {
        let e = engine(PARITY);
        let host = DumpHost {
            script_ids: (0, 0),
            ..DumpHost::default()
        };
        let text = e.data_text(&host);
        let global = global_text(&e.global, true, (0, 0));
        assert!(text.starts_with(&global), "{text}");
        assert!(!global.contains("Default interface"));
        assert!(global.contains(" Gratuitous ARP lower priority delay = 4294967295\n"));
    }

    #[test]
    fn group_members_are_numbered_and_entries_count_their_dests() {
        let mut e = engine(
            "virtual_server_group g {\n  10.0.0.1 80\n  fwmark 7 inet\n}\n\
             virtual_server group g {\n  protocol TCP\n  real_server 10.1.0.1 80 {\n    TCP_CHECK {\n    }\n  }\n\
               real_server 10.1.0.2 80 {\n    TCP_CHECK {\n    }\n  }\n}\n\
             virtual_server group g {\n  protocol UDP\n  real_server 10.1.0.3 80 {\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        run(&mut e, 1, |_| ProbeOutcome::Up);
        let text = e.data_text(&DumpHost::default());
        let want = " ------< Virtual server group >------\n \
                    Virtual Server Group = g, IPv4 = yes, IPv6 = no\n   \
                    VIP = 10.0.0.1, VPORT = 80\n     \
                    Alive: 2 tcp, 1 udp, 0 sctp\n     \
                    reloaded = False\n   \
                    FWMARK = 7 IPv4\n     \
                    Alive: 3 IPv4, 0 IPv6\n     \
                    reloaded = False\n";
        assert!(text.contains(want), "{text}");
        assert!(text.contains(" VS GROUP = [g]:0\n"), "{text}");
        assert!(text.contains(" VS GROUP = [g]:1\n"), "{text}");
        assert!(text.contains(" [g]:1 -> [10.1.0.3]:udp:80\n"), "{text}");
    }

    #[test]
    fn the_ssl_password_is_masked_and_ssl_get_alone_is_autogen() {
        let vs =
            "virtual_server 10.0.0.1 443 {\n  protocol TCP\n  real_server 10.1.0.1 443 {\n    \
                  SSL_GET {\n      url {\n        path /\n      }\n    }\n  }\n}\n";
        let e = engine(&format!(
            "SSL {{\n  password s3cret\n  ca /etc/ca.pem\n}}\n{vs}"
        ));
        let text = e.data_text(&DumpHost::default());
        assert!(
            text.contains(
                "------< SSL definitions >------\n Password : ********\n CA-file : /etc/ca.pem\n"
            ),
            "{text}"
        );
        assert!(!text.contains("s3cret"));
        let e = engine(vs);
        let text = e.data_text(&DumpHost::default());
        assert!(
            text.contains("------< SSL definitions >------\n Using autogen SSL context\n------< LVS Topology >------\n"),
            "{text}"
        );
        assert!(text.contains("   Keepalive method = SSL_GET, http protocol 1.0\n"));
    }

    #[test]
    fn file_checks_come_last_and_their_files_are_listed() {
        let mut e = engine(
            "track_file f {\n  file /run/f.val\n  weight 2 reverse\n}\n\
             virtual_server 10.0.0.1 80 {\n  protocol TCP\n  lvs_method DR\n\
               real_server 10.1.0.1 80 {\n    FILE_CHECK {\n      track_file f\n    }\n    TCP_CHECK {\n    }\n  }\n}\n",
        );
        e.handle_input(
            Instant::ZERO,
            CheckInput::TrackFile {
                name: "f".into(),
                value: -3,
            },
        );
        let text = e.data_text(&DumpHost::default());
        let tcp = text.find("   Keepalive method = TCP_CHECK").unwrap();
        let file = text.find("   Keepalive method = FILE_CHECK").unwrap();
        assert!(tcp < file, "{text}");
        assert!(
            text.contains(
                "   Keepalive method = FILE_CHECK\n     Tracked file = f\n     Reloaded = No\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("   Tracked Files\n     f, weight 2 reverse\n"),
            "{text}"
        );
        assert!(text.contains("   Current weight = 6\n"), "{text}");
        assert!(
            text.ends_with(
                "------< Checker track files >------\n Track file = f\n   File = /run/f.val\n   \
                 Status = -3\n   Weight = 2 reverse\n   Tracking instances :\n     \
                 [10.0.0.1]:tcp:80 -> [10.1.0.1]:tcp:80, weight 2 reverse\n"
            ),
            "{text}"
        );
        // A platform that watched no such file: it is not tracked.
        let host = DumpHost {
            track_files: Some(Vec::new()),
            ..DumpHost::default()
        };
        assert!(!e.data_text(&host).contains("Checker track files"));
    }

    #[test]
    fn a_reload_marks_what_it_kept() {
        let conf = |w: u32| {
            format!(
                "virtual_server_group g {{\n  10.0.0.1 80\n}}\n\
                 virtual_server group g {{\n  protocol TCP\n  real_server 10.1.0.1 80 {{\n    weight {w}\n    TCP_CHECK {{\n    }}\n  }}\n}}\n"
            )
        };
        let mut e = engine(&conf(3));
        let text = e.data_text(&DumpHost::default());
        assert!(
            text.contains("   previous effective_weight = 0\n   alive = 1\n"),
            "{text}"
        );
        let loaded = parse_str(&conf(5), &ParseOptions::default());
        e.handle_input(Instant::ZERO, CheckInput::Reload(Box::new(loaded.config)));
        let text = e.data_text(&DumpHost::default());
        assert!(text.contains("     reloaded = True\n"), "{text}");
        assert!(
            text.contains("   quorum_state_up = 1\n   reloaded = 1\n"),
            "{text}"
        );
        assert!(
            text.contains("   previous effective_weight = 3\n   alive = 1\n   num failed checkers = 0\n   RS set = 1\n   reloaded = 1\n"),
            "{text}"
        );
    }

    #[test]
    fn a_misc_check_that_never_ran_shows_the_epoch() {
        let e = engine(
            "virtual_server 10.0.0.1 80 {\n  protocol TCP\n  real_server 10.1.0.1 80 {\n    \
             MISC_CHECK {\n      misc_path \"/bin/true x\"\n      user nobody\n    }\n  }\n}\n",
        );
        let host = DumpHost {
            user_ids: Some(|u, g| (u == "nobody" && g.is_none()).then_some((65534, 65534))),
            ..DumpHost::default()
        };
        let text = e.data_text(&host);
        assert!(
            text.contains(
                "   script = '/bin/true' 'x'\n   timeout = 60\n   dynamic = NO\n   uid:gid = 65534:65534\n   \
                 Last ran = 0.000000 (Thu Jan  1 00:00:00 1970.000000)\n   Last status = 0\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn status_codes_are_merged_ranges() {
        let url = |codes: Vec<(u16, u16)>| Url {
            path: "/".into(),
            digest: None,
            status_codes: codes,
            virtualhost: None,
            regex: None,
            regex_no_match: false,
            regex_options: Vec::new(),
            regex_stack: None,
            regex_min_offset: None,
            regex_max_offset: None,
            tls_compliant: false,
        };
        assert_eq!(status_ranges(&url(vec![(200, 299)])), ["200-299"]);
        assert_eq!(
            status_ranges(&url(vec![(404, 404), (200, 204), (205, 206), (599, 599)])),
            ["200-206", "404", "599"]
        );
        assert_eq!(status_ranges(&url(vec![(590, 599)])), ["590-599"]);
    }

    #[test]
    fn tunnels_are_written_as_keepalived_writes_them() {
        let tun = |t: Option<&str>, c: Option<&str>| {
            let mut s = String::new();
            forwarding(
                &mut s,
                "default ",
                &LvsMethod {
                    kind: LvsKind::Tun,
                    tunnel_type: t.map(str::to_string),
                    tunnel_port: Some(6080),
                    tunnel_checksum: c.map(str::to_string),
                },
            );
            s
        };
        assert_eq!(
            tun(None, None),
            "   default forwarding method = TUN, type = IPIP\n"
        );
        // dump_forwarding_method() drops the prefix for GUE and GRE.
        assert_eq!(
            tun(Some("gue"), Some("remcsum")),
            "   forwarding method = TUN, type = GUE, port = 6080, remote checksum\n"
        );
        assert_eq!(
            tun(Some("gre"), None),
            "   forwarding method = TUN, type = GRE, no checksum\n"
        );
    }

    #[test]
    fn ctime_is_ctime_r() {
        assert_eq!(ctime(0), "Thu Jan  1 00:00:00 1970");
        assert_eq!(ctime(1_796_507_739), "Sat Dec  5 21:55:39 2026");
    }
}
