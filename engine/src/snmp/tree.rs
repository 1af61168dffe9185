//! The instances of registered subtrees, in OID order, and RFC 2741's rules for reading
//! them.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::agentx::{Oid, SearchRange, Value, VarBind};

/// Object instances by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MibTree {
    values: BTreeMap<Oid, Value>,
}

impl MibTree {
    pub fn new() -> MibTree {
        MibTree::default()
    }

    pub fn insert(&mut self, name: Oid, value: Value) {
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

    /// Get (§7.2.3.1): the instance's value; `noSuchInstance` when an object of that
    /// type exists (an instance shares the name's parent) but not this instance;
    /// `noSuchObject` otherwise.
    pub fn get(&self, name: &Oid) -> Value {
        if let Some(v) = self.values.get(name) {
            return v.clone();
        }
        let parent = &name.as_slice()[..name.len().saturating_sub(1)];
        let object_exists = !parent.is_empty()
            && Oid::from_slice(parent).is_ok_and(|p| {
                self.values
                    .range(p..)
                    .next()
                    .is_some_and(|(k, _)| k.as_slice().starts_with(parent))
            });
        if object_exists {
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
    /// row, stopping when every repeater has reached the end of the view.
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
            if cursors.is_empty() {
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
        t.insert(
            oid("1.3.6.1.4.1.9586.100.5.1.1.0"),
            Value::OctetString(b"v".to_vec()),
        );
        t.insert(
            oid("1.3.6.1.4.1.9586.100.5.1.2.0"),
            Value::OctetString(b"r".to_vec()),
        );
        t.insert(oid("1.3.6.1.4.1.9586.100.5.1.4.0"), Value::Integer(1));
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
            t.get(&oid("1.3.6.1.4.1.9586.100.5.1.3.0")),
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
        let names: Vec<String> = out.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(out.len(), 4, "{names:?}");
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
}
