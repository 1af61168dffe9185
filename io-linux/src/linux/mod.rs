//! The daemon on a real Linux host: the engine on the shared driver with raw sockets,
//! rtnetlink, AF_PACKET, child processes and signals.

pub mod netlink;
pub mod platform;
pub mod raw;
pub mod scripts;
pub mod tuning;

use std::path::{Path, PathBuf};

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Engine;
use tracing::{error, info};

use crate::driver;
use platform::{LinuxPlatform, Setup};

/// Runs the VRRP side until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_vrrp(config: Config, setup: Setup, pidfiles: &[PathBuf]) -> u8 {
    tuning::apply_vrrp(&config.global);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return 1;
        }
    };
    for p in pidfiles {
        if let Err(e) = write_pidfile(p) {
            error!(file = %p.display(), "pidfile: {e}");
        }
    }
    let code = rt.block_on(async move {
        let (mut platform, interfaces) = match LinuxPlatform::new(setup, &config).await {
            Ok(p) => p,
            Err(e) => {
                error!("{e}");
                return 1;
            }
        };
        let now = driver::Platform::now(&platform);
        let mut engine = Engine::new(config, now, interfaces);
        info!("Starting VRRP child process, pid={}", std::process::id());
        driver::run(&mut engine, &mut platform).await;
        info!("Stopped");
        0
    });
    for p in pidfiles {
        let _ = std::fs::remove_file(p);
    }
    code
}

fn write_pidfile(p: &Path) -> std::io::Result<()> {
    platform::write_private(p, &format!("{}\n", std::process::id()))
}
