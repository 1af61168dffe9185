//! BFD (RFC 5880/5881) between keepalived-rs and other implementations, in network
//! namespaces joined by a veth pair, each packet seen by a capture on the link and read
//! by the tests' own decoder (keepalived_tests::bfd):
//!
//! - a session comes Up against keepalived 2.2.7 with either side passive, and against
//!   FRR's bfdd, and stays Up;
//! - a `vrrp_instance` with `track_bfd` is in FAULT while the session is not Up, then
//!   BACKUP and MASTER; when the peer's BFD packets are dropped it leaves MASTER (with a
//!   priority-0 advert) and comes back when they flow again;
//! - at SIGTERM keepalived-rs sends AdminDown, which the keepalived peer takes as its
//!   neighbour signalling Down (diag 3), where keepalived 2.2.7 itself goes silent and
//!   its peer finds out when its detection time expires (diag 1);
//! - every scenario also runs with keepalived 2.2.7 in keepalived-rs's place, so the two
//!   are seen to behave alike on the same harness.
//!
//! Behaviour only: how long detection and recovery take is measured by the side-by-side
//! harness (`side-by-side --only bfd`), not asserted here.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_tests::bfd::{
    bfd_instance, start, tracking_instance, Bfdd, Control, DropBfd, LinkCapture, State, BFDD,
    DIAG_ADMIN_DOWN, DIAG_DETECTION_EXPIRED, DIAG_NEIGHBOR_DOWN,
};
use keepalived_tests::fifo::FifoLines;
use keepalived_tests::host::{keepalived_rs, runnable, tmp_dir, wait_for, Daemon, Pair};

/// Which daemon sits on "our" side of the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Ours,
    Keepalived,
}

impl Side {
    fn bin(self) -> PathBuf {
        match self {
            Side::Ours => keepalived_rs(),
            Side::Keepalived => PathBuf::from("keepalived"),
        }
    }
}

/// The BFD peer on the other side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    Keepalived,
    Frr,
}

/// Seconds since the epoch, the clock of the capture's timestamps.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn addr(net: u8, i: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 168, net, i)
}

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

/// Both daemons' logs, for assertion messages.
fn logs(daemons: &[&Daemon]) -> String {
    daemons
        .iter()
        .map(|d| format!("== {}\n{}", d.log.display(), d.log_text()))
        .collect()
}

/// What every Up session shows on the wire from `side`'s packets: version 1, TTL 255
/// (RFC 5881 §5), the configured multiplier, and once the poll sequence is done the
/// configured 100 ms intervals; its Up packets name the peer's discriminator.
fn check_up(who: &str, ups: &[Control], peer_ups: &[Control], all: &str) {
    let peer_discr = peer_ups.last().expect("the peer's Up").h.my_discr;
    let last = ups.last().expect("an Up");
    assert_eq!(last.h.version, 1, "{who}: version\n{all}");
    assert_eq!(last.ttl, 255, "{who}: RFC 5881 §5 TTL 255\n{all}");
    assert_eq!(last.h.multiplier, 3, "{who}: multiplier\n{all}");
    assert_eq!(
        (last.h.desired_min_tx_us, last.h.required_min_rx_us),
        (100_000, 100_000),
        "{who}: intervals once Up\n{all}"
    );
    assert_eq!(
        last.h.your_discr, peer_discr,
        "{who}: your discriminator is the peer's\n{all}"
    );
    assert_ne!(
        last.h.my_discr, 0,
        "{who}: a discriminator of its own\n{all}"
    );
}

/// A session between `side` (in namespace 1, passive when `passive`) and `peer` (in
/// namespace 2, passive when `peer_passive`, keepalived only) comes Up in both
/// directions and stays Up.
fn session_up(
    test: &str,
    prefix: &str,
    net: u8,
    side: Side,
    passive: bool,
    peer: Peer,
    peer_passive: bool,
) {
    let mut tools = vec!["ip", "tcpdump"];
    if side == Side::Keepalived || peer == Peer::Keepalived {
        tools.push("keepalived");
    }
    if peer == Peer::Frr {
        tools.push(BFDD);
    }
    if !runnable(test, &tools) {
        return;
    }
    let dir = tmp_dir(test);
    let pair = Pair::new(prefix, net);
    let (a, b) = (addr(net, 1), addr(net, 2));
    let cap = LinkCapture::start(&pair.ns[0], &pair.ifs[0], &dir.join("link.pcap"));
    let conf = write(&dir, "ours.conf", &bfd_instance("BFD_1", a, b, passive));
    // The active side starts second, so the passive one is already listening.
    let start_peer = || match peer {
        Peer::Keepalived => {
            let c = write(
                &dir,
                "peer.conf",
                &bfd_instance("BFD_1", b, a, peer_passive),
            );
            start(&PathBuf::from("keepalived"), &pair.ns[1], &c, &dir, "peer")
        }
        Peer::Frr => Bfdd::start(&pair.ns[1], &dir, b, a, "bfdd").daemon,
    };
    let (ours, theirs) = if passive {
        let o = start(&side.bin(), &pair.ns[0], &conf, &dir, "ours");
        std::thread::sleep(Duration::from_millis(500));
        (o, start_peer())
    } else {
        let t = start_peer();
        std::thread::sleep(Duration::from_millis(500));
        (start(&side.bin(), &pair.ns[0], &conf, &dir, "ours"), t)
    };
    let up = |src| cap.wait_control(src, Duration::from_secs(15), |c| c.h.state == State::Up);
    let context = || format!("{}\n{}", cap.summary(), logs(&[&ours, &theirs]));
    assert!(up(a).is_some(), "{side:?} never sent Up\n{}", context());
    assert!(up(b).is_some(), "{peer:?} never sent Up\n{}", context());
    // Up both ways; the poll sequence to 100 ms takes a round trip or two.
    std::thread::sleep(Duration::from_millis(500));
    let t_up = now();
    // It stays Up: nothing but Up from either side over two seconds.
    std::thread::sleep(Duration::from_secs(2));
    let frames = cap.frames();
    let all = keepalived_tests::bfd::summary(&frames);
    let since = |src| -> Vec<Control> {
        keepalived_tests::bfd::controls_from(&frames, src)
            .into_iter()
            .filter(|c| c.t >= t_up)
            .collect()
    };
    let (ours_since, theirs_since) = (since(a), since(b));
    assert!(
        ours_since.len() >= 10 && theirs_since.len() >= 10,
        "both sides send at about 100 ms once Up\n{all}"
    );
    for c in ours_since.iter().chain(&theirs_since) {
        assert_eq!(c.h.state, State::Up, "the session stays Up\n{all}");
    }
    check_up(&format!("{side:?}"), &ours_since, &theirs_since, &all);
    check_up(&format!("{peer:?}"), &theirs_since, &ours_since, &all);
    // A passive side speaks only once it has heard the other (keepalived's `passive`).
    let first = |src| keepalived_tests::bfd::controls_from(&frames, src)[0].t;
    if passive {
        assert!(first(a) > first(b), "the passive side spoke first\n{all}");
    }
    if peer_passive {
        assert!(first(b) > first(a), "the passive peer spoke first\n{all}");
    }
    drop((ours, theirs, cap));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn session_up_ours_active_keepalived_passive() {
    session_up(
        "session_up_ours_active_keepalived_passive",
        "kbfd5a",
        231,
        Side::Ours,
        false,
        Peer::Keepalived,
        true,
    );
}

#[test]
fn session_up_ours_passive_keepalived_active() {
    session_up(
        "session_up_ours_passive_keepalived_active",
        "kbfd5b",
        232,
        Side::Ours,
        true,
        Peer::Keepalived,
        false,
    );
}

#[test]
fn session_up_ours_with_frr_bfdd() {
    session_up(
        "session_up_ours_with_frr_bfdd",
        "kbfd5c",
        233,
        Side::Ours,
        false,
        Peer::Frr,
        false,
    );
}

/// The same three with keepalived 2.2.7 in our place: the harness's own reference.
#[test]
fn session_up_keepalived_reference() {
    session_up(
        "session_up_keepalived_reference_active",
        "kbfd5d",
        234,
        Side::Keepalived,
        false,
        Peer::Keepalived,
        true,
    );
    session_up(
        "session_up_keepalived_reference_passive",
        "kbfd5d",
        234,
        Side::Keepalived,
        true,
        Peer::Keepalived,
        false,
    );
    session_up(
        "session_up_keepalived_reference_frr",
        "kbfd5d",
        234,
        Side::Keepalived,
        false,
        Peer::Frr,
        false,
    );
}

const VIP: &str = "10.235.0.100";
const VRID: u8 = 235;
const PRIO: u8 = 100;

fn line(state: &str) -> String {
    format!("INSTANCE \"VI_1\" {state} {PRIO}")
}

/// `side` in namespace 1 runs a `vrrp_instance` tracking a BFD session to a keepalived
/// 2.2.7 peer in namespace 2 (BFD only); its notify FIFO says each state it enters.
fn track_bfd(test: &str, prefix: &str, net: u8, side: Side) {
    if !runnable(test, &["ip", "tcpdump", "nft", "keepalived"]) {
        return;
    }
    let dir = tmp_dir(test);
    let pair = Pair::new(prefix, net);
    let (a, b) = (addr(net, 1), addr(net, 2));
    let fifo = FifoLines::new(dir.join("notify.fifo"));
    let conf = write(
        &dir,
        "ours.conf",
        &format!(
            "global_defs {{\n  notify_fifo {}\n}}\n{}{}",
            fifo.path.display(),
            bfd_instance("BFD_1", a, b, false),
            tracking_instance(&pair.ifs[0], VRID, PRIO, 1.0, VIP, "BFD_1")
        ),
    );
    let peer_conf = write(&dir, "peer.conf", &bfd_instance("BFD_1", b, a, false));
    let cap = LinkCapture::start(&pair.ns[0], &pair.ifs[0], &dir.join("link.pcap"));

    // (b) FAULT until Up: with the peer's packets dropped from the start, the session
    // cannot come Up and the instance stays in FAULT, holding nothing, sending nothing.
    let block = DropBfd::new(&pair.ns[1], &pair.ifs[1]);
    let peer = start(
        Path::new("keepalived"),
        &pair.ns[1],
        &peer_conf,
        &dir,
        "peer",
    );
    let mut ours = start(&side.bin(), &pair.ns[0], &conf, &dir, "ours");
    let context = |ours: &Daemon| {
        format!(
            "fifo: {:?}\n{}\n{}",
            fifo.lines(),
            cap.summary(),
            logs(&[ours, &peer])
        )
    };
    assert!(
        fifo.wait_line(0, &line("FAULT"), Duration::from_secs(10)),
        "{side:?} did not start in FAULT\n{}",
        context(&ours)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        fifo.lines().iter().all(|l| *l == line("FAULT")),
        "only FAULT while the session cannot come Up\n{}",
        context(&ours)
    );
    assert!(!pair.holds(0, VIP), "a FAULT instance holds no VIP");
    assert!(
        cap.adverts_from(a).is_empty(),
        "a FAULT instance sends no advert\n{}",
        context(&ours)
    );
    assert!(
        cap.controls_from(a).iter().all(|c| c.h.state != State::Up),
        "no Up without the peer\n{}",
        context(&ours)
    );

    // The peer's packets flow: Up, then BACKUP, then MASTER (no other router).
    // Counted before the packets flow: the state change can come before drop() returns.
    let from = fifo.count();
    drop(block);
    for state in ["BACKUP", "MASTER"] {
        assert!(
            fifo.wait_line(from, &line(state), Duration::from_secs(15)),
            "{side:?} not {state} once the session can come Up\n{}",
            context(&ours)
        );
    }
    // BACKUP, then MASTER, and no MASTER before the end. A FAULT and BACKUP more may come
    // between them from the keepalived peer: it counts an Init session's Detection Time
    // from entering Init (3 s at the idle rate), not from the last packet, so while its
    // packets were dropped its session fell from Init to Down every 3 s; if that comes
    // just as our side goes Up, its Down (diag 1) takes our session down once more
    // before both come Up (seen in CI with keepalived on both ends).
    let seen = fifo.lines()[from..].to_vec();
    let masters = seen.iter().filter(|l| **l == line("MASTER")).count();
    assert!(
        seen.first() == Some(&line("BACKUP"))
            && seen.last() == Some(&line("MASTER"))
            && masters == 1
            && seen
                .iter()
                .all(|l| [line("BACKUP"), line("FAULT"), line("MASTER")].contains(l)),
        "BACKUP then MASTER once the session can come Up: {seen:?}\n{}",
        context(&ours)
    );
    assert!(
        wait_for(Duration::from_secs(2), || pair.holds(0, VIP)).is_some(),
        "MASTER holds the VIP"
    );
    assert!(
        cap.controls_from(a).iter().any(|c| c.h.state == State::Up),
        "{}",
        context(&ours)
    );

    // Dropping the peer's packets takes the instance out of MASTER: FAULT, with a
    // priority-0 advert, the VIP released, and a Down (detection time expired) sent.
    std::thread::sleep(Duration::from_secs(1));
    let t_block = now();
    let from = fifo.count();
    let block = DropBfd::new(&pair.ns[1], &pair.ifs[1]);
    assert!(
        fifo.wait_line(from, &line("FAULT"), Duration::from_secs(10)),
        "{side:?} stayed out of FAULT with the peer's BFD packets dropped\n{}",
        context(&ours)
    );
    assert!(
        wait_for(Duration::from_secs(2), || !pair.holds(0, VIP)).is_some(),
        "FAULT releases the VIP"
    );
    let frames_after = |t: f64| -> Vec<keepalived_tests::bfd::Frame> {
        cap.frames()
            .into_iter()
            .filter(|f| match f {
                keepalived_tests::bfd::Frame::Bfd(c) => c.t >= t,
                keepalived_tests::bfd::Frame::Vrrp(v) => v.t >= t,
            })
            .collect()
    };
    let prio0 = || {
        keepalived_tests::bfd::adverts_from(&frames_after(t_block), a)
            .iter()
            .any(|v| v.priority == 0 && v.vrid == VRID)
    };
    assert!(
        wait_for(Duration::from_secs(2), prio0).is_some(),
        "leaving MASTER for FAULT sends priority 0\n{}",
        context(&ours)
    );
    let down = cap.wait_control(a, Duration::from_secs(3), |c| {
        c.t >= t_block && c.h.state == State::Down
    });
    assert_eq!(
        down.map(|c| c.h.diag),
        Some(DIAG_DETECTION_EXPIRED),
        "its Down says the detection time expired\n{}",
        context(&ours)
    );
    // Still FAULT for as long as the packets stay dropped.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(fifo.lines()[from..], [line("FAULT")], "{}", context(&ours));
    assert!(!pair.holds(0, VIP));

    // They flow again: Up, BACKUP, MASTER.
    // Counted before the packets flow: the state change can come before drop() returns.
    let from = fifo.count();
    drop(block);
    for state in ["BACKUP", "MASTER"] {
        assert!(
            fifo.wait_line(from, &line(state), Duration::from_secs(15)),
            "{side:?} not {state} again once unblocked\n{}",
            context(&ours)
        );
    }
    assert!(
        wait_for(Duration::from_secs(2), || pair.holds(0, VIP)).is_some(),
        "MASTER again holds the VIP"
    );

    // (c) SIGTERM: what the peer hears of it.
    std::thread::sleep(Duration::from_secs(1));
    // The peer's log from here on: it heard our Down before, when its packets were dropped.
    let peer_log_from = peer.log_text().len();
    let t_term = now();
    ours.signal(libc::SIGTERM);
    assert!(
        wait_for(Duration::from_secs(5), || matches!(
            ours.child.try_wait(),
            Ok(Some(_))
        ))
        .is_some(),
        "{side:?} did not exit after SIGTERM"
    );
    // The peer's detection time (300 ms) and more.
    let peer_down = cap.wait_control(b, Duration::from_secs(5), |c| {
        c.t >= t_term && c.h.state == State::Down
    });
    let all = context(&ours);
    let peer_down = peer_down.unwrap_or_else(|| panic!("the peer never went Down\n{all}"));
    let admin_down: Vec<Control> = cap
        .controls_from(a)
        .into_iter()
        .filter(|c| c.t >= t_term && c.h.state == State::AdminDown)
        .collect();
    let peer_log = peer.log_text()[peer_log_from..].to_string();
    match side {
        Side::Ours => {
            // RFC 5880 §6.8.16: AdminDown, diag 7, before the session goes.
            assert!(!admin_down.is_empty(), "no AdminDown at SIGTERM\n{all}");
            assert!(
                admin_down.iter().all(|c| c.h.diag == DIAG_ADMIN_DOWN),
                "AdminDown carries diag 7\n{all}"
            );
            // §6.8.6: the peer takes it as its neighbour signalling Down.
            assert_eq!(peer_down.h.diag, DIAG_NEIGHBOR_DOWN, "{all}");
            assert!(peer_log.contains("Neighbor Signaled Session Down"), "{all}");
        }
        Side::Keepalived => {
            // keepalived 2.2.7 goes silent: its peer's detection time expires.
            assert!(
                admin_down.is_empty(),
                "keepalived 2.2.7 sent AdminDown\n{all}"
            );
            assert_eq!(peer_down.h.diag, DIAG_DETECTION_EXPIRED, "{all}");
            assert!(peer_log.contains("Control Detection Time Expired"), "{all}");
        }
    }
    drop((ours, peer, cap, fifo));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn track_bfd_ours_against_keepalived() {
    track_bfd(
        "track_bfd_ours_against_keepalived",
        "kbfd5t",
        235,
        Side::Ours,
    );
}

/// (d) The same scenario with keepalived 2.2.7 on our side: the behaviour ours must match,
/// AdminDown at SIGTERM apart.
#[test]
fn track_bfd_keepalived_reference() {
    track_bfd(
        "track_bfd_keepalived_reference",
        "kbfd5r",
        236,
        Side::Keepalived,
    );
}
