//! The daemon on a real Linux host: the engine on the shared driver with raw sockets,
//! rtnetlink, AF_PACKET, child processes and signals.

pub mod checker;
pub mod fifo;
pub mod ipvs;
pub mod linkbeat;
pub mod netlink;
pub mod platform;
pub mod probe_tasks;
pub mod raw;
pub mod scripts;
pub mod signals;
pub mod timer;
pub mod tuning;
pub mod vmac;

use std::path::Path;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Engine;
use tracing::{error, info};

use keepalived_driver::vrrp as driver;
use platform::{LinuxPlatform, Setup};

/// Runs the VRRP side until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_vrrp(config: Config, setup: Setup, pidfile: &Path) -> u8 {
    tuning::apply(&tuning::ProcessTuning::vrrp(&config.global));
    let Some(rt) = start_process(pidfile) else {
        return crate::parent::EXIT_FATAL as u8;
    };
    let code = rt.block_on(async move {
        let (mut platform, interfaces) = match LinuxPlatform::new(setup, &config).await {
            Ok(p) => p,
            Err(e) => {
                error!("{e}");
                return crate::parent::EXIT_FATAL as u8;
            }
        };
        let now = driver::Platform::now(&platform);
        let mut engine = Engine::new(config, now, interfaces);
        platform.remove_leftovers(&engine).await;
        crate::process::release_freed_memory();
        info!("Starting VRRP child process, pid={}", std::process::id());
        driver::run(&mut engine, &mut platform).await;
        platform.release().await;
        info!("Stopped");
        0
    });
    let _ = std::fs::remove_file(pidfile);
    code
}

/// What every process does first: its runtime (single-threaded, so a run depends only on
/// its inputs) and its pidfile. `None` if the runtime cannot be made.
pub fn start_process(pidfile: &Path) -> Option<tokio::runtime::Runtime> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return None;
        }
    };
    if let Err(e) = write_pidfile(pidfile) {
        error!(file = %pidfile.display(), "pidfile: {e}");
    }
    Some(rt)
}

/// Our pid in `p`, created fresh and private as every file we write.
pub fn write_pidfile(p: &Path) -> std::io::Result<()> {
    platform::write_private(p, &format!("{}\n", std::process::id()))
}
