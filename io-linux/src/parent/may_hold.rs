//! What the running VRRP child may hold on the host, so that the parent can take it off
//! when the child dies. That is what every configuration sent to the child since it
//! started holds: the parent cannot know which of them the child had applied.
//!
//! The newest configuration's list is shared with [`super::config_loader::Good`], not
//! copied (at 1,000 instances it is 250 KB); what only earlier ones held is kept beside
//! it.

use std::collections::HashMap;
use std::sync::Arc;

use keepalived_engine::vrrp::Owned;

use super::config_loader::Held;

#[derive(Debug, Default)]
pub(crate) struct MayHold {
    /// What the newest configuration sent to the child holds.
    newest: Arc<[Held]>,
    /// What earlier ones held and the newest does not.
    earlier: Vec<Held>,
}

impl MayHold {
    /// A child started with the configuration holding `held`.
    pub(crate) fn started(held: Arc<[Held]>) -> MayHold {
        MayHold {
            newest: held,
            earlier: Vec::new(),
        }
    }

    /// A configuration holding `held` was sent to the running child.
    pub(crate) fn sent(&mut self, held: Arc<[Held]>) {
        // Each item is looked for among its own instance's, not among them all.
        let mut seen: HashMap<&str, Vec<&Owned>> = HashMap::new();
        for h in held.iter() {
            seen.entry(&h.instance).or_default().push(&h.what);
        }
        let mut earlier: Vec<Held> = Vec::new();
        for h in self.earlier.iter().chain(self.newest.iter()) {
            let items = seen.entry(&h.instance).or_default();
            if !items.contains(&&h.what) {
                items.push(&h.what);
                earlier.push(h.clone());
            }
        }
        drop(seen);
        self.earlier = earlier;
        self.newest = held;
    }

    /// The child is gone and what it held with it.
    pub(crate) fn clear(&mut self) {
        *self = MayHold::default();
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.newest.is_empty() && self.earlier.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Held> {
        self.newest.iter().chain(&self.earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::model::IpAddress;

    fn vip(instance: &str, address: &str) -> Held {
        Held {
            instance: instance.to_string(),
            what: Owned::Address {
                addr: IpAddress::new(address.parse().unwrap(), 32),
                interface: "eth0".to_string(),
                excluded: false,
                no_accept: false,
            },
        }
    }

    fn list(items: &[(&str, &str)]) -> Arc<[Held]> {
        items.iter().map(|(i, a)| vip(i, a)).collect()
    }

    fn held(m: &MayHold) -> Vec<Held> {
        m.iter().cloned().collect()
    }

    #[test]
    fn the_newest_list_is_shared_not_copied() {
        let a = list(&[("VI_1", "10.0.0.1")]);
        let m = MayHold::started(a.clone());
        assert_eq!(Arc::strong_count(&a), 2);
        assert_eq!(held(&m), a.to_vec());
    }

    #[test]
    fn what_an_earlier_configuration_held_stays_until_the_child_is_gone() {
        let mut m = MayHold::started(list(&[("VI_1", "10.0.0.1"), ("VI_2", "10.0.0.2")]));
        // VI_2's address moves to VI_3, VI_1 keeps its own.
        m.sent(list(&[("VI_1", "10.0.0.1"), ("VI_3", "10.0.0.2")]));
        assert_eq!(
            held(&m),
            vec![
                vip("VI_1", "10.0.0.1"),
                vip("VI_3", "10.0.0.2"),
                vip("VI_2", "10.0.0.2"),
            ]
        );
        // A third configuration drops VI_1: both earlier items stay, each once.
        let all = vec![
            vip("VI_3", "10.0.0.2"),
            vip("VI_2", "10.0.0.2"),
            vip("VI_1", "10.0.0.1"),
        ];
        m.sent(list(&[("VI_3", "10.0.0.2")]));
        m.sent(list(&[("VI_3", "10.0.0.2")]));
        assert_eq!(held(&m), all);
        // An earlier item the newest configuration holds again is listed once.
        m.sent(list(&[("VI_3", "10.0.0.2"), ("VI_2", "10.0.0.2")]));
        assert_eq!(held(&m), all);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(held(&m), vec![]);
    }

    #[test]
    fn the_same_configuration_sent_again_adds_nothing() {
        let a = list(&[("VI_1", "10.0.0.1")]);
        let mut m = MayHold::started(a.clone());
        m.sent(a.clone());
        m.sent(list(&[("VI_1", "10.0.0.1")]));
        assert_eq!(held(&m), a.to_vec());
    }
}
