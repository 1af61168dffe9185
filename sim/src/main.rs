//! `keepalived-sim`: run keepalived-rs clusters in a deterministic simulated network.
//! `keepalived-sim --help` lists the commands; `keepalived-sim help COMMAND` (or
//! `COMMAND --help`) describes one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as WallClock;

use keepalived_sim::campaign::{self, SegmentOverride};
use keepalived_sim::run::Outcome;
use keepalived_sim::scenario::Scenario;
use keepalived_sim::{junit, report, run, timeline_svg, DEMO};

const USAGE: &str = "\
keepalived-sim: keepalived-rs clusters in a deterministic simulated network

usage:
  keepalived-sim                       the built-in demo
  keepalived-sim run FILE [options]    one scenario file, one seed
  keepalived-sim sweep FILE... [opts]  scenario files over many seeds
  keepalived-sim check CONF... [opts]  your keepalived.conf files under a fault campaign
  keepalived-sim help COMMAND          one command's options
  keepalived-sim --version

Scenario files are described in docs/scenarios.md.";

const RUN_HELP: &str = "\
usage: keepalived-sim run FILE [--seed N] [--trace OUT.jsonl] [--timeline OUT.svg] [--junit OUT.xml]

Runs the scenario FILE once with seed N (default 1), prints its timeline and failovers,
and exits 0 when every invariant and expectation held, 1 otherwise (each failure with
the command that reproduces it), 2 on a usage or scenario error.

  --seed N            the seed every random choice draws from (default 1)
  --trace FILE        the run's events as JSON lines: {t, host, kind, instance, from, to, reason, detail}
  --timeline FILE     a picture of the run (SVG): a lane per host and instance, faults marked
  --junit FILE        a JUnit XML report with one test case";

const SWEEP_HELP: &str = "\
usage: keepalived-sim sweep FILE... [--seeds N] [--jobs J] [--junit OUT.xml]

Runs every scenario FILE with seeds 1..=N (default 50) on J threads (default 2), prints
each failure with the command that reproduces it and a summary; exits 0 when all passed.

  --seeds N           seeds per scenario (default 50)
  --jobs J            threads (default 2)
  --junit FILE        a JUnit XML report, one test case per scenario and seed";

const CHECK_HELP: &str = "\
usage: keepalived-sim check CONF... [--segments HOST:IFACE=SEGMENT]... [--seeds N] [--jobs J]
                        [--junit OUT.xml] [--only SCENARIO --seed N [--trace F] [--timeline F]]

Simulates the cluster whose keepalived.conf files are CONF... (one host per file, named by
its file stem; include, @ and $ resolved from each file's directory) and runs a generated
fault campaign over it: each host crashed and restarted, paused and reloaded; each segment
partitioned, lossy and slow; one-way partitions; each track script failing; each interface
down. Each scenario runs over N seeds (default 3) with every invariant checked. Prints a
table (scenario, outcome, longest failover against the protocol's bound, transitions) and
exits 0 when every invariant held, 1 otherwise, naming the invariant, the time, the hosts
and the command that reproduces it; 2 when the configs cannot be simulated faithfully.

  --segments H:I=S    host H's interface I is on segment S (default: interfaces with the
                      same name share a segment); repeat or separate with commas
  --seeds N           seeds per scenario (default 3)
  --jobs J            threads (default 2)
  --junit FILE        a JUnit XML report, one test case per scenario and seed
  --only SCENARIO     run only this scenario of the campaign (its name in the table)
  --seed N            with --only: this seed alone, with its timeline printed
  --trace FILE        with --only and --seed: the run's events as JSON lines
  --timeline FILE     with --only and --seed: a picture of the run (SVG)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wants_help = |a: &[String]| a.iter().any(|x| x == "-h" || x == "--help");
    match args.first().map(String::as_str) {
        None => demo(),
        Some("-h" | "--help") => help(USAGE),
        Some("-V" | "--version") => {
            println!(
                "keepalived-sim {} (keepalived-rs {}; keepalived 2.2.7 configuration language)",
                env!("CARGO_PKG_VERSION"),
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Some("help") => match args.get(1).map(String::as_str) {
            None => help(USAGE),
            Some("run") => help(RUN_HELP),
            Some("sweep") => help(SWEEP_HELP),
            Some("check") => help(CHECK_HELP),
            Some(other) => usage(&format!("no command {other:?}"), USAGE),
        },
        Some("run") if wants_help(&args[1..]) => help(RUN_HELP),
        Some("sweep") if wants_help(&args[1..]) => help(SWEEP_HELP),
        Some("check") if wants_help(&args[1..]) => help(CHECK_HELP),
        Some("run") => {
            match Opts::parse(&args[1..], &["--seed", "--trace", "--timeline", "--junit"]) {
                Ok(o) if o.files.len() == 1 => run_one(&o),
                Ok(_) => usage("run takes one scenario file", RUN_HELP),
                Err(e) => usage(&e, RUN_HELP),
            }
        }
        Some("sweep") => match Opts::parse(&args[1..], &["--seeds", "--jobs", "--junit"]) {
            Ok(o) if !o.files.is_empty() => sweep(&o),
            Ok(_) => usage("sweep needs at least one scenario file", SWEEP_HELP),
            Err(e) => usage(&e, SWEEP_HELP),
        },
        Some("check") => match Opts::parse(
            &args[1..],
            &[
                "--segments",
                "--seeds",
                "--jobs",
                "--junit",
                "--only",
                "--seed",
                "--trace",
                "--timeline",
            ],
        ) {
            Ok(o) if !o.files.is_empty() => check(&o),
            Ok(_) => usage("check needs at least one keepalived.conf", CHECK_HELP),
            Err(e) => usage(&e, CHECK_HELP),
        },
        Some(other) => usage(&format!("unknown command {other:?}"), USAGE),
    }
}

fn help(text: &str) -> ExitCode {
    println!("{text}");
    ExitCode::SUCCESS
}

fn usage(e: &str, text: &str) -> ExitCode {
    eprintln!("keepalived-sim: {e}\n\n{text}");
    ExitCode::from(2)
}

/// A command's files and options.
#[derive(Debug, Default)]
struct Opts {
    files: Vec<PathBuf>,
    seed: Option<u64>,
    seeds: Option<u64>,
    jobs: Option<usize>,
    trace: Option<PathBuf>,
    timeline: Option<PathBuf>,
    junit: Option<PathBuf>,
    only: Option<String>,
    segments: Vec<SegmentOverride>,
}

impl Opts {
    fn parse(a: &[String], allowed: &[&str]) -> Result<Opts, String> {
        let mut o = Opts::default();
        let mut it = a.iter();
        let number = |flag: &str, v: Option<&String>| -> Result<u64, String> {
            v.ok_or(format!("{flag} needs a value"))?
                .parse()
                .map_err(|_| format!("{flag} needs a number"))
        };
        while let Some(x) = it.next() {
            let (flag, inline) = match x.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
                _ => (x.as_str(), None),
            };
            if !flag.starts_with('-') {
                o.files.push(PathBuf::from(x));
                continue;
            }
            if !allowed.contains(&flag) {
                return Err(format!("unexpected argument {x:?}"));
            }
            let value = match inline {
                Some(v) => Some(v),
                None => it.next().cloned(),
            };
            let value = value.as_ref();
            match flag {
                "--seed" => o.seed = Some(number(flag, value)?),
                "--seeds" => o.seeds = Some(number(flag, value)?.clamp(1, 10_000)),
                "--jobs" => o.jobs = Some(number(flag, value)?.clamp(1, 64) as usize),
                "--trace" => o.trace = Some(PathBuf::from(value.ok_or("--trace needs a file")?)),
                "--timeline" => {
                    o.timeline = Some(PathBuf::from(value.ok_or("--timeline needs a file")?))
                }
                "--junit" => o.junit = Some(PathBuf::from(value.ok_or("--junit needs a file")?)),
                "--only" => o.only = Some(value.ok_or("--only needs a scenario name")?.clone()),
                "--segments" => {
                    for s in value
                        .ok_or("--segments needs HOST:IFACE=SEGMENT")?
                        .split(',')
                    {
                        o.segments.push(SegmentOverride::parse(s)?);
                    }
                }
                _ => return Err(format!("unexpected argument {x:?}")),
            }
        }
        Ok(o)
    }
}

fn load(file: &Path) -> Result<Scenario, ExitCode> {
    Scenario::load(file).map_err(|e| {
        eprintln!("keepalived-sim: {e}");
        ExitCode::from(2)
    })
}

fn write_file(path: &Path, text: &str) -> Result<(), ExitCode> {
    std::fs::write(path, text).map_err(|e| {
        eprintln!("keepalived-sim: {}: {e}", path.display());
        ExitCode::from(2)
    })
}

/// The run's trace as JSON lines.
fn write_trace(path: &Path, o: &Outcome) -> Result<(), ExitCode> {
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for l in &o.trace {
            serde_json::to_writer(&mut f, l)?;
            writeln!(f)?;
        }
        f.flush()
    };
    write().map_err(|e| {
        eprintln!("keepalived-sim: {}: {e}", path.display());
        ExitCode::from(2)
    })
}

fn demo() -> ExitCode {
    let sc = match Scenario::parse("demo.toml (built in)", DEMO) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keepalived-sim: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "keepalived-sim demo: {}\n{}\n",
        sc.name,
        sc.description.trim()
    );
    let o = run::run(&sc, 1);
    print!("{}", report::timeline(&o));
    println!();
    print!("{}", report::failovers(&o, &sc));
    print!(
        "{}",
        report::failures(&o, "keepalived-sim run sim/scenarios/demo.toml --seed 1")
    );
    println!(
        "{}",
        if o.ok() {
            "all invariants held; seed 1 reproduces this run exactly"
        } else {
            "FAILED"
        }
    );
    if o.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Writes what one run asked for: trace, timeline, JUnit.
fn outputs(
    o: &Opts,
    out: &Outcome,
    duration: f64,
    suite: &str,
    secs: f64,
    repro: &str,
) -> Result<(), ExitCode> {
    if let Some(t) = &o.trace {
        write_trace(t, out)?;
    }
    if let Some(t) = &o.timeline {
        write_file(t, &timeline_svg::render(out, duration))?;
    }
    if let Some(j) = &o.junit {
        let case = junit::case_from(suite, out, secs, repro.to_string());
        write_file(j, &junit::render("keepalived-sim", &[case]))?;
    }
    Ok(())
}

fn run_one(o: &Opts) -> ExitCode {
    let file = &o.files[0];
    let seed = o.seed.unwrap_or(1);
    let sc = match load(file) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let started = WallClock::now();
    let out = run::run(&sc, seed);
    print!("{}", report::timeline(&out));
    print!("{}", report::failovers(&out, &sc));
    let repro = format!("keepalived-sim run {} --seed {seed}", file.display());
    if let Err(c) = outputs(
        o,
        &out,
        sc.duration,
        &sc.name,
        started.elapsed().as_secs_f64(),
        &repro,
    ) {
        return c;
    }
    let f = report::failures(&out, &repro);
    if f.is_empty() {
        println!(
            "{}: seed {seed}: all invariants and expectations held",
            sc.name
        );
        ExitCode::SUCCESS
    } else {
        print!("{f}");
        ExitCode::from(1)
    }
}

/// Runs `work` (scenario index, seed) on `jobs` threads; the outcomes in `work`'s order
/// with each run's wall time.
fn run_all(scenarios: &[&Scenario], work: &[(usize, u64)], jobs: usize) -> Vec<(Outcome, f64)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(i, seed)) = work.get(k) else { break };
                let t = WallClock::now();
                let o = run::run(scenarios[i], seed);
                let secs = t.elapsed().as_secs_f64();
                done.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((k, o, secs));
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|d| d.0);
    done.into_iter().map(|(_, o, s)| (o, s)).collect()
}

fn sweep(o: &Opts) -> ExitCode {
    let (seeds, jobs) = (o.seeds.unwrap_or(50), o.jobs.unwrap_or(2));
    let mut scenarios = Vec::new();
    for f in &o.files {
        match load(f) {
            Ok(s) => scenarios.push((f.display().to_string(), s)),
            Err(c) => return c,
        }
    }
    let work: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|i| (1..=seeds).map(move |s| (i, s)))
        .collect();
    let started = WallClock::now();
    let refs: Vec<&Scenario> = scenarios.iter().map(|s| &s.1).collect();
    let results = run_all(&refs, &work, jobs);
    let secs = started.elapsed().as_secs_f64();
    let mut cases = Vec::new();
    let mut failed = 0;
    for (&(i, seed), (out, t)) in work.iter().zip(&results) {
        let repro = format!("keepalived-sim run {} --seed {seed}", scenarios[i].0);
        if !out.ok() {
            failed += 1;
            print!("{}", report::failures(out, &repro));
        }
        cases.push(junit::case_from(&scenarios[i].1.name, out, *t, repro));
    }
    if let Some(j) = &o.junit {
        if let Err(c) = write_file(j, &junit::render("keepalived-sim sweep", &cases)) {
            return c;
        }
    }
    let simulated: f64 = work.iter().map(|&(i, _)| scenarios[i].1.duration).sum();
    println!(
        "{} runs ({} scenarios × {seeds} seeds) in {secs:.1} s on {jobs} jobs: {:.0} seeds/minute, {:.0} simulated seconds per wall second, {failed} failed",
        work.len(),
        scenarios.len(),
        work.len() as f64 * 60.0 / secs.max(1e-9),
        simulated / secs.max(1e-9),
    );
    println!("sweep: {} passed, {failed} failed", work.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(o: &Opts) -> ExitCode {
    let started = WallClock::now();
    if o.only.is_none() && (o.seed.is_some() || o.trace.is_some() || o.timeline.is_some()) {
        return usage(
            "--seed, --trace and --timeline need --only SCENARIO",
            CHECK_HELP,
        );
    }
    if o.only.is_some() && o.seed.is_none() && (o.trace.is_some() || o.timeline.is_some()) {
        return usage("--trace and --timeline need --seed N (one run)", CHECK_HELP);
    }
    let cluster = match campaign::cluster(&o.files, &o.segments) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("keepalived-sim: cannot simulate this cluster faithfully: {e}");
            return ExitCode::from(2);
        }
    };
    let hosts: Vec<String> = cluster
        .base
        .hosts
        .iter()
        .map(|h| {
            let wiring: Vec<String> = h
                .ifaces
                .iter()
                .map(|i| format!("{}={} {}", i.name, cluster.base.segments[i.segment], i.ipv4))
                .collect();
            format!("{} ({})", h.name, wiring.join(", "))
        })
        .collect();
    println!("cluster: {}", hosts.join("; "));
    for note in keepalived_sim::fidelity::bfd_notes(&cluster.base.hosts) {
        println!("note: {note}");
    }
    let mut plans = campaign::campaign(&cluster);
    if let Some(only) = &o.only {
        plans.retain(|p| &p.scenario.name == only);
        if plans.is_empty() {
            let names: Vec<String> = campaign::campaign(&cluster)
                .into_iter()
                .map(|p| p.scenario.name)
                .collect();
            eprintln!(
                "keepalived-sim: no scenario {only:?} in this campaign; it has: {}",
                names.join("; ")
            );
            return ExitCode::from(2);
        }
        if let Some(seed) = o.seed {
            let p = &plans[0];
            let t = WallClock::now();
            let sc = p.for_seed(seed);
            let out = run::run(&sc, seed);
            print!("{}", report::timeline(&out));
            let repro = campaign::reproduce(&o.files, &o.segments, only, seed);
            if let Err(c) = outputs(
                o,
                &out,
                sc.duration,
                only,
                t.elapsed().as_secs_f64(),
                &repro,
            ) {
                return c;
            }
            let f = report::failures(&out, &repro);
            print!("{f}");
            return if f.is_empty() {
                println!("{only}: seed {seed}: all invariants held");
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
        }
    }
    let seeds = o.seeds.unwrap_or(3);
    let work: Vec<(usize, u64)> = (0..plans.len())
        .flat_map(|i| (1..=seeds).map(move |s| (i, s)))
        .collect();
    let seeded: Vec<Scenario> = work
        .iter()
        .map(|&(i, seed)| plans[i].for_seed(seed))
        .collect();
    let refs: Vec<&Scenario> = seeded.iter().collect();
    let indexed: Vec<(usize, u64)> = work
        .iter()
        .enumerate()
        .map(|(k, &(_, seed))| (k, seed))
        .collect();
    let results = run_all(&refs, &indexed, o.jobs.unwrap_or(2));
    let mut rows = Vec::new();
    let mut cases = Vec::new();
    let mut failures = String::new();
    for (i, p) in plans.iter().enumerate() {
        let mine: Vec<&Outcome> = work
            .iter()
            .zip(&results)
            .filter(|(w, _)| w.0 == i)
            .map(|(_, r)| &r.0)
            .collect();
        rows.push(campaign::Row::of(p, &mine));
        for (&(_, seed), (out, secs)) in work.iter().zip(&results).filter(|(w, _)| w.0 == i) {
            let repro = campaign::reproduce(&o.files, &o.segments, &p.scenario.name, seed);
            if !out.ok() {
                failures.push_str(&format!("{} (seed {seed}):\n", p.scenario.name));
                failures.push_str(&report::failures(out, &repro));
            }
            cases.push(junit::case_from(&p.scenario.name, out, *secs, repro));
        }
    }
    print!("{}", campaign::table(&rows));
    if let Some(j) = &o.junit {
        if let Err(c) = write_file(j, &junit::render("keepalived-sim check", &cases)) {
            return c;
        }
    }
    let failed = cases.iter().filter(|c| !c.failures.is_empty()).count();
    println!(
        "{} scenarios × {seeds} seeds = {} runs in {:.1} s: {failed} failed",
        plans.len(),
        work.len(),
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        println!("check: every invariant held");
        ExitCode::SUCCESS
    } else {
        print!("{failures}");
        ExitCode::from(1)
    }
}
