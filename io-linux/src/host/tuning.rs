//! Process tuning from global_defs, as keepalived applies it to each child
//! (`set_process_priorities()`, `set_cpu_affinity()`): nice value, SCHED_RR with an
//! RLIMIT_RTTIME guard, memory locked against swapping, and the CPUs it may run on.
//! The checker also raises its open-file limit to what its checkers need
//! (`set_checker_max_fds()`), and scripts it starts get the limit it started with.

use std::sync::OnceLock;

use keepalived_engine::config::model::{Config, GlobalDefs};
use tracing::{info, warn};

/// One process's share of global_defs: `vrrp_*`, `checker_*` or `bfd_*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTuning<'a> {
    pub nice: Option<i32>,
    pub rt_priority: Option<u32>,
    pub rlimit_rttime_us: u64,
    pub no_swap: bool,
    pub cpu_affinity: &'a [u32],
}

impl<'a> ProcessTuning<'a> {
    pub fn vrrp(g: &'a GlobalDefs) -> Self {
        ProcessTuning {
            nice: g.vrrp_priority,
            rt_priority: g.vrrp_rt_priority,
            rlimit_rttime_us: g.vrrp_rlimit_rttime_us,
            no_swap: g.vrrp_no_swap,
            cpu_affinity: &g.vrrp_cpu_affinity,
        }
    }

    pub fn checker(g: &'a GlobalDefs) -> Self {
        ProcessTuning {
            nice: g.checker_priority,
            rt_priority: g.checker_rt_priority,
            rlimit_rttime_us: g.checker_rlimit_rttime_us,
            no_swap: g.checker_no_swap,
            cpu_affinity: &g.checker_cpu_affinity,
        }
    }

    /// `bfd_*`, as `start_bfd()` sets them on the BFD process.
    pub fn bfd(g: &'a GlobalDefs) -> Self {
        ProcessTuning {
            nice: g.bfd_priority,
            rt_priority: g.bfd_rt_priority,
            rlimit_rttime_us: g.bfd_rlimit_rttime_us,
            no_swap: g.bfd_no_swap,
            cpu_affinity: &g.bfd_cpu_affinity,
        }
    }
}

fn check(what: &str, r: i32) -> bool {
    if r != 0 {
        warn!("{what}: {}", std::io::Error::last_os_error());
    }
    r == 0
}

/// Applies `t` to the calling process; a setting the host refuses is logged and the
/// rest still applies.
pub fn apply(t: &ProcessTuning<'_>) {
    if let Some(nice) = t.nice {
        // SAFETY: plain system calls on this process.
        if check("setpriority", unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, nice)
        }) {
            info!("nice set to {nice}");
        }
    }
    if let Some(rt) = t.rt_priority {
        if t.rlimit_rttime_us > 0 {
            let lim = libc::rlimit {
                rlim_cur: t.rlimit_rttime_us,
                rlim_max: t.rlimit_rttime_us,
            };
            // SAFETY: a valid rlimit for this process.
            check("setrlimit RLIMIT_RTTIME", unsafe {
                libc::setrlimit(libc::RLIMIT_RTTIME, &lim)
            });
        }
        let param = libc::sched_param {
            sched_priority: rt as i32,
        };
        // SAFETY: a valid sched_param for this process.
        if check("sched_setscheduler SCHED_RR", unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR, &param)
        }) {
            info!("realtime priority SCHED_RR {rt}");
        }
    }
    if t.no_swap {
        // SAFETY: locks this process's pages.
        check("mlockall", unsafe {
            libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE)
        });
    }
    if !t.cpu_affinity.is_empty() {
        // SAFETY: cpu_set_t is plain data; CPU_SET is bounded by the set's size below.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            for &cpu in t.cpu_affinity {
                if (cpu as usize) < libc::CPU_SETSIZE as usize {
                    libc::CPU_SET(cpu as usize, &mut set);
                }
            }
            if check(
                "sched_setaffinity",
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            ) {
                info!("CPU affinity {:?}", t.cpu_affinity);
            }
        }
    }
}

/// RLIMIT_NOFILE (soft, hard) as this process had it before [`raise_nofile`] changed it;
/// scripts started afterwards get it back (keepalived's `reset_process_priorities()`).
static ORIG_NOFILE: OnceLock<(u64, u64)> = OnceLock::new();

/// The descriptors the checker may hold at once, as `set_checker_max_fds()` counts them:
/// 17 of its own (standard streams, log, epoll, signals, netlink, FIFOs, …), one per
/// checker (a probe in flight holds one socket; every checker can be in flight at once
/// when its servers time out), one per real server that sends e-mail alerts (only with
/// an smtp_server and a notification_email), and 10 spare. keepalived counts only the
/// checkers that use a socket; counting every one costs nothing and covers MISC_CHECK's
/// pipes.
pub fn checker_fds_required(config: &Config) -> u64 {
    let mail = config.global.smtp_server.is_some() && !config.global.notification_email.is_empty();
    let (mut checkers, mut alerts) = (0u64, 0u64);
    for vs in &config.virtual_servers {
        for rs in &vs.real_servers {
            checkers += rs.checkers.len() as u64;
            alerts += u64::from(mail && rs.smtp_alert);
        }
    }
    17 + checkers + alerts + 10
}

/// The (soft, hard) limit to ask for so `required` descriptors fit, from the current
/// one; None when it already fits (`set_max_file_limit()`: never lowered).
pub fn nofile_target(current: (u64, u64), required: u64) -> Option<(u64, u64)> {
    let (soft, hard) = current;
    (required > soft).then(|| (required, hard.max(required)))
}

fn get_nofile() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a valid rlimit.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0)
        .then_some((lim.rlim_cur, lim.rlim_max))
}

fn set_nofile((soft, hard): (u64, u64)) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: a valid rlimit for this process.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Raises RLIMIT_NOFILE so `required` descriptors fit. Without it a checker with more
/// probes in flight than the usual soft limit of 1024 fails its checks with "too many
/// open files" and takes healthy servers down. Raising the hard limit needs
/// CAP_SYS_RESOURCE; without it the soft limit goes as high as the hard one allows,
/// and the shortfall is logged.
pub fn raise_nofile(required: u64) {
    let Some(current) = get_nofile() else {
        warn!(
            "getrlimit RLIMIT_NOFILE: {}",
            std::io::Error::last_os_error()
        );
        return;
    };
    let Some(target) = nofile_target(current, required) else {
        return;
    };
    let _ = ORIG_NOFILE.set(current);
    match set_nofile(target) {
        Ok(()) => info!("open file limit raised to {}:{}", target.0, target.1),
        Err(e) if current.1 > current.0 => {
            let capped = (current.1, current.1);
            match set_nofile(capped) {
                Ok(()) => warn!(
                    "open file limit {}:{} refused ({e}): raised to {}:{}, short of the {required} the checkers may need",
                    target.0, target.1, capped.0, capped.1
                ),
                Err(e) => warn!("setrlimit RLIMIT_NOFILE {}:{}: {e}", capped.0, capped.1),
            }
        }
        Err(e) => warn!(
            "open file limit {}:{} refused ({e}): staying at {}:{}, short of the {required} the checkers may need",
            target.0, target.1, current.0, current.1
        ),
    }
}

/// The open-file limit a script started now should get back, if [`raise_nofile`]
/// changed this process's.
pub fn script_nofile() -> Option<(u64, u64)> {
    ORIG_NOFILE.get().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    #[test]
    fn the_bfd_process_takes_the_bfd_settings() {
        let loaded = parse_str(
            "global_defs {\n bfd_priority -5\n bfd_rt_priority 20\n bfd_rlimit_rttime 5000\n \
             bfd_no_swap\n bfd_cpu_affinity 0 1\n vrrp_priority 3\n}\n",
            &ParseOptions::default(),
        );
        let t = ProcessTuning::bfd(&loaded.config.global);
        assert_eq!(
            t,
            ProcessTuning {
                nice: Some(-5),
                rt_priority: Some(20),
                rlimit_rttime_us: 5000,
                no_swap: true,
                cpu_affinity: &[0, 1],
            }
        );
        assert_eq!(ProcessTuning::vrrp(&loaded.config.global).nice, Some(3));
    }

    #[test]
    fn nofile_is_raised_only_when_short_and_never_lowered() {
        assert_eq!(nofile_target((1024, 4096), 1000), None);
        assert_eq!(nofile_target((1024, 4096), 1024), None);
        assert_eq!(nofile_target((1024, 4096), 2000), Some((2000, 4096)));
        assert_eq!(nofile_target((1024, 4096), 20_027), Some((20_027, 20_027)));
        assert_eq!(nofile_target((u64::MAX, u64::MAX), 20_027), None);
    }

    #[test]
    fn fds_required_count_every_checker_and_alerting_server() {
        let servers = "virtual_server 10.0.0.1 80 {\n\
            real_server 10.0.1.1 80 { TCP_CHECK { } MISC_CHECK { misc_path /bin/true } }\n\
            real_server 10.0.1.2 80 { TCP_CHECK { } }\n\
            real_server 10.0.1.3 80 { smtp_alert off\n }\n\
            }\n\
            virtual_server 10.0.0.2 80 { real_server 10.0.2.1 80 { HTTP_GET { url { path / } } } }\n";
        let required = |text: &str| {
            let loaded = parse_str(text, &ParseOptions::default());
            assert!(
                !loaded.diagnostics.iter().any(|d| d.counts_as_error()),
                "{:?}",
                loaded.diagnostics
            );
            checker_fds_required(&loaded.config)
        };
        // No mail server: 17 + 4 checkers + 10.
        assert_eq!(required(servers), 17 + 4 + 10);
        // With one, each real server that alerts (all but 10.0.1.3) holds one more.
        let mail =
            "global_defs {\n notification_email { ops@example.com }\n smtp_server 127.0.0.1\n}\n";
        assert_eq!(required(&format!("{mail}{servers}")), 17 + 4 + 3 + 10);
        assert_eq!(checker_fds_required(&Config::default()), 27);
    }
}
