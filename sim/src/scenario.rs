//! Scenario files: hosts with inline keepalived.conf, a schedule of faults and events,
//! and expectations. TOML; every mistake is reported with the file and line.

use std::path::Path;

use keepalived_engine::config::model::Config;
use keepalived_engine::config::{parse_str, ParseOptions};
use serde::Deserialize;
use toml::Spanned;

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
    #[serde(rename = "host")]
    hosts: Vec<RawHost>,
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
struct RawHost {
    name: String,
    #[serde(default = "default_segment")]
    segment: String,
    /// `vrrp` (default), `checker` or `real_server`.
    #[serde(default)]
    role: Option<String>,
    /// keepalived.conf for `vrrp` and `checker` hosts.
    config: Option<Spanned<String>>,
    /// TCP ports a `real_server` host listens on.
    #[serde(default)]
    listen: Vec<u16>,
    /// A deliberately broken prober on a `checker` host, for the simulator's own tests:
    /// `false_down` (every probe fails) or `lose_results` (no probe ever reports).
    inject: Option<String>,
}

fn default_segment() -> String {
    "lan".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    at: f64,
    action: String,
    #[serde(default)]
    hosts: Vec<String>,
    ms: Option<u64>,
    rate: Option<f64>,
    ok: Option<bool>,
    script: Option<String>,
    config: Option<Spanned<String>>,
    offset_ms: Option<i64>,
    drift_ppm: Option<i64>,
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

/// A fault or event, at a simulated time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Action {
    Crash(usize),
    Restart(usize),
    Partition(usize, usize),
    PartitionOneway {
        from: usize,
        to: usize,
    },
    Heal(usize, usize),
    HealAll,
    Loss(usize, usize, f64),
    Latency(usize, usize, u64),
    Pause(usize, u64),
    LinkDown(usize),
    LinkUp(usize),
    Script {
        host: usize,
        script: String,
        ok: bool,
    },
    Reload(usize, String),
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
    /// keepalived-rs's VRRP side.
    Vrrp,
    /// keepalived-rs's checker side: the checker engine on the shared checker driver.
    Checker,
    /// A TCP server that accepts and drops connections.
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

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub segment: String,
    pub role: Role,
    pub config_text: String,
    pub config: Config,
    pub listen: Vec<u16>,
    pub inject: Option<Inject>,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: String,
    pub name: String,
    pub description: String,
    pub duration: f64,
    pub tick_ms: u64,
    pub max_latency_ms: u64,
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

impl Scenario {
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Scenario::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
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
        if raw.tick_ms == 0 || raw.tick_ms > 100 {
            return Err(invalid(
                1,
                format!("tick_ms {} must be 1 to 100", raw.tick_ms),
            ));
        }
        let names: Vec<String> = raw.hosts.iter().map(|h| h.name.clone()).collect();
        let parse_config = |cfg: &Spanned<String>, who: &str| -> Result<Config, ScenarioError> {
            // A triple-quoted string starts on the line after its opening quotes.
            let first = line_of(text, cfg.span().start)
                + usize::from(text[cfg.span().start..].starts_with("\"\"\"\n"));
            let loaded = parse_str(cfg.get_ref(), &ParseOptions::default().with_config_id(who));
            if let Some(d) = loaded.diagnostics.iter().find(|d| d.counts_as_error()) {
                let line = first
                    + d.location
                        .as_ref()
                        .map_or(0, |l| l.line as usize)
                        .saturating_sub(1);
                return Err(invalid(line, format!("host {who}: {}", d.message)));
            }
            Ok(loaded.config)
        };
        let mut hosts = Vec::new();
        // The line a host's table starts near: its config, else the first mention of
        // its name.
        let host_line = |h: &RawHost| match &h.config {
            Some(c) => line_of(text, c.span().start),
            None => text
                .find(&format!("\"{}\"", h.name))
                .map_or(1, |o| line_of(text, o)),
        };
        for h in &raw.hosts {
            let line = host_line(h);
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
            let (config_text, config) = match (&h.config, role) {
                (Some(c), Role::Vrrp | Role::Checker) => {
                    (c.get_ref().clone(), parse_config(c, &h.name)?)
                }
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
                    return Err(invalid(line, format!("host {} needs a `config`", h.name)))
                }
            };
            if !h.listen.is_empty() && role != Role::RealServer {
                return Err(invalid(
                    line,
                    format!(
                        "host {}: only a real_server host has `listen` ports",
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
            hosts.push(Host {
                name: h.name.clone(),
                segment: h.segment.clone(),
                role,
                config_text,
                config,
                listen: h.listen.clone(),
                inject,
            });
        }
        for (i, h) in raw.hosts.iter().enumerate() {
            if hosts[i].role == Role::Checker {
                check_checker_config(&hosts, i).map_err(|m| invalid(host_line(h), m))?;
            }
        }
        let mut events = Vec::new();
        for ev in &raw.events {
            let line = line_of(text, ev.span().start);
            let e = ev.get_ref();
            let host = |i: usize| -> Result<usize, ScenarioError> {
                let n = e.hosts.get(i).ok_or_else(|| {
                    invalid(
                        line,
                        format!("{} needs {} host(s) in `hosts`", e.action, i + 1),
                    )
                })?;
                names.iter().position(|x| x == n).ok_or_else(|| {
                    invalid(
                        line,
                        format!("unknown host {n:?}; hosts are {}", names.join(", ")),
                    )
                })
            };
            fn need<T>(
                v: Option<T>,
                what: &str,
                missing: impl Fn(String) -> ScenarioError,
            ) -> Result<T, ScenarioError> {
                v.ok_or_else(|| missing(format!("needs `{what}`")))
            }
            let missing = |m: String| invalid(line, format!("{} {m}", e.action));
            let action = match e.action.as_str() {
                "crash" => Action::Crash(host(0)?),
                "restart" => Action::Restart(host(0)?),
                "partition" => Action::Partition(host(0)?, host(1)?),
                "partition_oneway" => Action::PartitionOneway { from: host(0)?, to: host(1)? },
                "heal" => Action::Heal(host(0)?, host(1)?),
                "heal_all" => Action::HealAll,
                "loss" => {
                    let rate = need(e.rate, "rate", missing)?;
                    let (a, b) = (host(0)?, host(1)?);
                    if [a, b].iter().any(|&x| hosts[x].role != Role::Vrrp) {
                        return Err(invalid(
                            line,
                            "loss is for VRRP links only: turmoil's TCP never retransmits, so a lost SYN is a \
                             lost probe and 'answers within the timeout' would not hold; model loss between a \
                             checker and a real server as `hold` (with `ms`) or `latency`".into(),
                        ));
                    }
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(invalid(line, format!("loss rate {rate} must be between 0 and 1")));
                    }
                    Action::Loss(host(0)?, host(1)?, rate)
                }
                "latency" => Action::Latency(host(0)?, host(1)?, need(e.ms, "ms", missing)?),
                "pause" => Action::Pause(host(0)?, need(e.ms, "ms", missing)?),
                "link_down" => Action::LinkDown(host(0)?),
                "link_up" => Action::LinkUp(host(0)?),
                "script" => Action::Script { host: host(0)?, script: need(e.script.clone(), "script", missing)?, ok: need(e.ok, "ok", missing)? },
                "reload" => {
                    let h = host(0)?;
                    let cfg = need(e.config.clone(), "config", missing)?;
                    parse_config(&cfg, &names[h])?;
                    Action::Reload(h, cfg.get_ref().clone())
                }
                "shutdown" => Action::Shutdown(host(0)?),
                "hang" | "recover" => {
                    let h = host(0)?;
                    if hosts[h].role != Role::RealServer {
                        return Err(invalid(line, format!("{} needs a real_server host; {} is not one", e.action, names[h])));
                    }
                    if e.action == "hang" { Action::Hang(h) } else { Action::Recover(h) }
                }
                "refuse" | "accept" => {
                    let h = host(0)?;
                    if hosts[h].role != Role::RealServer {
                        return Err(invalid(line, format!("{} needs a real_server host; {} is not one", e.action, names[h])));
                    }
                    if e.action == "refuse" { Action::Refuse(h) } else { Action::Accept(h) }
                }
                "hold" => Action::Hold(host(0)?, host(1)?, e.ms),
                "release" => Action::Release(host(0)?, host(1)?),
                "clock" => Action::Clock {
                    host: host(0)?,
                    offset_ms: e.offset_ms.unwrap_or(0),
                    drift_ppm: e.drift_ppm.unwrap_or(0),
                },
                other => {
                    return Err(invalid(
                        line,
                        format!(
                            "unknown action {other:?}; expected crash, restart, partition, partition_oneway, heal, heal_all, \
                             loss, latency, pause, link_down, link_up, script, reload, shutdown, hang, recover, hold, release or clock"
                        ),
                    ))
                }
            };
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
            let x = ex.get_ref();
            let e = if let Some(m) = &x.master {
                let host = if m == "none" {
                    None
                } else {
                    Some(
                        names
                            .iter()
                            .position(|n| n == m)
                            .ok_or_else(|| invalid(line, format!("unknown host {m:?}")))?,
                    )
                };
                let at =
                    x.at.ok_or_else(|| invalid(line, "`master` needs `at`".into()))?;
                let instance = x
                    .instance
                    .clone()
                    .ok_or_else(|| invalid(line, "`master` needs `instance`".into()))?;
                Expect::Master { at, instance, host }
            } else if let Some(max) = x.max_transitions {
                let instance = x
                    .instance
                    .clone()
                    .ok_or_else(|| invalid(line, "`max_transitions` needs `instance`".into()))?;
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
                return Err(invalid(
                    line,
                    "an expectation needs `master`, `max_transitions`, `vip`, `max_rs_down` or `min_rs_down`".into(),
                ));
            };
            expects.push(e);
        }
        Ok(Scenario {
            file: file.to_string(),
            name: raw.name,
            description: raw.description,
            duration: raw.duration,
            tick_ms: raw.tick_ms,
            max_latency_ms: raw.max_latency_ms,
            hosts,
            events,
            expects,
        })
    }
}

/// What the simulator can run on a checker host: TCP_CHECK only, each aimed at a
/// real_server host of the scenario on a port it listens on.
fn check_checker_config(hosts: &[Host], i: usize) -> Result<(), String> {
    let who = &hosts[i].name;
    let mut any = false;
    for vs in &hosts[i].config.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                any = true;
                if c.kind != keepalived_engine::config::model::CheckerKind::TcpCheck {
                    return Err(format!(
                        "host {who}: {} of real_server {} is not simulated; the simulator runs TCP_CHECK only",
                        c.kind.keyword(),
                        rs.address
                    ));
                }
                let ip = c.connection.connect_ip.unwrap_or(rs.address);
                let port = c.connection.connect_port.or(rs.port).unwrap_or(0);
                let target = (0..hosts.len())
                    .find(|&h| std::net::IpAddr::V4(crate::host::host_ipv4(h)) == ip);
                let listed = || {
                    hosts
                        .iter()
                        .enumerate()
                        .filter(|(_, h)| h.role == Role::RealServer)
                        .map(|(k, h)| format!("{} = {}", h.name, crate::host::host_ipv4(k)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match target {
                    Some(t) if hosts[t].role == Role::RealServer => {
                        if !hosts[t].listen.contains(&port) {
                            return Err(format!(
                                "host {who}: TCP_CHECK of {ip} port {port}: {} does not listen on {port} (listen = {:?})",
                                hosts[t].name, hosts[t].listen
                            ));
                        }
                    }
                    _ => {
                        return Err(format!(
                            "host {who}: TCP_CHECK of {ip} port {port} aims at no real_server host; hosts get 192.168.0.1, .2, … in order: {}",
                            listed()
                        ))
                    }
                }
            }
        }
    }
    if !any {
        return Err(format!(
            "host {who}: a checker host needs virtual_server blocks with TCP_CHECK real servers"
        ));
    }
    Ok(())
}
