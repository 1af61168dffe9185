//! BFD (RFC 5880, single hop over UDP as RFC 5881 says) between namespaces, for the
//! daemon tests and the side-by-side harness: configs for both daemons, a daemon started
//! with its BFD child's pidfile, a capture of the link decoded into BFD control packets
//! and VRRP adverts (our own small decoder, not the product's codec, so the tests check
//! the product against an independent reading), an nftables rule that drops a peer's BFD
//! packets on its way out, and FRR's bfdd as a third implementation to talk to.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::host::{wait_for, Daemon, Netns};

/// RFC 5881 §4: single-hop control packets go to UDP 3784.
pub const CONTROL_PORT: u16 = 3784;

/// The session parameters of every test and measurement: min_rx/min_tx 100 ms,
/// multiplier 3, so a detection time of 300 ms once Up.
pub const MIN_RX_MS: u32 = 100;
pub const MIN_TX_MS: u32 = 100;
pub const MULTIPLIER: u8 = 3;

/// RFC 5880 §4.1: the session states a control packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    AdminDown,
    Down,
    Init,
    Up,
}

impl State {
    fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }
}

/// RFC 5880 §4.1 diagnostic codes the tests look for.
pub const DIAG_NONE: u8 = 0;
pub const DIAG_DETECTION_EXPIRED: u8 = 1;
pub const DIAG_NEIGHBOR_DOWN: u8 = 3;
pub const DIAG_ADMIN_DOWN: u8 = 7;

/// The mandatory section of a BFD control packet (RFC 5880 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub diag: u8,
    pub state: State,
    pub poll: bool,
    pub fin: bool,
    pub multiplier: u8,
    pub my_discr: u32,
    pub your_discr: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
}

/// One BFD control packet as a capture saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Control {
    /// Capture time, seconds since the epoch.
    pub t: f64,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub ttl: u8,
    pub h: Header,
}

/// One VRRP advert as a capture saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Advert {
    pub t: f64,
    pub src: Ipv4Addr,
    pub vrid: u8,
    pub priority: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    Bfd(Control),
    Vrrp(Advert),
}

/// A BFD control packet's mandatory section from a UDP payload (RFC 5880 §4.1); `None`
/// for anything shorter than its 24 octets.
pub fn parse_control(p: &[u8]) -> Option<Header> {
    if p.len() < 24 {
        return None;
    }
    let word = |i: usize| u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]]);
    Some(Header {
        version: p[0] >> 5,
        diag: p[0] & 0x1f,
        state: State::from_bits(p[1] >> 6),
        poll: p[1] & 0x20 != 0,
        fin: p[1] & 0x10 != 0,
        multiplier: p[2],
        my_discr: word(4),
        your_discr: word(8),
        desired_min_tx_us: word(12),
        required_min_rx_us: word(16),
    })
}

/// An Ethernet II frame carrying IPv4: a BFD control packet to [`CONTROL_PORT`] or a
/// VRRP advert (IP protocol 112); anything else is `None`.
pub fn decode(t: f64, frame: &[u8]) -> Option<Frame> {
    if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ihl < 20 || ip.len() < ihl {
        return None;
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let body = &ip[ihl..];
    match ip[9] {
        17 if body.len() >= 8 && u16::from_be_bytes([body[2], body[3]]) == CONTROL_PORT => {
            Some(Frame::Bfd(Control {
                t,
                src,
                dst,
                src_port: u16::from_be_bytes([body[0], body[1]]),
                ttl: ip[8],
                h: parse_control(&body[8..])?,
            }))
        }
        112 if body.len() >= 3 => Some(Frame::Vrrp(Advert {
            t,
            src,
            vrid: body[1],
            priority: body[2],
        })),
        _ => None,
    }
}

/// The frames of a pcap file (Ethernet link type) that [`decode`] reads, in order; a
/// frame tcpdump is still writing ends the list.
pub fn read_pcap(path: &Path) -> Vec<Frame> {
    let data = std::fs::read(path).unwrap_or_default();
    let Ok(mut reader) = pcap_file::pcap::PcapReader::new(&data[..]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Some(Ok(pkt)) = reader.next_packet() {
        if let Some(f) = decode(pkt.timestamp.as_secs_f64(), &pkt.data) {
            out.push(f);
        }
    }
    out
}

/// tcpdump writing BFD control packets and VRRP adverts on one interface to a pcap,
/// each packet as it comes (`-U`); killed when dropped.
pub struct LinkCapture {
    child: std::process::Child,
    pub pcap: PathBuf,
}

impl LinkCapture {
    /// Starts tcpdump in `ns` on `iface` and waits until it is listening.
    pub fn start(ns: &Netns, iface: &str, pcap: &Path) -> LinkCapture {
        let err = pcap.with_extension("err");
        let child = ns
            .command("tcpdump")
            .args(["-i", iface, "-n", "-U", "-s", "256", "-w"])
            .arg(pcap)
            .arg(format!("udp port {CONTROL_PORT} or vrrp"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&err).expect("capture log"))
            .spawn()
            .expect("start tcpdump");
        let cap = LinkCapture {
            child,
            pcap: pcap.to_path_buf(),
        };
        let listening = || std::fs::read_to_string(&err).is_ok_and(|t| t.contains("listening on"));
        assert!(
            wait_for(Duration::from_secs(5), listening).is_some(),
            "tcpdump did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        cap
    }

    pub fn frames(&self) -> Vec<Frame> {
        read_pcap(&self.pcap)
    }

    /// The BFD control packets from `src` so far.
    pub fn controls_from(&self, src: Ipv4Addr) -> Vec<Control> {
        controls_from(&self.frames(), src)
    }

    /// The VRRP adverts from `src` so far.
    pub fn adverts_from(&self, src: Ipv4Addr) -> Vec<Advert> {
        adverts_from(&self.frames(), src)
    }

    /// Waits up to `limit` for a control packet from `src` that `f` accepts.
    pub fn wait_control(
        &self,
        src: Ipv4Addr,
        limit: Duration,
        f: impl Fn(&Control) -> bool,
    ) -> Option<Control> {
        let mut found = None;
        wait_for(limit, || {
            found = self.controls_from(src).into_iter().find(&f);
            found.is_some()
        });
        found
    }

    /// A one-line-per-packet account of the capture, for assertion messages.
    pub fn summary(&self) -> String {
        summary(&self.frames())
    }
}

impl Drop for LinkCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn controls_from(frames: &[Frame], src: Ipv4Addr) -> Vec<Control> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Bfd(c) if c.src == src => Some(c.clone()),
            _ => None,
        })
        .collect()
}

pub fn adverts_from(frames: &[Frame], src: Ipv4Addr) -> Vec<Advert> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Vrrp(a) if a.src == src => Some(a.clone()),
            _ => None,
        })
        .collect()
}

/// One line per frame: time, source, and the BFD state, diag, P/F and discriminators or
/// the advert's VRID and priority.
pub fn summary(frames: &[Frame]) -> String {
    let mut s = String::new();
    for f in frames {
        let line = match f {
            Frame::Bfd(c) => format!(
                "{:.6} {} BFD {:?} diag {} {}{}my {:#010x} your {:#010x} tx {} rx {}\n",
                c.t,
                c.src,
                c.h.state,
                c.h.diag,
                if c.h.poll { "P " } else { "" },
                if c.h.fin { "F " } else { "" },
                c.h.my_discr,
                c.h.your_discr,
                c.h.desired_min_tx_us,
                c.h.required_min_rx_us
            ),
            Frame::Vrrp(a) => format!(
                "{:.6} {} VRRP vrid {} prio {}\n",
                a.t, a.src, a.vrid, a.priority
            ),
        };
        s.push_str(&line);
    }
    s
}

/// A `bfd_instance` block as both daemons read it: `name` from `source` to `neighbor`,
/// the session parameters above, `passive` (keepalived's: send nothing until the
/// neighbour is heard) when asked.
pub fn bfd_instance(name: &str, source: Ipv4Addr, neighbor: Ipv4Addr, passive: bool) -> String {
    format!(
        "bfd_instance {name} {{\n  neighbor_ip {neighbor}\n  source_ip {source}\n  min_rx {MIN_RX_MS}\n  min_tx {MIN_TX_MS}\n  multiplier {MULTIPLIER}\n{}}}\n",
        if passive { "  passive\n" } else { "" }
    )
}

/// A `vrrp_instance` VI_1 on `iface` that tracks BFD instance `bfd` (`track_bfd`): it is
/// in FAULT while the session is not Up. VRRP version 3, so `advert_int` may be below a
/// second.
pub fn tracking_instance(
    iface: &str,
    vrid: u8,
    priority: u8,
    advert_int: f64,
    vip: &str,
    bfd: &str,
) -> String {
    format!(
        "vrrp_instance VI_1 {{\n  state BACKUP\n  interface {iface}\n  version 3\n  virtual_router_id {vrid}\n  priority {priority}\n  advert_int {advert_int}\n  virtual_ipaddress {{\n    {vip}/24\n  }}\n  track_bfd {{\n    {bfd}\n  }}\n}}\n"
    )
}

/// A daemon with keepalived's command line (keepalived-rs takes the same) in `ns`, in the
/// foreground, logging to the console with detail; pidfiles `<tag>.p/.r/.c/.b` (`-b` is
/// the BFD child's) and output `<tag>.log` in `dir`.
pub fn start(bin: &Path, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let c = conf.display().to_string();
    let (p, r, k, b) = (file("p"), file("r"), file("c"), file("b"));
    let args = [
        "-n", "-l", "-D", "-f", &c, "-p", &p, "-r", &r, "-c", &k, "-b", &b,
    ];
    Daemon::start(ns, bin, &args, dir.join(format!("{tag}.log")))
}

/// An nftables rule in a namespace that drops the BFD control packets it sends on
/// `iface`, at the netdev egress hook: after the sender's socket (whose sends succeed,
/// as a lossy link would have it) and before any capture on the link, so a capture on
/// the other end never sees them. Removed when dropped.
pub struct DropBfd<'a> {
    ns: &'a Netns,
}

const DROP_TABLE: &str = "kbfd_drop";

impl<'a> DropBfd<'a> {
    pub fn new(ns: &'a Netns, iface: &str) -> DropBfd<'a> {
        let rules = format!(
            "table netdev {DROP_TABLE} {{\n  chain egress {{\n    type filter hook egress device \"{iface}\" priority 0; policy accept;\n    udp dport {CONTROL_PORT} drop\n  }}\n}}\n"
        );
        let mut nft = ns
            .command("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nft");
        {
            use std::io::Write;
            let mut stdin = nft.stdin.take().expect("nft stdin");
            stdin.write_all(rules.as_bytes()).expect("write rules");
        }
        let out = nft.wait_with_output().expect("nft");
        assert!(
            out.status.success(),
            "nft in {}: {}",
            ns.name,
            String::from_utf8_lossy(&out.stderr)
        );
        DropBfd { ns }
    }
}

impl Drop for DropBfd<'_> {
    fn drop(&mut self) {
        let _ = self
            .ns
            .command("nft")
            .args(["delete", "table", "netdev", DROP_TABLE])
            .output();
    }
}

/// FRR's bfdd (8.4 in Debian bookworm) as a BFD peer in a namespace, without zebra or
/// the rest of FRR: its configuration file names one single-hop peer by address and local
/// address only (a peer bound to an interface waits for zebra to say the interface
/// exists, which without zebra it never does), its vty and control sockets are in `dir`,
/// and it runs as FRR's own user, since bfdd refuses a user outside the frrvty group.
pub struct Bfdd {
    pub daemon: Daemon,
}

pub const BFDD: &str = "/usr/lib/frr/bfdd";

impl Bfdd {
    pub fn start(ns: &Netns, dir: &Path, local: Ipv4Addr, peer: Ipv4Addr, tag: &str) -> Bfdd {
        let run = dir.join(format!("{tag}-run"));
        std::fs::create_dir_all(&run).expect("bfdd directory");
        // bfdd drops to user frr before it opens its sockets and pidfile.
        let _ = Command::new("chown").args(["frr:frr"]).arg(&run).output();
        let conf = run.join("bfdd.conf");
        std::fs::write(
            &conf,
            format!(
                "bfd\n peer {peer} local-address {local}\n  receive-interval {MIN_RX_MS}\n  transmit-interval {MIN_TX_MS}\n  detect-multiplier {MULTIPLIER}\n  no shutdown\n !\n!\n"
            ),
        )
        .expect("bfdd config");
        let path = |name: &str| run.join(name).display().to_string();
        let args = [
            "-f".to_string(),
            conf.display().to_string(),
            "--vty_socket".into(),
            run.display().to_string(),
            "-i".into(),
            path("bfdd.pid"),
            "--bfdctl".into(),
            path("bfdd.sock"),
            "-z".into(),
            path("zserv.api"),
            "-u".into(),
            "frr".into(),
            "-g".into(),
            "frr".into(),
            "--log".into(),
            "stdout".into(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let daemon = Daemon::start(ns, Path::new(BFDD), &args, dir.join(format!("{tag}.log")));
        Bfdd { daemon }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_captures_decode() {
        let dir = crate::crate_dir().join("data/bfd");
        let read = |f: &str| parse_control(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        let h = read("keepalived-up-poll.bin");
        assert_eq!(
            (h.version, h.diag, h.state, h.poll, h.fin, h.multiplier),
            (1, 0, State::Up, true, false, 3)
        );
        assert!(h.my_discr != 0 && h.your_discr != 0);
        assert_eq!(
            (h.desired_min_tx_us, h.required_min_rx_us),
            (100_000, 100_000)
        );
        let down = read("keepalived-down.bin");
        assert_eq!(
            (down.state, down.your_discr, down.desired_min_tx_us),
            (State::Down, 0, 1_000_000)
        );
        assert_eq!(
            read("keepalived-down-expired.bin").diag,
            DIAG_DETECTION_EXPIRED
        );
        assert_eq!(
            read("keepalived-down-neighbor.bin").diag,
            DIAG_NEIGHBOR_DOWN
        );
        let frames = read_pcap(&dir.join("keepalived.pcap"));
        let states: Vec<State> = frames
            .iter()
            .filter_map(|f| match f {
                Frame::Bfd(c) => Some(c.h.state),
                _ => None,
            })
            .collect();
        for s in [State::Down, State::Init, State::Up] {
            assert!(states.contains(&s), "{s:?} in {}", summary(&frames));
        }
        assert!(frames
            .iter()
            .any(|f| matches!(f, Frame::Vrrp(a) if a.priority == 0)));
    }
}
