//! The VRRP process's dumps in keepalived's formats: `keepalived.json` (SIGRTMIN+2,
//! `vrrp_json.c`), `keepalived.data` (SIGUSR1, `vrrp_print_data()`: `dump_global_data()`
//! then `dump_data_vrrp()`) and the parent's `keepalived_parent.data` (the global section
//! alone). The Prometheus exporters parse these files, so the lines and keys are
//! keepalived's, in its order.
//!
//! What the engine cannot know is passed in a [`DumpHost`]: the wall clock, to print
//! `last_transition` and the read timeout as keepalived's `timeval`s.
//!
//! Secrets are masked, unlike keepalived 2.2.7, which writes `auth_pass` in clear in
//! both the JSON (`auth_data`) and the state dump (`Password = …`): the key stays, the
//! value is [`MASK`], as keepalived's master branch does in the JSON.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::config::model::{
    Command, Given, GlobalDefs, IpAddress, Lifetime, TrackProcess, TrackRef, Trackers, VrrpInstance,
};
use crate::time::Instant;
use crate::wire::AuthType;

use super::instance::Instance;
use super::io::State;
use super::track::ScriptState;
use super::Engine;

/// What stands for a secret in every dump.
pub const MASK: &str = "********";

/// The wall clock at the engine's `now`, for the timestamps the dumps print.
#[derive(Debug, Clone, Default)]
pub struct DumpHost {
    pub now: Instant,
    /// Microseconds since the Unix epoch at `now`.
    pub wall_us: u64,
    /// The local time zone's offset from UTC, in seconds (keepalived's `ctime_r()`).
    pub utc_offset_s: i64,
    /// The uid and gid scripts run as (`script_user`, else root), which the host resolves.
    pub script_ids: (u32, u32),
    /// Interface indexes by name, for the IPv6 multicast line (`sin6_scope_id`).
    pub ifindexes: Vec<(String, u32)>,
}

impl DumpHost {
    /// `t` on the wall clock, in microseconds since the epoch.
    fn wall(&self, t: Instant) -> u64 {
        let (now, t) = (self.now.0, t.0);
        if t <= now {
            self.wall_us.saturating_sub(now - t)
        } else {
            self.wall_us + (t - now)
        }
    }

    /// keepalived's `%ld.%6.6ld (ctime_us_r())`: `1796494962.864674 (Sat Dec  5 18:22:42.864674 2026)`.
    fn timeval(&self, t: Instant) -> String {
        let w = self.wall(t);
        let (s, u) = (w / 1_000_000, w % 1_000_000);
        format!(
            "{s}.{u:06} ({})",
            ctime(s as i64 + self.utc_offset_s, Some(u))
        )
    }
}

/// `ctime()`'s `Sat Dec  5 18:22:42 2026`, with `.micros` after the seconds when given.
fn ctime(secs: i64, micros: Option<u64>) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let frac = micros.map(|u| format!(".{u:06}")).unwrap_or_default();
    format!(
        "{} {} {d:2} {:02}:{:02}:{:02}{frac} {y}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// keepalived's state numbers (`VRRP_STATE_*`, `vrrp.h`).
fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

/// `get_state_str()`.
fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

/// `cmd_str()`: each argument in single quotes, separated by spaces.
fn cmd_str(c: &Command) -> String {
    c.argv
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `format_ipaddress()`: `10.0.0.1/24 dev eth0 scope global set`. `dev` is the interface
/// the address goes on; `set` whether it is on it now.
fn format_ipaddress(a: &IpAddress, dev: &str, set: bool) -> String {
    let mut s = format!("{}/{}", a.address, a.prefix_len);
    if let (IpAddr::V4(_), Some(b)) = (a.address, &a.broadcast) {
        if let Some(b) = broadcast(a, b) {
            let _ = write!(s, " brd {b}");
        }
    }
    let _ = write!(s, " dev {}", a.dev.as_deref().unwrap_or(dev));
    if a.use_vmac {
        s.push_str(" use_vmac");
    }
    let _ = write!(s, " scope {}", a.scope.as_deref().unwrap_or("global"));
    if let Some(l) = &a.label {
        let _ = write!(s, " label {l}");
    }
    if let Some(p) = &a.peer {
        let _ = write!(s, " peer {}/{}", p.address, a.prefix_len);
    }
    if a.home {
        s.push_str(" home");
    }
    if a.nodad {
        s.push_str(" -nodad");
    }
    if a.mngtmpaddr {
        s.push_str(" mngtmpaddr");
    }
    if a.noprefixroute {
        s.push_str(" noprefixroute");
    }
    if a.autojoin {
        s.push_str(" autojoin");
    }
    if a.no_track {
        s.push_str(" no_track");
    }
    if let Some(g) = &a.track_group {
        let _ = write!(s, " track_group {g}");
    }
    if a.address.is_ipv6() {
        match a.preferred_lft {
            Some(Lifetime::Seconds(0)) => s.push_str(" deprecated"),
            Some(Lifetime::Seconds(n)) => {
                let _ = write!(s, " preferred_lft {n}");
            }
            Some(Lifetime::Forever) | None => s.push_str(" preferred_lft forever"),
        }
    }
    if set {
        s.push_str(" set");
    }
    s
}

/// The broadcast address `brd` gives, as keepalived stores it.
fn broadcast(a: &IpAddress, b: &crate::config::model::Broadcast) -> Option<IpAddr> {
    use crate::config::model::Broadcast;
    match (b, a.address) {
        (Broadcast::Address(x), _) => Some(*x),
        (Broadcast::Plus, IpAddr::V4(v4)) => {
            let host = u32::MAX.checked_shr(u32::from(a.prefix_len)).unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) | host).into()))
        }
        (Broadcast::Minus, IpAddr::V4(v4)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(a.prefix_len))
                .unwrap_or(0);
            Some(IpAddr::V4((u32::from(v4) & mask).into()))
        }
        _ => None,
    }
}

/// `jsonw_float_field()`'s `%g` for the values the dumps hold: whole numbers without a
/// fraction.
fn float_g(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A JSON object written in keepalived's key order.
struct Obj(String);

impl Obj {
    fn new() -> Obj {
        Obj(String::from("{"))
    }

    fn raw(&mut self, key: &str, value: &str) -> &mut Obj {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "{}:{value}", serde_json::Value::from(key));
        self
    }

    fn num(&mut self, key: &str, v: impl std::fmt::Display) -> &mut Obj {
        self.raw(key, &v.to_string())
    }

    fn bool(&mut self, key: &str, v: bool) -> &mut Obj {
        self.raw(key, if v { "true" } else { "false" })
    }

    fn str(&mut self, key: &str, v: &str) -> &mut Obj {
        self.raw(key, &serde_json::Value::from(v).to_string())
    }

    /// `vrrp_json_array_dump()`: left out when empty.
    fn strs(&mut self, key: &str, v: impl IntoIterator<Item = String>) -> &mut Obj {
        let items: Vec<String> = v
            .into_iter()
            .map(|s| serde_json::Value::from(s).to_string())
            .collect();
        if items.is_empty() {
            return self;
        }
        self.raw(key, &format!("[{}]", items.join(",")))
    }

    fn end(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

fn secs(us: u64) -> u64 {
    us / 1_000_000
}

fn secs_f(us: u64) -> f64 {
    us as f64 / 1e6
}

impl Engine {
    /// `keepalived.json` (`vrrp_print_json()`): version 1 is keepalived 2.2.7's array of
    /// `{"data":…,"stats":…}`; `json_version 2` is keepalived 2.3's
    /// `{"vrrp":[…],"track_process":[…]}`, with 2.3's extra statistics.
    pub fn json_text(&self, host: &DumpHost) -> String {
        let v2 = self.config.global.json_version >= 2;
        let vrrp: Vec<String> = self
            .instances
            .iter()
            .map(|i| {
                Obj::new()
                    .raw("data", &self.json_data(i, host))
                    .raw("stats", &json_stats(i, v2))
                    .end()
            })
            .collect();
        let vrrp = format!("[{}]", vrrp.join(","));
        if !v2 {
            return vrrp;
        }
        let mut top = Obj::new();
        top.raw("vrrp", &vrrp);
        let procs: Vec<String> = self
            .config
            .track_processes
            .iter()
            .map(|p| self.json_process(p))
            .collect();
        if !procs.is_empty() {
            top.raw("track_process", &format!("[{}]", procs.join(",")));
        }
        top.end()
    }

    /// `vrrp_json_data_dump()`.
    fn json_data(&self, i: &Instance, host: &DumpHost) -> String {
        let (c, g) = (&i.cfg, &self.config.global);
        let mut o = Obj::new();
        o.str("iname", i.name())
            .num("dont_track_primary", u8::from(c.dont_track_primary))
            .num("skip_check_adv_addr", u8::from(c.skip_check_adv_addr))
            .num("strict_mode", u8::from(c.strict_mode || g.vrrp_strict))
            .str("vmac_ifname", c.vmac().unwrap_or(""));
        if c.interface.is_some() {
            o.str("ifp_ifname", i.vip_interface());
        }
        let lt = i.last_transition.map(|t| host.wall(t)).unwrap_or(0);
        o.num("master_priority", i.master_priority)
            .raw(
                "last_transition",
                &format!("{}.{:06}", lt / 1_000_000, lt % 1_000_000),
            )
            .raw("garp_delay", &float_g(secs_f(c.garp_master_delay_us)))
            .num("garp_refresh", secs(c.garp_master_refresh_us))
            .num("garp_rep", c.garp_master_repeat)
            .num("garp_refresh_rep", c.garp_master_refresh_repeat)
            .num("garp_lower_prio_delay", secs(c.garp_lower_prio_delay_us))
            .num("garp_lower_prio_rep", c.garp_lower_prio_repeat)
            .num("lower_prio_no_advert", u8::from(c.lower_prio_no_advert))
            .num(
                "higher_prio_send_advert",
                u8::from(c.higher_prio_send_advert),
            )
            .num("vrid", c.virtual_router_id)
            .num("base_priority", c.priority)
            .num("effective_priority", i.effective_priority)
            .bool("vipset", i.state == State::Master)
            .bool("promote_secondaries", c.promote_secondaries)
            .raw("adver_int", &float_g(secs_f(c.advert_int_us)))
            .raw(
                "master_adver_int",
                &float_g(i.master_adver_int.as_micros() as f64 / 1e6),
            )
            .num("accept", u8::from(c.accept))
            .bool("nopreempt", c.nopreempt)
            .num("preempt_delay", secs(c.preempt_delay_us))
            .num("state", state_number(i.state))
            .num("wantstate", state_number(i.want))
            .num("version", c.version)
            .bool("smtp_alert", c.smtp_alert)
            .bool("notify_deleted", c.notify_deleted.is_some());
        // vrrp_json_script_dump(): each notify script that is set.
        let n = &c.notifies;
        for (key, cmd) in [
            ("script_backup", &n.notify_backup),
            ("script_master", &n.notify_master),
            ("script_fault", &n.notify_fault),
            ("script_stop", &n.notify_stop),
            ("script_deleted", &c.notify_deleted.clone().flatten()),
            ("script", &n.notify),
            ("script_master_rx_lower_pri", &c.notify_master_rx_lower_pri),
        ] {
            if let Some(cmd) = cmd {
                o.str(key, &cmd_str(cmd));
            }
        }
        let set = i.state == State::Master;
        let dev = i.vip_interface();
        o.strs(
            "vips",
            c.virtual_ipaddress
                .iter()
                .map(|a| format_ipaddress(a, dev, set)),
        )
        .strs(
            "evips",
            c.virtual_ipaddress_excluded
                .iter()
                .map(|a| format_ipaddress(a, dev, set)),
        )
        .strs(
            "track_ifp",
            c.trackers.interfaces.iter().map(|t| t.name.clone()),
        )
        .strs(
            "track_script",
            c.trackers.scripts.iter().filter_map(|t| {
                self.scripts
                    .get(&t.name)
                    .and_then(|s| s.cfg.script.as_ref())
                    .map(cmd_str)
            }),
        );
        if self.config.global.json_version >= 2 {
            o.strs(
                "track_process",
                c.trackers.processes.iter().map(|t| t.name.clone()),
            );
        }
        o.num("auth_type", auth_type_number(c));
        if auth_type_number(c) != 0 {
            // keepalived 2.2.7 writes the password here in clear.
            o.str("auth_data", MASK);
        }
        o.end()
    }

    /// keepalived 2.3's `vrrp_json_vprocess_dump()`.
    fn json_process(&self, p: &TrackProcess) -> String {
        use crate::config::model::ParamMatch;
        let mut o = Obj::new();
        o.str("process", p.process.as_deref().unwrap_or(&p.name));
        if !p.parameters.is_empty() {
            o.str("parameters", &p.parameters.join(" "));
        }
        o.str(
            "param_match",
            match p.param_match {
                None => "none",
                Some(ParamMatch::Exact) => "exact",
                Some(ParamMatch::Partial) => "partial",
                Some(ParamMatch::Initial) => "initial",
            },
        );
        o.num("min_processes", p.quorum);
        if let Some(m) = p.quorum_max {
            o.num("max_processes", m);
        }
        let cur = self.processes.get(&p.name).copied().unwrap_or(0);
        o.num("current_processes", cur)
            .bool("have_quorum", process_quorum(p, cur))
            .num(
                "weight",
                if p.weight_reverse {
                    -p.weight
                } else {
                    p.weight
                },
            )
            .raw(
                "terminate_delay",
                &float_g(secs_f(p.terminate_delay_us.unwrap_or(0))),
            )
            .raw("fork_delay", &float_g(secs_f(p.fork_delay_us.unwrap_or(0))))
            .bool("fork_delay_timer_running", false)
            .bool("terminate_delay_timer_running", false)
            .bool("full_command", p.full_command);
        o.end()
    }

    /// `keepalived.data` (`vrrp_print_data()`): the global definitions, then the VRRP
    /// topology, sync groups and scripts (`dump_data_vrrp()`). keepalived's sockpool and
    /// interface sections describe its own sockets and the kernel's links, and are not
    /// written.
    pub fn data_text(&self, host: &DumpHost) -> String {
        let mut s = global_text(&self.config.global, false, host.script_ids);
        s.push_str("------< VRRP Topology >------\n");
        for i in &self.instances {
            self.instance_text(&mut s, i, host);
        }
        if !self.groups.is_empty() {
            s.push_str("------< VRRP Sync groups >------\n");
            for gr in &self.groups {
                self.group_text(&mut s, gr);
            }
        }
        // keepalived drops the scripts, files and processes nothing tracks
        // (`vrrp_complete_init()`: "script chk is not used").
        let scripts: Vec<&ScriptState> = self
            .scripts
            .values()
            .filter(|sc| self.tracked(|t| &t.scripts, &sc.cfg.name))
            .collect();
        if !scripts.is_empty() {
            s.push_str("------< VRRP Scripts >------\n");
            for sc in scripts {
                self.script_text(&mut s, sc, host);
            }
        }
        let processes: Vec<&TrackProcess> = self
            .config
            .track_processes
            .iter()
            .filter(|p| self.tracked(|t| &t.processes, &p.name))
            .collect();
        if !processes.is_empty() {
            s.push_str("------< VRRP Track processes >------\n");
            for p in processes {
                self.process_text(&mut s, p);
            }
        }
        s
    }

    /// Whether an instance or sync group tracks `name` among the trackers `of` picks.
    fn tracked(&self, of: impl Fn(&Trackers) -> &Vec<TrackRef>, name: &str) -> bool {
        self.instances
            .iter()
            .map(|i| &i.cfg.trackers)
            .chain(self.groups.iter().map(|g| &g.cfg.trackers))
            .any(|t| of(t).iter().any(|r| r.name == name))
    }

    /// The instances tracking `name` among the trackers `of` picks, each with the weight
    /// it gives (`dump_tracking_obj_list()`), under `   Tracking instances :`.
    fn tracking_text(
        &self,
        s: &mut String,
        of: impl Fn(&Trackers) -> &Vec<TrackRef>,
        name: &str,
        own_weight: i32,
    ) {
        let tracking: Vec<String> = self
            .instances
            .iter()
            .filter_map(|i| {
                let t = of(&i.cfg.trackers).iter().find(|t| t.name == name)?;
                Some(format!(
                    "     {}, weight {}",
                    i.name(),
                    t.weight.unwrap_or(own_weight)
                ))
            })
            .collect();
        if !tracking.is_empty() {
            s.push_str("   Tracking instances :\n");
            for t in tracking {
                s.push_str(&t);
                s.push('\n');
            }
        }
    }

    /// `dump_vprocess()`.
    fn process_text(&self, s: &mut String, p: &TrackProcess) {
        use crate::config::model::ParamMatch;
        let _ = writeln!(s, " VRRP Track process = {}", p.name);
        let _ = writeln!(
            s,
            "   Process = {}",
            p.process.as_deref().unwrap_or_default()
        );
        if !p.parameters.is_empty() {
            let _ = writeln!(s, "   Parameters = {}", p.parameters.join(" "));
        }
        match p.param_match {
            None => {}
            Some(ParamMatch::Exact) => s.push_str("   Param match\n"),
            Some(ParamMatch::Partial) => s.push_str("   Param match = partial\n"),
            Some(ParamMatch::Initial) => s.push_str("   Param match = initial\n"),
        }
        let _ = writeln!(s, "   Min processes = {}", p.quorum);
        if let Some(m) = p.quorum_max {
            let _ = writeln!(s, "   Max processes = {m}");
        }
        let cur = self.processes.get(&p.name).copied().unwrap_or(0);
        let _ = writeln!(s, "   Current processes = {cur}");
        let _ = writeln!(s, "   Have quorum = {}", process_quorum(p, cur));
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            p.weight,
            if p.weight_reverse { " reverse" } else { "" }
        );
        let _ = writeln!(
            s,
            "   Terminate delay = {:.6}s",
            secs_f(p.terminate_delay_us.unwrap_or(0))
        );
        let _ = writeln!(
            s,
            "   Fork delay = {:.6}s",
            secs_f(p.fork_delay_us.unwrap_or(0))
        );
        s.push_str("   Fork delay timer not running\n");
        s.push_str("   Terminate delay timer not running\n");
        let _ = writeln!(s, "   Full command = {}", p.full_command);
        self.tracking_text(s, |t| &t.processes, &p.name, p.weight);
    }

    /// `dump_vrrp()`.
    fn instance_text(&self, s: &mut String, i: &Instance, host: &DumpHost) {
        let (c, gl) = (&i.cfg, &self.config.global);
        let mut w = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        w(format!(" VRRP Instance = {}", i.name()));
        w(format!("   VRRP Version = {}", c.version));
        if let Some(g) = i.sync.and_then(|n| self.groups.get(n)) {
            w(format!("   Sync group = {}", g.cfg.name));
        }
        if c.is_ipv6() {
            w("   Using Native IPv6".into());
        }
        w(format!("   State = {}", state_word(i.state)));
        if i.state == State::Backup {
            if let Some(m) = i.master_addr {
                w(format!("   Master router = {m}"));
            }
            w(format!("   Master priority = {}", i.master_priority));
            if c.version == 3 {
                w(format!(
                    "   Master advert int = {:.2} sec",
                    i.master_adver_int.as_micros() as f64 / 1e6
                ));
            }
        }
        if i.unicast() || c.unicast_fault_no_peer {
            w("   Flags:".into());
            if i.unicast() {
                w("     Using unicast".into());
            }
            if c.unicast_fault_no_peer {
                w("     If unicast go to fault state if no peers".into());
            }
        } else {
            w("   Flags: none".into());
        }
        w(format!("   Wantstate = {}", state_word(i.want)));
        w("   Number of config faults = 0".into());
        let faults = [i.faults.tracker, i.faults.interface_down]
            .iter()
            .filter(|&&f| f)
            .count();
        w(format!(
            "   Number of interface and track script faults = {faults}"
        ));
        let init = c
            .trackers
            .scripts
            .iter()
            .filter(|t| {
                self.scripts
                    .get(&t.name)
                    .is_some_and(|s| s.health == super::track::Health::Init)
            })
            .count();
        w(format!("   Number of track scripts init = {init}"));
        w(format!(
            "   Last transition = {}",
            i.last_transition
                .map(|t| host.timeval(t))
                .unwrap_or_else(|| "0.000000 (Thu Jan  1 00:00:00.000000 1970)".into())
        ));
        match i.deadline {
            Some(t) => w(format!("   Read timeout = {}", host.timeval(t))),
            None => w("   Read timeout = DISABLED".into()),
        }
        w(format!(
            "   Master down timer = {} usecs",
            i.ms_down().as_micros()
        ));
        if let Some(v) = c.vmac() {
            w(format!(
                "   Use VMAC, i/f name {v}, is_up = {}, xmit_base = {}",
                i.state != State::Init,
                c.vmac_xmit_base
            ));
        }
        w(format!(
            "   Interface = {}",
            c.interface
                .as_ref()
                .map(|_| i.vip_interface())
                .unwrap_or("not configured")
        ));
        if c.dont_track_primary {
            w("   VRRP interface tracking disabled".into());
        }
        if c.skip_check_adv_addr {
            w("   Skip checking advert IP addresses".into());
        }
        if c.strict_mode || gl.vrrp_strict {
            w("   Enforcing strict VRRP compliance".into());
        }
        let src = i.src_addr(&self.interfaces);
        w(format!(
            "   Using src_ip = {}{}",
            src.map(|a| a.to_string())
                .unwrap_or_else(|| "(none)".into()),
            if c.src_ip.is_some() {
                " (from configuration)"
            } else {
                ""
            }
        ));
        if !i.unicast() {
            let group = c.mcast_dst_ip.unwrap_or(if c.is_ipv6() {
                gl.vrrp_mcast_group6
            } else {
                gl.vrrp_mcast_group4
            });
            let index = host.ifindexes.iter().find(|(n, _)| n == i.xmit_interface());
            match index {
                Some((_, index)) if c.is_ipv6() => {
                    w(format!("   Multicast address {group}, ifindex {index}"))
                }
                _ => w(format!("   Multicast address {group}")),
            }
        }
        w(format!(
            "   Gratuitous ARP delay = {}",
            secs(c.garp_master_delay_us)
        ));
        w(format!(
            "   Gratuitous ARP repeat = {}",
            c.garp_master_repeat
        ));
        w(format!(
            "   Gratuitous ARP refresh = {}",
            secs(c.garp_master_refresh_us)
        ));
        w(format!(
            "   Gratuitous ARP refresh repeat = {}",
            c.garp_master_refresh_repeat
        ));
        w(format!(
            "   Gratuitous ARP lower priority delay = {}",
            secs(c.garp_lower_prio_delay_us)
        ));
        w(format!(
            "   Gratuitous ARP lower priority repeat = {}",
            c.garp_lower_prio_repeat
        ));
        w(format!("   Down timer adverts = {}", c.down_timer_adverts));
        w(format!(
            "   Send advert after receive lower priority advert = {}",
            !c.lower_prio_no_advert
        ));
        w(format!(
            "   Send advert after receive higher priority advert = {}",
            c.higher_prio_send_advert
        ));
        w(format!("   Virtual Router ID = {}", c.virtual_router_id));
        w(format!("   Priority = {}", c.priority));
        w(format!("   Effective priority = {}", i.effective_priority));
        w(format!("   Total priority = {}", i.total_priority));
        if c.version == 2 {
            w(format!(
                "   Advert interval = {} sec",
                secs(c.advert_int_us)
            ));
        } else {
            w(format!(
                "   Advert interval = {} milli-sec",
                c.advert_int_us / 1000
            ));
        }
        if i.state == State::Backup && c.version == 3 {
            w(format!(
                "   Master advert interval = {} milli-sec",
                i.master_adver_int.as_millis()
            ));
        }
        w(format!(
            "   Accept = {}",
            if c.accept { "enabled" } else { "disabled" }
        ));
        w(format!(
            "   Preempt = {}",
            if c.nopreempt { "disabled" } else { "enabled" }
        ));
        if c.preempt_delay_us > 0 {
            w(format!(
                "   Preempt delay = {} secs",
                float_g(secs_f(c.preempt_delay_us))
            ));
        }
        w(format!(
            "   Promote_secondaries = {}",
            if c.promote_secondaries {
                "enabled"
            } else {
                "disabled"
            }
        ));
        match c.authentication.as_ref().map(|a| a.auth_type) {
            Some(AuthType::Ah) => w("   Authentication type = IPSEC_AH".into()),
            Some(_) => {
                w("   Authentication type = SIMPLE_PASSWORD".into());
                // keepalived 2.2.7 prints the password in clear.
                w(format!("   Password = {MASK}"));
            }
            None if c.version == 2 => w("   Authentication type = none".into()),
            None => {}
        }
        if let Some(b) = c.kernel_rx_buf_size {
            w(format!("   Kernel rx buffer size = {b}"));
        }
        if c.debug > 0 {
            w(format!("   Debug level = {}", c.debug));
        }
        let set = i.state == State::Master;
        let dev = i.vip_interface();
        if !c.virtual_ipaddress.is_empty() {
            w(format!("   Virtual IP ({}):", c.virtual_ipaddress.len()));
            for a in &c.virtual_ipaddress {
                w(format!("     {}", format_ipaddress(a, dev, set)));
            }
        }
        if !c.virtual_ipaddress_excluded.is_empty() {
            w("   Virtual IP Excluded :".into());
            for a in &c.virtual_ipaddress_excluded {
                w(format!("     {}", format_ipaddress(a, dev, set)));
            }
        }
        if i.unicast() {
            w(format!("   Unicast TTL = {}", c.unicast_ttl.unwrap_or(255)));
            w(format!(
                "   Check unicast src : {}",
                if c.check_unicast_src || gl.vrrp_check_unicast_src {
                    "yes"
                } else {
                    "no"
                }
            ));
            w("   Unicast Peer :".into());
            for p in &c.unicast_peers {
                w(format!(
                    "     {} min_ttl {} max_ttl {}",
                    p.address,
                    p.min_ttl.unwrap_or(0),
                    p.max_ttl.unwrap_or(255)
                ));
            }
            w(format!(
                "   Unicast checksum compatibility = {}",
                match c.old_unicast_checksum {
                    None => "no",
                    Some(true) => "config",
                    Some(false) => "never",
                }
            ));
        }
        if !c.trackers.interfaces.is_empty() {
            w("   Tracked interfaces :".into());
            for t in &c.trackers.interfaces {
                w(format!("     {} weight {}", t.name, t.weight.unwrap_or(0)));
            }
        }
        if !c.trackers.scripts.is_empty() {
            w("   Tracked scripts :".into());
            for t in &c.trackers.scripts {
                let weight = t
                    .weight
                    .unwrap_or_else(|| self.scripts.get(&t.name).map_or(0, |s| s.cfg.weight));
                w(format!("     {} weight {weight}", t.name));
            }
        }
        w(format!(
            "   Using smtp notification = {}",
            if c.smtp_alert { "yes" } else { "no" }
        ));
        w(format!(
            "   Notify deleted = {}",
            if c.notify_deleted.is_some() {
                "Deleted"
            } else {
                "Fault"
            }
        ));
        let n = &c.notifies;
        for (label, cmd) in [
            ("Backup", &n.notify_backup),
            ("Master", &n.notify_master),
            ("Fault", &n.notify_fault),
            ("Stop", &n.notify_stop),
            ("Deleted", &c.notify_deleted.clone().flatten()),
            ("Generic", &n.notify),
            ("Master rx lower pri", &c.notify_master_rx_lower_pri),
        ] {
            if let Some(cmd) = cmd {
                w(format!(
                    "   {label} state transition script = {}",
                    cmd_str(cmd)
                ));
            }
        }
        w(format!(
            "   Notify priority changes = {}",
            c.notify_priority_changes
        ));
    }

    /// `dump_vgroup()`.
    fn group_text(&self, s: &mut String, gr: &super::Group) {
        let _ = writeln!(
            s,
            " VRRP Sync Group = {}, {}",
            gr.cfg.name,
            state_word(gr.state)
        );
        let members = gr.members.iter().filter_map(|&n| self.instances.get(n));
        let fault = members.clone().filter(|i| i.state == State::Fault).count();
        let init = members.clone().filter(|i| i.state == State::Init).count();
        let _ = writeln!(s, "   Num member fault {fault}, num member init {init}");
        s.push_str("   VRRP member instances :\n");
        for i in members {
            let _ = writeln!(s, "     {}", i.name());
        }
        let smtp = gr.cfg.smtp_alert.unwrap_or(false);
        let _ = writeln!(
            s,
            "   Using smtp notification = {}",
            if smtp { "yes" } else { "no" }
        );
    }

    /// `dump_vscript()`.
    fn script_text(&self, s: &mut String, sc: &ScriptState, host: &DumpHost) {
        let c = &sc.cfg;
        let _ = writeln!(s, " VRRP Script = {}", c.name);
        let _ = writeln!(
            s,
            "   Command = {}",
            c.script.as_ref().map(cmd_str).unwrap_or_default()
        );
        let _ = writeln!(s, "   Interval = {} sec", secs(c.interval_us));
        // The configured timeout; without one keepalived holds 0 (and times the script
        // out at its interval).
        let timeout = if c.explicit.has(Given::Timeout) {
            secs(c.timeout_us)
        } else {
            0
        };
        let _ = writeln!(s, "   Timeout = {timeout} sec");
        let _ = writeln!(
            s,
            "   Weight = {}{}",
            c.weight,
            if c.weight_reverse { " reverse" } else { "" }
        );
        let _ = writeln!(s, "   Rise = {}", c.rise);
        let _ = writeln!(s, "   Fall = {}", c.fall);
        let _ = writeln!(s, "   Result = {}", sc.result());
        let _ = writeln!(s, "   Insecure = no");
        let _ = writeln!(
            s,
            "   Init state = {}",
            match sc.health {
                super::track::Health::Init if c.init_fail => "INIT/FAILED",
                super::track::Health::Init => "INIT",
                _ => "unknown",
            }
        );
        let _ = writeln!(
            s,
            "   Status = {}",
            if sc.result() >= c.rise { "GOOD" } else { "BAD" }
        );
        let (uid, gid) = host.script_ids;
        let _ = writeln!(s, "   Script uid:gid = {uid}:{gid}");
        s.push_str("   VRRP instances :\n");
        self.tracking_text(s, |t| &t.scripts, &c.name, c.weight);
        let _ = writeln!(
            s,
            "   State = {}",
            if sc.running { "running" } else { "idle" }
        );
    }
}

/// Whether `cur` processes make `p`'s quorum (`have_quorum`).
fn process_quorum(p: &TrackProcess, cur: u32) -> bool {
    cur >= p.quorum && p.quorum_max.is_none_or(|m| cur <= m)
}

/// `vrrp->auth_type`: 0 none, 1 simple password, 2 IPSEC AH.
fn auth_type_number(c: &VrrpInstance) -> u8 {
    match c.authentication.as_ref().map(|a| a.auth_type) {
        None => 0,
        Some(AuthType::Ah) => 2,
        Some(_) => 1,
    }
}

/// `vrrp_json_stats_dump()`; version 2 adds keepalived 2.3's RFC 5798 HMAC extension
/// counters, which no advert of ours fails (no `auth_ext` support): zero.
fn json_stats(i: &Instance, v2: bool) -> String {
    let s = &i.stats;
    let mut o = Obj::new();
    o.num("advert_rcvd", s.advert_rcvd)
        .num("advert_sent", s.advert_sent)
        .num("become_master", s.become_master)
        .num("release_master", s.release_master)
        .num("packet_len_err", s.packet_len_err)
        .num("advert_interval_err", 0)
        .num("ip_ttl_err", s.ip_ttl_err)
        .num("invalid_type_rcvd", s.invalid_type_rcvd)
        .num("addr_list_err", s.addr_list_err)
        .num("invalid_authtype", s.invalid_authtype)
        .num("authtype_mismatch", s.authtype_mismatch)
        .num("auth_failure", s.auth_failure);
    if v2 {
        for k in [
            "auth_ext_missing",
            "auth_ext_malformed",
            "auth_ext_unknown_key",
            "auth_ext_invalid_hmac",
            "auth_ext_stale",
            "auth_ext_replay",
        ] {
            o.num(k, 0);
        }
    }
    o.num("pri_zero_rcvd", s.pri_zero_rcvd)
        .num("pri_zero_sent", s.pri_zero_sent);
    o.end()
}

/// `dump_global_data()` for the VRRP process (`vrrp == true`: with `Default interface`)
/// or the parent, which prints the unresolved lower-priority GARP values
/// (`PARAMETER_UNSET`, 4294967295) when the configuration leaves them unset.
pub fn global_text(gl: &GlobalDefs, parent: bool, script_ids: (u32, u32)) -> String {
    let mut s = String::from("------< Global definitions >------\n");
    let mut w = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    let yn = |b: bool| if b { "true" } else { "false" };
    w(" Network namespace = (default)".into());
    w(" Network namespace ipvs = (main namespace)".into());
    if let Some(r) = &gl.router_id {
        w(format!(" Router ID = {r}"));
    }
    for (k, v) in [
        ("smtp_alert", gl.smtp_alert),
        ("smtp_alert_vrrp", gl.smtp_alert_vrrp),
        ("smtp_alert_checker", gl.smtp_alert_checker),
    ] {
        w(format!(
            " Default {k} = {}",
            match v {
                None => "unset",
                Some(true) => "on",
                Some(false) => "off",
            }
        ));
    }
    w(format!(
        " Checkers log all failures = {}",
        yn(gl.checker_log_all_failures)
    ));
    if gl.reload_check_config.is_none() {
        w(" No test config before reload".into());
    }
    if gl.data_use_instance {
        w(" Use instance name in data dumps".into());
    }
    w(format!(
        " Dynamic interfaces = {}",
        yn(gl.dynamic_interfaces)
    ));
    if gl.dynamic_interfaces {
        w(format!(
            " Allow interface changes = {}",
            yn(gl.dynamic_interfaces_allow_if_changes)
        ));
    }
    if gl.no_email_faults {
        w(" Send emails for fault transitions = off".into());
    }
    if !parent {
        w(format!(
            " Default interface = {}",
            gl.default_interface.as_deref().unwrap_or("eth0")
        ));
    }
    w(format!(
        " Disable local IGMP = {}",
        if gl.disable_local_igmp { "yes" } else { "no" }
    ));
    w(format!(" LVS flush = {}", yn(gl.lvs_flush)));
    w(format!(
        " LVS flush on stop = {}",
        match gl.lvs_flush_on_stop {
            Some(crate::config::model::LvsFlushOnStop::All) => "full",
            Some(crate::config::model::LvsFlushOnStop::Vs) => "VS",
            None => "disabled",
        }
    ));
    w(format!(
        " FIFO write vrrp states on reload = {}",
        yn(gl.fifo_write_vrrp_states_on_reload)
    ));
    w(format!(
        " VRRP notify priority changes = {}",
        yn(gl.vrrp_notify_priority_changes)
    ));
    w(format!(" VRRP IPv4 mcast group = {}", gl.vrrp_mcast_group4));
    w(format!(" VRRP IPv6 mcast group = {}", gl.vrrp_mcast_group6));
    w(format!(
        " Gratuitous ARP delay = {}",
        secs(gl.vrrp_garp_master_delay_us)
    ));
    w(format!(
        " Gratuitous ARP repeat = {}",
        gl.vrrp_garp_master_repeat
    ));
    w(format!(
        " Gratuitous ARP refresh timer = {}",
        secs(gl.vrrp_garp_master_refresh_us)
    ));
    w(format!(
        " Gratuitous ARP refresh repeat = {}",
        gl.vrrp_garp_master_refresh_repeat
    ));
    // The VRRP process resolves unset values to the delay and repeat above.
    const UNSET: u64 = u32::MAX as u64;
    let (lpd, lpr) = match (
        parent,
        gl.vrrp_garp_lower_prio_delay_us,
        gl.vrrp_garp_lower_prio_repeat,
    ) {
        (true, d, r) => (d.map_or(UNSET, secs), r.map_or(UNSET, u64::from)),
        (false, d, r) => (
            secs(d.unwrap_or(gl.vrrp_garp_master_delay_us)),
            u64::from(r.unwrap_or(gl.vrrp_garp_master_repeat)),
        ),
    };
    w(format!(" Gratuitous ARP lower priority delay = {lpd}"));
    w(format!(" Gratuitous ARP lower priority repeat = {lpr}"));
    w(format!(
        " Num adverts before down = {}",
        gl.vrrp_down_timer_adverts
    ));
    w(format!(
        " Gratuitous ARP for each secondary {} = {}s",
        if gl.vrrp_garp_extra_if.as_ref().is_some_and(|e| e.all) {
            "i/f"
        } else {
            "VMAC"
        },
        gl.vrrp_garp_extra_if
            .as_ref()
            .map_or(0, |e| secs(e.interval_us))
    ));
    w(format!(
        " Send advert after receive lower priority advert = {}",
        yn(!gl.vrrp_lower_prio_no_advert)
    ));
    w(format!(
        " Send advert after receive higher priority advert = {}",
        yn(gl.vrrp_higher_prio_send_advert)
    ));
    w(format!(
        " Gratuitous ARP interval = {:.6}",
        secs_f(gl.vrrp_garp_interval_us)
    ));
    w(format!(
        " Gratuitous NA interval = {:.6}",
        secs_f(gl.vrrp_gna_interval_us)
    ));
    w(format!(
        " VRRP default protocol version = {}",
        gl.vrrp_version
    ));
    w(format!(
        " VRRP check unicast_src = {}",
        yn(gl.vrrp_check_unicast_src)
    ));
    w(format!(
        " VRRP skip check advert addresses = {}",
        yn(gl.vrrp_skip_check_adv_addr)
    ));
    w(format!(" VRRP strict mode = {}", yn(gl.vrrp_strict)));
    w(format!(
        " Max auto priority = {}",
        gl.max_auto_priority.unwrap_or(0)
    ));
    w(format!(
        " Min auto priority delay = {} usecs",
        gl.min_auto_priority_delay_us.unwrap_or(1_000_000)
    ));
    for (p, prio, swap, rt, lim) in [
        (
            "VRRP",
            gl.vrrp_priority,
            gl.vrrp_no_swap,
            gl.vrrp_rt_priority,
            gl.vrrp_rlimit_rttime_us,
        ),
        (
            "Checker",
            gl.checker_priority,
            gl.checker_no_swap,
            gl.checker_rt_priority,
            gl.checker_rlimit_rttime_us,
        ),
        (
            "BFD",
            gl.bfd_priority,
            gl.bfd_no_swap,
            gl.bfd_rt_priority,
            gl.bfd_rlimit_rttime_us,
        ),
    ] {
        w(format!(" {p} process priority = {}", prio.unwrap_or(0)));
        w(format!(" {p} don't swap = {}", yn(swap)));
        w(format!(" {p} realtime priority = {}", rt.unwrap_or(0)));
        w(format!(" {p} realtime limit = {lim}"));
    }
    let en = |b: bool| if b { "enabled" } else { "disabled" };
    w(format!(" SNMP vrrp {}", en(gl.enable_snmp_vrrp)));
    w(format!(" SNMP checker {}", en(gl.enable_snmp_checker)));
    w(format!(
        " SNMP RFCv2 {}",
        en(gl.enable_snmp_rfc || gl.enable_snmp_rfcv2)
    ));
    w(format!(
        " SNMP RFCv3 {}",
        en(gl.enable_snmp_rfc || gl.enable_snmp_rfcv3)
    ));
    w(format!(" SNMP traps {}", en(gl.enable_traps)));
    w(format!(
        " SNMP socket = {}",
        gl.snmp_socket
            .as_deref()
            .unwrap_or("default (unix:/var/agentx/master)")
    ));
    w(format!(" DBus {}", en(gl.enable_dbus)));
    w(format!(
        " DBus service name = {}",
        gl.dbus_service_name.as_deref().unwrap_or("")
    ));
    w(format!(
        " Script security {}",
        en(gl.enable_script_security)
    ));
    w(format!(
        " Default script uid:gid {}:{}",
        script_ids.0, script_ids.1
    ));
    // Socket buffer sizes: 0 where the configuration sets none (netlink_buffers).
    for k in [
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs",
        "process_monitor_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs",
    ] {
        let b = gl.netlink_buffers.iter().find(|b| b.keyword == k);
        w(format!(" {k} = {}", b.map_or(0, |b| b.size)));
        w(format!(
            " {k}_force = {}",
            b.map_or(0, |b| u8::from(b.force))
        ));
    }
    w(format!(
        " rs_init_notifies = {}",
        u8::from(gl.rs_init_notifies)
    ));
    w(format!(
        " no_checker_emails = {}",
        u8::from(gl.no_checker_emails)
    ));
    w(format!(
        " rx_bufs_multiples = {}",
        gl.vrrp_rx_bufs_multiplier
    ));
    w(format!(" umask = {:04o}", gl.umask.unwrap_or(0o177)));
    s
}
