//! The keyword registry held against keepalived's own keyword lists and against the
//! parser: every keyword keepalived registers is known, every registry entry is parsed
//! where the registry says, one that is not carried out gets its `-t` warning, and
//! `docs/keywords.md` is the registry's current rendering.

use keepalived_engine::config::registry::{self, Block, Keyword, Runtime};
use keepalived_engine::config::{parse_str, DiagClass, Loaded, ParseOptions, Severity};
use std::collections::BTreeSet;

/// keepalived's keyword lists: every name its parsers pass to `install_keyword*()`
/// (2.2.7's sources and master's), one per line, `#` comments.
const KEEPALIVED_2_2_7: &str = include_str!("keywords/keepalived-keywords-2.2.7.txt");
const KEEPALIVED_MASTER: &str = include_str!("keywords/keepalived-keywords-master.txt");

/// Keywords keepalived registers that the registry (and so the parser) does not know:
/// `-t` reports them as unknown. Adding one to the registry means removing it here.
const MISSING_FROM_2_2_7: &[&str] = &[];
const MISSING_FROM_MASTER: &[&str] = &[];

fn reference(list: &str) -> Vec<&str> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

fn known_names() -> BTreeSet<&'static str> {
    registry::all().flat_map(|k| k.names()).collect()
}

fn missing(list: &str) -> Vec<&str> {
    let known = known_names();
    reference(list)
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect()
}

#[test]
fn every_keyword_keepalived_2_2_7_registers_is_in_the_registry() {
    assert!(reference(KEEPALIVED_2_2_7).len() > 300);
    assert_eq!(missing(KEEPALIVED_2_2_7), MISSING_FROM_2_2_7);
}

#[test]
fn every_keyword_keepalived_master_registers_is_in_the_registry() {
    assert!(reference(KEEPALIVED_MASTER).len() > 300);
    assert_eq!(missing(KEEPALIVED_MASTER), MISSING_FROM_MASTER);
}

#[test]
fn a_block_declares_each_name_once() {
    for b in Block::ALL {
        let mut seen = BTreeSet::new();
        for k in b.keywords() {
            assert_eq!(k.block, b, "{} is filed under {:?}", k.name, b);
            for n in k.names() {
                assert!(seen.insert(n), "{n} twice in {}", b.title());
            }
        }
    }
}

#[test]
fn every_reason_is_written_out() {
    for k in registry::all() {
        match k.runtime {
            Runtime::Partial(w) | Runtime::Ignored(w) | Runtime::Refused(w) => {
                assert!(w.len() > 10, "{}: reason '{w}' says nothing", k.name)
            }
            Runtime::Carried => {}
        }
    }
}

/// Configs that put `{KW}` in the block, one per way of reaching it.
fn contexts(block: Block) -> &'static [&'static str] {
    match block {
        Block::Root => &["{KW}\n"],
        Block::GlobalDefs => &["global_defs {\n{KW}\n}\n"],
        Block::VrrpInstance => &["vrrp_instance VI {\n{KW}\n}\n"],
        Block::Authentication => &["vrrp_instance VI {\nauthentication {\n{KW}\n}\n}\n"],
        Block::AuthHmac => &["vrrp_instance VI {\nauth_hmac {\n{KW}\n}\n}\n"],
        Block::VrrpSyncGroup => &["vrrp_sync_group G {\n{KW}\n}\n"],
        Block::VrrpScript => &["vrrp_script S {\n{KW}\n}\n"],
        Block::TrackFile => &[
            "vrrp_track_file F {\n{KW}\n}\n",
            "track_file F {\n{KW}\n}\n",
        ],
        Block::TrackProcess => &["vrrp_track_process P {\n{KW}\n}\n"],
        Block::GarpGroup => &["garp_group {\n{KW}\n}\n"],
        Block::BfdInstance => &["bfd_instance B {\n{KW}\n}\n"],
        Block::TrackGroup => &["track_group T {\n{KW}\n}\n"],
        Block::Ssl => &["SSL {\n{KW}\n}\n"],
        Block::VirtualServerGroup => &["virtual_server_group G {\n{KW} 1\n}\n"],
        Block::VirtualServer => &[concat!("virtual_server 10.0.0.1 80 {\n", "{KW}\n}\n")],
        Block::RealServer => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\n{KW}\n}\n}\n"
        )],
        Block::Schedule => &[
            concat!("virtual_server 10.0.0.1 80 {\n", "{KW}\n}\n"),
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\n{KW}\n}\n}\n"
            ),
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nTCP_CHECK {\n{KW}\n}\n}\n}\n"
            ),
        ],
        Block::Checker => &[
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nTCP_CHECK {\n{KW}\n}\n}\n}\n"
            ),
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nMISC_CHECK {\n{KW}\n}\n}\n}\n"
            ),
        ],
        Block::Connection => &[
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nTCP_CHECK {\n{KW}\n}\n}\n}\n"
            ),
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nSMTP_CHECK {\nhost {\n{KW}\n}\n}\n}\n}\n"
            ),
        ],
        Block::HttpGet => &[
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nHTTP_GET {\n{KW}\n}\n}\n}\n"
            ),
            concat!(
                "virtual_server 10.0.0.1 80 {\n",
                "real_server 10.0.0.2 80 {\nSSL_GET {\n{KW}\n}\n}\n}\n"
            ),
        ],
        Block::Url => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nHTTP_GET {\nurl {\n{KW}\n}\n}\n}\n}\n"
        )],
        Block::SmtpCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nSMTP_CHECK {\n{KW}\n}\n}\n}\n"
        )],
        Block::DnsCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nDNS_CHECK {\n{KW}\n}\n}\n}\n"
        )],
        Block::MiscCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nMISC_CHECK {\n{KW}\n}\n}\n}\n"
        )],
        Block::UdpCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nUDP_CHECK {\n{KW}\n}\n}\n}\n"
        )],
        Block::FileCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nFILE_CHECK {\n{KW}\n}\n}\n}\n"
        )],
        Block::BfdCheck => &[concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "real_server 10.0.0.2 80 {\nBFD_CHECK {\n{KW}\n}\n}\n}\n"
        )],
    }
}

fn parse_in(context: &str, name: &str) -> Loaded {
    parse_str(&context.replace("{KW}", name), &ParseOptions::default())
}

fn messages(l: &Loaded) -> String {
    l.diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the block opening `k`'s block is itself without effect (and warned about).
fn opener_ignored(k: &Keyword) -> bool {
    k.block
        .opener()
        .is_some_and(|o| matches!(o.runtime, Runtime::Ignored(_)))
}

#[test]
fn every_registry_entry_is_parsed_in_its_block_with_its_warning() {
    let mut checked = 0;
    for k in registry::all() {
        for context in contexts(k.block) {
            for name in k.names() {
                let l = parse_in(context, name);
                let all = messages(&l);
                let quoted = format!("'{name}'");
                assert!(
                    !l.diagnostics.iter().any(
                        |d| d.class == DiagClass::UnknownKeyword && d.message.contains(&quoted)
                    ),
                    "{name} is unknown in {}:\n{all}",
                    k.block.title()
                );
                let warning = k.runtime_warning(name);
                let warned = |w: &str| l.diagnostics.iter().any(|d| d.message == w);
                match (k.runtime, warning) {
                    (Runtime::Carried, _) => assert!(
                        !all.contains(&format!("{quoted} has no effect"))
                            && !all.contains(&format!("{quoted} is only partly")),
                        "{name} is carried out but warned about:\n{all}"
                    ),
                    (Runtime::Refused(_), _) => assert!(
                        l.diagnostics
                            .iter()
                            .any(|d| d.severity == Severity::Error && d.message.contains(&quoted)),
                        "{name} in {} is not refused:\n{all}",
                        k.block.title()
                    ),
                    (_, Some(w)) if !opener_ignored(k) => {
                        assert!(warned(&w), "no warning '{w}':\n{all}")
                    }
                    (_, _) => {
                        let opener = k.block.opener().expect("an opener");
                        let w = opener.runtime_warning(opener.name).expect("a warning");
                        assert!(warned(&w), "{name}: no warning '{w}':\n{all}");
                        assert_eq!(
                            l.diagnostics
                                .iter()
                                .filter(|d| d.message.contains("has no effect"))
                                .count(),
                            1,
                            "{name}: one warning, for the block:\n{all}"
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn a_keyword_without_effect_is_warned_about_once_per_load() {
    let text = "global_defs {\n enable_dbus\n enable_dbus\n}\nglobal_defs {\n enable_dbus\n}\n";
    let l = parse_str(text, &ParseOptions::default());
    let warnings: Vec<_> = l
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("'enable_dbus' has no effect"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:#?}", l.diagnostics);
    let w = warnings[0];
    assert_eq!(w.severity, Severity::Warning);
    assert_eq!(
        w.location.as_ref().map(|l| (l.line, l.column)),
        Some((2, 2))
    );
    assert_eq!(
        w.message,
        "'enable_dbus' has no effect in keepalived-rs: DBus is not implemented"
    );
    assert_eq!(l.diagnostics.exit_code(), 0, "a warning, not an error");
}

#[test]
fn docs_keywords_md_is_the_registry_rendered() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/keywords.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == registry::markdown(),
        "docs/keywords.md is stale: run `cargo run -p keepalived-engine --example keywords > docs/keywords.md`"
    );
}
