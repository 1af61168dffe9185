//! What the checker engine tells the world: notify scripts, FIFO lines, SMTP alerts and
//! log lines, as keepalived's `do_rs_notifies()`, `do_vs_notifies()` and `smtp_alert()`
//! produce them.

use super::io::{CheckNotifyKind, CheckOutput};
use super::CheckEngine;

impl CheckEngine {
    /// `do_rs_notifies()`: notify_up / notify_down and the FIFO line, by the server's
    /// current state.
    pub(super) fn rs_notifies(&mut self, vi: usize, ri: usize) {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        let (cmd, kind) = if r.alive {
            (&r.cfg.notify_up, CheckNotifyKind::RealServerUp)
        } else {
            (&r.cfg.notify_down, CheckNotifyKind::RealServerDown)
        };
        if let Some(c) = cmd {
            self.out.push_back(CheckOutput::Notify {
                kind,
                command: (**c).clone(),
            });
        }
        if self.fifo_enabled() {
            // notify_fifo_rs(): "RS %s %s %s\n" (without the NUL keepalived writes).
            let line = format!(
                "RS {} {} {}\n",
                r.label,
                v.label,
                if r.alive { "UP" } else { "DOWN" }
            );
            self.out.push_back(CheckOutput::Fifo { line });
        }
    }

    /// `do_vs_notifies()`: quorum_up / quorum_down, the FIFO line, the SMTP alert.
    pub(super) fn vs_notifies(
        &mut self,
        vi: usize,
        init: bool,
        threshold: i64,
        sum: i64,
        stopping: bool,
    ) {
        let v = &self.vss[vi];
        if stopping && !v.cfg.omega {
            return;
        }
        let up = v.quorum_up;
        let (cmd, kind) = if up {
            (&v.cfg.quorum_up, CheckNotifyKind::QuorumUp)
        } else {
            (&v.cfg.quorum_down, CheckNotifyKind::QuorumDown)
        };
        if let Some(c) = cmd {
            self.out.push_back(CheckOutput::Notify {
                kind,
                command: c.clone(),
            });
        }
        let word = if up { "UP" } else { "DOWN" };
        if self.fifo_enabled() {
            // notify_fifo_vs(): "VS %s %s\n".
            self.out.push_back(CheckOutput::Fifo {
                line: format!("VS {} {word}\n", v.label),
            });
        }
        if v.cfg.smtp_alert == Some(true) {
            let body = if stopping {
                "=> Shutting down <=".to_string()
            } else {
                let what = match (up, init) {
                    (true, true) => "Starting with quorum up",
                    (true, false) => "Gained quorum",
                    (false, true) => "Starting with quorum down",
                    (false, false) => "Lost quorum",
                };
                format!(
                    "=> {what} {}+{}={threshold} <= {sum} <=",
                    v.quorum, v.hysteresis
                )
            };
            let subject = format!("Virtualserver {} - {word}", v.label);
            self.smtp(subject, body);
        }
    }

    pub(super) fn fifo_enabled(&self) -> bool {
        self.global.notify_fifo.is_some() || self.global.lvs_notify_fifo.is_some()
    }

    /// `smtp_alert()`: only with an smtp_server and someone to write to.
    pub(super) fn smtp(&mut self, subject: String, body: String) {
        if self.global.smtp_server.is_none() || self.global.notification_email.is_empty() {
            return;
        }
        self.out.push_back(CheckOutput::SmtpAlert { subject, body });
    }

    pub(super) fn log(&mut self, vs: Option<&str>, rs: Option<&str>, message: String) {
        self.out.push_back(CheckOutput::Log {
            virtual_server: vs.map(str::to_string),
            real_server: rs.map(str::to_string),
            message,
        });
    }
}
