//! A loopback TCP listener for `checker-scale.sh`: accepts connections and closes them at
//! once, counting what it accepted, so a TCP_CHECK against it always succeeds. It also
//! measures whether the checker keeps its schedule: for each address connected to (each
//! real server, as every one has its own 127.x.y.z), the time since the previous check
//! of that address, less DELAY_MS, is its lateness.
//!
//! Usage: accept-listener PORT [THREADS [DELAY_MS]]
//!
//! Binds 0.0.0.0:PORT (so every 127.x.y.z on `lo` reaches it) with a backlog of 4096
//! (the kernel caps it at net.core.somaxconn) and runs THREADS (default 1) blocking
//! accept loops on it. Once a second it prints, flushed, one line:
//!
//! `<ms since start> <accepted so far> <accept errors so far> <lateness counts…>`
//!
//! where the lateness counts (also cumulative) are of intervals whose lateness is in
//! [`LATE_BUCKETS_MS`]: early (< 0), < 1 ms, < 2, < 5, … < 1000 ms, ≥ 1000 ms. A reader
//! takes two lines and subtracts, so any window can be measured. Whether the listener
//! itself kept up is the kernel's to say: the harness reads TcpExtListenOverflows and
//! TcpExtListenDrops, which count connections a full accept queue refused.

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};

/// Upper bounds of the lateness buckets after "early": < 1 ms, < 2 ms, …; the last
/// bucket is ≥ 1000 ms.
const LATE_BUCKETS_MS: [u64; 10] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const NBUCKETS: usize = LATE_BUCKETS_MS.len() + 2;

struct Stats {
    accepted: AtomicU64,
    errors: AtomicU64,
    late: [AtomicU64; NBUCKETS],
    /// Last accept time of each local (destination) address.
    last: Mutex<HashMap<IpAddr, Instant>>,
}

/// The bucket of an interval: 0 when shorter than `delay`, else by its lateness.
fn bucket(interval: Duration, delay: Duration) -> usize {
    let Some(late) = interval.checked_sub(delay) else {
        return 0;
    };
    let late_us = late.as_micros();
    LATE_BUCKETS_MS
        .iter()
        .position(|&b| late_us < u128::from(b) * 1000)
        .map_or(NBUCKETS - 1, |i| i + 1)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next().and_then(|a| a.parse().ok()) {
        Some(p) => p,
        None => {
            eprintln!("usage: accept-listener PORT [THREADS [DELAY_MS]]");
            std::process::exit(2);
        }
    };
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let delay = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(2000));
    let listener = bind(port).unwrap_or_else(|e| {
        eprintln!("accept-listener: bind 0.0.0.0:{port}: {e}");
        std::process::exit(1);
    });
    let stats = Arc::new(Stats {
        accepted: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        late: std::array::from_fn(|_| AtomicU64::new(0)),
        last: Mutex::new(HashMap::new()),
    });
    for _ in 0..threads {
        let l = listener.try_clone().expect("clone the listener");
        let stats = stats.clone();
        std::thread::spawn(move || loop {
            match l.accept() {
                Ok((s, _)) => {
                    let now = Instant::now();
                    let local = s.local_addr().map(|a| a.ip());
                    // Closed at once: the kernel sends FIN; nothing was read or written.
                    drop(s);
                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                    if let Ok(ip) = local {
                        let prev = stats.last.lock().unwrap().insert(ip, now);
                        if let Some(prev) = prev {
                            let b = bucket(now.saturating_duration_since(prev), delay);
                            stats.late[b].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Err(_) => {
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        });
    }
    let start = Instant::now();
    let mut out = std::io::stdout().lock();
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let mut line = format!(
            "{} {} {}",
            start.elapsed().as_millis(),
            stats.accepted.load(Ordering::Relaxed),
            stats.errors.load(Ordering::Relaxed)
        );
        for b in &stats.late {
            line.push_str(&format!(" {}", b.load(Ordering::Relaxed)));
        }
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

fn bind(port: u16) -> std::io::Result<TcpListener> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)).into())?;
    s.listen(4096)?;
    Ok(s.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_buckets() {
        let d = Duration::from_secs(2);
        let ms = Duration::from_millis;
        assert_eq!(bucket(ms(1999), d), 0);
        assert_eq!(bucket(ms(2000), d), 1);
        assert_eq!(bucket(Duration::from_micros(2_000_999), d), 1);
        assert_eq!(bucket(ms(2001), d), 2);
        assert_eq!(bucket(ms(2004), d), 3);
        assert_eq!(bucket(ms(2999), d), NBUCKETS - 2);
        assert_eq!(bucket(ms(3000), d), NBUCKETS - 1);
        assert_eq!(bucket(ms(9000), d), NBUCKETS - 1);
    }
}
