//! What goes into the checker engine and what comes out. Every type is serde so a run
//! can be recorded and replayed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::ipvs::IpvsOp;
use super::probe::{ProbeId, ProbeOutcome, ProbeSpec};
use crate::config::model::{Command, Config};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CheckInput {
    /// A probe started by [`CheckOutput::StartProbe`] ended.
    ProbeDone { id: ProbeId, outcome: ProbeOutcome },
    /// The probe [`CheckOutput::StartProbe`] asked for began only now: the engine's
    /// watchdog (timeout + [`super::PROBE_GRACE_US`]) counts from here. A host whose
    /// probes wait to run (thousands due at once on a busy machine) says so, so the wait
    /// is not held against the real server; a host that starts probes at once need not.
    ProbeStarted { id: ProbeId },
    /// An address appeared on (or left) this host: a virtual server with `ha_suspend`
    /// checks only while its address is here (`update_checker_activity()`).
    AddressPresent { addr: IpAddr, present: bool },
    /// A `track_file`'s value changed (or was read at a reload): FILE_CHECKs on it
    /// follow (`update_track_file_status()`).
    TrackFile { name: String, value: i64 },
    /// A `bfd_instance`'s session went Up (`up`) or Down, as the BFD process reports it
    /// (`bfd_event_t`): each BFD_CHECK naming it moves its real server through the
    /// usual up/down path (`bfd_check_handle_event()`).
    Bfd { name: String, up: bool },
    /// SIGHUP with the new (completed) configuration.
    Reload(Box<Config>),
    /// SIGTERM: remove what was configured; with `omega`, run the down notifiers.
    Shutdown,
}

/// Which notify script a [`CheckOutput::Notify`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckNotifyKind {
    /// A real server's `notify_up`.
    RealServerUp,
    /// A real server's `notify_down`.
    RealServerDown,
    /// A virtual server's `quorum_up`.
    QuorumUp,
    /// A virtual server's `quorum_down`.
    QuorumDown,
}

// StartProbe is the bulk of the outputs; boxing it would only add an allocation to
// each probe, and outputs live in a short queue.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CheckOutput {
    /// Start this probe now; report with [`CheckInput::ProbeDone`].
    StartProbe(ProbeSpec),
    /// Run a notify script with exactly this argv.
    Notify {
        kind: CheckNotifyKind,
        command: Command,
    },
    /// A line for `notify_fifo` / `lvs_notify_fifo`, newline included (and, unlike
    /// keepalived, no NUL after it).
    Fifo { line: String },
    /// An e-mail for `notification_email` through `smtp_server`; the sender puts
    /// `[router_id] ` before the subject, as for VRRP alerts.
    SmtpAlert { subject: String, body: String },
    /// A change to the kernel's IPVS table.
    Ipvs(IpvsOp),
    /// A log line; the servers it is about in keepalived's `[ip]:proto:port` form.
    Log {
        virtual_server: Option<String>,
        real_server: Option<String>,
        message: String,
    },
}
