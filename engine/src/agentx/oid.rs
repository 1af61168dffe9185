//! Object identifiers and search ranges as AgentX encodes them (RFC 2741 §5.1, §5.2).
//!
//! ```text
//! | n_subid | prefix | include | <reserved> |
//! |            sub-identifier #1            |
//! |                  ...                    |
//! |         sub-identifier #n_subid         |
//! ```
//!
//! A non-zero `prefix` x stands for the five leading sub-identifiers 1.3.6.1.x, which are
//! then left out of the list; `n_subid` and `prefix` both 0 is the null OID.

use std::fmt;
use std::str::FromStr;

use super::cursor::{Reader, Writer};
use super::{ByteOrder, Error};

/// The most sub-identifiers an OID has: SNMP's limit (RFC 2578 §3.5), which RFC 2741 §5.1
/// gives as the range of `n_subid`. It bounds a decoded OID with its prefix expanded too.
pub const MAX_SUBIDS: usize = 128;

/// `internet` (1.3.6.1), the prefix §5.1 compresses.
const INTERNET: [u32; 4] = [1, 3, 6, 1];

/// An object identifier of at most [`MAX_SUBIDS`] sub-identifiers. Ordered
/// lexicographically, sub-identifier by sub-identifier, a prefix before its extensions:
/// SNMP's order, the one GetNext walks (RFC 2741 §5.2). The empty OID is the null OID.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(Vec<u32>);

impl Oid {
    /// The null OID (RFC 2741 §5.1): no sub-identifiers.
    pub const fn null() -> Oid {
        Oid(Vec::new())
    }

    /// An OID of `subids`, or `OidTooLong` past [`MAX_SUBIDS`].
    pub fn new(subids: Vec<u32>) -> Result<Oid, Error> {
        if subids.len() > MAX_SUBIDS {
            return Err(Error::OidTooLong(subids.len()));
        }
        Ok(Oid(subids))
    }

    pub fn from_slice(subids: &[u32]) -> Result<Oid, Error> {
        if subids.len() > MAX_SUBIDS {
            return Err(Error::OidTooLong(subids.len()));
        }
        Ok(Oid(subids.to_vec()))
    }

    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<u32> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `prefix` is this OID or one of its ancestors.
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// This OID followed by `subids` (a column followed by an index, say).
    pub fn extended(&self, subids: &[u32]) -> Result<Oid, Error> {
        let len = self.0.len() + subids.len();
        if len > MAX_SUBIDS {
            return Err(Error::OidTooLong(len));
        }
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(&self.0);
        v.extend_from_slice(subids);
        Ok(Oid(v))
    }

    /// This OID followed by one sub-identifier.
    pub fn child(&self, subid: u32) -> Result<Oid, Error> {
        self.extended(&[subid])
    }

    /// The `prefix` byte this OID encodes with: x when it is 1.3.6.1.x… with x in 1..=255
    /// (RFC 2741 §5.1), else 0. net-snmp compresses an OID of exactly five sub-identifiers
    /// too, leaving `n_subid` 0, and so does this.
    fn internet_prefix(&self) -> u8 {
        match self.0.as_slice() {
            [1, 3, 6, 1, x, ..] if (1..=255).contains(x) => *x as u8,
            _ => 0,
        }
    }

    /// Bytes of the encoding: 4 for the header, 4 per sub-identifier after the prefix.
    pub fn buffer_len(&self) -> usize {
        let listed = if self.internet_prefix() != 0 {
            self.0.len() - 5
        } else {
            self.0.len()
        };
        4 + 4 * listed
    }

    /// Writes the encoding with `include` 0, in network byte order; returns
    /// [`buffer_len`](Self::buffer_len). Panics if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        write_oid(&mut w, self, false);
        w.pos()
    }

    /// Decodes an OID at the front of `buf`, its integers in `order`; returns it and the
    /// bytes it took. The `include` byte is ignored: only a search range's start has one
    /// (§5.1), and net-snmp sets it on OID values as well.
    pub fn parse(buf: &[u8], order: ByteOrder) -> Result<(Oid, usize), Error> {
        let mut r = Reader::new(buf, order);
        let (oid, _) = read_oid(&mut r)?;
        Ok((oid, r.pos()))
    }
}

/// Reads an OID and its `include` byte (any non-zero value includes, as in net-snmp's
/// `agentx_parse_oid()`; never on the null OID). `n_subid` is bounded before any sub-identifier is read, and
/// the sub-identifiers must all be present before anything is allocated.
pub(crate) fn read_oid(r: &mut Reader<'_>) -> Result<(Oid, bool), Error> {
    let head = r.take("OID header", 4)?;
    let (n_subid, prefix, include) = (usize::from(head[0]), head[1], head[2] != 0);
    // §5.1: n_subid is 0..=128; with the prefix expanded the OID must still fit SNMP's limit.
    let total = n_subid + if prefix != 0 { 5 } else { 0 };
    if n_subid > MAX_SUBIDS || total > MAX_SUBIDS {
        return Err(Error::OidTooLong(total));
    }
    let order = r.order();
    let mut sub = Reader::new(r.take("OID sub-identifiers", 4 * n_subid)?, order);
    let mut v = Vec::with_capacity(total);
    if prefix != 0 {
        v.extend_from_slice(&INTERNET);
        v.push(u32::from(prefix));
    }
    for _ in 0..n_subid {
        v.push(sub.u32("OID sub-identifier")?);
    }
    let oid = Oid(v);
    // The null OID includes nothing, as `write_oid` sends it.
    let include = include && !oid.is_null();
    Ok((oid, include))
}

/// Writes an OID; the null OID never has `include` set (net-snmp's
/// `agentx_realloc_build_oid()`, following the AgentX list's reading of §5.1).
pub(crate) fn write_oid(w: &mut Writer<'_>, oid: &Oid, include: bool) {
    let prefix = oid.internet_prefix();
    let listed = if prefix != 0 { &oid.0[5..] } else { &oid.0[..] };
    w.u8(listed.len() as u8);
    w.u8(prefix);
    w.u8(u8::from(include && !oid.is_null()));
    w.u8(0);
    for &s in listed {
        w.u32(s);
    }
}

impl fmt::Display for Oid {
    /// Dotted decimal, `1.3.6.1.4.1.9586`; the null OID is the empty string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

impl FromStr for Oid {
    type Err = Error;

    /// Dotted decimal, with or without net-snmp's leading dot (`.1.3.6.1`); the empty
    /// string is the null OID. Stops at the 129th component without reading further.
    fn from_str(s: &str) -> Result<Oid, Error> {
        let s = s.strip_prefix('.').unwrap_or(s);
        if s.is_empty() {
            return Ok(Oid::null());
        }
        let mut v = Vec::new();
        for (i, part) in s.split('.').enumerate() {
            if i == MAX_SUBIDS {
                return Err(Error::OidTooLong(MAX_SUBIDS + 1));
            }
            // u32::from_str takes a leading '+', which no OID notation has.
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::OidSyntax(i + 1));
            }
            v.push(part.parse().map_err(|_| Error::OidSyntax(i + 1))?);
        }
        Ok(Oid(v))
    }
}

impl TryFrom<Vec<u32>> for Oid {
    type Error = Error;

    fn try_from(v: Vec<u32>) -> Result<Oid, Error> {
        Oid::new(v)
    }
}

impl TryFrom<&[u32]> for Oid {
    type Error = Error;

    fn try_from(v: &[u32]) -> Result<Oid, Error> {
        Oid::from_slice(v)
    }
}

impl AsRef<[u32]> for Oid {
    fn as_ref(&self) -> &[u32] {
        &self.0
    }
}

/// A range of OIDs a Get, GetNext or GetBulk asks about (RFC 2741 §5.2): from `start`
/// (itself included when `include` is set) up to but not including `end`; a null `end`
/// bounds nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchRange {
    pub start: Oid,
    pub include: bool,
    pub end: Oid,
}

impl SearchRange {
    /// Whether `oid` lies in the range: after `start` (or at it, with `include`) and, when
    /// `end` is not null, before `end` (§5.2).
    pub fn contains(&self, oid: &Oid) -> bool {
        let after_start = if self.include {
            *oid >= self.start
        } else {
            *oid > self.start
        };
        after_start && (self.end.is_null() || *oid < self.end)
    }

    pub fn buffer_len(&self) -> usize {
        self.start.buffer_len() + self.end.buffer_len()
    }

    /// Writes start (with `include`) then end, in network byte order; returns
    /// [`buffer_len`](Self::buffer_len). Panics if `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut w = Writer::new(buf);
        write_range(&mut w, self);
        w.pos()
    }

    /// Decodes a range at the front of `buf`; returns it and the bytes it took.
    pub fn parse(buf: &[u8], order: ByteOrder) -> Result<(SearchRange, usize), Error> {
        let mut r = Reader::new(buf, order);
        let range = read_range(&mut r)?;
        Ok((range, r.pos()))
    }
}

/// The end's `include` byte is ignored: §5.2 gives it meaning only in the start.
pub(crate) fn read_range(r: &mut Reader<'_>) -> Result<SearchRange, Error> {
    let (start, include) = read_oid(r)?;
    let (end, _) = read_oid(r)?;
    Ok(SearchRange {
        start,
        include,
        end,
    })
}

pub(crate) fn write_range(w: &mut Writer<'_>, range: &SearchRange) {
    write_oid(w, &range.start, range.include);
    write_oid(w, &range.end, false);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn bytes(o: &Oid) -> Vec<u8> {
        let mut b = vec![0u8; o.buffer_len()];
        assert_eq!(o.emit(&mut b), b.len());
        b
    }

    /// Any OID, biased towards the compressible 1.3.6.1.x… ones and short lengths.
    pub(crate) fn arb_oid() -> impl Strategy<Value = Oid> {
        prop_oneof![
            prop::collection::vec(any::<u32>(), 0..=MAX_SUBIDS).prop_map(Oid),
            (
                0u32..300,
                prop::collection::vec(0u32..20, 0..=MAX_SUBIDS - 5)
            )
                .prop_map(|(x, rest)| {
                    let mut v = vec![1, 3, 6, 1, x];
                    v.extend(rest);
                    Oid(v)
                }),
        ]
    }

    #[test]
    fn internet_oids_compress_to_their_prefix() {
        // keepalived's enterprise OID, KEEPALIVED-MIB: 1.3.6.1.4.1.9586.100.5
        let o = oid("1.3.6.1.4.1.9586.100.5");
        #[rustfmt::skip]
        assert_eq!(bytes(&o), [
            4, 4, 0, 0,
            0, 0, 0, 1,
            0, 0, 0x25, 0x72,
            0, 0, 0, 100,
            0, 0, 0, 5,
        ]);
        assert_eq!(Oid::parse(&bytes(&o), ByteOrder::Network), Ok((o, 20)));
    }

    #[test]
    fn exactly_internet_x_has_no_listed_subids() {
        let o = oid("1.3.6.1.2");
        assert_eq!(bytes(&o), [0, 2, 0, 0]);
        assert_eq!(Oid::parse(&[0, 2, 0, 0], ByteOrder::Network), Ok((o, 4)));
    }

    #[test]
    fn prefix_zero_or_over_255_and_non_internet_stay_whole() {
        for s in ["1.3.6.1.0.7", "1.3.6.1.256", "1.3.6.2.4", "0.0", "1.3.6.1"] {
            let o = oid(s);
            let b = bytes(&o);
            assert_eq!(b[0] as usize, o.len(), "{s}");
            assert_eq!(b[1], 0, "{s}");
            assert_eq!(Oid::parse(&b, ByteOrder::Network), Ok((o, b.len())));
        }
    }

    #[test]
    fn null_oid_is_four_zero_bytes_and_never_included() {
        assert_eq!(bytes(&Oid::null()), [0, 0, 0, 0]);
        let r = SearchRange {
            start: Oid::null(),
            include: true,
            end: Oid::null(),
        };
        let mut b = [0xffu8; 8];
        assert_eq!(r.emit(&mut b), 8);
        assert_eq!(b, [0; 8]);
    }

    #[test]
    fn little_endian_subids() {
        #[rustfmt::skip]
        let b = [
            2, 4, 0, 0,
            1, 0, 0, 0,
            0x72, 0x25, 0, 0,
        ];
        assert_eq!(
            Oid::parse(&b, ByteOrder::Little),
            Ok((oid("1.3.6.1.4.1.9586"), 12))
        );
    }

    #[test]
    fn n_subid_over_128_is_refused_before_reading_subids() {
        // 129 sub-identifiers claimed, none present: the cap speaks first.
        assert_eq!(
            Oid::parse(&[129, 0, 0, 0], ByteOrder::Network),
            Err(Error::OidTooLong(129))
        );
        assert_eq!(
            Oid::parse(&[255, 0, 0, 0], ByteOrder::Network),
            Err(Error::OidTooLong(255))
        );
        // 124 listed plus the 5 of the prefix is 129.
        let mut b = vec![124, 4, 0, 0];
        b.extend(std::iter::repeat_n(0, 4 * 124));
        assert_eq!(
            Oid::parse(&b, ByteOrder::Network),
            Err(Error::OidTooLong(129))
        );
        // 123 listed plus 5 is the most there is.
        b[0] = 123;
        assert_eq!(Oid::parse(&b, ByteOrder::Network).unwrap().0.len(), 128);
    }

    #[test]
    fn truncated_oid() {
        assert_eq!(
            Oid::parse(&[0, 0], ByteOrder::Network),
            Err(Error::Truncated {
                what: "OID header",
                need: 4,
                have: 2
            })
        );
        assert_eq!(
            Oid::parse(&[2, 0, 0, 0, 0, 0, 0, 1], ByteOrder::Network),
            Err(Error::Truncated {
                what: "OID sub-identifiers",
                need: 8,
                have: 4
            })
        );
    }

    #[test]
    fn search_range_bytes() {
        let r = SearchRange {
            start: oid("1.3.6.1.4.1.9586.100.5.1"),
            include: true,
            end: oid("1.3.6.1.4.1.9586.100.5.2"),
        };
        let mut b = vec![0u8; r.buffer_len()];
        assert_eq!(r.emit(&mut b), 48);
        #[rustfmt::skip]
        assert_eq!(b, [
            5, 4, 1, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5, 0, 0, 0, 1,
            5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0x25, 0x72, 0, 0, 0, 100, 0, 0, 0, 5, 0, 0, 0, 2,
        ]);
        assert_eq!(SearchRange::parse(&b, ByteOrder::Network), Ok((r, 48)));
    }

    #[test]
    fn search_range_contains() {
        let r = SearchRange {
            start: oid("1.3.6.1.4.1.9586"),
            include: false,
            end: oid("1.3.6.1.4.1.9587"),
        };
        assert!(!r.contains(&oid("1.3.6.1.4.1.9586")));
        assert!(r.contains(&oid("1.3.6.1.4.1.9586.0")));
        assert!(r.contains(&oid("1.3.6.1.4.1.9586.100.5.1.1.0")));
        assert!(!r.contains(&oid("1.3.6.1.4.1.9587")));
        assert!(!r.contains(&oid("1.3.6.1.4.1.9587.1")));
        let inc = SearchRange {
            include: true,
            end: Oid::null(),
            ..r
        };
        assert!(inc.contains(&oid("1.3.6.1.4.1.9586")));
        assert!(inc.contains(&oid("2")));
        assert!(!inc.contains(&oid("1.3.6.1.4.1")));
    }

    #[test]
    fn text_forms() {
        assert_eq!(oid(".1.3.6.1").as_slice(), &[1, 3, 6, 1]);
        assert_eq!(oid("1.3.6.1").to_string(), "1.3.6.1");
        assert_eq!(oid("4294967295").as_slice(), &[u32::MAX]);
        assert_eq!(oid(""), Oid::null());
        assert_eq!(Oid::null().to_string(), "");
        assert_eq!(format!("{:?}", oid("1.3")), "Oid(1.3)");
        for (bad, at) in [
            ("1..3", 2),
            ("1.3.", 3),
            ("1.x", 2),
            ("+1", 1),
            ("1.-3", 2),
            ("4294967296", 1),
            ("..", 1),
        ] {
            assert_eq!(bad.parse::<Oid>(), Err(Error::OidSyntax(at)), "{bad}");
        }
        let long = vec!["1"; 129].join(".");
        assert_eq!(long.parse::<Oid>(), Err(Error::OidTooLong(129)));
        let max = vec!["1"; 128].join(".");
        assert_eq!(max.parse::<Oid>().unwrap().len(), 128);
    }

    #[test]
    fn length_cap_on_construction() {
        assert_eq!(Oid::new(vec![0; 129]), Err(Error::OidTooLong(129)));
        assert_eq!(Oid::from_slice(&[0; 128]).unwrap().len(), 128);
        let o = Oid::new(vec![1; 127]).unwrap();
        assert_eq!(o.child(1).unwrap().len(), 128);
        assert_eq!(o.extended(&[1, 2]), Err(Error::OidTooLong(129)));
        assert!(o.child(1).unwrap().starts_with(&o));
    }

    #[test]
    fn order_is_lexicographic() {
        let mut v = [
            oid("1.3.6.1.4.1.9586.2"),
            oid("1.3.6.1.4.1.9586.10"),
            oid("1.3.6.1.4.1.9586"),
            oid("1.3.6.1.4.1.9586.2.1"),
            oid(""),
        ];
        v.sort();
        let s: Vec<String> = v.iter().map(Oid::to_string).collect();
        assert_eq!(
            s,
            [
                "",
                "1.3.6.1.4.1.9586",
                "1.3.6.1.4.1.9586.2",
                "1.3.6.1.4.1.9586.2.1",
                "1.3.6.1.4.1.9586.10"
            ]
        );
    }

    proptest! {
        #[test]
        fn oid_round_trips_on_the_wire(o in arb_oid(), inc in any::<bool>()) {
            let mut b = vec![0u8; o.buffer_len()];
            let mut w = Writer::new(&mut b);
            write_oid(&mut w, &o, inc);
            prop_assert_eq!(w.pos(), o.buffer_len());
            let mut r = Reader::new(&b, ByteOrder::Network);
            prop_assert_eq!(read_oid(&mut r), Ok((o.clone(), inc && !o.is_null())));
            prop_assert!(r.is_empty());
        }

        #[test]
        fn oid_round_trips_as_text(o in arb_oid()) {
            prop_assert_eq!(o.to_string().parse::<Oid>(), Ok(o));
        }

        #[test]
        fn little_endian_decodes_like_network(o in arb_oid()) {
            // Swap each sub-identifier of a network-order encoding.
            let mut b = bytes(&o);
            for word in b[4..].chunks_mut(4) {
                word.reverse();
            }
            prop_assert_eq!(Oid::parse(&b, ByteOrder::Little), Ok((o, b.len())));
        }

        #[test]
        fn order_matches_subid_slices(a in arb_oid(), b in arb_oid()) {
            prop_assert_eq!(a.cmp(&b), a.as_slice().cmp(b.as_slice()));
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600)) {
            for order in [ByteOrder::Network, ByteOrder::Little] {
                if let Ok((o, n)) = Oid::parse(&b, order) {
                    prop_assert!(n <= b.len());
                    prop_assert!(o.len() <= MAX_SUBIDS);
                }
                let _ = SearchRange::parse(&b, order);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = s.parse::<Oid>();
        }
    }
}
