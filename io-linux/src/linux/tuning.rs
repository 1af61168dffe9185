//! Process tuning from global_defs, as keepalived applies it to each child
//! (`set_process_priorities()`, `set_cpu_affinity()`): nice value, SCHED_RR with an
//! RLIMIT_RTTIME guard, memory locked against swapping, and the CPUs it may run on.

use keepalived_engine::config::model::GlobalDefs;
use tracing::{info, warn};

/// One process's share of global_defs: `vrrp_*` or `checker_*`.
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
