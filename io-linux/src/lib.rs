//! keepalived-linux: the `keepalived-rs` daemon around the pure engine, laid out by
//! process as keepalived is (`keepalived/core/main.c`): the [`parent`] loads and vets the
//! configuration and supervises the [`vrrp`] child, the [`checker`] child and the [`bfd`]
//! child, each of which runs its engine on the shared driver (`keepalived-driver`); the
//! BFD child tells the other two of its sessions' states down pipes ([`bfd::events`]). What more than one
//! process uses is in [`host`] (netlink, scripts, signals, files), the kernel's IPVS table
//! in [`ipvs`], and the one-shot commands (`-d`, `--decode-pcap`, `--genhash`) in
//! [`tools`].

pub mod bfd;
pub mod checker;
pub mod cli;
pub mod config_channel;
pub mod host;
pub mod ipvs;
pub mod logging;
pub mod metrics;
pub mod parent;
pub mod snmp;
pub mod tools;
pub mod version;
pub mod vrrp;
