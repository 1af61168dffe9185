//! keepalived 2.2.7's VRRP ruleset (`vrrp_nftables.c`), message for message. With
//! `vrrp_strict` and the default table name it is, as `nft list ruleset` shows it:
//!
//! ```text
//! table ip keepalived {
//!     set vips { type ipv4_addr }
//!     chain out { type filter hook output priority filter - 1; policy accept;
//!         ip saddr @vips drop }
//!     chain in { type filter hook input priority filter - 1; policy accept;
//!         ip daddr @vips drop }
//! }
//! table ip6 keepalived {
//!     set vips { type ipv6_addr }
//!     set neighbor-discovery { type icmpv6_type; flags constant;
//!         elements = { nd-neighbor-solicit, nd-neighbor-advert } }
//!     set vips_link_local { type ipv6_addr . iface_index }   # first link-local VIP
//!     chain out { type filter hook output priority filter - 1; policy accept;
//!         icmpv6 type @neighbor-discovery accept
//!         ip6 saddr fe80::/10 goto out_link_local
//!         ip6 saddr @vips drop }
//!     chain in { type filter hook input priority filter - 1; policy accept;
//!         icmpv6 type @neighbor-discovery accept
//!         ip6 daddr fe80::/10 goto in_link_local
//!         ip6 daddr @vips drop }
//!     chain in_link_local { ip6 daddr . iif @vips_link_local drop }
//!     chain out_link_local { ip6 saddr . oif @vips_link_local drop }
//! }
//! ```
//!
//! `nftables_counters` puts a counter before each verdict; `nftables_priority` sets the
//! base chains' priority; a link-local VIP of a `dont_track_primary` instance on its own
//! interface goes, unless `nftables_ifindex`, in `vips_link_local_name`
//! (`ipv6_addr . ifname`, matched on `iifname` / `oifname`).

use std::net::Ipv6Addr;

use super::wire::{
    meta, ty, Batch, Expr, Family, Hook, SetSpec, Verdict, NFT_PAYLOAD_NETWORK_HEADER,
    NFT_PAYLOAD_TRANSPORT_HEADER, NFT_REG_1, NFT_REG_2, NFT_SET_CONSTANT, NFT_SET_MAP,
};

/// The global_defs that shape the ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `nftables TABLE` (default `keepalived`).
    pub table: String,
    /// `nftables_priority` (default -1).
    pub priority: i32,
    /// `nftables_counters`.
    pub counters: bool,
}

/// The sets a VIP goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SetKind {
    /// `ip vips`.
    V4,
    /// `ip6 vips`.
    V6,
    /// `ip6 vips_link_local`: address and interface index.
    LinkLocalIndex,
    /// `ip6 vips_link_local_name`: address and interface name.
    LinkLocalName,
    /// `vmac_map` of either table: a VMAC's index to its base interface's.
    VmacMap(Family),
    /// `ip6 vmac_set`: the VMACs' indexes.
    VmacSet,
}

impl SetKind {
    pub fn family(self) -> Family {
        match self {
            SetKind::V4 => Family::Ip,
            SetKind::VmacMap(f) => f,
            _ => Family::Ip6,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SetKind::V4 | SetKind::V6 => "vips",
            SetKind::LinkLocalIndex => "vips_link_local",
            SetKind::LinkLocalName => "vips_link_local_name",
            SetKind::VmacMap(_) => "vmac_map",
            SetKind::VmacSet => "vmac_set",
        }
    }
}

const ND_NEIGHBOR_SOLICIT: u8 = 135;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const IPPROTO_ICMPV6: u8 = 58;

impl Options {
    fn verdict<'a>(&self, exprs: &mut Vec<Expr<'a>>, v: Verdict<'a>) {
        if self.counters {
            exprs.push(Expr::Counter);
        }
        exprs.push(Expr::Verdict(v));
    }

    /// `ADDR @set drop`: the source (`out`) or destination (`in`) address looked up.
    fn addr_rule(&self, batch: &mut Batch, family: Family, chain: &str, saddr: bool) {
        let mut e = vec![
            addr_payload(family, saddr),
            Expr::Lookup {
                sreg: NFT_REG_1,
                dreg: None,
                set: "vips",
            },
        ];
        self.verdict(&mut e, Verdict::Drop);
        batch.new_rule(family, &self.table, chain, &e);
    }

    /// The table and its `out` chain (`nft_setup_ipv4()` / `nft_setup_ipv6()`).
    pub fn setup_table(&self, batch: &mut Batch, family: Family) {
        batch.new_table(family, &self.table);
        let hook = Some((Hook::Output, self.priority));
        batch.new_chain(family, &self.table, "out", hook);
    }

    /// `ip keepalived` with its `in` chain, `vips` set and drop rules
    /// (`nft_setup_ipv4_vips()`).
    pub fn setup_ipv4_vips(&self, batch: &mut Batch) {
        let t = &self.table;
        batch.new_chain(Family::Ip, t, "in", Some((Hook::Input, self.priority)));
        batch.new_set(Family::Ip, t, vips(ty::IPADDR, 4));
        self.addr_rule(batch, Family::Ip, "in", false);
        self.addr_rule(batch, Family::Ip, "out", true);
    }

    /// `ip6 keepalived`: as IPv4, and neighbour discovery always let through, link-local
    /// destinations and sources sent to chains of their own (`nft_setup_ipv6_vips()`).
    pub fn setup_ipv6_vips(&self, batch: &mut Batch) {
        let t = &self.table;
        let f = Family::Ip6;
        batch.new_chain(f, t, "in", Some((Hook::Input, self.priority)));
        batch.new_chain(f, t, "in_link_local", None);
        batch.new_chain(f, t, "out_link_local", None);
        batch.new_set(f, t, vips(ty::IP6ADDR, 16));
        let nd = SetSpec {
            name: "neighbor-discovery",
            key_type: ty::ICMPV6_TYPE,
            key_len: 1,
            flags: NFT_SET_CONSTANT,
            data: None,
        };
        batch.new_set(f, t, nd);
        let types = [vec![ND_NEIGHBOR_SOLICIT], vec![ND_NEIGHBOR_ADVERT]];
        batch.elements(f, t, nd.name, true, &types);
        self.nd_accept(batch, "in");
        self.link_local_goto(batch, "in", "in_link_local", false);
        self.nd_accept(batch, "out");
        self.link_local_goto(batch, "out", "out_link_local", true);
        self.addr_rule(batch, f, "in", false);
        self.addr_rule(batch, f, "out", true);
    }

    /// `icmpv6 type @neighbor-discovery accept`.
    fn nd_accept(&self, batch: &mut Batch, chain: &str) {
        // The next header, not `meta l4proto` as for VMACs: as keepalived writes each.
        let nexthdr = Expr::Payload {
            base: NFT_PAYLOAD_NETWORK_HEADER,
            offset: 6,
            len: 1,
            dreg: NFT_REG_1,
        };
        let mut e = vec![nexthdr];
        e.extend(icmpv6_type_load());
        e.extend([Expr::Lookup {
            sreg: NFT_REG_1,
            dreg: None,
            set: "neighbor-discovery",
        }]);
        self.verdict(&mut e, Verdict::Accept);
        batch.new_rule(Family::Ip6, &self.table, chain, &e);
    }

    /// `ip6 {s|d}addr fe80::/10 goto CHAIN`.
    fn link_local_goto(&self, batch: &mut Batch, chain: &str, to: &str, saddr: bool) {
        let mask = Ipv6Addr::new(0xffc0, 0, 0, 0, 0, 0, 0, 0).octets();
        let fe80 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0).octets();
        let mut e = vec![
            addr_payload(Family::Ip6, saddr),
            Expr::Bitwise {
                reg: NFT_REG_1,
                mask: &mask,
                xor: &[0; 16],
            },
            Expr::CmpEq {
                sreg: NFT_REG_1,
                data: &fe80,
            },
        ];
        self.verdict(&mut e, Verdict::Goto(to));
        batch.new_rule(Family::Ip6, &self.table, chain, &e);
    }

    /// The set of link-local VIPs with their interface, by index or by name, and the rules
    /// of `in_link_local` and `out_link_local` that drop them (`setup_link_local_checks()`).
    pub fn setup_link_local(&self, batch: &mut Batch, by_name: bool) {
        let kind = if by_name {
            SetKind::LinkLocalName
        } else {
            SetKind::LinkLocalIndex
        };
        let (if_type, if_len) = if by_name {
            (ty::IFNAME, 16)
        } else {
            (ty::IFINDEX, 4)
        };
        let spec = SetSpec {
            name: kind.name(),
            key_type: (ty::IP6ADDR << ty::BITS) | if_type,
            key_len: 16 + if_len,
            flags: 0,
            data: None,
        };
        batch.new_set(Family::Ip6, &self.table, spec);
        for (chain, saddr) in [("in_link_local", false), ("out_link_local", true)] {
            let key = match (saddr, by_name) {
                (false, false) => meta::IIF,
                (false, true) => meta::IIFNAME,
                (true, false) => meta::OIF,
                (true, true) => meta::OIFNAME,
            };
            let mut e = vec![
                addr_payload(Family::Ip6, saddr),
                Expr::Meta {
                    key,
                    dreg: NFT_REG_2,
                },
                Expr::Lookup {
                    sreg: NFT_REG_1,
                    dreg: None,
                    set: kind.name(),
                },
            ];
            self.verdict(&mut e, Verdict::Drop);
            batch.new_rule(Family::Ip6, &self.table, chain, &e);
        }
    }
}

/// The source (`saddr`) or destination address of the network header, into register 1.
fn addr_payload(family: Family, saddr: bool) -> Expr<'static> {
    let (offset, len) = match (family, saddr) {
        (Family::Ip, true) => (12, 4),
        (Family::Ip, false) => (16, 4),
        (Family::Ip6, true) => (8, 16),
        (Family::Ip6, false) => (24, 16),
    };
    Expr::Payload {
        base: NFT_PAYLOAD_NETWORK_HEADER,
        offset,
        len,
        dreg: NFT_REG_1,
    }
}

const IPPROTO_IGMP: u8 = 2;
const ICMPV6_MLD2_REPORT: u8 = 143;
const ND_ROUTER_SOLICIT: u8 = 133;
/// `meta oifkind "macvlan"`: the kind as IFNAMSIZ bytes.
const MACVLAN: [u8; 16] = *b"macvlan\0\0\0\0\0\0\0\0\0";

impl Options {
    /// What keepalived adds for VMACs (`nft_setup_igmp()`): IGMP (IPv4) or MLDv2 (IPv6)
    /// reports leaving a macvlan that is a VMAC are sent out of its base interface
    /// instead (`dup to ADDR device oif map @vmac_map drop`), and IPv6 router
    /// solicitations from a VMAC are dropped (`oif @vmac_set drop`).
    pub fn setup_vmac(&self, batch: &mut Batch, family: Family) {
        let t = &self.table;
        let ifindex = SetSpec {
            name: "vmac_map",
            key_type: ty::IFINDEX,
            key_len: 4,
            flags: NFT_SET_MAP,
            data: Some((ty::IFINDEX, 4)),
        };
        batch.new_set(family, t, ifindex);
        if family == Family::Ip6 {
            let set = SetSpec {
                name: "vmac_set",
                flags: 0,
                data: None,
                ..ifindex
            };
            batch.new_set(family, t, set);
        }
        let mut e = match family {
            Family::Ip => vec![
                Expr::Payload {
                    base: NFT_PAYLOAD_NETWORK_HEADER,
                    offset: 9,
                    len: 1,
                    dreg: NFT_REG_1,
                },
                Expr::CmpEq {
                    sreg: NFT_REG_1,
                    data: &[IPPROTO_IGMP],
                },
            ],
            Family::Ip6 => icmpv6_type(&[ICMPV6_MLD2_REPORT]),
        };
        e.push(addr_payload(family, false));
        e.extend(from_vmac());
        e.push(Expr::Lookup {
            sreg: NFT_REG_2,
            dreg: Some(NFT_REG_2),
            set: "vmac_map",
        });
        e.push(Expr::Dup {
            addr: NFT_REG_1,
            dev: NFT_REG_2,
        });
        self.verdict(&mut e, Verdict::Drop);
        batch.new_rule(family, t, "out", &e);
        if family == Family::Ip6 {
            let mut e = icmpv6_type(&[ND_ROUTER_SOLICIT]);
            e.extend(from_vmac());
            e.push(Expr::Lookup {
                sreg: NFT_REG_2,
                dreg: None,
                set: "vmac_set",
            });
            self.verdict(&mut e, Verdict::Drop);
            batch.new_rule(family, t, "out", &e);
        }
    }
}

/// With the protocol number in register 1: it is ICMPv6, and its type goes to register 1.
fn icmpv6_type_load() -> [Expr<'static>; 2] {
    [
        Expr::CmpEq {
            sreg: NFT_REG_1,
            data: &[IPPROTO_ICMPV6],
        },
        Expr::Payload {
            base: NFT_PAYLOAD_TRANSPORT_HEADER,
            offset: 0,
            len: 1,
            dreg: NFT_REG_1,
        },
    ]
}

/// `meta l4proto icmpv6 icmpv6 type TYPE`.
fn icmpv6_type(t: &'static [u8]) -> Vec<Expr<'static>> {
    let mut e = vec![Expr::Meta {
        key: meta::L4PROTO,
        dreg: NFT_REG_1,
    }];
    e.extend(icmpv6_type_load());
    e.push(Expr::CmpEq {
        sreg: NFT_REG_1,
        data: t,
    });
    e
}

/// `meta oifkind "macvlan"`, then the output interface's index into register 2.
fn from_vmac() -> [Expr<'static>; 3] {
    [
        Expr::Meta {
            key: meta::OIFKIND,
            dreg: NFT_REG_2,
        },
        Expr::CmpEq {
            sreg: NFT_REG_2,
            data: &MACVLAN,
        },
        Expr::Meta {
            key: meta::OIF,
            dreg: NFT_REG_2,
        },
    ]
}

fn vips(key_type: u32, key_len: u32) -> SetSpec<'static> {
    SetSpec {
        name: "vips",
        key_type,
        key_len,
        flags: 0,
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::nftables::wire::msg;

    fn opts(counters: bool) -> Options {
        Options {
            table: "keepalived".into(),
            priority: -1,
            counters,
        }
    }

    #[test]
    fn ipv4_setup_is_keepalived_order() {
        let mut b = Batch::new(1);
        opts(false).setup_table(&mut b, Family::Ip);
        opts(false).setup_ipv4_vips(&mut b);
        let (_, sent, _) = b.finish();
        let what: Vec<&str> = sent.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "creating table ip keepalived",
                "creating chain ip keepalived out",
                "creating chain ip keepalived in",
                "creating set ip keepalived vips",
                "adding a rule to chain ip keepalived in",
                "adding a rule to chain ip keepalived out",
            ]
        );
    }

    #[test]
    fn ipv6_setup_has_neighbour_discovery_and_link_local_chains() {
        let mut b = Batch::new(1);
        opts(true).setup_table(&mut b, Family::Ip6);
        opts(true).setup_ipv6_vips(&mut b);
        opts(true).setup_link_local(&mut b, false);
        let (buf, sent, _) = b.finish();
        let msgs: Vec<u8> = sent.iter().map(|s| s.msg).collect();
        use msg::*;
        assert_eq!(
            msgs,
            [
                NEWTABLE, NEWCHAIN, NEWCHAIN, NEWCHAIN, NEWCHAIN, NEWSET, NEWSET, NEWSETELEM,
                NEWRULE, NEWRULE, NEWRULE, NEWRULE, NEWRULE, NEWRULE, NEWSET, NEWRULE, NEWRULE
            ]
        );
        assert!(sent.iter().all(|s| s.family == Family::Ip6));
        // Eight rules, each with a counter.
        let counters = buf.windows(8).filter(|w| w == b"counter\0").count();
        assert_eq!(counters, 8);
    }

    #[test]
    fn vmac_rules_dup_reports_and_drop_router_solicitations() {
        let mut b = Batch::new(1);
        opts(false).setup_vmac(&mut b, Family::Ip);
        opts(false).setup_vmac(&mut b, Family::Ip6);
        let (buf, sent, _) = b.finish();
        let what: Vec<&str> = sent.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "creating set ip keepalived vmac_map",
                "adding a rule to chain ip keepalived out",
                "creating set ip6 keepalived vmac_map",
                "creating set ip6 keepalived vmac_set",
                "adding a rule to chain ip6 keepalived out",
                "adding a rule to chain ip6 keepalived out",
            ]
        );
        assert_eq!(buf.windows(4).filter(|w| w == b"dup\0").count(), 2);
        assert_eq!(buf.windows(8).filter(|w| w == b"macvlan\0").count(), 3);
    }
}
