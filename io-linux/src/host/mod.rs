//! What every process of the daemon uses from the host: rtnetlink, scripts and their
//! security, the notify FIFO, signals, process tuning, the files it writes (pidfiles,
//! dumps), SMTP alerts, and the configuration files read from the real filesystem.

pub mod address_monitor;
pub(crate) mod auto_priority;
pub mod boot_delay;
pub mod config_host_check;
pub mod core_dump;
pub(crate) mod fifo;
pub mod file_watch;
pub(crate) mod files;
pub mod hostfs;
pub(crate) mod io_error;
pub(crate) mod netlink;
pub(crate) mod nftables;
pub mod process;
pub mod process_name;
pub(crate) mod process_watch;
pub mod script_user;
pub(crate) mod scripts;
pub(crate) mod sd_notify;
pub mod security;
pub(crate) mod signals;
pub(crate) mod smtp;
pub(crate) mod smtp_reply;
pub(crate) mod tuning;
pub mod umask;
