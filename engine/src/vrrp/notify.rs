//! Notify scripts and FIFO lines for a state change (`notify_instance_exec()`,
//! `notify_fifo()`, `keepalived/vrrp/vrrp_notify.c`).

use crate::config::model::{Command, Notifies};

use super::io::{NotifyKind, Output, State};
use super::outbox::Outbox;

/// Who a notify is about: keepalived's first FIFO word and generic-notify argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Instance(&'a str),
    Group(&'a str),
}

impl Subject<'_> {
    fn words(&self) -> (&'static str, &str) {
        match self {
            Subject::Instance(n) => ("INSTANCE", n),
            Subject::Group(n) => ("GROUP", n),
        }
    }
}

/// The e-mail for a state change when `smtp_alert` is on (`vrrp_smtp_notifier()`,
/// `vrrp_sync_smtp_notifier()`): FAULT is not mailed with `no_email_faults`.
pub fn smtp_alert(out: &mut Outbox, who: Subject<'_>, state: State, no_email_faults: bool) {
    if state == State::Fault && no_email_faults {
        return;
    }
    let (what, instance_body, group_body) = match state {
        State::Master => (
            "Entering MASTER state",
            "=> VRRP Instance is now owning VRRP VIPs <=",
            "=> All VRRP group instances are now in MASTER state <=",
        ),
        State::Backup => (
            "Entering BACKUP state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
            "=> All VRRP group instances are now in BACKUP state <=",
        ),
        State::Fault => (
            "Entering FAULT state",
            "=> VRRP Instance is no longer owning VRRP VIPs <=",
            "=> All VRRP group instances are now in FAULT state <=",
        ),
        State::Stop => (
            "Stopping",
            "=> VRRP Instance stopping <=",
            "=> All VRRP group instances are now stopping <=",
        ),
        State::Init => return,
    };
    let (subject, body) = match who {
        Subject::Instance(n) => (format!("VRRP Instance {n} - {what}"), instance_body),
        Subject::Group(n) => (format!("VRRP Group {n} - {what}"), group_body),
    };
    out.push_back(Output::SmtpAlert {
        subject,
        body: body.to_string(),
    });
}

/// The specific script first, then the generic `notify` with `TYPE NAME STATE PRIORITY`
/// appended, then the FIFO line (keepalived's order). `state_word` is MASTER, BACKUP,
/// FAULT, STOP or DELETED; groups report priority 0.
pub fn state_change(
    out: &mut Outbox,
    who: Subject<'_>,
    notifies: &Notifies,
    kind: NotifyKind,
    state_word: &str,
    priority: u8,
    fifo: bool,
) {
    let (ty, name) = who.words();
    let specific = match kind {
        NotifyKind::Master => notifies.notify_master.as_ref(),
        NotifyKind::Backup => notifies.notify_backup.as_ref(),
        NotifyKind::Fault => notifies.notify_fault.as_ref(),
        NotifyKind::Stop => notifies.notify_stop.as_ref(),
        _ => None,
    };
    if let Some(c) = specific {
        out.push_back(Output::Notify {
            instance: name.to_string(),
            kind,
            command: c.clone(),
        });
    }
    if let Some(c) = &notifies.notify {
        let mut command = c.clone();
        command.argv.extend([
            ty.to_string(),
            name.to_string(),
            state_word.to_string(),
            priority.to_string(),
        ]);
        out.push_back(Output::Notify {
            instance: name.to_string(),
            kind: NotifyKind::Generic,
            command,
        });
    }
    if fifo {
        out.push_back(Output::Fifo {
            line: fifo_line(ty, name, state_word, priority),
        });
    }
}

/// `INSTANCE "VI_1" MASTER 100\n` (`notify_fifo()`).
pub fn fifo_line(ty: &str, name: &str, word: &str, priority: u8) -> String {
    format!("{ty} \"{name}\" {word} {priority}\n")
}

/// The notify kind and word for a state.
pub fn kind_of(state: State) -> Option<NotifyKind> {
    match state {
        State::Master => Some(NotifyKind::Master),
        State::Backup => Some(NotifyKind::Backup),
        State::Fault => Some(NotifyKind::Fault),
        State::Stop => Some(NotifyKind::Stop),
        State::Init => None,
    }
}

/// `notify_master_rx_lower_pri`: configured argv only, plus its FIFO event.
pub fn master_rx_lower_pri(
    out: &mut Outbox,
    name: &str,
    cmd: Option<&Command>,
    priority: u8,
    fifo: bool,
) {
    if let Some(c) = cmd {
        out.push_back(Output::Notify {
            instance: name.to_string(),
            kind: NotifyKind::MasterRxLowerPri,
            command: c.clone(),
        });
    }
    if fifo {
        out.push_back(Output::Fifo {
            line: fifo_line("INSTANCE", name, "MASTER_RX_LOWER_PRI", priority),
        });
    }
}
