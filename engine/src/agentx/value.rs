//! Octet strings (RFC 2741 §5.3) and variable bindings (§5.4).
//!
//! ```text
//! octet string:  | octet_string_length (4) | octets … | padding to 4 bytes |
//! VarBind:       | v.type (2) | <reserved> (2) | v.name (OID) | v.data |
//! ```

use std::net::Ipv4Addr;

use super::cursor::{Reader, Writer};
use super::oid::{read_oid, write_oid};
use super::{ByteOrder, Error, Oid};

/// Bytes an octet string of `len` octets takes: its length, the octets, and zero padding
/// to a multiple of 4 (§5.3).
pub(crate) fn octets_len(len: usize) -> usize {
    4 + len.next_multiple_of(4)
}

/// Reads an octet string; its length is checked against the bytes left, padding
/// included, before anything is copied. The padding's value is not checked.
pub(crate) fn read_octets(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, Error> {
    let len = r.u32(what)?;
    // Computed in u64 so that a length near 4 GiB cannot overflow on any target.
    let padded = (u64::from(len) + 3) & !3;
    let have = r.remaining();
    if padded > have as u64 {
        return Err(Error::Truncated {
            what,
            need: usize::try_from(padded).unwrap_or(usize::MAX),
            have,
        });
    }
    // Both fit in usize now: they are at most `have`.
    let (len, padded) = (len as usize, padded as usize);
    let out = r.take(what, len)?.to_vec();
    r.take(what, padded - len)?;
    Ok(out)
}

pub(crate) fn write_octets(w: &mut Writer<'_>, b: &[u8]) {
    w.u32(b.len() as u32);
    w.bytes(b);
    w.zeros(b.len().next_multiple_of(4) - b.len());
}

// v.type values (RFC 2741 §5.4).
const INTEGER: u16 = 2;
const OCTET_STRING: u16 = 4;
const NULL: u16 = 5;
const OBJECT_IDENTIFIER: u16 = 6;
const IP_ADDRESS: u16 = 64;
const COUNTER32: u16 = 65;
const GAUGE32: u16 = 66;
const TIME_TICKS: u16 = 67;
const OPAQUE: u16 = 68;
const COUNTER64: u16 = 70;
const NO_SUCH_OBJECT: u16 = 128;
const NO_SUCH_INSTANCE: u16 = 129;
const END_OF_MIB_VIEW: u16 = 130;

/// The value of a variable binding (RFC 2741 §5.4), or one of the three exceptions a
/// Response carries in place of a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Integer(i32),
    OctetString(Vec<u8>),
    Null,
    ObjectIdentifier(Oid),
    /// Encoded as an octet string of exactly 4 octets.
    IpAddress(Ipv4Addr),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    /// BER-encoded data, carried as an octet string.
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

impl Value {
    /// The `v.type` code (§5.4).
    pub fn type_code(&self) -> u16 {
        match self {
            Value::Integer(_) => INTEGER,
            Value::OctetString(_) => OCTET_STRING,
            Value::Null => NULL,
            Value::ObjectIdentifier(_) => OBJECT_IDENTIFIER,
            Value::IpAddress(_) => IP_ADDRESS,
            Value::Counter32(_) => COUNTER32,
            Value::Gauge32(_) => GAUGE32,
            Value::TimeTicks(_) => TIME_TICKS,
            Value::Opaque(_) => OPAQUE,
            Value::Counter64(_) => COUNTER64,
            Value::NoSuchObject => NO_SUCH_OBJECT,
            Value::NoSuchInstance => NO_SUCH_INSTANCE,
            Value::EndOfMibView => END_OF_MIB_VIEW,
        }
    }

    /// Whether this is noSuchObject, noSuchInstance or endOfMibView.
    pub fn is_exception(&self) -> bool {
        matches!(
            self,
            Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView
        )
    }

    /// Bytes of `v.data`: none for Null and the exceptions.
    fn data_len(&self) -> usize {
        match self {
            Value::Integer(_) | Value::Counter32(_) | Value::Gauge32(_) | Value::TimeTicks(_) => 4,
            Value::Counter64(_) => 8,
            Value::OctetString(b) | Value::Opaque(b) => octets_len(b.len()),
            Value::IpAddress(_) => octets_len(4),
            Value::ObjectIdentifier(o) => o.buffer_len(),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => 0,
        }
    }
}

/// A variable binding: an OID and its value (RFC 2741 §5.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VarBind {
    pub name: Oid,
    pub value: Value,
}

impl VarBind {
    pub fn new(name: Oid, value: Value) -> VarBind {
        VarBind { name, value }
    }

    pub fn buffer_len(&self) -> usize {
        4 + self.name.buffer_len() + self.value.data_len()
    }

    /// Writes the binding in network byte order; returns
    /// [`buffer_len`](Self::buffer_len). Panics if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        write_varbind(&mut w, self);
        w.pos()
    }

    /// Decodes a binding at the front of `buf`; returns it and the bytes it took.
    pub fn parse(buf: &[u8], order: ByteOrder) -> Result<(VarBind, usize), Error> {
        let mut r = Reader::new(buf, order);
        let vb = read_varbind(&mut r)?;
        Ok((vb, r.pos()))
    }
}

pub(crate) fn read_varbind(r: &mut Reader<'_>) -> Result<VarBind, Error> {
    let ty = r.u16("VarBind type")?;
    r.take("VarBind reserved", 2)?;
    let (name, _) = read_oid(r)?;
    let value = match ty {
        INTEGER => Value::Integer(r.u32("Integer")? as i32),
        OCTET_STRING => Value::OctetString(read_octets(r, "OctetString")?),
        NULL => Value::Null,
        OBJECT_IDENTIFIER => Value::ObjectIdentifier(read_oid(r)?.0),
        IP_ADDRESS => {
            let b = read_octets(r, "IpAddress")?;
            let a: [u8; 4] = b
                .as_slice()
                .try_into()
                .map_err(|_| Error::BadIpAddress(b.len()))?;
            Value::IpAddress(Ipv4Addr::from(a))
        }
        COUNTER32 => Value::Counter32(r.u32("Counter32")?),
        GAUGE32 => Value::Gauge32(r.u32("Gauge32")?),
        TIME_TICKS => Value::TimeTicks(r.u32("TimeTicks")?),
        OPAQUE => Value::Opaque(read_octets(r, "Opaque")?),
        COUNTER64 => Value::Counter64(r.u64("Counter64")?),
        NO_SUCH_OBJECT => Value::NoSuchObject,
        NO_SUCH_INSTANCE => Value::NoSuchInstance,
        END_OF_MIB_VIEW => Value::EndOfMibView,
        other => return Err(Error::BadValueType(other)),
    };
    Ok(VarBind { name, value })
}

pub(crate) fn write_varbind(w: &mut Writer<'_>, vb: &VarBind) {
    w.u16(vb.value.type_code());
    w.u16(0);
    write_oid(w, &vb.name, false);
    match &vb.value {
        Value::Integer(v) => w.u32(*v as u32),
        Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => w.u32(*v),
        Value::Counter64(v) => w.u64(*v),
        Value::OctetString(b) | Value::Opaque(b) => write_octets(w, b),
        Value::IpAddress(a) => write_octets(w, &a.octets()),
        Value::ObjectIdentifier(o) => write_oid(w, o, false),
        Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
    }
}

/// Reads bindings until `r` is empty (a VarBindList, §5.4, runs to the end of the PDU).
/// Each binding takes at least 8 bytes, so the list grows only with the input.
pub(crate) fn read_varbind_list(r: &mut Reader<'_>) -> Result<Vec<VarBind>, Error> {
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(read_varbind(r)?);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::oid::tests::{arb_oid, oid};
    use super::*;
    use proptest::prelude::*;

    fn emit(vb: &VarBind) -> Vec<u8> {
        let mut b = vec![0u8; vb.buffer_len()];
        assert_eq!(vb.emit(&mut b), b.len());
        b
    }

    pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i32>().prop_map(Value::Integer),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::OctetString),
            Just(Value::Null),
            arb_oid().prop_map(Value::ObjectIdentifier),
            any::<[u8; 4]>().prop_map(|a| Value::IpAddress(a.into())),
            any::<u32>().prop_map(Value::Counter32),
            any::<u32>().prop_map(Value::Gauge32),
            any::<u32>().prop_map(Value::TimeTicks),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Opaque),
            any::<u64>().prop_map(Value::Counter64),
            Just(Value::NoSuchObject),
            Just(Value::NoSuchInstance),
            Just(Value::EndOfMibView),
        ]
    }

    pub(crate) fn arb_varbind() -> impl Strategy<Value = VarBind> {
        (arb_oid(), arb_value()).prop_map(|(name, value)| VarBind { name, value })
    }

    // vrrpInstanceState.1 (KEEPALIVED-MIB) = master(2), the binding a state change sends.
    #[test]
    fn integer_varbind_bytes() {
        let vb = VarBind::new(oid("1.3.6.1.4.1.9586.100.5.2.3.1.4.1"), Value::Integer(2));
        #[rustfmt::skip]
        assert_eq!(emit(&vb), [
            0, 2, 0, 0,
            9, 4, 0, 0,
            0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5,
            0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1,
            0, 0, 0, 2,
        ]);
    }

    #[test]
    fn octet_string_is_padded_to_four() {
        let vb = VarBind::new(
            oid("1.3.6.1.2.1.1.5.0"),
            Value::OctetString(b"lb-1a".to_vec()),
        );
        #[rustfmt::skip]
        assert_eq!(emit(&vb), [
            0, 4, 0, 0,
            4, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0,
            0, 0, 0, 5, b'l', b'b', b'-', b'1', b'a', 0, 0, 0,
        ]);
        for (n, len) in [(0, 4), (1, 8), (3, 8), (4, 8), (5, 12), (8, 12)] {
            assert_eq!(octets_len(n), len, "{n}");
        }
    }

    #[test]
    fn counter64_and_ip_address_bytes() {
        let vb = VarBind::new(oid("1.2"), Value::Counter64(0x0102_0304_0506_0708));
        assert_eq!(
            emit(&vb),
            [0, 70, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]
        );
        let vb = VarBind::new(oid("1.2"), Value::IpAddress(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(
            emit(&vb),
            [0, 64, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4, 192, 0, 2, 1]
        );
    }

    #[test]
    fn exceptions_and_null_have_no_data() {
        for (v, t) in [
            (Value::Null, 5),
            (Value::NoSuchObject, 128),
            (Value::NoSuchInstance, 129),
            (Value::EndOfMibView, 130),
        ] {
            let vb = VarBind::new(oid("1.2"), v.clone());
            assert_eq!(emit(&vb), [0, t, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2]);
            assert_eq!(v.is_exception(), t != 5);
        }
    }

    #[test]
    fn little_endian_varbind() {
        // Gauge32 1.3.6.1.2.1.1.3 = 0x01020304, sender in little-endian order.
        #[rustfmt::skip]
        let b = [
            66, 0, 0, 0,
            3, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0,
            4, 3, 2, 1,
        ];
        assert_eq!(
            VarBind::parse(&b, ByteOrder::Little),
            Ok((
                VarBind::new(oid("1.3.6.1.2.1.1.3"), Value::Gauge32(0x0102_0304)),
                24
            ))
        );
        // Counter64: low half first.
        let b = [70, 0, 0, 0, 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1];
        assert_eq!(
            VarBind::parse(&b, ByteOrder::Little).unwrap().0.value,
            Value::Counter64(0x0102_0304_0506_0708)
        );
    }

    #[test]
    fn bad_varbinds() {
        assert_eq!(
            VarBind::parse(&[0, 3, 0, 0, 0, 0, 0, 0], ByteOrder::Network),
            Err(Error::BadValueType(3))
        );
        // An IpAddress of 5 octets.
        let b = [0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0];
        assert_eq!(
            VarBind::parse(&b, ByteOrder::Network),
            Err(Error::BadIpAddress(5))
        );
        // A string claiming 4 GiB: refused for want of bytes, nothing allocated.
        let b = [0, 4, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 2];
        assert_eq!(
            VarBind::parse(&b, ByteOrder::Network),
            Err(Error::Truncated {
                what: "OctetString",
                need: (u32::MAX as usize).next_multiple_of(4),
                have: 2
            })
        );
        // Padding missing after 1 octet.
        let b = [0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'x', 0];
        assert_eq!(
            VarBind::parse(&b, ByteOrder::Network),
            Err(Error::Truncated {
                what: "OctetString",
                need: 4,
                have: 2
            })
        );
    }

    proptest! {
        #[test]
        fn varbind_round_trips(vb in arb_varbind()) {
            let b = emit(&vb);
            prop_assert_eq!(b.len() % 4, 0);
            prop_assert_eq!(VarBind::parse(&b, ByteOrder::Network), Ok((vb, b.len())));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
            for order in [ByteOrder::Network, ByteOrder::Little] {
                if let Ok((vb, n)) = VarBind::parse(&b, order) {
                    prop_assert!(n <= b.len());
                    // Whatever decodes encodes back to something that decodes the same.
                    prop_assert_eq!(VarBind::parse(&emit(&vb), ByteOrder::Network), Ok((vb.clone(), vb.buffer_len())));
                }
                let mut r = Reader::new(&b, order);
                let _ = read_varbind_list(&mut r);
            }
        }
    }
}
