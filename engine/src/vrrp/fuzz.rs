//! The cargo-fuzz entry point for received adverts, shared with the test that replays its
//! corpus, so CI covers the corpus without cargo-fuzz. It panics only on a real bug: a
//! panic in the codec or the receive checks, or a representation that does not survive
//! emit → parse.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::receive::{Expect, ExpectAuth, Peer, RxContext, Trace, Validator};
use crate::wire::advert::{AdvertRepr, RxAdvert, V3Checksum};
use crate::wire::checksum::Pseudo;
use crate::wire::vrrp::{VrrpPacket, VrrpRepr};
use crate::wire::{Family, MCAST_GROUP4, MCAST_GROUP6};

/// The first byte picks the receiving instance (family, version, auth, unicast, checksum
/// rule); the rest is the packet as a raw socket would deliver it.
pub fn fuzz_advert_input(data: &[u8]) {
    let Some((&sel, packet)) = data.split_first() else {
        return;
    };
    let family = if sel & 1 == 0 { Family::V4 } else { Family::V6 };
    let version = if sel & 2 == 0 { 2 } else { 3 };
    let auth = match (sel >> 2) & 3 {
        1 => ExpectAuth::Pass(*b"secret\0\0"),
        2 => ExpectAuth::Ah(*b"secret\0\0"),
        _ => ExpectAuth::None,
    };
    let unicast = sel & 0x10 != 0;
    let v3_checksum = match (sel >> 5) & 3 {
        1 => V3Checksum::AsV2,
        2 => V3Checksum::OldUnicast,
        _ => V3Checksum::PseudoHeader,
    };
    let expect = Expect {
        family,
        version,
        vrid: 1,
        auth,
        advert_int_us: 1_000_000,
        vips: vec![Ipv4Addr::new(10, 0, 0, 1).into()],
        peers: if unicast {
            vec![Peer {
                addr: Ipv4Addr::new(10, 0, 0, 2).into(),
                min_ttl: 1,
                max_ttl: 255,
            }]
        } else {
            vec![]
        },
        check_unicast_src: unicast,
        v3_checksum,
        never_old_checksum: sel & 0x80 != 0,
        mcast_group4: MCAST_GROUP4,
        owner_ignore_adverts: sel & 0x80 != 0,
    };
    let mut validator = Validator::new(expect);
    let rx = match family {
        Family::V4 => RxAdvert::V4 { datagram: packet },
        Family::V6 => RxAdvert::V6 {
            payload: packet,
            src: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2),
            dst: MCAST_GROUP6,
            hop_limit: Some(255),
        },
    };
    let cx = RxContext {
        effective_priority: 255,
        check_vips: true,
    };
    // Twice: the second run sees the AH replay and checksum state the first one left.
    let _ = validator.check(&rx, cx, &mut Trace::default());
    let _ = validator.check(&rx, cx, &mut ());
    let _ = validator.tx_v3_checksum();

    if AdvertRepr::parse(&rx).is_err() {
        return;
    }
    let Ok(at) = rx.locate() else {
        panic!("an advert that parses has headers");
    };
    let view = VrrpPacket::new_checked(at.vrrp(rx.bytes()), family).expect("parsed, so checked");
    let repr = VrrpRepr::parse(&view).expect("parsed once");
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut out, Pseudo::None);
    let again = VrrpRepr::parse(&VrrpPacket::new_checked(&out[..], family).expect("emitted whole"));
    assert_eq!(
        again.as_ref(),
        Ok(&repr),
        "VRRP representation changed across emit → parse"
    );
}
