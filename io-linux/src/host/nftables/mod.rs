//! nf_tables over netlink, without the `nft` binary or libnftnl: the messages
//! ([`wire`]), keepalived's VRRP ruleset built from them ([`ruleset`]), the checker's
//! `nftables_ipvs` table ([`ipvs`]) and the socket batches go over ([`socket`]).

pub(crate) mod ipvs;
pub(crate) mod ruleset;
pub(crate) mod socket;
pub(crate) mod wire;

pub(crate) use ruleset::{Options, SetKind};
pub(crate) use socket::{NftError, NftSocket};
pub(crate) use wire::{key_ll_index, key_ll_name, Family};
