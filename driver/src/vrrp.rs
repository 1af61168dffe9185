//! The VRRP loop: feeds the VRRP engine what the platform hears (packets, link changes,
//! script exits, signals), wakes it at its deadlines and has the platform carry out its
//! outputs. The daemon's VRRP child (raw sockets, netlink) and the simulator (turmoil)
//! both implement [`Platform`] and call [`run`].

use std::future::Future;
use std::time::Duration;

use futures::FutureExt as _;

use keepalived_engine::config::model::Config;
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::DumpHost;
use keepalived_engine::vrrp::{Engine, Input, Output};

use crate::{drain, sleep_for, Executes, Outputs, Query};

/// What the world hands the loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Input(Input),
    /// A packet, and when the host received it (a kernel timestamp), which can be earlier
    /// than now: a timer it restarts counts from its arrival (RFC 5798 §6.4.2).
    Packet {
        at: Instant,
        input: Input,
    },
    /// The process stops running for this long (a scheduling stall, SIGSTOP): nothing is
    /// received, sent or timed until it resumes, as on a stalled host.
    Pause(Duration),
    /// A new configuration, complete. The loop applies it outside its select, so nothing
    /// about it can be cancelled by a timer: [`Platform::prepare_reload`], then the
    /// engine's [`Input::Reload`].
    Reload(Box<Config>),
    /// SIGUSR2: hand the engine's statistics to the platform; with `clear`
    /// (SIGRTMAX−1, STATS_CLEAR), then zero them, as keepalived's `vrrp_print_stats()`.
    DumpStats {
        clear: bool,
    },
    /// SIGUSR1: the data dump.
    DumpData,
    /// SIGRTMIN+2: the state as JSON.
    DumpJson,
    /// The metrics endpoint asks: [`Platform::answer`] is given the engine.
    Query(Query),
    /// Leave the loop (after a `Shutdown` input has been handled, or on crash).
    Stop,
}

/// A host the engine runs on.
pub trait Platform {
    /// The engine's clock now.
    fn now(&self) -> Instant;
    /// How long from now until the engine time `t` (zero if it has passed).
    fn until(&self, t: Instant) -> Duration;
    /// The next event from the world. Must be cancel-safe: the loop drops it when a timer
    /// fires first.
    fn next_event(&mut self) -> impl Future<Output = Event>;
    /// Carries out one output.
    fn execute(&mut self, out: Output) -> impl Future<Output = ()>;
    /// A packet that has already arrived, and when; never ready on a platform whose
    /// packets come only through `next_event`. Cancel-safe.
    fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
        std::future::pending()
    }
    /// The event `next_event` would return at once, if one is already at hand: the
    /// loop takes it without setting up a wait. `None` by default, for a platform
    /// whose events come only through `next_event`.
    fn arrived(&mut self) -> Option<Event> {
        None
    }
    /// Makes ready what the engine's reload to `config` needs from the host (VMACs,
    /// sockets) and returns inputs the engine must have before it (interfaces that
    /// changed). Awaited to its end: the loop never cancels it.
    fn prepare_reload(&mut self, _config: &Config) -> impl Future<Output = Vec<Input>> {
        async { Vec::new() }
    }
    /// Every output the engine had is carried out (a reload's, say): the moment to
    /// finish what waits on them.
    fn drained(&mut self) -> impl Future<Output = ()> {
        async {}
    }
    /// Waits `d`: tokio's timer by default (the simulator's clock); the daemon uses a
    /// timerfd, which wakes at the deadline rather than on the next millisecond.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        tokio::time::sleep(d)
    }
    /// Writes the SIGUSR2 statistics somewhere the operator can read them.
    fn write_stats(&mut self, _text: String) {}
    /// Writes the SIGUSR1 data dump.
    fn write_data(&mut self, _text: String) {}
    /// Writes the SIGRTMIN+2 JSON state.
    fn write_json(&mut self, _text: String) {}
    /// Answers a [`Query`] from the engine as it stands. Called on the loop: take what
    /// the answer needs (a snapshot) and leave the rendering to whoever asked.
    fn answer(&mut self, _query: Query, _engine: &Engine) {}
    /// What the dumps print that the engine cannot know (the wall clock, the scripts'
    /// uid:gid, interface indexes): the system clock in UTC and root by default.
    fn dump_host(&self) -> DumpHost {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        DumpHost {
            now: self.now(),
            wall_us: wall.as_micros() as u64,
            ..DumpHost::default()
        }
    }
    /// [`Platform::dump_host`] with what the SIGUSR1 data dump alone prints (the host's
    /// interfaces and sockets in full), which takes longer to read.
    fn data_host(&self) -> DumpHost {
        self.dump_host()
    }
}

/// The most arrived packets heard ahead of a timer: more than a burst leaves queued, few
/// enough (a millisecond or two of work) that a flood cannot hold a master's adverts back.
const CATCH_UP: usize = 1024;

/// Runs `engine` on `platform` until an [`Event::Stop`].
pub async fn run<P: Platform>(engine: &mut Engine, platform: &mut P) {
    // The latest time the engine has been given: a packet that arrived before it is
    // dated then, so the engine's clock never runs backwards.
    let mut told = platform.now();
    // The time the engine's timers were last run at. A deadline at or before it is work
    // the engine left for its next call (it takes one takeover a call on each
    // interface), not a timer the host woke late for: it is not waited for, nor
    // reported late (`Platform::until`).
    let mut timers_ran: Option<Instant> = None;
    loop {
        // One output at a time, but one instance's takeover whole (at most
        // `outbox::BURST` outputs): a burst of 1,000 takeovers can outlast a 30 ms advert
        // interval, and what falls due meanwhile must not wait for its end.
        if let Some(out) = engine.poll_output() {
            platform.execute(out).await;
            if engine.output_continues() || engine.poll_timeout().is_none_or(|t| t > platform.now())
            {
                continue;
            }
            // The runtime sees packets that came in during the burst only once the loop
            // lets it look.
            tokio::task::yield_now().await;
        } else {
            platform.drained().await;
        }
        // An event already at hand while no timer is due is taken without a wait set up
        // for it: a backup of 1,000 instances hears a thousand adverts a second.
        let next = engine.poll_timeout();
        let due = next.is_some_and(|t| t <= platform.now());
        let at_hand = if due { None } else { platform.arrived() };
        let event = match at_hand {
            Some(ev) => Some(ev),
            None => {
                let wait =
                    next.map(|t| platform.sleep(time_to_wait(engine, platform, timers_ran, t)));
                let timed = wait.is_some();
                // `biased`: no random branch choice, so a run depends only on its inputs
                // and seed.
                tokio::select! {
                    biased;
                    _ = sleep_for(wait), if timed => None,
                    ev = platform.next_event() => Some(ev),
                }
            }
        };
        match event {
            None => {
                // Adverts that arrived while the loop was busy or stalled are heard before
                // the timer: the down timer restarts with each one (RFC 5798 §6.4.2), and a
                // backup that looked at its timer first would take over from a live master.
                for _ in 0..CATCH_UP {
                    let Some((at, input)) =
                        tokio::task::unconstrained(platform.next_packet()).now_or_never()
                    else {
                        break;
                    };
                    engine.handle_input(advance(&mut told, at), input);
                }
                let now = advance(&mut told, platform.now());
                timers_ran = Some(now);
                engine.handle_timeout(now);
            }
            Some(Event::Input(input)) => {
                engine.handle_input(advance(&mut told, platform.now()), input)
            }
            Some(Event::Packet { at, input }) => engine.handle_input(advance(&mut told, at), input),
            Some(Event::Reload(config)) => {
                for input in platform.prepare_reload(&config).await {
                    engine.handle_input(advance(&mut told, platform.now()), input);
                }
                engine.handle_input(advance(&mut told, platform.now()), Input::Reload(config));
            }
            Some(Event::Pause(d)) => tokio::time::sleep(d).await,
            Some(Event::DumpStats { clear }) => {
                platform.write_stats(engine.stats_text());
                if clear {
                    engine.clear_stats();
                }
            }
            Some(Event::DumpData) => platform.write_data(engine.data_text(&platform.data_host())),
            Some(Event::DumpJson) => platform.write_json(engine.json_text(&platform.dump_host())),
            Some(Event::Query(q)) => platform.answer(q, engine),
            Some(Event::Stop) => {
                drain(engine, platform).await;
                return;
            }
        }
    }
}

impl Outputs for Engine {
    type Output = Output;
    fn poll_output(&mut self) -> Option<Output> {
        Engine::poll_output(self)
    }
}

impl<P: Platform> Executes<Output> for P {
    fn execute(&mut self, out: Output) -> impl Future<Output = ()> {
        Platform::execute(self, out)
    }
}

/// How long to wait for the engine's next deadline `t`. A deadline at or before
/// `timers_ran` is work the engine left for its next call: no wait; but a timer that fell
/// due since that call was woken for late all the same.
fn time_to_wait<P: Platform>(
    engine: &Engine,
    platform: &P,
    timers_ran: Option<Instant>,
    t: Instant,
) -> Duration {
    match timers_ran.filter(|ran| t <= *ran) {
        Some(ran) => {
            if let Some(next) = engine
                .poll_timeout_after(ran)
                .filter(|next| *next <= platform.now())
            {
                platform.until(next);
            }
            Duration::ZERO
        }
        None => platform.until(t),
    }
}

/// `t`, or the latest time already told if that is later; the new latest.
fn advance(told: &mut Instant, t: Instant) -> Instant {
    *told = (*told).max(t);
    *told
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::net::{IpAddr, Ipv4Addr};
    use std::rc::Rc;

    use keepalived_engine::config::{parse_str, ParseOptions};
    use keepalived_engine::vrrp::{InterfaceInfo, State};
    use keepalived_engine::wire::{
        AdvertRepr, EmitOptions, Family, VipList, VrrpBody, VrrpRepr, MCAST_GROUP4,
    };

    use super::*;
    use crate::EngineClock;

    /// A host whose clock moves only by sleeping or by carrying out outputs, each of
    /// which takes `work_us` (a kernel slow to add addresses on a busy machine).
    struct SlowHost {
        clock: Rc<Cell<u64>>,
        end_us: u64,
        work_us: u64,
        /// Packets by the time they arrive.
        arrivals: VecDeque<(u64, Input)>,
        /// Whether arrived packets are also at hand ([`Platform::arrived`]), as the
        /// daemon's are, or only read when a timer wakes the loop.
        at_hand: bool,
        /// What the loop did, in order.
        seen: Rc<RefCell<Vec<Seen>>>,
    }

    #[derive(Debug, Clone, PartialEq)]
    enum Seen {
        /// An instance became master, at this time.
        Master(String, u64),
        /// An instance's advert went out.
        Advert(String),
        /// The loop went back to its timers.
        Timers,
        /// The loop was told it woke for a timer this late (µs), as `until` tells.
        Late(u64),
        /// The loop took a packet at hand.
        AtHand,
    }

    impl Platform for SlowHost {
        fn now(&self) -> Instant {
            Instant::from_micros(self.clock.get())
        }
        fn until(&self, t: Instant) -> Duration {
            let now = self.clock.get();
            if t.as_micros() < now {
                self.seen.borrow_mut().push(Seen::Late(now - t.as_micros()));
            }
            Duration::from_micros(t.as_micros().saturating_sub(now))
        }
        async fn next_event(&mut self) -> Event {
            if self.clock.get() >= self.end_us {
                return Event::Stop;
            }
            std::future::pending().await
        }
        fn arrived(&mut self) -> Option<Event> {
            let (at, input) = self.at_hand.then(|| self.arrival()).flatten()?;
            self.seen.borrow_mut().push(Seen::AtHand);
            Some(Event::Packet { at, input })
        }
        fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
            let input = self.arrival();
            async move {
                match input {
                    Some(packet) => packet,
                    None => std::future::pending().await,
                }
            }
        }
        async fn execute(&mut self, out: Output) {
            let seen = match out {
                Output::StateChange {
                    instance,
                    to: State::Master,
                    ..
                } => Some(Seen::Master(instance, self.clock.get())),
                Output::Transmit { instance, .. } => Some(Seen::Advert(instance)),
                _ => None,
            };
            self.seen.borrow_mut().extend(seen);
            self.clock.set(self.clock.get() + self.work_us);
        }
        fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
            self.seen.borrow_mut().push(Seen::Timers);
            let (clock, end) = (self.clock.clone(), self.end_us);
            async move {
                if clock.get() >= end {
                    return std::future::pending().await;
                }
                clock.set(clock.get() + d.as_micros() as u64);
            }
        }
    }

    impl SlowHost {
        /// The next packet, if it has arrived by now.
        fn arrival(&mut self) -> Option<(Instant, Input)> {
            let now = self.clock.get();
            let ready = self.arrivals.front().is_some_and(|(t, _)| *t <= now);
            let (t, input) = ready.then(|| self.arrivals.pop_front()).flatten()?;
            Some((Instant::from_micros(t), input))
        }
    }

    /// Runs `engine` on a [`SlowHost`] until `end_us`: what the loop did, and where the
    /// host's clock ended.
    fn run_slowly(
        engine: &mut Engine,
        end_us: u64,
        work_us: u64,
        arrivals: VecDeque<(u64, Input)>,
        at_hand: bool,
    ) -> (Vec<Seen>, u64) {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut host = SlowHost {
            clock: Rc::new(Cell::new(0)),
            end_us,
            work_us,
            arrivals,
            at_hand,
            seen: seen.clone(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(run(engine, &mut host));
        let ended = host.clock.get();
        (seen.take(), ended)
    }

    /// Who became master, and when.
    fn masters(seen: &[Seen]) -> Vec<(String, u64)> {
        seen.iter()
            .filter_map(|s| match s {
                Seen::Master(i, t) => Some((i.clone(), *t)),
                _ => None,
            })
            .collect()
    }

    /// An engine for `text` on a host with eth0 and eth1.
    fn engine_for(text: &str) -> Engine {
        let config = parse_str(text, &ParseOptions::default()).config;
        let interfaces = (0..2u8)
            .map(|k| InterfaceInfo {
                name: format!("eth{k}"),
                up: true,
                mac: [2, 0, 0, 0, k, 1],
                ipv4: Some(Ipv4Addr::new(192, 168, k, 1)),
                ipv6_ll: None,
                ipv6_forwarding: false,
            })
            .collect();
        Engine::new(config, Instant::ZERO, interfaces)
    }

    fn advert_from_peer(vrid: u8, priority: u8) -> Input {
        let a = AdvertRepr {
            src: IpAddr::V4(Ipv4Addr::new(192, 168, 0, 2)),
            dst: IpAddr::V4(MCAST_GROUP4),
            ttl: 255,
            tos: 0xc0,
            ident: 1,
            ah: None,
            vrrp: VrrpRepr {
                vrid,
                priority,
                body: VrrpBody::V3 {
                    max_adver_int_cs: 3,
                },
                vips: VipList::V4(vec![Ipv4Addr::new(10, 0, 0, 100)]),
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

    /// A host that hands the loop one new configuration at once, whose preparation
    /// takes `prepare`, then stops at `stop_at`.
    struct Reloading {
        clock: EngineClock,
        reload: Option<Box<Config>>,
        prepare: Duration,
        prepared: usize,
        stop_at: tokio::time::Instant,
    }

    impl Platform for Reloading {
        fn now(&self) -> Instant {
            self.clock.now()
        }
        fn until(&self, t: Instant) -> Duration {
            self.clock.until(t)
        }
        async fn next_event(&mut self) -> Event {
            if let Some(config) = self.reload.take() {
                return Event::Reload(config);
            }
            tokio::time::sleep_until(self.stop_at).await;
            Event::Stop
        }
        async fn execute(&mut self, _out: Output) {}
        async fn prepare_reload(&mut self, _config: &Config) -> Vec<Input> {
            tokio::time::sleep(self.prepare).await;
            self.prepared += 1;
            Vec::new()
        }
    }

    // A reload is applied outside the loop's select, which drops the event future when a
    // timer fires first: run inside it, a slow one would be lost half done. Its
    // preparation here outlasts several advert intervals, and still runs to its end and
    // the engine gets the configuration.
    #[test]
    fn a_reload_whose_preparation_outlasts_the_timers_is_applied_whole() {
        let text = |prio: u8| {
            format!(
                "vrrp_instance VI_1 {{\n state MASTER\n interface eth0\n virtual_router_id 50\n \
                 priority {prio}\n advert_int 0.05\n virtual_ipaddress {{\n  10.0.0.100/24\n }}\n}}\n"
            )
        };
        let mut engine = engine_for(&text(100));
        let new = parse_str(&text(150), &ParseOptions::default()).config;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let host = rt.block_on(async {
            let mut host = Reloading {
                clock: EngineClock::start(),
                reload: Some(Box::new(new)),
                prepare: Duration::from_millis(200),
                prepared: 0,
                stop_at: tokio::time::Instant::now() + Duration::from_millis(400),
            };
            run(&mut engine, &mut host).await;
            host
        });
        assert_eq!(host.prepared, 1);
        assert_eq!(
            engine.instances()[0].cfg.priority,
            150,
            "the reload applied"
        );
    }

    // RFC 5798 §6.4.2: each advert restarts the down timer. 200 owners taking over at
    // start make a burst far longer than the 30 ms backup's 108 ms down interval, while its
    // master's adverts keep arriving; the loop must hear them before it looks at the timer.
    #[test]
    fn a_backup_hears_adverts_that_arrived_during_a_burst_before_its_down_timer() {
        let mut text = String::from(
            "global_defs {\n vrrp_version 3\n}\nvrrp_instance WATCHED {\n interface eth0\n \
             virtual_router_id 50\n priority 100\n advert_int 0.03\n \
             virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
        );
        for k in 0..200u32 {
            text.push_str(&format!(
                "vrrp_instance OWNER_{k} {{\n state MASTER\n interface eth0\n virtual_router_id {}\n \
                 priority 255\n advert_int 1\n virtual_ipaddress {{\n  10.1.0.{}/16\n }}\n}}\n",
                k + 51,
                k + 1
            ));
        }
        // Read only when a timer wakes the loop, or also as they come.
        for at_hand in [false, true] {
            let mut engine = engine_for(&text);
            // The live master's adverts, every 30 ms for the whole run.
            let arrivals = (0..66u64)
                .map(|k| (k * 30_000, advert_from_peer(50, 200)))
                .collect();
            let (seen, ended) = run_slowly(&mut engine, 2_000_000, 500, arrivals, at_hand);
            assert_eq!(seen.contains(&Seen::AtHand), at_hand);
            let masters = masters(&seen);
            assert_eq!(masters.len(), 200, "every owner took over: {masters:?}");
            assert!(
                !masters.iter().any(|(m, _)| m == "WATCHED"),
                "the backup took over from a master whose adverts were waiting to be read \
                 (at hand: {at_hand})"
            );
            assert!(
                ended > 200_000,
                "the burst outlasted the down interval, so the test means something"
            );
        }
    }

    // RFC 5798 §6.4.2: the down timer restarts when an advert is received. This host
    // reads packets only when a timer wakes it, so each advert is read up to a down
    // interval after it came; counted from the reading, the takeover would come late.
    #[test]
    fn a_down_timer_counts_from_when_the_advert_arrived_not_when_it_was_read() {
        let last_advert = 300_000;
        // Read only when a timer wakes the loop, or also as they come.
        for at_hand in [false, true] {
            let mut engine = engine_for(
                "global_defs {\n vrrp_version 3\n}\nvrrp_instance WATCHED {\n interface eth0\n \
                 virtual_router_id 50\n priority 100\n advert_int 0.03\n \
                 virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
            );
            // The master's adverts every 30 ms until it dies after the one at 300 ms.
            let arrivals = (0..=last_advert / 30_000)
                .map(|k| (k * 30_000, advert_from_peer(50, 200)))
                .collect();
            let (seen, _) = run_slowly(&mut engine, 1_000_000, 0, arrivals, at_hand);
            assert_eq!(seen.contains(&Seen::AtHand), at_hand);
            // 3 × 30 ms + skew (256 − 100) × 30 ms / 256 (RFC 5798 §6.1).
            let down_interval = 90_000 + 156 * 30_000 / 256;
            assert_eq!(
                masters(&seen),
                vec![("WATCHED".to_string(), last_advert + down_interval)],
                "the backup took over one down interval after the last advert arrived \
                 (at hand: {at_hand})"
            );
        }
    }

    // vrrp_state_become_master() does a whole takeover in one call. Here 100 instances on
    // eth1 fall due 3.9 ms after WATCHED (priority 99: a longer skew), while WATCHED's
    // takeover (8 outputs of 1 ms) is under way; working theirs out must wait for its end.
    #[test]
    fn a_takeover_goes_out_whole_before_the_loop_turns_to_timers_that_fell_due() {
        let mut text = String::from(
            "vrrp_instance WATCHED {\n interface eth0\n virtual_router_id 50\n priority 100\n \
             advert_int 1\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
        );
        text.push_str(&others(100, 51));
        let mut engine = engine_for(&text);
        let (seen, _) = run_slowly(&mut engine, 5_000_000, 1_000, VecDeque::new(), false);
        let advert = seen
            .iter()
            .position(|s| *s == Seen::Advert("WATCHED".into()))
            .expect("WATCHED took over");
        let master = seen
            .iter()
            .position(|s| matches!(s, Seen::Master(i, _) if i == "WATCHED"))
            .expect("WATCHED became master");
        let Seen::Master(_, at) = &seen[master] else {
            unreachable!()
        };
        let others_due = 3_000_000 + 157 * 1_000_000 / 256;
        assert!(
            *at > others_due,
            "the others fell due during WATCHED's takeover, so the test means something"
        );
        assert!(
            !seen[advert..master].contains(&Seen::Timers),
            "the loop turned to its timers mid-takeover: {:?}",
            &seen[advert..=master]
        );
        assert_eq!(masters(&seen).len(), 101, "every instance took over");
    }

    /// `count` instances OTHER_0… on eth1 at priority 99, their VRIDs from `first_vrid`.
    fn others(count: u32, first_vrid: u32) -> String {
        (0..count)
            .map(|k| {
                format!(
                    "vrrp_instance OTHER_{k} {{\n interface eth1\n virtual_router_id {}\n \
                     priority 99\n advert_int 1\n virtual_ipaddress {{\n  10.1.0.{}/16\n }}\n}}\n",
                    first_vrid + k,
                    k + 1
                )
            })
            .collect()
    }

    /// How late the loop was told it woke, each time.
    fn lates(seen: &[Seen]) -> Vec<u64> {
        seen.iter()
            .filter_map(|s| match s {
                Seen::Late(us) => Some(*us),
                _ => None,
            })
            .collect()
    }

    // The engine takes one takeover a call on each interface and leaves the others at
    // their passed deadlines: the loop calls again for them, and that is not a late
    // wake-up (which `vrrp_rt_priority`'s auto priority would log and answer with
    // SCHED_RR, once per instance of the burst). A timer that did fall due while the
    // loop was busy still is one.
    #[test]
    fn takeovers_left_for_the_next_call_are_not_late_wake_ups_but_a_busy_loop_is() {
        let mut text = others(50, 1);
        let mut engine = engine_for(&text);
        let (seen, _) = run_slowly(&mut engine, 5_000_000, 100, VecDeque::new(), false);
        assert_eq!(masters(&seen).len(), 50, "every instance took over");
        let (first, last) = (masters(&seen)[0].1, masters(&seen)[49].1);
        assert!(last - first > 10_000, "the burst took {} µs", last - first);
        assert_eq!(lates(&seen), Vec::<u64>::new());

        // A fast master on eth0 whose advert falls due while a slow takeover on eth1
        // is carried out (20 ms an output).
        text.push_str(
            "vrrp_instance FAST {\n interface eth0\n virtual_router_id 100\n priority 255\n \
             advert_int 0.03\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
        );
        let mut engine = engine_for(&text);
        let (seen, _) = run_slowly(&mut engine, 5_000_000, 20_000, VecDeque::new(), false);
        assert!(
            lates(&seen).iter().any(|us| *us > 10_000),
            "FAST's advert fell due mid-takeover and was not reported late: {:?}",
            lates(&seen)
        );
    }

    // A backup of 1,000 instances hears a thousand adverts a second: each already at hand
    // is taken without a wait set up for it, but not ahead of a timer that is due. Here
    // an owner falls due at start while 3,000 adverts for another instance wait.
    #[test]
    fn packets_at_hand_are_taken_without_a_wait_but_not_ahead_of_a_due_timer() {
        let mut text = String::from(
            "vrrp_instance WATCHED {\n interface eth0\n virtual_router_id 50\n priority 100\n \
             advert_int 1\n virtual_ipaddress {\n  10.0.0.100/24\n }\n}\n",
        );
        text.push_str(
            "vrrp_instance OWNER {\n state MASTER\n interface eth1\n virtual_router_id 51\n \
             priority 255\n advert_int 1\n virtual_ipaddress {\n  10.1.0.1/16\n }\n}\n",
        );
        let mut engine = engine_for(&text);
        let arrivals = (0..3_000).map(|_| (0, advert_from_peer(50, 200))).collect();
        let (seen, _) = run_slowly(&mut engine, 5_000_000, 0, arrivals, true);
        let owner = seen
            .iter()
            .position(|s| matches!(s, Seen::Master(i, _) if i == "OWNER"))
            .expect("OWNER took over");
        let at_hand: Vec<usize> = (0..seen.len())
            .filter(|&k| seen[k] == Seen::AtHand)
            .collect();
        let (Some(&first), Some(&last)) = (at_hand.first(), at_hand.last()) else {
            panic!("no packet was taken at hand");
        };
        assert!(
            owner < first,
            "a packet at hand was taken before the timer that was due"
        );
        assert!(
            at_hand.len() > 1_000,
            "the adverts the timer's catch-up left were taken as they were at hand: {}",
            at_hand.len()
        );
        assert!(
            !seen[first..last].contains(&Seen::Timers),
            "a wait was set up between two packets at hand"
        );
    }
}
