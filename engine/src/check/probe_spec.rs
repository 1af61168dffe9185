//! What a checker asks the prober to do: the [`ProbeSpec`] of its next run, with the
//! target, bind options and timeout keepalived derives from the checker, real server and
//! virtual server (`check_tcp.c`, `check_http.c`, `check_smtp.c`, `check_dns.c`,
//! `check_misc.c`, `check_udp.c`, `check_ping.c`).

use std::net::SocketAddr;

use super::probe::{Endpoint, ProbeKind, ProbeSpec};
use super::runtime::Loc;
use super::{CheckEngine, SMTP_DEFAULT_HELO};
use crate::config::model::{CheckerKind, Command, Connection, RealServer};

fn endpoint(conn: &Connection, rs: &RealServer, default_port: u16) -> Endpoint {
    Endpoint {
        target: SocketAddr::new(
            conn.connect_ip.unwrap_or(rs.address),
            conn.connect_port
                .or(rs.port.filter(|p| *p != 0))
                .unwrap_or(default_port),
        ),
        bind: conn.bindto,
        bind_port: conn.bind_port,
        bind_if: conn.bind_if.clone(),
        fwmark: conn.fwmark,
    }
}

/// Connection options of an SMTP_CHECK `host{}` over the checker's own.
fn overlay(base: &Connection, over: &Connection) -> Connection {
    Connection {
        connect_ip: over.connect_ip.or(base.connect_ip),
        connect_port: over.connect_port.or(base.connect_port),
        bindto: over.bindto.or(base.bindto),
        bind_port: over.bind_port.or(base.bind_port),
        bind_if: over.bind_if.clone().or_else(|| base.bind_if.clone()),
        fwmark: over.fwmark.or(base.fwmark),
    }
}

impl CheckEngine {
    pub(super) fn probe_spec(&self, (vi, ri, ci): Loc) -> ProbeSpec {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        let c = &r.checkers[ci];
        let conn = &c.cfg.connection;
        let rs = &r.cfg;
        let sched = &c.cfg.schedule;
        let (kind, endpoint, timeout_us) = match &c.cfg.kind {
            CheckerKind::HttpGet(h) | CheckerKind::SslGet(h) => {
                let url = h.urls[c.url_idx.min(h.urls.len().saturating_sub(1))].clone();
                // check_http.c: Host is url > checker > real server > virtual server.
                let virtualhost = url
                    .virtualhost
                    .clone()
                    .or_else(|| h.virtualhost.clone())
                    .or_else(|| rs.virtualhost.clone())
                    .or_else(|| v.cfg.virtualhost.clone());
                let sni = if h.enable_sni {
                    h.sni_name.clone().or_else(|| virtualhost.clone())
                } else {
                    None
                };
                let tls = matches!(c.cfg.kind, CheckerKind::SslGet(_));
                (
                    ProbeKind::Http {
                        tls,
                        http_protocol: h.http_protocol.clone(),
                        virtualhost,
                        sni,
                        url,
                    },
                    Some(endpoint(conn, rs, if tls { 443 } else { 80 })),
                    sched.connect_timeout_us,
                )
            }
            CheckerKind::SmtpCheck { helo_name, hosts } => {
                let conn = match hosts.first() {
                    Some(h) => overlay(conn, h),
                    None => conn.clone(),
                };
                (
                    ProbeKind::Smtp {
                        helo_name: helo_name
                            .clone()
                            .unwrap_or_else(|| SMTP_DEFAULT_HELO.to_string()),
                    },
                    Some(endpoint(&conn, rs, 25)),
                    sched.connect_timeout_us,
                )
            }
            CheckerKind::DnsCheck { query_type, name } => (
                ProbeKind::Dns {
                    query_type: query_type.clone(),
                    name: name.clone(),
                },
                Some(endpoint(conn, rs, 53)),
                sched.connect_timeout_us,
            ),
            CheckerKind::MiscCheck(m) => {
                let mut command = m.misc_path.clone().unwrap_or(Command {
                    argv: vec![],
                    user: None,
                    group: None,
                });
                if m.user.is_some() {
                    command.user = m.user.clone();
                    command.group = m.group.clone();
                }
                (
                    ProbeKind::Misc { command },
                    None,
                    m.misc_timeout_us.unwrap_or(v.cfg.schedule.delay_loop_us),
                )
            }
            CheckerKind::UdpCheck(u) => (
                ProbeKind::Udp {
                    payload: u.payload.clone(),
                    require_reply: u.require_reply.clone(),
                    min_reply_length: u.min_reply_length,
                    max_reply_length: u.max_reply_length,
                },
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
            CheckerKind::PingCheck => (
                ProbeKind::Ping,
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
            // TCP_CHECK, and (never reached: they do not probe) FILE_CHECK / BFD_CHECK.
            _ => (
                ProbeKind::Tcp,
                Some(endpoint(conn, rs, 0)),
                sched.connect_timeout_us,
            ),
        };
        ProbeSpec {
            id: c.id,
            kind,
            endpoint,
            timeout_us,
        }
    }
}
