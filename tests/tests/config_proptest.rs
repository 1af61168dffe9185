//! Nothing panics on any input: random token streams over the language's vocabulary, and
//! arbitrary bytes, through the whole front end (lexer, parser, validation).

use keepalived_engine::config::{load, MemFs, ParseOptions};
use proptest::prelude::*;
use std::path::Path;

const WORDS: &[&str] = &[
    "{",
    "}",
    "{",
    "}",
    "\n",
    "\n",
    "\n",
    "vrrp_instance",
    "VI_1",
    "virtual_router_id",
    "priority",
    "state",
    "MASTER",
    "interface",
    "eth0",
    "virtual_ipaddress",
    "10.0.0.1/24",
    "fe80::1",
    "dev",
    "brd",
    "+",
    "global_defs",
    "vrrp_strict",
    "virtual_server",
    "real_server",
    "TCP_CHECK",
    "HTTP_GET",
    "url",
    "path",
    "status_code",
    "200-299",
    "fwmark",
    "group",
    "include",
    "k.conf",
    "*.conf",
    "{a,b}",
    "$X=1",
    "$X",
    "${X}",
    "${_RANDOM 1 2}",
    "${_ENV HOME}",
    "@r1",
    "@^r1",
    "~SEQ(i,1,3)",
    "~SEQx(i,0,-1)",
    "~LST({a,b},{1,2})",
    "~SEQ(i,1,0,5)",
    "\"quoted { word\"",
    "'",
    "\"",
    "\\",
    "#",
    "!",
    "0",
    "255",
    "256",
    "-1",
    "1.5",
    "0.000001",
    "99999999999999999999",
    "unicast_peer",
    "min_ttl",
    "track_script",
    "weight",
    "-254",
    "vrrp_sync_group",
    "authentication",
    "auth_type",
    "AH",
    "PASS",
    "lb_kind",
    "TUN",
    "type",
    "gue",
    "port",
    "MISC_CHECK",
    "misc_path",
    "$M=a \\",
    "virtual_routes",
    "nexthop",
    "via",
    "virtual_rules",
    "from",
    "table",
    "\t",
    "\u{0}",
    "é",
];

fn render(tokens: &[usize]) -> String {
    let mut s = String::new();
    for &i in tokens {
        let w = WORDS[i % WORDS.len()];
        s.push_str(w);
        if w != "\n" {
            s.push(' ');
        }
    }
    s
}

fn run(main: &str, inc: &str) {
    let fs = MemFs::new()
        .with("/etc/k/k.conf", main)
        .with("/etc/k/a.conf", inc)
        .with("/etc/k/b.conf", main);
    let loaded = load(
        &fs,
        Path::new("/etc/k/k.conf"),
        &ParseOptions::default().with_config_id("r1"),
    );
    // Every diagnostic renders, and every located one points into a real line.
    for d in loaded.diagnostics.iter() {
        let _ = d.to_string();
        if let Some(l) = &d.location {
            assert!(l.line >= 1 && l.column >= 1, "{d}");
        }
    }
    let _ = serde_json::to_string(&loaded.config).expect("the model always serialises");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_token_streams_never_panic(main in prop::collection::vec(0usize..1000, 0..200), inc in prop::collection::vec(0usize..1000, 0..60)) {
        run(&render(&main), &render(&inc));
    }

    #[test]
    fn arbitrary_text_never_panics(main in ".{0,400}") {
        run(&main, "");
    }
}
