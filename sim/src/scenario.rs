//! Scenario files: hosts (each with a keepalived.conf, inline or from a file, and
//! interfaces plugged into named segments), a schedule of faults and events, and
//! expectations. TOML; every mistake is reported with the file and line, and whatever the
//! simulator cannot run faithfully is refused by name (see `fidelity`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keepalived_engine::config::model::Config;
use keepalived_engine::config::{parse_str, IncludeCheck, Loaded, ParseOptions};
use serde::Deserialize;
use toml::Spanned;

use crate::fidelity;
use crate::host::{default_ipv4, default_ipv6, Iface};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    duration: f64,
    #[serde(default = "default_tick")]
    tick_ms: u64,
    #[serde(default = "default_latency")]
    max_latency_ms: u64,
    #[serde(default, rename = "segment")]
    segments: Vec<Spanned<RawSegment>>,
    #[serde(rename = "host")]
    hosts: Vec<Spanned<RawHost>>,
    #[serde(default, rename = "event")]
    events: Vec<Spanned<RawEvent>>,
    #[serde(default, rename = "expect")]
    expects: Vec<Spanned<RawExpect>>,
}

fn default_tick() -> u64 {
    1
}

fn default_latency() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSegment {
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: String,
    /// The segment of a host's one interface, `eth0`, when `interfaces` is not given.
    segment: Option<String>,
    /// Interface name (as the config uses it) to segment.
    interfaces: Option<BTreeMap<String, String>>,
    /// Interface name to its IPv4 address, IPv6 address, or both separated by a comma,
    /// where the defaults (192.168.<segment>.<n>, fe80::<segment>:<n>) or the config's
    /// `unicast_src_ip` are not the ones wanted.
    #[serde(default)]
    addresses: BTreeMap<String, String>,
    /// `vrrp` (default), `checker` or `real_server`.
    #[serde(default)]
    role: Option<String>,
    /// keepalived.conf for `vrrp` and `checker` hosts, inline.
    config: Option<Spanned<String>>,
    /// keepalived.conf for `vrrp` and `checker` hosts, from a file relative to the
    /// scenario's directory.
    config_file: Option<Spanned<String>>,
    /// TCP ports a `real_server` host listens on.
    #[serde(default)]
    listen: Vec<u16>,
    /// What a `real_server` host answers an HTTP GET with, by path.
    #[serde(default)]
    http: Vec<RawHttp>,
    /// A deliberately broken prober on a `checker` host, for the simulator's own tests:
    /// `false_down` (every probe fails) or `lose_results` (no probe ever reports).
    inject: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    path: String,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    body: String,
}

fn default_status() -> u16 {
    200
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: f64,
    action: String,
    #[serde(default)]
    hosts: Vec<String>,
    interface: Option<String>,
    segment: Option<String>,
    ms: Option<u64>,
    rate: Option<f64>,
    ok: Option<bool>,
    script: Option<String>,
    config: Option<Spanned<String>>,
    config_file: Option<Spanned<String>>,
    offset_ms: Option<i64>,
    drift_ppm: Option<i64>,
    path: Option<String>,
    status: Option<u16>,
    body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    at: Option<f64>,
    instance: Option<String>,
    master: Option<String>,
    max_transitions: Option<usize>,
    vip: Option<String>,
    max_gap: Option<f64>,
    /// Checker hosts: at most this many real servers declared down over the run.
    max_rs_down: Option<usize>,
    /// Checker hosts: at least this many real servers declared down over the run (so a
    /// scenario shows its faults were seen).
    min_rs_down: Option<usize>,
}

/// The most hosts, and the most segments, a scenario has: addresses are numbered
/// 192.168.<segment>.<host> from 1.
pub const MAX_HOSTS: usize = 250;

/// Every action a scenario's `[[event]]` may name, in the order `docs/scenarios.md`
/// describes them.
pub const ACTIONS: [&str; 22] = [
    "crash",
    "restart",
    "shutdown",
    "pause",
    "clock",
    "reload",
    "link_down",
    "link_up",
    "partition",
    "partition_oneway",
    "heal",
    "heal_all",
    "loss",
    "latency",
    "hold",
    "release",
    "script",
    "hang",
    "recover",
    "refuse",
    "accept",
    "http",
];

/// Every kind of `[[expect]]`, by the key that selects it.
pub const EXPECTATIONS: [&str; 5] = [
    "master",
    "max_transitions",
    "vip",
    "max_rs_down",
    "min_rs_down",
];

/// A fault or event, at a simulated time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Action {
    Crash(usize),
    Restart(usize),
    /// Directed pairs that stop hearing each other: on one segment, or on all of them.
    Partition {
        pairs: Vec<(usize, usize)>,
        segment: Option<usize>,
    },
    /// Directed pairs that hear each other again (on one segment, or on all).
    Heal {
        pairs: Vec<(usize, usize)>,
        segment: Option<usize>,
    },
    HealAll,
    /// Between two hosts on every segment (turmoil's link), or on a segment for the
    /// listed hosts (all of its hosts if none): VRRP adverts lost at `rate`.
    Loss {
        segment: Option<usize>,
        hosts: Vec<usize>,
        rate: f64,
    },
    /// Between two hosts (turmoil's link) or on a segment for the listed hosts: a fixed
    /// one-way delay.
    Latency {
        segment: Option<usize>,
        hosts: Vec<usize>,
        ms: u64,
    },
    Pause(usize, u64),
    /// Host, index of its interface.
    LinkDown(usize, usize),
    LinkUp(usize, usize),
    Script {
        host: usize,
        script: String,
        ok: bool,
    },
    #[serde(skip_serializing)]
    Reload(usize, Arc<Config>),
    Shutdown(usize),
    /// A real server stops answering: its listener stops accepting, so a connect gets
    /// no SYN-ACK (turmoil completes the handshake in `accept`) and times out.
    Hang(usize),
    /// A hung real server answers again.
    Recover(usize),
    /// A real server's service stops while its host runs: connects are refused at once.
    Refuse(usize),
    /// A refusing real server's service starts again.
    Accept(usize),
    /// Messages between two hosts are held (not lost) until released: after `ms` when
    /// given, else by a `release` event.
    Hold(usize, usize, Option<u64>),
    Release(usize, usize),
    Clock {
        host: usize,
        offset_ms: i64,
        drift_ppm: i64,
    },
    /// A real server answers GET `path` with another status and body from now on.
    Http {
        host: usize,
        answer: HttpAnswer,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Event {
    pub at: f64,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Expect {
    /// At `at`, `host` (or nobody) is MASTER of `instance`.
    Master {
        at: f64,
        instance: String,
        host: Option<usize>,
    },
    /// Over the run, state changes of `instance` on all hosts (start-up excluded).
    MaxTransitions { instance: String, max: usize },
    /// Once first held, `vip` is unheld for at most `max_gap` seconds in all.
    VipContinuity { vip: String, max_gap: f64 },
    /// Real servers declared down (all checker hosts, all runs of each) within this range.
    RsDowns { min: usize, max: usize },
}

/// What a host runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub enum Role {
    #[default]
    /// keepalived-rs: its VRRP side, and its checker side when the config has
    /// virtual servers.
    Vrrp,
    /// keepalived-rs's checker side alone.
    Checker,
    /// A server that accepts connections and answers HTTP GETs.
    RealServer,
}

/// A deliberately broken prober, so tests can show the invariants fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Inject {
    /// Every probe reports Down, whatever the server does.
    FalseDown,
    /// No probe ever reports; the engine gives up after its grace period.
    LoseResults,
}

/// What a real server answers a GET of `path` with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HttpAnswer {
    pub path: String,
    pub status: u16,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub role: Role,
    /// Where the config came from: its file, or "inline".
    pub source: String,
    pub config: Arc<Config>,
    pub ifaces: Vec<Iface>,
    pub listen: Vec<u16>,
    pub http: Vec<HttpAnswer>,
    pub inject: Option<Inject>,
}

impl Host {
    pub fn iface(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|i| i.name == name)
    }

    /// Runs the checker engine: a checker host, or a VRRP host with virtual servers.
    pub fn runs_checker(&self) -> bool {
        self.role == Role::Checker
            || (self.role == Role::Vrrp && !self.config.virtual_servers.is_empty())
    }

    fn iface_list(&self, segments: &[String]) -> String {
        self.ifaces
            .iter()
            .map(|i| format!("{} = {}", i.name, segments[i.segment]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: String,
    pub name: String,
    pub description: String,
    pub duration: f64,
    pub tick_ms: u64,
    pub max_latency_ms: u64,
    pub segments: Vec<String>,
    pub hosts: Vec<Host>,
    pub events: Vec<Event>,
    pub expects: Vec<Expect>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    Invalid {
        file: String,
        line: usize,
        message: String,
    },
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The real filesystem, read when a scenario loads (never during a run).
struct DiskFs;

impl keepalived_engine::config::ConfigFs for DiskFs {
    fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        let bytes = std::fs::read(path)?;
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn read_dir(&self, dir: &Path) -> std::io::Result<Vec<String>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }

    fn canonicalize(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// How a host's configuration is read: with config id `host` (for `@host` lines) and
/// every include check on, so that an `include` matching nothing is an error rather than
/// a host that silently runs less than its files say.
fn options(host: &str) -> ParseOptions {
    ParseOptions {
        include_check: IncludeCheck::ALL,
        ..ParseOptions::default().with_config_id(host)
    }
}

/// Reads a keepalived.conf and what it includes, as the daemon does, for host `host`.
/// The first error is returned with its file and line.
pub fn load_config_file(path: &Path, host: &str) -> Result<Config, String> {
    let loaded = keepalived_engine::config::load(&DiskFs, path, &options(host));
    match first_error(&loaded) {
        Some((Some(l), m)) => Err(format!("{}:{}: {m}", l.file, l.line)),
        Some((None, m)) => Err(m.to_string()),
        None => Ok(loaded.config),
    }
}

/// The first diagnostic that counts as an error: its line (in its file) and message.
fn first_error(loaded: &Loaded) -> Option<(Option<&keepalived_engine::config::Location>, &str)> {
    loaded
        .diagnostics
        .iter()
        .find(|d| d.counts_as_error())
        .map(|d| (d.location.as_ref(), d.message.as_str()))
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Scenario::parse_in(&file, &text, dir)
    }

    /// A scenario held in memory; `config_file` paths are taken from the working
    /// directory.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_in(file, text, Path::new("."))
    }

    fn parse_in(file: &str, text: &str, dir: &Path) -> Result<Scenario, ScenarioError> {
        let invalid = |line: usize, message: String| ScenarioError::Invalid {
            file: file.to_string(),
            line,
            message,
        };
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(text, s.start));
            invalid(line, e.message().to_string())
        })?;
        if raw.hosts.is_empty() {
            return Err(invalid(1, "a scenario needs at least one [[host]]".into()));
        }
        if !(raw.duration > 0.0 && raw.duration <= 86_400.0) {
            return Err(invalid(
                1,
                format!(
                    "duration {} must be between 0 and 86400 seconds",
                    raw.duration
                ),
            ));
        }
        if raw.hosts.len() > MAX_HOSTS {
            return Err(invalid(
                1,
                format!(
                    "{} hosts: a scenario has at most {MAX_HOSTS}",
                    raw.hosts.len()
                ),
            ));
        }
        if raw.max_latency_ms > 1000 {
            return Err(invalid(
                1,
                format!("max_latency_ms {} must be at most 1000", raw.max_latency_ms),
            ));
        }
        if raw.tick_ms == 0 || raw.tick_ms > 100 {
            return Err(invalid(
                1,
                format!("tick_ms {} must be 1 to 100", raw.tick_ms),
            ));
        }
        // Segments: those declared, in order, then those hosts name.
        let mut segments: Vec<String> = Vec::new();
        for s in &raw.segments {
            if segments.contains(&s.get_ref().name) {
                return Err(invalid(
                    line_of(text, s.span().start),
                    format!("segment {} is declared twice", s.get_ref().name),
                ));
            }
            segments.push(s.get_ref().name.clone());
        }
        let declared = !segments.is_empty();
        let names: Vec<String> = raw.hosts.iter().map(|h| h.get_ref().name.clone()).collect();
        let read_config = |inline: Option<&Spanned<String>>,
                           from_file: Option<&Spanned<String>>,
                           who: &str,
                           line: usize|
         -> Result<Option<(String, Config)>, ScenarioError> {
            match (inline, from_file) {
                (Some(_), Some(_)) => Err(invalid(
                    line,
                    format!("host {who}: give `config` or `config_file`, not both"),
                )),
                (Some(cfg), None) => {
                    // A triple-quoted string starts on the line after its opening quotes.
                    let first = line_of(text, cfg.span().start)
                        + usize::from(text[cfg.span().start..].starts_with("\"\"\"\n"));
                    let loaded = parse_str(cfg.get_ref(), &options(who));
                    if let Some((at, m)) = first_error(&loaded) {
                        // Placed in the scenario file, where the inline text is.
                        let line = first + at.map_or(0, |l| (l.line as usize).saturating_sub(1));
                        return Err(invalid(line, format!("host {who}: {m}")));
                    }
                    Ok(Some(("inline".into(), loaded.config)))
                }
                (None, Some(f)) => {
                    let path = dir.join(f.get_ref());
                    if !path.is_file() {
                        return Err(invalid(
                            line_of(text, f.span().start),
                            format!("host {who}: config_file {} is not a file", path.display()),
                        ));
                    }
                    let cfg = load_config_file(&path, who).map_err(|m| {
                        invalid(line_of(text, f.span().start), format!("host {who}: {m}"))
                    })?;
                    Ok(Some((path.display().to_string(), cfg)))
                }
                (None, None) => Ok(None),
            }
        };
        let mut hosts = Vec::new();
        for (i, sh) in raw.hosts.iter().enumerate() {
            let h = sh.get_ref();
            let line = line_of(text, sh.span().start);
            if names.iter().filter(|n| **n == h.name).count() > 1 {
                return Err(invalid(line, format!("host {} is declared twice", h.name)));
            }
            let role = match h.role.as_deref() {
                None | Some("vrrp") => Role::Vrrp,
                Some("checker") => Role::Checker,
                Some("real_server") => Role::RealServer,
                Some(other) => {
                    return Err(invalid(
                        line,
                        format!(
                        "host {}: unknown role {other:?}; expected vrrp, checker or real_server",
                        h.name
                    ),
                    ))
                }
            };
            let cfg = read_config(h.config.as_ref(), h.config_file.as_ref(), &h.name, line)?;
            let (source, config) = match (cfg, role) {
                (Some(c), Role::Vrrp | Role::Checker) => c,
                (None, Role::RealServer) => (String::new(), Config::default()),
                (Some(_), Role::RealServer) => {
                    return Err(invalid(
                        line,
                        format!(
                            "host {}: a real_server host runs no keepalived and takes no config",
                            h.name
                        ),
                    ))
                }
                (None, _) => {
                    return Err(invalid(
                        line,
                        format!("host {} needs a `config` or a `config_file`", h.name),
                    ))
                }
            };
            if role != Role::RealServer && (!h.listen.is_empty() || !h.http.is_empty()) {
                return Err(invalid(
                    line,
                    format!(
                        "host {}: only a real_server host has `listen` ports and `http` answers",
                        h.name
                    ),
                ));
            }
            if role == Role::RealServer && h.listen.is_empty() {
                return Err(invalid(
                    line,
                    format!("host {}: a real_server host needs `listen` ports", h.name),
                ));
            }
            let inject = match (h.inject.as_deref(), role) {
                (None, _) => None,
                (Some("false_down"), Role::Checker) => Some(Inject::FalseDown),
                (Some("lose_results"), Role::Checker) => Some(Inject::LoseResults),
                (Some(other), _) => {
                    return Err(invalid(
                        line,
                        format!(
                            "host {}: inject {other:?} is not known here; a checker host takes false_down or lose_results",
                            h.name
                        ),
                    ))
                }
            };
            let wiring: Vec<(String, String)> = match (&h.interfaces, &h.segment) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        line,
                        format!("host {}: give `interfaces` or `segment`, not both", h.name),
                    ))
                }
                (Some(m), None) if m.is_empty() => {
                    return Err(invalid(
                        line,
                        format!("host {}: `interfaces` is empty", h.name),
                    ))
                }
                (Some(m), None) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                (None, seg) => vec![("eth0".into(), seg.clone().unwrap_or_else(|| "lan".into()))],
            };
            let mut ifaces = Vec::new();
            for (ifname, seg) in wiring {
                let segment = match segments.iter().position(|s| *s == seg) {
                    Some(k) => k,
                    None if declared => {
                        return Err(invalid(
                            line,
                            format!(
                                "host {}: {ifname} is on segment {seg:?}, which no [[segment]] declares ({})",
                                h.name,
                                segments.join(", ")
                            ),
                        ))
                    }
                    None => {
                        segments.push(seg);
                        segments.len() - 1
                    }
                };
                ifaces.push(Iface {
                    name: ifname,
                    segment,
                    ipv4: default_ipv4(segment, i),
                    ipv6: default_ipv6(segment, i),
                });
            }
            for (ifname, a) in &h.addresses {
                let Some(k) = ifaces.iter().position(|x| x.name == *ifname) else {
                    return Err(invalid(
                        line,
                        format!("host {}: `addresses` names {ifname}, which is not one of its interfaces", h.name),
                    ));
                };
                for one in a.split(',').map(str::trim) {
                    match one.parse::<IpAddr>() {
                        Ok(IpAddr::V4(v4)) => ifaces[k].ipv4 = v4,
                        Ok(IpAddr::V6(v6)) => ifaces[k].ipv6 = v6,
                        Err(_) => {
                            return Err(invalid(
                                line,
                                format!("host {}: {one:?} is not an IP address", h.name),
                            ))
                        }
                    }
                }
            }
            hosts.push(Host {
                name: h.name.clone(),
                role,
                source,
                config: Arc::new(config),
                ifaces,
                listen: h.listen.clone(),
                http: h
                    .http
                    .iter()
                    .map(|a| HttpAnswer {
                        path: a.path.clone(),
                        status: a.status,
                        body: a.body.clone(),
                    })
                    .collect(),
                inject,
            });
        }
        if segments.len() > MAX_HOSTS {
            return Err(invalid(
                1,
                format!(
                    "{} segments: a scenario has at most {MAX_HOSTS}",
                    segments.len()
                ),
            ));
        }
        // The invariants allow 3 × max_latency_ms of slack: more than half the shortest
        // advert interval would hide a split brain.
        let shortest = hosts
            .iter()
            .flat_map(|h| &h.config.instances)
            .map(|vi| vi.advert_int_us)
            .min();
        if let Some(us) = shortest {
            if 3 * raw.max_latency_ms * 1000 * 2 > us {
                return Err(invalid(
                    1,
                    format!(
                        "max_latency_ms {} is too large for an advert_int of {} s: the invariants' slack (3 × max_latency_ms) must stay under half of it",
                        raw.max_latency_ms,
                        us as f64 / 1e6
                    ),
                ));
            }
        }
        let explicit: Vec<Vec<String>> = raw
            .hosts
            .iter()
            .map(|h| h.get_ref().addresses.keys().cloned().collect())
            .collect();
        assign_addresses(&mut hosts, &explicit);
        for (i, sh) in raw.hosts.iter().enumerate() {
            fidelity::check_host(&hosts, &segments, i)
                .map_err(|m| invalid(line_of(text, sh.span().start), m))?;
        }
        let mut events = Vec::new();
        for ev in &raw.events {
            let line = line_of(text, ev.span().start);
            let e = ev.get_ref();
            let action = event_action(e, &hosts, &segments, &names, |cfg, who| {
                read_config(cfg.0, cfg.1, who, line).map(|c| c.map(|c| c.1))
            })
            .map_err(|m| match m {
                EventError::Message(m) => invalid(line, m),
                EventError::Scenario(e) => e,
            })?;
            if !(e.at >= 0.0 && e.at <= raw.duration) {
                return Err(invalid(
                    line,
                    format!(
                        "event at {} is outside the run (0 to {})",
                        e.at, raw.duration
                    ),
                ));
            }
            events.push(Event { at: e.at, action });
        }
        events.sort_by(|a, b| a.at.total_cmp(&b.at));
        let mut expects = Vec::new();
        for ex in &raw.expects {
            let line = line_of(text, ex.span().start);
            expects.push(expectation(ex.get_ref(), &names).map_err(|m| invalid(line, m))?);
        }
        Ok(Scenario {
            file: file.to_string(),
            name: raw.name,
            description: raw.description,
            duration: raw.duration,
            tick_ms: raw.tick_ms,
            max_latency_ms: raw.max_latency_ms,
            segments,
            hosts,
            events,
            expects,
        })
    }

    /// The name of segment `k`.
    pub fn segment(&self, k: usize) -> &str {
        &self.segments[k]
    }
}

/// Each interface's IPv4 address, where the scenario did not give it: the
/// `unicast_src_ip` of an instance on it; else, for a unicast instance, the one address
/// the same VRID's peers on other hosts list that is not among its own peers; else the
/// default.
pub(crate) fn assign_addresses(hosts: &mut [Host], explicit: &[Vec<String>]) {
    for i in 0..hosts.len() {
        for k in 0..hosts[i].ifaces.len() {
            let ifname = hosts[i].ifaces[k].name.clone();
            if explicit.get(i).is_some_and(|e| e.contains(&ifname)) {
                continue;
            }
            let on_it = |vi: &&keepalived_engine::config::model::VrrpInstance| {
                vi.interface.as_deref() == Some(ifname.as_str())
            };
            let src = hosts[i]
                .config
                .instances
                .iter()
                .filter(on_it)
                .find_map(|vi| match vi.src_ip {
                    Some(IpAddr::V4(a)) => Some(a),
                    _ => None,
                });
            let inferred = src.or_else(|| {
                let mine: Vec<&keepalived_engine::config::model::VrrpInstance> = hosts[i]
                    .config
                    .instances
                    .iter()
                    .filter(on_it)
                    .filter(|vi| !vi.unicast_peers.is_empty())
                    .collect();
                let vi = mine.first()?;
                let own: Vec<IpAddr> = vi.unicast_peers.iter().map(|p| p.address).collect();
                let mut cands: Vec<Ipv4Addr> = Vec::new();
                for (j, other) in hosts.iter().enumerate() {
                    if j == i {
                        continue;
                    }
                    for ov in other
                        .config
                        .instances
                        .iter()
                        .filter(|o| o.virtual_router_id == vi.virtual_router_id)
                    {
                        for p in &ov.unicast_peers {
                            if let IpAddr::V4(a) = p.address {
                                if !own.contains(&p.address)
                                    && ov.src_ip != Some(p.address)
                                    && !cands.contains(&a)
                                {
                                    cands.push(a);
                                }
                            }
                        }
                    }
                }
                (cands.len() == 1).then(|| cands[0])
            });
            let inferred = inferred.or_else(|| bfd_address(hosts, i, k));
            if let Some(a) = inferred {
                hosts[i].ifaces[k].ipv4 = a;
            }
        }
    }
}

/// A one-interface host's address from its BFD sessions, when its VRRP instances give
/// none: a `source_ip` of its own; else the one address other hosts' `bfd_instance`s
/// name as their neighbour that is not among its own neighbours (two routers pointed at
/// each other name each other's addresses).
fn bfd_address(hosts: &[Host], i: usize, k: usize) -> Option<Ipv4Addr> {
    if hosts[i].ifaces.len() != 1 || k != 0 {
        return None;
    }
    let own = &hosts[i].config.bfd_instances;
    if let Some(IpAddr::V4(a)) = own.iter().find_map(|b| b.source_ip) {
        return Some(a);
    }
    let mut cands: Vec<Ipv4Addr> = Vec::new();
    for (j, other) in hosts.iter().enumerate() {
        if j == i || own.is_empty() {
            continue;
        }
        for b in &other.config.bfd_instances {
            if let Some(IpAddr::V4(a)) = b.neighbor_ip {
                let theirs = b.source_ip == Some(IpAddr::V4(a));
                let mine = own.iter().any(|o| o.neighbor_ip == Some(IpAddr::V4(a)));
                if !theirs && !mine && !cands.contains(&a) {
                    cands.push(a);
                }
            }
        }
    }
    (cands.len() == 1).then(|| cands[0])
}

enum EventError {
    Message(String),
    Scenario(ScenarioError),
}

impl From<String> for EventError {
    fn from(m: String) -> Self {
        EventError::Message(m)
    }
}

/// The directed pairs a partition or heal covers, and its segment.
type Cut = (Vec<(usize, usize)>, Option<usize>);

type ConfigSource<'a> = (Option<&'a Spanned<String>>, Option<&'a Spanned<String>>);

fn event_action(
    e: &RawEvent,
    hosts: &[Host],
    segments: &[String],
    names: &[String],
    read: impl Fn(ConfigSource<'_>, &str) -> Result<Option<Config>, ScenarioError>,
) -> Result<Action, EventError> {
    let host = |i: usize| -> Result<usize, String> {
        let n = e
            .hosts
            .get(i)
            .ok_or_else(|| format!("{} needs {} host(s) in `hosts`", e.action, i + 1))?;
        names
            .iter()
            .position(|x| x == n)
            .ok_or_else(|| format!("unknown host {n:?}; hosts are {}", names.join(", ")))
    };
    let all_hosts = || -> Result<Vec<usize>, String> { (0..e.hosts.len()).map(host).collect() };
    let need = |v: Option<u64>, what: &str| v.ok_or_else(|| format!("{} needs `{what}`", e.action));
    let segment = || -> Result<Option<usize>, String> {
        match &e.segment {
            None => Ok(None),
            Some(s) => segments
                .iter()
                .position(|x| x == s)
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "unknown segment {s:?}; segments are {}",
                        segments.join(", ")
                    )
                }),
        }
    };
    let on_segment = |seg: usize, hs: &[usize]| -> Result<(), String> {
        for &h in hs {
            if !hosts[h].ifaces.iter().any(|i| i.segment == seg) {
                return Err(format!(
                    "{} on segment {}: host {} has no interface there ({})",
                    e.action,
                    segments[seg],
                    hosts[h].name,
                    hosts[h].iface_list(segments)
                ));
            }
        }
        Ok(())
    };
    // The pairs a partition or heal covers: the two hosts given; with a segment, one host
    // against everyone else on it, or no host for every pair on it.
    let pairs = |oneway: bool| -> Result<Cut, String> {
        let seg = segment()?;
        let hs = all_hosts()?;
        let on: Vec<usize> = match seg {
            Some(s) => (0..hosts.len())
                .filter(|&h| hosts[h].ifaces.iter().any(|i| i.segment == s))
                .collect(),
            None => (0..hosts.len()).collect(),
        };
        if let Some(s) = seg {
            on_segment(s, &hs)?;
        }
        let mut out = Vec::new();
        match (hs.len(), seg) {
            (2, _) => out.push((hs[0], hs[1])),
            (1, Some(_)) if !oneway => {
                for &o in on.iter().filter(|&&o| o != hs[0]) {
                    out.push((hs[0], o));
                }
            }
            (0, Some(_)) if !oneway => {
                for &a in &on {
                    for &b in on.iter().filter(|&&b| b != a) {
                        if a < b {
                            out.push((a, b));
                        }
                    }
                }
            }
            _ => {
                return Err(format!(
                    "{} needs two hosts{}",
                    e.action,
                    if oneway {
                        " (from, to)"
                    } else {
                        "; with a `segment`, one host (cut from the rest of it) or none (every host on it)"
                    }
                ))
            }
        }
        if !oneway {
            let back: Vec<(usize, usize)> = out.iter().map(|&(a, b)| (b, a)).collect();
            out.extend(back);
        }
        if out.is_empty() || out.iter().any(|(a, b)| a == b) {
            return Err(format!(
                "{} covers no pair of distinct hosts{}",
                e.action,
                seg.map_or(String::new(), |s| format!(" on segment {}", segments[s]))
            ));
        }
        Ok((out, seg))
    };
    let iface = |h: usize| -> Result<usize, String> {
        let hs = &hosts[h];
        match &e.interface {
            Some(n) => hs.iface(n).ok_or_else(|| {
                format!(
                    "host {} has no interface {n} ({})",
                    hs.name,
                    hs.iface_list(segments)
                )
            }),
            None if hs.ifaces.len() == 1 => Ok(0),
            None => Err(format!(
                "{} on {}: name the `interface` ({})",
                e.action,
                hs.name,
                hs.iface_list(segments)
            )),
        }
    };
    let real_server = |h: usize| -> Result<usize, String> {
        if hosts[h].role != Role::RealServer {
            return Err(format!(
                "{} needs a real_server host; {} is not one",
                e.action, names[h]
            ));
        }
        Ok(h)
    };
    Ok(match e.action.as_str() {
        "crash" => Action::Crash(host(0)?),
        "restart" => Action::Restart(host(0)?),
        "partition" => {
            let (pairs, segment) = pairs(false)?;
            Action::Partition { pairs, segment }
        }
        "partition_oneway" => {
            let (pairs, segment) = pairs(true)?;
            Action::Partition { pairs, segment }
        }
        "heal" => {
            let (pairs, segment) = pairs(false)?;
            Action::Heal { pairs, segment }
        }
        "heal_all" => Action::HealAll,
        "loss" => {
            let rate = e.rate.ok_or_else(|| "loss needs `rate`".to_string())?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("loss rate {rate} must be between 0 and 1").into());
            }
            let seg = segment()?;
            let hs = all_hosts()?;
            match seg {
                None => {
                    let (a, b) = (host(0)?, host(1)?);
                    if [a, b].iter().any(|&x| hosts[x].role != Role::Vrrp) {
                        return Err(
                            "loss is for VRRP links only: turmoil's TCP never retransmits, so a lost SYN is a \
                             lost probe and 'answers within the timeout' would not hold; model loss between a \
                             checker and a real server as `hold` (with `ms`) or `latency`".to_string().into(),
                        );
                    }
                    Action::Loss {
                        segment: None,
                        hosts: vec![a, b],
                        rate,
                    }
                }
                Some(s) => {
                    on_segment(s, &hs)?;
                    Action::Loss {
                        segment: Some(s),
                        hosts: hs,
                        rate,
                    }
                }
            }
        }
        "latency" => {
            let ms = need(e.ms, "ms")?;
            match segment()? {
                None => Action::Latency {
                    segment: None,
                    hosts: vec![host(0)?, host(1)?],
                    ms,
                },
                Some(s) => {
                    let hs = all_hosts()?;
                    on_segment(s, &hs)?;
                    Action::Latency {
                        segment: Some(s),
                        hosts: hs,
                        ms,
                    }
                }
            }
        }
        "pause" => Action::Pause(host(0)?, need(e.ms, "ms")?),
        "link_down" => {
            let h = host(0)?;
            Action::LinkDown(h, iface(h)?)
        }
        "link_up" => {
            let h = host(0)?;
            Action::LinkUp(h, iface(h)?)
        }
        "script" => Action::Script {
            host: host(0)?,
            script: e
                .script
                .clone()
                .ok_or_else(|| "script needs `script`".to_string())?,
            ok: e.ok.ok_or_else(|| "script needs `ok`".to_string())?,
        },
        "reload" => {
            let h = host(0)?;
            if hosts[h].role == Role::RealServer {
                return Err(format!(
                    "reload: {} is a real_server host, which runs no keepalived",
                    names[h]
                )
                .into());
            }
            let cfg = read((e.config.as_ref(), e.config_file.as_ref()), &names[h])
                .map_err(EventError::Scenario)?
                .ok_or_else(|| "reload needs `config` or `config_file`".to_string())?;
            Action::Reload(h, Arc::new(cfg))
        }
        "shutdown" => Action::Shutdown(host(0)?),
        "hang" => Action::Hang(real_server(host(0)?)?),
        "recover" => Action::Recover(real_server(host(0)?)?),
        "refuse" => Action::Refuse(real_server(host(0)?)?),
        "accept" => Action::Accept(real_server(host(0)?)?),
        "http" => Action::Http {
            host: real_server(host(0)?)?,
            answer: HttpAnswer {
                path: e
                    .path
                    .clone()
                    .ok_or_else(|| "http needs `path`".to_string())?,
                status: e.status.unwrap_or(200),
                body: e.body.clone().unwrap_or_default(),
            },
        },
        "hold" => Action::Hold(host(0)?, host(1)?, e.ms),
        "release" => Action::Release(host(0)?, host(1)?),
        "clock" => {
            let drift_ppm = e.drift_ppm.unwrap_or(0);
            if !(-999_999..=1_000_000).contains(&drift_ppm) {
                return Err(format!(
                    "clock drift_ppm {drift_ppm} must be between -999999 and 1000000"
                )
                .into());
            }
            let offset_ms = e.offset_ms.unwrap_or(0);
            if offset_ms.unsigned_abs() > 86_400_000 * 365 {
                return Err(format!("clock offset_ms {offset_ms} is more than a year").into());
            }
            Action::Clock {
                host: host(0)?,
                offset_ms,
                drift_ppm,
            }
        }
        other => {
            return Err(format!(
                "unknown action {other:?}; expected one of {}",
                ACTIONS.join(", ")
            )
            .into())
        }
    })
}

fn expectation(x: &RawExpect, names: &[String]) -> Result<Expect, String> {
    Ok(if let Some(m) = &x.master {
        let host = if m == "none" {
            None
        } else {
            Some(
                names
                    .iter()
                    .position(|n| n == m)
                    .ok_or_else(|| format!("unknown host {m:?}"))?,
            )
        };
        let at = x.at.ok_or("`master` needs `at`")?;
        let instance = x.instance.clone().ok_or("`master` needs `instance`")?;
        Expect::Master { at, instance, host }
    } else if let Some(max) = x.max_transitions {
        let instance = x
            .instance
            .clone()
            .ok_or("`max_transitions` needs `instance`")?;
        Expect::MaxTransitions { instance, max }
    } else if let Some(vip) = &x.vip {
        Expect::VipContinuity {
            vip: vip.clone(),
            max_gap: x.max_gap.unwrap_or(0.0),
        }
    } else if x.max_rs_down.is_some() || x.min_rs_down.is_some() {
        Expect::RsDowns {
            min: x.min_rs_down.unwrap_or(0),
            max: x.max_rs_down.unwrap_or(usize::MAX),
        }
    } else {
        return Err(format!(
            "an expectation needs one of {}",
            EXPECTATIONS.map(|k| format!("`{k}`")).join(", ")
        ));
    })
}

impl Host {
    /// The host whose interface holds `a`, preferring segment `seg`.
    pub fn owner_of(hosts: &[Host], a: IpAddr) -> Option<(usize, usize)> {
        hosts
            .iter()
            .enumerate()
            .find_map(|(h, hs)| hs.ifaces.iter().position(|i| i.holds(a)).map(|k| (h, k)))
    }
}
