//! The VRRP child (keepalived's `start_vrrp_child()`): the VRRP engine on the shared
//! driver with raw sockets, rtnetlink, AF_PACKET, VMACs, scripts and signals.

mod firewall;
mod host_facts;
pub(crate) mod linkbeat;
mod network;
pub mod platform;
mod promote;
pub(crate) mod raw;
mod reload;
mod reports;
mod sockets;
mod statics;
pub(crate) mod timer;
mod tracked_files;
mod tracked_processes;
mod trim;
pub(crate) mod vmac;

use std::path::Path;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Engine;
use tracing::{error, info};

use keepalived_driver::vrrp as driver;
use platform::{LinuxPlatform, Setup};

use crate::host::auto_priority;
use crate::host::config_host_check;
use crate::host::process::{start_process, EXIT_CONFIG, EXIT_FATAL};
use crate::host::tuning;

/// Runs the VRRP side until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_vrrp(config: Config, setup: Setup, pidfile: &Path) -> u8 {
    tuning::apply(&tuning::ProcessTuning::vrrp(&config.global));
    auto_priority::configure(auto_priority::AutoPriority::vrrp(
        &config.global,
        auto_priority::current_rr(),
    ));
    let Some(rt) = start_process(pidfile) else {
        return EXIT_FATAL as u8;
    };
    // Without dynamic_interfaces an interface the configuration names must exist at
    // start: keepalived's VRRP process refuses to run otherwise, a permanent error that
    // stops the parent too (`start_vrrp()`, `vrrp_daemon.c`).
    if !config.global.dynamic_interfaces {
        let missing =
            config_host_check::missing_interfaces(&config, config_host_check::interface_exists);
        if !missing.is_empty() {
            for m in &missing {
                error!("{m}");
            }
            error!("Non-existent interface specified in configuration ('dynamic_interfaces' in global_defs waits for it)");
            let _ = std::fs::remove_file(pidfile);
            return EXIT_CONFIG as u8;
        }
    }
    let mut config = config;
    vmac::place_addresses(&mut config);
    crate::host::netlink::set_rcv_bufs(crate::host::netlink::RcvBufs::vrrp(&config.global));
    let code = rt.block_on(async move {
        // Before the VMACs and sockets join their groups (`start_vrrp()`).
        let igmp = vmac::LocalIgmp::disable(config.global.disable_local_igmp);
        let (mut platform, interfaces) = match LinuxPlatform::new(setup, &config).await {
            Ok(p) => p,
            Err(e) => {
                igmp.restore();
                error!("{e}");
                return EXIT_FATAL as u8;
            }
        };
        let now = driver::Platform::now(&platform);
        let tracked = platform.tracked_at_start(&config).await;
        let mut engine = Engine::with_trackers(config, now, interfaces, tracked);
        platform.remove_leftovers(&engine).await;
        crate::host::process::release_freed_memory();
        info!("Starting VRRP child process, pid={}", std::process::id());
        driver::run(&mut engine, &mut platform).await;
        platform.release().await;
        igmp.restore();
        info!("Stopped");
        0
    });
    let _ = std::fs::remove_file(pidfile);
    code
}
