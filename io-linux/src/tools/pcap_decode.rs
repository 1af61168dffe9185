//! `keepalived-rs --decode-pcap FILE [-f CONF]`: every VRRP advert in a capture, decoded,
//! with the outcome of each receive check against the instances of a configuration.
//! Answers "why does my backup ignore the master's adverts?" from a tcpdump.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::Ipv6Addr;
use std::path::Path;
use std::time::Duration;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::receive::{
    Action, Expect, Outcome, RxContext, Trace, Validator, Verdict,
};
use keepalived_engine::wire::checksum::Pseudo;
use keepalived_engine::wire::{
    AdvertRepr, AuthType, Family, GarpRepr, RxAdvert, UnsolicitedNaRepr, VrrpBody, VrrpPacket,
    IPPROTO_AH, IPPROTO_VRRP,
};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::DataLink;
use serde::Serialize;

/// A frame as captured, with the link type it was captured on.
#[derive(Debug, Clone)]
pub struct Frame {
    pub timestamp: Duration,
    pub link: DataLink,
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a pcap or pcapng capture: {detail}")]
    Format { path: String, detail: String },
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Reads every frame of a pcap or pcapng file.
pub fn read_frames(path: &Path) -> Result<Vec<Frame>, PcapError> {
    let name = path.display().to_string();
    let io = |source| PcapError::Io {
        path: name.clone(),
        source,
    };
    let format = |e: pcap_file::PcapError| PcapError::Format {
        path: name.clone(),
        detail: e.to_string(),
    };
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic).map_err(io)?;
    let file = BufReader::new(File::open(path).map_err(io)?);
    let mut frames = Vec::new();
    if magic == PCAPNG_MAGIC {
        let mut r = PcapNgReader::new(file).map_err(format)?;
        let mut links = Vec::new();
        while let Some(block) = r.next_block() {
            match block.map_err(format)? {
                Block::InterfaceDescription(i) => links.push(i.linktype),
                Block::EnhancedPacket(p) => {
                    let link = links
                        .get(p.interface_id as usize)
                        .copied()
                        .unwrap_or(DataLink::ETHERNET);
                    frames.push(Frame {
                        timestamp: p.timestamp,
                        link,
                        data: p.data.into_owned(),
                    });
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(file).map_err(format)?;
        let link = r.header().datalink;
        while let Some(p) = r.next_packet() {
            let p = p.map_err(format)?;
            frames.push(Frame {
                timestamp: p.timestamp,
                link,
                data: p.data.into_owned(),
            });
        }
    }
    Ok(frames)
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const ETHERTYPE_VLAN: [u16; 2] = [0x8100, 0x88a8];

/// The network layer of a frame.
struct Network<'a> {
    ethertype: u16,
    packet: &'a [u8],
    /// The whole Ethernet frame, when there is one: GARP and NA are parsed from it.
    ethernet: Option<&'a [u8]>,
}

fn network_layer(f: &Frame) -> Option<Network<'_>> {
    let net = |ethertype, packet, ethernet| {
        Some(Network {
            ethertype,
            packet,
            ethernet,
        })
    };
    let d = &f.data[..];
    let be16 = |b: &[u8], at: usize| b.get(at..at + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    match f.link {
        DataLink::ETHERNET => {
            let mut at = 12;
            let mut ty = be16(d, at)?;
            while ETHERTYPE_VLAN.contains(&ty) {
                at += 4;
                ty = be16(d, at)?;
            }
            net(ty, d.get(at + 2..)?, Some(d))
        }
        DataLink::LINUX_SLL => net(be16(d, 14)?, d.get(16..)?, None),
        DataLink::LINUX_SLL2 => net(be16(d, 0)?, d.get(20..)?, None),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => {
            let ty = match d.first()? >> 4 {
                4 => ETHERTYPE_IPV4,
                6 => ETHERTYPE_IPV6,
                _ => return None,
            };
            net(ty, d, None)
        }
        _ => None,
    }
}

/// What a raw socket would hand the daemon for this frame, if it carries VRRP: the kernel
/// trims link padding to the IP length before raw sockets see it.
fn vrrp_rx(ethertype: u16, ip: &[u8]) -> Option<RxAdvert<'_>> {
    match ethertype {
        ETHERTYPE_IPV4 if ip.len() >= 20 => {
            if ip[9] != IPPROTO_VRRP && ip[9] != IPPROTO_AH {
                return None;
            }
            let tot = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let datagram = if tot >= 20 && tot <= ip.len() {
                &ip[..tot]
            } else {
                ip
            };
            Some(RxAdvert::V4 { datagram })
        }
        ETHERTYPE_IPV6 if ip.len() >= 40 => {
            if ip[6] != IPPROTO_VRRP {
                return None;
            }
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let payload = &ip[40..];
            let payload = &payload[..plen.min(payload.len())];
            let addr = |at: usize| {
                let mut o = [0u8; 16];
                o.copy_from_slice(&ip[at..at + 16]);
                Ipv6Addr::from(o)
            };
            Some(RxAdvert::V6 {
                payload,
                src: addr(8),
                dst: addr(24),
                hop_limit: Some(ip[7]),
            })
        }
        _ => None,
    }
}

/// One instance's view of one advert.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceVerdict {
    pub instance: String,
    pub steps: Trace,
    pub verdict: Verdict,
}

/// What one frame turned out to be.
#[derive(Debug, Clone, Serialize)]
pub enum Decoded {
    Advert {
        advert: Option<AdvertRepr>,
        /// Why the advert could not be decoded, when it could not.
        error: Option<String>,
        /// Whether the VRRP checksum is right under any of the rules keepalived knows.
        checksum: Option<&'static str>,
        instances: Vec<InstanceVerdict>,
        /// Set when no instance of the configuration has this VRID and family.
        unmatched: Option<String>,
    },
    Garp(GarpRepr),
    Na(UnsolicitedNaRepr),
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// 1-based frame number, as Wireshark counts.
    pub frame: usize,
    /// Seconds since the first frame of the capture.
    pub time: f64,
    pub decoded: Decoded,
}

/// Which checksum rule makes this packet's checksum right, if any.
fn checksum_rule(rx: &RxAdvert<'_>, a: &AdvertRepr) -> Option<&'static str> {
    let at = rx.locate().ok()?;
    let p = VrrpPacket::new_checked(at.vrrp(rx.bytes()), rx.family()).ok()?;
    let ok = |pseudo| p.verify_checksum(pseudo);
    match (a.src, a.dst) {
        (std::net::IpAddr::V6(src), std::net::IpAddr::V6(dst)) => {
            ok(Pseudo::V6 { src, dst }).then_some("good")
        }
        (std::net::IpAddr::V4(src), std::net::IpAddr::V4(dst)) => {
            if p.version() == 2 {
                ok(Pseudo::None).then_some("good")
            } else if ok(Pseudo::V4 { src, dst }) {
                Some("good (with pseudo-header)")
            } else if ok(Pseudo::None) {
                Some("good (without pseudo-header: v3_checksum_as_v2)")
            } else if ok(Pseudo::V4 {
                src,
                dst: keepalived_engine::wire::MCAST_GROUP4,
            }) {
                Some("good (pre-1.3.6 unicast pseudo-header)")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Decodes every frame, checking adverts against `config`'s instances (AH replay state
/// carries from one advert to the next, as in the daemon).
pub fn decode(frames: &[Frame], config: Option<&Config>) -> Vec<Report> {
    let mut validators: BTreeMap<String, (Validator, u8)> = BTreeMap::new();
    if let Some(cfg) = config {
        for vi in &cfg.instances {
            let e = Expect::from_instance(vi, &cfg.global);
            validators.insert(vi.name.clone(), (Validator::new(e), vi.priority));
        }
    }
    let start = frames.first().map_or(Duration::ZERO, |f| f.timestamp);
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let Some(Network {
            ethertype: ty,
            packet: ip,
            ethernet: eth,
        }) = network_layer(f)
        else {
            continue;
        };
        let decoded = if ty == ETHERTYPE_ARP {
            match eth.map(GarpRepr::parse) {
                Some(Ok(g)) => Decoded::Garp(g),
                _ => continue,
            }
        } else if let Some(rx) = vrrp_rx(ty, ip) {
            let (advert, error) = match AdvertRepr::parse(&rx) {
                Ok(a) => (Some(a), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let checksum = advert.as_ref().and_then(|a| checksum_rule(&rx, a));
            let vrid = rx
                .locate()
                .ok()
                .map(|l| l.vrrp)
                .and_then(|at| rx.bytes().get(at + 1).copied());
            let mut instances = Vec::new();
            for (name, (v, prio)) in validators.iter_mut() {
                if Some(v.expect.vrid) != vrid || v.expect.family != rx.family() {
                    continue;
                }
                let mut steps = Trace::default();
                let cx = RxContext {
                    effective_priority: *prio,
                    check_vips: true,
                };
                let verdict = v.check(&rx, cx, &mut steps);
                instances.push(InstanceVerdict {
                    instance: name.clone(),
                    steps,
                    verdict,
                });
            }
            let unmatched = match (config, instances.is_empty(), vrid) {
                (Some(_), true, Some(id)) => Some(format!(
                    "no {} instance with virtual_router_id {id} in the configuration: keepalived skips it{}",
                    match rx.family() {
                        Family::V4 => "IPv4",
                        Family::V6 => "IPv6",
                    },
                    " (logged only with log_unknown_vrids)"
                )),
                _ => None,
            };
            Decoded::Advert {
                advert,
                error,
                checksum,
                instances,
                unmatched,
            }
        } else if ty == ETHERTYPE_IPV6 {
            match eth.map(UnsolicitedNaRepr::parse) {
                Some(Ok(na)) => Decoded::Na(na),
                _ => continue,
            }
        } else {
            continue;
        };
        out.push(Report {
            frame: i + 1,
            time: f.timestamp.saturating_sub(start).as_secs_f64(),
            decoded,
        });
    }
    out
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn printable(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end])
        .escape_default()
        .to_string()
}

fn advert_line(a: &AdvertRepr) -> String {
    let v = &a.vrrp;
    let mut s = format!(
        "{} -> {} ttl {} VRRPv{} vrid {} prio {} ",
        a.src,
        a.dst,
        a.ttl,
        v.version(),
        v.vrid,
        v.priority
    );
    match v.body {
        VrrpBody::V2 {
            auth_type,
            adver_int_secs,
            auth_data,
        } => {
            let auth = match auth_type {
                AuthType::None => "none".to_string(),
                AuthType::Pass => format!("PASS \"{}\"", printable(&auth_data)),
                AuthType::Ah => "AH".to_string(),
                AuthType::Other(n) => format!("unknown({n})"),
            };
            let _ = write!(s, "auth {auth} intvl {adver_int_secs}s");
        }
        VrrpBody::V3 { max_adver_int_cs } => {
            let _ = write!(s, "intvl {}cs", max_adver_int_cs);
        }
    }
    if let Some(ah) = &a.ah {
        let _ = write!(s, " [AH spi {:#010x} seq {}]", ah.spi, ah.seq);
    }
    let addrs: Vec<String> = v.vips.iter().map(|x| x.to_string()).collect();
    let _ = write!(s, " addrs {} [{}]", addrs.len(), addrs.join(", "));
    s
}

/// The human-readable report.
pub fn render(reports: &[Report]) -> String {
    let mut s = String::new();
    for r in reports {
        let _ = write!(s, "#{} {:.6} ", r.frame, r.time);
        match &r.decoded {
            Decoded::Garp(g) => {
                let _ = writeln!(s, "gratuitous ARP {} is-at {}", g.addr, mac(&g.sender_mac));
            }
            Decoded::Na(n) => {
                let _ = writeln!(
                    s,
                    "unsolicited NA {} is-at {}{}",
                    n.target,
                    mac(&n.sender_mac),
                    if n.router { " (router)" } else { "" }
                );
            }
            Decoded::Advert {
                advert,
                error,
                checksum,
                instances,
                unmatched,
            } => {
                match advert {
                    Some(a) => {
                        let _ = writeln!(
                            s,
                            "{} checksum {}",
                            advert_line(a),
                            checksum.unwrap_or("BAD under every rule")
                        );
                    }
                    None => {
                        let _ = writeln!(s, "malformed VRRP: {}", error.as_deref().unwrap_or("?"));
                    }
                }
                if let Some(u) = unmatched {
                    let _ = writeln!(s, "    {u}");
                }
                for iv in instances {
                    let _ = writeln!(s, "  instance {}:", iv.instance);
                    for (check, outcome) in &iv.steps.0 {
                        let line = match outcome {
                            Outcome::Pass => format!("ok    {}", check.name()),
                            Outcome::Skip => format!("n/a   {}", check.name()),
                            Outcome::Note(r) => format!("note  {}: {r}", check.name()),
                            Outcome::Fail(action, r) => {
                                format!(
                                    "FAIL  {}: {r}{}",
                                    check.name(),
                                    r.counter().map(|c| format!(" [{c:?}]")).unwrap_or_default()
                                ) + match action {
                                    Action::Ko => " -> advert refused",
                                    Action::Drop => " -> advert dropped",
                                    Action::StopBatch => {
                                        " -> advert refused, rest of the batch unread"
                                    }
                                }
                            }
                        };
                        let _ = writeln!(s, "    {line}");
                    }
                    let _ = writeln!(
                        s,
                        "    => {}",
                        match &iv.verdict {
                            Verdict::Accept { .. } => "ACCEPTED".to_string(),
                            Verdict::Reject { check, .. } =>
                                format!("IGNORED at \"{}\"", check.name()),
                        }
                    );
                }
            }
        }
    }
    s
}
