//! The notifications keepalived sends with `enable_traps` (`vrrp_snmp.c`, sent from
//! `send_instance_notifies()`, `send_group_notifies()` and `vrrp_check_packet()`).
//!
//! [`notifications`] turns one event into the notifications keepalived sends for it, in
//! its order, each a varbind list for an AgentX Notify: `snmpTrapOID.0` first, then the
//! objects. `sysUpTime.0` is left to the master agent (RFC 2741 §6.2.10 lets it add it).
//!
//! - KEEPALIVED-MIB vrrpInstanceStateChange and vrrpSyncGroupStateChange (`enable_snmp_vrrp`):
//!   name, state (and the instance's configured initial state) under the bare column
//!   OIDs, no row index, then `routerId.0`.
//! - RFC 2787 vrrpTrapNewMaster (`enable_snmp_rfcv2`) and RFC 6527 vrrpv3NotifyNewMaster
//!   (`enable_snmp_rfcv3`) after the instance's trap when it enters MASTER, for the
//!   instances the MIB lists, with the instance's own source address (although
//!   `vrrpOperMasterIpAddr` reads 0.0.0.0 while MASTER) and the new-master reason.
//! - vrrpTrapAuthFailure (RFC 2787) and vrrpv3NotifyProtoError (RFC 6527) for an advert
//!   refused for a reason they name, indexed by the ifIndex of the interface the instance
//!   runs on (a VMAC's own), not the base interface the tables use.

use std::net::{IpAddr, Ipv4Addr};

use crate::agentx::{Oid, Value, VarBind};
use crate::config::model::{Config, InitialState, VrrpInstance};
use crate::vrrp::live::Live;
use crate::vrrp::{Reason, State};

use super::rfc2787::{base_index, live_instance, own_index, suitable_for_rfc2787};
use super::rfc6527::{addr_type, inet_octets, row_index, suitable_for_rfc6527};
use super::{keepalived_oid, oid_under, HostInterfaces, Mibs, VRRPV3_MIB, VRRP_MIB};

/// `snmpTrapOID.0` (SNMPv2-MIB).
const SNMP_TRAP_OID: [u32; 11] = [1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

/// Something keepalived notifies of.
#[derive(Debug, Clone, PartialEq)]
pub enum TrapEvent {
    /// An instance entered `to` (STOP at shutdown).
    Instance { name: String, to: State },
    /// A sync group entered `to` (STOP at shutdown).
    Group { name: String, to: State },
    /// An instance refused an advert from `src`.
    Refused {
        instance: String,
        src: IpAddr,
        reason: Reason,
    },
    /// A reload removed the instance (`clear_diff_vrrp()`): keepalived reports it as
    /// deleted(6) with `notify_deleted`, otherwise as fault(3), and sends nothing for an
    /// instance that was in FAULT without `notify_deleted` (the caller's to skip). The
    /// instance is in the old configuration only, so the event carries what the trap
    /// needs of it.
    Deleted {
        name: String,
        /// Its configured `state`.
        initial: InitialState,
        notify_deleted: bool,
    },
}

/// The notifications keepalived sends for `ev`, in order, each starting with
/// `snmpTrapOID.0`. `host_name` is the router id without `router_id` (keepalived's
/// default is the host's name).
pub fn notifications(
    cfg: &Config,
    mibs: &Mibs,
    live: &Live,
    host: &HostInterfaces,
    host_name: &str,
    ev: &TrapEvent,
) -> Vec<Vec<VarBind>> {
    // Every trap function returns early unless `enable_traps`.
    if !mibs.traps {
        return Vec::new();
    }
    let router_id = cfg.global.router_id.as_deref().unwrap_or(host_name);
    let instance = |name: &str| cfg.instances.iter().find(|vi| vi.name == name);
    let mut out = Vec::new();
    match ev {
        TrapEvent::Instance { name, to } => {
            let Some(vi) = instance(name) else {
                return out;
            };
            if mibs.vrrp {
                out.push(instance_trap(
                    name,
                    instance_state(*to),
                    vi.state,
                    router_id,
                ));
            }
            if *to == State::Master {
                let li = live_instance(live, name);
                let src = li.and_then(|l| l.src);
                if mibs.rfcv2 && suitable_for_rfc2787(vi) {
                    out.push(new_master_v2(vi, host, src));
                }
                if mibs.rfcv3 && suitable_for_rfc6527(vi) {
                    let reason = li.map_or(0, |l| l.master_reason as u8);
                    out.push(new_master_v3(vi, host, src, reason));
                }
            }
        }
        TrapEvent::Deleted {
            name,
            initial,
            notify_deleted,
        } => {
            if mibs.vrrp {
                let state = if *notify_deleted { 6 } else { 3 };
                out.push(instance_trap(name, state, *initial, router_id));
            }
        }
        TrapEvent::Group { name, to } => {
            if mibs.vrrp {
                out.push(group_trap(name, group_state(*to), router_id));
            }
        }
        TrapEvent::Refused {
            instance: name,
            src,
            reason,
        } => {
            let Some(vi) = instance(name) else {
                return out;
            };
            if let Some(code) = reason.auth_error() {
                if mibs.rfcv2 && suitable_for_rfc2787(vi) {
                    out.push(auth_failure(vi, host, *src, code));
                }
            }
            if let Some(code) = reason.proto_error() {
                if mibs.rfcv3 && suitable_for_rfc6527(vi) {
                    out.push(proto_error(vi, host, code));
                }
            }
        }
    }
    out
}

/// vrrpInstanceState in a trap (`vrrp_snmp_instance_trap()`): init 0, backup 1, master
/// 2, fault 3, stop 5.
fn instance_state(s: State) -> i32 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 5,
    }
}

/// vrrpSyncGroupState in a trap (`vrrp_snmp_group_trap()`): as an instance's, with no
/// deleted case.
fn group_state(s: State) -> i32 {
    instance_state(s)
}

fn initial_state(s: InitialState) -> i32 {
    match s {
        InitialState::Backup => 1,
        InitialState::Master => 2,
    }
}

fn trap_oid(notification: Oid) -> VarBind {
    VarBind::new(
        Oid::from_slice(&SNMP_TRAP_OID).expect("short"),
        Value::ObjectIdentifier(notification),
    )
}

fn string(s: &str) -> Value {
    Value::OctetString(s.as_bytes().to_vec())
}

/// vrrpInstanceStateChange (`keepalived.2.10.0.2`).
fn instance_trap(name: &str, state: i32, initial: InitialState, router_id: &str) -> Vec<VarBind> {
    vec![
        trap_oid(keepalived_oid(&[2, 10, 0, 2])),
        VarBind::new(keepalived_oid(&[2, 3, 1, 2]), string(name)),
        VarBind::new(keepalived_oid(&[2, 3, 1, 4]), Value::Integer(state)),
        VarBind::new(
            keepalived_oid(&[2, 3, 1, 5]),
            Value::Integer(initial_state(initial)),
        ),
        VarBind::new(keepalived_oid(&[1, 2, 0]), string(router_id)),
    ]
}

/// vrrpSyncGroupStateChange (`keepalived.2.10.0.1`).
fn group_trap(name: &str, state: i32, router_id: &str) -> Vec<VarBind> {
    vec![
        trap_oid(keepalived_oid(&[2, 10, 0, 1])),
        VarBind::new(keepalived_oid(&[2, 1, 1, 2]), string(name)),
        VarBind::new(keepalived_oid(&[2, 1, 1, 3]), Value::Integer(state)),
        VarBind::new(keepalived_oid(&[1, 2, 0]), string(router_id)),
    ]
}

/// vrrpTrapNewMaster (`mib-2.68.0.1`): `vrrpOperMasterIpAddr.ifIndex.vrid` = the
/// instance's own source address (`vrrp_rfcv2_snmp_new_master_trap()`).
fn new_master_v2(vi: &VrrpInstance, host: &HostInterfaces, src: Option<IpAddr>) -> Vec<VarBind> {
    let index = [base_index(vi, host), u32::from(vi.virtual_router_id)];
    let src = match src {
        Some(IpAddr::V4(a)) => a,
        _ => Ipv4Addr::UNSPECIFIED,
    };
    vec![
        trap_oid(oid_under(&VRRP_MIB, &[0, 1])),
        VarBind::new(
            oid_under(&VRRP_MIB, &[1, 3, 1, 7, index[0], index[1]]),
            Value::IpAddress(src),
        ),
    ]
}

/// vrrpv3NotifyNewMaster (`mib-2.207.0.1`): `vrrpv3OperationsMasterIpAddr` = the
/// instance's own source address and `vrrpv3StatisticsNewMasterReason`
/// (`vrrp_rfcv3_snmp_new_master_notify()`).
fn new_master_v3(
    vi: &VrrpInstance,
    host: &HostInterfaces,
    src: Option<IpAddr>,
    reason: u8,
) -> Vec<VarBind> {
    let index = row_index(vi, host);
    let column = |tail: &[u32]| {
        oid_under(&VRRPV3_MIB, tail)
            .extended(&index)
            .expect("short")
    };
    vec![
        trap_oid(oid_under(&VRRPV3_MIB, &[0, 1])),
        VarBind::new(
            column(&[1, 1, 1, 1, 3]),
            Value::OctetString(inet_octets(index[2], src)),
        ),
        VarBind::new(column(&[1, 2, 5, 1, 2]), Value::Integer(i32::from(reason))),
    ]
}

/// vrrpTrapAuthFailure (`mib-2.68.0.2`): vrrpTrapPacketSrc and vrrpTrapAuthErrorType,
/// indexed by the instance's own interface (`vrrp_rfcv2_snmp_auth_err_trap()`).
fn auth_failure(vi: &VrrpInstance, host: &HostInterfaces, src: IpAddr, code: u8) -> Vec<VarBind> {
    let (ifindex, vrid) = (own_index(vi, host), u32::from(vi.virtual_router_id));
    let src = match src {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
    };
    vec![
        trap_oid(oid_under(&VRRP_MIB, &[0, 2])),
        VarBind::new(
            oid_under(&VRRP_MIB, &[1, 5, ifindex, vrid]),
            Value::IpAddress(src),
        ),
        VarBind::new(
            oid_under(&VRRP_MIB, &[1, 6, ifindex, vrid]),
            Value::Integer(i32::from(code)),
        ),
    ]
}

/// vrrpv3NotifyProtoError (`mib-2.207.0.2`): `vrrpv3StatisticsProtoErrReason`, indexed by
/// the instance's own interface (`vrrp_rfcv3_snmp_proto_err_notify()`).
fn proto_error(vi: &VrrpInstance, host: &HostInterfaces, code: u8) -> Vec<VarBind> {
    let index = [
        own_index(vi, host),
        u32::from(vi.virtual_router_id),
        addr_type(vi),
    ];
    vec![
        trap_oid(oid_under(&VRRPV3_MIB, &[0, 2])),
        VarBind::new(
            oid_under(&VRRPV3_MIB, &[1, 2, 5, 1, 6])
                .extended(&index)
                .expect("short"),
            Value::Integer(i32::from(code)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snmp::rfc2787::tests::{reference_config, reference_host, reference_live, Moment};
    use crate::snmp::walk;
    use crate::snmp::HostInterface;
    use crate::vrrp::instance::MasterReason;

    fn all() -> Mibs {
        Mibs {
            global: true,
            vrrp: true,
            checker: false,
            rfcv2: true,
            rfcv3: true,
            traps: true,
        }
    }

    /// A notification as snmptrapd's log shows it (`-On -Ob`, one varbind a line),
    /// without the sysUpTime.0 the master agent adds.
    fn shown(n: &[VarBind]) -> Vec<String> {
        n.iter()
            .map(|vb| {
                let v = match &vb.value {
                    Value::ObjectIdentifier(o) => format!("OID: .{o}"),
                    v => walk::shown(v),
                };
                format!(".{} = {v}", vb.name).trim_end().to_string()
            })
            .collect()
    }

    /// keepalived's notifications in `file`, sysUpTime.0 left out, without snmpd's own
    /// coldStart.
    fn logged(file: &str) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(walk::reference_path(file)).unwrap();
        text.split("==== TRAP")
            .skip(1)
            .map(|t| {
                t.lines()
                    .skip(1)
                    .filter(|l| l.starts_with('.') && !l.starts_with(".1.3.6.1.2.1.1.3.0 "))
                    .map(|l| l.trim_end().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|t| t[0] != ".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.6.3.1.1.5.1")
            .collect()
    }

    fn k(name: &str, to: State) -> TrapEvent {
        TrapEvent::Instance {
            name: name.into(),
            to,
        }
    }

    fn g(to: State) -> TrapEvent {
        TrapEvent::Group {
            name: "SG_REF".into(),
            to,
        }
    }

    fn replay(file: &str, reason: MasterReason, events: &[TrapEvent]) {
        let cfg = reference_config();
        let mut live = reference_live(Moment::Master);
        for i in &mut live.instances {
            i.master_reason = reason;
        }
        let ours: Vec<Vec<String>> = events
            .iter()
            .flat_map(|ev| notifications(&cfg, &all(), &live, &reference_host(), "unused", ev))
            .map(|n| shown(&n))
            .collect();
        assert_eq!(ours, logged(file));
    }

    use State::{Backup, Fault, Master, Stop};

    #[test]
    fn start_matches_keepalived_2_2_7() {
        replay(
            "keepalived-2.2.7-traps-start.txt",
            MasterReason::MasterNoResponse,
            &[
                k("VI_6", Backup),
                k("VI_V2", Backup),
                k("VI_V3", Backup),
                g(Backup),
                k("VI_6", Master),
                k("VI_V2", Master),
                k("VI_V3", Master),
                g(Master),
            ],
        );
    }

    #[test]
    fn failover_matches_keepalived_2_2_7() {
        replay(
            "keepalived-2.2.7-traps-failover.txt",
            MasterReason::MasterNoResponse,
            &[
                k("VI_V2", Fault),
                k("VI_V3", Fault),
                g(Fault),
                k("VI_V2", Backup),
                k("VI_V3", Backup),
                g(Backup),
                k("VI_V2", Master),
                k("VI_V3", Master),
                g(Master),
            ],
        );
    }

    #[test]
    fn preempted_matches_keepalived_2_2_7() {
        replay(
            "keepalived-2.2.7-traps-preempted.txt",
            MasterReason::Priority,
            &[
                k("VI_6", Backup),
                k("VI_V3", Backup),
                k("VI_V2", Backup),
                g(Backup),
                k("VI_6", Master),
                k("VI_V2", Master),
                k("VI_V3", Master),
                g(Master),
            ],
        );
    }

    #[test]
    fn stop_matches_keepalived_2_2_7() {
        replay(
            "keepalived-2.2.7-traps-stop.txt",
            MasterReason::MasterNoResponse,
            &[k("VI_V2", Stop), k("VI_V3", Stop), k("VI_6", Stop), g(Stop)],
        );
    }

    fn one(cfg: &Config, mibs: Mibs, host: &HostInterfaces, ev: &TrapEvent) -> Vec<Vec<String>> {
        let live = reference_live(Moment::Master);
        notifications(cfg, &mibs, &live, host, "node1", ev)
            .iter()
            .map(|n| shown(n))
            .collect()
    }

    fn refused(instance: &str, reason: Reason) -> TrapEvent {
        TrapEvent::Refused {
            instance: instance.into(),
            src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3)),
            reason,
        }
    }

    #[test]
    fn auth_failure_names_the_source_and_the_rfc_code_on_the_own_interface() {
        let mut cfg = reference_config();
        let host = reference_host();
        assert_eq!(
            one(&cfg, all(), &host, &refused("VI_V2", Reason::Password)),
            [[
                ".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.2.1.68.0.2",
                ".1.3.6.1.2.1.68.1.5.2.51 = IpAddress: 192.0.2.3",
                ".1.3.6.1.2.1.68.1.6.2.51 = INTEGER: 3",
            ]]
        );
        assert_eq!(
            one(
                &cfg,
                all(),
                &host,
                &refused("VI_V2", Reason::InvalidAuthType { got: 7 })
            )[0][2],
            ".1.3.6.1.2.1.68.1.6.2.51 = INTEGER: 1"
        );
        assert_eq!(
            one(&cfg, all(), &host, &refused("VI_V2", Reason::MissingAh))[0][2],
            ".1.3.6.1.2.1.68.1.6.2.51 = INTEGER: 2"
        );
        // With a VMAC the VMAC's own ifIndex, where the tables use the base's.
        cfg.instances[0].use_vmac = Some(Box::new(crate::config::model::Vmac {
            name: Some("vrrp.51".into()),
            ..Default::default()
        }));
        let mut host = host;
        host.insert(
            "vrrp.51".into(),
            HostInterface {
                index: 9,
                mac: [0, 0, 0x5e, 0, 1, 51],
                ..HostInterface::default()
            },
        );
        assert_eq!(
            one(&cfg, all(), &host, &refused("VI_V2", Reason::Password))[0][1..],
            [
                ".1.3.6.1.2.1.68.1.5.9.51 = IpAddress: 192.0.2.3",
                ".1.3.6.1.2.1.68.1.6.9.51 = INTEGER: 3",
            ]
        );
        // The new-master trap keeps the base interface's index.
        assert_eq!(
            one(&cfg, all(), &host, &k("VI_V2", Master))[1][1],
            ".1.3.6.1.2.1.68.1.3.1.7.2.51 = IpAddress: 192.0.2.2"
        );
        // Only instances RFC 2787 lists, only with its MIB.
        assert!(one(&cfg, all(), &host, &refused("VI_V3", Reason::Password)).is_empty());
        let no_v2 = Mibs {
            rfcv2: false,
            ..all()
        };
        assert!(one(&cfg, no_v2, &host, &refused("VI_V2", Reason::Password)).is_empty());
    }

    #[test]
    fn protocol_errors_go_to_rfc_6527_for_v2_and_v3_instances() {
        let cfg = reference_config();
        let host = reference_host();
        assert_eq!(
            one(
                &cfg,
                all(),
                &host,
                &refused("VI_V2", Reason::Ttl { got: 64 })
            ),
            [[
                ".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.2.1.207.0.2",
                ".1.3.6.1.2.1.207.1.2.5.1.6.2.51.1 = INTEGER: 1",
            ]]
        );
        let v6 = TrapEvent::Refused {
            instance: "VI_6".into(),
            src: "fe80::ff:fe00:3".parse().unwrap(),
            reason: Reason::Version {
                got: 2,
                expected: 3,
            },
        };
        assert_eq!(
            one(&cfg, all(), &host, &v6),
            [[
                ".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.2.1.207.0.2",
                ".1.3.6.1.2.1.207.1.2.5.1.6.2.53.2 = INTEGER: 2",
            ]]
        );
        let no_v3 = Mibs {
            rfcv3: false,
            ..all()
        };
        assert!(one(&cfg, no_v3, &host, &v6).is_empty());
        // A refusal neither MIB names is not notified.
        assert!(one(
            &cfg,
            all(),
            &host,
            &refused("VI_V2", Reason::TooShort { len: 3 })
        )
        .is_empty());
    }

    #[test]
    fn each_family_needs_traps_and_its_mib() {
        let cfg = reference_config();
        let host = reference_host();
        let ev = k("VI_V2", Master);
        let oids = |mibs: Mibs| -> Vec<String> {
            one(&cfg, mibs, &host, &ev)
                .into_iter()
                .map(|n| n[0].rsplit(' ').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            oids(all()),
            [
                ".1.3.6.1.4.1.9586.100.5.2.10.0.2",
                ".1.3.6.1.2.1.68.0.1",
                ".1.3.6.1.2.1.207.0.1"
            ]
        );
        assert!(oids(Mibs {
            traps: false,
            ..all()
        })
        .is_empty());
        assert_eq!(
            oids(Mibs {
                vrrp: false,
                ..all()
            }),
            [".1.3.6.1.2.1.68.0.1", ".1.3.6.1.2.1.207.0.1"]
        );
        assert_eq!(
            oids(Mibs {
                rfcv2: false,
                ..all()
            }),
            [".1.3.6.1.4.1.9586.100.5.2.10.0.2", ".1.3.6.1.2.1.207.0.1"]
        );
        assert_eq!(
            oids(Mibs {
                rfcv3: false,
                ..all()
            }),
            [".1.3.6.1.4.1.9586.100.5.2.10.0.2", ".1.3.6.1.2.1.68.0.1"]
        );
        assert!(one(
            &cfg,
            Mibs {
                vrrp: false,
                ..all()
            },
            &host,
            &g(Master)
        )
        .is_empty());
        // An instance the configuration does not hold is not notified.
        assert!(one(&cfg, all(), &host, &k("VI_X", Master)).is_empty());
    }

    #[test]
    fn deleted_instances_read_deleted_only_with_notify_deleted() {
        let mut cfg = reference_config();
        cfg.global.router_id = None;
        let host = reference_host();
        let deleted = |notify_deleted| TrapEvent::Deleted {
            name: "VI_OLD".into(),
            initial: InitialState::Master,
            notify_deleted,
        };
        let want = |state: i32| {
            vec![vec![
                ".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.9586.100.5.2.10.0.2".to_string(),
                ".1.3.6.1.4.1.9586.100.5.2.3.1.2 = STRING: \"VI_OLD\"".into(),
                format!(".1.3.6.1.4.1.9586.100.5.2.3.1.4 = INTEGER: {state}"),
                ".1.3.6.1.4.1.9586.100.5.2.3.1.5 = INTEGER: 2".into(),
                // Without router_id, the host name.
                ".1.3.6.1.4.1.9586.100.5.1.2.0 = STRING: \"node1\"".into(),
            ]]
        };
        assert_eq!(one(&cfg, all(), &host, &deleted(true)), want(6));
        assert_eq!(one(&cfg, all(), &host, &deleted(false)), want(3));
    }
}
