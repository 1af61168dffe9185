//! The IPVS counters the KEEPALIVED-MIB checker tables show ([`IpvsStats`]), read from
//! the kernel and placed at configuration positions, as keepalived's
//! `ipvs_update_stats()` / `ipvs_update_vs_stats()` (`ipvswrapper.c`) do: a virtual
//! server's counters are the sum over the services it stands for (one for an address or
//! a fwmark, several for a `virtual_server_group`), and each destination of those
//! services is counted for the sorry server when it is the sorry server's, else for the
//! first real server it is, summed over the services.
//!
//! [`read`] blocks on its own generic-netlink socket for a dump of the services and one
//! destination dump per configured service the kernel holds; it is for the SNMP thread,
//! never the checker's loop. Which services and destinations a configuration stands for
//! is the checker engine's mapping ([`service_keys`]) and the reconciler's
//! ([`service_id`], [`service_key`]).

use std::collections::{BTreeMap, BTreeSet};

use keepalived_engine::check::groups::{auto_fwmark_group, service_keys};
use keepalived_engine::check::{DestKey, ServiceKey};
use keepalived_engine::config::model::{Config, LvsKind, LvsMethod, Protocol, VirtualServer};
use keepalived_engine::snmp::checker::{Counters, Dest, DestStats, IpvsStats};

use super::client::{IpvsClient, IpvsError};
use super::nl::{attr_u32, Attrs, WireError, NLM_F_DUMP, NLM_F_REQUEST};
use super::table::{service_id, service_key};
use super::wire::{cmd, cmd_attr, DestRepr, ServiceRepr};

/// `IPVS_SVC_ATTR_STATS` and `IPVS_SVC_ATTR_STATS64` (`<linux/ip_vs.h>`).
const SVC_ATTR_STATS: u16 = 10;
const SVC_ATTR_STATS64: u16 = 12;
/// `IPVS_DEST_ATTR_STATS` and `IPVS_DEST_ATTR_STATS64`.
const DEST_ATTR_STATS: u16 = 10;
const DEST_ATTR_STATS64: u16 = 12;

/// `IPVS_STATS_ATTR_*`, inside either stats attribute. In `STATS` the connection and
/// packet counters and the rates are u32 and the byte counters u64; in `STATS64` all are
/// u64.
mod stats_attr {
    pub(super) const CONNS: u16 = 1;
    pub(super) const INPKTS: u16 = 2;
    pub(super) const OUTPKTS: u16 = 3;
    pub(super) const INBYTES: u16 = 4;
    pub(super) const OUTBYTES: u16 = 5;
    pub(super) const CPS: u16 = 6;
    pub(super) const INPPS: u16 = 7;
    pub(super) const OUTPPS: u16 = 8;
    pub(super) const INBPS: u16 = 9;
    pub(super) const OUTBPS: u16 = 10;
}

/// A counter of either width, by its length.
fn attr_num(v: &[u8], kind: u16) -> Result<u64, WireError> {
    match v.len() {
        4 => Ok(u64::from(attr_u32(v, kind)?)),
        8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(v);
            Ok(u64::from_ne_bytes(b))
        }
        len => Err(WireError::AttrLength {
            kind,
            len,
            expected: "4 (u32) or 8 (u64)",
        }),
    }
}

/// The counters inside one `IPVS_*_ATTR_STATS` / `STATS64`.
fn parse_counters(nested: &[u8]) -> Result<Counters, WireError> {
    let mut c = Counters::default();
    for a in Attrs::new(nested) {
        let (k, v) = a?;
        let field = match k {
            stats_attr::CONNS => &mut c.conns,
            stats_attr::INPKTS => &mut c.inpkts,
            stats_attr::OUTPKTS => &mut c.outpkts,
            stats_attr::INBYTES => &mut c.inbytes,
            stats_attr::OUTBYTES => &mut c.outbytes,
            stats_attr::CPS => &mut c.cps,
            stats_attr::INPPS => &mut c.inpps,
            stats_attr::OUTPPS => &mut c.outpps,
            stats_attr::INBPS => &mut c.inbps,
            stats_attr::OUTBPS => &mut c.outbps,
            // IPVS_STATS_ATTR_PAD and whatever a later kernel adds.
            _ => continue,
        };
        *field = attr_num(v, k)?;
    }
    Ok(c)
}

/// The counters of one service or destination: `stats64` when the kernel sent it (since
/// Linux 4.1), else the 32-bit `stats`; zero when it sent neither.
fn counters_of(nested: &[u8], stats: u16, stats64: u16) -> Result<Counters, WireError> {
    let (mut narrow, mut wide) = (None, None);
    for a in Attrs::new(nested) {
        let (k, v) = a?;
        if k == stats64 {
            wide = Some(v);
        } else if k == stats {
            narrow = Some(v);
        }
    }
    match wide.or(narrow) {
        Some(v) => parse_counters(v),
        None => Ok(Counters::default()),
    }
}

/// One service of a `GET_SERVICE` reply (the attributes inside `IPVS_CMD_ATTR_SERVICE`)
/// as the engine's key and its counters; no key for a protocol keepalived never
/// configures.
pub(crate) fn parse_service(nested: &[u8]) -> Result<Option<(ServiceKey, Counters)>, WireError> {
    let id = ServiceRepr::parse(nested)?.id;
    let counters = counters_of(nested, SVC_ATTR_STATS, SVC_ATTR_STATS64)?;
    Ok(service_key(&id).map(|k| (k, counters)))
}

/// One destination of a `GET_DEST` reply (inside `IPVS_CMD_ATTR_DEST`) of a service of
/// family `svc_af`, with its counters and connection counts.
pub(crate) fn parse_dest(nested: &[u8], svc_af: u16) -> Result<(DestKey, DestStats), WireError> {
    let d = DestRepr::parse(nested, svc_af)?;
    let counters = counters_of(nested, DEST_ATTR_STATS, DEST_ATTR_STATS64)?;
    Ok((
        DestKey {
            addr: d.id.addr,
            port: d.id.port,
        },
        DestStats {
            counters,
            active_conns: d.active_conns,
            inact_conns: d.inact_conns,
            persist_conns: d.persist_conns,
        },
    ))
}

/// What the kernel holds of one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KernelService {
    pub(crate) counters: Counters,
    pub(crate) dests: Vec<(DestKey, DestStats)>,
}

/// The services each virtual server stands for, in configuration order. With
/// `nftables_ipvs` a group's fwmark is the one the checker gives it at start: the next
/// from `nftables_ipvs_start_fwmark` for each new (group, protocol), in virtual-server
/// order (`set_vs_fwmark()`, `get_next_fwmark()`).
fn virtual_server_keys(config: &Config) -> Vec<Vec<ServiceKey>> {
    let groups = &config.virtual_server_groups;
    let mut marks: BTreeMap<(&str, Protocol), u32> = BTreeMap::new();
    let mut next = config.global.nftables_ipvs_start_fwmark;
    config
        .virtual_servers
        .iter()
        .map(|vs| {
            let auto_mark = config
                .global
                .nftables_ipvs
                .as_ref()
                .and_then(|_| auto_fwmark_group(vs, groups))
                .map(|g| {
                    *marks
                        .entry((g.name.as_str(), vs.protocol))
                        .or_insert_with(|| {
                            let m = next;
                            next = next.wrapping_add(1);
                            m
                        })
                });
            service_keys(vs, groups, auto_mark)
        })
        .collect()
}

/// The destination a server of `vs` is in `service` (`ipvs_cmd()`: NAT keeps the
/// server's port, DR and TUN the service's).
fn dest_key(
    service: &ServiceKey,
    vs: &VirtualServer,
    own: Option<&LvsMethod>,
    addr: std::net::IpAddr,
    port: Option<u16>,
) -> DestKey {
    let kind = own.unwrap_or(&vs.lvs_method).kind;
    DestKey {
        addr,
        port: if kind == LvsKind::Nat {
            port.unwrap_or(0)
        } else {
            service.port()
        },
    }
}

/// The server of `vs` that destination `d` of `service` is: the sorry server before the
/// real servers, then the first real server that matches (`ipvs_update_vs_stats()`).
fn server_of(service: &ServiceKey, vs: &VirtualServer, d: &DestKey) -> Option<Dest> {
    if let Some(ss) = &vs.sorry_server {
        if dest_key(service, vs, ss.lvs_method.as_ref(), ss.address, ss.port) == *d {
            return Some(Dest::Sorry);
        }
    }
    vs.real_servers
        .iter()
        .position(|r| dest_key(service, vs, r.lvs_method.as_deref(), r.address, r.port) == *d)
        .map(Dest::Real)
}

/// Places what the kernel holds at configuration positions: each virtual server's
/// services summed, and each of their destinations under its server. A virtual server
/// none of whose services the kernel holds is left out (it reads 0).
pub(crate) fn assemble(config: &Config, kernel: &BTreeMap<ServiceKey, KernelService>) -> IpvsStats {
    let mut out = IpvsStats::default();
    for (vi, (vs, keys)) in config
        .virtual_servers
        .iter()
        .zip(virtual_server_keys(config))
        .enumerate()
    {
        for key in &keys {
            let Some(k) = kernel.get(key) else { continue };
            out.virtual_servers.entry(vi).or_default().add(&k.counters);
            for (dk, ds) in &k.dests {
                let Some(server) = server_of(key, vs, dk) else {
                    continue;
                };
                let s = out.servers.entry((vi, server)).or_default();
                s.counters.add(&ds.counters);
                s.active_conns = s.active_conns.wrapping_add(ds.active_conns);
                s.inact_conns = s.inact_conns.wrapping_add(ds.inact_conns);
                s.persist_conns = s.persist_conns.wrapping_add(ds.persist_conns);
            }
        }
    }
    out
}

/// Reads the counters of every service `config`'s virtual servers stand for, and of
/// their destinations, from the kernel's IPVS table, on a socket of its own. Blocks for
/// the dumps (each bounded by the client's reply timeout). A service the kernel does not
/// hold, or that goes between the dumps, counts as nothing.
pub fn read(config: &Config) -> Result<IpvsStats, IpvsError> {
    let wanted: BTreeSet<ServiceKey> = virtual_server_keys(config).into_iter().flatten().collect();
    if wanted.is_empty() {
        return Ok(IpvsStats::default());
    }
    let mut client = IpvsClient::open()?;
    let b = client.builder(cmd::GET_SERVICE, NLM_F_REQUEST | NLM_F_DUMP);
    // Only the configured services are kept, however many the kernel holds.
    let services = client.collect(b, cmd::GET_SERVICE, cmd_attr::SERVICE, |v| {
        Ok(parse_service(v)?.filter(|(k, _)| wanted.contains(k)))
    })?;
    let mut kernel = BTreeMap::new();
    for (key, counters) in services.into_iter().flatten() {
        let id = service_id(&key);
        let mut b = client.builder(cmd::GET_DEST, NLM_F_REQUEST | NLM_F_DUMP);
        id.emit(&mut b);
        let dests = match client.collect(b, cmd::GET_DEST, cmd_attr::DEST, |v| parse_dest(v, id.af))
        {
            Ok(d) => d,
            Err(IpvsError::Kernel { errno, .. }) if errno == libc::ESRCH => continue,
            Err(e) => return Err(e),
        };
        kernel.insert(key, KernelService { counters, dests });
    }
    Ok(assemble(config, &kernel))
}

#[cfg(test)]
mod tests {
    use super::super::nl::{messages, Builder, NLM_F_MULTI};
    use super::super::wire::{DestId, DestSpec, ServiceId, Target, AF_INET};
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    /// A `struct ip_vs_stats64` nest with every counter `base + i`, or the 32-bit
    /// `ip_vs_stats_user` layout (u32 but for the bytes) with `narrow`.
    fn put_stats(b: &mut Builder, kind: u16, base: u64, narrow: bool) {
        b.begin_nested(kind);
        for (i, k) in (stats_attr::CONNS..=stats_attr::OUTBPS).enumerate() {
            let v = base + i as u64;
            let bytes = k == stats_attr::INBYTES || k == stats_attr::OUTBYTES;
            if narrow && !bytes {
                b.u32(k, v as u32);
            } else {
                b.put(k, &v.to_ne_bytes());
            }
        }
        // IPVS_STATS_ATTR_PAD, which nla_put_u64_64bit adds for alignment.
        b.put(11, &[]);
        b.end_nested();
    }

    fn counters(base: u64) -> Counters {
        Counters {
            conns: base,
            inpkts: base + 1,
            outpkts: base + 2,
            inbytes: base + 3,
            outbytes: base + 4,
            cps: base + 5,
            inpps: base + 6,
            outpps: base + 7,
            inbps: base + 8,
            outbps: base + 9,
        }
    }

    /// A kernel `GET_SERVICE` reply message for 10.0.0.1:80/tcp with `stats` and
    /// optionally `stats64`.
    fn service_reply(with64: bool) -> Vec<u8> {
        let mut b = Builder::new(0x20, NLM_F_MULTI, 1, cmd::GET_SERVICE, 1);
        ServiceRepr {
            id: ServiceId {
                af: AF_INET,
                target: Target::Addr {
                    protocol: 6,
                    addr: "10.0.0.1".parse().unwrap(),
                    port: 80,
                },
            },
            spec: super::super::wire::ServiceSpec {
                sched: "rr".into(),
                flags: 2,
                timeout: 0,
                netmask: u32::MAX,
                pe: None,
            },
        }
        .emit(&mut b);
        // Re-open the service nest to append the stats the kernel adds to it.
        let mut buf = b.finish();
        let mut extra = Builder::new(0, 0, 0, 0, 0);
        put_stats(&mut extra, SVC_ATTR_STATS, 100, true);
        if with64 {
            put_stats(&mut extra, SVC_ATTR_STATS64, 1 << 40, false);
        }
        let extra = extra.finish();
        append_to_last_nest(&mut buf, &extra[20..]);
        buf
    }

    /// Appends attributes to the message's only top-level nest, fixing both lengths.
    fn append_to_last_nest(buf: &mut Vec<u8>, attrs: &[u8]) {
        let nest = 20; // nlmsghdr + genlmsghdr
        let old = u16::from_ne_bytes([buf[nest], buf[nest + 1]]) as usize;
        buf.extend_from_slice(attrs);
        let new = (old + attrs.len()) as u16;
        buf[nest..nest + 2].copy_from_slice(&new.to_ne_bytes());
        let len = buf.len() as u32;
        buf[..4].copy_from_slice(&len.to_ne_bytes());
    }

    fn nested(buf: &[u8], want: u16) -> Vec<u8> {
        let m = messages(buf).next().unwrap().unwrap();
        let (_, attrs) = m.genl().unwrap();
        attrs
            .map(Result::unwrap)
            .find(|(k, _)| *k == want)
            .map(|(_, v)| v.to_vec())
            .unwrap()
    }

    #[test]
    fn service_counters_prefer_stats64_and_fall_back_to_stats() {
        let key = ServiceKey::Addr {
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
        };
        let with64 = nested(&service_reply(true), cmd_attr::SERVICE);
        assert_eq!(
            parse_service(&with64).unwrap(),
            Some((key.clone(), counters(1 << 40)))
        );
        let only32 = nested(&service_reply(false), cmd_attr::SERVICE);
        assert_eq!(parse_service(&only32).unwrap(), Some((key, counters(100))));
    }

    #[test]
    fn dest_counters_and_connection_counts() {
        let mut b = Builder::new(0x20, NLM_F_MULTI, 1, cmd::GET_DEST, 1);
        DestRepr::emit(
            &DestId {
                addr: "192.0.2.11".parse().unwrap(),
                port: 8080,
            },
            &DestSpec {
                fwd: 0,
                weight: 1,
                u_thresh: 0,
                l_thresh: 0,
                tun_type: 0,
                tun_port: 0,
                tun_flags: 0,
            },
            &mut b,
        );
        let mut buf = b.finish();
        let mut extra = Builder::new(0, 0, 0, 0, 0);
        extra.u32(7, 3).u32(8, 4).u32(9, 1); // ACTIVE, INACT, PERSIST
        put_stats(&mut extra, DEST_ATTR_STATS64, 7, false);
        let extra = extra.finish();
        append_to_last_nest(&mut buf, &extra[20..]);
        let (dk, ds) = parse_dest(&nested(&buf, cmd_attr::DEST), AF_INET).unwrap();
        assert_eq!(
            dk,
            DestKey {
                addr: "192.0.2.11".parse().unwrap(),
                port: 8080
            }
        );
        assert_eq!(
            ds,
            DestStats {
                counters: counters(7),
                active_conns: 3,
                inact_conns: 4,
                persist_conns: 1,
            }
        );
    }

    #[test]
    fn odd_counters_are_errors_and_damage_never_panics() {
        let mut b = Builder::new(0, 0, 0, 0, 0);
        b.begin_nested(SVC_ATTR_STATS64)
            .put(stats_attr::CONNS, &[1, 2, 3])
            .end_nested();
        let buf = b.finish();
        assert!(matches!(
            counters_of(&buf[20..], SVC_ATTR_STATS, SVC_ATTR_STATS64),
            Err(WireError::AttrLength { len: 3, .. })
        ));
        let reply = service_reply(true);
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        for cut in 0..=reply.len() {
            for m in messages(&reply[..cut]).flatten() {
                if let Ok((_, attrs)) = m.genl() {
                    for (_, v) in attrs.flatten() {
                        let _ = parse_service(v);
                        let _ = parse_dest(v, AF_INET);
                    }
                }
            }
        }
        for _ in 0..5000 {
            let mut m = reply.clone();
            for _ in 0..3 {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let i = (rng as usize) % m.len();
                m[i] = (rng >> 32) as u8;
            }
            let inner = m.get(24..).unwrap_or_default();
            let _ = parse_service(inner);
            let _ = parse_dest(inner, AF_INET);
        }
    }

    const CONF: &str = r#"
virtual_server_group G {
  10.0.0.2-3 80
}
virtual_server 10.0.0.1 80 {
  lvs_method NAT
  protocol TCP
  sorry_server 192.0.2.99 8080
  real_server 192.0.2.11 8080 { weight 1 }
  real_server 192.0.2.12 8080 { weight 1 }
}
virtual_server group G {
  lvs_method DR
  protocol TCP
  real_server 192.0.2.13 9999 { weight 1 }
}
virtual_server fwmark 7 {
  lvs_method DR
  real_server 192.0.2.14 80 { weight 1 }
}
"#;

    fn svc(addr: &str) -> ServiceKey {
        ServiceKey::Addr {
            addr: addr.parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
        }
    }

    fn dest(addr: &str, port: u16, base: u64) -> (DestKey, DestStats) {
        (
            DestKey {
                addr: addr.parse().unwrap(),
                port,
            },
            DestStats {
                counters: counters(base),
                active_conns: 1,
                inact_conns: 2,
                persist_conns: 0,
            },
        )
    }

    #[test]
    fn counters_land_at_configuration_positions() {
        let loaded = parse_str(CONF, &ParseOptions::default());
        assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
        let config = loaded.config;
        let mut kernel = BTreeMap::new();
        kernel.insert(
            svc("10.0.0.1"),
            KernelService {
                counters: counters(10),
                dests: vec![
                    dest("192.0.2.99", 8080, 1),
                    dest("192.0.2.12", 8080, 2),
                    // Not a server of this virtual server: left out.
                    dest("192.0.2.50", 8080, 3),
                ],
            },
        );
        // The group's two services, its DR server on the service's port in each.
        for (a, base) in [("10.0.0.2", 20), ("10.0.0.3", 30)] {
            kernel.insert(
                svc(a),
                KernelService {
                    counters: counters(base),
                    dests: vec![dest("192.0.2.13", 80, base)],
                },
            );
        }
        // A service no virtual server stands for.
        kernel.insert(svc("10.9.9.9"), KernelService::default());
        let s = assemble(&config, &kernel);
        assert_eq!(s.virtual_servers.get(&0), Some(&counters(10)));
        let mut group = counters(20);
        group.add(&counters(30));
        assert_eq!(s.virtual_servers.get(&1), Some(&group));
        assert_eq!(
            s.virtual_servers.get(&2),
            None,
            "fwmark 7 is not in the kernel"
        );
        assert_eq!(s.servers[&(0, Dest::Sorry)].counters, counters(1));
        assert_eq!(s.servers[&(0, Dest::Real(1))].counters, counters(2));
        assert!(!s.servers.contains_key(&(0, Dest::Real(0))));
        let g = &s.servers[&(1, Dest::Real(0))];
        assert_eq!(g.counters, group);
        assert_eq!((g.active_conns, g.inact_conns), (2, 4));
        assert_eq!(s.servers.len(), 3);
    }
}
