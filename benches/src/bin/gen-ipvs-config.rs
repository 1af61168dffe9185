//! Writes the configs of `ipvs-apply.sh`: N virtual_servers × M real_servers without
//! checkers, and with `changed` the reload target that differs in 1 % of it.
//! Usage: gen-ipvs-config VIRTUAL_SERVERS REAL_SERVERS [changed] > ipvs.conf

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<usize>().ok());
    let (Some(vs), Some(rs)) = (num(0), num(1)) else {
        eprintln!("usage: gen-ipvs-config VIRTUAL_SERVERS REAL_SERVERS [changed]");
        std::process::exit(2);
    };
    if vs > 65_536 || rs > 200 {
        eprintln!("gen-ipvs-config: at most 65536 virtual servers × 200 real servers");
        std::process::exit(2);
    }
    let changed = args.get(2).is_some_and(|a| a == "changed");
    print!("{}", keepalived_benches::ipvs_apply_config(vs, rs, changed));
}
