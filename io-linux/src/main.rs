//! `keepalived-rs`: command line entry point.

use keepalived_engine::config::model::{Config, RootOptions};
use keepalived_engine::config::{load, IncludeCheck, ParseOptions};
use keepalived_linux::host::core_dump::{self, CorePattern};
use keepalived_linux::host::process::{self, Process, EXIT_CONFIG, EXIT_FATAL};
use keepalived_linux::host::{address_monitor, config_host_check, hostfs, security};
use keepalived_linux::host::{boot_delay, process_name, umask};
use keepalived_linux::parent::{self, config_loader};
use keepalived_linux::tools::{dump, pcap_decode};
use keepalived_linux::{cli, config_channel, logging};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedReceiver;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(rest) = cli::genhash_args(&args) {
        return keepalived_linux::tools::genhash::main(rest);
    }
    let opts = match cli::parse(args) {
        Ok(o) => o,
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("keepalived-rs: {line}");
            }
            eprintln!("keepalived-rs --help lists the options");
            return ExitCode::from(e.exit_code());
        }
    };
    if opts.help {
        print!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    if opts.version {
        eprint!("{}", keepalived_linux::version::version_text());
        return ExitCode::SUCCESS;
    }
    if let Some(name) = &opts.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(capture) = &opts.decode_pcap {
        return decode_pcap(&opts, capture);
    }
    // `-u`, else keepalived's default: before anything is created.
    umask::at_start(opts.umask);
    match &opts.config_test {
        Some(log) => config_test(&opts, log.as_deref()),
        None => daemon(&opts),
    }
}

/// Runs the daemon: the parent, or the child process it re-executed (`--child=`).
fn daemon(opts: &cli::Options) -> ExitCode {
    logging::init(opts, opts.child.unwrap_or(Process::Parent));
    // A child has the parent's command line: its core file size, not the core pattern,
    // which is the parent's to set and put back.
    if opts.child.is_some() {
        core_dumps(opts, false);
    }
    match opts.child {
        None => parent(opts),
        Some(Process::Vrrp) => vrrp_child(opts),
        Some(Process::Checker) => checker_child(opts),
        Some(Process::Bfd) => bfd_child(opts),
        Some(Process::Parent) => {
            tracing::error!("--child=parent is not a child process");
            ExitCode::from(EXIT_FATAL as u8)
        }
    }
}

/// The parent: loads the configuration, detaches unless `-n`, and supervises the VRRP
/// and checker children, which get the configuration from it.
// Not inlined into `daemon`, nor are the children's: a large stack frame is touched page
// by page on entry (stack probes), and with every role inlined there each process pays
// for every role's locals (the release build's `daemon` had an 87 KiB frame; the
// parent's resident stack is 44 KiB instead of 76).
#[inline(never)]
fn parent(opts: &cli::Options) -> ExitCode {
    warn_about_options(opts);
    // Put back when this function returns: at a stop, or when the start fails.
    let _core_pattern = core_dumps(opts, true);
    let path = opts.config_path();
    let parse = parse_options(opts);
    // The first load, with the same stack and panic guard as a reload's; only a failure
    // that leaves nothing usable stops the start.
    let first = {
        let (path, parse, ns) = (path.clone(), parse.clone(), opts.namespace.clone());
        config_loader::on_thread(move || {
            let mut config = config_loader::load_config(&path, &parse, false)?;
            override_namespace(ns.as_deref(), &mut config, true);
            let good = config_loader::Good::new(&config)?;
            Ok((config, good))
        })
    };
    let (config, good) = match first {
        Ok(c) => c,
        Err(why) => {
            tracing::error!("not starting: {why}");
            return ExitCode::from(EXIT_CONFIG as u8);
        }
    };
    umask::from_config(&config.global);
    process_name::apply(Process::Parent, &config.global);
    // `net_namespace NAME`: the whole daemon runs in that namespace; the children
    // inherit it.
    if let Some(ns) = &config.root.net_namespace {
        if let Err(e) = enter_net_namespace(ns) {
            tracing::error!("cannot enter network namespace {ns}: {e}");
            return ExitCode::from(EXIT_FATAL as u8);
        }
        tracing::info!("running in network namespace {ns}");
    }
    if opts.dump_conf {
        let _ = std::io::stdout().write_all(dump::text(&config).as_bytes());
    }
    // Bound before detaching, in the daemon's namespace, so the error is said where the
    // operator sees it. A port someone else holds costs the metrics, never the VIPs:
    // the daemon runs on without them (and the scraper's `up` says they are missing).
    let metrics = match opts.metrics.map(std::net::TcpListener::bind) {
        None => None,
        Some(Ok(l)) => Some(l),
        Some(Err(e)) => {
            tracing::error!(
                "--metrics: cannot listen on {}: {e}; running without metrics",
                opts.metrics.map(|a| a.to_string()).unwrap_or_default()
            );
            None
        }
    };
    if !opts.dont_fork {
        // SAFETY: called before any runtime exists; the load's thread has ended.
        if unsafe { libc::daemon(0, 0) } != 0 {
            tracing::error!("cannot detach: {}", std::io::Error::last_os_error());
            return ExitCode::from(EXIT_FATAL as u8);
        }
    }
    // After the fork, which takes only the calling thread with it.
    if opts.address_monitoring {
        if let Err(e) = address_monitor::spawn() {
            tracing::warn!("-a: cannot listen for address changes: {e}");
        }
    }
    let load: Arc<config_loader::LoadFn<config_loader::Good>> = {
        let (path, ns) = (path.clone(), opts.namespace.clone());
        Arc::new(move || {
            let mut config = config_loader::load_config(&path, &parse, true)?;
            override_namespace(ns.as_deref(), &mut config, false);
            let good = config_loader::Good::new(&config)?;
            umask::from_config(&config.global);
            process_name::apply(Process::Parent, &config.global);
            Ok(good)
        })
    };
    let setup = parent::ParentSetup {
        args: std::env::args_os().skip(1).collect(),
        children: children(opts, &config),
        dont_respawn: opts.dont_respawn,
        dont_release_vrrp: opts.dont_release_vrrp,
        config_path: path,
        good,
        load,
        child_wait: std::time::Duration::from_secs(u64::from(config.root.child_wait_time_s)),
        metrics,
        pidfile: opts
            .pid_file
            .clone()
            .unwrap_or_else(|| default_pidfile(&config.root, "keepalived")),
    };
    drop(config);
    process::release_freed_memory();
    ExitCode::from(parent::run(setup))
}

/// Where a process's pidfile goes unless `-p`/`-r`/`-c` say (`keepalived/core/main.c`):
/// /run/NAME.pid, or /run/keepalived/NAME[_INSTANCE].pid with `use_pid_dir`, `instance`
/// or `net_namespace` (whose name is the instance name unless `instance` gives one).
fn default_pidfile(root: &RootOptions, name: &str) -> PathBuf {
    let path = pidfile_path(root, name);
    if !path.starts_with(PID_DIR) {
        return path;
    }
    let dir = PathBuf::from(PID_DIR);
    // rwxr-xr-x whatever the umask (`create_pid_dir()`).
    let made = std::fs::DirBuilder::new()
        .mode(0o755)
        .create(&dir)
        .and_then(|()| {
            std::fs::set_permissions(
                &dir,
                <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
            )
        });
    if let Err(e) = made {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            tracing::warn!("creating {}: {e}", dir.display());
        }
    }
    path
}

/// keepalived's `KEEPALIVED_PID_DIR`.
const PID_DIR: &str = "/run/keepalived";

/// [`default_pidfile`]'s path, without creating its directory.
fn pidfile_path(root: &RootOptions, name: &str) -> PathBuf {
    let instance = root.instance.as_ref().or(root.net_namespace.as_ref());
    if !root.use_pid_dir && instance.is_none() {
        return PathBuf::from(format!("/run/{name}.pid"));
    }
    match instance {
        Some(i) => PathBuf::from(PID_DIR).join(format!("{name}_{i}.pid")),
        None => PathBuf::from(PID_DIR).join(format!("{name}.pid")),
    }
}

/// `-s NAME`: the command line's namespace wins over the configuration's
/// `net_namespace`, at the first load and at every reload (`reload_config()`), so a
/// reload never reads as a change of namespace.
fn override_namespace(ns: Option<&str>, config: &mut Config, announce: bool) {
    let Some(ns) = ns else { return };
    if announce {
        if let Some(old) = config
            .root
            .net_namespace
            .as_deref()
            .filter(|old| *old != ns)
        {
            tracing::info!(
                "Overriding config net_namespace '{old}' with command line namespace '{ns}'"
            );
        }
    }
    config.root.net_namespace = Some(ns.to_string());
}

/// The options accepted that do nothing here, said once: by the parent or by `-t`.
fn warn_about_options(opts: &cli::Options) {
    for w in &opts.warnings {
        tracing::warn!("{w}");
    }
}

/// `-m`/`-M` (`core_dump_init()`): core files of any size; with `set_pattern` (the
/// parent and `-t`), also `-M`'s core pattern, put back when the returned guard drops.
fn core_dumps(opts: &cli::Options, set_pattern: bool) -> Option<CorePattern> {
    if !opts.core_dump {
        return None;
    }
    match core_dump::allow_core_dumps() {
        Ok(()) => tracing::info!("core dumps enabled: RLIMIT_CORE unlimited"),
        Err(e) => tracing::warn!("-m: {e}"),
    }
    let pattern = opts.core_pattern.as_ref().filter(|_| set_pattern)?;
    match CorePattern::set(pattern.as_bytes()) {
        Ok(set) => {
            tracing::info!(
                "{} set to '{}' (it was '{}', and is put back on exit)",
                core_dump::CORE_PATTERN,
                pattern.to_string_lossy(),
                set.original()
            );
            Some(set)
        }
        Err(e) => {
            tracing::warn!("-M: {e}");
            None
        }
    }
}

fn enter_net_namespace(name: &str) -> std::io::Result<()> {
    if name.contains('/') {
        return Err(std::io::Error::other("a namespace name cannot contain '/'"));
    }
    let f = std::fs::File::open(format!("/run/netns/{name}"))?;
    // SAFETY: setns with a namespace file we just opened; no other thread exists yet.
    if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Which children the parent runs (`start_keepalived()`): VRRP unless `-C`; the checker
/// unless `-P`, and only when there are virtual servers to check or `--all` asks for it.
fn children(opts: &cli::Options, config: &Config) -> Vec<Process> {
    let mut c = Vec::new();
    if opts.runs_vrrp() {
        c.push(Process::Vrrp);
    }
    if opts.runs_checker(!config.virtual_servers.is_empty()) {
        c.push(Process::Checker);
    }
    c
}

/// A child's first configuration, from the parent ([`config_channel`]), and the receiver
/// of the later ones. Started before the child takes any realtime priority, so the
/// thread that reads them never runs at it.
fn child_config(role: Process) -> Option<(Config, UnboundedReceiver<Box<Config>>)> {
    let first = config_channel::ConfigReader::inherited(role).and_then(|mut r| {
        let config = r.first()?;
        Ok((config, r))
    });
    let (config, reader) = match first {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("no configuration: {e}");
            return None;
        }
    };
    match reader.spawn() {
        Ok(reloads) => Some((config, reloads)),
        Err(e) => {
            tracing::error!("cannot start the configuration reader: {e}");
            None
        }
    }
}

/// The checker child: health checks until SIGTERM.
#[inline(never)]
fn checker_child(opts: &cli::Options) -> ExitCode {
    let Some((config, reloads)) = child_config(Process::Checker) else {
        return ExitCode::from(EXIT_CONFIG as u8);
    };
    let pidfile = opts
        .checkers_pid_file
        .clone()
        .unwrap_or_else(|| default_pidfile(&config.root, "checkers"));
    let setup = keepalived_linux::checker::CheckerSetup {
        dont_release_ipvs: opts.dont_release_ipvs,
        reloads,
        metrics: opts
            .metrics
            .and_then(|_| keepalived_linux::metrics::checker_child()),
        snmp: opts.snmp.clone(),
    };
    ExitCode::from(keepalived_linux::checker::run_checker(
        config, setup, &pidfile,
    ))
}

/// The BFD child: the BFD sessions until SIGTERM.
#[inline(never)]
fn bfd_child(opts: &cli::Options) -> ExitCode {
    let Some((config, reloads)) = child_config(Process::Bfd) else {
        return ExitCode::from(EXIT_CONFIG as u8);
    };
    let pidfile = opts
        .bfd_pid_file
        .clone()
        .unwrap_or_else(|| default_pidfile(&config.root, "bfd"));
    let setup = keepalived_linux::bfd::BfdSetup { reloads };
    ExitCode::from(keepalived_linux::bfd::run_bfd(config, setup, &pidfile))
}

/// The VRRP child: the engine on raw sockets and netlink until SIGTERM.
#[inline(never)]
fn vrrp_child(opts: &cli::Options) -> ExitCode {
    let Some((mut config, reloads)) = child_config(Process::Vrrp) else {
        return ExitCode::from(EXIT_CONFIG as u8);
    };
    config.global.vrrp_startup_delay_us = boot_delay::vrrp_startup_delay_us(&config.global);
    let g = &config.global;
    let fifos = [&g.notify_fifo, &g.vrrp_notify_fifo]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let setup = keepalived_linux::vrrp::platform::Setup {
        dont_release: opts.dont_release_vrrp,
        fifos,
        reloads,
        metrics: opts
            .metrics
            .and_then(|_| keepalived_linux::metrics::vrrp_child()),
        snmp: opts.snmp.clone(),
        checker_runs: opts.runs_checker(!config.virtual_servers.is_empty()),
    };
    let pidfile = opts
        .vrrp_pid_file
        .clone()
        .unwrap_or_else(|| default_pidfile(&config.root, "vrrp"));
    ExitCode::from(keepalived_linux::vrrp::run_vrrp(config, setup, &pidfile))
}

/// `--decode-pcap FILE [-f CONF]`: the adverts of a capture and what each instance makes
/// of them. Exits 0, or 4 if the capture or the configuration cannot be read.
fn decode_pcap(opts: &cli::Options, capture: &std::path::Path) -> ExitCode {
    let frames = match pcap_decode::read_frames(capture) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("keepalived-rs: {e}");
            return ExitCode::from(4);
        }
    };
    let loaded = opts
        .config_file
        .as_ref()
        .map(|path| load(&hostfs::HostFs, path, &parse_options(opts)));
    if let Some(l) = &loaded {
        for d in l.diagnostics.iter() {
            eprintln!("{d}");
        }
        if l.diagnostics.exit_code() == 4 {
            return ExitCode::from(4);
        }
    }
    let reports = pcap_decode::decode(&frames, loaded.as_ref().map(|l| &l.config));
    let mut out = std::io::stdout().lock();
    if opts.json {
        let _ = serde_json::to_writer_pretty(&mut out, &reports);
        let _ = writeln!(out);
    } else {
        let _ = out.write_all(pcap_decode::render(&reports).as_bytes());
    }
    ExitCode::SUCCESS
}

fn parse_options(opts: &cli::Options) -> ParseOptions {
    ParseOptions {
        config_id: opts
            .config_id
            .clone()
            .unwrap_or_else(hostfs::host_config_id),
        env: std::env::vars().collect(),
        // `set_std_definitions()`: `${_RANDOM}` differs from one read to the next unless
        // `random_seed` says otherwise.
        random_seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        include_check: if opts.all_config {
            IncludeCheck::ALL
        } else {
            IncludeCheck::NONE
        },
    }
}

/// What `-t` logs (the options' warnings, `-m`/`-M`), kept for its report.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// The lines so far, each as `LEVEL message`.
    fn lines(&self) -> String {
        let bytes = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| format!("{}\n", l.trim_start()))
            .collect()
    }
}

/// `-t`: load, validate, check against this host, report, and exit as keepalived does.
fn config_test(opts: &cli::Options, log: Option<&std::path::Path>) -> ExitCode {
    // keepalived's -t logs nothing; what the options say goes into the report instead.
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .finish();
    let logging = tracing::subscriber::set_default(subscriber);
    warn_about_options(opts);
    let core_pattern = core_dumps(opts, true);
    let path = opts.config_path();
    let mut loaded = load(&hostfs::HostFs, &path, &parse_options(opts));
    override_namespace(opts.namespace.as_deref(), &mut loaded.config, true);
    config_host_check::check_interfaces(&loaded.config, &mut loaded.diagnostics);
    security::check_scripts(
        &loaded.config,
        security::running_as_root(),
        &mut loaded.diagnostics,
    );

    // keepalived 2.2.7's -t -M leaves the host's core pattern changed; put it back, and
    // say so in the report.
    drop(core_pattern);
    drop(logging);
    let mut report = captured.lines();
    for d in loaded.diagnostics.iter() {
        report.push_str(&d.to_string());
        report.push('\n');
    }
    let code = loaded.diagnostics.exit_code();
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.counts_as_error())
        .count();
    let warnings = loaded.diagnostics.len() - errors;
    report.push_str(&format!(
        "{}: {} error{}, {} warning{}; configuration {}\n",
        path.display(),
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" },
        if code == 0 { "OK" } else { "has problems" }
    ));
    match log {
        Some(file) => {
            let written = security::open_own_file(file, true)
                .and_then(|mut f| f.write_all(report.as_bytes()));
            if let Err(e) = written {
                eprintln!("keepalived-rs: cannot write {}: {e}", file.display());
            }
        }
        None => eprint!("{report}"),
    }
    let mut out = std::io::stdout().lock();
    if opts.json {
        let _ = serde_json::to_writer_pretty(&mut out, &loaded.config);
        let _ = writeln!(out);
    } else if opts.dump_conf {
        let _ = out.write_all(dump::text(&loaded.config).as_bytes());
    }
    // The process ends here: freeing a large configuration piece by piece would only
    // cost time.
    std::mem::forget(loaded);
    ExitCode::from(code as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keepalived's `bfd_pidfile` beside the others (`keepalived/core/main.c`): /run/bfd.pid,
    /// or under /run/keepalived with `use_pid_dir`, `instance` or `net_namespace`.
    #[test]
    fn each_process_has_keepalived_s_default_pidfile() {
        let mut root = RootOptions::default();
        for name in ["keepalived", "vrrp", "checkers", "bfd"] {
            assert_eq!(
                pidfile_path(&root, name),
                PathBuf::from(format!("/run/{name}.pid"))
            );
        }
        root.use_pid_dir = true;
        assert_eq!(
            pidfile_path(&root, "bfd"),
            PathBuf::from("/run/keepalived/bfd.pid")
        );
        root.net_namespace = Some("blue".into());
        assert_eq!(
            pidfile_path(&root, "bfd"),
            PathBuf::from("/run/keepalived/bfd_blue.pid")
        );
        // `instance` names the files over the namespace.
        root.instance = Some("lb1".into());
        root.use_pid_dir = false;
        assert_eq!(
            pidfile_path(&root, "bfd"),
            PathBuf::from("/run/keepalived/bfd_lb1.pid")
        );
    }
}
