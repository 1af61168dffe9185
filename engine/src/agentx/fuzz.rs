//! The cargo-fuzz entry point for AgentX decoding, shared with the test that replays its
//! corpus, so CI covers the corpus without cargo-fuzz. It panics only on a real bug: a
//! panic in the codec, or a value that does not survive emit → parse.

use super::{frame_len, ByteOrder, Oid, Packet, Pdu, VarBind};

/// Bytes from a master agent, read as a stream of PDUs, then as a lone OID and VarBind in
/// either byte order, then as OID text.
pub fn fuzz_agentx_input(data: &[u8]) {
    // The stream, as the IO layer reads it: frame, decode, move on.
    let mut rest = data;
    while let Ok(need) = frame_len(rest) {
        if rest.len() < need {
            break;
        }
        let packet = Packet::new_checked(rest).expect("frame_len sized the PDU");
        assert_eq!(
            packet.total_len(),
            need,
            "frame_len disagrees with the header"
        );
        let _ = (
            packet.session_id(),
            packet.transaction_id(),
            packet.packet_id(),
        );
        if let Ok(pdu) = Pdu::parse(&packet) {
            let bytes = pdu.to_bytes();
            assert_eq!(bytes.len(), pdu.buffer_len());
            assert_eq!(
                Pdu::decode(&bytes),
                Ok((pdu, bytes.len())),
                "PDU changed across emit → parse"
            );
        }
        rest = &rest[need..];
    }

    for order in [ByteOrder::Network, ByteOrder::Little] {
        if let Ok((oid, n)) = Oid::parse(data, order) {
            assert!(n <= data.len());
            let mut out = vec![0u8; oid.buffer_len()];
            oid.emit(&mut out);
            assert_eq!(
                Oid::parse(&out, ByteOrder::Network),
                Ok((oid, out.len())),
                "OID changed across emit → parse"
            );
        }
        if let Ok((vb, n)) = VarBind::parse(data, order) {
            assert!(n <= data.len());
            let mut out = vec![0u8; vb.buffer_len()];
            vb.emit(&mut out);
            assert_eq!(
                VarBind::parse(&out, ByteOrder::Network),
                Ok((vb, out.len())),
                "VarBind changed across emit → parse"
            );
        }
    }

    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(oid) = text.parse::<Oid>() {
            assert_eq!(
                oid.to_string().parse::<Oid>(),
                Ok(oid),
                "OID changed across Display → FromStr"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_entry_never_panics(b in prop::collection::vec(any::<u8>(), 0..400)) {
            fuzz_agentx_input(&b);
        }
    }
}
