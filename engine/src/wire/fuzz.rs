//! The cargo-fuzz entry point for Ethernet frames (gratuitous ARP, unsolicited NA), shared
//! with the test that replays its corpus, so CI covers the corpus without cargo-fuzz. It
//! panics only on a real bug: a panic in the codec, or a representation that does not
//! survive emit → parse. The advert target runs the receive checks as well, so it lives
//! with them (`vrrp::fuzz`).

use super::{GarpRepr, UnsolicitedNaRepr};

/// An Ethernet frame that might be a gratuitous ARP or an unsolicited NA.
pub fn fuzz_frame_input(data: &[u8]) {
    if let Ok(g) = GarpRepr::parse(data) {
        let mut out = vec![0u8; g.buffer_len()];
        g.emit(&mut out);
        assert_eq!(
            GarpRepr::parse(&out),
            Ok(g),
            "GARP changed across emit → parse"
        );
    }
    if let Ok(na) = UnsolicitedNaRepr::parse(data) {
        let mut out = vec![0u8; na.buffer_len()];
        na.emit(&mut out);
        assert_eq!(
            UnsolicitedNaRepr::parse(&out),
            Ok(na),
            "NA changed across emit → parse"
        );
    }
}
