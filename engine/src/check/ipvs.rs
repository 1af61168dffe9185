//! The IPVS table the checker engine wants, as plain data, and the operations that turn
//! one table into another. The engine keeps the table it last asked for and emits only
//! the difference when its wishes change, so a probe result that changes nothing in the
//! kernel produces no operation, and a reload does not churn services it kept.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::model::{LvsMethod, Protocol};

/// An IPVS service: an address/port/protocol triple or a firewall mark with its family
/// (`ipvs_set_srule()`, `ipvswrapper.c`). A `virtual_server group` expands into one key
/// per address of each range and one per fwmark entry (`ipvs_group_cmd()`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKey {
    Addr {
        addr: IpAddr,
        port: u16,
        protocol: Protocol,
    },
    Fwmark {
        mark: u32,
        v6: bool,
    },
}

/// One address entry of a `virtual_server_group` that `nftables_ipvs` marks: packets
/// for `first..=last`, `port` and `protocol` get `mark`, the fwmark of the group's
/// IPVS service (`set_vs_fwmark()`, `check_nftables.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FwmarkRange {
    pub protocol: Protocol,
    pub first: IpAddr,
    pub last: IpAddr,
    pub port: u16,
    pub mark: u32,
}

/// keepalived's lower-case protocol names in `[ip]:proto:port`.
pub(crate) fn proto_str(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// `format_vs()`'s forms: `[ip]:proto:port` and `FWM n` (with `/IPv6` for an IPv6 mark).
impl std::fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr {
                addr,
                port,
                protocol,
            } => write!(f, "[{addr}]:{}:{port}", proto_str(*protocol)),
            ServiceKey::Fwmark { mark, v6: false } => write!(f, "FWM {mark}"),
            ServiceKey::Fwmark { mark, v6: true } => write!(f, "FWM {mark}/IPv6"),
        }
    }
}

impl ServiceKey {
    /// The port a non-NAT destination of this service must use: the service's
    /// (`ipvs_cmd()`: DR and TUN keep the virtual port; fwmark services use 0).
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }
}

/// What a service is configured with besides its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceParams {
    /// The protocol (for a fwmark service, the one keepalived passes along).
    pub protocol: Protocol,
    /// `lvs_sched`: rr, wrr, lc, wlc, …
    pub scheduler: String,
    /// Scheduler flags: flag-1/2/3, sh-port, sh-fallback, mh-port, mh-fallback.
    pub sched_flags: Vec<String>,
    /// `persistence_timeout` in seconds; None means not persistent.
    pub persistence_timeout_s: Option<u32>,
    /// `persistence_granularity` (a netmask or prefix length), with persistence only.
    pub persistence_granularity: Option<String>,
    /// `persistence_engine` (sip), with persistence only.
    pub persistence_engine: Option<String>,
    /// One-packet scheduling (`ops`).
    pub ops: bool,
}

/// A destination of a service: the real server's address and the port IPVS uses (the
/// real server's for NAT, the service's otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

/// What a destination is configured with (`ipvs_set_drule()`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestParams {
    /// Already clamped to 0..=i32::MAX (`real_weight()`); 0 for an inhibited server.
    pub weight: u32,
    /// Forwarding method with the tunnel type, port and checksum options for TUN.
    pub method: LvsMethod,
    /// `uthreshold` / `lthreshold` (0 = none, as IPVS has it).
    pub uthreshold: u32,
    pub lthreshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub params: ServiceParams,
    pub dests: BTreeMap<DestKey, DestParams>,
}

/// The whole IPVS table the engine wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpvsState {
    pub services: BTreeMap<ServiceKey, Service>,
}

/// One change to the kernel's table. Deleting a service deletes its destinations with
/// it, so no `DelDest` precedes a `DelService`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpvsOp {
    AddService {
        key: ServiceKey,
        params: ServiceParams,
    },
    EditService {
        key: ServiceKey,
        params: ServiceParams,
    },
    DelService {
        key: ServiceKey,
    },
    AddDest {
        service: ServiceKey,
        dest: DestKey,
        params: DestParams,
    },
    EditDest {
        service: ServiceKey,
        dest: DestKey,
        params: DestParams,
    },
    DelDest {
        service: ServiceKey,
        dest: DestKey,
    },
}

/// The operations that turn `old` into `new`, and nothing more: untouched services and
/// destinations produce no operation. Order: per service in key order, deletions first
/// (a destination leaves before another arrives), then edits, then additions.
pub fn diff(old: &IpvsState, new: &IpvsState) -> Vec<IpvsOp> {
    let mut ops = Vec::new();
    diff_maps(&old.services, &new.services, &mut ops);
    ops
}

/// [`diff`] over two service maps (the engine diffs one virtual server's share).
pub(crate) fn diff_maps(
    old: &BTreeMap<ServiceKey, Service>,
    new: &BTreeMap<ServiceKey, Service>,
    ops: &mut Vec<IpvsOp>,
) {
    for key in old.keys() {
        if !new.contains_key(key) {
            ops.push(IpvsOp::DelService { key: key.clone() });
        }
    }
    for (key, n) in new {
        match old.get(key) {
            None => {
                ops.push(IpvsOp::AddService {
                    key: key.clone(),
                    params: n.params.clone(),
                });
                for (d, p) in &n.dests {
                    ops.push(IpvsOp::AddDest {
                        service: key.clone(),
                        dest: *d,
                        params: p.clone(),
                    });
                }
            }
            Some(o) => {
                if o.params != n.params {
                    ops.push(IpvsOp::EditService {
                        key: key.clone(),
                        params: n.params.clone(),
                    });
                }
                for d in o.dests.keys() {
                    if !n.dests.contains_key(d) {
                        ops.push(IpvsOp::DelDest {
                            service: key.clone(),
                            dest: *d,
                        });
                    }
                }
                for (d, p) in &n.dests {
                    match o.dests.get(d) {
                        Some(op) if op == p => {}
                        Some(_) => ops.push(IpvsOp::EditDest {
                            service: key.clone(),
                            dest: *d,
                            params: p.clone(),
                        }),
                        None => ops.push(IpvsOp::AddDest {
                            service: key.clone(),
                            dest: *d,
                            params: p.clone(),
                        }),
                    }
                }
            }
        }
    }
}

/// Why [`IpvsState::apply`] refused an operation: what the kernel would answer with
/// EEXIST or ENOENT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("service {0:?} already exists")]
    ServiceExists(ServiceKey),
    #[error("no service {0:?}")]
    NoService(ServiceKey),
    #[error("destination {1:?} of {0:?} already exists")]
    DestExists(ServiceKey, DestKey),
    #[error("no destination {1:?} in {0:?}")]
    NoDest(ServiceKey, DestKey),
}

impl IpvsState {
    /// Applies one operation as the kernel would, refusing what it would refuse. The
    /// simulator's IPVS and the tests use it as the model of the kernel table.
    pub fn apply(&mut self, op: &IpvsOp) -> Result<(), ApplyError> {
        match op {
            IpvsOp::AddService { key, params } => {
                if self.services.contains_key(key) {
                    return Err(ApplyError::ServiceExists(key.clone()));
                }
                self.services.insert(
                    key.clone(),
                    Service {
                        params: params.clone(),
                        dests: BTreeMap::new(),
                    },
                );
            }
            IpvsOp::EditService { key, params } => {
                let s = self
                    .services
                    .get_mut(key)
                    .ok_or_else(|| ApplyError::NoService(key.clone()))?;
                s.params = params.clone();
            }
            IpvsOp::DelService { key } => {
                self.services
                    .remove(key)
                    .ok_or_else(|| ApplyError::NoService(key.clone()))?;
            }
            IpvsOp::AddDest {
                service,
                dest,
                params,
            } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or_else(|| ApplyError::NoService(service.clone()))?;
                if s.dests.contains_key(dest) {
                    return Err(ApplyError::DestExists(service.clone(), *dest));
                }
                s.dests.insert(*dest, params.clone());
            }
            IpvsOp::EditDest {
                service,
                dest,
                params,
            } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or_else(|| ApplyError::NoService(service.clone()))?;
                let d = s
                    .dests
                    .get_mut(dest)
                    .ok_or(ApplyError::NoDest(service.clone(), *dest))?;
                *d = params.clone();
            }
            IpvsOp::DelDest { service, dest } => {
                let s = self
                    .services
                    .get_mut(service)
                    .ok_or_else(|| ApplyError::NoService(service.clone()))?;
                s.dests
                    .remove(dest)
                    .ok_or(ApplyError::NoDest(service.clone(), *dest))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(port: u16) -> ServiceKey {
        ServiceKey::Addr {
            addr: "10.0.0.1".parse().unwrap(),
            port,
            protocol: Protocol::Tcp,
        }
    }

    fn params() -> ServiceParams {
        ServiceParams {
            protocol: Protocol::Tcp,
            scheduler: "wlc".into(),
            sched_flags: vec![],
            persistence_timeout_s: None,
            persistence_granularity: None,
            persistence_engine: None,
            ops: false,
        }
    }

    fn dest(n: u8, w: u32) -> (DestKey, DestParams) {
        (
            DestKey {
                addr: IpAddr::from([10, 0, 1, n]),
                port: 80,
            },
            DestParams {
                weight: w,
                method: LvsMethod::default(),
                uthreshold: 0,
                lthreshold: 0,
            },
        )
    }

    fn state(dests: &[(u8, u32)]) -> IpvsState {
        let mut s = IpvsState::default();
        s.services.insert(
            svc(80),
            Service {
                params: params(),
                dests: dests.iter().map(|&(n, w)| dest(n, w)).collect(),
            },
        );
        s
    }

    #[test]
    fn diff_of_equal_states_is_empty() {
        let s = state(&[(1, 1), (2, 3)]);
        assert!(diff(&s, &s).is_empty());
    }

    #[test]
    fn diff_touches_only_what_changed_and_applies_back() {
        let old = state(&[(1, 1), (2, 3), (3, 1)]);
        let new = state(&[(1, 1), (2, 5), (4, 1)]);
        let ops = diff(&old, &new);
        assert_eq!(
            ops,
            vec![
                IpvsOp::DelDest {
                    service: svc(80),
                    dest: dest(3, 0).0
                },
                IpvsOp::EditDest {
                    service: svc(80),
                    dest: dest(2, 0).0,
                    params: dest(2, 5).1
                },
                IpvsOp::AddDest {
                    service: svc(80),
                    dest: dest(4, 0).0,
                    params: dest(4, 1).1
                },
            ]
        );
        let mut m = old.clone();
        for op in &ops {
            m.apply(op).unwrap();
        }
        assert_eq!(m, new);
    }

    #[test]
    fn removed_service_is_one_delete() {
        let old = state(&[(1, 1), (2, 1)]);
        let ops = diff(&old, &IpvsState::default());
        assert_eq!(ops, vec![IpvsOp::DelService { key: svc(80) }]);
    }
}
