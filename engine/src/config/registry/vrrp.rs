//! `vrrp_instance {}` and `vrrp_sync_group {}` (`keepalived/vrrp/vrrp_parser.c`;
//! `blocks/vrrp.rs`).

pub mod instance {
    keywords! { VrrpInstance;
        STATE = "state", Choice, (derived "`BACKUP`; `MASTER` at priority 255"), Carried;
        INTERFACE = "interface", Word, (derived "`default_interface`"), Carried;
        VIRTUAL_ROUTER_ID = "virtual_router_id", Int, "", Carried;
        PRIORITY = "priority", Int, (derived "`100`; `255` with `state MASTER`"), Carried;
        ADVERT_INT = "advert_int", Seconds, "1", Carried;
        VERSION = "version", Int, (derived "`vrrp_version`"), Carried;
        VIRTUAL_IPADDRESS = "virtual_ipaddress", Block, "", Carried;
        VIRTUAL_IPADDRESS_EXCLUDED = "virtual_ipaddress_excluded", Block, "", Carried;
        NO_VIRTUAL_IPADDRESS = "no_virtual_ipaddress", Flag, "", Carried;
        VIRTUAL_ROUTES = "virtual_routes", Block, "", Partial("a route with `vrf` is refused with an error");
        VIRTUAL_RULES = "virtual_rules", Block, "", Carried;
        UNICAST_SRC_IP = "unicast_src_ip" | MCAST_SRC_IP = "mcast_src_ip", Ip, "", Carried;
        UNICAST_PEER = "unicast_peer", Block, "", Carried;
        UNICAST_TTL = "unicast_ttl", Int, "", Carried;
        UNICAST_FAULT_NO_PEER = "unicast_fault_no_peer", Flag, "", Carried;
        CHECK_UNICAST_SRC = "check_unicast_src", Flag, (derived "`vrrp_check_unicast_src`"), Carried;
        OLD_UNICAST_CHECKSUM = "old_unicast_checksum", Word, "", Carried;
        MCAST_DST_IP = "mcast_dst_ip", Ip, (derived "`vrrp_mcast_group4`, `vrrp_mcast_group6`"), Carried;
        TRACK_SRC_IP = "track_src_ip", Flag, "", Carried;
        VRF = "vrf", Word, "", Ignored("instances are not bound to a VRF");
        V3_CHECKSUM_AS_V2 = "v3_checksum_as_v2", Flag, "", Carried;
        AUTHENTICATION = "authentication", Block, "", Carried;
        AUTH_HMAC = "auth_hmac", Block, "", Ignored("HMAC authentication is checked in the configuration but not applied to adverts");
        TRACK_INTERFACE = "track_interface", Block, "", Carried;
        TRACK_SCRIPT = "track_script", Block, "", Carried;
        TRACK_FILE = "track_file", Block, "", Carried;
        TRACK_PROCESS = "track_process", Block, "", Carried;
        TRACK_BFD = "track_bfd", Block, "", Carried;
        DONT_TRACK_PRIMARY = "dont_track_primary", Flag, "", Carried;
        NOPREEMPT = "nopreempt", Flag, "", Carried;
        PREEMPT = "preempt", Flag, "", Carried;
        PREEMPT_DELAY = "preempt_delay", Seconds, "0", Carried;
        ACCEPT = "accept", Flag, (derived "on; under `vrrp_strict`, on for the address owner (priority 255) only"), Carried;
        NO_ACCEPT = "no_accept", Flag, "", Carried;
        STRICT_MODE = "strict_mode", Flag, (derived "`vrrp_strict`"), Carried;
        SKIP_CHECK_ADV_ADDR = "skip_check_adv_addr", Flag, (derived "`vrrp_skip_check_adv_addr`"), Carried;
        USE_VMAC = "use_vmac", Words, "", Partial("'group' and 'netlink_notify_msg' are keepalived 2.3 options (2.2.7 refuses them): they and a third word are accepted and not applied");
        USE_VMAC_ADDR = "use_vmac_addr", Flag, "", Carried;
        VMAC_XMIT_BASE = "vmac_xmit_base", Flag, "", Carried;
        USE_IPVLAN = "use_ipvlan", Words, "", Ignored("ipvlan interfaces are not created");
        NATIVE_IPV6 = "native_ipv6", Flag, "", Ignored("an instance is IPv6 when its first virtual address is"), deprecated "an instance's family comes from its first virtual address";
        GARP_MASTER_DELAY = "garp_master_delay", Seconds, (derived "`vrrp_garp_master_delay`"), Carried;
        GARP_MASTER_REPEAT = "garp_master_repeat", Int, (derived "`vrrp_garp_master_repeat`"), Carried;
        GARP_MASTER_REFRESH = "garp_master_refresh", Seconds, (derived "`vrrp_garp_master_refresh`"), Carried;
        GARP_MASTER_REFRESH_REPEAT = "garp_master_refresh_repeat", Int, (derived "`vrrp_garp_master_refresh_repeat`"), Carried;
        GARP_LOWER_PRIO_DELAY = "garp_lower_prio_delay", Seconds, (derived "`vrrp_garp_lower_prio_delay`, else `garp_master_delay`"), Carried;
        GARP_LOWER_PRIO_REPEAT = "garp_lower_prio_repeat", Int, (derived "`vrrp_garp_lower_prio_repeat`, else `garp_master_repeat`"), Carried;
        GARP_EXTRA_IF = "garp_extra_if" | VMAC_GARP_INTVL = "vmac_garp_intvl", Words, (derived "`vrrp_garp_extra_if`"), Partial("an address given its own use_vmac is not counted as on one of our VMACs (without `all`, it gets no extra GARP)");
        LOWER_PRIO_NO_ADVERT = "lower_prio_no_advert", Flag, (derived "`vrrp_lower_prio_no_advert`"), Carried;
        HIGHER_PRIO_SEND_ADVERT = "higher_prio_send_advert", Flag, (derived "`vrrp_higher_prio_send_advert`"), Carried;
        OWNER_IGNORE_ADVERTS = "owner_ignore_adverts", Flag, (derived "`vrrp_owner_ignore_adverts`"), Carried;
        DOWN_TIMER_ADVERTS = "down_timer_adverts", Int, (derived "`vrrp_down_timer_adverts`"), Carried;
        TIMER_EXPIRED_BACKUP = "timer_expired_backup", Int, "", Ignored("a backup whose master timer expires is not given the stated priority");
        THREAD_TIMER_EXPIRED = "thread_timer_expired", Int, "", Refused("renamed timer_expired_backup");
        NOTIFY_MASTER = "notify_master", Command, "", Carried;
        NOTIFY_BACKUP = "notify_backup", Command, "", Carried;
        NOTIFY_FAULT = "notify_fault", Command, "", Carried;
        NOTIFY_STOP = "notify_stop", Command, "", Carried;
        NOTIFY = "notify", Command, "", Carried;
        NOTIFY_DELETED = "notify_deleted", Command, "", Carried;
        NOTIFY_MASTER_RX_LOWER_PRI = "notify_master_rx_lower_pri", Command, "", Carried;
        NOTIFY_PRIORITY_CHANGES = "notify_priority_changes", Flag, (derived "`vrrp_notify_priority_changes`"), Carried;
        SMTP_ALERT = "smtp_alert", Flag, (derived "`smtp_alert_vrrp`, else `smtp_alert`"), Carried;
        PROMOTE_SECONDARIES = "promote_secondaries", Flag, "", Carried;
        KERNEL_RX_BUF_SIZE = "kernel_rx_buf_size", Int, "", Carried;
        DEBUG = "debug", Int, "", Ignored("log detail is set with the command line, not per instance");
        LINKBEAT_USE_POLLING = "linkbeat_use_polling", Flag, "", Carried;
        LVS_SYNC_DAEMON_INTERFACE = "lvs_sync_daemon_interface", Word, "", Carried, deprecated "use lvs_sync_daemon in global_defs";
    }
}

pub mod sync_group {
    keywords! { VrrpSyncGroup;
        GROUP = "group", Block, "", Carried;
        TRACK_INTERFACE = "track_interface", Block, "", Carried;
        TRACK_SCRIPT = "track_script", Block, "", Carried;
        TRACK_FILE = "track_file", Block, "", Carried;
        TRACK_PROCESS = "track_process", Block, "", Carried;
        TRACK_BFD = "track_bfd", Block, "", Carried;
        NOTIFY_MASTER = "notify_master", Command, "", Carried;
        NOTIFY_BACKUP = "notify_backup", Command, "", Carried;
        NOTIFY_FAULT = "notify_fault", Command, "", Carried;
        NOTIFY_STOP = "notify_stop", Command, "", Carried;
        NOTIFY = "notify", Command, "", Carried;
        SMTP_ALERT = "smtp_alert", Flag, "", Carried;
        GLOBAL_TRACKING = "global_tracking", Flag, "", Carried, deprecated "use sync_group_tracking_weight";
        SYNC_GROUP_TRACKING_WEIGHT = "sync_group_tracking_weight", Flag, "", Carried;
        NOTIFY_PRIORITY_CHANGES = "notify_priority_changes", Flag, "", Carried;
    }
}
