//! keepalived's MIBs as trees of values the AgentX sub-agent serves.
//!
//! A [`MibTree`] holds every object instance of the subtrees a process registers, in
//! OID order, and answers the master agent's Get, GetNext and GetBulk as RFC 2741 §7.2.3
//! says. The trees are built from the configuration and the engines' state by the
//! functions of this module; the sub-agent (io-linux) only carries PDUs.
//!
//! Served: the KEEPALIVED-MIB global scalars ([`global`]).

pub mod global;
mod tree;

pub use tree::{MibTree, MAX_VARBINDS};

use crate::agentx::Oid;

/// KEEPALIVED-MIB: `enterprises.9586.100.5` (`KEEPALIVED-MIB::keepalived`).
pub const KEEPALIVED_MIB: [u32; 9] = [1, 3, 6, 1, 4, 1, 9586, 100, 5];

/// `keepalived.n`, or a deeper OID under it.
pub fn keepalived_oid(tail: &[u32]) -> Oid {
    let mut v = KEEPALIVED_MIB.to_vec();
    v.extend_from_slice(tail);
    Oid::new(v).expect("KEEPALIVED-MIB OIDs are short")
}
