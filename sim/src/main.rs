//! `keepalived-sim`: run keepalived-rs clusters in a deterministic simulated network.
//!
//!   keepalived-sim                                   the built-in demo
//!   keepalived-sim run FILE [--seed N] [--trace F]   one scenario, one seed
//!   keepalived-sim sweep FILE... [--seeds N] [--jobs J]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as WallClock;

use keepalived_sim::scenario::Scenario;
use keepalived_sim::{report, run, DEMO};

const USAGE: &str = "usage: keepalived-sim [run FILE [--seed N] [--trace OUT.jsonl] | sweep FILE... [--seeds N] [--jobs J]]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => demo(),
        Some("run") => match parse_run(&args[1..]) {
            Ok((file, seed, trace)) => run_one(&file, seed, trace.as_deref()),
            Err(e) => usage(&e),
        },
        Some("sweep") => match parse_sweep(&args[1..]) {
            Ok((files, seeds, jobs)) => sweep(&files, seeds, jobs),
            Err(e) => usage(&e),
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage(&format!("unknown command {other:?}")),
    }
}

fn usage(e: &str) -> ExitCode {
    eprintln!("keepalived-sim: {e}\n{USAGE}");
    ExitCode::from(2)
}

fn number(flag: &str, v: Option<&String>) -> Result<u64, String> {
    v.ok_or(format!("{flag} needs a value"))?
        .parse()
        .map_err(|_| format!("{flag} needs a number"))
}

fn parse_run(a: &[String]) -> Result<(PathBuf, u64, Option<PathBuf>), String> {
    let (mut file, mut seed, mut trace) = (None, 1, None);
    let mut it = a.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--seed" => seed = number("--seed", it.next())?,
            "--trace" => trace = Some(PathBuf::from(it.next().ok_or("--trace needs a file")?)),
            f if file.is_none() && !f.starts_with('-') => file = Some(PathBuf::from(f)),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok((file.ok_or("run needs a scenario file")?, seed, trace))
}

fn parse_sweep(a: &[String]) -> Result<(Vec<PathBuf>, u64, usize), String> {
    let (mut files, mut seeds, mut jobs) = (Vec::new(), 50, 2);
    let mut it = a.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "--seeds" => seeds = number("--seeds", it.next())?,
            "--jobs" => jobs = number("--jobs", it.next())?.max(1) as usize,
            f if !f.starts_with('-') => files.push(PathBuf::from(f)),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if files.is_empty() {
        return Err("sweep needs at least one scenario file".into());
    }
    Ok((files, seeds, jobs))
}

fn load(file: &Path) -> Result<Scenario, ExitCode> {
    Scenario::load(file).map_err(|e| {
        eprintln!("keepalived-sim: {e}");
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
    print!("{}", report::failures(&o, "sim/scenarios/demo.toml"));
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

fn run_one(file: &Path, seed: u64, trace: Option<&Path>) -> ExitCode {
    let sc = match load(file) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let o = run::run(&sc, seed);
    print!("{}", report::timeline(&o));
    print!("{}", report::failovers(&o, &sc));
    if let Some(t) = trace {
        let write = || -> std::io::Result<()> {
            let mut f = std::io::BufWriter::new(std::fs::File::create(t)?);
            for l in &o.trace {
                serde_json::to_writer(&mut f, l)?;
                writeln!(f)?;
            }
            f.flush()
        };
        if let Err(e) = write() {
            eprintln!("keepalived-sim: {}: {e}", t.display());
            return ExitCode::from(2);
        }
    }
    let f = report::failures(&o, &file.display().to_string());
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

fn sweep(files: &[PathBuf], seeds: u64, jobs: usize) -> ExitCode {
    let mut scenarios = Vec::new();
    for f in files {
        match load(f) {
            Ok(s) => scenarios.push((f.display().to_string(), s)),
            Err(c) => return c,
        }
    }
    let work: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|i| (1..=seeds).map(move |s| (i, s)))
        .collect();
    let started = WallClock::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&(i, seed)) = work.get(k) else { break };
                let (file, sc) = &scenarios[i];
                let o = run::run(sc, seed);
                if !o.ok() {
                    failures
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(report::failures(&o, file));
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    for f in &failures {
        print!("{f}");
    }
    let simulated: f64 = work.iter().map(|&(i, _)| scenarios[i].1.duration).sum();
    println!(
        "{} runs ({} scenarios × {seeds} seeds) in {secs:.1} s on {jobs} jobs: {:.0} seeds/minute, {:.0} simulated seconds per wall second, {} failed",
        work.len(),
        scenarios.len(),
        work.len() as f64 * 60.0 / secs.max(1e-9),
        simulated / secs.max(1e-9),
        failures.len()
    );
    println!(
        "sweep: {} passed, {} failed",
        work.len() - failures.len(),
        failures.len()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
