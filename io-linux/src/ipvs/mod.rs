//! The kernel's IPVS over generic netlink: framing ([`nl`]), the IPVS messages
//! ([`wire`]), the socket ([`client`]), the reconciler that makes the kernel hold what the
//! checker engine wants ([`table`]), and the connection-sync daemons ([`syncd`]).

pub(crate) mod client;
pub mod nl;
pub mod stats;
pub(crate) mod syncd;
pub(crate) mod table;
pub mod wire;

pub(crate) use client::IpvsError;
pub(crate) use syncd::SyncDaemons;
pub(crate) use table::{IpvsTable, StopMode};

#[cfg(test)]
mod tests {
    use super::nl::{messages, Attrs, Builder};
    use super::wire::*;

    /// Whatever bytes the kernel (or anything posing as it) sends, parsing gives values or
    /// errors, never a panic: every prefix and thousands of corruptions of real replies.
    #[test]
    fn corrupted_replies_never_panic() {
        let mut samples = Vec::new();
        let mut b = Builder::new(0x20, 0x2, 1, cmd::GET_SERVICE, 1);
        ServiceRepr {
            id: ServiceId {
                af: AF_INET6,
                target: Target::Addr {
                    protocol: 6,
                    addr: "2001:db8::1".parse().unwrap(),
                    port: 80,
                },
            },
            spec: ServiceSpec {
                sched: "wrr".into(),
                flags: 1,
                timeout: 60,
                netmask: 64,
                pe: Some("sip".into()),
            },
        }
        .emit(&mut b);
        samples.push(b.finish());
        let mut b = Builder::new(0x20, 0x2, 1, cmd::GET_DEST, 1);
        DestRepr::emit(
            &DestId {
                addr: "10.0.0.1".parse().unwrap(),
                port: 80,
            },
            &DestSpec {
                fwd: fwd::TUNNEL,
                weight: 1,
                u_thresh: 0,
                l_thresh: 0,
                tun_type: 1,
                tun_port: 6080,
                tun_flags: 1,
            },
            &mut b,
        );
        samples.push(b.finish());
        let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let parse_all = |buf: &[u8]| {
            for m in messages(buf).flatten() {
                let _ = m.error();
                if let Ok((_, attrs)) = m.genl() {
                    for (k, v) in attrs.clone().flatten() {
                        let _ = ServiceRepr::parse(v);
                        let _ = DestRepr::parse(v, AF_INET);
                        let _ = DestRepr::parse(v, AF_INET6);
                        let _ = DaemonRepr::parse(v);
                        let _ = k;
                    }
                    let _ = Timeouts::parse(attrs.clone());
                    let _ = parse_info(attrs);
                }
            }
        };
        for s in &samples {
            for cut in 0..=s.len() {
                parse_all(&s[..cut]);
            }
            for _ in 0..5000 {
                let mut m = s.clone();
                for _ in 0..(1 + next() % 4) {
                    let i = (next() as usize) % m.len();
                    m[i] = next() as u8;
                }
                parse_all(&m);
                let _ = Attrs::new(&m).count();
            }
        }
    }
}
