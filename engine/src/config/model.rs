//! The typed configuration, with keepalived's defaults. Timers are microseconds
//! (keepalived's `TIMER_HZ`), named `*_us`. Every type is serde so a config can be dumped
//! as JSON (`-t --json`) and handed to the engine as `Input::Reload`.
//!
//! Values that an instance or checker inherits from an outer block are resolved by
//! `config::complete`: after parsing, every field holds the value in force.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

pub const SECOND: u64 = 1_000_000;

/// Keywords given explicitly in a block, so `config::complete` can tell a value the user
/// wrote from a default it may replace with an inherited one. One bit per [`Given`]: every
/// real server and checker carries a set, and 40,000 of them must not each cost an
/// allocation.
///
/// It travels with the configuration to the children (a number, left out when empty), as
/// what they do can depend on it (an instance's own `notify_priority_changes` over its
/// group's, the dumps' lines for values written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Explicit(u64);

/// The keywords an [`Explicit`] set records, named after the keyword (for a pair such as
/// `nopreempt`/`preempt`, the one the field is named after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Given {
    Accept,
    AdvertInt,
    Alpha,
    CheckUnicastSrc,
    ConnectTimeout,
    DelayBeforeRetry,
    DelayLoop,
    DownTimerAdverts,
    GarpLowerPrioDelay,
    GarpLowerPrioRepeat,
    GarpMasterDelay,
    GarpMasterRefresh,
    GarpMasterRefreshRepeat,
    GarpMasterRepeat,
    HigherPrioSendAdvert,
    InhibitOnFailure,
    LowerPrioNoAdvert,
    LvsMethod,
    Nopreempt,
    NotifyPriorityChanges,
    OwnerIgnoreAdverts,
    PreemptDelay,
    Priority,
    Protocol,
    Retry,
    SkipCheckAdvAddr,
    SmtpAlert,
    State,
    StrictMode,
    Timeout,
    /// Any of the keywords that ask for unicast (`unicast_peer`, `unicast_src_ip`,
    /// `check_unicast_src`, `old_unicast_checksum`, `unicast_fault_no_peer`).
    UnicastConfigured,
    V3ChecksumAsV2,
    Version,
    VirtualRouterId,
    Warmup,
    Weight,
}

// Every variant has a bit of the u64.
const _: () = assert!((Given::Weight as u32) < u64::BITS);

impl Explicit {
    #[inline]
    pub fn set(&mut self, kw: Given) {
        self.0 |= 1 << kw as u32;
    }
    #[inline]
    pub fn has(&self, kw: Given) -> bool {
        self.0 & (1 << kw as u32) != 0
    }
    /// No keyword given.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The keywords either set holds.
    pub fn union(self, other: Explicit) -> Explicit {
        Explicit(self.0 | other.0)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub root: RootOptions,
    pub global: GlobalDefs,
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    pub interface_up_down_delays: Vec<InterfaceDelay>,
    pub track_groups: Vec<TrackGroup>,
    pub static_ipaddress: Vec<IpAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    pub vrrp_scripts: Vec<VrrpScript>,
    pub track_files: Vec<TrackFile>,
    pub track_processes: Vec<TrackProcess>,
    pub garp_groups: Vec<GarpGroup>,
    pub sync_groups: Vec<SyncGroup>,
    pub instances: Vec<VrrpInstance>,
    pub bfd_instances: Vec<BfdInstance>,
    /// Every `bfd_instance` as the VRRP and checker processes know it, in order: those in
    /// `bfd_instances` and those the BFD process refuses to run.
    #[serde(default)]
    pub tracked_bfds: Vec<TrackedBfd>,
    pub ssl: Option<SslConfig>,
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    pub virtual_servers: Vec<VirtualServer>,
}

/// Root-level process keywords (`init_global_keywords()`): not inside global_defs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootOptions {
    pub net_namespace: Option<String>,
    pub net_namespace_ipvs: Option<String>,
    pub namespace_with_ipsets: bool,
    pub use_pid_dir: bool,
    pub instance: Option<String>,
    pub child_wait_time_s: u32,
    pub linkbeat_use_polling: bool,
}

impl Default for RootOptions {
    fn default() -> Self {
        Self {
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            use_pid_dir: false,
            instance: None,
            child_wait_time_s: 5,
            linkbeat_use_polling: false,
        }
    }
}

/// A command to run: notify scripts, vrrp_script, quorum_up… keepalived splits the
/// configured string into argv itself and runs it without a shell when it can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
    // Email / SMTP
    pub notification_email: Vec<String>,
    pub notification_email_from: Option<String>,
    pub smtp_server: Option<SmtpServer>,
    pub smtp_helo_name: Option<String>,
    pub smtp_connect_timeout_us: u64,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    pub no_email_faults: bool,
    pub no_checker_emails: bool,
    // Scripts
    pub script_user: Option<String>,
    pub script_group: Option<String>,
    pub enable_script_security: bool,
    pub use_symlink_paths: bool,
    pub set_supplementary_groups: bool,
    pub startup_script: Option<Command>,
    pub startup_script_timeout_s: u32,
    pub shutdown_script: Option<Command>,
    pub shutdown_script_timeout_s: u32,
    // FIFOs
    pub notify_fifo: Option<Fifo>,
    pub vrrp_notify_fifo: Option<Fifo>,
    pub lvs_notify_fifo: Option<Fifo>,
    pub fifo_write_vrrp_states_on_reload: bool,
    pub vrrp_notify_priority_changes: bool,
    // VRRP defaults
    pub vrrp_version: u8,
    pub vrrp_mcast_group4: IpAddr,
    pub vrrp_mcast_group6: IpAddr,
    pub vrrp_check_unicast_src: bool,
    pub vrrp_skip_check_adv_addr: bool,
    pub vrrp_strict: bool,
    pub vrrp_lower_prio_no_advert: bool,
    pub vrrp_higher_prio_send_advert: bool,
    pub vrrp_down_timer_adverts: u32,
    pub vrrp_owner_ignore_adverts: bool,
    pub v3_checksum_as_v2: bool,
    pub default_interface: Option<String>,
    pub log_unknown_vrids: bool,
    pub vrrp_startup_delay_us: u64,
    pub vrrp_delay_after_boot_us: u64,
    pub dynamic_interfaces: bool,
    pub dynamic_interfaces_allow_if_changes: bool,
    // GARP / NA
    pub vrrp_garp_master_delay_us: u64,
    pub vrrp_garp_master_repeat: u32,
    pub vrrp_garp_master_refresh_us: u64,
    pub vrrp_garp_master_refresh_repeat: u32,
    pub vrrp_garp_lower_prio_delay_us: Option<u64>,
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    pub vrrp_garp_interval_us: u64,
    pub vrrp_gna_interval_us: u64,
    pub vrrp_min_garp: bool,
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    // Firewall
    pub vrrp_iptables: Option<Vec<String>>,
    pub vrrp_ipsets: Option<Vec<String>>,
    pub nftables: Option<String>,
    pub nftables_priority: Option<i32>,
    pub nftables_counters: bool,
    pub nftables_ifindex: bool,
    /// `nftables_ipvs [TABLE]`: the table the checker's fwmark maps go in
    /// (`keepalived_ipvs` when not named).
    pub nftables_ipvs: Option<String>,
    /// `nftables_ipvs_priority`; None is the -1 `nftables_ipvs` sets.
    pub nftables_ipvs_priority: Option<i32>,
    pub nftables_ipvs_start_fwmark: u32,
    pub disable_local_igmp: bool,
    pub vmac_prefix: String,
    pub vmac_addr_prefix: Option<String>,
    // Process tuning
    pub vrrp_priority: Option<i32>,
    pub checker_priority: Option<i32>,
    pub bfd_priority: Option<i32>,
    pub vrrp_no_swap: bool,
    pub checker_no_swap: bool,
    pub bfd_no_swap: bool,
    pub vrrp_rt_priority: Option<u32>,
    pub checker_rt_priority: Option<u32>,
    pub bfd_rt_priority: Option<u32>,
    pub vrrp_rlimit_rttime_us: u64,
    pub checker_rlimit_rttime_us: u64,
    pub bfd_rlimit_rttime_us: u64,
    pub vrrp_cpu_affinity: Vec<u32>,
    pub checker_cpu_affinity: Vec<u32>,
    pub bfd_cpu_affinity: Vec<u32>,
    pub max_auto_priority: Option<i32>,
    pub min_auto_priority_delay_us: Option<u64>,
    pub process_names: bool,
    pub process_name: Option<String>,
    pub vrrp_process_name: Option<String>,
    pub checker_process_name: Option<String>,
    pub bfd_process_name: Option<String>,
    pub umask: Option<u32>,
    // Netlink buffers
    pub netlink_buffers: Vec<NetlinkBuffer>,
    pub vrrp_rx_bufs_policy: Option<String>,
    pub vrrp_rx_bufs_multiplier: u32,
    // LVS
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    pub lvs_timeouts: LvsTimeouts,
    pub lvs_flush: bool,
    pub lvs_flush_on_stop: Option<LvsFlushOnStop>,
    pub rs_init_notifies: bool,
    pub checker_log_all_failures: bool,
    // SNMP / DBus
    pub snmp_socket: Option<String>,
    pub enable_snmp_vrrp: bool,
    pub enable_snmp_checker: bool,
    pub enable_snmp_rfc: bool,
    pub enable_snmp_rfcv2: bool,
    pub enable_snmp_rfcv3: bool,
    pub enable_traps: bool,
    pub snmp_vs_stats_update_interval_us: Option<u64>,
    pub snmp_rs_stats_update_interval_us: Option<u64>,
    pub enable_dbus: bool,
    pub dbus_service_name: Option<String>,
    pub dbus_no_interface_name: bool,
    // Reload / config management
    pub reload_check_config: Option<Option<String>>,
    pub reload_time_file: Option<String>,
    pub reload_repeat: bool,
    pub reload_file: Option<String>,
    pub include_check: Option<String>,
    pub config_save_dir: Option<String>,
    pub tmp_config_directory: Option<String>,
    pub random_seed: Option<u64>,
    // Dump files
    pub data_use_instance: bool,
    pub state_dump_file: Option<String>,
    pub stats_dump_file: Option<String>,
    pub json_dump_file: Option<String>,
    pub json_version: u8,
    pub iproute_usr_dir: Option<String>,
    pub iproute_etc_dir: Option<String>,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        Self {
            router_id: None,
            notification_email: Vec::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            smtp_connect_timeout_us: 30 * SECOND,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            no_checker_emails: false,
            script_user: None,
            script_group: None,
            enable_script_security: false,
            use_symlink_paths: false,
            set_supplementary_groups: false,
            startup_script: None,
            startup_script_timeout_s: 10,
            shutdown_script: None,
            shutdown_script_timeout_s: 10,
            notify_fifo: None,
            vrrp_notify_fifo: None,
            lvs_notify_fifo: None,
            fifo_write_vrrp_states_on_reload: false,
            vrrp_notify_priority_changes: false,
            vrrp_version: 2,
            vrrp_mcast_group4: IpAddr::from([224, 0, 0, 18]),
            vrrp_mcast_group6: IpAddr::from([0xff02, 0, 0, 0, 0, 0, 0, 0x12]),
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_down_timer_adverts: 3,
            vrrp_owner_ignore_adverts: false,
            v3_checksum_as_v2: false,
            // `get_default_if()` uses eth0 when none is configured.
            default_interface: Some("eth0".into()),
            log_unknown_vrids: false,
            vrrp_startup_delay_us: 0,
            vrrp_delay_after_boot_us: 0,
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            vrrp_garp_master_delay_us: 5 * SECOND,
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh_us: 0,
            vrrp_garp_master_refresh_repeat: 1,
            vrrp_garp_lower_prio_delay_us: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_garp_interval_us: 0,
            vrrp_gna_interval_us: 0,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: None,
            vrrp_iptables: None,
            vrrp_ipsets: None,
            nftables: None,
            nftables_priority: None,
            nftables_counters: false,
            nftables_ifindex: false,
            nftables_ipvs: None,
            nftables_ipvs_priority: None,
            nftables_ipvs_start_fwmark: 1000,
            disable_local_igmp: false,
            vmac_prefix: "vrrp".into(),
            vmac_addr_prefix: None,
            vrrp_priority: None,
            checker_priority: None,
            bfd_priority: None,
            vrrp_no_swap: false,
            checker_no_swap: false,
            bfd_no_swap: false,
            vrrp_rt_priority: None,
            checker_rt_priority: None,
            bfd_rt_priority: None,
            vrrp_rlimit_rttime_us: 10_000,
            checker_rlimit_rttime_us: 10_000,
            bfd_rlimit_rttime_us: 10_000,
            vrrp_cpu_affinity: Vec::new(),
            checker_cpu_affinity: Vec::new(),
            bfd_cpu_affinity: Vec::new(),
            max_auto_priority: None,
            min_auto_priority_delay_us: None,
            process_names: false,
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            umask: None,
            netlink_buffers: Vec::new(),
            vrrp_rx_bufs_policy: None,
            vrrp_rx_bufs_multiplier: 3,
            lvs_sync_daemon: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: None,
            rs_init_notifies: false,
            checker_log_all_failures: false,
            snmp_socket: None,
            enable_snmp_vrrp: false,
            enable_snmp_checker: false,
            enable_snmp_rfc: false,
            enable_snmp_rfcv2: false,
            enable_snmp_rfcv3: false,
            enable_traps: false,
            snmp_vs_stats_update_interval_us: None,
            snmp_rs_stats_update_interval_us: None,
            enable_dbus: false,
            dbus_service_name: None,
            dbus_no_interface_name: false,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            include_check: None,
            config_save_dir: None,
            tmp_config_directory: None,
            random_seed: None,
            data_use_instance: false,
            state_dump_file: None,
            stats_dump_file: None,
            json_dump_file: None,
            json_version: 1,
            iproute_usr_dir: None,
            iproute_etc_dir: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fifo {
    pub path: String,
    pub script: Option<Command>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpExtraIf {
    pub all: bool,
    pub interval_us: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetlinkBuffer {
    pub keyword: String,
    pub size: u32,
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    pub instance: Option<String>,
    pub id: Option<u8>,
    pub maxlen: Option<u16>,
    pub port: u16,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsTimeouts {
    pub tcp_s: Option<u32>,
    pub tcpfin_s: Option<u32>,
    pub udp_s: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    All,
    /// Only the virtual servers keepalived configured.
    Vs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkbeatInterface {
    pub interface: String,
    pub method: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceDelay {
    pub interface: String,
    pub down_us: u64,
    pub up_us: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackGroup {
    pub name: String,
    pub instances: Vec<String>,
}

/// An address line of virtual_ipaddress / static_ipaddress (iproute2 `ip addr` syntax).
/// In JSON (`-t --json`, the configuration sent to the children) every option is a key
/// of its own, as [`FlatAddress`] writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FlatAddress", into = "FlatAddress")]
pub struct IpAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub dev: Option<String>,
    pub use_vmac: bool,
    pub home: bool,
    /// `-nodad` was given: an IPv6 address then goes through duplicate address detection
    /// (without it, keepalived adds IPv6 addresses with IFA_F_NODAD).
    pub nodad: bool,
    pub mngtmpaddr: bool,
    pub noprefixroute: bool,
    pub autojoin: bool,
    pub no_track: bool,
    /// The options few address lines give, boxed: each VIP is held in several places
    /// (its instance's configuration, what its master put on the host, the parent's
    /// list of what the VRRP child may hold), 1,000 instances over. `None` when the
    /// line gives none of them, never an empty box, so that equal addresses compare
    /// equal.
    options: Option<Box<AddressOptions>>,
}

/// `brd`, `scope`, `label`, `peer`, `preferred_lft` and `track_group` of an address line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressOptions {
    pub broadcast: Option<Broadcast>,
    pub scope: Option<String>,
    pub label: Option<String>,
    pub peer: Option<IpPrefix>,
    pub preferred_lft: Option<Lifetime>,
    pub track_group: Option<String>,
}

impl IpAddress {
    /// `address/prefix_len` and nothing else: no `dev`, options or flags.
    pub fn new(address: IpAddr, prefix_len: u8) -> IpAddress {
        IpAddress {
            address,
            prefix_len,
            dev: None,
            use_vmac: false,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            no_track: false,
            options: None,
        }
    }

    pub fn broadcast(&self) -> Option<&Broadcast> {
        self.options.as_ref()?.broadcast.as_ref()
    }

    pub fn scope(&self) -> Option<&str> {
        self.options.as_ref()?.scope.as_deref()
    }

    pub fn label(&self) -> Option<&str> {
        self.options.as_ref()?.label.as_deref()
    }

    pub fn peer(&self) -> Option<IpPrefix> {
        self.options.as_ref()?.peer
    }

    pub fn preferred_lft(&self) -> Option<&Lifetime> {
        self.options.as_ref()?.preferred_lft.as_ref()
    }

    pub fn track_group(&self) -> Option<&str> {
        self.options.as_ref()?.track_group.as_deref()
    }

    /// The options, to set one: boxed on first use.
    pub fn options_mut(&mut self) -> &mut AddressOptions {
        self.options.get_or_insert_with(Box::default)
    }
}

/// [`IpAddress`] as JSON has it: its options beside its flags.
#[derive(Serialize, Deserialize)]
struct FlatAddress {
    address: IpAddr,
    prefix_len: u8,
    broadcast: Option<Broadcast>,
    dev: Option<String>,
    use_vmac: bool,
    scope: Option<String>,
    label: Option<String>,
    peer: Option<IpPrefix>,
    home: bool,
    nodad: bool,
    mngtmpaddr: bool,
    noprefixroute: bool,
    autojoin: bool,
    no_track: bool,
    preferred_lft: Option<Lifetime>,
    track_group: Option<String>,
}

impl From<FlatAddress> for IpAddress {
    fn from(f: FlatAddress) -> IpAddress {
        let options = AddressOptions {
            broadcast: f.broadcast,
            scope: f.scope,
            label: f.label,
            peer: f.peer,
            preferred_lft: f.preferred_lft,
            track_group: f.track_group,
        };
        IpAddress {
            address: f.address,
            prefix_len: f.prefix_len,
            dev: f.dev,
            use_vmac: f.use_vmac,
            home: f.home,
            nodad: f.nodad,
            mngtmpaddr: f.mngtmpaddr,
            noprefixroute: f.noprefixroute,
            autojoin: f.autojoin,
            no_track: f.no_track,
            options: (options != AddressOptions::default()).then(|| Box::new(options)),
        }
    }
}

impl From<IpAddress> for FlatAddress {
    fn from(a: IpAddress) -> FlatAddress {
        let o = a.options.map(|o| *o).unwrap_or_default();
        FlatAddress {
            address: a.address,
            prefix_len: a.prefix_len,
            broadcast: o.broadcast,
            dev: a.dev,
            use_vmac: a.use_vmac,
            scope: o.scope,
            label: o.label,
            peer: o.peer,
            home: a.home,
            nodad: a.nodad,
            mngtmpaddr: a.mngtmpaddr,
            noprefixroute: a.noprefixroute,
            autojoin: a.autojoin,
            no_track: a.no_track,
            preferred_lft: o.preferred_lft,
            track_group: o.track_group,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Broadcast {
    Address(IpAddr),
    /// `brd +`: host part all ones.
    Plus,
    /// `brd -`: host part all zeros.
    Minus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifetime {
    Seconds(u32),
    Forever,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpPrefix {
    pub address: IpAddr,
    pub len: u8,
}

/// virtual_routes / static_routes line, as keepalived 2.2.7's `alloc_route()` reads it:
/// names (tables, protocols, scopes, realms, tos) are resolved to their numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// RTN_* type when one is written (`blackhole`, `unreachable`, `prohibit`, `throw`,
    /// `local`…, or a number); None is unicast.
    pub route_type: Option<u8>,
    /// None for `default`.
    pub to: Option<IpPrefix>,
    pub family_v6: bool,
    /// `from PREFIX` (RTA_SRC, IPv6 only).
    pub from: Option<IpPrefix>,
    /// `src ADDR` (RTA_PREFSRC).
    pub src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// RT_SCOPE_* when written and not `global`; None is RT_SCOPE_UNIVERSE (an add) or
    /// RT_SCOPE_NOWHERE (a delete, which matches any).
    pub scope: Option<u8>,
    /// Table id; None is `main` (254), which is stored as None however written.
    pub table: Option<u32>,
    pub metric: Option<u32>,
    /// RTPROT_* when written (a tracked route is installed with 18 whatever it says).
    pub protocol: Option<u8>,
    pub tos: Option<u8>,
    pub onlink: bool,
    /// RTA_FLOW: `realms [FROM/]TO`, FROM in the upper 16 bits.
    pub realms: Option<u32>,
    pub expires: Option<u32>,
    /// RTA_PREF (ICMPV6_ROUTER_PREF_*: low 3, medium 0, high 1).
    pub pref: Option<u8>,
    pub ttl_propagate: Option<u8>,
    /// RTA_METRICS members (boxed: most routes have none, and a route travels in the
    /// engine's inputs and outputs).
    pub metrics: Box<RouteMetrics>,
    /// `add` (NLM_F_EXCL), `append` (NLM_F_APPEND) or `prepend` (the default).
    pub mode: RouteMode,
    /// `encap mpls|ip|ip6|ila …` (RTA_ENCAP, RTA_ENCAP_TYPE), boxed so that a route
    /// without one stays small.
    pub encap: Option<Box<Encap>>,
    pub nexthops: Vec<Nexthop>,
    pub no_track: bool,
    pub track_group: Option<String>,
}

/// How a route is added: `netlink_route()`'s flags besides NLM_F_CREATE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RouteMode {
    #[default]
    Prepend,
    Add,
    Append,
}

/// The RTAX_* values of a route, in kernel units (rtt in 1/8 ms, rttvar in 1/4 ms,
/// rto_min in ms), and the RTAX_LOCK bits of the ones written with `lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMetrics {
    pub mtu: Option<u32>,
    pub advmss: Option<u32>,
    pub rtt: Option<u32>,
    pub rttvar: Option<u32>,
    pub reordering: Option<u32>,
    pub window: Option<u32>,
    pub cwnd: Option<u32>,
    pub ssthresh: Option<u32>,
    pub rto_min: Option<u32>,
    pub initcwnd: Option<u32>,
    pub initrwnd: Option<u32>,
    pub hoplimit: Option<u32>,
    pub quickack: Option<u32>,
    pub fastopen_no_cookie: Option<u32>,
    /// RTAX_FEATURES (`features ecn` is 1).
    pub features: u32,
    pub congctl: Option<String>,
    /// `1 << RTAX_*` for each metric written with `lock`.
    pub lock: u32,
}

/// The kernel's RTAX_* numbers of the metrics a route can lock, which the parser sets
/// in [`RouteMetrics::lock`] and the dumps read from it.
pub const RTAX_MTU: u32 = 2;
pub const RTAX_RTT: u32 = 4;
pub const RTAX_RTTVAR: u32 = 5;
pub const RTAX_SSTHRESH: u32 = 6;
pub const RTAX_CWND: u32 = 7;
pub const RTAX_ADVMSS: u32 = 8;
pub const RTAX_REORDERING: u32 = 9;
pub const RTAX_RTO_MIN: u32 = 13;
pub const RTAX_CC_ALGO: u32 = 16;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nexthop {
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
    /// As written, 1 to 256 (rtnh_hops is one less).
    pub weight: Option<u32>,
    pub onlink: bool,
    pub realms: Option<u32>,
    pub encap: Option<Box<Encap>>,
}

/// A lightweight tunnel encapsulation, as keepalived's `parse_encap()` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encap {
    /// LWTUNNEL_ENCAP_*: 1 mpls, 2 ip, 3 ila, 4 ip6.
    pub kind: u16,
    /// mpls: the labels.
    pub labels: Vec<u32>,
    /// ila: the locator, four 16-bit groups, the first in the high bits.
    pub locator: u64,
    /// ip / ip6: `id`, `dst`, `src`, `tos`/`tc`, `ttl`/`hoplimit`, `flags`.
    pub id: Option<u64>,
    pub dst: Option<IpAddr>,
    pub src: Option<IpAddr>,
    pub tos: Option<u8>,
    pub ttl: Option<u8>,
    pub flags: Option<u16>,
}

/// Whether a rule's priority was given by `alloc_rule()`: equal to any other, so that a
/// rule reads the same whether its priority was written or given.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriorityGiven(pub bool);

impl PartialEq for PriorityGiven {
    fn eq(&self, _: &PriorityGiven) -> bool {
        true
    }
}

impl Eq for PriorityGiven {}

/// virtual_rules / static_rules line, as keepalived 2.2.7's `alloc_rule()` reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub family_v6: Option<bool>,
    pub from: Option<IpPrefix>,
    pub to: Option<IpPrefix>,
    /// `not`: FIB_RULE_INVERT.
    pub invert: bool,
    /// The table of a `table`/`lookup` rule (FR_ACT_TO_TBL).
    pub table: Option<u32>,
    /// FR_ACT_*: 1 to table, 2 goto, 3 nop, 6 blackhole, 7 unreachable, 8 prohibit.
    pub action: u8,
    pub goto: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub tos: u8,
    /// Written, or given by `alloc_rule()` counting down from 16384 per family.
    pub priority: Option<u32>,
    /// The priority was not written (and was given). Not part of a rule's identity:
    /// `rule_is_equal()` compares the priority, not where it came from.
    pub auto_priority: PriorityGiven,
    pub realms: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub tunnel_id: Option<u64>,
    pub uidrange: Option<(u32, u32)>,
    pub l3mdev: bool,
    /// FRA_PROTOCOL when written (a tracked rule is installed with 18 whatever it says).
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub no_track: bool,
    pub track_group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpScript {
    pub name: String,
    pub script: Option<Command>,
    pub interval_us: u64,
    /// Defaults to the interval.
    pub timeout_us: u64,
    pub weight: i32,
    pub weight_reverse: bool,
    pub rise: u32,
    pub fall: u32,
    pub init_fail: bool,
    #[serde(default, skip_serializing_if = "Explicit::is_empty")]
    pub explicit: Explicit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackFile {
    pub name: String,
    pub file: Option<String>,
    pub weight: i32,
    pub weight_reverse: bool,
    pub init_file: Option<InitFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitFile {
    pub value: i64,
    pub overwrite: bool,
}

/// One `vrrp_track_process` as written (`vrrp_tracked_process_t`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackProcess {
    pub name: String,
    pub process: Option<String>,
    /// The words of `process` after the name.
    pub parameters: Vec<String>,
    /// `param_match` as written; `None` where it was not (`PARAM_MATCH_NONE`), and then
    /// parameters are matched exactly if `process` names any
    /// (`vrrp_tprocess_process_handler()`).
    pub param_match: Option<ParamMatch>,
    pub weight: i32,
    pub weight_reverse: bool,
    /// 0 only through `quorum_max 0`, which sets it so: the tracker then holds while no
    /// process runs (`vrrp_tprocess_quorum_max_handler()`).
    pub quorum: u32,
    pub quorum_max: Option<u32>,
    /// `fork_delay`, or `delay`, whichever was written last.
    pub fork_delay_us: Option<u64>,
    /// `terminate_delay`, or `delay`, whichever was written last.
    pub terminate_delay_us: Option<u64>,
    /// The `full_command` keyword; parameters and `param_match` imply it too.
    pub full_command: bool,
}

/// How a tracked process's parameters are held against a command line's
/// (`param_match_t`, `check_params()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamMatch {
    /// The command line has exactly the configured parameters (a bare `param_match`).
    Exact,
    /// The configured parameters start the command line's, the last of them possibly
    /// cut short (`param_match initial`).
    Initial,
    /// The configured parameters are the first of the command line's, each whole
    /// (`param_match partial`).
    Partial,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarpGroup {
    pub garp_interval_us: Option<u64>,
    pub gna_interval_us: Option<u64>,
    pub interfaces: Vec<String>,
}

/// A reference from an instance or sync group to a tracker, with its weight override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    pub name: String,
    /// None: the tracker's own weight (track_script/track_file/track_process), or 0 (FAULT
    /// on failure) for interfaces.
    pub weight: Option<i32>,
    pub reverse: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trackers {
    pub interfaces: Vec<TrackRef>,
    pub scripts: Vec<TrackRef>,
    pub files: Vec<TrackRef>,
    pub processes: Vec<TrackRef>,
    pub bfds: Vec<TrackRef>,
}

/// An instance's or a sync group's notify scripts. Each is boxed: most instances have
/// none, and five unboxed [`Command`]s are 360 bytes an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifies {
    pub notify_master: Option<Box<Command>>,
    pub notify_backup: Option<Box<Command>>,
    pub notify_fault: Option<Box<Command>>,
    pub notify_stop: Option<Box<Command>>,
    pub notify: Option<Box<Command>>,
}

impl Notifies {
    /// Every notify slot, for code that may clear one.
    pub fn slots_mut(&mut self) -> [&mut Option<Box<Command>>; 5] {
        [
            &mut self.notify_master,
            &mut self.notify_backup,
            &mut self.notify_fault,
            &mut self.notify_stop,
            &mut self.notify,
        ]
    }

    /// The configured notify commands, in the order keepalived runs them.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        [
            &self.notify_master,
            &self.notify_backup,
            &self.notify_fault,
            &self.notify_stop,
            &self.notify,
        ]
        .into_iter()
        .filter_map(Option::as_deref)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroup {
    pub name: String,
    pub members: Vec<String>,
    pub trackers: Trackers,
    pub notifies: Notifies,
    pub smtp_alert: Option<bool>,
    pub global_tracking: bool,
    pub sync_group_tracking_weight: bool,
    pub notify_priority_changes: Option<bool>,
    #[serde(skip)]
    pub defined_at: Option<super::Location>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Master,
    Backup,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    pub min_ttl: Option<u8>,
    pub max_ttl: Option<u8>,
}

/// The advert's own authentication type: the codec owns the value on the wire, and a
/// configuration names it with the same type.
pub use crate::wire::AuthType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// `PASS` or `AH`: the only two `auth_type` accepts.
    #[serde(with = "auth_type_keyword")]
    pub auth_type: AuthType,
    /// The first 8 bytes of `auth_pass`, as keepalived uses them.
    pub auth_pass: String,
}

/// `auth_type` spelt as the keyword takes it (`PASS`, `AH`) in a serialized configuration;
/// any other type has no keyword and is refused both ways.
mod auth_type_keyword {
    use serde::de::Error as _;
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::AuthType;

    pub fn serialize<S: Serializer>(t: &AuthType, s: S) -> Result<S::Ok, S::Error> {
        match t {
            AuthType::Pass => s.serialize_str("PASS"),
            AuthType::Ah => s.serialize_str("AH"),
            other => Err(S::Error::custom(format!(
                "auth_type {other:?} has no keyword: expected PASS or AH"
            ))),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<AuthType, D::Error> {
        match String::deserialize(d)?.as_str() {
            "PASS" => Ok(AuthType::Pass),
            "AH" => Ok(AuthType::Ah),
            other => Err(D::Error::unknown_variant(other, &["PASS", "AH"])),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthHmac {
    pub keys: Vec<HmacKey>,
    pub active_key: Option<u8>,
    pub anti_replay: String,
    pub time_window_s: u32,
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HmacKey {
    pub id: u8,
    /// `hex:…`, `file:…` or the ASCII key itself, as written.
    pub source: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vmac {
    pub name: Option<String>,
    pub base_interface: Option<String>,
    pub mac: Option<String>,
    pub netlink_notify_msg: bool,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VrrpInstance {
    pub name: String,
    pub state: InitialState,
    pub interface: Option<String>,
    pub virtual_router_id: u8,
    pub priority: u8,
    pub advert_int_us: u64,
    pub version: u8,
    pub virtual_ipaddress: Vec<IpAddress>,
    pub virtual_ipaddress_excluded: Vec<IpAddress>,
    pub no_virtual_ipaddress: bool,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    /// `unicast_src_ip` / `mcast_src_ip`.
    pub src_ip: Option<IpAddr>,
    pub unicast_peers: Vec<UnicastPeer>,
    pub unicast_ttl: Option<u8>,
    pub unicast_fault_no_peer: bool,
    pub check_unicast_src: bool,
    pub old_unicast_checksum: Option<bool>,
    pub mcast_dst_ip: Option<IpAddr>,
    pub track_src_ip: bool,
    pub vrf: Option<String>,
    pub v3_checksum_as_v2: bool,
    pub authentication: Option<Authentication>,
    /// Boxed, as [`VrrpInstance::use_vmac`] is.
    pub auth_hmac: Option<Box<AuthHmac>>,
    pub trackers: Trackers,
    pub dont_track_primary: bool,
    pub nopreempt: bool,
    pub preempt_delay_us: u64,
    pub accept: bool,
    pub strict_mode: bool,
    pub skip_check_adv_addr: bool,
    /// Boxed: rarely set, and 104 bytes in every instance unboxed.
    pub use_vmac: Option<Box<Vmac>>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub use_ipvlan: Option<Vec<String>>,
    pub native_ipv6: bool,
    pub garp_master_delay_us: u64,
    pub garp_master_repeat: u32,
    pub garp_master_refresh_us: u64,
    pub garp_master_refresh_repeat: u32,
    pub garp_lower_prio_delay_us: u64,
    pub garp_lower_prio_repeat: u32,
    pub garp_extra_if: Option<GarpExtraIf>,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: bool,
    pub owner_ignore_adverts: bool,
    pub down_timer_adverts: u32,
    pub timer_expired_backup: Option<u8>,
    pub notifies: Notifies,
    /// Boxed, as [`Notifies`]' scripts are.
    pub notify_deleted: Option<Option<Box<Command>>>,
    pub notify_master_rx_lower_pri: Option<Box<Command>>,
    pub notify_priority_changes: bool,
    pub smtp_alert: bool,
    pub promote_secondaries: bool,
    pub kernel_rx_buf_size: Option<u32>,
    pub debug: u8,
    pub linkbeat_use_polling: bool,
    pub lvs_sync_daemon_interface: Option<String>,
    /// Set by `-t`'s resolution: the sync group this instance belongs to.
    pub sync_group: Option<String>,
    #[serde(default, skip_serializing_if = "Explicit::is_empty")]
    pub explicit: Explicit,
    /// Where the block starts, for messages about the instance as a whole.
    #[serde(skip)]
    pub defined_at: Option<super::Location>,
}

impl VrrpInstance {
    /// Whether the instance is IPv6: its first VIP is, or `native_ipv6`, or with no VIPs
    /// its first unicast peer is (`vrrp_complete_instance()`).
    pub fn is_ipv6(&self) -> bool {
        self.virtual_ipaddress
            .first()
            .is_some_and(|a| a.address.is_ipv6())
            || self.native_ipv6
            || (self.virtual_ipaddress.is_empty()
                && self
                    .unicast_peers
                    .first()
                    .is_some_and(|p| p.address.is_ipv6()))
    }

    /// The macvlan interface of `use_vmac` (named by the config's completion).
    pub fn vmac(&self) -> Option<&str> {
        self.use_vmac.as_ref()?.name.as_deref()
    }

    /// Where the VIPs go: the VMAC when there is one (`vrrp_complete_instance()`).
    pub fn vip_interface(&self) -> Option<&str> {
        self.vmac().or(self.interface.as_deref())
    }

    /// Where adverts are sent and received: the VMAC, unless `vmac_xmit_base` keeps
    /// them on the base interface (`vrrp_create_sockpool()`).
    pub fn xmit_interface(&self) -> Option<&str> {
        if self.vmac_xmit_base {
            self.interface.as_deref()
        } else {
            self.vip_interface()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdInstance {
    pub name: String,
    pub neighbor_ip: Option<IpAddr>,
    pub source_ip: Option<IpAddr>,
    pub min_rx_us: u64,
    pub min_tx_us: u64,
    pub idle_tx_us: u64,
    pub multiplier: u8,
    pub passive: bool,
    /// `ttl` or `hoplimit` (one keyword under two names in `bfd_parser.c`): the TTL or
    /// hop limit sent; `None` takes the family's default ([`BfdInstance::send_ttl`]).
    pub ttl: Option<u8>,
    /// How many hops a received packet may have crossed: its TTL must be at least
    /// `send_ttl() - max_hops` (RFC 5881 §5's GTSM, extended by keepalived).
    pub max_hops: u8,
    /// keepalived master's `multihop` (port 4784, RFC 5883); not in 2.2.7.
    pub multihop: bool,
    pub weight: i32,
    pub weight_reverse: bool,
    /// `vrrp` / `checker` given: events go only to the processes named. Neither given:
    /// to both ([`BfdInstance::to_vrrp`], [`BfdInstance::to_checker`]).
    pub vrrp: bool,
    pub checker: bool,
    /// keepalived-rs: a peer's AdminDown (RFC 5880 §6.8.16) leaves the session's clients
    /// as they were instead of telling them the session is down.
    pub ignore_admin_down: bool,
}

impl BfdInstance {
    /// A `bfd_instance` with keepalived's defaults (`alloc_bfd()`): min_rx and min_tx
    /// 10 ms, idle_tx 1 s, multiplier 5, the family's TTL, no max_hops, weight 0, events to
    /// both processes.
    pub fn new(name: impl Into<String>, neighbor_ip: Option<IpAddr>) -> BfdInstance {
        const MS: u64 = 1_000;
        BfdInstance {
            name: name.into(),
            neighbor_ip,
            source_ip: None,
            min_rx_us: 10 * MS,
            min_tx_us: 10 * MS,
            idle_tx_us: 1_000 * MS,
            multiplier: 5,
            passive: false,
            ttl: None,
            max_hops: 0,
            multihop: false,
            weight: 0,
            weight_reverse: false,
            vrrp: false,
            checker: false,
            ignore_admin_down: false,
        }
    }

    /// The TTL (IPv4, default 255) or hop limit (IPv6, default 64) sent, as
    /// `bfd_end_handler()` settles it.
    pub fn send_ttl(&self) -> u8 {
        self.ttl.unwrap_or(match self.neighbor_ip {
            Some(IpAddr::V6(_)) => 64,
            _ => 255,
        })
    }

    /// Whether the VRRP process hears of this session (`bfd_end_handler()`).
    pub fn to_vrrp(&self) -> bool {
        self.vrrp || !self.checker
    }

    /// Whether the checker process hears of this session.
    pub fn to_checker(&self) -> bool {
        self.checker || !self.vrrp
    }
}

/// A `bfd_instance` as the VRRP and checker processes read it (`vrrp_tracked_bfd_t`,
/// `checker_tracked_bfd_t`): any block with a new name shorter than 32 characters. They
/// do not look at its addresses, so one the BFD process refuses (no or a malformed
/// neighbor, mixed families, a duplicate address) is still tracked, and never Up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedBfd {
    pub name: String,
    pub weight: i32,
    pub weight_reverse: bool,
    /// As [`BfdInstance::vrrp`] and [`BfdInstance::checker`].
    pub vrrp: bool,
    pub checker: bool,
}

impl TrackedBfd {
    /// Whether the VRRP process knows it (`bfd_vrrp_end_handler()`).
    pub fn to_vrrp(&self) -> bool {
        self.vrrp || !self.checker
    }

    /// Whether the checker process knows it (`bfd_checker_end_handler()`).
    pub fn to_checker(&self) -> bool {
        self.checker || !self.vrrp
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SslConfig {
    pub password: Option<String>,
    pub ca: Option<String>,
    pub certificate: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServerGroup {
    pub name: String,
    pub entries: Vec<VsgEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// One address, or the inclusive range `first..=last` (`a.b.c.d-e`), with its port.
    Range {
        first: IpAddr,
        last: IpAddr,
        port: Option<u16>,
    },
    Fwmark {
        mark: u32,
        family_v6: Option<bool>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsAddress {
    Ip { address: IpAddr, port: u16 },
    Fwmark { mark: u32 },
    Group { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LvsMethod {
    pub kind: LvsKind,
    /// TUN only: `ipip` (default), `gue` with its port, or `gre`.
    pub tunnel_type: Option<String>,
    pub tunnel_port: Option<u16>,
    /// TUN only: `nocsum`, `csum`, `remcsum`.
    pub tunnel_checksum: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsKind {
    Nat,
    Dr,
    Tun,
}

impl Default for LvsMethod {
    fn default() -> Self {
        Self {
            kind: LvsKind::Nat,
            tunnel_type: None,
            tunnel_port: None,
            tunnel_checksum: None,
        }
    }
}

/// Probe schedule shared by virtual_server, real_server and checkers; inherited inwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub delay_loop_us: u64,
    pub connect_timeout_us: u64,
    pub retry: u32,
    pub delay_before_retry_us: u64,
    pub warmup_us: u64,
    pub alpha: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualServer {
    pub address: VsAddress,
    pub ip_family_v6: Option<bool>,
    pub lvs_sched: String,
    pub lvs_method: LvsMethod,
    pub protocol: Protocol,
    pub persistence_timeout_s: Option<u32>,
    pub persistence_granularity: Option<String>,
    pub persistence_engine: Option<String>,
    pub ops: bool,
    /// Scheduler flags: flag-1/2/3, sh-port, sh-fallback, mh-port, mh-fallback.
    pub sched_flags: Vec<String>,
    pub hashed: bool,
    pub ha_suspend: bool,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub schedule: Schedule,
    pub omega: bool,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Command>,
    pub quorum_down: Option<Command>,
    pub weight: i32,
    pub sorry_server: Option<SorryServer>,
    pub sorry_server_inhibit: bool,
    pub inhibit_on_failure: bool,
    pub smtp_alert: Option<bool>,
    pub real_servers: Vec<RealServer>,
    #[serde(default, skip_serializing_if = "Explicit::is_empty")]
    pub explicit: Explicit,
    #[serde(skip)]
    pub defined_at: Option<super::Location>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SorryServer {
    pub address: IpAddr,
    pub port: Option<u16>,
    pub lvs_method: Option<LvsMethod>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RealServer {
    pub address: IpAddr,
    pub port: Option<u16>,
    pub weight: i32,
    // The rarely given parts are boxed: large pools have tens of thousands of real
    // servers, and each should not carry room for a method and two commands.
    pub lvs_method: Option<Box<LvsMethod>>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    pub inhibit_on_failure: bool,
    pub notify_up: Option<Box<Command>>,
    pub notify_down: Option<Box<Command>>,
    pub schedule: Schedule,
    pub smtp_alert: bool,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub checkers: Vec<Checker>,
    #[serde(default, skip_serializing_if = "Explicit::is_empty")]
    pub explicit: Explicit,
}

/// Connection options every network checker has (`install_checker_common_keywords()`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bindto: Option<IpAddr>,
    pub bind_port: Option<u16>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checker {
    pub kind: CheckerKind,
    pub connection: Connection,
    pub schedule: Schedule,
    pub log_all_failures: bool,
    #[serde(default, skip_serializing_if = "Explicit::is_empty")]
    pub explicit: Explicit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckerKind {
    // The large variants are boxed so that the common TCP_CHECK, one per real server,
    // stays small.
    TcpCheck,
    HttpGet(Box<HttpCheck>),
    SslGet(Box<HttpCheck>),
    SmtpCheck {
        helo_name: Option<String>,
        hosts: Vec<Connection>,
    },
    DnsCheck {
        query_type: String,
        name: String,
    },
    MiscCheck(Box<MiscCheck>),
    UdpCheck(Box<UdpCheck>),
    PingCheck,
    FileCheck {
        track_file: Option<String>,
        weight: i32,
        weight_reverse: bool,
    },
    BfdCheck {
        name: Option<String>,
    },
}

impl CheckerKind {
    pub fn keyword(&self) -> &'static str {
        match self {
            Self::TcpCheck => "TCP_CHECK",
            Self::HttpGet(_) => "HTTP_GET",
            Self::SslGet(_) => "SSL_GET",
            Self::SmtpCheck { .. } => "SMTP_CHECK",
            Self::DnsCheck { .. } => "DNS_CHECK",
            Self::MiscCheck(_) => "MISC_CHECK",
            Self::UdpCheck(_) => "UDP_CHECK",
            Self::PingCheck => "PING_CHECK",
            Self::FileCheck { .. } => "FILE_CHECK",
            Self::BfdCheck { .. } => "BFD_CHECK",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpCheck {
    /// `1.0`, `1.0C` (1.0 with `Connection: close`) or `1.1`.
    pub http_protocol: String,
    pub virtualhost: Option<String>,
    pub fast_recovery: bool,
    pub enable_sni: bool,
    pub sni_name: Option<String>,
    pub tls_compliant: bool,
    pub urls: Vec<Url>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Url {
    pub path: String,
    pub digest: Option<String>,
    /// Inclusive ranges; empty means 200-299.
    pub status_codes: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    pub regex: Option<String>,
    pub regex_no_match: bool,
    pub regex_options: Vec<String>,
    pub regex_stack: Option<u32>,
    pub regex_min_offset: Option<u32>,
    pub regex_max_offset: Option<u32>,
    pub tls_compliant: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiscCheck {
    pub misc_path: Option<Command>,
    /// Defaults to the virtual server's delay_loop.
    pub misc_timeout_us: Option<u64>,
    pub misc_dynamic: bool,
    pub user: Option<String>,
    pub group: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpCheck {
    pub payload: Vec<u8>,
    /// Expected reply bytes; None in the mask means "any byte here" (`X` in the hex).
    pub require_reply: Option<Vec<Option<u8>>>,
    pub min_reply_length: u32,
    pub max_reply_length: u32,
}
