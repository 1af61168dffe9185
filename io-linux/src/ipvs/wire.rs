//! The IPVS generic-netlink messages (`<linux/ip_vs.h>`), each a `Repr` with `parse`
//! from a nested attribute and `emit` into a [`Builder`]. No Rust crate speaks this
//! family, so the layout is written here against the kernel's uapi header.

use std::net::IpAddr;

use super::nl::{
    attr_be16, attr_inet, attr_str, attr_u16, attr_u32, attr_u8, Attrs, Builder, WireError,
};

pub(crate) const IPVS_GENL_NAME: &str = "IPVS";
pub(crate) const IPVS_GENL_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub(crate) const NEW_DAEMON: u8 = 9;
    pub(crate) const DEL_DAEMON: u8 = 10;
    pub const GET_DAEMON: u8 = 11;
    pub(crate) const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const GET_INFO: u8 = 15;
    pub(crate) const FLUSH: u8 = 17;

    /// A command's name for logs and errors.
    pub fn name(c: u8) -> &'static str {
        match c {
            NEW_SERVICE => "NEW_SERVICE",
            SET_SERVICE => "SET_SERVICE",
            DEL_SERVICE => "DEL_SERVICE",
            GET_SERVICE => "GET_SERVICE",
            NEW_DEST => "NEW_DEST",
            SET_DEST => "SET_DEST",
            DEL_DEST => "DEL_DEST",
            GET_DEST => "GET_DEST",
            NEW_DAEMON => "NEW_DAEMON",
            DEL_DAEMON => "DEL_DAEMON",
            GET_DAEMON => "GET_DAEMON",
            SET_CONFIG => "SET_CONFIG",
            GET_CONFIG => "GET_CONFIG",
            GET_INFO => "GET_INFO",
            FLUSH => "FLUSH",
            _ => "?",
        }
    }
}

/// `IPVS_CMD_ATTR_*`: the top-level attributes of a command.
pub mod cmd_attr {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub(crate) const DAEMON: u16 = 3;
    pub(crate) const TIMEOUT_TCP: u16 = 4;
    pub(crate) const TIMEOUT_TCP_FIN: u16 = 5;
    pub(crate) const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_SVC_ATTR_*`.
mod svc {
    pub(crate) const AF: u16 = 1;
    pub(crate) const PROTOCOL: u16 = 2;
    pub(crate) const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub(crate) const FWMARK: u16 = 5;
    pub(crate) const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub(crate) const TIMEOUT: u16 = 8;
    pub(crate) const NETMASK: u16 = 9;
    pub(crate) const PE_NAME: u16 = 11;
}

/// `IPVS_DEST_ATTR_*`.
mod dest {
    pub(crate) const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub(crate) const FWD_METHOD: u16 = 3;
    pub(crate) const WEIGHT: u16 = 4;
    pub(crate) const U_THRESH: u16 = 5;
    pub(crate) const L_THRESH: u16 = 6;
    pub(crate) const ACTIVE_CONNS: u16 = 7;
    pub(crate) const INACT_CONNS: u16 = 8;
    pub(crate) const PERSIST_CONNS: u16 = 9;
    pub(crate) const ADDR_FAMILY: u16 = 11;
    pub(crate) const TUN_TYPE: u16 = 13;
    pub(crate) const TUN_PORT: u16 = 14;
    pub(crate) const TUN_FLAGS: u16 = 15;
}

/// `IPVS_DAEMON_ATTR_*`.
mod daemon {
    pub const STATE: u16 = 1;
    pub(crate) const MCAST_IFN: u16 = 2;
    pub(crate) const SYNC_ID: u16 = 3;
    pub(crate) const SYNC_MAXLEN: u16 = 4;
    pub(crate) const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub(crate) const MCAST_PORT: u16 = 7;
    pub(crate) const MCAST_TTL: u16 = 8;
}

/// `IPVS_INFO_ATTR_*`.
mod info {
    pub(crate) const VERSION: u16 = 1;
    pub(crate) const CONN_TAB_SIZE: u16 = 2;
}

pub const AF_INET: u16 = libc::AF_INET as u16;
pub(crate) const AF_INET6: u16 = libc::AF_INET6 as u16;

/// `IP_VS_SVC_F_*`.
pub(crate) mod svc_flags {
    pub(crate) const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on every service it holds; never ours to compare.
    pub(crate) const HASHED: u32 = 0x0002;
    pub(crate) const ONEPACKET: u32 = 0x0004;
    pub(crate) const SCHED1: u32 = 0x0008;
    pub(crate) const SCHED2: u32 = 0x0010;
    pub(crate) const SCHED3: u32 = 0x0020;
}

/// `IP_VS_CONN_F_*` forwarding methods (`IP_VS_CONN_F_FWD_MASK` = 7).
pub mod fwd {
    pub(crate) const MASQ: u32 = 0;
    pub const LOCALNODE: u32 = 1;
    pub(crate) const TUNNEL: u32 = 2;
    pub(crate) const DROUTE: u32 = 3;
    pub(crate) const MASK: u32 = 7;
}

/// `IP_VS_STATE_MASTER` / `IP_VS_STATE_BACKUP`.
pub(crate) const STATE_MASTER: u32 = 1;
pub(crate) const STATE_BACKUP: u32 = 2;

/// What a service is known by: `AF` plus protocol/address/port, or plus a firewall mark.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceId {
    pub af: u16,
    pub target: Target,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Addr {
        protocol: u16,
        addr: IpAddr,
        port: u16,
    },
    Fwmark(u32),
}

/// What a service is configured with, as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub sched: String,
    /// `IP_VS_SVC_F_*` without `HASHED`.
    pub flags: u32,
    /// Persistence timeout in seconds; 0 without persistence.
    pub timeout: u32,
    /// The raw `IPVS_SVC_ATTR_NETMASK`: an IPv4 mask in network byte order read as a
    /// native u32 (as ipvsadm sends it), or an IPv6 prefix length.
    pub netmask: u32,
    pub pe: Option<String>,
}

/// One service in a `GET_SERVICE` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRepr {
    pub id: ServiceId,
    pub spec: ServiceSpec,
}

impl ServiceId {
    /// The identity attributes, inside `IPVS_CMD_ATTR_SERVICE`.
    pub fn emit(&self, b: &mut Builder) {
        b.begin_nested(cmd_attr::SERVICE);
        self.emit_fields(b);
        b.end_nested();
    }
    fn emit_fields(&self, b: &mut Builder) {
        b.u16(svc::AF, self.af);
        match &self.target {
            Target::Addr {
                protocol,
                addr,
                port,
            } => {
                b.u16(svc::PROTOCOL, *protocol)
                    .inet(svc::ADDR, *addr)
                    .be16(svc::PORT, *port);
            }
            Target::Fwmark(m) => {
                b.u32(svc::FWMARK, *m);
            }
        }
    }
}

impl ServiceRepr {
    /// The whole service, inside `IPVS_CMD_ATTR_SERVICE` (`NEW_SERVICE`/`SET_SERVICE`
    /// need every field: `ip_vs_genl_parse_service(full_entry)`).
    pub fn emit(&self, b: &mut Builder) {
        let s = &self.spec;
        b.begin_nested(cmd_attr::SERVICE);
        self.id.emit_fields(b);
        b.str(svc::SCHED_NAME, &s.sched);
        if let Some(pe) = &s.pe {
            b.str(svc::PE_NAME, pe);
        }
        // struct ip_vs_flags { flags, mask }: every bit ours to set.
        let mut f = [0u8; 8];
        f[..4].copy_from_slice(&s.flags.to_ne_bytes());
        f[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        b.put(svc::FLAGS, &f)
            .u32(svc::TIMEOUT, s.timeout)
            .put(svc::NETMASK, &s.netmask.to_ne_bytes());
        b.end_nested();
    }

    /// Parses the attributes inside one reply's `IPVS_CMD_ATTR_SERVICE`.
    pub fn parse(nested: &[u8]) -> Result<ServiceRepr, WireError> {
        let (mut af, mut proto, mut addr, mut port, mut mark) = (None, None, None, None, 0);
        let mut spec = ServiceSpec {
            sched: String::new(),
            flags: 0,
            timeout: 0,
            netmask: 0,
            pe: None,
        };
        for a in Attrs::new(nested) {
            let (k, v) = a?;
            match k {
                svc::AF => af = Some(attr_u16(v, k)?),
                svc::PROTOCOL => proto = Some(attr_u16(v, k)?),
                svc::ADDR => addr = Some(v),
                svc::PORT => port = Some(attr_be16(v, k)?),
                svc::FWMARK => mark = attr_u32(v, k)?,
                svc::SCHED_NAME => spec.sched = attr_str(v, "IPVS_SVC_ATTR_SCHED_NAME")?,
                svc::PE_NAME => {
                    let pe = attr_str(v, "IPVS_SVC_ATTR_PE_NAME")?;
                    spec.pe = Some(pe).filter(|p| !p.is_empty());
                }
                svc::FLAGS => spec.flags = attr_u32(v, k)? & !svc_flags::HASHED,
                svc::TIMEOUT => spec.timeout = attr_u32(v, k)?,
                svc::NETMASK => spec.netmask = attr_u32(v, k)?,
                _ => {}
            }
        }
        let af = af.ok_or(WireError::Missing("IPVS_SVC_ATTR_AF"))?;
        let target = if mark != 0 {
            Target::Fwmark(mark)
        } else {
            Target::Addr {
                protocol: proto.ok_or(WireError::Missing("IPVS_SVC_ATTR_PROTOCOL"))?,
                addr: attr_inet(
                    addr.ok_or(WireError::Missing("IPVS_SVC_ATTR_ADDR"))?,
                    svc::ADDR,
                    af == AF_INET6,
                )?,
                port: port.ok_or(WireError::Missing("IPVS_SVC_ATTR_PORT"))?,
            }
        };
        Ok(ServiceRepr {
            id: ServiceId { af, target },
            spec,
        })
    }
}

/// A destination's identity within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestId {
    pub addr: IpAddr,
    pub port: u16,
}

/// What a destination is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestSpec {
    /// `IP_VS_CONN_F_*` forwarding method.
    pub fwd: u32,
    pub weight: u32,
    pub u_thresh: u32,
    pub l_thresh: u32,
    /// `IP_VS_CONN_F_TUNNEL_TYPE_*`, port and `IP_VS_TUNNEL_ENCAP_FLAG_*` (TUN only).
    pub tun_type: u8,
    pub tun_port: u16,
    pub tun_flags: u16,
}

/// One destination in a `GET_DEST` reply, with its connection counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestRepr {
    pub id: DestId,
    pub spec: DestSpec,
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
}

fn family_of(a: IpAddr) -> u16 {
    if a.is_ipv6() {
        AF_INET6
    } else {
        AF_INET
    }
}

impl DestId {
    /// The identity attributes, inside `IPVS_CMD_ATTR_DEST` (`DEL_DEST`).
    pub fn emit(&self, b: &mut Builder) {
        b.begin_nested(cmd_attr::DEST);
        self.emit_fields(b);
        b.end_nested();
    }
    fn emit_fields(&self, b: &mut Builder) {
        b.inet(dest::ADDR, self.addr)
            .be16(dest::PORT, self.port)
            .u16(dest::ADDR_FAMILY, family_of(self.addr));
    }
}

impl DestRepr {
    /// The whole destination, inside `IPVS_CMD_ATTR_DEST` (`NEW_DEST`/`SET_DEST`).
    pub fn emit(id: &DestId, s: &DestSpec, b: &mut Builder) {
        b.begin_nested(cmd_attr::DEST);
        id.emit_fields(b);
        b.u32(dest::FWD_METHOD, s.fwd)
            .u32(dest::WEIGHT, s.weight)
            .u32(dest::U_THRESH, s.u_thresh)
            .u32(dest::L_THRESH, s.l_thresh);
        if s.fwd == fwd::TUNNEL {
            b.u8(dest::TUN_TYPE, s.tun_type)
                .be16(dest::TUN_PORT, s.tun_port)
                .u16(dest::TUN_FLAGS, s.tun_flags);
        }
        b.end_nested();
    }

    /// Parses the attributes inside one reply's `IPVS_CMD_ATTR_DEST`; `svc_af` is the
    /// service's family, for kernels that do not say the destination's.
    pub fn parse(nested: &[u8], svc_af: u16) -> Result<DestRepr, WireError> {
        let (mut addr, mut port, mut af) = (None, None, svc_af);
        let mut spec = DestSpec {
            fwd: 0,
            weight: 0,
            u_thresh: 0,
            l_thresh: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
        };
        let (mut active, mut inact, mut persist) = (0, 0, 0);
        for a in Attrs::new(nested) {
            let (k, v) = a?;
            match k {
                dest::ADDR => addr = Some(v),
                dest::PORT => port = Some(attr_be16(v, k)?),
                dest::ADDR_FAMILY => af = attr_u16(v, k)?,
                dest::FWD_METHOD => spec.fwd = attr_u32(v, k)? & fwd::MASK,
                dest::WEIGHT => spec.weight = attr_u32(v, k)?,
                dest::U_THRESH => spec.u_thresh = attr_u32(v, k)?,
                dest::L_THRESH => spec.l_thresh = attr_u32(v, k)?,
                dest::ACTIVE_CONNS => active = attr_u32(v, k)?,
                dest::INACT_CONNS => inact = attr_u32(v, k)?,
                dest::PERSIST_CONNS => persist = attr_u32(v, k)?,
                dest::TUN_TYPE => spec.tun_type = attr_u8(v, k)?,
                dest::TUN_PORT => spec.tun_port = attr_be16(v, k)?,
                dest::TUN_FLAGS => spec.tun_flags = attr_u16(v, k)?,
                _ => {}
            }
        }
        if spec.fwd != fwd::TUNNEL {
            // Tunnel fields mean nothing off TUN; what a kernel echoes there is noise.
            (spec.tun_type, spec.tun_port, spec.tun_flags) = (0, 0, 0);
        }
        let addr = attr_inet(
            addr.ok_or(WireError::Missing("IPVS_DEST_ATTR_ADDR"))?,
            dest::ADDR,
            af == AF_INET6,
        )?;
        Ok(DestRepr {
            id: DestId {
                addr,
                port: port.ok_or(WireError::Missing("IPVS_DEST_ATTR_PORT"))?,
            },
            spec,
            active_conns: active,
            inact_conns: inact,
            persist_conns: persist,
        })
    }
}

/// A connection-sync daemon (`struct ipvs_daemon_user` plus the optional attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonRepr {
    /// [`STATE_MASTER`] or [`STATE_BACKUP`].
    pub state: u32,
    pub ifname: String,
    pub syncid: u32,
    pub maxlen: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

impl DaemonRepr {
    /// Inside `IPVS_CMD_ATTR_DAEMON`. `DEL_DAEMON` needs only the state.
    pub fn emit(&self, b: &mut Builder, full: bool) {
        b.begin_nested(cmd_attr::DAEMON);
        b.u32(daemon::STATE, self.state);
        if full {
            b.str(daemon::MCAST_IFN, &self.ifname)
                .u32(daemon::SYNC_ID, self.syncid);
            if let Some(m) = self.maxlen {
                b.u16(daemon::SYNC_MAXLEN, m);
            }
            match self.group {
                Some(IpAddr::V4(g)) => {
                    b.put(daemon::MCAST_GROUP, &g.octets());
                }
                Some(IpAddr::V6(g)) => {
                    b.put(daemon::MCAST_GROUP6, &g.octets());
                }
                None => {}
            }
            if let Some(p) = self.port {
                // Host order, unlike the service and destination ports
                // (`ip_vs_genl_new_daemon()`: nla_get_u16).
                b.u16(daemon::MCAST_PORT, p);
            }
            if let Some(t) = self.ttl {
                b.u8(daemon::MCAST_TTL, t);
            }
        }
        b.end_nested();
    }

    pub fn parse(nested: &[u8]) -> Result<DaemonRepr, WireError> {
        let mut d = DaemonRepr {
            state: 0,
            ifname: String::new(),
            syncid: 0,
            maxlen: None,
            group: None,
            port: None,
            ttl: None,
        };
        for a in Attrs::new(nested) {
            let (k, v) = a?;
            match k {
                daemon::STATE => d.state = attr_u32(v, k)?,
                daemon::MCAST_IFN => d.ifname = attr_str(v, "IPVS_DAEMON_ATTR_MCAST_IFN")?,
                daemon::SYNC_ID => d.syncid = attr_u32(v, k)?,
                daemon::SYNC_MAXLEN => d.maxlen = Some(attr_u16(v, k)?),
                daemon::MCAST_GROUP => d.group = Some(attr_inet(v, k, false)?),
                daemon::MCAST_GROUP6 => d.group = Some(attr_inet(v, k, true)?),
                daemon::MCAST_PORT => d.port = Some(attr_u16(v, k)?),
                daemon::MCAST_TTL => d.ttl = Some(attr_u8(v, k)?),
                _ => {}
            }
        }
        if d.state == 0 {
            return Err(WireError::Missing("IPVS_DAEMON_ATTR_STATE"));
        }
        Ok(d)
    }
}

/// `lvs_timeouts`: TCP established, TCP FIN_WAIT and UDP, in seconds (0 = unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// The kernel's defaults (`tcp_timeouts[]`, `udp_timeouts[]`): what a reload that drops
/// `lvs_timeouts` goes back to (`ipvs_set_timeouts(NULL)`).
pub(crate) const DEFAULT_TIMEOUTS: Timeouts = Timeouts {
    tcp: 900,
    tcp_fin: 120,
    udp: 300,
};

impl Timeouts {
    /// Top-level attributes of `SET_CONFIG`; a zero is left out, so it stays as it is.
    pub fn emit(&self, b: &mut Builder) {
        for (k, v) in [
            (cmd_attr::TIMEOUT_TCP, self.tcp),
            (cmd_attr::TIMEOUT_TCP_FIN, self.tcp_fin),
            (cmd_attr::TIMEOUT_UDP, self.udp),
        ] {
            if v != 0 {
                b.u32(k, v);
            }
        }
    }
    pub fn parse(attrs: Attrs<'_>) -> Result<Timeouts, WireError> {
        let mut t = Timeouts::default();
        for a in attrs {
            let (k, v) = a?;
            match k {
                cmd_attr::TIMEOUT_TCP => t.tcp = attr_u32(v, k)?,
                cmd_attr::TIMEOUT_TCP_FIN => t.tcp_fin = attr_u32(v, k)?,
                cmd_attr::TIMEOUT_UDP => t.udp = attr_u32(v, k)?,
                _ => {}
            }
        }
        Ok(t)
    }
}

/// `GET_INFO`: the IPVS version (as `(major << 16) | (minor << 8) | patch`) and the
/// connection table size.
pub(crate) fn parse_info(attrs: Attrs<'_>) -> Result<(u32, u32), WireError> {
    let (mut version, mut size) = (None, 0);
    for a in attrs {
        let (k, v) = a?;
        match k {
            info::VERSION => version = Some(attr_u32(v, k)?),
            info::CONN_TAB_SIZE => size = attr_u32(v, k)?,
            _ => {}
        }
    }
    Ok((
        version.ok_or(WireError::Missing("IPVS_INFO_ATTR_VERSION"))?,
        size,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::nl::{Message, NLM_F_REQUEST};
    use super::*;

    fn nested_of(buf: &[u8], want: u16) -> Vec<u8> {
        let m = Message::new_checked(buf).unwrap();
        let (_, attrs) = m.genl().unwrap();
        attrs
            .map(Result::unwrap)
            .find(|(k, _)| *k == want)
            .map(|(_, v)| v.to_vec())
            .unwrap()
    }

    #[test]
    fn service_round_trips_through_the_wire() {
        for id in [
            ServiceId {
                af: AF_INET,
                target: Target::Addr {
                    protocol: 6,
                    addr: "192.0.2.1".parse().unwrap(),
                    port: 80,
                },
            },
            ServiceId {
                af: AF_INET6,
                target: Target::Addr {
                    protocol: 132,
                    addr: "2001:db8::1".parse().unwrap(),
                    port: 443,
                },
            },
            ServiceId {
                af: AF_INET,
                target: Target::Fwmark(7),
            },
        ] {
            let s = ServiceRepr {
                id,
                spec: ServiceSpec {
                    sched: "wlc".into(),
                    flags: svc_flags::PERSISTENT | svc_flags::SCHED2,
                    timeout: 300,
                    netmask: u32::from_ne_bytes([255, 255, 255, 0]),
                    pe: Some("sip".into()),
                },
            };
            let mut b = Builder::new(30, NLM_F_REQUEST, 1, cmd::NEW_SERVICE, 1);
            s.emit(&mut b);
            let buf = b.finish();
            let back = ServiceRepr::parse(&nested_of(&buf, cmd_attr::SERVICE)).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn dest_round_trips_and_tunnel_fields_only_on_tun() {
        let id = DestId {
            addr: "10.0.0.2".parse().unwrap(),
            port: 8080,
        };
        let mut spec = DestSpec {
            fwd: fwd::TUNNEL,
            weight: 3,
            u_thresh: 100,
            l_thresh: 10,
            tun_type: 1,
            tun_port: 6080,
            tun_flags: 1,
        };
        for method in [fwd::TUNNEL, fwd::DROUTE] {
            spec.fwd = method;
            let mut b = Builder::new(30, NLM_F_REQUEST, 1, cmd::NEW_DEST, 1);
            DestRepr::emit(&id, &spec, &mut b);
            let buf = b.finish();
            let back = DestRepr::parse(&nested_of(&buf, cmd_attr::DEST), AF_INET).unwrap();
            assert_eq!(back.id, id);
            if method == fwd::TUNNEL {
                assert_eq!(back.spec, spec);
            } else {
                assert_eq!((back.spec.tun_type, back.spec.tun_port), (0, 0));
                assert_eq!(back.spec.weight, 3);
            }
        }
    }

    #[test]
    fn daemon_and_timeouts_round_trip() {
        let d = DaemonRepr {
            state: STATE_MASTER,
            ifname: "eth0".into(),
            syncid: 5,
            maxlen: Some(1400),
            group: Some("224.0.0.81".parse().unwrap()),
            port: Some(8848),
            ttl: Some(2),
        };
        let mut b = Builder::new(30, NLM_F_REQUEST, 1, cmd::NEW_DAEMON, 1);
        d.emit(&mut b, true);
        let buf = b.finish();
        // The port goes in host order: 8848 read as be16 would be 37410 (ipvsadm showed it).
        let nested = nested_of(&buf, cmd_attr::DAEMON);
        let port = Attrs::new(&nested)
            .map(Result::unwrap)
            .find(|(k, _)| *k == daemon::MCAST_PORT)
            .unwrap();
        assert_eq!(port.1, 8848u16.to_ne_bytes());
        assert_eq!(
            DaemonRepr::parse(&nested_of(&buf, cmd_attr::DAEMON)).unwrap(),
            d
        );

        let t = Timeouts {
            tcp: 7200,
            tcp_fin: 0,
            udp: 60,
        };
        let mut b = Builder::new(30, NLM_F_REQUEST, 1, cmd::SET_CONFIG, 1);
        t.emit(&mut b);
        let buf = b.finish();
        let m = Message::new_checked(&buf[..]).unwrap();
        assert_eq!(Timeouts::parse(m.genl().unwrap().1).unwrap(), t);
    }

    #[test]
    fn a_reply_without_identity_is_an_error() {
        let mut b = Builder::new(30, 0, 1, cmd::GET_SERVICE, 1);
        b.begin_nested(cmd_attr::SERVICE).str(6, "rr").end_nested();
        let buf = b.finish();
        assert_eq!(
            ServiceRepr::parse(&nested_of(&buf, cmd_attr::SERVICE)),
            Err(WireError::Missing("IPVS_SVC_ATTR_AF"))
        );
    }
}
