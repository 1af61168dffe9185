//! Notify scripts and FIFO lines for a state change (`notify_instance_exec()`,
//! `notify_fifo()`, `keepalived/vrrp/vrrp_notify.c`).

use crate::config::model::{Command, GlobalDefs, Notifies};

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
        NotifyKind::Master => notifies.notify_master.as_deref(),
        NotifyKind::Backup => notifies.notify_backup.as_deref(),
        NotifyKind::Fault => notifies.notify_fault.as_deref(),
        NotifyKind::Stop => notifies.notify_stop.as_deref(),
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
        let mut command = Command::clone(c);
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

/// Whether any FIFO takes VRRP lines (`notify_fifo` or `vrrp_notify_fifo`).
pub fn fifo_configured(global: &GlobalDefs) -> bool {
    global.notify_fifo.is_some() || global.vrrp_notify_fifo.is_some()
}

/// `send_instance_priority_notifies()`: `INSTANCE "VI_1" MASTER_PRIORITY 150` for a
/// master, `BACKUP_PRIORITY` in any other state; the FIFO only, no script.
pub fn priority_change(out: &mut Outbox, name: &str, state: State, priority: u8) {
    let word = if state == State::Master {
        "MASTER_PRIORITY"
    } else {
        "BACKUP_PRIORITY"
    };
    out.push_back(Output::Fifo {
        line: fifo_line("INSTANCE", name, word, priority),
    });
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

#[cfg(test)]
mod tests {
    //! FIFO lines as keepalived 2.2.7 writes them (`vrrp_notify.c`), checked against it in
    //! `tests/tests/daemon_notify_priority.rs`.

    use std::collections::BTreeMap;
    use std::net::{IpAddr, Ipv4Addr};

    use crate::config::{parse_str, ParseOptions};
    use crate::time::Instant;
    use crate::vrrp::{Engine, Input, InterfaceInfo, Output, ScriptStatus, State};
    use crate::wire::{AdvertRepr, AuthType, EmitOptions, Family, VipList, VrrpBody, VrrpRepr};

    const FIFO: &str = "global_defs {\n notify_fifo /run/n.fifo\n GLOBAL\n}\n";
    const SCRIPT: &str = "vrrp_script chk {\n script /bin/chk\n interval 1\n weight -50\n}\n\
                          vrrp_script up {\n script /bin/up\n interval 1\n}\n";

    fn instance(name: &str, vrid: u8, prio: u8, extra: &str) -> String {
        format!(
            "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n \
             advert_int 1\n virtual_ipaddress {{\n  10.0.0.{vrid}/24\n }}\n {extra}\n}}\n"
        )
    }

    /// `text` read; an error fails the test unless `allowed` is in its message.
    fn config_allowing(text: &str, allowed: Option<&str>) -> crate::config::model::Config {
        let loaded = parse_str(text, &ParseOptions::default());
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.counts_as_error() && !allowed.is_some_and(|a| d.message.contains(a)))
            .map(|d| d.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        loaded.config
    }

    fn config(text: &str) -> crate::config::model::Config {
        config_allowing(text, None)
    }

    /// One engine on eth0 (192.168.0.1), its scripts answered from `ok` as they run.
    struct Host {
        e: Engine,
        now: Instant,
        out: Vec<Output>,
        ok: BTreeMap<String, bool>,
    }

    impl Host {
        fn new(text: &str) -> Host {
            Host::with_config(config(text))
        }

        fn with_config(config: crate::config::model::Config) -> Host {
            let iface = InterfaceInfo {
                name: "eth0".into(),
                up: true,
                mac: [2, 0, 0, 0, 0, 1],
                ipv4: Some(Ipv4Addr::new(192, 168, 0, 1)),
                ipv6_ll: None,
                ipv6_forwarding: false,
            };
            let mut h = Host {
                e: Engine::new(config, Instant::ZERO, vec![iface]),
                now: Instant::ZERO,
                out: Vec::new(),
                ok: BTreeMap::new(),
            };
            h.drain();
            h
        }

        fn drain(&mut self) {
            let mut ran = Vec::new();
            while let Some(o) = self.e.poll_output() {
                if let Output::RunScript { script, .. } = &o {
                    ran.push(script.clone());
                }
                self.out.push(o);
            }
            for script in ran {
                let ok = self.ok.get(&script).copied().unwrap_or(true);
                let status = ScriptStatus::Exited(if ok { 0 } else { 1 });
                self.input(Input::ScriptExited { script, status });
            }
        }

        fn input(&mut self, i: Input) {
            self.e.handle_input(self.now, i);
            self.drain();
        }

        fn run_for(&mut self, secs: f64) {
            let until = Instant::from_micros(self.now.as_micros() + (secs * 1e6) as u64);
            let mut stuck = 0;
            while let Some(t) = self.e.poll_timeout().filter(|&t| t <= until) {
                // A timer that never moves on fails the test rather than hanging it.
                stuck = if t <= self.now { stuck + 1 } else { 0 };
                assert!(stuck < 10_000, "the engine's timer stays at {t}");
                self.now = t;
                self.e.handle_timeout(t);
                self.drain();
            }
            self.now = until;
        }

        /// The FIFO lines written since `from` outputs, without their newline.
        fn fifo_since(&self, from: usize) -> Vec<String> {
            self.out[from..]
                .iter()
                .filter_map(|o| match o {
                    Output::Fifo { line } => Some(line.trim_end().to_string()),
                    _ => None,
                })
                .collect()
        }

        fn state(&self, name: &str) -> State {
            self.e.instance(name).unwrap().state
        }
    }

    fn with_global(global: &str, rest: &str) -> String {
        FIFO.replace("GLOBAL", global) + rest
    }

    // send_instance_priority_notifies(): a master's change is MASTER_PRIORITY, on the FIFO
    // only; the state lines carry the priority in force.
    #[test]
    fn a_priority_change_is_a_fifo_line_and_runs_no_script() {
        let text = with_global(
            "vrrp_notify_priority_changes",
            &(SCRIPT.to_string()
                + &instance("VI_1", 1, 200, "track_script {\n chk\n }\n notify /bin/n")),
        );
        let mut h = Host::new(&text);
        h.run_for(5.0);
        assert_eq!(h.state("VI_1"), State::Master);
        let n = h.out.len();
        h.ok.insert("chk".into(), false);
        h.run_for(1.5);
        assert_eq!(h.fifo_since(n), ["INSTANCE \"VI_1\" MASTER_PRIORITY 150"]);
        assert!(!h.out[n..]
            .iter()
            .any(|o| matches!(o, Output::Notify { .. })));
        h.ok.insert("chk".into(), true);
        h.run_for(1.5);
        assert_eq!(
            h.fifo_since(n),
            [
                "INSTANCE \"VI_1\" MASTER_PRIORITY 150",
                "INSTANCE \"VI_1\" MASTER_PRIORITY 200"
            ]
        );
        // Without the option, no line at all.
        let mut quiet = Host::new(&text.replace("vrrp_notify_priority_changes", ""));
        quiet.run_for(5.0);
        quiet.ok.insert("chk".into(), false);
        let n = quiet.out.len();
        quiet.run_for(1.5);
        assert_eq!(quiet.e.instance("VI_1").unwrap().effective_priority, 150);
        assert!(quiet.fifo_since(n).is_empty());
    }

    // Outside MASTER a change is BACKUP_PRIORITY, FAULT included; the FAULT line carries
    // the priority in force.
    #[test]
    fn a_change_outside_master_is_backup_priority() {
        let text = with_global(
            "",
            &(SCRIPT.to_string()
                + &instance(
                    "VI_1",
                    1,
                    200,
                    "notify_priority_changes\n track_script {\n chk\n up\n }",
                )),
        );
        let mut h = Host::new(&text);
        h.run_for(5.0);
        let n = h.out.len();
        h.ok.insert("up".into(), false);
        h.run_for(1.5);
        h.ok.insert("chk".into(), false);
        h.run_for(1.5);
        assert_eq!(h.state("VI_1"), State::Fault);
        assert_eq!(
            h.fifo_since(n),
            [
                "INSTANCE \"VI_1\" FAULT 200",
                "INSTANCE \"VI_1\" BACKUP_PRIORITY 150"
            ]
        );
    }

    // An owner's priority never changes (vrrp_set_effective_priority()), so it has no line.
    #[test]
    fn an_owner_reports_no_priority_change() {
        let text = with_global(
            "vrrp_notify_priority_changes",
            &(SCRIPT.to_string() + &instance("VI_1", 1, 255, "track_script {\n chk\n }")),
        );
        let mut h = Host::new(&text);
        h.ok.insert("chk".into(), false);
        let n = h.out.len();
        h.run_for(5.0);
        assert!(!h.fifo_since(n).iter().any(|l| l.contains("PRIORITY")));
    }

    // A sync group's notify_priority_changes is its members' unless they say otherwise,
    // and global_tracking is sync_group_tracking_weight: the member's weight counts.
    #[test]
    fn a_sync_groups_setting_reaches_its_members_and_global_tracking_counts_weights() {
        let group = "vrrp_sync_group G1 {\n group {\n  VI_1\n  VI_2\n }\n global_tracking\n \
                     notify_priority_changes\n}\n";
        let text = with_global(
            "",
            &(SCRIPT.to_string()
                + &instance("VI_1", 1, 200, "track_script {\n chk\n }")
                + &instance(
                    "VI_2",
                    2,
                    200,
                    "notify_priority_changes false\n track_script {\n chk\n }",
                )
                + group),
        );
        let mut h = Host::new(&text);
        h.run_for(5.0);
        let n = h.out.len();
        h.ok.insert("chk".into(), false);
        h.run_for(1.5);
        assert_eq!(h.e.instance("VI_2").unwrap().effective_priority, 150);
        assert_eq!(h.fifo_since(n), ["INSTANCE \"VI_1\" MASTER_PRIORITY 150"]);
    }

    // vrrp_init_state(): a group starting in BACKUP is notified before its members; one
    // entering MASTER after them.
    #[test]
    fn a_group_starting_in_backup_comes_before_its_members() {
        let text = with_global(
            "",
            &(instance("VI_1", 1, 200, "")
                + &instance("VI_2", 2, 100, "")
                + "vrrp_sync_group G1 {\n group {\n  VI_1\n  VI_2\n }\n}\n"),
        );
        let mut h = Host::new(&text);
        h.run_for(5.0);
        assert_eq!(
            h.fifo_since(0),
            [
                "GROUP \"G1\" BACKUP 0",
                "INSTANCE \"VI_1\" BACKUP 200",
                "INSTANCE \"VI_2\" BACKUP 100",
                "INSTANCE \"VI_1\" MASTER 200",
                "INSTANCE \"VI_2\" MASTER 100",
                "GROUP \"G1\" MASTER 0",
            ]
        );
    }

    // notify_shutdown(): every instance STOP with its priority, then every group STOP 0,
    // whatever notify_priority_changes says.
    #[test]
    fn shutdown_writes_stop_lines_instances_then_groups() {
        let text = with_global(
            "",
            &(SCRIPT.to_string()
                + &instance("VI_1", 1, 200, "track_script {\n chk\n }")
                + &instance("VI_2", 2, 100, "")
                + "vrrp_sync_group G2 {\n group {\n  VI_2\n }\n}\n"),
        );
        let mut h = Host::new(&text);
        h.ok.insert("chk".into(), false);
        h.run_for(5.0);
        let n = h.out.len();
        h.input(Input::Shutdown);
        assert_eq!(
            h.fifo_since(n),
            [
                "INSTANCE \"VI_1\" STOP 150",
                "INSTANCE \"VI_2\" STOP 100",
                "GROUP \"G2\" STOP 0",
            ]
        );
    }

    // fifo_write_vrrp_states_on_reload: what the reload left unchanged is written, groups
    // first; a tracked priority is reported anew before it, from INIT as keepalived's
    // fresh instance has it (so BACKUP_PRIORITY by a master); nothing is notified again.
    #[test]
    fn a_reload_writes_unchanged_states_groups_first() {
        let rest = SCRIPT.to_string()
            + &instance("VI_1", 1, 200, "track_script {\n chk\n }")
            + &instance("VI_2", 2, 100, "track_script {\n up\n }")
            + &instance("VI_3", 3, 100, "")
            + "vrrp_sync_group G2 {\n group {\n  VI_2\n }\n}\n";
        let text = with_global(
            "vrrp_notify_priority_changes\n fifo_write_vrrp_states_on_reload",
            &rest,
        );
        let mut h = Host::new(&text);
        h.run_for(5.0);
        h.ok.insert("chk".into(), false);
        h.ok.insert("up".into(), false);
        h.run_for(1.5);
        // A peer's equal priority from a higher address: VI_3 goes BACKUP.
        h.input(advert(3));
        // VI_1 is master at 150, VI_3 backup, VI_2 (and so G2) in FAULT.
        assert_eq!(h.state("VI_1"), State::Master);
        assert_eq!(h.state("VI_2"), State::Fault);
        assert_eq!(h.state("VI_3"), State::Backup);
        let n = h.out.len();
        h.input(Input::Reload(Box::new(config(&text))));
        assert_eq!(
            h.fifo_since(n),
            [
                "INSTANCE \"VI_1\" BACKUP_PRIORITY 150",
                "GROUP \"G2\" FAULT 0",
                "INSTANCE \"VI_1\" MASTER 150",
                "INSTANCE \"VI_2\" FAULT 100",
                "INSTANCE \"VI_3\" BACKUP 100",
            ]
        );
        assert!(!h.out[n..].iter().any(|o| matches!(
            o,
            Output::Notify { .. } | Output::StateChange { .. } | Output::GroupStateChange { .. }
        )));
        // Without the option a reload writes only the priority line.
        let text = text.replace("fifo_write_vrrp_states_on_reload", "");
        let n = h.out.len();
        h.input(Input::Reload(Box::new(config(&text))));
        assert_eq!(h.fifo_since(n), ["INSTANCE \"VI_1\" BACKUP_PRIORITY 150"]);
    }

    // vrrp_complete_instance(): unicast_fault_no_peer without a peer is FAULT for good;
    // an empty unicast_peer alone falls back to multicast.
    #[test]
    fn unicast_fault_no_peer_without_peers_holds_fault_and_sends_nothing() {
        let text = with_global(
            "",
            &(instance("VI_1", 1, 100, "unicast_peer {\n }\n unicast_fault_no_peer")
                + &instance("VI_2", 2, 100, "unicast_peer {\n }")),
        );
        // VI_2's configuration is deprecated, which keepalived -t counts as an error.
        let mut h = Host::with_config(config_allowing(&text, Some("VI_2")));
        h.run_for(10.0);
        assert_eq!(h.state("VI_1"), State::Fault);
        assert_eq!(h.state("VI_2"), State::Master);
        let sent: Vec<_> = h
            .out
            .iter()
            .filter_map(|o| match o {
                Output::Transmit { instance, dst, .. } => Some((instance.as_str(), *dst)),
                _ => None,
            })
            .collect();
        assert!(!sent.iter().any(|(i, _)| *i == "VI_1"), "{sent:?}");
        assert!(sent.contains(&("VI_2", IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)))));
        assert_eq!(h.fifo_since(0)[0], "INSTANCE \"VI_1\" FAULT 100");
    }

    fn advert(vrid: u8) -> Input {
        let a = AdvertRepr {
            src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 9)),
            dst: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
            ttl: 255,
            tos: 0xc0,
            ident: 1,
            ah: None,
            vrrp: VrrpRepr {
                vrid,
                priority: 100,
                body: VrrpBody::V2 {
                    auth_type: AuthType::None,
                    adver_int_secs: 1,
                    auth_data: [0; 8],
                },
                vips: VipList::V4(vec![Ipv4Addr::new(10, 0, 0, vrid)]),
            },
        };
        let mut bytes = vec![0; a.buffer_len()];
        a.emit(&mut bytes, &EmitOptions::default());
        Input::Packet {
            interface: "eth0".into(),
            family: Family::V4,
            src: a.src,
            dst: a.dst,
            hop_limit: Some(255),
            bytes,
        }
    }

    // vrrp_dispatcher_read(): with log_unknown_vrids every advert for a VRID no instance
    // on the interface has is logged, an instance with that VRID on another interface
    // (VI_7, on eth1) notwithstanding.
    #[test]
    fn an_unknown_vrid_is_logged_each_time_with_log_unknown_vrids() {
        let logs = |h: &Host| -> Vec<String> {
            h.out
                .iter()
                .filter_map(|o| match o {
                    Output::Log { instance, message } if instance.is_empty() => {
                        Some(message.clone())
                    }
                    _ => None,
                })
                .collect()
        };
        let on_eth1 = instance("VI_7", 7, 100, "").replace("eth0", "eth1");
        let text = with_global(
            "log_unknown_vrids",
            &(instance("VI_1", 1, 100, "") + &on_eth1),
        );
        let mut h = Host::new(&text);
        h.run_for(0.5);
        h.input(advert(7));
        h.input(advert(7));
        h.input(advert(1));
        assert_eq!(
            logs(&h),
            ["Unknown VRID(7) received on interface(eth0). ignoring..."; 2]
        );
        let mut quiet = Host::new(&with_global("", &instance("VI_1", 1, 100, "")));
        quiet.input(advert(7));
        assert!(logs(&quiet).is_empty());
    }
}
