//! The instances of registered subtrees, in OID order, and RFC 2741's rules for reading
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::agentx::{Oid, SearchRange, Value, VarBind};

/// The most variable bindings one answer carries: a GetBulk stops repeating there
/// (RFC 2741 §7.2.3.3 lets it return fewer), so a request cannot make the sub-agent build
/// an answer of unbounded size.
pub const MAX_VARBINDS: usize = 2048;

/// Object instances by name, and the objects (OBJECT-TYPEs) they are instances of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MibTree {
    values: BTreeMap<Oid, Value>,
    objects: BTreeSet<Oid>,
}

impl MibTree {
    pub fn new() -> MibTree {
        MibTree::default()
    }

    /// A scalar: object `object`, instance `object.0`.
    pub fn insert_scalar(&mut self, object: Oid, value: Value) {
        let name = object.child(0).expect("a MIB's OIDs are short");
        self.objects.insert(object);
        self.values.insert(name, value);
    }

    /// A column's instance: object `object`, instance `object.index`.
    pub fn insert_column(&mut self, object: Oid, index: &[u32], value: Value) {
        let name = object.extended(index).expect("a MIB's OIDs are short");
        self.objects.insert(object);
        self.values.insert(name, value);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every instance, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Oid, &Value)> {
        self.values.iter()
    }

    /// Get (§7.2.3.1): the instance's value; `noSuchInstance` when the name is under an
    /// object this tree has (an OBJECT-TYPE) but no such instance exists; `noSuchObject`
    /// otherwise.
    pub fn get(&self, name: &Oid) -> Value {
        if let Some(v) = self.values.get(name) {
            return v.clone();
        }
        let s = name.as_slice();
        let under_object =
            (1..s.len()).any(|n| Oid::from_slice(&s[..n]).is_ok_and(|o| self.objects.contains(&o)));
        if under_object {
            Value::NoSuchInstance
        } else {
            Value::NoSuchObject
        }
    }

    /// GetNext (§7.2.3.2): the first instance after the range's start (or at it, with
    /// `include`) and before its end (when it has one); `endOfMibView`, named by the
    /// start, when there is none.
    pub fn next(&self, range: &SearchRange) -> VarBind {
        let lower = if range.include {
            Bound::Included(range.start.clone())
        } else {
            Bound::Excluded(range.start.clone())
        };
        self.values
            .range((lower, Bound::Unbounded))
            .next()
            .filter(|(k, _)| range.end.is_null() || **k < range.end)
            .map(|(k, v)| VarBind::new(k.clone(), v.clone()))
            .unwrap_or_else(|| VarBind::new(range.start.clone(), Value::EndOfMibView))
    }

    /// GetBulk (§7.2.3.3): GetNext once for each of the first `non_repeaters` ranges,
    /// then up to `max_repetitions` successive GetNexts for each of the others, row by
    /// row, stopping when every repeater has reached the end of the view or the answer
    /// would pass [`MAX_VARBINDS`].
    pub fn bulk(
        &self,
        non_repeaters: u16,
        max_repetitions: u16,
        ranges: &[SearchRange],
    ) -> Vec<VarBind> {
        let n = usize::from(non_repeaters).min(ranges.len());
        let mut out: Vec<VarBind> = ranges[..n].iter().map(|r| self.next(r)).collect();
        let mut cursors: Vec<SearchRange> = ranges[n..].to_vec();
        for _ in 0..max_repetitions {
            if cursors.is_empty() || out.len() + cursors.len() > MAX_VARBINDS {
                break;
            }
            let mut all_ended = true;
            for c in &mut cursors {
                let vb = self.next(c);
                if vb.value != Value::EndOfMibView {
                    all_ended = false;
                    c.start = vb.name.clone();
                    c.include = false;
                }
                out.push(vb);
            }
            if all_ended {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn tree() -> MibTree {
        let mut t = MibTree::new();
        let g = |n: u32| oid(&format!("1.3.6.1.4.1.9586.100.5.1.{n}"));
        t.insert_scalar(g(1), Value::OctetString(b"v".to_vec()));
        t.insert_scalar(g(2), Value::OctetString(b"r".to_vec()));
        t.insert_scalar(g(4), Value::Integer(1));
        t
    }

    fn range(start: &str, include: bool, end: &str) -> SearchRange {
        SearchRange {
            start: oid(start),
            include,
            end: if end.is_empty() {
                Oid::null()
            } else {
                oid(end)
            },
        }
    }

    #[test]
    fn get_distinguishes_missing_instances_from_missing_objects() {
        let t = tree();
        assert_eq!(
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.4.0")),
            Value::Integer(1)
        );
        assert_eq!(
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.4.1")),
            Value::NoSuchInstance
        );
        assert_eq!(
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.1.0.5")),
            Value::NoSuchInstance
        );
        assert_eq!(
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.3.0")),
            Value::NoSuchObject
        );
        // Nodes at or above the objects are not instances of them.
        assert_eq!(
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.1")),
            Value::NoSuchObject
        );
        assert_eq!(t.get(&oid("1.3.6.1.2.1.1.1.0")), Value::NoSuchObject);
    }

    #[test]
    fn next_walks_in_order_within_the_range() {
        let t = tree();
        let vb = t.next(&range("1.3.6.1.4.1.9586.100.5", false, ""));
        assert_eq!(vb.name, oid("1.3.6.1.4.1.9586.100.5.1.1.0"));
        let vb = t.next(&range("1.3.6.1.4.1.9586.100.5.1.1.0", true, ""));
        assert_eq!(vb.name, oid("1.3.6.1.4.1.9586.100.5.1.1.0"));
        let vb = t.next(&range("1.3.6.1.4.1.9586.100.5.1.1.0", false, ""));
        assert_eq!(vb.name, oid("1.3.6.1.4.1.9586.100.5.1.2.0"));
        // The end bounds the search: past it is the end of the view, named by the start.
        let vb = t.next(&range(
            "1.3.6.1.4.1.9586.100.5.1.2.0",
            false,
            "1.3.6.1.4.1.9586.100.5.1.3",
        ));
        assert_eq!(
            (vb.name, vb.value),
            (oid("1.3.6.1.4.1.9586.100.5.1.2.0"), Value::EndOfMibView)
        );
        let vb = t.next(&range("1.3.6.1.4.1.9586.100.5.1.4.0", false, ""));
        assert_eq!(vb.value, Value::EndOfMibView);
    }

    #[test]
    fn bulk_repeats_until_every_repeater_ends() {
        let t = tree();
        let out = t.bulk(0, 10, &[range("1.3.6.1.4.1.9586.100.5", false, "")]);
        assert_eq!(out.len(), 4);
        assert_eq!(out[3].value, Value::EndOfMibView);
        let out = t.bulk(
            1,
            2,
            &[
                range("1.3.6.1.4.1.9586.100.5.1.2.0", false, ""),
                range("1.3.6.1.4.1.9586.100.5", false, ""),
            ],
        );
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].name, oid("1.3.6.1.4.1.9586.100.5.1.4.0"));
    }

    #[test]
    fn bulk_answers_are_bounded() {
        let mut t = MibTree::new();
        for i in 0..5000 {
            t.insert_column(
                oid("1.3.6.1.4.1.9586.100.5.2.3.1.2"),
                &[i + 1],
                Value::Integer(1),
            );
        }
        let ranges = vec![range("1.3.6.1.4.1.9586.100.5", false, ""); 100];
        let out = t.bulk(0, u16::MAX, &ranges);
        assert!(
            out.len() <= MAX_VARBINDS && out.len() > MAX_VARBINDS - 100,
            "{}",
            out.len()
        );
    }
}
