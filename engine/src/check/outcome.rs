//! What a probe's outcome does to its checker: keepalived's per-type epilogs (retries,
//! HTTP's URL walk, MISC_CHECK's dynamic weight), and a checker's transition carried to
//! its real server (`update_svr_checker_state()`).

use super::probe::ProbeOutcome;
use super::runtime::Loc;
use super::CheckEngine;
use crate::config::model::CheckerKind;
use crate::time::{us, Instant};

impl CheckEngine {
    fn log_all_failures(&self, loc: Loc) -> bool {
        self.global.checker_log_all_failures || self.checker(loc).cfg.log_all_failures
    }

    pub(super) fn probe_done(&mut self, now: Instant, loc: Loc, outcome: ProbeOutcome) {
        self.set_timer(loc, None, None);
        let (vi, ri, _) = loc;
        let vlabel = self.vss[vi].label.clone();
        let rlabel = self.vss[vi].rss[ri].label.clone();
        if let ProbeOutcome::Down { reason } = &outcome {
            if self.checker(loc).is_up && self.log_all_failures(loc) {
                let kw = self.checker(loc).cfg.kind.keyword();
                self.log(
                    Some(&vlabel),
                    Some(&rlabel),
                    format!("{kw} on {rlabel} failed: {reason}"),
                );
            }
        }
        let c = self.checker(loc);
        let delay = match &c.cfg.kind {
            CheckerKind::HttpGet(_) | CheckerKind::SslGet(_) => self.http_epilog(loc, &outcome),
            CheckerKind::MiscCheck(_) => self.misc_epilog(loc, &outcome),
            _ => {
                let ok = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
                self.generic_epilog(loc, ok)
            }
        };
        let c = self.checker(loc);
        let base = if matches!(c.cfg.kind, CheckerKind::MiscCheck(_)) {
            // misc_check_child_thread(): next run = last_ran + delay.
            c.started
        } else {
            now
        };
        let next = (base + us(delay)).max(now + us(1));
        self.set_timer(loc, Some(next), None);
    }

    /// `tcp_epilog()`, `check_tcp.c` (also SMTP, DNS, UDP and PING, which share its
    /// retry logic). Returns the delay to the next run.
    fn generic_epilog(&mut self, loc: Loc, success: bool) -> u64 {
        let c = self.checker(loc);
        let sched = c.cfg.schedule.clone();
        let kw = c.cfg.kind.keyword();
        // check_tcp.c writes "TCP CHECK" in its alerts.
        let alert_kw = kw.replace('_', " ");
        let mut delay = sched.delay_loop_us;
        if success || ((c.is_up || !c.has_run) && c.retry_it >= sched.retry) {
            let (is_up, has_run) = (c.is_up, c.has_run);
            self.checker_mut(loc).retry_it = 0;
            if success && (!is_up || !has_run) {
                self.checker_transition(loc, true, format!("=> {alert_kw} succeed on service <="));
            } else if !success && (is_up || !has_run) {
                let msg = if sched.retry > 0 && has_run {
                    format!("{kw} failed after {} retries", sched.retry)
                } else {
                    format!("{kw} failed")
                };
                let (vi, ri, _) = loc;
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                self.log(Some(&vl), Some(&rl), msg);
                self.checker_transition(loc, false, format!("=> {alert_kw} failed on service <="));
            }
        } else if c.is_up {
            delay = sched.delay_before_retry_us;
            self.checker_mut(loc).retry_it += 1;
        }
        self.checker_mut(loc).has_run = true;
        delay
    }

    /// `epilog()`, `check_http.c`: one URL per run; all URLs must pass in turn; a URL
    /// fails after `retry` retries `delay_before_retry` apart.
    fn http_epilog(&mut self, loc: Loc, outcome: &ProbeOutcome) -> u64 {
        let success = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
        let c = self.checker(loc);
        let sched = c.cfg.schedule.clone();
        let (n_urls, fast_recovery) = match &c.cfg.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => (h.urls.len(), h.fast_recovery),
            _ => (1, false),
        };
        let mut urls_done = false;
        {
            let c = self.checker_mut(loc);
            if success {
                c.url_idx += 1;
                if c.url_idx >= n_urls {
                    urls_done = true;
                }
                c.retry_it = 0;
            } else {
                c.retry_it = c.retry_it.saturating_add(1);
            }
        }
        let c = self.checker(loc);
        if success && urls_done && !c.failed_url {
            if !c.is_up || !c.has_run {
                self.checker_transition(loc, true, "=> CHECK succeed on service <=".into());
                self.checker_mut(loc).has_run = true;
            }
            let c = self.checker_mut(loc);
            c.url_idx = 0;
            c.retry_it = 0;
        } else if !success && c.retry_it > sched.retry {
            if c.is_up || !c.has_run {
                let (vi, ri, _) = loc;
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                let kw = if matches!(c.cfg.kind, CheckerKind::SslGet(_)) {
                    "SSL"
                } else {
                    "HTTP"
                };
                self.log(
                    Some(&vl),
                    Some(&rl),
                    format!("{kw}_CHECK on service {rl} failed"),
                );
                self.checker_transition(
                    loc,
                    false,
                    "=> CHECK failed on service : HTTP/SSL request failed <=".into(),
                );
            }
            self.checker_mut(loc).failed_url = true;
        } else if success && self.checker(loc).failed_url {
            // "If the failed URL is now up, check all the URLs".
            let c = self.checker_mut(loc);
            c.failed_url = false;
            c.url_idx = 0;
            c.retry_it = 0;
        }
        let c = self.checker_mut(loc);
        let delay = if success {
            if !c.has_run {
                c.retry_it = sched.retry;
            }
            sched.delay_loop_us
        } else if c.failed_url {
            sched.delay_before_retry_us.max(sched.delay_loop_us)
        } else {
            sched.delay_before_retry_us
        };
        if fast_recovery && (!c.has_run || (!c.is_up && !c.failed_url)) {
            return 0;
        }
        delay
    }

    /// `misc_check_child_thread()`: exit 0 passes; with `misc_dynamic` 2..=255 passes
    /// and sets the weight; anything else fails after `retry` retries.
    fn misc_epilog(&mut self, loc: Loc, outcome: &ProbeOutcome) -> u64 {
        let c = self.checker(loc);
        let dynamic = matches!(&c.cfg.kind, CheckerKind::MiscCheck(m) if m.misc_dynamic);
        let sched = c.cfg.schedule.clone();
        let status = match outcome {
            ProbeOutcome::Up => Some(0),
            ProbeOutcome::Exited(s) => u32::try_from(*s).ok().filter(|s| *s <= 255),
            ProbeOutcome::Down { .. } => None,
        };
        let success = status == Some(0) || (dynamic && matches!(status, Some(2..=255)));
        let (vi, ri, _) = loc;
        if success {
            let new_dyn = status.filter(|s| dynamic && *s >= 2);
            if new_dyn != c.dyn_status {
                let old = self.vss[vi].rss[ri].effective_weight();
                self.checker_mut(loc).dyn_status = new_dyn;
                self.update_svr_wgt(vi, ri, old);
            }
            self.checker_mut(loc).last_exit = status.unwrap_or(0);
            let c = self.checker(loc);
            if !c.is_up || !c.has_run {
                self.checker_transition(loc, true, "=> MISC CHECK succeeded on service <=".into());
            }
            self.checker_mut(loc).retry_it = 0;
        } else if c.is_up || !c.has_run {
            if c.retry_it < sched.retry {
                self.checker_mut(loc).retry_it += 1;
            } else {
                let c = self.checker_mut(loc);
                c.retry_it = 0;
                c.dyn_status = None;
                if let Some(s) = status {
                    c.last_exit = s;
                }
                let (vl, rl) = (
                    self.vss[vi].label.clone(),
                    self.vss[vi].rss[ri].label.clone(),
                );
                let how = match status {
                    Some(s) => format!("exited with status {s}"),
                    None => "failed".to_string(),
                };
                self.log(Some(&vl), Some(&rl), format!("Misc check for {rl} {how}"));
                self.checker_transition(loc, false, "=> MISC CHECK failed on service <=".into());
            }
        }
        let c = self.checker_mut(loc);
        c.has_run = true;
        if c.retry_it > 0 {
            sched.delay_before_retry_us
        } else {
            sched.delay_loop_us
        }
    }

    /// A checker's verdict changed (or its first verdict): the real server follows, and
    /// the checker's SMTP alert goes out (`tcp_epilog()`'s `smtp_alert(SMTP_MSG_RS, …)`).
    pub(super) fn checker_transition(&mut self, loc: Loc, up: bool, body: String) {
        let (vi, ri, _) = loc;
        let checker_was_up = self.checker(loc).is_up;
        let rs_was_alive = self.vss[vi].rss[ri].alive;
        self.update_svr_checker_state(loc, up);
        let rs = &self.vss[vi].rss[ri];
        let changed = if up { !checker_was_up } else { checker_was_up };
        if rs.cfg.smtp_alert
            && changed
            && (rs_was_alive != rs.alive || !self.global.no_checker_emails)
        {
            let subject = format!(
                "Realserver {} of virtual server {} - {}",
                rs.label,
                self.vss[vi].label,
                if rs.alive { "UP" } else { "DOWN" }
            );
            self.smtp(subject, body);
        }
    }

    /// `update_svr_checker_state()`, `ipwrapper.c`: a real server is alive only when
    /// every one of its checkers is up.
    pub(super) fn update_svr_checker_state(&mut self, loc: Loc, alive: bool) {
        let (vi, ri, _) = loc;
        let c = self.checker(loc);
        if c.is_up == alive {
            if !c.has_run {
                if c.alpha() || !alive {
                    self.rs_notifies(vi, ri);
                }
                self.checker_mut(loc).has_run = true;
            }
            return;
        }
        self.checker_mut(loc).has_run = true;
        let failed = self.vss[vi].rss[ri].num_failed();
        if alive {
            if failed <= 1 {
                self.checker_mut(loc).is_up = true;
                self.perform_svr_state(vi, ri, true);
            }
        } else if failed == 0 {
            self.checker_mut(loc).is_up = false;
            self.perform_svr_state(vi, ri, false);
        }
        self.checker_mut(loc).is_up = alive;
    }
}
