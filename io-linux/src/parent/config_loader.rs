//! The parent's loads of the configuration file, at start and on each SIGHUP (keepalived's
//! `reload_config()`). Each runs on a thread of its own inside `catch_unwind`: a file
//! that is slow to read, or one that makes the parser panic, costs that thread and
//! nothing else. The result is either a configuration ready for the children
//! ([`Good`]) or the reason it is refused; a SIGHUP that arrives while a load runs is
//! folded into one more load after it ([`Loader`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keepalived_engine::config::model::{Command, Config, RootOptions};
use keepalived_engine::config::{load, DiagClass, ParseOptions};
use keepalived_engine::vrrp::{Engine, Owned};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::{error, warn};

use crate::host::hostfs::HostFs;
use crate::host::process::Process;
use crate::host::script_user::ScriptUser;

use super::children::Work;
use super::reload_file;

/// The stack of a load's thread: the main thread's 8 MiB, which the parser had when it ran
/// there, and as much again.
const LOAD_STACK: usize = 16 << 20;

/// Why a configuration is not used.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The parser's first error (`file:line:col: …`), and how many more it found.
    #[error("{first}{}", more_errors(*.more))]
    Invalid { first: String, more: usize },
    #[error("loading the configuration panicked: {0}")]
    Panicked(String),
    #[error("the configuration cannot be encoded for the children: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(
        "the configuration takes {0} bytes to send to the children, more than the {max} they accept",
        max = crate::config_channel::MAX_FRAME
    )]
    TooLarge(u64),
    #[error("cannot start a thread to load the configuration: {0}")]
    Thread(std::io::Error),
    /// A root option the processes were started with (`reload_config()`).
    #[error("{0} cannot change at a reload (restart keepalived-rs for that)")]
    Fixed(&'static str),
}

/// " (and N more errors)", when there are more.
fn more_errors(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => " (and 1 more error)".to_string(),
        n => format!(" (and {n} more errors)"),
    }
}

/// A configuration that loaded, as the parent keeps it: what it sends each child, and
/// what the VRRP child holds while master, so that the parent can take it off the host
/// if that child dies.
#[derive(Debug, Clone)]
pub struct Good {
    /// The configuration as one frame of [`crate::config_channel`].
    pub frame: Arc<Vec<u8>>,
    /// Every instance's addresses (excluded ones too), virtual routes and virtual rules.
    pub held: Arc<[Held]>,
    /// The root options: a reload may not change the namespace or the instance name.
    pub root: RootOptions,
    /// The scripts the parent itself runs, vetted.
    pub start_stop: StartStop,
    /// What it gives each child to do, which says which children run.
    pub work: Work,
    /// How the parent reloads while it runs.
    pub reload: ReloadSettings,
    /// The parent's SIGUSR1 dump, `keepalived_parent.data`: where it goes and what it
    /// says (keepalived's parent writes its global definitions alone).
    pub data: (std::path::PathBuf, String),
}

/// The `global_defs` keywords that shape the parent's reloads, as the running
/// configuration gives them: the next reload follows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReloadSettings {
    /// `reload_check_config [LOG_FILE]`: a check runs before each reload
    /// ([`super::config_check`]), its report to the file if one is named.
    pub check: Option<Option<PathBuf>>,
    /// `reload_time_file FILE`: a reload at the time the file holds
    /// ([`super::reload_monitor`]).
    pub time_file: Option<PathBuf>,
    /// `reload_repeat`: a time-of-day file stays, for a reload every day at that time.
    pub repeat: bool,
    /// `reload_file [FILE]`, resolved ([`reload_file::resolve`]).
    pub reload_file: Option<PathBuf>,
}

impl ReloadSettings {
    fn of(config: &Config) -> ReloadSettings {
        let g = &config.global;
        ReloadSettings {
            check: g
                .reload_check_config
                .as_ref()
                .map(|log| log.as_ref().map(PathBuf::from)),
            time_file: g.reload_time_file.as_ref().map(PathBuf::from),
            repeat: g.reload_repeat,
            reload_file: g
                .reload_file
                .as_ref()
                .map(|f| reload_file::resolve(f, &config.root)),
        }
    }
}

/// `startup_script` and `shutdown_script`, which the parent runs before its children start
/// and after they stop, vetted as the parent's scripts
/// ([`crate::host::security::disable_insecure`]), with their timeouts and who they run as.
#[derive(Debug, Clone, Default)]
pub struct StartStop {
    pub startup: Option<(Command, Duration)>,
    pub shutdown: Option<(Command, Duration)>,
    pub user: ScriptUser,
}

impl StartStop {
    fn vetted(config: &Config) -> StartStop {
        let g = &config.global;
        if g.startup_script.is_none() && g.shutdown_script.is_none() {
            return StartStop::default();
        }
        let mut own = Config {
            root: config.root.clone(),
            global: g.clone(),
            ..Config::default()
        };
        let root = crate::host::security::running_as_root();
        for m in crate::host::security::disable_insecure(&mut own, root, Process::Parent) {
            error!("{m}");
        }
        let g = own.global;
        let secs = |s: u32| Duration::from_secs(u64::from(s));
        StartStop {
            user: ScriptUser::from_global(&g),
            startup: g
                .startup_script
                .map(|c| (c, secs(g.startup_script_timeout_s))),
            shutdown: g
                .shutdown_script
                .map(|c| (c, secs(g.shutdown_script_timeout_s))),
        }
    }
}

/// One thing a VRRP instance puts on the host while it is master.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub instance: String,
    pub what: Owned,
}

impl Good {
    /// `config` made ready to keep and send. What an instance holds is the engine's own
    /// list ([`keepalived_engine::vrrp::Instance::owned`]), so the parent removes exactly
    /// what the child would have added.
    pub fn new(config: &Config) -> Result<Good, Refusal> {
        let frame = crate::config_channel::encode(config)?;
        // Refused here, so that no child is ever sent one it would refuse.
        if frame.len() as u64 > crate::config_channel::MAX_FRAME {
            return Err(Refusal::TooLarge(frame.len() as u64));
        }
        let engine = Engine::new(
            config.clone(),
            keepalived_engine::time::Instant::ZERO,
            Vec::new(),
        );
        let held = engine
            .instances()
            .iter()
            .flat_map(|i| {
                i.owned().into_iter().map(|what| Held {
                    instance: i.name().to_string(),
                    what,
                })
            })
            .collect();
        Ok(Good {
            frame,
            held,
            root: config.root.clone(),
            start_stop: StartStop::vetted(config),
            work: Work::of(config),
            reload: ReloadSettings::of(config),
            data: parent_data(config),
        })
    }
}

/// `keepalived_parent.data`'s path and text for `config`: the global definitions as the
/// parent holds them, with the default script user's uid:gid.
fn parent_data(config: &Config) -> (std::path::PathBuf, String) {
    use crate::host::script_user::{Identity, ScriptUser};
    let user = ScriptUser::from_global(&config.global);
    let id = user
        .user
        .as_deref()
        .and_then(|u| Identity::of(u, user.group.as_deref()))
        .unwrap_or_else(Identity::root);
    let path = crate::host::files::DumpPaths::new(config).state("_parent");
    let text = keepalived_engine::vrrp::dump::global_text(&config.global, true, (id.uid, id.gid));
    (path, text)
}

/// Reads and checks the configuration at `path`, logging what the parser says about it.
/// At start (`strict` false) only a failure that leaves nothing usable, or a failed include
/// check (`had_config_file_error()`), refuses it, as keepalived starts despite errors it
/// can step over; a reload (`strict`) is refused on any
/// error but those keepalived steps over with a default (class Note), so a mistake never
/// replaces a configuration that works. Either way it is saved
/// first if `config_save_dir` says where ([`super::config_save`]).
pub fn load_config(path: &Path, opts: &ParseOptions, strict: bool) -> Result<Config, Refusal> {
    let loaded = load(&HostFs, path, opts);
    super::config_save::save(&loaded.config);
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.counts_as_error())
        .collect();
    for d in loaded.diagnostics.iter() {
        warn!("{d}");
    }
    // An error of class Note is one keepalived steps over with a default (a route it
    // cannot track, a rule priority it gives): `-t` fails on it, a reload goes ahead.
    let refused = loaded.diagnostics.stops_start()
        || (strict && errors.iter().any(|d| d.class != DiagClass::Note));
    if !refused {
        return Ok(loaded.config);
    }
    // A diagnostic names its file and line; one without a place is about the file.
    let first = match errors.first() {
        Some(d) => d.to_string().lines().next().unwrap_or_default().to_string(),
        None => match loaded.diagnostics.iter().next() {
            Some(d) => d.to_string().lines().next().unwrap_or_default().to_string(),
            None => "it cannot be read".to_string(),
        },
    };
    let first = if first.starts_with(&*path.to_string_lossy()) {
        first
    } else {
        format!("{}: {first}", path.display())
    };
    Err(Refusal::Invalid {
        first,
        more: errors.len().saturating_sub(1),
    })
}

/// `f`, with a panic turned into the reason for a refusal.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, Refusal>) -> Result<T, Refusal> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(Refusal::Panicked(what))
        }
    }
}

/// Runs `f` [`guarded`] on a load thread and waits for it: the load at start, which gets
/// the same stack and the same protection as a reload's.
pub fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let handle = std::thread::Builder::new()
        .name("config-load".into())
        .stack_size(LOAD_STACK)
        .spawn(move || guarded(f))
        .map_err(Refusal::Thread)?;
    // `guarded` catches every panic, so the thread always returns.
    handle
        .join()
        .unwrap_or_else(|_| Err(Refusal::Panicked("the load thread".to_string())))
}

/// A load to run: the same one for every SIGHUP.
pub type LoadFn<T> = dyn Fn() -> Result<T, Refusal> + Send + Sync;

/// What [`Loader::request`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A load started now.
    Started,
    /// A load is running: one more follows it.
    Queued,
    /// A load is running and one more is already to follow: this request joins it.
    AlreadyQueued,
}

/// A finished load: its result and how long it took.
#[derive(Debug)]
pub(crate) struct Finished<T> {
    pub result: Result<T, Refusal>,
    pub took: Duration,
}

/// Runs loads one at a time, each on a thread of its own; requests made while one runs
/// become a single load after it, which reads the file as it is by then.
pub struct Loader<T> {
    load: Arc<LoadFn<T>>,
    /// When the running load started, if one runs.
    busy: Option<Instant>,
    again: bool,
    done_tx: UnboundedSender<Finished<T>>,
    done: UnboundedReceiver<Finished<T>>,
}

impl<T: Send + 'static> Loader<T> {
    pub fn new(load: Arc<LoadFn<T>>) -> Loader<T> {
        let (done_tx, done) = unbounded_channel();
        Loader {
            load,
            busy: None,
            again: false,
            done_tx,
            done,
        }
    }

    pub fn request(&mut self) -> Request {
        if self.busy.is_none() {
            self.start();
            Request::Started
        } else if !self.again {
            self.again = true;
            Request::Queued
        } else {
            Request::AlreadyQueued
        }
    }

    /// Whether a load is running.
    pub fn busy(&self) -> bool {
        self.busy.is_some()
    }

    /// When the running load started, if one runs: a thread cannot be stopped, so one
    /// that never ends (a file that never answers) holds every later reload back, and the
    /// parent says so rather than waiting in silence.
    pub(crate) fn running_since(&self) -> Option<Instant> {
        self.busy
    }

    /// The next load to finish; the queued one, if any, starts as it is returned.
    /// Cancel-safe: nothing happens before the receive completes, and nothing awaits after.
    pub(crate) async fn finished(&mut self) -> Finished<T> {
        let Some(done) = self.done.recv().await else {
            // `self` holds a sender, so the channel never closes.
            return std::future::pending().await;
        };
        self.busy = None;
        if std::mem::take(&mut self.again) {
            self.start();
        }
        done
    }

    fn start(&mut self) {
        self.busy = Some(Instant::now());
        let load = self.load.clone();
        let tx = self.done_tx.clone();
        let spawned = std::thread::Builder::new()
            .name("config-load".into())
            .stack_size(LOAD_STACK)
            .spawn(move || {
                let started = Instant::now();
                let result = guarded(|| load());
                let _ = tx.send(Finished {
                    result,
                    took: started.elapsed(),
                });
            });
        if let Err(e) = spawned {
            let _ = self.done_tx.send(Finished {
                result: Err(Refusal::Thread(e)),
                took: Duration::ZERO,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn a_load_that_panics_is_a_refusal_that_says_why() {
        let mut loader: Loader<()> = Loader::new(Arc::new(|| panic!("SEQ step overflow")));
        assert_eq!(loader.request(), Request::Started);
        let done = runtime().block_on(loader.finished());
        let why = done.result.unwrap_err();
        assert!(
            matches!(&why, Refusal::Panicked(m) if m == "SEQ step overflow"),
            "{why}"
        );
        assert_eq!(
            why.to_string(),
            "loading the configuration panicked: SEQ step overflow"
        );
        assert!(!loader.busy());
    }

    #[test]
    fn a_load_at_start_that_panics_is_a_refusal_too() {
        let r: Result<(), Refusal> = on_thread(|| panic!("{}", String::from("at start")));
        assert!(matches!(r, Err(Refusal::Panicked(m)) if m == "at start"));
    }

    // Three SIGHUPs during one load make one more load, not three; and that load starts
    // only once the first has finished.
    #[test]
    fn requests_during_a_load_become_one_load_after_it() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        let load = {
            let calls = calls.clone();
            Arc::new(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                gate.lock().unwrap().recv().unwrap();
                Ok(n)
            })
        };
        let mut loader = Loader::new(load);
        let rt = runtime();
        assert_eq!(loader.request(), Request::Started);
        assert_eq!(loader.request(), Request::Queued);
        assert_eq!(loader.request(), Request::AlreadyQueued);
        gate_tx.send(()).unwrap();
        assert_eq!(rt.block_on(loader.finished()).result.unwrap(), 1);
        assert!(loader.busy(), "the queued load started");
        assert_eq!(loader.request(), Request::Queued);
        gate_tx.send(()).unwrap();
        assert_eq!(rt.block_on(loader.finished()).result.unwrap(), 2);
        gate_tx.send(()).unwrap();
        assert_eq!(rt.block_on(loader.finished()).result.unwrap(), 3);
        assert!(!loader.busy());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kars-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_reload_is_refused_on_any_error_but_a_start_only_on_a_fatal_one() {
        let p = file(
            "errors.conf",
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
             no_such_keyword 1\n virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
        );
        let opts = ParseOptions::default();
        let why = load_config(&p, &opts, true).unwrap_err().to_string();
        assert!(
            why.starts_with(&format!("{}:5:2:", p.display())) && why.contains("no_such_keyword"),
            "{why}"
        );
        assert!(load_config(&p, &opts, false).is_ok());
        let missing = p.with_file_name("missing.conf");
        assert!(load_config(&missing, &opts, false).is_err());
        let good = file(
            "good.conf",
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
             virtual_ipaddress {\n  10.0.0.1/24\n }\n}\n",
        );
        assert!(load_config(&good, &opts, true).is_ok());
    }

    #[test]
    fn a_good_configuration_lists_what_its_instances_hold() {
        let config = keepalived_engine::config::parse_str(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 100\n \
             virtual_ipaddress {\n  10.0.0.1/24\n  10.0.0.2/24 dev eth1\n }\n \
             virtual_ipaddress_excluded {\n  10.0.1.1/24\n }\n \
             virtual_routes {\n  10.9.0.0/16 via 10.0.0.254\n }\n}\n",
            &ParseOptions::default(),
        )
        .config;
        let good = Good::new(&config).unwrap();
        let addrs: Vec<(String, String, bool)> = good
            .held
            .iter()
            .filter_map(|h| match &h.what {
                Owned::Address {
                    addr,
                    interface,
                    excluded,
                    ..
                } => Some((addr.address.to_string(), interface.clone(), *excluded)),
                _ => None,
            })
            .collect();
        assert_eq!(
            addrs,
            [
                ("10.0.0.1".to_string(), "eth0".to_string(), false),
                ("10.0.0.2".to_string(), "eth1".to_string(), false),
                ("10.0.1.1".to_string(), "eth0".to_string(), true),
            ]
        );
        assert_eq!(
            good.held
                .iter()
                .filter(|h| matches!(h.what, Owned::Route(_)))
                .count(),
            1
        );
        assert!(good.held.iter().all(|h| h.instance == "VI_1"));
    }
}
