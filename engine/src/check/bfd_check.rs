//! BFD_CHECK (`check_bfd.c`): a real server's checker that follows a `bfd_instance`'s
//! session rather than probing. It starts as every checker does (up, or down with
//! `alpha`), and each Up or Down the BFD process reports moves it through the usual
//! real-server path: notifies, FIFO, the IPVS table, quorum and the SMTP alert
//! (`bfd_check_handle_event()` → `update_svr_checker_state()`).

use super::runtime::Loc;
use super::CheckEngine;
use crate::config::model::CheckerKind;

impl CheckEngine {
    /// Every BFD_CHECK following `name`, in configuration order (the order
    /// `bfd_end_handler()` adds them to the BFD's `tracking_rs`).
    fn bfd_checks(&self, name: &str) -> Vec<Loc> {
        let mut locs = Vec::new();
        for (vi, v) in self.vss.iter().enumerate() {
            for (ri, r) in v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if matches!(&c.cfg.kind, CheckerKind::BfdCheck { name: Some(n) } if n == name) {
                        locs.push((vi, ri, ci));
                    }
                }
            }
        }
        locs
    }

    /// A BFD session went Up or Down (`bfd_check_handle_event()`). Each checker is
    /// looked at on its own, "due to the potential of alpha state for some checkers and
    /// not others": one already in that state that has run is left alone.
    pub(super) fn bfd_event(&mut self, name: &str, up: bool) {
        // Names come from the BFD process's configuration, which is this one's; the
        // bound only limits what its reports can make this process hold.
        if self.bfds.len() < 4096 || self.bfds.contains_key(name) {
            self.bfds.insert(name.to_string(), up);
        }
        for loc in self.bfd_checks(name) {
            let c = self.checker(loc);
            if c.is_up == up && c.has_run {
                continue;
            }
            let (vi, ri, _) = loc;
            let (vl, rl) = (
                self.vss[vi].label.clone(),
                self.vss[vi].rss[ri].label.clone(),
            );
            self.log(
                Some(&vl),
                Some(&rl),
                format!(
                    "BFD check of [{name}] RS({rl}) is {}",
                    if up { "UP" } else { "DOWN" }
                ),
            );
            let body = format!(
                "=> BFD CHECK {name} {} on service <=",
                if up { "succeeded" } else { "failed" }
            );
            self.checker_transition(loc, up, body);
        }
    }

    /// After a reload: each BFD_CHECK that has not yet heard of its session takes the
    /// session's last state, as the BFD process's next report would give it.
    pub(super) fn refresh_bfd_checks(&mut self) {
        let heard: Vec<(String, bool)> = self.bfds.iter().map(|(n, u)| (n.clone(), *u)).collect();
        for (name, up) in heard {
            self.bfd_event(&name, up);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::{CheckEngine, CheckInput, CheckNotifyKind, CheckOutput, IpvsOp};
    use crate::config::{parse_str, ParseOptions};
    use crate::time::Instant;

    /// One virtual server with a real server of weight 10 whose BFD_CHECK follows `b1`.
    fn conf(bfd_check: &str, rs_extra: &str) -> String {
        format!(
            "global_defs {{\n smtp_server 127.0.0.1\n notification_email {{\n a@b\n }}\n}}\n\
             bfd_instance b1 {{\n neighbor_ip 10.0.0.9\n}}\n\
             virtual_server 10.0.0.1 80 {{\n protocol TCP\n quorum 5\n\
              quorum_up /bin/qup\n quorum_down /bin/qdown\n\
              real_server 10.0.0.2 80 {{\n  weight 10\n  notify_up /bin/up\n  notify_down /bin/down\n{rs_extra}\n\
               BFD_CHECK {{\n   name b1\n{bfd_check}\n  }}\n }}\n}}\n"
        )
    }

    fn engine(text: &str) -> CheckEngine {
        let loaded = parse_str(text, &ParseOptions::default());
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        CheckEngine::new(loaded.config, Instant::ZERO, 1)
    }

    fn drain(e: &mut CheckEngine) -> Vec<CheckOutput> {
        std::iter::from_fn(|| e.poll_output()).collect()
    }

    fn event(e: &mut CheckEngine, name: &str, up: bool) -> Vec<CheckOutput> {
        e.handle_input(
            Instant::ZERO,
            CheckInput::Bfd {
                name: name.into(),
                up,
            },
        );
        drain(e)
    }

    fn notifies(outs: &[CheckOutput]) -> Vec<CheckNotifyKind> {
        outs.iter()
            .filter_map(|o| match o {
                CheckOutput::Notify { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    fn dests_added(outs: &[CheckOutput]) -> usize {
        outs.iter()
            .filter(|o| matches!(o, CheckOutput::Ipvs(IpvsOp::AddDest { .. })))
            .count()
    }

    fn dests_deleted(outs: &[CheckOutput]) -> usize {
        outs.iter()
            .filter(|o| matches!(o, CheckOutput::Ipvs(IpvsOp::DelDest { .. })))
            .count()
    }

    fn mails(outs: &[CheckOutput]) -> Vec<(String, String)> {
        outs.iter()
            .filter_map(|o| match o {
                CheckOutput::SmtpAlert { subject, body } => Some((subject.clone(), body.clone())),
                _ => None,
            })
            .collect()
    }

    fn alive(e: &CheckEngine) -> bool {
        e.real_servers()[0].alive
    }

    #[test]
    fn without_alpha_it_starts_up_and_a_down_takes_the_server_out() {
        let mut e = engine(&conf("", "  smtp_alert"));
        let start = drain(&mut e);
        assert!(alive(&e));
        assert_eq!(dests_added(&start), 1);
        // It never asks for a probe.
        assert!(e.poll_timeout().is_none());
        let outs = event(&mut e, "b1", false);
        assert!(!alive(&e));
        assert_eq!(
            notifies(&outs),
            [CheckNotifyKind::RealServerDown, CheckNotifyKind::QuorumDown]
        );
        assert_eq!(dests_deleted(&outs), 1);
        assert!(outs
            .iter()
            .any(|o| matches!(o, CheckOutput::Log { message, .. }
            if message == "BFD check of [b1] RS([10.0.0.2]:tcp:80) is DOWN")));
        assert_eq!(
            mails(&outs),
            [(
                "Realserver [10.0.0.2]:tcp:80 of virtual server [10.0.0.1]:tcp:80 - DOWN".into(),
                "=> BFD CHECK b1 failed on service <=".into()
            )]
        );
        // The same state again is nothing.
        assert!(event(&mut e, "b1", false).is_empty());
        let outs = event(&mut e, "b1", true);
        assert!(alive(&e));
        assert_eq!(
            notifies(&outs),
            [CheckNotifyKind::RealServerUp, CheckNotifyKind::QuorumUp]
        );
        assert_eq!(dests_added(&outs), 1);
        assert_eq!(mails(&outs)[0].1, "=> BFD CHECK b1 succeeded on service <=");
    }

    #[test]
    fn an_up_before_any_down_only_marks_it_run() {
        let mut e = engine(&conf("", ""));
        drain(&mut e);
        // Up and up already: update_svr_checker_state() just records that it has run.
        let outs = event(&mut e, "b1", true);
        assert!(notifies(&outs).is_empty());
        assert!(e.real_servers()[0].checkers[0].has_run);
        assert!(event(&mut e, "b1", true).is_empty());
    }

    #[test]
    fn with_alpha_it_starts_down_until_the_session_is_up() {
        let mut e = engine(&conf("   alpha", ""));
        let start = drain(&mut e);
        assert!(!alive(&e));
        assert_eq!(dests_added(&start), 0);
        let outs = event(&mut e, "b1", true);
        assert!(alive(&e));
        assert_eq!(
            notifies(&outs),
            [CheckNotifyKind::RealServerUp, CheckNotifyKind::QuorumUp]
        );
        assert_eq!(dests_added(&outs), 1);
    }

    #[test]
    fn with_alpha_a_first_down_notifies_down() {
        let mut e = engine(&conf("   alpha", ""));
        drain(&mut e);
        let outs = event(&mut e, "b1", false);
        assert_eq!(notifies(&outs), [CheckNotifyKind::RealServerDown]);
        assert!(event(&mut e, "b1", false).is_empty());
    }

    #[test]
    fn another_sessions_event_changes_nothing() {
        let mut e = engine(&conf("", ""));
        drain(&mut e);
        assert!(event(&mut e, "b2", false).is_empty());
        assert!(alive(&e));
    }

    #[test]
    fn a_reload_keeps_the_checkers_state() {
        let text = conf("", "");
        let mut e = engine(&text);
        drain(&mut e);
        event(&mut e, "b1", false);
        let loaded = parse_str(&text, &ParseOptions::default());
        e.handle_input(Instant::ZERO, CheckInput::Reload(Box::new(loaded.config)));
        let outs = drain(&mut e);
        assert!(notifies(&outs).is_empty());
        assert!(!alive(&e));
        event(&mut e, "b1", true);
        assert!(alive(&e));
    }
}
