//! Writes the config of `checker-scale.sh`: N virtual_servers × M real_servers with a
//! TCP_CHECK each, the real servers on distinct loopback addresses and one port.
//! Usage: gen-check-config VIRTUAL_SERVERS REAL_SERVERS PORT [LVS_NOTIFY_FIFO] > check.conf

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let (Some(vs), Some(rs), Some(port)) = (num(0), num(1), num(2)) else {
        eprintln!("usage: gen-check-config VIRTUAL_SERVERS REAL_SERVERS PORT [LVS_NOTIFY_FIFO]");
        std::process::exit(2);
    };
    let Ok(port) = u16::try_from(port) else {
        eprintln!("gen-check-config: port {port} out of range");
        std::process::exit(2);
    };
    match keepalived_benches::loopback_check_config(
        vs,
        rs,
        port,
        args.get(3).map(String::as_str),
        2,
    ) {
        Some(conf) => print!("{conf}"),
        None => {
            eprintln!("gen-check-config: at most 1000 virtual servers × 200 real servers");
            std::process::exit(2);
        }
    }
}
