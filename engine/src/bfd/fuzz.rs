//! The cargo-fuzz entry point for BFD control packets, shared with the test that
//! replays its corpus, so CI covers the corpus without cargo-fuzz. It panics only on a
//! real bug: a panic in the codec or the engine, a packet that does not survive parse →
//! emit, or an engine that sends a packet its peer would refuse.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::config::model::{BfdInstance, Config};
use crate::time::Instant;
use crate::wire::bfd::BfdRepr;

use super::{Engine, Input, Output};

const V4_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const V4_LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const V6_PEER: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

fn instance(name: &str, nbr: IpAddr, src: Option<IpAddr>, passive: bool) -> BfdInstance {
    BfdInstance {
        source_ip: src,
        multiplier: 3,
        passive,
        ..BfdInstance::new(name, Some(nbr))
    }
}

/// The first byte picks the sender (IPv4 neighbor, IPv6 neighbor, a stranger), the TTL
/// and whether Your Discriminator is replaced by a session's, so the fuzzer reaches the
/// state machine; the rest is a sequence of UDP payloads, each one length byte then
/// that many bytes, handed to an engine with time moving on between them.
pub fn fuzz_bfd_input(data: &[u8]) {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    if let Ok(r) = BfdRepr::parse_bytes(rest) {
        assert_eq!(
            BfdRepr::parse_bytes(&r.to_bytes()),
            Ok(r),
            "BFD packet changed across emit → parse"
        );
    }
    let config = Config {
        bfd_instances: vec![
            instance("v4", V4_PEER, Some(V4_LOCAL), false),
            instance("v6", V6_PEER, None, true),
        ],
        ..Config::default()
    };
    let mut now = Instant::ZERO;
    let mut e = Engine::new(&config, now, u64::from(sel));
    drain(&mut e);
    let src = match sel & 3 {
        0 | 3 => V4_PEER,
        1 => V6_PEER,
        _ => IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
    };
    let ttl = match (sel >> 2) & 3 {
        0 => None,
        1 => Some(255),
        2 => Some(1),
        _ => Some(0),
    };
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let mut bytes = tail[..n].to_vec();
        rest = &tail[n..];
        if sel & 0x10 != 0 && bytes.len() >= 12 {
            let who = if src == V6_PEER { "v6" } else { "v4" };
            if let Some(v) = e.session(who) {
                bytes[8..12].copy_from_slice(&v.local_discr.to_be_bytes());
            }
        }
        e.handle_input(
            now,
            Input::Packet {
                src,
                dst: Some(V4_LOCAL),
                ttl,
                bytes,
            },
        );
        drain(&mut e);
        now = Instant(now.0 + 7_000 * u64::from(sel >> 5));
        e.handle_timeout(now);
        drain(&mut e);
        if let Some(t) = e.poll_timeout() {
            assert!(
                t > now,
                "a timer due at {t} is left after handle_timeout({now})"
            );
        }
    }
    if sel & 0x80 != 0 {
        e.handle_input(now, Input::Shutdown);
        drain(&mut e);
        assert_eq!(e.poll_timeout(), None);
    }
}

/// Every packet the engine sends passes the checks its peer makes.
fn drain(e: &mut Engine) {
    while let Some(o) = e.poll_output() {
        if let Output::Transmit { bytes, .. } = o {
            if let Err(err) = BfdRepr::parse_bytes(&bytes) {
                panic!("the engine sent a packet its peer refuses: {err}");
            }
        }
    }
}
