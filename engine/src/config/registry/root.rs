//! The top level (`init_keywords()` across keepalived's parsers; `blocks/mod.rs`).

keywords! { Root;
    GLOBAL_DEFS = "global_defs", Block, "", Carried;
    NET_NAMESPACE = "net_namespace", Word, "", Carried;
    NET_NAMESPACE_IPVS = "net_namespace_ipvs", Word, "", Ignored("IPVS is always driven in the daemon's own network namespace");
    NAMESPACE_WITH_IPSETS = "namespace_with_ipsets", Flag, "", Ignored("ipsets are not used");
    USE_PID_DIR = "use_pid_dir", Flag, "", Carried;
    INSTANCE = "instance", Word, "", Carried;
    CHILD_WAIT_TIME = "child_wait_time", Int, "5", Carried;
    LINKBEAT_USE_POLLING = "linkbeat_use_polling", Flag, "", Carried;
    LINKBEAT_INTERFACES = "linkbeat_interfaces", Block, "", Carried;
    INTERFACE_UP_DOWN_DELAYS = "interface_up_down_delays", Block, "", Carried;
    TRACK_GROUP = "track_group", Block, "", Carried;
    STATIC_IPADDRESS = "static_ipaddress", Block, "", Carried;
    STATIC_ROUTES = "static_routes", Block, "", Partial("a route with `vrf` is refused with an error");
    STATIC_RULES = "static_rules", Block, "", Carried;
    VRRP_SCRIPT = "vrrp_script", Block, "", Carried;
    VRRP_TRACK_FILE = "vrrp_track_file" | TRACK_FILE = "track_file", Block, "", Carried;
    VRRP_TRACK_PROCESS = "vrrp_track_process", Block, "", Carried;
    GARP_GROUP = "garp_group", Block, "", Carried;
    VRRP_SYNC_GROUP = "vrrp_sync_group", Block, "", Carried;
    VRRP_INSTANCE = "vrrp_instance", Block, "", Carried;
    BFD_INSTANCE = "bfd_instance", Block, "", Carried;
    SSL = "SSL", Block, "", Carried;
    VIRTUAL_SERVER_GROUP = "virtual_server_group", Block, "", Carried;
    VIRTUAL_SERVER = "virtual_server", Block, "", Carried;
}
