//! FILE_CHECK (`check_file.c`): a real server's checker that follows a `track_file`
//! rather than probing. The file's value times the checker's weight (negated with
//! `reverse`) is added to the real server's weight; a product at or below INT32_MIN
//! (`IPVS_WEIGHT_FAULT`), or with weight 0 any non-zero value (any zero value with
//! `reverse`), takes the checker down, and the real server with it
//! (`update_track_file_status()`, `process_update_checker_track_file_status()`,
//! `track_file.c`).

use super::runtime::Loc;
use super::CheckEngine;
use crate::config::model::CheckerKind;

/// What a tracked file's value makes of one FILE_CHECK: `None` is down
/// (`IPVS_WEIGHT_FAULT`), `Some(w)` is up adding `w` to its real server's weight.
pub(crate) fn file_status(value: i64, weight: i32, reverse: bool) -> Option<i64> {
    if weight == 0 {
        // "If the tracking weight is 0, a non-zero value means failure, a 0 status
        // means success" (the other way round with reverse).
        return ((value != 0) == reverse).then_some(0);
    }
    let m = if reverse { -1 } else { 1 };
    let w = value.saturating_mul(i64::from(weight)).saturating_mul(m);
    // weight_range(): clamped to int, where INT_MIN is the fault.
    (w > i64::from(i32::MIN)).then(|| w.min(i64::from(i32::MAX)))
}

impl CheckEngine {
    /// The FILE_CHECK's track_file, weight and direction, if `loc` is one.
    fn file_check(&self, loc: Loc) -> Option<(&str, i32, bool)> {
        match &self.checker(loc).cfg.kind {
            CheckerKind::FileCheck {
                track_file: Some(t),
                weight,
                weight_reverse,
            } => Some((t.as_str(), *weight, *weight_reverse)),
            _ => None,
        }
    }

    /// The status a FILE_CHECK has from its file's value now.
    pub(super) fn file_check_status(
        &self,
        track_file: &str,
        weight: i32,
        reverse: bool,
    ) -> Option<i64> {
        let value = self.files.get(track_file).copied().unwrap_or(0);
        file_status(value, weight, reverse)
    }

    /// Every FILE_CHECK's location.
    fn file_checks(&self) -> Vec<Loc> {
        let mut locs = Vec::new();
        for (vi, v) in self.vss.iter().enumerate() {
            for (ri, r) in v.rss.iter().enumerate() {
                for (ci, c) in r.checkers.iter().enumerate() {
                    if matches!(c.cfg.kind, CheckerKind::FileCheck { .. }) {
                        locs.push((vi, ri, ci));
                    }
                }
            }
        }
        locs
    }

    /// A tracked file's value changed (`update_track_file_status()`): each FILE_CHECK
    /// on it moves between down and up, or changes its real server's weight
    /// (`process_update_checker_track_file_status()`).
    pub(super) fn track_file(&mut self, name: String, value: i64) {
        let old = self.files.insert(name.clone(), value).unwrap_or(0);
        if old == value {
            return;
        }
        for loc in self.file_checks() {
            let Some((t, weight, reverse)) = self.file_check(loc) else {
                continue;
            };
            if t != name {
                continue;
            }
            let (before, after) = (
                file_status(old, weight, reverse),
                file_status(value, weight, reverse),
            );
            if before == after {
                continue;
            }
            let (vi, ri, _) = loc;
            let (vl, rl) = (
                self.vss[vi].label.clone(),
                self.vss[vi].rss[ri].label.clone(),
            );
            match (before, after) {
                (_, None) => {
                    self.log(
                        Some(&vl),
                        Some(&rl),
                        format!("({rl}): tracked file {name} now FAULT state"),
                    );
                    self.update_svr_checker_state(loc, false);
                    self.checker_mut(loc).file_weight = 0;
                }
                (None, Some(w)) => {
                    self.log(
                        Some(&vl),
                        Some(&rl),
                        format!("({rl}): tracked file {name} leaving FAULT state"),
                    );
                    self.checker_mut(loc).file_weight = w;
                    self.update_svr_checker_state(loc, true);
                }
                (Some(_), Some(w)) => {
                    let old_weight = self.vss[vi].rss[ri].effective_weight();
                    self.checker_mut(loc).file_weight = w;
                    self.update_svr_wgt(vi, ri, old_weight);
                }
            }
        }
    }

    /// After a reload: each FILE_CHECK's state from its file's value now. keepalived
    /// builds file checkers afresh on every reload (`add_rs_to_track_files()`,
    /// `set_track_file_checkers_down()`); its real server follows in the reload's
    /// closing pass.
    pub(super) fn refresh_file_checks(&mut self) {
        for loc in self.file_checks() {
            let Some((t, weight, reverse)) = self.file_check(loc) else {
                continue;
            };
            let status = self.file_check_status(t, weight, reverse);
            let c = self.checker_mut(loc);
            c.is_up = status.is_some();
            c.has_run = true;
            c.file_weight = status.unwrap_or(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::file_status;

    #[test]
    fn value_times_weight_with_int_min_the_fault() {
        assert_eq!(file_status(10, 1, false), Some(10));
        assert_eq!(file_status(10, 5, true), Some(-50));
        assert_eq!(file_status(-300, 1, false), Some(-300));
        assert_eq!(file_status(0, 7, false), Some(0));
        // weight_range(): INT_MIN and below is IPVS_WEIGHT_FAULT; above INT_MAX caps.
        assert_eq!(file_status(i64::from(i32::MIN), 1, false), None);
        assert_eq!(
            file_status(i64::from(i32::MIN) + 1, 1, false),
            Some(i64::from(i32::MIN) + 1)
        );
        assert_eq!(file_status(2_147_483_648, 1, true), None);
        assert_eq!(
            file_status(2_147_483_648, 1, false),
            Some(i64::from(i32::MAX))
        );
        assert_eq!(file_status(2_000_000, -2_000, false), None);
        // weight 0: non-zero is down; with reverse, zero is.
        assert_eq!(file_status(3, 0, false), None);
        assert_eq!(file_status(0, 0, false), Some(0));
        assert_eq!(file_status(0, 0, true), None);
        assert_eq!(file_status(-1, 0, true), Some(0));
    }
}

#[cfg(test)]
mod engine_tests {
    use std::collections::BTreeMap;

    use crate::check::{CheckEngine, CheckInput, CheckNotifyKind, CheckOutput};
    use crate::config::{parse_str, ParseOptions};
    use crate::time::Instant;

    /// One virtual server, one real server of weight 10 with a FILE_CHECK on `f`.
    fn conf(track_file: &str, file_check: &str) -> String {
        format!(
            "track_file f {{\n file /run/ka-f\n {track_file}\n}}\n\
             virtual_server 10.0.0.1 80 {{\n protocol TCP\n\
              real_server 10.0.0.2 80 {{\n  weight 10\n  notify_up /bin/up\n  notify_down /bin/down\n\
               FILE_CHECK {{\n   track_file f\n   {file_check}\n  }}\n }}\n}}\n"
        )
    }

    fn engine(text: &str, value: Option<i64>) -> CheckEngine {
        let loaded = parse_str(text, &ParseOptions::default());
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error())
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        let files = value
            .map(|v| BTreeMap::from([("f".to_string(), v)]))
            .unwrap_or_default();
        CheckEngine::with_track_files(loaded.config, Instant::ZERO, 1, files)
    }

    /// The real server's (alive, effective weight, weight in the IPVS table).
    fn rs(e: &CheckEngine) -> (bool, i64, Option<u32>) {
        let r = &e.real_servers()[0];
        let table = e.desired();
        let w = table
            .services
            .values()
            .flat_map(|s| s.dests.values())
            .map(|d| d.weight)
            .next();
        (r.alive, r.effective_weight, w)
    }

    fn set(e: &mut CheckEngine, value: i64) -> Vec<CheckOutput> {
        e.handle_input(
            Instant::ZERO,
            CheckInput::TrackFile {
                name: "f".into(),
                value,
            },
        );
        std::iter::from_fn(|| e.poll_output()).collect()
    }

    fn notifies(outs: &[CheckOutput]) -> Vec<CheckNotifyKind> {
        outs.iter()
            .filter_map(|o| match o {
                CheckOutput::Notify { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_value_times_the_weight_is_added_to_the_real_servers_weight() {
        let mut e = engine(&conf("", "weight 2"), Some(3));
        assert_eq!(rs(&e), (true, 16, Some(16)));
        // No probe is ever asked for.
        assert!(e.poll_timeout().is_none());
        let outs = set(&mut e, 0);
        assert_eq!(rs(&e), (true, 10, Some(10)));
        assert!(notifies(&outs).is_empty());
        assert!(outs.iter().any(|o| matches!(o, CheckOutput::Log { message, .. } if message.starts_with("Changing weight from 16 to 10"))));
        // Below zero the server stays in the pool at weight 0.
        set(&mut e, -20);
        assert_eq!(rs(&e), (true, -30, Some(0)));
        // The same value again changes nothing.
        assert!(set(&mut e, -20).is_empty());
    }

    #[test]
    fn a_product_at_int_min_takes_the_server_down_and_back() {
        let mut e = engine(&conf("", "weight 1000"), None);
        assert_eq!(rs(&e), (true, 10, Some(10)));
        let outs = set(&mut e, -2_147_484);
        assert_eq!(notifies(&outs), vec![CheckNotifyKind::RealServerDown]);
        assert_eq!(rs(&e), (false, 10, None));
        let outs = set(&mut e, 1);
        assert_eq!(notifies(&outs), vec![CheckNotifyKind::RealServerUp]);
        assert_eq!(rs(&e), (true, 1010, Some(1010)));
    }

    #[test]
    fn weight_0_is_down_on_any_non_zero_value() {
        let mut e = engine(&conf("weight 7", "weight 0"), Some(5));
        assert_eq!(rs(&e), (false, 10, None));
        let outs = set(&mut e, 0);
        assert_eq!(notifies(&outs), vec![CheckNotifyKind::RealServerUp]);
        assert_eq!(rs(&e), (true, 10, Some(10)));
        set(&mut e, -1);
        assert!(!rs(&e).0);
    }

    #[test]
    fn without_its_own_weight_it_takes_the_track_files() {
        let mut e = engine(&conf("weight 5 reverse", ""), Some(1));
        assert_eq!(rs(&e), (true, 5, Some(5)));
        set(&mut e, 3);
        assert_eq!(rs(&e), (true, -5, Some(0)));
        // The track_file's default weight is 1.
        let e = engine(&conf("", ""), Some(4));
        assert_eq!(rs(&e), (true, 14, Some(14)));
    }

    #[test]
    fn a_reload_keeps_following_the_files_value() {
        let text = conf("", "weight 0");
        let mut e = engine(&text, None);
        set(&mut e, 2);
        assert!(!rs(&e).0);
        let loaded = parse_str(
            &text.replace("weight 0", "weight 3"),
            &ParseOptions::default(),
        );
        e.handle_input(Instant::ZERO, CheckInput::Reload(Box::new(loaded.config)));
        let outs: Vec<_> = std::iter::from_fn(|| e.poll_output()).collect();
        assert_eq!(notifies(&outs), vec![CheckNotifyKind::RealServerUp]);
        assert_eq!(rs(&e), (true, 16, Some(16)));
    }
}
