//! Writes the benchmark config: N virtual_servers × M real_servers, each with a TCP_CHECK
//! (default 2,000 × 20 = 40,000 real servers, about 5 MB).
//! Usage: gen-config [VIRTUAL_SERVERS [REAL_SERVERS]] > big.conf

fn main() {
    let mut args = std::env::args().skip(1);
    let vs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let rs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    print!("{}", keepalived_benches::big_config(vs, rs));
}
