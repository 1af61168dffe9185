//! The probe options that need root, in a network namespace of their own: `bind_if`
//! (SO_BINDTODEVICE) and `fwmark` (SO_MARK), each shown to change where the probe's
//! packets go.

use std::net::SocketAddr;

use keepalived_engine::check::probe::{Endpoint, ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_linux::checker::probe::{Prober, TlsSetup};
use keepalived_linux::host::script_user::ScriptUser;
use keepalived_tests::host::{can_run, in_netns, Netns};

fn tcp(target: SocketAddr, bind_if: Option<&str>, fwmark: Option<u32>) -> ProbeSpec {
    ProbeSpec {
        id: ProbeId(1),
        kind: ProbeKind::Tcp,
        endpoint: Some(Endpoint {
            target,
            bind: None,
            bind_port: None,
            bind_if: bind_if.map(str::to_string),
            fwmark,
        }),
        timeout_us: 1_000_000,
    }
}

#[test]
fn bind_if_and_fwmark_steer_the_probe() {
    if !can_run("bind_if_and_fwmark_steer_the_probe", &["ip"]) {
        return;
    }
    let ns = Netns::new("kpr");
    // Marked packets are refused by policy routing, before the local table is consulted.
    // The local table's rule moves behind it, or local traffic would never reach it.
    ns.ip(&["rule", "add", "fwmark", "7", "pref", "10", "prohibit"]);
    ns.ip(&["rule", "add", "pref", "100", "lookup", "local"]);
    ns.ip(&["rule", "del", "pref", "0", "lookup", "local"]);
    let outcomes = in_netns(&ns.name, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let target = l.local_addr().unwrap();
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    drop(s);
                }
            });
            let p = Prober::new(TlsSetup::default(), ScriptUser::default());
            let mut out = Vec::new();
            for spec in [
                tcp(target, None, None),
                tcp(target, Some("lo"), None),
                tcp(target, Some("nosuchif0"), None),
                tcp(target, None, Some(7)),
                tcp(target, None, Some(8)),
            ] {
                out.push(p.run(&spec).await);
            }
            out
        })
    });
    let up = |o: &ProbeOutcome| *o == ProbeOutcome::Up;
    assert!(up(&outcomes[0]), "plain: {:?}", outcomes[0]);
    assert!(up(&outcomes[1]), "bound to lo: {:?}", outcomes[1]);
    assert!(
        matches!(&outcomes[2], ProbeOutcome::Down { reason } if reason.contains("nosuchif0")),
        "bound to a missing interface: {:?}",
        outcomes[2]
    );
    assert!(
        !up(&outcomes[3]),
        "fwmark 7 is prohibited by the rule: {:?}",
        outcomes[3]
    );
    assert!(up(&outcomes[4]), "another mark passes: {:?}", outcomes[4]);
}
