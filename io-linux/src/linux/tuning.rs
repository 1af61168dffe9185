//! Process tuning from global_defs, as keepalived applies it to its VRRP process
//! (`set_process_priorities()`): nice value, SCHED_RR with an RLIMIT_RTTIME guard, and
//! memory locked against swapping.

use keepalived_engine::config::model::GlobalDefs;
use tracing::{info, warn};

fn check(what: &str, r: i32) {
    if r != 0 {
        warn!("{what}: {}", std::io::Error::last_os_error());
    }
}

pub fn apply_vrrp(g: &GlobalDefs) {
    if let Some(nice) = g.vrrp_priority {
        // SAFETY: plain system calls on this process.
        check("setpriority", unsafe {
            libc::setpriority(libc::PRIO_PROCESS, 0, nice)
        });
        info!("nice set to {nice}");
    }
    if let Some(rt) = g.vrrp_rt_priority {
        if g.vrrp_rlimit_rttime_us > 0 {
            let lim = libc::rlimit {
                rlim_cur: g.vrrp_rlimit_rttime_us,
                rlim_max: g.vrrp_rlimit_rttime_us,
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
        check("sched_setscheduler SCHED_RR", unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR, &param)
        });
        info!("realtime priority SCHED_RR {rt}");
    }
    if g.vrrp_no_swap {
        // SAFETY: locks this process's pages.
        check("mlockall", unsafe {
            libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE)
        });
    }
}
