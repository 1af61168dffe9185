//! Makes the kernel's IPVS table hold what the checker engine wants. The engine's
//! [`IpvsOp`]s update `wanted`; after each engine step the services they touched are
//! brought to `wanted` from what the kernel is known to hold, so a service that failed
//! (a scheduler the kernel lacks, say) is retried whenever it changes, and a table that
//! already holds what the config wants (a restart, an ipvsadm-made table) is adopted as
//! it is rather than flushed and rebuilt.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

use keepalived_engine::check::{DestKey, DestParams, IpvsOp, IpvsState, ServiceKey, ServiceParams};
use keepalived_engine::config::model::{LvsKind, LvsMethod, Protocol};
use tracing::{debug, info, warn};

use super::client::{IpvsClient, IpvsError};
use super::wire::{
    fwd, svc_flags, DestId, DestSpec, ServiceId, ServiceRepr, ServiceSpec, Target, AF_INET,
    AF_INET6,
};

/// `IPPROTO_*` of a service.
fn ipproto(p: Protocol) -> u16 {
    match p {
        Protocol::Tcp => libc::IPPROTO_TCP as u16,
        Protocol::Udp => libc::IPPROTO_UDP as u16,
        Protocol::Sctp => libc::IPPROTO_SCTP as u16,
    }
}

fn protocol(p: u16) -> Option<Protocol> {
    match i32::from(p) {
        libc::IPPROTO_TCP => Some(Protocol::Tcp),
        libc::IPPROTO_UDP => Some(Protocol::Udp),
        libc::IPPROTO_SCTP => Some(Protocol::Sctp),
        _ => None,
    }
}

fn af(v6: bool) -> u16 {
    if v6 {
        AF_INET6
    } else {
        AF_INET
    }
}

pub fn service_id(key: &ServiceKey) -> ServiceId {
    match key {
        ServiceKey::Addr {
            addr,
            port,
            protocol,
        } => ServiceId {
            af: af(addr.is_ipv6()),
            target: Target::Addr {
                protocol: ipproto(*protocol),
                addr: *addr,
                port: *port,
            },
        },
        ServiceKey::Fwmark { mark, v6 } => ServiceId {
            af: af(*v6),
            target: Target::Fwmark(*mark),
        },
    }
}

/// The engine's key for a kernel service; `None` for a protocol keepalived never
/// configures.
pub fn service_key(id: &ServiceId) -> Option<ServiceKey> {
    Some(match &id.target {
        Target::Addr {
            protocol: p,
            addr,
            port,
        } => ServiceKey::Addr {
            addr: *addr,
            port: *port,
            protocol: protocol(*p)?,
        },
        Target::Fwmark(mark) => ServiceKey::Fwmark {
            mark: *mark,
            v6: id.af == AF_INET6,
        },
    })
}

/// `ipvs_set_srule()`: scheduler, flags, and with persistence its timeout, granularity
/// and engine. The netmask is all-ones (IPv4) or 128 (IPv6) unless a granularity says
/// otherwise.
pub fn service_spec(key: &ServiceKey, p: &ServiceParams) -> Result<ServiceSpec, String> {
    let v6 = service_id(key).af == AF_INET6;
    let mut flags = 0;
    for f in &p.sched_flags {
        flags |= match f.as_str() {
            "flag-1" | "sh-fallback" | "mh-fallback" => svc_flags::SCHED1,
            "flag-2" | "sh-port" | "mh-port" => svc_flags::SCHED2,
            "flag-3" => svc_flags::SCHED3,
            other => return Err(format!("unknown scheduler flag '{other}'")),
        };
    }
    if p.ops {
        flags |= svc_flags::ONEPACKET;
    }
    let mut netmask = if v6 {
        128
    } else {
        u32::from_ne_bytes([255; 4])
    };
    let mut timeout = 0;
    let mut pe = None;
    if let Some(t) = p.persistence_timeout_s {
        flags |= svc_flags::PERSISTENT;
        timeout = t;
        pe = p.persistence_engine.clone();
        if let Some(g) = &p.persistence_granularity {
            netmask = granularity(g, v6)?;
        }
    }
    Ok(ServiceSpec {
        sched: p.scheduler.clone(),
        flags,
        timeout,
        netmask,
        pe,
    })
}

/// `persistence_granularity`: an IPv4 netmask (or, unlike keepalived, which reads "24"
/// as 0.0.0.24, a prefix length) or an IPv6 prefix length (`pgr_handler()`).
fn granularity(g: &str, v6: bool) -> Result<u32, String> {
    if v6 {
        return match g.parse::<u32>() {
            Ok(n @ 1..=128) => Ok(n),
            _ => Err(format!(
                "persistence_granularity '{g}' is not an IPv6 prefix length (1-128)"
            )),
        };
    }
    if let Ok(a) = g.parse::<std::net::Ipv4Addr>() {
        return Ok(u32::from_ne_bytes(a.octets()));
    }
    match g.parse::<u32>() {
        Ok(n @ 1..=32) => Ok(u32::from_ne_bytes((u32::MAX << (32 - n)).to_be_bytes())),
        _ => Err(format!(
            "persistence_granularity '{g}' is not an IPv4 netmask or prefix length"
        )),
    }
}

/// `ipvs_set_drule()`: method, weight, thresholds, and the tunnel's type, port and
/// checksum option for TUN.
pub fn dest_spec(p: &DestParams) -> Result<DestSpec, String> {
    let LvsMethod {
        kind,
        tunnel_type,
        tunnel_port,
        tunnel_checksum,
    } = &p.method;
    let mut s = DestSpec {
        fwd: match kind {
            LvsKind::Nat => fwd::MASQ,
            LvsKind::Dr => fwd::DROUTE,
            LvsKind::Tun => fwd::TUNNEL,
        },
        weight: p.weight,
        u_thresh: p.uthreshold,
        l_thresh: p.lthreshold,
        tun_type: 0,
        tun_port: 0,
        tun_flags: 0,
    };
    if *kind == LvsKind::Tun {
        s.tun_type = match tunnel_type.as_deref() {
            None | Some("ipip") => 0,
            Some("gue") => 1,
            Some("gre") => 2,
            Some(t) => return Err(format!("unknown tunnel type '{t}'")),
        };
        s.tun_port = tunnel_port.unwrap_or(0);
        s.tun_flags = match tunnel_checksum.as_deref() {
            None | Some("nocsum") => 0,
            Some("csum") => 1,
            Some("remcsum") => 2,
            Some(c) => return Err(format!("unknown tunnel checksum option '{c}'")),
        };
    }
    Ok(s)
}

/// What the kernel holds for one service, as far as we know.
#[derive(Debug, Clone)]
struct Held {
    spec: ServiceSpec,
    dests: BTreeMap<DestKey, DestSpec>,
}

/// What `SIGTERM` does to the table (`clear_services()`, `-I`, `lvs_flush_on_stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Remove the services the config made (the default).
    Remove,
    /// `-I`: leave everything as it is.
    Leave,
    /// `lvs_flush_on_stop`: flush the whole table.
    FlushAll,
}

/// Counts for one pass, for the log line that reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub changes: u64,
    pub failures: u64,
}

pub struct IpvsTable {
    client: IpvsClient,
    wanted: IpvsState,
    held: BTreeMap<ServiceKey, Held>,
    dirty: BTreeSet<ServiceKey>,
    /// The error each failing service last gave, so a repeat is not said again.
    failing: BTreeMap<ServiceKey, String>,
    /// Set at start and reload: the next pass is reported at info with its time.
    report: Option<(&'static str, Instant)>,
    /// Shutting down with `-I` or a full flush: the engine's removals are not ours to do.
    frozen: bool,
}

impl IpvsTable {
    /// Opens IPVS, flushes it with `lvs_flush`, and reads what it already holds.
    pub fn open(flush: bool) -> Result<IpvsTable, IpvsError> {
        let mut client = IpvsClient::open()?;
        let (version, size) = client.info()?;
        info!(
            "IPVS {}.{}.{} (connection table size {size})",
            version >> 16,
            (version >> 8) & 0xff,
            version & 0xff
        );
        if flush {
            // check_daemon.c: "Remove any entries left over from previous invocation".
            client.flush()?;
            info!("IPVS: flushed the table (lvs_flush)");
        }
        let mut t = IpvsTable {
            client,
            wanted: IpvsState::default(),
            held: BTreeMap::new(),
            dirty: BTreeSet::new(),
            failing: BTreeMap::new(),
            report: Some(("initial table", Instant::now())),
            frozen: false,
        };
        t.read_kernel()?;
        Ok(t)
    }

    pub fn client(&mut self) -> &mut IpvsClient {
        &mut self.client
    }

    /// Everything the kernel holds, so a service the config also wants is adopted.
    fn read_kernel(&mut self) -> Result<(), IpvsError> {
        self.held.clear();
        for s in self.client.services()? {
            let Some(key) = service_key(&s.id) else {
                continue;
            };
            let dests = self.read_dests(&s.id)?;
            self.held.insert(
                key,
                Held {
                    spec: s.spec,
                    dests,
                },
            );
        }
        if !self.held.is_empty() {
            info!(
                "IPVS: the kernel already holds {} services",
                self.held.len()
            );
        }
        Ok(())
    }

    fn read_dests(&mut self, id: &ServiceId) -> Result<BTreeMap<DestKey, DestSpec>, IpvsError> {
        Ok(self
            .client
            .dests(id)?
            .into_iter()
            .map(|d| {
                (
                    DestKey {
                        addr: d.id.addr,
                        port: d.id.port,
                    },
                    d.spec,
                )
            })
            .collect())
    }

    /// Re-reads one service after the kernel disagreed with what we thought it held.
    fn reread(&mut self, key: &ServiceKey) {
        let id = service_id(key);
        let fresh = match self.client.service(&id) {
            Ok(Some(s)) => self.read_dests(&id).map(|dests| {
                Some(Held {
                    spec: s.spec,
                    dests,
                })
            }),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        match fresh {
            Ok(Some(h)) => {
                self.held.insert(key.clone(), h);
            }
            Ok(None) => {
                self.held.remove(key);
            }
            Err(e) => warn!("IPVS: re-reading {key}: {e}"),
        }
    }

    /// Asks that the next pass be reported (a reload).
    pub fn report_next(&mut self, what: &'static str) {
        self.report = Some((what, Instant::now()));
    }

    /// One engine operation: what we want changes; the kernel follows at [`Self::commit`].
    pub fn push(&mut self, op: &IpvsOp) {
        if self.frozen {
            return;
        }
        let key = match op {
            IpvsOp::AddService { key, .. }
            | IpvsOp::EditService { key, .. }
            | IpvsOp::DelService { key } => key,
            IpvsOp::AddDest { service, .. }
            | IpvsOp::EditDest { service, .. }
            | IpvsOp::DelDest { service, .. } => service,
        };
        if let Err(e) = self.wanted.apply(op) {
            // The engine's ops always fit the table it built; say it if one does not.
            warn!("IPVS: engine operation out of order: {e}");
        }
        self.dirty.insert(key.clone());
    }

    /// Brings every service touched since the last pass to what is wanted.
    pub fn commit(&mut self) -> Applied {
        let mut applied = Applied::default();
        for key in std::mem::take(&mut self.dirty) {
            self.converge(&key, &mut applied, true);
        }
        if let Some((what, since)) = self.report.take() {
            info!(
                "IPVS: {what} applied: {} changes, {} failed, in {} ms",
                applied.changes,
                applied.failures,
                since.elapsed().as_millis()
            );
        } else if applied.changes + applied.failures > 0 {
            debug!(
                "IPVS: {} changes, {} failed",
                applied.changes, applied.failures
            );
        }
        applied
    }

    /// SIGTERM: with `-I` or a full flush, the engine's removals are skipped.
    pub fn stop(&mut self, mode: StopMode) {
        match mode {
            StopMode::Remove => self.report_next("removal on stop"),
            StopMode::Leave => {
                info!("IPVS: leaving the table as it is (-I)");
                self.frozen = true;
            }
            StopMode::FlushAll => {
                match self.client.flush() {
                    Ok(()) => info!("IPVS: flushed the table (lvs_flush_on_stop)"),
                    Err(e) => warn!("IPVS: flush on stop: {e}"),
                }
                self.frozen = true;
            }
        }
        if self.frozen {
            self.dirty.clear();
        }
    }

    fn fail(&mut self, key: &ServiceKey, what: String, applied: &mut Applied) {
        applied.failures += 1;
        if self.failing.get(key) != Some(&what) {
            warn!("IPVS: {what}; the rest of the table still applies");
            self.failing.insert(key.clone(), what);
        }
    }

    fn converge(&mut self, key: &ServiceKey, applied: &mut Applied, retry: bool) {
        let id = service_id(key);
        let Some(want) = self.wanted.services.get(key).cloned() else {
            self.failing.remove(key);
            if self.held.contains_key(key) {
                match self.client.del_service(&id) {
                    Ok(()) => applied.changes += 1,
                    Err(e) if e.errno() == Some(libc::ESRCH) => {}
                    Err(e) => {
                        return self.fail(key, format!("cannot remove service {key}: {e}"), applied)
                    }
                }
                self.held.remove(key);
            }
            return;
        };
        let spec = match service_spec(key, &want.params) {
            Ok(s) => s,
            Err(e) => return self.fail(key, format!("service {key}: {e}"), applied),
        };
        let repr = ServiceRepr {
            id: id.clone(),
            spec: spec.clone(),
        };
        match self.held.get(key) {
            None => match self.client.add_service(&repr) {
                Ok(()) => {
                    applied.changes += 1;
                    self.held.insert(
                        key.clone(),
                        Held {
                            spec,
                            dests: BTreeMap::new(),
                        },
                    );
                }
                Err(e) if retry && e.errno() == Some(libc::EEXIST) => {
                    self.reread(key);
                    return self.converge(key, applied, false);
                }
                Err(e) => {
                    let sched = &want.params.scheduler;
                    return self.fail(
                        key,
                        format!("cannot add service {key} (scheduler {sched}): {e}"),
                        applied,
                    );
                }
            },
            Some(h) if h.spec != spec => match self.client.edit_service(&repr) {
                Ok(()) => {
                    applied.changes += 1;
                    if let Some(h) = self.held.get_mut(key) {
                        h.spec = spec;
                    }
                }
                Err(e) if retry && e.errno() == Some(libc::ESRCH) => {
                    self.reread(key);
                    return self.converge(key, applied, false);
                }
                Err(e) => {
                    let sched = &want.params.scheduler;
                    self.fail(
                        key,
                        format!("cannot change service {key} (scheduler {sched}): {e}"),
                        applied,
                    );
                }
            },
            Some(_) => {}
        }
        let failures = applied.failures;
        let held = self
            .held
            .get(key)
            .map(|h| h.dests.clone())
            .unwrap_or_default();
        for d in held.keys().filter(|d| !want.dests.contains_key(d)) {
            let did = dest_id(d);
            match self.client.del_dest(&id, &did) {
                Ok(()) => applied.changes += 1,
                Err(e) if e.errno() == Some(libc::ENOENT) => {}
                Err(e) => {
                    self.fail(
                        key,
                        format!("cannot remove {} from {key}: {e}", fmt_dest(d)),
                        applied,
                    );
                    continue;
                }
            }
            if let Some(h) = self.held.get_mut(key) {
                h.dests.remove(d);
            }
        }
        for (d, p) in &want.dests {
            let ds = match dest_spec(p) {
                Ok(s) => s,
                Err(e) => {
                    self.fail(key, format!("{} in {key}: {e}", fmt_dest(d)), applied);
                    continue;
                }
            };
            let did = dest_id(d);
            let r = match held.get(d) {
                Some(h) if *h == ds => continue,
                // keepalived's ipvs_talk(): an edit the kernel cannot find becomes an add,
                // and an add of one already there becomes an edit.
                Some(_) => self.client.edit_dest(&id, &did, &ds).or_else(|e| {
                    if e.errno() == Some(libc::ENOENT) {
                        self.client.add_dest(&id, &did, &ds)
                    } else {
                        Err(e)
                    }
                }),
                None => self.client.add_dest(&id, &did, &ds).or_else(|e| {
                    if e.errno() == Some(libc::EEXIST) {
                        self.client.edit_dest(&id, &did, &ds)
                    } else {
                        Err(e)
                    }
                }),
            };
            match r {
                Ok(()) => {
                    applied.changes += 1;
                    if let Some(h) = self.held.get_mut(key) {
                        h.dests.insert(*d, ds);
                    }
                }
                Err(e) => self.fail(
                    key,
                    format!("cannot set {} in {key}: {e}", fmt_dest(d)),
                    applied,
                ),
            }
        }
        if applied.failures == failures && self.failing.remove(key).is_some() {
            info!("IPVS: service {key} is now as configured");
        }
    }
}

fn dest_id(d: &DestKey) -> DestId {
    DestId {
        addr: d.addr,
        port: d.port,
    }
}

fn fmt_dest(d: &DestKey) -> String {
    match d.addr {
        IpAddr::V4(a) => format!("real server {a}:{}", d.port),
        IpAddr::V6(a) => format!("real server [{a}]:{}", d.port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ServiceParams {
        ServiceParams {
            protocol: Protocol::Tcp,
            scheduler: "sh".into(),
            sched_flags: vec!["sh-port".into(), "flag-1".into()],
            persistence_timeout_s: Some(600),
            persistence_granularity: Some("24".into()),
            persistence_engine: None,
            ops: false,
        }
    }

    #[test]
    fn service_spec_follows_ipvs_set_srule() {
        let key = ServiceKey::Addr {
            addr: "192.0.2.1".parse().unwrap(),
            port: 80,
            protocol: Protocol::Tcp,
        };
        let s = service_spec(&key, &params()).unwrap();
        assert_eq!(
            s.flags,
            svc_flags::PERSISTENT | svc_flags::SCHED1 | svc_flags::SCHED2
        );
        assert_eq!(
            (s.timeout, s.netmask.to_ne_bytes()),
            (600, [255, 255, 255, 0])
        );
        let mut p = params();
        p.persistence_granularity = Some("255.255.0.0".into());
        assert_eq!(
            service_spec(&key, &p).unwrap().netmask.to_ne_bytes(),
            [255, 255, 0, 0]
        );
        p.persistence_timeout_s = None;
        let s = service_spec(&key, &p).unwrap();
        assert_eq!(
            (s.flags & svc_flags::PERSISTENT, s.timeout, s.netmask),
            (0, 0, u32::MAX),
            "granularity only goes with persistence"
        );
        let v6 = ServiceKey::Fwmark { mark: 3, v6: true };
        assert_eq!(service_spec(&v6, &params()).unwrap().netmask, 24);
        p.persistence_timeout_s = Some(60);
        p.persistence_granularity = Some("255.255.255.0".into());
        assert!(service_spec(&v6, &p)
            .unwrap_err()
            .contains("not an IPv6 prefix length"));
    }

    #[test]
    fn keys_map_both_ways() {
        for key in [
            ServiceKey::Addr {
                addr: "2001:db8::1".parse().unwrap(),
                port: 443,
                protocol: Protocol::Sctp,
            },
            ServiceKey::Fwmark { mark: 9, v6: false },
        ] {
            assert_eq!(service_key(&service_id(&key)), Some(key));
        }
    }

    #[test]
    fn tunnel_options_reach_the_dest_spec() {
        let p = DestParams {
            weight: 4,
            method: LvsMethod {
                kind: LvsKind::Tun,
                tunnel_type: Some("gue".into()),
                tunnel_port: Some(6080),
                tunnel_checksum: Some("remcsum".into()),
            },
            uthreshold: 10,
            lthreshold: 2,
        };
        let s = dest_spec(&p).unwrap();
        assert_eq!(
            (s.fwd, s.tun_type, s.tun_port, s.tun_flags, s.weight),
            (fwd::TUNNEL, 1, 6080, 2, 4)
        );
    }
}
