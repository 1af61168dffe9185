//! Which child processes the parent runs (keepalived's `running_vrrp()`,
//! `running_checker()` and `running_bfd()`, `keepalived/core/main.c`): a child runs when
//! the command line lets it (`-P` takes the checker out, `-C` the VRRP process, `-B` the
//! BFD process, `--all` puts all three back) and the configuration gives it something to
//! do, or when `--all` asks for every child whatever the configuration holds. `-P` and
//! `-C` leave the BFD process alone: keepalived's `-P` clears `DAEMON_CHECKERS` only, so
//! `-P` with a `bfd_instance` runs the VRRP and BFD processes. The parent asks at start
//! and again at each reload, so a reload that adds the first `virtual_server` starts the
//! checker, and one that removes the last stops it; the same goes for the VRRP process
//! and its instances, and the BFD process and its `bfd_instance`s.

use std::ffi::OsString;

use keepalived_engine::config::model::Config;

use crate::cli::Options;
use crate::host::process::Process;

/// What the command line says about the children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The VRRP process may run (keepalived's `DAEMON_VRRP` bit): not `-C`.
    pub vrrp: bool,
    /// The checker process may run (`DAEMON_CHECKERS`): not `-P`.
    pub checker: bool,
    /// The BFD process may run (`DAEMON_BFD`): not `-B`.
    pub bfd: bool,
    /// `--all` (`RUN_ALL_CHILDREN`): each child that may run does, with work or without.
    pub all: bool,
}

/// What a configuration gives each child to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Work {
    /// keepalived's `have_vrrp_config`: a `vrrp_instance`, or static addresses, routes or
    /// rules, which the VRRP process sets up (`vrrp_handler()`,
    /// `static_addresses_handler()` and the like set it). keepalived counts an empty
    /// `static_ipaddress {}` block too; the model keeps no trace of one, so it is no work
    /// here.
    pub vrrp: bool,
    /// `have_checker_config`: a `virtual_server` (`vs_handler()`).
    pub checker: bool,
    /// `have_bfd_config`: a `bfd_instance` (`bfd_handler()`).
    pub bfd: bool,
}

impl Work {
    pub fn of(config: &Config) -> Work {
        Work {
            vrrp: !config.instances.is_empty()
                || !config.static_ipaddress.is_empty()
                || !config.static_routes.is_empty()
                || !config.static_rules.is_empty(),
            checker: !config.virtual_servers.is_empty(),
            bfd: !config.bfd_instances.is_empty(),
        }
    }
}

impl Roles {
    pub fn from_options(o: &Options) -> Roles {
        Roles {
            vrrp: !o.no_vrrp,
            checker: !o.no_checker,
            bfd: !o.no_bfd,
            all: o.run_all,
        }
    }

    /// The roles of the command line the parent was given (without argv[0]), read by the
    /// parser that read it at start ([`crate::cli::parse`]), so the two never disagree. A
    /// line that parser refuses never starts a parent; were it to, each child may run.
    pub fn from_args(args: &[OsString]) -> Roles {
        let line = std::iter::once(OsString::from("keepalived-rs")).chain(args.iter().cloned());
        match crate::cli::parse(line) {
            Ok(o) => Roles::from_options(&o),
            Err(_) => Roles {
                vrrp: true,
                checker: true,
                bfd: true,
                all: false,
            },
        }
    }

    /// Whether `role` runs for a configuration with `work`.
    pub fn runs(&self, role: Process, work: Work) -> bool {
        match role {
            Process::Vrrp => self.vrrp && (work.vrrp || self.all),
            Process::Checker => self.checker && (work.checker || self.all),
            Process::Bfd => self.bfd && (work.bfd || self.all),
            Process::Parent => false,
        }
    }

    /// The children that run for a configuration with `work`, in the order they start.
    /// The BFD process is last, as in keepalived's `start_keepalived()`, and it is last
    /// to be sent SIGTERM too (`children_term[]`, all at once).
    pub fn children(&self, work: Work) -> Vec<Process> {
        [Process::Vrrp, Process::Checker, Process::Bfd]
            .into_iter()
            .filter(|r| self.runs(*r, work))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    fn roles(line: &str) -> Roles {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        Roles::from_args(&args)
    }

    fn work(text: &str) -> Work {
        Work::of(&parse_str(text, &ParseOptions::default()).config)
    }

    const VS: &str =
        "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n  TCP_CHECK {\n  }\n }\n}\n";
    const VI: &str =
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n priority 100\n}\n";
    const BFD: &str = "bfd_instance b1 {\n neighbor_ip 10.0.0.2\n}\n";

    #[test]
    fn the_configuration_says_which_children_have_work() {
        assert_eq!(work(""), Work::default());
        assert_eq!(
            work(VS),
            Work {
                checker: true,
                ..Work::default()
            }
        );
        assert_eq!(
            work(VI),
            Work {
                vrrp: true,
                ..Work::default()
            }
        );
        assert_eq!(
            work(BFD),
            Work {
                bfd: true,
                ..Work::default()
            }
        );
        assert!(work("static_ipaddress {\n 10.1.1.1/24 dev eth0\n}\n").vrrp);
        // A vrrp_script alone is nothing for the VRRP process to run.
        assert!(!work("vrrp_script chk {\n script /bin/true\n}\n").vrrp);
    }

    #[test]
    fn a_child_runs_when_the_command_line_allows_it_and_it_has_work_or_all_is_given() {
        let both = Work {
            vrrp: true,
            checker: true,
            bfd: false,
        };
        let vrrp_only = Work {
            vrrp: true,
            ..Work::default()
        };
        let none = Work::default();
        use Process::{Checker, Vrrp};
        assert_eq!(roles("-n").children(both), [Vrrp, Checker]);
        assert_eq!(roles("-n").children(vrrp_only), [Vrrp]);
        assert!(roles("-n").children(none).is_empty());
        assert_eq!(roles("-P").children(both), [Vrrp]);
        assert_eq!(roles("-C").children(both), [Checker]);
        // keepalived's -C without virtual servers runs nothing.
        assert!(roles("-C").children(vrrp_only).is_empty());
        assert_eq!(roles("--all -B").children(none), [Vrrp, Checker]);
        assert_eq!(roles("--all -P -B").children(none), [Vrrp]);
        assert_eq!(roles("-P --all -B").children(none), [Vrrp, Checker]);
        assert!(roles("-P -C").children(both).is_empty());
    }

    #[test]
    fn the_bfd_child_runs_for_a_bfd_instance_unless_b_and_p_or_c_leave_it_alone() {
        use Process::{Bfd, Checker, Vrrp};
        let bfd_only = Work {
            bfd: true,
            ..Work::default()
        };
        let all_work = Work {
            vrrp: true,
            checker: true,
            bfd: true,
        };
        // A configuration of bfd_instances alone starts the BFD child alone.
        assert_eq!(roles("-n").children(bfd_only), [Bfd]);
        assert_eq!(roles("-n").children(all_work), [Vrrp, Checker, Bfd]);
        assert!(roles("-B").children(bfd_only).is_empty());
        assert_eq!(roles("-B").children(all_work), [Vrrp, Checker]);
        // keepalived's -P clears DAEMON_CHECKERS and -C DAEMON_VRRP; neither touches
        // DAEMON_BFD.
        assert_eq!(roles("-P").children(all_work), [Vrrp, Bfd]);
        assert_eq!(roles("-C").children(all_work), [Checker, Bfd]);
        assert_eq!(roles("-P -C").children(bfd_only), [Bfd]);
        // --all: every child, with work or without; -B after it takes BFD out again.
        assert_eq!(
            roles("--all").children(Work::default()),
            [Vrrp, Checker, Bfd]
        );
        assert_eq!(
            roles("-B --all").children(Work::default()),
            [Vrrp, Checker, Bfd]
        );
        assert_eq!(roles("--all -B").children(Work::default()), [Vrrp, Checker]);
        assert!(!roles("-n").runs(Bfd, Work::default()));
        assert!(!roles("-n").runs(Process::Parent, all_work));
    }
}
