//! keepalived-rs and keepalived (Debian's 2.2.7) on the same namespace topology in the
//! same run, each figure reported for both and as a ratio: failover precision idle and
//! under load (`failover`), 1,000 instances and a reload (`scale`), and 5,000 TCP checks
//! a second (`checker`), and 1,000 VIPs moving in one takeover with and without
//! `vrrp_strict`'s nftables drop rules (`strict`), and how fast a `track_bfd` instance
//! leaves MASTER when its BFD peer goes silent and comes back when it speaks again
//! (`bfd`, `--failovers` runs per daemon).
//!
//! Writes DIR/result.json and DIR/result.md (DIR defaults to target/side-by-side), and for
//! `scale` at more than one size DIR/growth.svg, its figures against the instance count; with
//! `--compare OLD.json`, also DIR/compare.md: every figure of this run next to the same
//! figure of OLD.
//!
//! With `--scrape MS` keepalived-rs's `/metrics` is read, and with `--snmp-walk MS` both
//! daemons' VRRP MIBs are walked through snmpd, every MS ms during the failover rows;
//! the rows keep their keys, so `--compare` with a run without them shows what that costs.

mod bfd;
mod checker;
mod common;
mod compare;
mod failover;
mod plot;
mod scale;
mod strict;

use std::path::PathBuf;

use keepalived_tests::host::have;
use serde_json::{json, Value};

use common::{usage, Which};

pub const USAGE: &str = "usage: side-by-side [--failovers N] [--only failover|scale|checker|strict|bfd] [--no-load | --no-idle] [--advert S] [--vips N] [--instances N,N…] [--scrape MS] [--snmp-walk MS] [--out DIR] [--compare OLD.json]
Run as root, with tcpdump, iproute2 and keepalived installed (and, for the checker part
on a kernel without IPVS, qemu, virtme-ng and a Debian kernel image; for --snmp-walk,
snmpd; for bfd, nftables).";

struct Opts {
    failovers: usize,
    out: PathBuf,
    only: Option<String>,
    load: bool,
    idle: bool,
    /// Only the failover rows of this advert interval.
    advert: Option<f64>,
    compare: Option<PathBuf>,
    /// VIPs of the `strict` section's instance.
    vips: usize,
    /// Instance counts of the `scale` section.
    instances: Vec<usize>,
}

fn opts() -> Opts {
    let mut opts = Opts {
        failovers: 20,
        out: PathBuf::from("target/side-by-side"),
        only: None,
        load: true,
        idle: true,
        advert: None,
        compare: None,
        vips: strict::VIPS,
        instances: scale::SIZES.to_vec(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--failovers" => {
                opts.failovers = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--failovers needs a number"))
            }
            "--out" => {
                opts.out = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| usage("--out needs a directory"))
            }
            "--only" => {
                opts.only = Some(
                    args.next()
                        .filter(|v| {
                            ["failover", "scale", "checker", "strict", "bfd"].contains(&v.as_str())
                        })
                        .unwrap_or_else(|| {
                            usage("--only takes failover, scale, checker, strict or bfd")
                        }),
                )
            }
            "--no-load" => opts.load = false,
            "--no-idle" => opts.idle = false,
            "--advert" => {
                opts.advert = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .filter(|v| failover::ADVERTS.iter().any(|(_, a)| a == v))
                        .unwrap_or_else(|| usage("--advert takes 1, 0.1 or 0.03")),
                )
            }
            "--vips" => {
                opts.vips = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v| (1..=62_500).contains(v))
                    .unwrap_or_else(|| usage("--vips takes 1 to 62500"))
            }
            "--instances" => {
                opts.instances = args
                    .next()
                    .and_then(|v| {
                        v.split(',')
                            .map(|n| {
                                n.parse()
                                    .ok()
                                    .filter(|n| n % 250 == 0 && (250..=4000).contains(n))
                            })
                            .collect::<Option<Vec<usize>>>()
                    })
                    .unwrap_or_else(|| {
                        usage("--instances takes multiples of 250 up to 4000, comma-separated")
                    })
            }
            "--scrape" => {
                let ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v| (1..=60_000).contains(v))
                    .unwrap_or_else(|| usage("--scrape takes 1 to 60000 (ms)"));
                let _ = failover::SCRAPE.set(std::time::Duration::from_millis(ms));
            }
            "--snmp-walk" => {
                let ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v| (1..=60_000).contains(v))
                    .unwrap_or_else(|| usage("--snmp-walk takes 1 to 60000 (ms)"));
                if !have("snmpd") {
                    usage("--snmp-walk needs snmpd (Debian's snmpd package) as the AgentX master agent, and it is not installed");
                }
                let _ = failover::SNMP_WALK.set(std::time::Duration::from_millis(ms));
            }
            "--compare" => {
                opts.compare = Some(
                    args.next()
                        .map(PathBuf::from)
                        .unwrap_or_else(|| usage("--compare needs a result.json")),
                )
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    opts
}

fn main() {
    let opts = opts();
    if std::fs::create_dir_all(&opts.out).is_err() {
        usage("cannot create the output directory");
    }
    let previous = opts.compare.as_ref().map(|p| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .unwrap_or_else(|| usage(&format!("{} is not a result.json", p.display())))
    });
    let run = |what: &str| opts.only.as_deref().is_none_or(|o| o == what);
    let mut doc = json!({});
    let mut md = String::new();
    if run("scale") {
        let mut by_size = Vec::new();
        for &n in &opts.instances {
            let ours = scale::run(Which::Ours, n);
            let theirs = scale::run(Which::Keepalived, n);
            md.push_str(&scale::table(
                &format!("{n} instances"),
                &ours,
                &theirs,
                scale::ROWS,
            ));
            let figures = json!({ "keepalived-rs": ours, "keepalived": theirs });
            // 1,000 instances keep the key earlier runs wrote, for `--compare`.
            let key = if n == 1000 {
                "scale".to_string()
            } else {
                format!("scale_{n}")
            };
            doc[key] = figures;
            by_size.push((n, ours, theirs));
        }
        if by_size.len() > 1 {
            md.push_str(&scale::growth(&by_size));
            let _ = std::fs::write(opts.out.join("growth.svg"), plot::growth(&by_size));
        }
    }
    if run("checker") {
        let r = checker::run(&opts.out);
        let emulated = if r["emulated"].as_bool() == Some(true) {
            " (in qemu, emulated)"
        } else {
            ""
        };
        for vs in checker::SIZES {
            let size = (vs * checker::RS).to_string();
            let title = format!("{size} TCP_CHECKs at delay_loop 1 s{emulated}");
            let (ours, theirs) = (&r[&size]["keepalived-rs"], &r[&size]["keepalived"]);
            md.push_str(&scale::table(&title, ours, theirs, checker::ROWS));
        }
        if r["host"].is_object() {
            let title = format!(
                "{} TCP_CHECKs at delay_loop 1 s, on this host (no IPVS, so no keepalived)",
                checker::SIZES[0] * checker::RS
            );
            md.push_str(&scale::table(
                &title,
                &r["host"]["keepalived-rs"],
                &Value::Null,
                checker::ROWS,
            ));
        }
        doc["checker"] = r;
    }
    if run("failover") {
        let mut rows = Vec::new();
        for load in [false, true] {
            if (load && opts.load) || (!load && opts.idle) {
                let (series, table) = failover::all(opts.failovers, load, opts.advert);
                md.push_str(&table);
                rows.extend(series);
            }
        }
        doc["failover"] = Value::Array(rows);
    }
    if run("strict") {
        let (rows, table) = strict::all(opts.failovers, opts.vips);
        md.push_str(&table);
        doc["strict"] = Value::Array(rows);
    }
    if run("bfd") {
        let (rows, table) = bfd::all(opts.failovers);
        md.push_str(&table);
        doc["bfd"] = Value::Array(rows);
    }
    let _ = std::fs::write(
        opts.out.join("result.json"),
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    );
    let _ = std::fs::write(opts.out.join("result.md"), &md);
    println!("{md}");
    if let Some(old) = previous {
        let table = compare::table(&old, &doc);
        let _ = std::fs::write(opts.out.join("compare.md"), &table);
        println!("{table}");
    }
}
