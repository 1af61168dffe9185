//! What every process of the daemon uses from the host: rtnetlink, scripts and their
//! security, the notify FIFO, signals, process tuning, the files it writes (pidfiles,
//! dumps), SMTP alerts, and the configuration files read from the real filesystem.

pub mod fifo;
pub mod files;
pub mod hostfs;
pub mod io_error;
pub mod netlink;
pub mod process;
pub mod script_user;
pub mod scripts;
pub mod security;
pub mod signals;
pub mod smtp;
pub mod smtp_reply;
pub mod tuning;
