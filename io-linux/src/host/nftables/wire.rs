//! nf_tables messages over nfnetlink, encoded by hand (`<linux/netfilter/nf_tables.h>`,
//! `<linux/netfilter/nfnetlink.h>`): a [`Batch`] is NFNL_MSG_BATCH_BEGIN, the messages
//! and NFNL_MSG_BATCH_END, applied by the kernel as one transaction. Every nf_tables
//! number attribute is big-endian; the netlink framing is the IPVS client's
//! ([`crate::ipvs::nl::Builder`]), whose 4-byte family header has the layout of
//! `struct nfgenmsg` (family, version, res_id).

use std::net::Ipv6Addr;

use crate::ipvs::nl::{Builder, NLM_F_ACK, NLM_F_REQUEST};

pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

/// `enum nf_tables_msg_types`.
pub(crate) mod msg {
    pub const NEWTABLE: u8 = 0;
    pub const DELTABLE: u8 = 2;
    pub const NEWCHAIN: u8 = 3;
    pub const NEWRULE: u8 = 6;
    pub const NEWSET: u8 = 9;
    pub const NEWSETELEM: u8 = 12;
    pub const DELSETELEM: u8 = 14;

    pub fn name(m: u8) -> &'static str {
        match m {
            NEWTABLE => "NFT_MSG_NEWTABLE",
            DELTABLE => "NFT_MSG_DELTABLE",
            NEWCHAIN => "NFT_MSG_NEWCHAIN",
            NEWRULE => "NFT_MSG_NEWRULE",
            NEWSET => "NFT_MSG_NEWSET",
            NEWSETELEM => "NFT_MSG_NEWSETELEM",
            DELSETELEM => "NFT_MSG_DELSETELEM",
            _ => "NFT_MSG_?",
        }
    }
}

/// The table families keepalived uses (`NFPROTO_IPV4`, `NFPROTO_IPV6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    Ip,
    Ip6,
}

impl Family {
    fn nfproto(self) -> u8 {
        match self {
            Family::Ip => 2,
            Family::Ip6 => 10,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
        }
    }
}

// Attribute numbers, from the enums of nf_tables.h.
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_HOOK: u16 = 4;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_CHAIN_TYPE: u16 = 7;
const NFTA_HOOK_HOOKNUM: u16 = 1;
const NFTA_HOOK_PRIORITY: u16 = 2;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_EXPRESSIONS: u16 = 4;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_EXPR_NAME: u16 = 1;
const NFTA_EXPR_DATA: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_KEY_LEN: u16 = 5;
const NFTA_SET_DATA_TYPE: u16 = 6;
const NFTA_SET_DATA_LEN: u16 = 7;
const NFTA_SET_DESC: u16 = 9;
const NFTA_SET_ID: u16 = 10;
const NFTA_SET_USERDATA: u16 = 13;
const NFTA_SET_EXPR: u16 = 17;
const NFTA_SET_DESC_CONCAT: u16 = 2;
const NFTA_SET_FIELD_LEN: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_KEY_END: u16 = 10;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_META_SREG: u16 = 3;
const NFTA_LOOKUP_SET: u16 = 1;
const NFTA_LOOKUP_SREG: u16 = 2;
const NFTA_LOOKUP_DREG: u16 = 3;
const NFTA_DUP_SREG_ADDR: u16 = 1;
const NFTA_DUP_SREG_DEV: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;

/// `NFTNL_UDATA_SET_KEYBYTEORDER`, and nft's `BYTEORDER_HOST_ENDIAN` / `_BIG_ENDIAN`:
/// how `nft list` prints a set's keys.
const UDATA_SET_KEYBYTEORDER: u8 = 0;
const UDATA_SET_DATABYTEORDER: u8 = 1;
const BYTEORDER_HOST: u32 = 1;
const BYTEORDER_BIG: u32 = 2;

/// nft's data types (nftables' `datatypes.h`); a concatenation is the types shifted by
/// `TYPE_BITS` each.
pub(crate) mod ty {
    pub const IPADDR: u32 = 7;
    pub const IP6ADDR: u32 = 8;
    pub const INET_SERVICE: u32 = 13;
    pub const MARK: u32 = 19;
    pub const IFINDEX: u32 = 20;
    pub const ICMPV6_TYPE: u32 = 29;
    pub const IFNAME: u32 = 41;
    pub const BITS: u32 = 6;
}

pub(crate) const NFT_SET_CONSTANT: u32 = 0x2;
pub(crate) const NFT_SET_INTERVAL: u32 = 0x4;
pub(crate) const NFT_SET_MAP: u32 = 0x8;
pub(crate) const NFT_SET_CONCAT: u32 = 0x80;

/// Netfilter hooks (`enum nf_inet_hooks`).
#[derive(Debug, Clone, Copy)]
pub enum Hook {
    Input = 1,
    Output = 3,
}

const NF_DROP: i32 = 0;
const NF_ACCEPT: i32 = 1;
const NFT_GOTO: i32 = -4;
const NFT_RETURN: i32 = -5;

const NFT_REG_VERDICT: u32 = 0;
pub(crate) const NFT_REG_1: u32 = 1;
pub(crate) const NFT_REG_2: u32 = 2;

pub(crate) const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub(crate) const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;

pub(crate) mod meta {
    pub const MARK: u32 = 3;
    pub const IIF: u32 = 4;
    pub const OIF: u32 = 5;
    pub const IIFNAME: u32 = 6;
    pub const OIFNAME: u32 = 7;
    pub const L4PROTO: u32 = 16;
    pub const OIFKIND: u32 = 27;
}

/// A rule's verdict.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'a> {
    Drop,
    Accept,
    Goto(&'a str),
    Return,
}

/// One expression of a rule.
#[derive(Debug, Clone, Copy)]
pub enum Expr<'a> {
    /// Load `len` bytes at `offset` of header `base` into `dreg`.
    Payload {
        base: u32,
        offset: u32,
        len: u32,
        dreg: u32,
    },
    /// Load a meta key (`meta::*`) into `dreg`.
    Meta {
        key: u32,
        dreg: u32,
    },
    /// Set a meta key (`meta::MARK`) from `sreg`.
    MetaSet {
        key: u32,
        sreg: u32,
    },
    /// Match if the key from `sreg` on is in the named set; for a map, its value goes
    /// to `dreg`.
    Lookup {
        sreg: u32,
        dreg: Option<u32>,
        set: &'a str,
    },
    /// Send a copy to the address in `addr` out of the interface whose index is in `dev`.
    Dup {
        addr: u32,
        dev: u32,
    },
    /// Match if `sreg` equals `data`.
    CmpEq {
        sreg: u32,
        data: &'a [u8],
    },
    /// `reg = (reg & mask) ^ xor`, over `mask.len()` bytes.
    Bitwise {
        reg: u32,
        mask: &'a [u8],
        xor: &'a [u8],
    },
    Counter,
    Verdict(Verdict<'a>),
}

fn be32(b: &mut Builder, kind: u16, v: u32) {
    b.put(kind, &v.to_be_bytes());
}

fn data_value(b: &mut Builder, kind: u16, v: &[u8]) {
    b.begin_nested(kind).put(NFTA_DATA_VALUE, v).end_nested();
}

impl Expr<'_> {
    fn emit(&self, b: &mut Builder) {
        let name = match self {
            Expr::Payload { .. } => "payload",
            Expr::Meta { .. } | Expr::MetaSet { .. } => "meta",
            Expr::Lookup { .. } => "lookup",
            Expr::Dup { .. } => "dup",
            Expr::CmpEq { .. } => "cmp",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Counter => "counter",
            Expr::Verdict(_) => "immediate",
        };
        b.begin_nested(NFTA_LIST_ELEM).str(NFTA_EXPR_NAME, name);
        b.begin_nested(NFTA_EXPR_DATA);
        match *self {
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                be32(b, NFTA_PAYLOAD_DREG, dreg);
                be32(b, NFTA_PAYLOAD_BASE, base);
                be32(b, NFTA_PAYLOAD_OFFSET, offset);
                be32(b, NFTA_PAYLOAD_LEN, len);
            }
            Expr::Meta { key, dreg } => {
                be32(b, NFTA_META_KEY, key);
                be32(b, NFTA_META_DREG, dreg);
            }
            Expr::MetaSet { key, sreg } => {
                be32(b, NFTA_META_KEY, key);
                be32(b, NFTA_META_SREG, sreg);
            }
            Expr::Lookup { sreg, dreg, set } => {
                be32(b, NFTA_LOOKUP_SREG, sreg);
                if let Some(d) = dreg {
                    be32(b, NFTA_LOOKUP_DREG, d);
                }
                b.str(NFTA_LOOKUP_SET, set);
            }
            Expr::Dup { addr, dev } => {
                be32(b, NFTA_DUP_SREG_ADDR, addr);
                be32(b, NFTA_DUP_SREG_DEV, dev);
            }
            Expr::CmpEq { sreg, data } => {
                be32(b, NFTA_CMP_SREG, sreg);
                be32(b, NFTA_CMP_OP, 0); // NFT_CMP_EQ
                data_value(b, NFTA_CMP_DATA, data);
            }
            Expr::Bitwise { reg, mask, xor } => {
                be32(b, NFTA_BITWISE_SREG, reg);
                be32(b, NFTA_BITWISE_DREG, reg);
                be32(b, NFTA_BITWISE_LEN, mask.len() as u32);
                data_value(b, NFTA_BITWISE_MASK, mask);
                data_value(b, NFTA_BITWISE_XOR, xor);
            }
            Expr::Counter => {}
            Expr::Verdict(v) => {
                be32(b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                b.begin_nested(NFTA_IMMEDIATE_DATA)
                    .begin_nested(NFTA_DATA_VERDICT);
                let (code, chain) = match v {
                    Verdict::Drop => (NF_DROP, None),
                    Verdict::Accept => (NF_ACCEPT, None),
                    Verdict::Goto(c) => (NFT_GOTO, Some(c)),
                    Verdict::Return => (NFT_RETURN, None),
                };
                be32(b, NFTA_VERDICT_CODE, code as u32);
                if let Some(c) = chain {
                    b.str(NFTA_VERDICT_CHAIN, c);
                }
                b.end_nested().end_nested();
            }
        }
        b.end_nested().end_nested();
    }
}

/// A set to create.
#[derive(Debug, Clone, Copy)]
pub struct SetSpec<'a> {
    pub name: &'a str,
    pub key_type: u32,
    pub key_len: u32,
    pub flags: u32,
    /// A map's value: its type and length.
    pub data: Option<(u32, u32)>,
}

/// What a set may have beyond a [`SetSpec`]: the lengths of the fields of a
/// concatenated key (`NFTA_SET_DESC_CONCAT`, for an interval set of concatenations) and
/// a counter in each element (`NFTA_SET_EXPR`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SetExtra<'a> {
    pub concat: &'a [u32],
    pub counter: bool,
}

/// A set element: its key, and its value in a map.
pub type Entry<'a> = (&'a [u8], Option<&'a [u8]>);

/// An element of an interval map: its first key, its last key and its value.
pub type RangeEntry<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Most interval elements in one message: an IPv6 address and port range with its value
/// takes some 80 bytes of the 16-bit attribute length.
pub(crate) const RANGES_PER_MSG: usize = 500;

/// What one message of a batch was, for naming it in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub seq: u32,
    pub msg: u8,
    pub family: Family,
    pub what: String,
}

/// Most set elements in one message: an attribute's length is 16 bits, and the
/// largest element (IPv6 address and interface name) takes 48 bytes of it.
pub(crate) const ELEMS_PER_MSG: usize = 1000;

/// A transaction being written: BATCH_BEGIN, messages, and BATCH_END at [`Batch::finish`].
#[derive(Debug)]
pub struct Batch {
    buf: Vec<u8>,
    seq: u32,
    set_id: u32,
    sent: Vec<Sent>,
}

impl Batch {
    /// A batch whose messages are numbered from `seq`.
    pub fn new(seq: u32) -> Batch {
        let mut b = Batch {
            buf: Vec::with_capacity(1024),
            seq,
            set_id: 0,
            sent: Vec::new(),
        };
        b.marker(NFNL_MSG_BATCH_BEGIN);
        b
    }

    /// BATCH_BEGIN or BATCH_END: `res_id` names the nf_tables subsystem (big-endian, as
    /// the kernel reads it; libnftnl writes host order, which the kernel also accepts).
    fn marker(&mut self, kind: u16) {
        let mut m = Builder::new(kind, NLM_F_REQUEST, self.seq, 0, 0).finish();
        m[18..20].copy_from_slice(&NFNL_SUBSYS_NFTABLES.to_be_bytes());
        self.buf.extend_from_slice(&m);
        self.seq = self.seq.wrapping_add(1);
    }

    fn message(
        &mut self,
        family: Family,
        m: u8,
        flags: u16,
        what: String,
        body: impl FnOnce(&mut Builder),
    ) {
        let kind = (NFNL_SUBSYS_NFTABLES << 8) | u16::from(m);
        let mut b = Builder::new(
            kind,
            NLM_F_REQUEST | NLM_F_ACK | flags,
            self.seq,
            family.nfproto(),
            0,
        );
        body(&mut b);
        self.buf.extend_from_slice(&b.finish());
        self.sent.push(Sent {
            seq: self.seq,
            msg: m,
            family,
            what,
        });
        self.seq = self.seq.wrapping_add(1);
    }

    /// Whether any message was added.
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    /// The bytes to send, what each message was, and the next free sequence number.
    pub fn finish(mut self) -> (Vec<u8>, Vec<Sent>, u32) {
        self.marker(NFNL_MSG_BATCH_END);
        (self.buf, self.sent, self.seq)
    }

    /// `nft add table FAMILY TABLE`.
    pub fn new_table(&mut self, family: Family, table: &str) {
        let what = format!("creating table {} {table}", family.name());
        self.message(family, msg::NEWTABLE, NLM_F_CREATE, what, |b| {
            b.str(NFTA_TABLE_NAME, table);
        });
    }

    /// `nft delete table FAMILY TABLE`.
    pub fn del_table(&mut self, family: Family, table: &str) {
        let what = format!("deleting table {} {table}", family.name());
        self.message(family, msg::DELTABLE, 0, what, |b| {
            b.str(NFTA_TABLE_NAME, table);
        });
    }

    /// A chain; a base chain (`type filter hook HOOK priority PRIORITY; policy accept`)
    /// when `hook` is given.
    pub fn new_chain(
        &mut self,
        family: Family,
        table: &str,
        name: &str,
        hook: Option<(Hook, i32)>,
    ) {
        let what = format!("creating chain {} {table} {name}", family.name());
        self.message(family, msg::NEWCHAIN, NLM_F_CREATE, what, |b| {
            b.str(NFTA_CHAIN_TABLE, table).str(NFTA_CHAIN_NAME, name);
            if let Some((hook, prio)) = hook {
                b.begin_nested(NFTA_CHAIN_HOOK);
                be32(b, NFTA_HOOK_HOOKNUM, hook as u32);
                be32(b, NFTA_HOOK_PRIORITY, prio as u32);
                b.end_nested();
                be32(b, NFTA_CHAIN_POLICY, NF_ACCEPT as u32);
                b.str(NFTA_CHAIN_TYPE, "filter");
            }
        });
    }

    /// A named set; its id is unique within the batch, as libnftnl numbers them.
    pub fn new_set(&mut self, family: Family, table: &str, set: SetSpec<'_>) {
        self.new_set_extra(family, table, set, SetExtra::default());
    }

    /// [`Batch::new_set`] with what [`SetExtra`] adds, where libnftnl puts it (the
    /// description after the id, the expression after the user data).
    pub fn new_set_extra(
        &mut self,
        family: Family,
        table: &str,
        set: SetSpec<'_>,
        extra: SetExtra<'_>,
    ) {
        self.set_id += 1;
        let id = self.set_id;
        let what = format!("creating set {} {table} {}", family.name(), set.name);
        self.message(family, msg::NEWSET, NLM_F_CREATE, what, |b| {
            b.str(NFTA_SET_TABLE, table).str(NFTA_SET_NAME, set.name);
            if set.flags != 0 {
                be32(b, NFTA_SET_FLAGS, set.flags);
            }
            be32(b, NFTA_SET_KEY_TYPE, set.key_type);
            be32(b, NFTA_SET_KEY_LEN, set.key_len);
            if let Some((data_type, data_len)) = set.data {
                be32(b, NFTA_SET_DATA_TYPE, data_type);
                be32(b, NFTA_SET_DATA_LEN, data_len);
            }
            be32(b, NFTA_SET_ID, id);
            if !extra.concat.is_empty() {
                b.begin_nested(NFTA_SET_DESC)
                    .begin_nested(NFTA_SET_DESC_CONCAT);
                for len in extra.concat {
                    b.begin_nested(NFTA_LIST_ELEM);
                    be32(b, NFTA_SET_FIELD_LEN, *len);
                    b.end_nested();
                }
                b.end_nested().end_nested();
            }
            let order = if matches!(set.key_type, ty::IPADDR | ty::IP6ADDR) {
                BYTEORDER_BIG
            } else {
                BYTEORDER_HOST
            };
            let mut udata = vec![UDATA_SET_KEYBYTEORDER, 4];
            udata.extend_from_slice(&order.to_ne_bytes());
            if set.data.is_some() {
                udata.extend_from_slice(&[UDATA_SET_DATABYTEORDER, 4]);
                udata.extend_from_slice(&BYTEORDER_HOST.to_ne_bytes());
            }
            b.put(NFTA_SET_USERDATA, &udata);
            if extra.counter {
                b.begin_nested(NFTA_SET_EXPR).str(NFTA_EXPR_NAME, "counter");
                b.begin_nested(NFTA_EXPR_DATA).end_nested();
                b.end_nested();
            }
        });
    }

    /// A rule appended to `chain`.
    pub fn new_rule(&mut self, family: Family, table: &str, chain: &str, exprs: &[Expr<'_>]) {
        let what = format!("adding a rule to chain {} {table} {chain}", family.name());
        let flags = NLM_F_CREATE | NLM_F_APPEND;
        self.message(family, msg::NEWRULE, flags, what, |b| {
            b.str(NFTA_RULE_TABLE, table).str(NFTA_RULE_CHAIN, chain);
            b.begin_nested(NFTA_RULE_EXPRESSIONS);
            for e in exprs {
                e.emit(b);
            }
            b.end_nested();
        });
    }

    /// Adds (`add`) or deletes keys of a set, [`ELEMS_PER_MSG`] to a message. Adding an
    /// element already there is no error (no NLM_F_EXCL); deleting one that is not
    /// there is (ENOENT), and fails the whole batch.
    pub fn elements(
        &mut self,
        family: Family,
        table: &str,
        set: &str,
        add: bool,
        keys: &[Vec<u8>],
    ) {
        let entries: Vec<Entry<'_>> = keys.iter().map(|k| (&k[..], None)).collect();
        self.entries(family, table, set, add, &entries);
    }

    /// As [`Batch::elements`], each key with a map's value if it has one (sent only
    /// when adding: a deletion goes by key).
    pub fn entries(
        &mut self,
        family: Family,
        table: &str,
        set: &str,
        add: bool,
        entries: &[Entry<'_>],
    ) {
        self.element_messages(
            family,
            table,
            set,
            add,
            entries,
            ELEMS_PER_MSG,
            |b, (k, v)| {
                data_value(b, NFTA_SET_ELEM_KEY, k);
                if let (Some(v), true) = (v, add) {
                    data_value(b, NFTA_SET_ELEM_DATA, v);
                }
            },
        );
    }

    /// Adds or deletes elements of an interval map, [`RANGES_PER_MSG`] to a message:
    /// each its first and last key (`NFTA_SET_ELEM_KEY`, `NFTA_SET_ELEM_KEY_END`) and,
    /// when adding, its value (a deletion goes by the keys).
    pub fn ranges(
        &mut self,
        family: Family,
        table: &str,
        set: &str,
        add: bool,
        ranges: &[RangeEntry<'_>],
    ) {
        self.element_messages(
            family,
            table,
            set,
            add,
            ranges,
            RANGES_PER_MSG,
            |b, (k, end, v)| {
                data_value(b, NFTA_SET_ELEM_KEY, k);
                data_value(b, NFTA_SET_ELEM_KEY_END, end);
                if add {
                    data_value(b, NFTA_SET_ELEM_DATA, v);
                }
            },
        );
    }

    /// NEWSETELEM / DELSETELEM messages for `items`, `per_msg` to a message, each item
    /// an NFTA_LIST_ELEM that `elem` fills.
    #[allow(clippy::too_many_arguments)]
    fn element_messages<T>(
        &mut self,
        family: Family,
        table: &str,
        set: &str,
        add: bool,
        items: &[T],
        per_msg: usize,
        elem: impl Fn(&mut Builder, &T),
    ) {
        for chunk in items.chunks(per_msg) {
            let (m, flags, verb) = if add {
                (msg::NEWSETELEM, NLM_F_CREATE, "adding")
            } else {
                (msg::DELSETELEM, 0, "deleting")
            };
            let what = format!(
                "{verb} {} element(s) of set {} {table} {set}",
                chunk.len(),
                family.name()
            );
            self.message(family, m, flags, what, |b| {
                b.str(NFTA_SET_ELEM_LIST_TABLE, table)
                    .str(NFTA_SET_ELEM_LIST_SET, set);
                b.begin_nested(NFTA_SET_ELEM_LIST_ELEMENTS);
                for item in chunk {
                    b.begin_nested(NFTA_LIST_ELEM);
                    elem(b, item);
                    b.end_nested();
                }
                b.end_nested();
            });
        }
    }

    /// How many bytes the batch holds so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
}

/// The key of an IPv6 address on an interface, by index (`ipv6_addr . iface_index`).
pub fn key_ll_index(addr: Ipv6Addr, ifindex: u32) -> Vec<u8> {
    let mut k = addr.octets().to_vec();
    k.extend_from_slice(&ifindex.to_ne_bytes());
    k
}

/// The key of an IPv6 address on an interface, by name (`ipv6_addr . ifname`): the name
/// NUL-padded to IFNAMSIZ.
pub fn key_ll_name(addr: Ipv6Addr, ifname: &str) -> Vec<u8> {
    let mut k = addr.octets().to_vec();
    let mut name = [0u8; 16];
    let n = ifname.len().min(15);
    name[..n].copy_from_slice(&ifname.as_bytes()[..n]);
    k.extend_from_slice(&name);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::nl::{messages, Attrs};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn batch_markers_frame_the_messages() {
        let mut b = Batch::new(100);
        b.new_table(Family::Ip, "keepalived");
        let (buf, sent, next) = b.finish();
        assert_eq!(next, 103);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].seq, 101);
        let msgs: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 3);
        // BATCH_BEGIN: len 20, type 0x10, NLM_F_REQUEST, seq 100, nfgenmsg AF_UNSPEC v0 res_id 10.
        assert_eq!(
            hex(&buf[..20]),
            format!(
                "14000000{}{}{}00000000{}",
                hex(&0x10u16.to_ne_bytes()),
                hex(&1u16.to_ne_bytes()),
                hex(&100u32.to_ne_bytes()),
                "0000000a"
            )
        );
        assert_eq!(msgs[2].msg_type(), 0x11);
        assert_eq!(msgs[2].seq(), 102);
    }

    #[test]
    fn new_table_bytes() {
        let mut b = Batch::new(1);
        b.new_table(Family::Ip6, "keepalived");
        let (buf, _, _) = b.finish();
        let m = &buf[20..buf.len() - 20];
        let mut want = Vec::new();
        want.extend_from_slice(&36u32.to_ne_bytes());
        want.extend_from_slice(&0x0a00u16.to_ne_bytes()); // NFT_MSG_NEWTABLE
        want.extend_from_slice(&(0x1 | 0x4 | 0x400u16).to_ne_bytes());
        want.extend_from_slice(&2u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[10, 0, 0, 0]); // NFPROTO_IPV6, NFNETLINK_V0
        want.extend_from_slice(&15u16.to_ne_bytes());
        want.extend_from_slice(&1u16.to_ne_bytes()); // NFTA_TABLE_NAME
        want.extend_from_slice(b"keepalived\0\0");
        assert_eq!(hex(m), hex(&want));
    }

    #[test]
    fn base_chain_carries_hook_priority_and_policy_big_endian() {
        let mut b = Batch::new(1);
        b.new_chain(Family::Ip, "keepalived", "in", Some((Hook::Input, -1)));
        let (buf, _, _) = b.finish();
        let m = messages(&buf).nth(1).unwrap().unwrap();
        assert_eq!(m.msg_type(), 0x0a03);
        let attrs: Vec<_> = Attrs::new(&m.payload()[4..]).map(Result::unwrap).collect();
        let kinds: Vec<u16> = attrs.iter().map(|a| a.0).collect();
        assert_eq!(kinds, [1, 3, 4, 5, 7]);
        let hook: Vec<_> = Attrs::new(attrs[2].1).map(Result::unwrap).collect();
        assert_eq!(hook[0], (1, &[0, 0, 0, 1][..]));
        assert_eq!(hook[1], (2, &[0xff, 0xff, 0xff, 0xff][..]));
        assert_eq!(attrs[3].1, &[0, 0, 0, 1]); // NF_ACCEPT
        assert_eq!(attrs[4].1, b"filter\0");
        // The hook attribute is marked nested.
        let off = 4 + 4 + 12 + 4 + 4;
        let raw = &m.payload()[off..off + 4];
        assert_eq!(u16::from_ne_bytes([raw[2], raw[3]]), 4 | 0x8000);
    }

    #[test]
    fn drop_rule_bytes_match_libnftnl_layout() {
        // `ip daddr @vips drop`, as keepalived's setup_rule() comment lays it out.
        let mut b = Batch::new(1);
        b.new_rule(
            Family::Ip,
            "keepalived",
            "in",
            &[
                Expr::Payload {
                    base: NFT_PAYLOAD_NETWORK_HEADER,
                    offset: 16,
                    len: 4,
                    dreg: NFT_REG_1,
                },
                Expr::Lookup {
                    sreg: NFT_REG_1,
                    dreg: None,
                    set: "vips",
                },
                Expr::Verdict(Verdict::Drop),
            ],
        );
        let (buf, _, _) = b.finish();
        let m = messages(&buf).nth(1).unwrap().unwrap();
        assert_eq!(m.msg_type(), 0x0a06);
        assert_eq!(m.flags(), 0x1 | 0x4 | 0x400 | 0x800);
        let attrs: Vec<_> = Attrs::new(&m.payload()[4..]).map(Result::unwrap).collect();
        assert_eq!(attrs[0], (1, &b"keepalived\0"[..]));
        assert_eq!(attrs[1], (2, &b"in\0"[..]));
        let exprs: Vec<_> = Attrs::new(attrs[2].1).map(Result::unwrap).collect();
        assert_eq!(exprs.len(), 3);
        let payload: Vec<_> = Attrs::new(exprs[0].1).map(Result::unwrap).collect();
        assert_eq!(payload[0], (1, &b"payload\0"[..]));
        let pdata: Vec<_> = Attrs::new(payload[1].1).map(Result::unwrap).collect();
        assert_eq!(
            pdata,
            [
                (1, &[0, 0, 0, 1][..]),
                (2, &[0, 0, 0, 1][..]),
                (3, &[0, 0, 0, 16][..]),
                (4, &[0, 0, 0, 4][..])
            ]
        );
        // 52 bytes for the payload element, as in keepalived's dump.
        assert_eq!(exprs[0].1.len() + 4, 52);
        let imm: Vec<_> = Attrs::new(exprs[2].1).map(Result::unwrap).collect();
        assert_eq!(imm[0], (1, &b"immediate\0"[..]));
        assert_eq!(exprs[2].1.len() + 4, 48);
        let idata: Vec<_> = Attrs::new(imm[1].1).map(Result::unwrap).collect();
        assert_eq!(idata[0], (1, &[0, 0, 0, 0][..]));
        // NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE NF_DROP } }
        let mut want = Vec::new();
        for v in [12u16, 0x8002, 8, 1] {
            want.extend_from_slice(&v.to_ne_bytes());
        }
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(idata[1].1, &want[..]);
    }

    #[test]
    fn goto_verdict_names_the_chain() {
        let mut b = Batch::new(1);
        b.new_rule(
            Family::Ip6,
            "k",
            "out",
            &[Expr::Verdict(Verdict::Goto("out_link_local"))],
        );
        let (buf, _, _) = b.finish();
        let m = messages(&buf).nth(1).unwrap().unwrap();
        let attrs: Vec<_> = Attrs::new(&m.payload()[4..]).map(Result::unwrap).collect();
        let exprs: Vec<_> = Attrs::new(attrs[2].1).map(Result::unwrap).collect();
        let imm: Vec<_> = Attrs::new(exprs[0].1).map(Result::unwrap).collect();
        let idata: Vec<_> = Attrs::new(imm[1].1).map(Result::unwrap).collect();
        let data: Vec<_> = Attrs::new(idata[1].1).map(Result::unwrap).collect();
        let verdict: Vec<_> = Attrs::new(data[0].1).map(Result::unwrap).collect();
        assert_eq!(verdict[0], (1, &(-4i32).to_be_bytes()[..]));
        assert_eq!(verdict[1], (2, &b"out_link_local\0"[..]));
    }

    #[test]
    fn set_carries_type_length_id_and_key_byteorder() {
        let mut b = Batch::new(1);
        let spec = SetSpec {
            name: "vips",
            key_type: ty::IPADDR,
            key_len: 4,
            flags: 0,
            data: None,
        };
        b.new_set(Family::Ip, "keepalived", spec);
        b.new_set(
            Family::Ip6,
            "keepalived",
            SetSpec {
                name: "neighbor-discovery",
                key_type: ty::ICMPV6_TYPE,
                key_len: 1,
                flags: NFT_SET_CONSTANT,
                data: None,
            },
        );
        let (buf, _, _) = b.finish();
        let ms: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        let a: Vec<_> = Attrs::new(&ms[1].payload()[4..])
            .map(Result::unwrap)
            .collect();
        let kinds: Vec<u16> = a.iter().map(|x| x.0).collect();
        assert_eq!(kinds, [1, 2, 4, 5, 10, 13]);
        assert_eq!(a[2].1, &[0, 0, 0, 7]);
        assert_eq!(a[3].1, &[0, 0, 0, 4]);
        assert_eq!(a[4].1, &[0, 0, 0, 1]);
        let mut ud = vec![0u8, 4];
        ud.extend_from_slice(&2u32.to_ne_bytes());
        assert_eq!(a[5].1, &ud[..]);
        let a: Vec<_> = Attrs::new(&ms[2].payload()[4..])
            .map(Result::unwrap)
            .collect();
        let kinds: Vec<u16> = a.iter().map(|x| x.0).collect();
        assert_eq!(kinds, [1, 2, 3, 4, 5, 10, 13]);
        assert_eq!(a[2].1, &[0, 0, 0, 2]);
        assert_eq!(a[5].1, &[0, 0, 0, 2], "the second set of the batch");
    }

    #[test]
    fn elements_are_chunked_and_keys_nested() {
        let keys: Vec<Vec<u8>> = (0..(ELEMS_PER_MSG as u32 + 1))
            .map(|i| i.to_be_bytes().to_vec())
            .collect();
        let mut b = Batch::new(1);
        b.elements(Family::Ip, "keepalived", "vips", true, &keys);
        b.elements(Family::Ip, "keepalived", "vips", false, &keys[..1]);
        let (buf, sent, _) = b.finish();
        assert_eq!(sent.len(), 3);
        let ms: Vec<_> = messages(&buf).map(Result::unwrap).collect();
        assert_eq!(ms[1].msg_type(), 0x0a0c);
        assert_eq!(ms[3].msg_type(), 0x0a0e);
        assert_eq!(ms[3].flags(), 0x5, "a deletion is not NLM_F_CREATE");
        let a: Vec<_> = Attrs::new(&ms[2].payload()[4..])
            .map(Result::unwrap)
            .collect();
        assert_eq!(a[0], (1, &b"keepalived\0"[..]));
        assert_eq!(a[1], (2, &b"vips\0"[..]));
        let elems: Vec<_> = Attrs::new(a[2].1).map(Result::unwrap).collect();
        assert_eq!(elems.len(), 1);
        // NFTA_LIST_ELEM { NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE 0.0.3.232 } }
        let key: Vec<_> = Attrs::new(elems[0].1).map(Result::unwrap).collect();
        assert_eq!(key[0].0, 1);
        let value: Vec<_> = Attrs::new(key[0].1).map(Result::unwrap).collect();
        assert_eq!(value[0], (1, &1000u32.to_be_bytes()[..]));
    }

    #[test]
    fn link_local_keys() {
        let a: Ipv6Addr = "fe80::100".parse().unwrap();
        let k = key_ll_index(a, 3);
        assert_eq!(k.len(), 20);
        assert_eq!(&k[16..], &3u32.to_ne_bytes());
        let k = key_ll_name(a, "d0");
        assert_eq!(k.len(), 32);
        assert_eq!(&k[16..19], b"d0\0");
        assert_eq!(key_ll_name(a, "a-very-long-interface-name").len(), 32);
    }
}
