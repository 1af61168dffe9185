//! The `nftables_ipvs` table kept as the checker engine's fwmark ranges say
//! ([`CheckEngine::fwmark_ranges`]): the addresses of a `virtual_server_group` marked
//! with the fwmark of the group's IPVS service (`check_nftables.c`).
//!
//! As keepalived: a family's table and chain are made with its first element, a
//! protocol's map and rule with the first element of that protocol, an element goes in
//! when its virtual server is set up and out when a reload drops it; the tables stay
//! while the checker runs and are deleted at a stop unless `-I` (`nft_ipvs_end()`,
//! `clear_services()`). The table name is the one the first table was made with: a
//! reload cannot change it (`Cannot change IPVS nftables table name at a reload`).
//!
//! Unlike keepalived, a change goes in one batch (keepalived sends one per element);
//! when the kernel refuses it, every element is tried again in a batch of its own, as
//! keepalived sends them, so one bad element (an address range overlapping another
//! group's) costs only itself. Tables of this name left by a crashed run are deleted at
//! start, where keepalived would append a second rule to their chain.
//!
//! [`CheckEngine::fwmark_ranges`]: keepalived_engine::check::CheckEngine::fwmark_ranges

use std::collections::BTreeSet;

use keepalived_engine::check::FwmarkRange;
use keepalived_engine::config::model::{GlobalDefs, Protocol};
use tracing::{debug, error, info};

use crate::host::nftables::ipvs::{family_of, map_name, mark_value, range_key, IpvsOptions};
use crate::host::nftables::wire::Batch;
use crate::host::nftables::{Family, NftSocket};

fn options(g: &GlobalDefs) -> Option<IpvsOptions> {
    Some(IpvsOptions {
        table: g.nftables_ipvs.clone()?,
        priority: g.nftables_ipvs_priority.unwrap_or(-1),
        counters: g.nftables_counters,
    })
}

/// What the kernel holds of the table.
#[derive(Debug, Default, Clone)]
struct Made {
    /// Families whose table and chain `in` exist.
    tables: BTreeSet<Family>,
    /// Maps, with their rule, that exist.
    maps: BTreeSet<(Family, Protocol)>,
    /// The elements in the maps.
    ranges: Vec<FwmarkRange>,
}

pub(crate) struct FwmarkTable {
    /// None without `nftables_ipvs`.
    opts: Option<IpvsOptions>,
    sock: Option<NftSocket>,
    made: Made,
    /// The ranges last asked for, so an unchanged wish costs one comparison.
    asked: Vec<FwmarkRange>,
}

impl FwmarkTable {
    /// The table for `g`'s `nftables_ipvs`; leftovers of its name are deleted.
    pub(crate) fn start(g: &GlobalDefs) -> FwmarkTable {
        let mut t = FwmarkTable {
            opts: options(g),
            sock: None,
            made: Made::default(),
            asked: Vec::new(),
        };
        if let Some(o) = t.opts.clone() {
            for family in [Family::Ip, Family::Ip6] {
                let Some(sock) = t.socket() else { break };
                let mut b = sock.batch();
                b.del_table(family, &o.table);
                match sock.send(b) {
                    Ok(()) => info!(
                        "nftables: deleted table {} {} left by an earlier run",
                        family.name(),
                        o.table
                    ),
                    Err(e) if e.errno() == Some(libc::ENOENT) => {}
                    Err(e) => debug!("nftables: {e}"),
                }
            }
        }
        t
    }

    /// A reload's globals: priority and counters apply to what is made from now on; the
    /// table name only while no table is made.
    pub(crate) fn reload(&mut self, g: &GlobalDefs) {
        let new = options(g);
        if self.made.tables.is_empty() {
            self.opts = new;
            return;
        }
        let Some(cur) = self.opts.as_mut() else {
            return;
        };
        match new {
            Some(n) if n.table == cur.table => *cur = n,
            _ => info!("Cannot change IPVS nftables table name at a reload - please restart"),
        }
    }

    fn socket(&mut self) -> Option<&mut NftSocket> {
        if self.sock.is_none() {
            match NftSocket::open() {
                Ok(s) => self.sock = Some(s),
                Err(e) => {
                    error!("nftables_ipvs: {e}: {}", e.advice());
                    return None;
                }
            }
        }
        self.sock.as_mut()
    }

    /// Makes the kernel's maps hold `wanted`: elements no longer wanted leave, then the
    /// new ones go in, with the tables, maps and rules they need.
    pub(crate) fn follow(&mut self, wanted: &[FwmarkRange]) {
        if self.asked == wanted {
            return;
        }
        self.asked = wanted.to_vec();
        let Some(opts) = self.opts.clone() else {
            return;
        };
        let gone: Vec<FwmarkRange> = (self.made.ranges.iter())
            .filter(|r| !wanted.contains(r))
            .copied()
            .collect();
        let new: Vec<FwmarkRange> = (wanted.iter())
            .filter(|r| !self.made.ranges.contains(r))
            .copied()
            .collect();
        let Some(sock) = self.socket() else { return };
        let mut batch = sock.batch();
        let mut made = self.made.clone();
        for r in &gone {
            element(&mut batch, &opts, r, false);
        }
        made.ranges.retain(|r| !gone.contains(r));
        for r in &new {
            make_room(&mut batch, &opts, &mut made, r);
            element(&mut batch, &opts, r, true);
            made.ranges.push(*r);
        }
        let sent = match self.socket() {
            Some(sock) => sock.send(batch),
            None => return,
        };
        match sent {
            Ok(()) => {
                debug!(
                    "nftables_ipvs: {} element(s) in, {} out",
                    new.len(),
                    gone.len()
                );
                self.made = made;
            }
            Err(e) => {
                error!("nftables_ipvs: {e}; trying each element on its own");
                self.one_by_one(&opts, &gone, &new);
            }
        }
    }

    /// keepalived's way: one batch per element (`nft_update_ipvs_entry()`), each failure
    /// logged and the rest carried on.
    fn one_by_one(&mut self, opts: &IpvsOptions, gone: &[FwmarkRange], new: &[FwmarkRange]) {
        for (r, add) in gone
            .iter()
            .map(|r| (r, false))
            .chain(new.iter().map(|r| (r, true)))
        {
            let Some(sock) = self.socket() else { return };
            let mut batch = sock.batch();
            let mut made = self.made.clone();
            if add {
                make_room(&mut batch, opts, &mut made, r);
            }
            element(&mut batch, opts, r, add);
            let sent = match self.socket() {
                Some(sock) => sock.send(batch),
                None => return,
            };
            match sent {
                Ok(()) => {
                    if add {
                        made.ranges.push(*r);
                    } else {
                        made.ranges.retain(|m| m != r);
                    }
                    self.made = made;
                }
                // Already gone: the kernel and the wish agree.
                Err(e) if !add && e.errno() == Some(libc::ENOENT) => {
                    self.made.ranges.retain(|m| m != r);
                }
                Err(e) => error!("nftables_ipvs: {}: {e}", describe(r)),
            }
        }
    }

    /// A stop (`nft_ipvs_end()`): the tables made are deleted, in one batch.
    pub(crate) fn release(&mut self) {
        let Some(opts) = self.opts.clone() else {
            return;
        };
        if self.made.tables.is_empty() {
            return;
        }
        let tables = std::mem::take(&mut self.made.tables);
        self.made = Made::default();
        let Some(sock) = self.socket() else { return };
        let mut batch = sock.batch();
        for family in tables {
            batch.del_table(family, &opts.table);
        }
        if let Err(e) = sock.send(batch) {
            error!("nftables_ipvs: {e}");
        }
    }
}

/// The table and map `r` goes in, where `made` says they are not yet.
fn make_room(batch: &mut Batch, opts: &IpvsOptions, made: &mut Made, r: &FwmarkRange) {
    let family = family_of(r.first);
    if made.tables.insert(family) {
        opts.setup_table(batch, family);
    }
    if made.maps.insert((family, r.protocol)) {
        opts.setup_map(batch, family, r.protocol);
    }
}

/// `nft add/delete element FAMILY TABLE MAP { first . port - last . port : mark }`.
fn element(batch: &mut Batch, opts: &IpvsOptions, r: &FwmarkRange, add: bool) {
    let first = range_key(r.first, r.port);
    let last = range_key(r.last, r.port);
    let mark = mark_value(r.mark);
    batch.ranges(
        family_of(r.first),
        &opts.table,
        map_name(r.protocol),
        add,
        &[(&first, &last, &mark)],
    );
}

/// `first-last port proto → mark`, for a log line.
fn describe(r: &FwmarkRange) -> String {
    format!(
        "{}-{} port {} {} → fwmark {}",
        r.first,
        r.last,
        r.port,
        map_name(r.protocol),
        r.mark
    )
}
