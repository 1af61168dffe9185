//! keepalived-engine: the pure core of keepalived-rs.
//!
//! Nothing in this crate performs I/O, reads a clock or draws unseeded randomness: the
//! caller hands in configuration text (through [`config::ConfigFs`]), packets and time,
//! and takes decisions out.

pub mod agentx;
pub mod bfd;
pub mod check;
pub mod config;
pub mod snmp;
pub mod time;
pub mod vrrp;
pub mod wire;
