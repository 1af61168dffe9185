//! keepalived-linux: the `keepalived-rs` daemon around the pure engine. For now it holds
//! the command line, the real-filesystem config source, the config dump and the checks
//! `-t` makes against this host (interfaces, script security).

pub mod check;
pub mod cli;
pub mod config_channel;
pub mod config_loader;
pub mod dump;
pub mod hostfs;
pub mod linux;
pub mod logging;
pub mod parent;
pub mod pcap_decode;
pub mod process;
pub mod security;
pub mod smtp;
