//! LVS blocks: `SSL`, `virtual_server_group`, `virtual_server`, `real_server` and the
//! checkers (`keepalived/check/check_parser.c`, `check_*.c`).

use super::track::weight;
use crate::config::diag::DiagClass;
use crate::config::model::*;
use crate::config::parser::{parse_bool, parse_ip, Parser, Stmt};
use crate::config::registry::Block;
use std::net::IpAddr;

const SCHEDULERS: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos",
];
const MAX_TIMER: u64 = 86400 * 365 * SECOND;

pub fn ssl(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::lvs::ssl as kw;
    p.extra(st, 0);
    let mut s_cfg = SslConfig::default();
    p.block_in(Block::Ssl, st, |p, s| match s.kw() {
        kw::PASSWORD => s_cfg.password = p.value(&s, "a password"),
        kw::CA => s_cfg.ca = p.value(&s, "a CA file"),
        kw::CERTIFICATE => s_cfg.certificate = p.value(&s, "a certificate file"),
        kw::KEY => s_cfg.key = p.value(&s, "a key file"),
        _ => p.unknown(&s, "SSL"),
    });
    cfg.ssl = Some(s_cfg);
}

pub fn virtual_server_group(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    let Some(name) = super::block_name(p, st) else {
        p.skip_block(st);
        return;
    };
    use crate::config::registry::lvs::group as kw;
    let mut entries = Vec::new();
    for s in p.lines(st) {
        if s.kw() == kw::FWMARK {
            if let Some(mark) = p.int(&s, 0, 1, u32::MAX as i64) {
                let family_v6 = match s.arg(1) {
                    Some("inet") => Some(false),
                    Some("inet6") => Some(true),
                    _ => None,
                };
                p.extra(&s, if family_v6.is_some() { 2 } else { 1 });
                entries.push(VsgEntry::Fwmark { mark, family_v6 });
            }
            continue;
        }
        match parse_range(s.kw()) {
            Some((first, last)) => {
                let port = if s.args.is_empty() { None } else { p.int(&s, 0, 0, 65535) };
                p.extra(&s, 1);
                entries.push(VsgEntry::Range { first, last, port });
            }
            None => p.error(
                &s,
                s.kw.col,
                DiagClass::Value,
                format!("expected 'IP [PORT]', 'a.b.c.d-e [PORT]', 'PREFIX/LEN [PORT]' or 'fwmark N', found '{}'", s.kw()),
            ),
        }
    }
    cfg.virtual_server_groups
        .push(VirtualServerGroup { name, entries });
}

/// `a.b.c.d`, `a.b.c.d-e` (last octet / group range) or a CIDR block, as first..=last.
fn parse_range(w: &str) -> Option<(IpAddr, IpAddr)> {
    if let Some(a) = parse_ip(w) {
        return Some((a, a));
    }
    if let Some((addr, len)) = w.split_once('/') {
        let a = parse_ip(addr)?;
        let len: u32 = len.parse().ok()?;
        return match a {
            IpAddr::V4(v4) if len <= 32 => {
                let n = u32::from(v4);
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                Some((
                    IpAddr::from((n & mask).to_be_bytes()),
                    IpAddr::from((n | !mask).to_be_bytes()),
                ))
            }
            IpAddr::V6(v6) if len <= 128 => {
                let n = u128::from(v6);
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                Some((
                    IpAddr::from((n & mask).to_be_bytes()),
                    IpAddr::from((n | !mask).to_be_bytes()),
                ))
            }
            _ => None,
        };
    }
    let (addr, end) = w.rsplit_once('-')?;
    let a = parse_ip(addr)?;
    match a {
        IpAddr::V4(v4) => {
            let end: u8 = end.parse().ok()?;
            let mut o = v4.octets();
            if end < o[3] {
                return None;
            }
            o[3] = end;
            Some((a, IpAddr::from(o)))
        }
        IpAddr::V6(v6) => {
            let end = u16::from_str_radix(end, 16).ok()?;
            let mut seg = v6.segments();
            if end < seg[7] {
                return None;
            }
            seg[7] = end;
            Some((a, IpAddr::from(seg)))
        }
    }
}

fn default_schedule() -> Schedule {
    Schedule {
        delay_loop_us: 60 * SECOND,
        connect_timeout_us: 5 * SECOND,
        retry: 1,
        delay_before_retry_us: SECOND,
        warmup_us: 60 * SECOND,
        alpha: false,
    }
}

/// The schedule keywords every level shares; true when `s` was one of them.
fn schedule_kw(p: &mut Parser<'_>, s: &Stmt, sch: &mut Schedule, ex: &mut Explicit) -> bool {
    use crate::config::registry::checker::schedule as kw;
    macro_rules! set {
        ($kw:expr, $field:expr, $v:expr) => {{
            if let Some(v) = $v {
                $field = v;
                ex.set($kw);
            }
            true
        }};
    }
    p.runtime_note(Block::Schedule, s);
    if s.kw() == kw::NB_GET_RETRY {
        p.warn(
            s,
            s.kw.col,
            "'nb_get_retry' is deprecated: it means 'retry'".into(),
        );
    }
    match s.kw() {
        kw::DELAY_LOOP => set!(
            Given::DelayLoop,
            sch.delay_loop_us,
            p.timer_value(s, SECOND / 1000, MAX_TIMER)
        ),
        kw::CONNECT_TIMEOUT => set!(
            Given::ConnectTimeout,
            sch.connect_timeout_us,
            p.timer_value(s, SECOND / 1000, MAX_TIMER)
        ),
        // `nb_get_retry` is HTTP's old name for `retry`; the guide uses it in TCP_CHECK too.
        kw::RETRY | kw::NB_GET_RETRY => {
            set!(Given::Retry, sch.retry, p.int_value(s, 0, u32::MAX as i64))
        }
        kw::DELAY_BEFORE_RETRY => set!(
            Given::DelayBeforeRetry,
            sch.delay_before_retry_us,
            p.timer_value(s, 0, MAX_TIMER)
        ),
        kw::WARMUP => set!(Given::Warmup, sch.warmup_us, p.timer_value(s, 0, MAX_TIMER)),
        kw::ALPHA => set!(Given::Alpha, sch.alpha, Some(p.flag(s))),
        _ => false,
    }
}

/// `lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn lvs_method(p: &mut Parser<'_>, s: &Stmt) -> Option<LvsMethod> {
    let kind = match p.str_arg(s, 0, "NAT, DR or TUN")?.as_str() {
        "NAT" => LvsKind::Nat,
        "DR" => LvsKind::Dr,
        "TUN" => LvsKind::Tun,
        other => {
            p.bad_arg(
                s,
                0,
                format!("'{}' expects NAT, DR or TUN, found '{other}'", s.kw()),
            );
            return None;
        }
    };
    let mut m = LvsMethod {
        kind,
        ..LvsMethod::default()
    };
    if kind != LvsKind::Tun {
        p.extra(s, 1);
        return Some(m);
    }
    let mut i = 1;
    while i < s.args.len() {
        match s.args[i].text.as_str() {
            "type" => {
                match s.arg(i + 1) {
                    Some(t @ ("ipip" | "gue" | "gre")) => m.tunnel_type = Some(t.to_string()),
                    _ => p.bad_arg(s, i + 1, "tunnel 'type' expects ipip, gue or gre".into()),
                }
                i += 2;
            }
            "port" => {
                m.tunnel_port = p.int(s, i + 1, 1, 65535);
                i += 2;
            }
            c @ ("nocsum" | "csum" | "remcsum") => {
                m.tunnel_checksum = Some(c.to_string());
                i += 1;
            }
            _ => {
                p.extra(s, i);
                break;
            }
        }
    }
    if m.tunnel_type.as_deref() == Some("gue") && m.tunnel_port.is_none() {
        p.error(
            s,
            s.kw.col,
            DiagClass::Value,
            "a 'gue' tunnel needs 'port N'".into(),
        );
    }
    Some(m)
}

pub fn virtual_server(p: &mut Parser<'_>, st: &Stmt, cfg: &mut Config) {
    use crate::config::registry::lvs::virtual_server as kw;
    let address = match st.arg(0) {
        Some("fwmark") => p
            .int(st, 1, 1, u32::MAX as i64)
            .map(|mark| VsAddress::Fwmark { mark }),
        Some("group") => p
            .str_arg(st, 1, "a virtual_server_group name")
            .map(|name| VsAddress::Group { name }),
        Some(_) => {
            let addr = p.ip(st, 0);
            let port = if st.args.len() > 1 {
                p.int(st, 1, 0, 65535)
            } else {
                Some(0)
            };
            addr.zip(port)
                .map(|(address, port)| VsAddress::Ip { address, port })
        }
        None => {
            p.bad_arg(
                st,
                0,
                "'virtual_server' needs 'IP PORT', 'fwmark N' or 'group NAME'".into(),
            );
            None
        }
    };
    p.extra(st, 2);
    let Some(address) = address else {
        p.skip_block(st);
        return;
    };
    let mut vs = VirtualServer {
        address,
        ip_family_v6: None,
        lvs_sched: "wlc".into(),
        lvs_method: LvsMethod::default(),
        protocol: Protocol::Tcp,
        persistence_timeout_s: None,
        persistence_granularity: None,
        persistence_engine: None,
        ops: false,
        sched_flags: Vec::new(),
        hashed: false,
        ha_suspend: false,
        virtualhost: None,
        snmp_name: None,
        schedule: default_schedule(),
        omega: false,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        weight: 1,
        sorry_server: None,
        sorry_server_inhibit: false,
        inhibit_on_failure: false,
        smtp_alert: None,
        real_servers: Vec::new(),
        explicit: Explicit::default(),
        defined_at: Some(st.loc()),
    };
    p.block_in(Block::VirtualServer, st, |p, s| {
        if schedule_kw(p, &s, &mut vs.schedule, &mut vs.explicit) {
            return;
        }
        match s.kw() {
            kw::LB_ALGO | kw::LVS_SCHED => {
                if let Some(a) = p.choice(&s, 0, SCHEDULERS) {
                    vs.lvs_sched = a;
                }
                p.extra(&s, 1);
            }
            kw::LB_KIND | kw::LVS_METHOD => {
                if let Some(m) = lvs_method(p, &s) {
                    vs.lvs_method = m;
                    vs.explicit.set(Given::LvsMethod);
                }
            }
            kw::PROTOCOL => {
                vs.explicit.set(Given::Protocol);
                match p.str_arg(&s, 0, "TCP, UDP or SCTP").as_deref() {
                    Some("TCP") => vs.protocol = Protocol::Tcp,
                    Some("UDP") => vs.protocol = Protocol::Udp,
                    Some("SCTP") => vs.protocol = Protocol::Sctp,
                    Some(o) => p.bad_arg(
                        &s,
                        0,
                        format!("'protocol' expects TCP, UDP or SCTP, found '{o}'"),
                    ),
                    None => {}
                }
                p.extra(&s, 1);
            }
            // Without a value keepalived uses 360 s (`persistence_handler()`).
            kw::PERSISTENCE_TIMEOUT => {
                vs.persistence_timeout_s = if s.args.is_empty() {
                    Some(360)
                } else {
                    p.int_value(&s, 1, u32::MAX as i64)
                };
            }
            kw::PERSISTENCE_GRANULARITY => {
                vs.persistence_granularity = p.value(&s, "a netmask or prefix length")
            }
            kw::PERSISTENCE_ENGINE => {
                vs.persistence_engine = p.value(&s, "a persistence engine name")
            }
            kw::OPS => vs.ops = p.flag(&s),
            f @ (kw::FLAG_1
            | kw::FLAG_2
            | kw::FLAG_3
            | kw::SH_PORT
            | kw::SH_FALLBACK
            | kw::MH_PORT
            | kw::MH_FALLBACK) => {
                vs.sched_flags.push(f.to_string());
                p.extra(&s, 0);
            }
            kw::HASHED => vs.hashed = p.flag(&s),
            kw::HA_SUSPEND => vs.ha_suspend = p.flag(&s),
            kw::VIRTUALHOST => vs.virtualhost = p.value(&s, "a host name"),
            kw::SNMP_NAME => vs.snmp_name = p.value(&s, "a name"),
            kw::OMEGA => vs.omega = p.flag(&s),
            kw::QUORUM => vs.quorum = p.int_value(&s, 1, u32::MAX as i64).unwrap_or(vs.quorum),
            kw::HYSTERESIS => {
                vs.hysteresis = p.int_value(&s, 0, u32::MAX as i64).unwrap_or(vs.hysteresis)
            }
            kw::QUORUM_UP => vs.quorum_up = p.command(&s),
            kw::QUORUM_DOWN => vs.quorum_down = p.command(&s),
            kw::WEIGHT => vs.weight = p.int_value(&s, 0, i32::MAX as i64).unwrap_or(vs.weight),
            kw::SORRY_SERVER => {
                if let Some(address) = p.ip(&s, 0) {
                    let port = if s.args.len() > 1 {
                        p.int(&s, 1, 0, 65535)
                    } else {
                        None
                    };
                    p.extra(&s, 2);
                    vs.sorry_server = Some(SorryServer {
                        address,
                        port,
                        lvs_method: vs.sorry_server.take().and_then(|x| x.lvs_method),
                    });
                }
            }
            kw::SORRY_SERVER_INHIBIT => vs.sorry_server_inhibit = p.flag(&s),
            kw::SORRY_SERVER_LVS_METHOD => {
                let m = lvs_method(p, &s);
                match vs.sorry_server.as_mut() {
                    Some(ss) => ss.lvs_method = m,
                    None => p.error(
                        &s,
                        s.kw.col,
                        DiagClass::Semantic,
                        "'sorry_server_lvs_method' must follow 'sorry_server'".into(),
                    ),
                }
            }
            kw::INHIBIT_ON_FAILURE => {
                vs.inhibit_on_failure = p.flag(&s);
                vs.explicit.set(Given::InhibitOnFailure);
            }
            kw::IP_FAMILY => {
                if let Some(f) = p.choice(&s, 0, &["inet", "inet6"]).as_deref() {
                    vs.ip_family_v6 = Some(f == "inet6")
                }
            }
            kw::SMTP_ALERT => vs.smtp_alert = Some(p.flag(&s)),
            kw::REAL_SERVER => {
                if let Some(mut rs) = real_server(p, &s, &cfg.tracked_bfds, vs.protocol) {
                    file_check_weights(&mut rs, &cfg.track_files);
                    vs.real_servers.push(rs);
                }
            }
            _ => p.unknown(&s, "virtual_server"),
        }
    });
    // The lists are kept for the daemon's lifetime: spare capacity left over from growing
    // them would be a large share of a big pool's memory.
    vs.real_servers.shrink_to_fit();
    cfg.virtual_servers.push(vs);
}

/// A real server of a virtual server of `protocol`; `bfds` are the bfd_instances read so
/// far, which its BFD_CHECKs may name.
fn real_server(
    p: &mut Parser<'_>,
    st: &Stmt,
    bfds: &[TrackedBfd],
    protocol: Protocol,
) -> Option<RealServer> {
    use crate::config::registry::lvs::real_server as kw;
    let address = p.ip(st, 0);
    let port = if st.args.len() > 1 {
        p.int(st, 1, 0, 65535)
    } else {
        None
    };
    p.extra(st, 2);
    let Some(address) = address else {
        p.skip_block(st);
        return None;
    };
    let mut rs = RealServer {
        address,
        port,
        weight: 1,
        lvs_method: None,
        uthreshold: None,
        lthreshold: None,
        inhibit_on_failure: false,
        notify_up: None,
        notify_down: None,
        schedule: default_schedule(),
        smtp_alert: true,
        virtualhost: None,
        snmp_name: None,
        checkers: Vec::new(),
        explicit: Explicit::default(),
    };
    p.block_in(Block::RealServer, st, |p, s| {
        if schedule_kw(p, &s, &mut rs.schedule, &mut rs.explicit) {
            return;
        }
        match s.kw() {
            kw::WEIGHT => {
                if let Some(w) = p.int_value(&s, 0, i32::MAX as i64) {
                    rs.weight = w;
                    rs.explicit.set(Given::Weight);
                }
            }
            kw::LVS_METHOD | kw::LB_KIND => rs.lvs_method = lvs_method(p, &s).map(Box::new),
            kw::UTHRESHOLD => rs.uthreshold = p.int_value(&s, 0, u32::MAX as i64),
            kw::LTHRESHOLD => rs.lthreshold = p.int_value(&s, 0, u32::MAX as i64),
            kw::INHIBIT_ON_FAILURE => {
                rs.inhibit_on_failure = p.flag(&s);
                rs.explicit.set(Given::InhibitOnFailure);
            }
            kw::NOTIFY_UP => rs.notify_up = p.command(&s).map(Box::new),
            kw::NOTIFY_DOWN => rs.notify_down = p.command(&s).map(Box::new),
            kw::SMTP_ALERT => rs.smtp_alert = p.flag(&s),
            kw::VIRTUALHOST => rs.virtualhost = p.value(&s, "a host name"),
            kw::SNMP_NAME => rs.snmp_name = p.value(&s, "a name"),
            kw @ (kw::TCP_CHECK
            | kw::HTTP_GET
            | kw::SSL_GET
            | kw::SMTP_CHECK
            | kw::DNS_CHECK
            | kw::MISC_CHECK
            | kw::UDP_CHECK
            | kw::PING_CHECK
            | kw::FILE_CHECK) => {
                if let Some(c) = checker(p, &s, kw) {
                    // Real servers are many and their checkers few, nearly always one:
                    // the list grows exactly, not to room for four.
                    rs.checkers.reserve_exact(1);
                    rs.checkers.push(c);
                }
            }
            kw::BFD_CHECK => {
                let label = format!(
                    "[{address}]:{}:{}",
                    crate::check::ipvs::proto_str(protocol),
                    rs.port.unwrap_or(0)
                );
                if let Some(c) = bfd_check(p, &s, bfds, &label, &rs.checkers) {
                    rs.checkers.reserve_exact(1);
                    rs.checkers.push(c);
                }
            }
            _ => p.unknown(&s, "real_server"),
        }
    });
    if let (Some(lo), Some(hi)) = (rs.lthreshold, rs.uthreshold) {
        if lo > hi {
            p.error(
                st,
                st.kw.col,
                DiagClass::Value,
                format!("real_server {address}: lthreshold {lo} is above uthreshold {hi}"),
            );
        }
    }
    Some(rs)
}

/// `file_end_handler()`, `check_file.c`: a FILE_CHECK without a `weight` of its own takes
/// its track_file's weight and direction. As in keepalived, that is the track_file
/// defined before the virtual_server; one defined after it leaves the default, 1.
fn file_check_weights(rs: &mut RealServer, files: &[TrackFile]) {
    for c in &mut rs.checkers {
        if c.explicit.has(Given::Weight) {
            continue;
        }
        if let CheckerKind::FileCheck {
            track_file: Some(t),
            weight,
            weight_reverse,
        } = &mut c.kind
        {
            if let Some(f) = files.iter().find(|f| &f.name == t) {
                *weight = f.weight;
                *weight_reverse = f.weight_reverse;
            }
        }
    }
}

/// `BFD_CHECK {}` (`check_bfd.c`): `name`, which must be a bfd_instance the checker
/// process hears of, defined before it and not already followed by this real server,
/// and `alpha`. keepalived skips a checker whose name is wrong, and ignores the rest of
/// its block. `rs` names the real server as keepalived's messages do (`FMT_RS()`).
fn bfd_check(
    p: &mut Parser<'_>,
    st: &Stmt,
    bfds: &[TrackedBfd],
    rs: &str,
    existing: &[Checker],
) -> Option<Checker> {
    use crate::config::registry::checker::bfd as kw;
    p.extra(st, 0);
    let mut c = Checker {
        kind: CheckerKind::BfdCheck { name: None },
        connection: Connection::default(),
        schedule: default_schedule(),
        log_all_failures: false,
        explicit: Explicit::default(),
    };
    let mut name: Option<String> = None;
    let mut skipped = false;
    p.block_in(Block::BfdCheck, st, |p, s| {
        if skipped {
            // new_checker is gone: its keywords do nothing.
            return;
        }
        match s.kw() {
            kw::NAME => {
                let fail = |p: &mut Parser<'_>, message: String| {
                    p.error(&s, s.kw.col, DiagClass::Semantic, message);
                };
                let Some(n) = s.arg(0).filter(|_| s.args.len() == 1) else {
                    fail(
                        p,
                        format!(
                            "({rs}) BFD_CHECK - No or too many names specified - skipping checker"
                        ),
                    );
                    skipped = true;
                    return;
                };
                if !bfds.iter().any(|b| b.name == n && b.to_checker()) {
                    fail(p, format!("({rs}) BFD_CHECK - BFD {n} not configured"));
                } else if let Some(old) = &name {
                    fail(
                        p,
                        format!("({rs}) BFD_CHECK - BFD {n} already specified as {old}"),
                    );
                } else if n.len() >= 32 {
                    fail(p, format!("({rs}) BFD_CHECK - BFD name {n} too long"));
                } else if existing
                    .iter()
                    .any(|o| matches!(&o.kind, CheckerKind::BfdCheck { name: Some(e) } if e == n))
                {
                    fail(p, format!("({rs}) BFD_CHECK - RS already monitoring {n}"));
                } else {
                    name = Some(n.to_string());
                    return;
                }
                skipped = true;
            }
            // bfd_alpha_handler(): alone it is on; a word that is not a boolean is
            // reported and changes nothing.
            kw::ALPHA => match s.arg(0) {
                None => {
                    c.schedule.alpha = true;
                    c.explicit.set(Given::Alpha);
                }
                Some(v) => match parse_bool(v) {
                    Some(b) => {
                        p.extra(&s, 1);
                        c.schedule.alpha = b;
                        c.explicit.set(Given::Alpha);
                    }
                    None => p.error(
                        &s,
                        s.kw.col,
                        DiagClass::Value,
                        format!("Invalid alpha parameter {v}"),
                    ),
                },
            },
            _ => p.unknown(&s, "BFD_CHECK"),
        }
    });
    if skipped {
        return None;
    }
    let Some(name) = name else {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            format!("({rs}) No name has been specified for BFD_CHECKER - skipping"),
        );
        return None;
    };
    c.kind = CheckerKind::BfdCheck { name: Some(name) };
    Some(c)
}

fn connection_kw(p: &mut Parser<'_>, s: &Stmt, c: &mut Connection) -> bool {
    use crate::config::registry::checker::connection as kw;
    p.runtime_note(Block::Connection, s);
    match s.kw() {
        kw::CONNECT_IP => c.connect_ip = p.ip_value(s),
        kw::CONNECT_PORT => c.connect_port = p.int_value(s, 1, 65535),
        kw::BINDTO => c.bindto = p.ip_value(s),
        kw::BIND_PORT => c.bind_port = p.int_value(s, 1, 65535),
        kw::BIND_IF => c.bind_if = p.value(s, "an interface"),
        kw::FWMARK => c.fwmark = p.int_value(s, 0, u32::MAX as i64),
        _ => return false,
    }
    true
}

fn checker(p: &mut Parser<'_>, st: &Stmt, kw: &str) -> Option<Checker> {
    use crate::config::registry::checker::{common, dns, file, http, misc, smtp, udp};
    use crate::config::registry::lvs::real_server as rs;
    p.extra(st, 0);
    let mut kind = match kw {
        rs::TCP_CHECK => CheckerKind::TcpCheck,
        rs::HTTP_GET | rs::SSL_GET => {
            let h = Box::new(HttpCheck {
                http_protocol: "1.0".into(),
                virtualhost: None,
                fast_recovery: false,
                enable_sni: false,
                sni_name: None,
                tls_compliant: false,
                urls: Vec::new(),
            });
            if kw == "HTTP_GET" {
                CheckerKind::HttpGet(h)
            } else {
                CheckerKind::SslGet(h)
            }
        }
        rs::SMTP_CHECK => CheckerKind::SmtpCheck {
            helo_name: None,
            hosts: Vec::new(),
        },
        rs::DNS_CHECK => CheckerKind::DnsCheck {
            query_type: "SOA".into(),
            name: ".".into(),
        },
        rs::MISC_CHECK => CheckerKind::MiscCheck(Box::new(MiscCheck {
            misc_path: None,
            misc_timeout_us: None,
            misc_dynamic: false,
            user: None,
            group: None,
        })),
        rs::UDP_CHECK => CheckerKind::UdpCheck(Box::new(UdpCheck {
            payload: Vec::new(),
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        })),
        // Without `weight`, the track_file's (whose own default is 1).
        rs::FILE_CHECK => CheckerKind::FileCheck {
            track_file: None,
            weight: 1,
            weight_reverse: false,
        },
        // PING_CHECK (BFD_CHECK is read by bfd_check()).
        _ => CheckerKind::PingCheck,
    };
    let mut c = Checker {
        kind: CheckerKind::TcpCheck,
        connection: Connection::default(),
        schedule: default_schedule(),
        log_all_failures: false,
        explicit: Explicit::default(),
    };
    let block = match kw {
        rs::HTTP_GET | rs::SSL_GET => Block::HttpGet,
        rs::SMTP_CHECK => Block::SmtpCheck,
        rs::DNS_CHECK => Block::DnsCheck,
        rs::MISC_CHECK => Block::MiscCheck,
        rs::UDP_CHECK => Block::UdpCheck,
        rs::FILE_CHECK => Block::FileCheck,
        _ => Block::Checker,
    };
    p.block_in(block, st, |p, s| {
        if schedule_kw(p, &s, &mut c.schedule, &mut c.explicit) {
            return;
        }
        if s.kw() == common::LOG_ALL_FAILURES {
            c.log_all_failures = p.flag(&s);
            return;
        }
        let network = !matches!(kind, CheckerKind::MiscCheck(_) | CheckerKind::FileCheck { .. });
        if network && connection_kw(p, &s, &mut c.connection) {
            return;
        }
        match (&mut kind, s.kw()) {
            (CheckerKind::HttpGet(h) | CheckerKind::SslGet(h), k) => match k {
                http::HTTP_PROTOCOL => {
                    if let Some(v) = p.choice(&s, 0, &["1.0", "1.0C", "1.1", "1.0c"]) {
                        h.http_protocol = v.to_uppercase();
                    }
                    p.extra(&s, 1);
                }
                http::VIRTUALHOST => h.virtualhost = p.value(&s, "a host name"),
                http::FAST_RECOVERY => h.fast_recovery = p.flag(&s),
                http::ENABLE_SNI => h.enable_sni = p.flag(&s),
                http::SNI_NAME => h.sni_name = p.value(&s, "a server name"),
                http::TLS_COMPLIANT => h.tls_compliant = p.flag(&s),
                http::URL => {
                    if let Some(u) = url(p, &s) {
                        h.urls.push(u);
                    }
                }
                _ => p.unknown(&s, kw),
            },
            (CheckerKind::SmtpCheck { helo_name, hosts }, k) => match k {
                smtp::HELO_NAME => *helo_name = p.value(&s, "a host name"),
                smtp::HOST => {
                    let mut conn = Connection::default();
                    p.block(&s, |p, h| {
                        if !connection_kw(p, &h, &mut conn) {
                            p.unknown(&h, "SMTP_CHECK host");
                        }
                    });
                    hosts.push(conn);
                }
                _ => p.unknown(&s, kw),
            },
            (CheckerKind::DnsCheck { query_type, name }, k) => match k {
                dns::TYPE => {
                    if let Some(t) = p.choice(&s, 0, &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"]) {
                        *query_type = t;
                    }
                    p.extra(&s, 1);
                }
                dns::NAME => {
                    if let Some(n) = p.value(&s, "a domain name") {
                        *name = n;
                    }
                }
                _ => p.unknown(&s, kw),
            },
            (CheckerKind::MiscCheck(m), k) => match k {
                misc::MISC_PATH => m.misc_path = p.command(&s),
                misc::MISC_TIMEOUT => m.misc_timeout_us = p.timer_value(&s, SECOND / 1000, MAX_TIMER),
                misc::MISC_DYNAMIC => m.misc_dynamic = p.flag(&s),
                misc::USER => {
                    m.user = p.str_arg(&s, 0, "a user name");
                    m.group = s.arg(1).map(str::to_string);
                    p.extra(&s, 2);
                }
                _ => p.unknown(&s, kw),
            },
            (CheckerKind::UdpCheck(u), k) => match k {
                udp::PAYLOAD => {
                    if let Some(h) = p.value(&s, "hex bytes") {
                        match hex_bytes(&h) {
                            Some(b) => u.payload = b.into_iter().map(|x| x.unwrap_or(0)).collect(),
                            None => p.bad_arg(&s, 0, format!("'payload' expects hex bytes, found '{h}'")),
                        }
                    }
                }
                udp::REQUIRE_REPLY => {
                    u.require_reply = Some(Vec::new());
                    if let Some(h) = s.arg(0) {
                        match hex_bytes(h) {
                            Some(b) => u.require_reply = Some(b),
                            None => p.bad_arg(&s, 0, format!("'require_reply' expects hex bytes (X for any), found '{h}'")),
                        }
                    }
                    p.extra(&s, 1);
                }
                udp::MIN_REPLY_LENGTH => u.min_reply_length = p.int_value(&s, 0, 65535).unwrap_or(u.min_reply_length),
                udp::MAX_REPLY_LENGTH => u.max_reply_length = p.int_value(&s, 0, 65535).unwrap_or(u.max_reply_length),
                _ => p.unknown(&s, kw),
            },
            (CheckerKind::FileCheck { track_file, weight: w, weight_reverse }, k) => match k {
                file::TRACK_FILE => *track_file = p.value(&s, "a track_file name"),
                file::WEIGHT => {
                    if let Some((v, r)) = weight(p, &s, 0, i32::MIN as i64 + 1, i32::MAX as i64) {
                        *w = v;
                        *weight_reverse = r;
                        c.explicit.set(Given::Weight);
                    }
                }
                file::DYNAMIC => {
                    p.flag(&s);
                }
                _ => p.unknown(&s, kw),
            },
            _ => p.unknown(&s, kw),
        }
    });
    match &kind {
        CheckerKind::MiscCheck(m) if m.misc_path.is_none() => {
            p.error(
                st,
                st.kw.col,
                DiagClass::Semantic,
                "MISC_CHECK needs 'misc_path'".into(),
            );
            return None;
        }
        CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) if h.urls.is_empty() => {
            p.error(
                st,
                st.kw.col,
                DiagClass::Semantic,
                format!("{kw} needs at least one 'url' block"),
            );
            return None;
        }
        CheckerKind::FileCheck {
            track_file: None, ..
        } => {
            p.error(
                st,
                st.kw.col,
                DiagClass::Semantic,
                "FILE_CHECK needs 'track_file'".into(),
            );
            return None;
        }
        _ => {}
    }
    c.kind = kind;
    Some(c)
}

fn url(p: &mut Parser<'_>, st: &Stmt) -> Option<Url> {
    use crate::config::registry::checker::url as kw;
    let mut u = Url {
        path: String::new(),
        digest: None,
        status_codes: Vec::new(),
        virtualhost: None,
        regex: None,
        regex_no_match: false,
        regex_options: Vec::new(),
        regex_stack: None,
        regex_min_offset: None,
        regex_max_offset: None,
        tls_compliant: false,
    };
    let mut have_path = false;
    p.block_in(Block::Url, st, |p, s| match s.kw() {
        kw::PATH => {
            if let Some(v) = p.value(&s, "a URL path") {
                u.path = v;
                have_path = true;
            }
        }
        kw::DIGEST => {
            if let Some(d) = p.value(&s, "an MD5 digest (32 hex digits)") {
                if d.len() == 32 && d.chars().all(|c| c.is_ascii_hexdigit()) {
                    u.digest = Some(d.to_ascii_lowercase());
                } else {
                    p.bad_arg(
                        &s,
                        0,
                        format!("'digest' expects 32 hex digits (an MD5 sum), found '{d}'"),
                    );
                }
            }
        }
        kw::STATUS_CODE => {
            for (i, t) in s.args.iter().enumerate() {
                let (lo, hi) = match t.text.split_once('-') {
                    Some((a, b)) => (a.parse::<u16>().ok(), b.parse::<u16>().ok()),
                    None => (t.text.parse().ok(), t.text.parse().ok()),
                };
                match (lo, hi) {
                    (Some(lo), Some(hi))
                        if (100..=599).contains(&lo) && (100..=599).contains(&hi) && lo <= hi =>
                    {
                        u.status_codes.push((lo, hi))
                    }
                    _ => p.bad_arg(
                        &s,
                        i,
                        format!(
                            "'status_code' expects codes or ranges within 100-599, found '{}'",
                            t.text
                        ),
                    ),
                }
            }
            if s.args.is_empty() {
                p.bad_arg(&s, 0, "'status_code' needs at least one code".into());
            }
        }
        kw::VIRTUALHOST => u.virtualhost = p.value(&s, "a host name"),
        kw::REGEX => u.regex = p.value(&s, "a regular expression"),
        kw::REGEX_NO_MATCH => u.regex_no_match = p.flag(&s),
        kw::REGEX_OPTIONS => u.regex_options = s.args.iter().map(|t| t.text.to_string()).collect(),
        kw::REGEX_STACK => u.regex_stack = p.int_value(&s, 1, u32::MAX as i64),
        kw::REGEX_MIN_OFFSET => u.regex_min_offset = p.int_value(&s, 0, u32::MAX as i64),
        kw::REGEX_MAX_OFFSET => u.regex_max_offset = p.int_value(&s, 0, u32::MAX as i64),
        kw::TLS_COMPLIANT => u.tls_compliant = p.flag(&s),
        _ => p.unknown(&s, "url"),
    });
    if !have_path {
        p.error(
            st,
            st.kw.col,
            DiagClass::Semantic,
            "url block needs a 'path'".into(),
        );
        return None;
    }
    // No status_code means 200-299 (`url_check()`).
    if u.status_codes.is_empty() {
        u.status_codes.push((200, 299));
    }
    Some(u)
}

/// Hex bytes, `X`/`x` nibble pairs meaning "any byte" (`require_reply`).
fn hex_bytes(h: &str) -> Option<Vec<Option<u8>>> {
    let h = h.strip_prefix("0x").unwrap_or(h);
    if !h.len().is_multiple_of(2) {
        return None;
    }
    h.as_bytes()
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            if s.eq_ignore_ascii_case("xx") {
                Some(None)
            } else {
                u8::from_str_radix(s, 16).ok().map(Some)
            }
        })
        .collect()
}
