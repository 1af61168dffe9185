//! The manual pages and the shell completion that packages install, generated from the
//! two sources of truth so they cannot drift: the command line's option table
//! ([`crate::cli::USAGE`]) for `keepalived-rs(8)` and the completion, and the keyword
//! registry for `keepalived.conf(5)`. `cargo run -p keepalived-linux --example manual --
//! DIR` writes them; `packaging/build-deb.sh` puts them in the Debian package.

use std::fmt::Write as _;

use keepalived_engine::config::registry::{Block, DefaultValue, Runtime};

use crate::cli::USAGE;
use crate::host::signals;
use crate::version;

/// Text made safe for roff: backslashes and hyphens escaped, characters beyond ASCII as
/// `\[uXXXX]`, and a line that would begin with `.` or `'` (a request) escaped.
fn roff(text: &str) -> String {
    text.lines()
        .map(|l| {
            let l: String = l
                .chars()
                .map(|c| match c {
                    '\\' => "\\e".to_string(),
                    '-' => "\\-".to_string(),
                    c if !c.is_ascii() => format!("\\[u{:04X}]", c as u32),
                    c => c.to_string(),
                })
                .collect();
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `keepalived-rs(8)`.
pub fn daemon_page() -> String {
    let mut p = String::new();
    let _ = writeln!(
        p,
        ".TH KEEPALIVED-RS 8 \"\" \"keepalived-rs {}\" \"System Administration\"",
        env!("CARGO_PKG_VERSION")
    );
    p.push_str(".SH NAME\nkeepalived\\-rs \\- keepalived\\-compatible VRRP and LVS health\\-checking daemon\n");
    p.push_str(".SH SYNOPSIS\n.B keepalived\\-rs\n[\\fIOPTION\\fR...]\n");
    let _ = writeln!(
        p,
        ".SH DESCRIPTION\n{}\n.PP\nIt reads the same configuration as keepalived (see \
         \\fBkeepalived.conf\\fR(5)), takes the same options and signals, runs the same notify \
         scripts and writes the same files, and interoperates on the wire with keepalived \
         itself. The parent process starts a VRRP child and, when there are virtual servers \
         to check, a health\\-checker child, and restarts them if they die.",
        roff(&version::title())
    );
    p.push_str(".SH OPTIONS\n.nf\n");
    p.push_str(&roff(
        USAGE.split_once('\n').map_or(USAGE, |(_, rest)| rest),
    ));
    p.push_str("\n.fi\n");
    p.push_str(".SH SIGNALS\nSent to the parent, which passes them on.\n.TP\n.B SIGHUP\nReload the configuration (\\fB\\-\\-signum=RELOAD\\fR).\n.TP\n.B SIGTERM\nStop, releasing virtual addresses (\\fB\\-\\-signum=STOP\\fR).\n.TP\n.B SIGUSR1\nWrite the state to \\fI$TMPDIR/keepalived.data\\fR (\\fB\\-\\-signum=DATA\\fR).\n.TP\n.B SIGUSR2\nWrite the VRRP statistics to \\fI$TMPDIR/keepalived.stats\\fR (\\fB\\-\\-signum=STATS\\fR).\n");
    let _ = writeln!(
        p,
        ".TP\n.B SIGRTMAX\\-1 ({})\nWrite the VRRP statistics, then zero them (\\fB\\-\\-signum=STATS_CLEAR\\fR).\n.TP\n.B SIGRTMIN+2 ({})\nWrite the state as JSON to \\fI$TMPDIR/keepalived.json\\fR (\\fB\\-\\-signum=JSON\\fR).\n.PP\nEvery other signal that would end or stop a process is ignored.",
        signals::sigstats_clear(),
        signals::sigjson()
    );
    p.push_str(".SH FILES\n.TP\n.I /etc/keepalived/keepalived.conf\nThe configuration.\n.TP\n.I /etc/default/keepalived\\-rs\nOptions for the systemd unit (\\fBDAEMON_ARGS\\fR).\n.TP\n.I /run/keepalived.pid\nThe parent's pid; \\fI/run/vrrp.pid\\fR and \\fI/run/checkers.pid\\fR the children's.\n");
    p.push_str(".SH \"EXIT STATUS\"\n0 stopped normally; 1 a bad option; 4 a fatal error in the configuration; 5 configuration errors (\\fB\\-t\\fR); 6 insecure scripts (\\fB\\-t\\fR).\n");
    p.push_str(".SH \"SEE ALSO\"\n.BR keepalived.conf (5),\n.BR keepalived (8),\n.BR systemd.service (5)\n");
    p
}

/// `keepalived.conf(5)`: every keyword the registry knows, block by block, with its value,
/// default, other names, and what keepalived-rs does with it.
pub fn config_page() -> String {
    let mut p = String::new();
    let _ = writeln!(
        p,
        ".TH KEEPALIVED.CONF 5 \"\" \"keepalived-rs {}\" \"File Formats\"",
        env!("CARGO_PKG_VERSION")
    );
    p.push_str(".SH NAME\nkeepalived.conf \\- configuration of keepalived and keepalived\\-rs\n");
    p.push_str(".SH DESCRIPTION\nThe configuration keepalived reads, as keepalived\\-rs reads it: blocks of keywords in braces, \\fB#\\fR or \\fB!\\fR starting a comment, \\fBinclude\\fR, \\fB@\\fIid\\fR lines, \\fB$\\fINAME\\fR definitions and \\fB~SEQ\\fR expansion. \\fBkeepalived\\-rs \\-t\\fR checks a file and names each problem with its line and column.\n.PP\nEach keyword below is marked: \\fIyes\\fR \\- carried out as keepalived does; \\fIpartly\\fR \\- what is not done is named; \\fIno\\fR \\- accepted without effect, with a warning from \\fB\\-t\\fR and at start; \\fIrefused\\fR \\- an error.\n");
    for block in Block::ALL {
        let keywords = block.keywords();
        if keywords.is_empty() {
            continue;
        }
        let _ = writeln!(p, ".SH \"{}\"", roff(&block.title().to_uppercase()));
        for k in keywords {
            let _ = writeln!(p, ".TP\n.B {}\n{}", roff(k.name), roff(k.value.text()));
            let mut notes = Vec::new();
            match k.default {
                DefaultValue::Unset => {}
                DefaultValue::Literal(v) => notes.push(format!("Default: {v}.")),
                DefaultValue::Derived(how) => notes.push(format!("Default: {how}.")),
            }
            if !k.synonyms.is_empty() {
                notes.push(format!("Also written: {}.", k.synonyms.join(", ")));
            }
            if let Some(d) = k.deprecated {
                notes.push(format!("Deprecated: {d}."));
            }
            notes.push(match k.runtime {
                Runtime::Carried => "keepalived-rs: yes.".to_string(),
                Runtime::Partial(w) => format!("keepalived-rs: partly: {w}."),
                Runtime::Ignored(w) => format!("keepalived-rs: no: {w}."),
                Runtime::Refused(w) => format!("keepalived-rs: refused: {w}."),
            });
            let _ = writeln!(p, ".br\n{}", roff(&notes.join(" ")));
        }
    }
    p.push_str(".SH \"SEE ALSO\"\n.BR keepalived\\-rs (8)\n");
    p
}

/// The options of [`USAGE`]: each `-x` and `--name` it lists.
fn options() -> Vec<String> {
    let mut out = Vec::new();
    for line in USAGE.lines() {
        for word in line.split_whitespace() {
            let word = word.trim_end_matches(',');
            let name = word.split(['=', '[']).next().unwrap_or("");
            let short = name.len() == 2 && name.starts_with('-') && name != "--";
            let long = name.starts_with("--") && name.len() > 2;
            if (short || long) && !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// A bash completion for `keepalived-rs`: the options, files after those that take one,
/// and the `--signum` functions.
pub fn bash_completion() -> String {
    let script = r#"# bash completion for keepalived-rs, generated from its option table.
_keepalived_rs() {
    local cur prev eq=""
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    # bash splits --option=value at '=': the option is the word before it.
    if [ "$cur" = "=" ]; then
        cur=""; eq=1
    elif [ "$prev" = "=" ]; then
        prev="${COMP_WORDS[COMP_CWORD-2]}"; eq=1
    fi
    case "$prev" in
        -f|--use-file|-p|--pid|-r|--vrrp_pid|-c|--checkers_pid|--decode-pcap)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --signum)
            COMPREPLY=($(compgen -W "STOP RELOAD DATA STATS STATS_CLEAR JSON" -- "$cur")); return ;;
        --log-format)
            COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --log-file|--config-test)
            # Their file is given only after '='.
            if [ -n "$eq" ]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
    esac
    COMPREPLY=($(compgen -W "OPTIONS" -- "$cur"))
}
complete -F _keepalived_rs keepalived-rs
"#;
    script.replace("OPTIONS", &options().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_cover_every_option_and_keyword() {
        let page = daemon_page();
        for opt in options() {
            assert!(
                page.contains(&opt.replace('-', "\\-")),
                "{opt} missing from keepalived-rs(8)"
            );
        }
        let conf = config_page();
        for k in keepalived_engine::config::registry::all() {
            assert!(
                conf.contains(&format!(".B {}\n", roff(k.name))),
                "{} missing from keepalived.conf(5)",
                k.name
            );
        }
        // No line begins a request by accident.
        for line in page.lines().chain(conf.lines()) {
            assert!(!line.starts_with('\''), "{line}");
        }
    }

    #[test]
    fn the_completion_offers_keepalived_options() {
        let c = bash_completion();
        for o in [
            "--use-file",
            "-f",
            "--vrrp",
            "--signum",
            "--log-format",
            "--dont-fork",
        ] {
            assert!(
                c.contains(&format!(" {o} ")) || c.contains(&format!("\"{o} ")),
                "{o}: {c}"
            );
        }
    }
}
