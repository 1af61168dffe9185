//! The Linux platform under the shared BFD loop ([`keepalived_driver::bfd`]): the
//! sockets ([`super::sockets`]), the event pipes to the VRRP and checker children
//! ([`super::events`]), the timer the VRRP child's deadlines are waited on with, signals
//! and the parent's configurations.

use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::time::Duration;

use keepalived_engine::bfd::{DumpHost, Engine, Input};
use keepalived_engine::config::model::{Config, GlobalDefs};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::global_text;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, error, info};

use keepalived_driver::bfd::{Event, Platform, SessionEvent};
use keepalived_driver::EngineClock;

use super::events::EventWriter;
use super::sockets::{Listener, Senders};
use crate::host::files::{dump_file, DumpPaths};
use crate::host::process::Process;
use crate::host::script_user::ScriptUser;
use crate::host::signals::Signals;
use crate::vrrp::platform::clock_and_users;
use crate::vrrp::timer::Clock;

/// What `open_dump_file()` puts before the dump's extension for the BFD process:
/// `keepalived_bfd.data` by default (`bfd_print_data()`).
pub(crate) const BFD_DATA: &str = "_bfd";

pub(crate) struct LinuxBfd {
    engine_clock: EngineClock,
    /// The engine's clock and the timerfd its deadlines are waited on with, as the VRRP
    /// child's: a 100 ms transmit interval is kept to the microsecond, not the
    /// millisecond after it.
    clock: Clock,
    signals: Signals,
    /// Configurations from the parent, complete ([`crate::config_channel`]).
    reloads: UnboundedReceiver<Box<Config>>,
    listener: Listener,
    senders: Senders,
    events: EventWriter,
    /// Where the SIGUSR1 dump goes, from the running configuration.
    dumps: DumpPaths,
    /// The running configuration's globals, which the dump begins with.
    global: GlobalDefs,
    stopping: bool,
    /// Sessions whose socket failed to open and has not opened since: a retry that fails
    /// again (the minute's, or one a packet from the peer asks for, up to once a second)
    /// is logged at debug, so the error is said once.
    failed_opens: BTreeSet<String>,
}

impl LinuxBfd {
    pub(crate) fn new(
        engine_clock: EngineClock,
        signals: Signals,
        reloads: UnboundedReceiver<Box<Config>>,
        listener: Listener,
        senders: Senders,
        events: EventWriter,
        config: &Config,
    ) -> LinuxBfd {
        LinuxBfd {
            engine_clock,
            clock: Clock::new(engine_clock),
            signals,
            reloads,
            listener,
            senders,
            events,
            dumps: DumpPaths::new(config),
            global: config.global.clone(),
            stopping: false,
            failed_opens: BTreeSet::new(),
        }
    }

    fn shutdown(&mut self, why: &str) -> Event {
        info!("{why} received: stopping");
        self.stopping = true;
        Event::Input(Input::Shutdown)
    }
}

impl Platform for LinuxBfd {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        self.clock.until(t)
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        self.clock.sleep(d)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        loop {
            tokio::select! {
                biased;
                _ = self.signals.term.recv() => return self.shutdown("SIGTERM"),
                _ = self.signals.int.recv() => return self.shutdown("SIGINT"),
                // Only the parent reads the configuration (`sigreload_bfd()` reads it
                // itself); the result comes back down the channel.
                _ = self.signals.hup.recv() => {
                    crate::config_channel::pass_reload_to_parent(Process::Bfd)
                }
                Some(config) = self.reloads.recv() => {
                    info!("Reloading");
                    self.dumps = DumpPaths::new(&config);
                    self.global = config.global.clone();
                    return Event::Input(Input::Reload(config));
                }
                _ = self.signals.usr1.recv() => {
                    info!("Printing BFD data for process({}) on signal", std::process::id());
                    return Event::DumpData;
                }
                // The parent started a VRRP or checker child: it hears every session's
                // state now, not at the session's next change.
                _ = self.signals.usr2.recv() => {
                    debug!("telling the VRRP and checker processes the state of {} BFD sessions again", self.events.sessions());
                    self.events.resend();
                }
                _ = self.signals.stats_clear.recv() => {}
                _ = self.signals.json.recv() => {}
                // Before the packets: under a flood the listener is always ready, and
                // the states held for a full pipe would wait on it.
                _ = self.events.flush() => {}
                r = self.listener.recv() => {
                    let at = r.arrived(self.engine_clock.now());
                    return Event::Packet { at, input: r.input() };
                }
            }
        }
    }

    fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
        let clock = self.engine_clock;
        let listener = &self.listener;
        async move {
            let r = listener.recv().await;
            (r.arrived(clock.now()), r.input())
        }
    }

    async fn open(
        &mut self,
        session: &str,
        src: Option<IpAddr>,
        dst: IpAddr,
        ttl: u8,
    ) -> io::Result<()> {
        let opened = self.senders.open(session, src, dst, ttl);
        if opened.is_ok() && self.failed_opens.remove(session) {
            info!(session, "({session}) output socket opened");
        }
        opened
    }

    async fn close(&mut self, session: &str) {
        self.failed_opens.remove(session);
        self.senders.close(session);
        self.events.closed(session);
    }

    async fn transmit(&mut self, session: &str, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        self.senders.send(session, dst, bytes)
    }

    async fn deliver(&mut self, event: SessionEvent) {
        let SessionEvent {
            session,
            up,
            vrrp,
            checker,
        } = event;
        let state = if up { "Up" } else { "Down" };
        // A reload tells every session's state again (`bfd_register_workers()`): said
        // only where it is news.
        if self.events.event(&session, up, vrrp, checker) {
            info!(session = %session, "BFD_Instance({session}) {state}");
        } else {
            debug!(session = %session, "BFD_Instance({session}) still {state}");
        }
    }

    fn send_failed(&mut self, session: &str, error: &io::Error) {
        error!(session, "({session}) Error sending packet: {error}");
    }

    fn open_failed(&mut self, session: &str, error: &io::Error) {
        if self.failed_opens.insert(session.to_string()) {
            error!(
                session,
                "({session}) Unable to open output socket, disabling instance: {error}"
            );
        } else {
            debug!(
                session,
                "({session}) output socket still not opened: {error}"
            );
        }
    }

    /// `bfd_print_data()`: the global definitions, then the engine's BFD data with the
    /// descriptors of this process's sockets.
    fn write_data(&mut self, engine: &Engine) {
        let base = clock_and_users(self.now(), &ScriptUser::from_global(&self.global));
        let mut text = global_text(&self.global, true, base.script_ids);
        let host = DumpHost {
            now: base.now,
            wall_us: base.wall_us,
            utc_offset_s: base.utc_offset_s,
            fd_in: Some(self.listener.fd()),
            fd_out: self.senders.fds(),
        };
        text.push_str(&engine.dump_text(&host));
        dump_file(&self.dumps.state(BFD_DATA), &text);
    }
}
