//! `/metrics` in the Prometheus text format (0.0.4, as the exporter serves it).
//!
//! The names and labels of the metrics keepalived has are those of the Prometheus
//! exporter most deployments run (mehdy/keepalived-exporter, from keepalived.data,
//! keepalived.stats and keepalived.json), so its dashboards and alerts work unchanged:
//! counters by `{iname, intf, vrid}`, `keepalived_vrrp_state` by VIP
//! (`{iname, intf, vrid, ip_address}`, the address with its prefix), and the scripts'
//! `keepalived_script_status` / `keepalived_script_state` by `{name}`. What keepalived
//! cannot tell is named `keepalived_rs_*`.
//!
//! Each process renders its own part; the parent puts `keepalived_up` and the build
//! before the children's parts, which share no metric name.

use std::fmt::Write as _;

use keepalived_engine::check::{RsStatus, VsStatus};
use keepalived_engine::vrrp::metrics::{InstanceView, Snapshot, STATES};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::live::{CheckLive, VrrpLive};
use crate::host::process::Process;
use crate::version;

type Result = std::result::Result<(), std::fmt::Error>;

const NO_LABELS: [(&str, &str); 0] = [];

/// keepalived's state words, by number (`get_state_str()`), for the `state` label.
fn state_word(n: usize) -> &'static str {
    ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"][n]
}

/// Writes one metric family: the descriptor, then a sample per row.
fn family<L: EncodeLabelSet, M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (L, M)>,
) -> Result {
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in rows {
        metric.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

/// The parent's part: whether each child answered, and what this build is.
pub fn parent(answered: &[(Process, bool)]) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(ParentPart(answered.to_vec())));
    encode(&reg)
}

#[derive(Debug)]
struct ParentPart(Vec<(Process, bool)>);

impl Collector for ParentPart {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result {
        let up = !self.0.is_empty() && self.0.iter().all(|(_, ok)| *ok);
        family(
            &mut enc,
            "keepalived_up",
            "Status",
            MetricType::Gauge,
            [(NO_LABELS, ConstGauge::new(i64::from(up)))],
        )?;
        family(
            &mut enc,
            "keepalived_rs_build_info",
            "The keepalived-rs version and the keepalived version it is compatible with",
            MetricType::Gauge,
            [(
                [
                    ("version", env!("CARGO_PKG_VERSION")),
                    ("keepalived", version::KEEPALIVED_RELEASE),
                ],
                ConstGauge::new(1),
            )],
        )?;
        family(
            &mut enc,
            "keepalived_rs_child_up",
            "Whether the child process answered this scrape",
            MetricType::Gauge,
            self.0
                .iter()
                .map(|(role, ok)| ([("process", role.arg())], ConstGauge::new(i64::from(*ok)))),
        )
    }
}

/// The VRRP child's part.
pub fn vrrp(snapshot: Snapshot, live: &VrrpLive) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(VrrpPart(snapshot)));
    reg.register(
        "keepalived_rs_vrrp_takeover_seconds",
        "From the engine's decision that an instance becomes master to the host having carried out its VIPs, GARPs and first advert",
        live.takeover.clone(),
    );
    reg.register(
        "keepalived_rs_vrrp_timer_late_seconds",
        "How late the VRRP loop reached a deadline, each time it was late (busy or not scheduled)",
        live.timer_late.clone(),
    );
    encode(&reg)
}

#[derive(Debug)]
struct VrrpPart(Snapshot);

/// An exporter counter: its name, help and value.
type ExporterCounter = (&'static str, &'static str, fn(&InstanceView) -> u64);

/// The exporter's counters, each from one of keepalived's statistics.
const EXPORTER_COUNTERS: [ExporterCounter; 15] = [
    (
        "keepalived_advertisements_received",
        "Advertisements received",
        |i| i.stats.advert_rcvd,
    ),
    (
        "keepalived_advertisements_sent",
        "Advertisements sent",
        |i| i.stats.advert_sent,
    ),
    ("keepalived_become_master", "Became master", |i| {
        i.stats.become_master
    }),
    ("keepalived_release_master", "Released master", |i| {
        i.stats.release_master
    }),
    (
        "keepalived_packet_length_errors",
        "Packet length errors",
        |i| i.stats.packet_len_err,
    ),
    // keepalived declares the counter and never increments it; so does this.
    (
        "keepalived_advertisements_interval_errors",
        "Advertisement interval errors",
        |_| 0,
    ),
    ("keepalived_ip_ttl_errors", "TTL errors", |i| {
        i.stats.ip_ttl_err
    }),
    (
        "keepalived_invalid_type_received",
        "Invalid type errors",
        |i| i.stats.invalid_type_rcvd,
    ),
    (
        "keepalived_address_list_errors",
        "Address list errors",
        |i| i.stats.addr_list_err,
    ),
    (
        "keepalived_authentication_invalid",
        "Authentication invalid",
        |i| i.stats.invalid_authtype,
    ),
    (
        "keepalived_authentication_mismatch",
        "Authentication mismatch",
        |i| i.stats.authtype_mismatch,
    ),
    (
        "keepalived_authentication_failure",
        "Authentication failure",
        |i| i.stats.auth_failure,
    ),
    (
        "keepalived_priority_zero_received",
        "Priority zero received",
        |i| i.stats.pri_zero_rcvd,
    ),
    ("keepalived_priority_zero_sent", "Priority zero sent", |i| {
        i.stats.pri_zero_sent
    }),
    (
        "keepalived_gratuitous_arp_delay",
        "Gratuitous ARP delay",
        |i| i.garp_delay_s,
    ),
];

impl Collector for VrrpPart {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result {
        let instances = &self.0.instances;
        let vrids: Vec<String> = instances.iter().map(|i| i.vrid.to_string()).collect();
        let common = |k: usize| {
            let i = &instances[k];
            [
                ("iname", i.name.as_str()),
                ("intf", i.interface.as_str()),
                ("vrid", vrids[k].as_str()),
            ]
        };
        for (name, help, value) in EXPORTER_COUNTERS {
            family(
                &mut enc,
                name,
                help,
                MetricType::Counter,
                (0..instances.len()).map(|k| (common(k), ConstCounter::new(value(&instances[k])))),
            )?;
        }
        // One sample per VIP; an instance without VIPs still has its state, under its
        // own interface and an empty address (the exporter's rule).
        let by_vip = |k: usize, excluded: bool| {
            let i = &instances[k];
            let vips = if excluded { &i.excluded_vips } else { &i.vips };
            let vrid = vrids[k].as_str();
            let state = i64::from(i.state);
            let rows: Vec<_> = if vips.is_empty() && !excluded {
                vec![(
                    [
                        ("iname", i.name.as_str()),
                        ("intf", i.interface.as_str()),
                        ("vrid", vrid),
                        ("ip_address", ""),
                    ],
                    ConstGauge::new(state),
                )]
            } else {
                vips.iter()
                    .map(|v| {
                        (
                            [
                                ("iname", i.name.as_str()),
                                ("intf", v.interface.as_str()),
                                ("vrid", vrid),
                                ("ip_address", v.address.as_str()),
                            ],
                            ConstGauge::new(state),
                        )
                    })
                    .collect()
            };
            rows
        };
        family(
            &mut enc,
            "keepalived_vrrp_state",
            "State of vrrp",
            MetricType::Gauge,
            (0..instances.len()).flat_map(|k| by_vip(k, false)),
        )?;
        family(
            &mut enc,
            "keepalived_vrrp_excluded_state",
            "State of vrrp with excluded VIP",
            MetricType::Gauge,
            (0..instances.len()).flat_map(|k| by_vip(k, true)),
        )?;
        let scripts = &self.0.scripts;
        family(
            &mut enc,
            "keepalived_script_status",
            "Tracker Script Status",
            MetricType::Gauge,
            scripts.iter().map(|s| {
                (
                    [("name", s.name.as_str())],
                    ConstGauge::new(i64::from(s.good)),
                )
            }),
        )?;
        family(
            &mut enc,
            "keepalived_script_state",
            "Tracker Script State",
            MetricType::Gauge,
            scripts.iter().map(|s| {
                (
                    [("name", s.name.as_str())],
                    ConstGauge::new(i64::from(s.running)),
                )
            }),
        )?;

        let per_state = |k: usize, value: &dyn Fn(usize) -> u64| {
            let i = &instances[k];
            (0..STATES.len())
                .map(|s| {
                    (
                        [
                            ("iname", i.name.as_str()),
                            ("vrid", vrids[k].as_str()),
                            ("state", state_word(s)),
                        ],
                        value(s),
                    )
                })
                .collect::<Vec<_>>()
        };
        family(
            &mut enc,
            "keepalived_rs_vrrp_transitions",
            "Transitions into each state since the instance was configured (never cleared)",
            MetricType::Counter,
            (0..instances.len()).flat_map(|k| {
                per_state(k, &|s| instances[k].telemetry.entered[s])
                    .into_iter()
                    .map(|(l, v)| (l, ConstCounter::new(v)))
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_vrrp_state_seconds",
            "Seconds spent in each state since the instance first left the state it started in",
            MetricType::Counter,
            (0..instances.len()).flat_map(|k| {
                per_state(k, &|s| instances[k].telemetry.spent_us[s])
                    .into_iter()
                    .map(|(l, v)| (l, ConstCounter::new(v as f64 / 1e6)))
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_vrrp_state_current_seconds",
            "Seconds in the current state",
            MetricType::Gauge,
            (0..instances.len()).map(|k| {
                let i = &instances[k];
                (
                    [("iname", i.name.as_str()), ("vrid", vrids[k].as_str())],
                    ConstGauge::new(i.in_state_us as f64 / 1e6),
                )
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_vrrp_effective_priority",
            "The priority adverts carry now: the configured one with the trackers' weights",
            MetricType::Gauge,
            (0..instances.len()).map(|k| {
                let i = &instances[k];
                (
                    [("iname", i.name.as_str()), ("vrid", vrids[k].as_str())],
                    ConstGauge::new(i64::from(i.effective_priority)),
                )
            }),
        )?;
        for (name, help, noted) in [
            (
                "keepalived_rs_vrrp_adverts_rejected",
                "Adverts refused by the receive checks, by the check's reason",
                false,
            ),
            (
                "keepalived_rs_vrrp_adverts_noted",
                "Adverts accepted with a logged note (interval, address list, priority 0), by reason",
                true,
            ),
        ] {
            family(
                &mut enc,
                name,
                help,
                MetricType::Counter,
                (0..instances.len()).flat_map(|k| {
                    let (i, vrid) = (&instances[k], vrids[k].as_str());
                    let map = if noted {
                        &i.telemetry.noted
                    } else {
                        &i.telemetry.rejected
                    };
                    map.iter().map(move |(reason, n)| {
                        (
                            [
                                ("iname", i.name.as_str()),
                                ("vrid", vrid),
                                ("reason", reason.as_str()),
                            ],
                            ConstCounter::new(*n),
                        )
                    })
                }),
            )?;
        }
        Ok(())
    }
}

/// The checker child's part.
pub fn checker(vss: Vec<VsStatus>, rss: Vec<RsStatus>, live: &CheckLive) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(CheckerPart(vss, rss)));
    reg.register(
        "keepalived_rs_check_probe_duration_seconds",
        "How long each health-check probe took, by checker and outcome",
        live.probes.clone(),
    );
    reg.register(
        "keepalived_rs_ipvs_changes",
        "IPVS changes the kernel took",
        live.ipvs_changes.clone(),
    );
    reg.register(
        "keepalived_rs_ipvs_apply_errors",
        "IPVS changes the kernel refused",
        live.ipvs_errors.clone(),
    );
    encode(&reg)
}

#[derive(Debug)]
struct CheckerPart(Vec<VsStatus>, Vec<RsStatus>);

impl Collector for CheckerPart {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result {
        let (vss, rss) = (&self.0, &self.1);
        family(
            &mut enc,
            "keepalived_rs_check_virtual_server_quorum_up",
            "Whether the virtual server's alive weight makes its quorum",
            MetricType::Gauge,
            vss.iter().map(|v| {
                (
                    [("virtual_server", v.label.as_str())],
                    ConstGauge::new(i64::from(v.quorum_up)),
                )
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_check_virtual_server_alive_weight",
            "The sum of the weights of the virtual server's real servers that are up",
            MetricType::Gauge,
            vss.iter().map(|v| {
                (
                    [("virtual_server", v.label.as_str())],
                    ConstGauge::new(v.alive_weight),
                )
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_check_real_server_up",
            "Whether the real server passes its checkers",
            MetricType::Gauge,
            rss.iter().map(|r| {
                (
                    [
                        ("virtual_server", r.virtual_server.as_str()),
                        ("real_server", r.label.as_str()),
                    ],
                    ConstGauge::new(i64::from(r.alive)),
                )
            }),
        )?;
        family(
            &mut enc,
            "keepalived_rs_check_real_server_weight",
            "The real server's weight in IPVS now",
            MetricType::Gauge,
            rss.iter().map(|r| {
                (
                    [
                        ("virtual_server", r.virtual_server.as_str()),
                        ("real_server", r.label.as_str()),
                    ],
                    ConstGauge::new(r.effective_weight),
                )
            }),
        )?;
        let indexes: Vec<Vec<String>> = rss
            .iter()
            .map(|r| (0..r.checkers.len()).map(|n| n.to_string()).collect())
            .collect();
        family(
            &mut enc,
            "keepalived_rs_check_checker_up",
            "Whether each checker of a real server passes (its index counts from 0 in configuration order)",
            MetricType::Gauge,
            rss.iter().zip(&indexes).flat_map(|(r, idx)| {
                r.checkers.iter().zip(idx).map(move |(c, n)| {
                    (
                        [
                            ("virtual_server", r.virtual_server.as_str()),
                            ("real_server", r.label.as_str()),
                            ("checker", c.kind.as_str()),
                            ("index", n.as_str()),
                        ],
                        ConstGauge::new(i64::from(c.up)),
                    )
                })
            }),
        )
    }
}

fn encode(reg: &Registry) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail, and no metric above fails to encode.
    let _ = prometheus_text::encode(&mut out, reg);
    out
}

/// A child's health: settled, or what has not.
pub fn vrrp_health(snapshot: &Snapshot) -> (bool, String) {
    if snapshot.settled() {
        return (true, "ok".into());
    }
    let mut s = String::from("instances still in INIT:");
    for i in snapshot.instances.iter().filter(|i| i.state == 0) {
        let _ = write!(s, " {}", i.name);
    }
    (false, s)
}

/// The checker's health: every checker has given a first result, or cannot run here
/// and counts as up, or belongs to a virtual server `ha_suspend` holds (its address is
/// not on this host, so it is not checked here).
pub fn checker_health(vss: &[VsStatus], rss: &[RsStatus]) -> (bool, String) {
    let suspended = |vs: &str| vss.iter().any(|v| v.label == vs && v.suspended);
    let waiting: Vec<&str> = rss
        .iter()
        .filter(|r| !suspended(&r.virtual_server))
        .filter(|r| r.checkers.iter().any(|c| c.supported && !c.has_run))
        .map(|r| r.label.as_str())
        .collect();
    if waiting.is_empty() {
        (true, "ok".into())
    } else {
        let mut s = String::from("real servers not checked yet:");
        for w in waiting {
            let _ = write!(s, " {w}");
        }
        (false, s)
    }
}
