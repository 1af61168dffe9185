//! keepalived's `nftables_ipvs` table (`check_nftables.c`): for a `virtual_server_group`
//! of addresses, packets to an address and port of the group get the group's fwmark, so
//! IPVS sees one fwmark service instead of one service per address.
//!
//! For each family (`ip`, `ip6`) the table has the base chain `in` (`type filter hook
//! input priority P; policy accept`, `nft_ipvs_setup()`); for each protocol, an interval
//! map of concatenations `tcp_map` / `udp_map` / `sctp_map` (`ipv4_addr . inet_service :
//! mark`, with a counter in each element under `nftables_counters`) and the rule
//!
//! ```text
//! meta l4proto tcp ip daddr . tcp dport map @tcp_map → meta mark set, [counter,] return
//! ```
//!
//! (`nft_ipvs_add_set_rule()`, `setup_rule_set_mark()`). An element is an address range
//! with one port (`nft_update_ipvs_element()`: `addr . port` to `addr_end . port`).

use std::net::IpAddr;

use keepalived_engine::config::model::Protocol;

use super::wire::{
    meta, ty, Batch, Expr, Family, Hook, SetExtra, SetSpec, Verdict, NFT_PAYLOAD_NETWORK_HEADER,
    NFT_PAYLOAD_TRANSPORT_HEADER, NFT_REG_1, NFT_REG_2, NFT_SET_CONCAT, NFT_SET_INTERVAL,
    NFT_SET_MAP,
};

/// The base chain's name.
pub(crate) const CHAIN: &str = "in";

/// `NFT_REG32_01`: the 32-bit register after the IPv4 address in `NFT_REG_1`, where
/// the port goes so the two make the concatenated key.
const NFT_REG32_01: u32 = 9;

/// What the table is made with (`global_data->ipvs_nf_*`, `nf_counters`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpvsOptions {
    /// `nftables_ipvs`'s table name.
    pub table: String,
    /// `nftables_ipvs_priority` (-1 unless given).
    pub priority: i32,
    /// `nftables_counters`: a counter in the rule and in each element.
    pub counters: bool,
}

/// `ipvs_map_name()`.
pub(crate) fn map_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp_map",
        Protocol::Udp => "udp_map",
        Protocol::Sctp => "sctp_map",
    }
}

fn ip_proto(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
        Protocol::Sctp => 132,
    }
}

/// The family of the table an address's element goes in.
pub(crate) fn family_of(addr: IpAddr) -> Family {
    match addr {
        IpAddr::V4(_) => Family::Ip,
        IpAddr::V6(_) => Family::Ip6,
    }
}

fn addr_len(family: Family) -> u32 {
    match family {
        Family::Ip => 4,
        Family::Ip6 => 16,
    }
}

impl IpvsOptions {
    /// `nft_ipvs_setup()`: the table and its base chain `in`.
    pub(crate) fn setup_table(&self, batch: &mut Batch, family: Family) {
        batch.new_table(family, &self.table);
        batch.new_chain(
            family,
            &self.table,
            CHAIN,
            Some((Hook::Input, self.priority)),
        );
    }

    /// `nft_ipvs_add_set_rule()`: the protocol's map and the rule that looks packets up
    /// in it.
    pub(crate) fn setup_map(&self, batch: &mut Batch, family: Family, protocol: Protocol) {
        let name = map_name(protocol);
        let alen = addr_len(family);
        let addr_type = match family {
            Family::Ip => ty::IPADDR,
            Family::Ip6 => ty::IP6ADDR,
        };
        // setup_set(): an inet_service counts 4 bytes of the key, as a register does.
        let spec = SetSpec {
            name,
            key_type: addr_type << ty::BITS | ty::INET_SERVICE,
            key_len: alen + 4,
            flags: NFT_SET_MAP | NFT_SET_CONCAT | NFT_SET_INTERVAL,
            data: Some((ty::MARK, 4)),
        };
        let extra = SetExtra {
            concat: &[alen, 2],
            counter: self.counters,
        };
        batch.new_set_extra(family, &self.table, spec, extra);
        let proto = [ip_proto(protocol)];
        let (daddr_offset, port_reg) = match family {
            // offsetof(struct iphdr, daddr), offsetof(struct ip6_hdr, ip6_dst)
            Family::Ip => (16, NFT_REG32_01),
            Family::Ip6 => (24, NFT_REG_2),
        };
        let mut exprs = vec![
            Expr::Meta {
                key: meta::L4PROTO,
                dreg: NFT_REG_1,
            },
            Expr::CmpEq {
                sreg: NFT_REG_1,
                data: &proto,
            },
            Expr::Payload {
                base: NFT_PAYLOAD_NETWORK_HEADER,
                offset: daddr_offset,
                len: alen,
                dreg: NFT_REG_1,
            },
            // The destination port is at offset 2 in TCP, UDP and SCTP headers alike.
            Expr::Payload {
                base: NFT_PAYLOAD_TRANSPORT_HEADER,
                offset: 2,
                len: 2,
                dreg: port_reg,
            },
            Expr::Lookup {
                sreg: NFT_REG_1,
                dreg: Some(NFT_REG_1),
                set: name,
            },
            Expr::MetaSet {
                key: meta::MARK,
                sreg: NFT_REG_1,
            },
        ];
        if self.counters {
            exprs.push(Expr::Counter);
        }
        exprs.push(Expr::Verdict(Verdict::Return));
        batch.new_rule(family, &self.table, CHAIN, &exprs);
    }
}

/// An element's key (`nft_update_ipvs_element()`): the address, then the port in
/// network order padded to 4 bytes (NLMSG_ALIGN).
pub(crate) fn range_key(addr: IpAddr, port: u16) -> Vec<u8> {
    let mut k = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    k.extend_from_slice(&port.to_be_bytes());
    k.extend_from_slice(&[0, 0]);
    k
}

/// An element's value: the mark, in host order (`&fwmark, sizeof(fwmark)`).
pub(crate) fn mark_value(mark: u32) -> [u8; 4] {
    mark.to_ne_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::nl::{messages, Attrs};

    fn opts(counters: bool) -> IpvsOptions {
        IpvsOptions {
            table: "keepalived_ipvs".into(),
            priority: -1,
            counters,
        }
    }

    /// Each message's attributes after the 4-byte nfgenmsg, by type.
    fn attrs(m: &crate::ipvs::nl::Message<&[u8]>) -> Vec<(u16, Vec<u8>)> {
        Attrs::new(&m.payload()[4..])
            .map(Result::unwrap)
            .map(|(k, v)| (k, v.to_vec()))
            .collect()
    }

    fn nested(v: &[u8]) -> Vec<(u16, Vec<u8>)> {
        Attrs::new(v)
            .map(Result::unwrap)
            .map(|(k, v)| (k, v.to_vec()))
            .collect()
    }

    #[test]
    fn table_and_input_chain_at_the_priority() {
        let mut b = Batch::new(1);
        IpvsOptions {
            priority: -300,
            ..opts(false)
        }
        .setup_table(&mut b, Family::Ip);
        let (buf, sent, _) = b.finish();
        let what: Vec<&str> = sent.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "creating table ip keepalived_ipvs",
                "creating chain ip keepalived_ipvs in"
            ]
        );
        let ms: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        let chain = attrs(&ms[2]);
        let hook = nested(&chain[2].1);
        assert_eq!(
            hook[0],
            (1, 1u32.to_be_bytes().to_vec()),
            "NF_INET_LOCAL_IN"
        );
        assert_eq!(hook[1], (2, (-300i32).to_be_bytes().to_vec()));
    }

    #[test]
    fn map_is_a_concatenated_interval_map_of_marks() {
        let mut b = Batch::new(1);
        opts(true).setup_map(&mut b, Family::Ip, Protocol::Tcp);
        opts(false).setup_map(&mut b, Family::Ip6, Protocol::Udp);
        let (buf, sent, _) = b.finish();
        assert_eq!(sent.len(), 4);
        let ms: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        let set = attrs(&ms[1]);
        let kinds: Vec<u16> = set.iter().map(|a| a.0).collect();
        // table, name, flags, key type, key len, data type, data len, id, desc, udata, expr
        assert_eq!(kinds, [1, 2, 3, 4, 5, 6, 7, 10, 9, 13, 17]);
        assert_eq!(set[1].1, b"tcp_map\0");
        assert_eq!(set[2].1, 0x8cu32.to_be_bytes(), "MAP | INTERVAL | CONCAT");
        assert_eq!(
            set[3].1,
            (7u32 << 6 | 13).to_be_bytes(),
            "ipv4_addr . inet_service"
        );
        assert_eq!(set[4].1, 8u32.to_be_bytes());
        assert_eq!(set[5].1, 19u32.to_be_bytes(), "mark");
        assert_eq!(set[6].1, 4u32.to_be_bytes());
        // NFTA_SET_DESC { NFTA_SET_DESC_CONCAT { ELEM { FIELD_LEN 4 } ELEM { FIELD_LEN 2 } } }
        let desc = nested(&set[8].1);
        assert_eq!(desc[0].0, 2);
        let fields: Vec<Vec<(u16, Vec<u8>)>> =
            nested(&desc[0].1).iter().map(|f| nested(&f.1)).collect();
        assert_eq!(
            fields,
            [
                vec![(1, 4u32.to_be_bytes().to_vec())],
                vec![(1, 2u32.to_be_bytes().to_vec())]
            ]
        );
        // NFTA_SET_EXPR { NAME "counter", DATA {} }
        let expr = nested(&set[10].1);
        assert_eq!(expr, [(1, b"counter\0".to_vec()), (2, vec![])]);
        // The rule: meta, cmp, payload, payload, lookup, meta (set), counter, immediate.
        let rule = attrs(&ms[2]);
        let exprs = nested(&rule[2].1);
        let names: Vec<Vec<u8>> = exprs.iter().map(|e| nested(&e.1)[0].1.clone()).collect();
        let names: Vec<&str> = names
            .iter()
            .map(|n| std::str::from_utf8(&n[..n.len() - 1]).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "meta",
                "cmp",
                "payload",
                "payload",
                "lookup",
                "meta",
                "counter",
                "immediate"
            ]
        );
        let data = |i: usize| nested(&nested(&exprs[i].1)[1].1);
        // The port lands in NFT_REG32_01, just after the IPv4 address.
        assert_eq!(data(3)[0], (1, 9u32.to_be_bytes().to_vec()));
        // lookup: sreg 1, dreg 1, set tcp_map.
        assert_eq!(
            data(4),
            [
                (2, 1u32.to_be_bytes().to_vec()),
                (3, 1u32.to_be_bytes().to_vec()),
                (1, b"tcp_map\0".to_vec())
            ]
        );
        // meta mark set: key MARK (3), sreg 1.
        assert_eq!(
            data(5),
            [
                (2, 3u32.to_be_bytes().to_vec()),
                (3, 1u32.to_be_bytes().to_vec())
            ]
        );
        let verdict = nested(&nested(&data(7)[1].1)[0].1);
        assert_eq!(
            verdict[0],
            (1, (-5i32).to_be_bytes().to_vec()),
            "NFT_RETURN"
        );
        // IPv6 without counters: no set expression, no counter; the address is 16 bytes
        // at offset 24 and the port goes to NFT_REG_2.
        let set6 = attrs(&ms[3]);
        assert_eq!(set6.last().unwrap().0, 13);
        assert_eq!(set6[4].1, 20u32.to_be_bytes());
        let exprs6 = nested(&attrs(&ms[4])[2].1);
        assert_eq!(exprs6.len(), 7);
        let p = nested(&nested(&exprs6[2].1)[1].1);
        assert_eq!(p[2], (3, 24u32.to_be_bytes().to_vec()));
        assert_eq!(p[3], (4, 16u32.to_be_bytes().to_vec()));
        let port = nested(&nested(&exprs6[3].1)[1].1);
        assert_eq!(port[0], (1, 2u32.to_be_bytes().to_vec()));
    }

    #[test]
    fn range_elements_carry_both_ends_and_the_mark() {
        let first = range_key("10.1.1.1".parse().unwrap(), 80);
        assert_eq!(first, [10, 1, 1, 1, 0, 80, 0, 0]);
        let last = range_key("10.1.1.3".parse().unwrap(), 80);
        let v6 = range_key("2001:db8::1".parse().unwrap(), 443);
        assert_eq!(v6.len(), 20);
        assert_eq!(&v6[16..], [1, 187, 0, 0]);
        let mark = mark_value(1000);
        let mut b = Batch::new(1);
        b.ranges(
            Family::Ip,
            "keepalived_ipvs",
            "tcp_map",
            true,
            &[(&first, &last, &mark)],
        );
        b.ranges(
            Family::Ip,
            "keepalived_ipvs",
            "tcp_map",
            false,
            &[(&first, &last, &mark)],
        );
        let (buf, _, _) = b.finish();
        let ms: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        let add = attrs(&ms[1]);
        let elem = nested(&nested(&add[2].1)[0].1);
        assert_eq!(
            elem,
            [
                (1, [&[12u8, 0, 1, 0][..], &first].concat()),
                (10, [&[12u8, 0, 1, 0][..], &last].concat()),
                (2, [&[8u8, 0, 1, 0][..], &mark].concat()),
            ]
        );
        let del = attrs(&ms[2]);
        let elem = nested(&nested(&del[2].1)[0].1);
        assert_eq!(elem.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 10]);
    }
}
