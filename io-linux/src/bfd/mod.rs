//! The BFD child (keepalived's `start_bfd_child()`, `keepalived/bfd/bfd_daemon.c`): the
//! BFD engine on the shared BFD loop ([`keepalived_driver::bfd`]), with a UDP socket on
//! port 3784 for every session's packets, a socket per session to send from, and the
//! sessions' states written to the VRRP and checker children down the pipes the parent
//! opened ([`events`]).

pub mod events;
mod platform;
mod sockets;

use std::path::Path;

use keepalived_engine::bfd::{Engine, CONTROL_PORT};
use keepalived_engine::config::model::Config;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{error, info};

use keepalived_driver::bfd as driver;
use keepalived_driver::EngineClock;

use crate::host::auto_priority::{self, AutoPriority};
use crate::host::process::{start_process, EXIT_FATAL};
use crate::host::signals::Signals;
use crate::host::tuning;
use events::EventWriter;
use platform::LinuxBfd;
use sockets::{Listener, Senders};

pub struct BfdSetup {
    /// Configurations from the parent, complete ([`crate::config_channel`]).
    pub reloads: UnboundedReceiver<Box<Config>>,
}

/// Runs the BFD sessions until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_bfd(config: Config, setup: BfdSetup, pidfile: &Path) -> u8 {
    // `start_bfd()`: bfd_priority, bfd_rt_priority, bfd_rlimit_rttime, bfd_no_swap, and
    // bfd_cpu_affinity; max_auto_priority as for the other children.
    tuning::apply(&tuning::ProcessTuning::bfd(&config.global));
    let mut auto = AutoPriority::checker(&config.global, auto_priority::current_rr());
    auto.rlimit_rttime_us = config.global.bfd_rlimit_rttime_us;
    auto_priority::configure(auto);
    let Some(rt) = start_process(pidfile) else {
        return EXIT_FATAL as u8;
    };
    let code = rt.block_on(async move {
        let signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                error!("signals: {e}");
                return EXIT_FATAL as u8;
            }
        };
        // keepalived exits when it cannot listen (`bfd_dispatcher_init()`: "There is no
        // point to stay alive w/o listening socket"), and the parent stops with it.
        let listener = match Listener::open(CONTROL_PORT) {
            Ok(l) => l,
            Err(e) => {
                error!("Unable to open listening socket: {e}");
                return EXIT_FATAL as u8;
            }
        };
        let clock = EngineClock::start();
        let mut platform = LinuxBfd::new(
            clock,
            signals,
            setup.reloads,
            listener,
            Senders::new(CONTROL_PORT),
            EventWriter::inherited(),
            &config,
        );
        let seed = u64::from(std::process::id()) ^ wall_nanos();
        let now = driver::Platform::now(&platform);
        let mut engine = Engine::new(&config, now, seed);
        drop(config);
        crate::host::process::release_freed_memory();
        info!("Starting BFD child process, pid={}", std::process::id());
        driver::run(&mut engine, &mut platform).await;
        info!("Stopped");
        0
    });
    let _ = std::fs::remove_file(pidfile);
    code
}

/// The wall clock's nanoseconds, to seed the discriminators and the jitter differently
/// at each start (keepalived's `srandom(time(NULL))`).
fn wall_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
