//! LVS blocks: `SSL`, `virtual_server_group`, `virtual_server`, `real_server`
//! (`keepalived/check/check_parser.c`; `blocks/lvs.rs`).

pub mod ssl {
    keywords! { Ssl;
        PASSWORD = "password", Word, "", Carried;
        CA = "ca", Word, "", Carried;
        CERTIFICATE = "certificate", Word, "", Carried;
        KEY = "key", Word, "", Carried;
    }
}

pub mod group {
    keywords! { VirtualServerGroup;
        FWMARK = "fwmark", Words, "", Carried;
    }
}

pub mod virtual_server {
    keywords! { VirtualServer;
        LVS_SCHED = "lvs_sched" | LB_ALGO = "lb_algo", Choice, "wlc", Carried;
        LVS_METHOD = "lvs_method" | LB_KIND = "lb_kind", Words, "NAT", Carried;
        PROTOCOL = "protocol", Choice, "TCP", Carried;
        PERSISTENCE_TIMEOUT = "persistence_timeout", Int, "", Carried;
        PERSISTENCE_GRANULARITY = "persistence_granularity", Word, "", Carried;
        PERSISTENCE_ENGINE = "persistence_engine", Word, "", Carried;
        OPS = "ops", Flag, "", Carried;
        FLAG_1 = "flag-1", Flag, "", Carried;
        FLAG_2 = "flag-2", Flag, "", Carried;
        FLAG_3 = "flag-3", Flag, "", Carried;
        SH_PORT = "sh-port", Flag, "", Carried;
        SH_FALLBACK = "sh-fallback", Flag, "", Carried;
        MH_PORT = "mh-port", Flag, "", Carried;
        MH_FALLBACK = "mh-fallback", Flag, "", Carried;
        HASHED = "hashed", Flag, "", Ignored("the service is not given IPVS's hashed flag");
        HA_SUSPEND = "ha_suspend", Flag, "", Carried;
        VIRTUALHOST = "virtualhost", Word, "", Carried;
        SNMP_NAME = "snmp_name", Word, "", Carried;
        OMEGA = "omega", Flag, "", Carried;
        QUORUM = "quorum", Int, "1", Carried;
        HYSTERESIS = "hysteresis", Int, "0", Carried;
        QUORUM_UP = "quorum_up", Command, "", Carried;
        QUORUM_DOWN = "quorum_down", Command, "", Carried;
        WEIGHT = "weight", Int, "1", Carried;
        SORRY_SERVER = "sorry_server", Words, "", Carried;
        SORRY_SERVER_INHIBIT = "sorry_server_inhibit", Flag, "", Carried;
        SORRY_SERVER_LVS_METHOD = "sorry_server_lvs_method", Words, "", Carried;
        INHIBIT_ON_FAILURE = "inhibit_on_failure", Flag, "", Carried;
        IP_FAMILY = "ip_family", Choice, "", Carried;
        SMTP_ALERT = "smtp_alert", Flag, (derived "`smtp_alert_checker`, else `smtp_alert`"), Carried;
        REAL_SERVER = "real_server", Block, "", Carried;
    }
}

pub mod real_server {
    keywords! { RealServer;
        WEIGHT = "weight", Int, (derived "the virtual_server's `weight`"), Carried;
        LVS_METHOD = "lvs_method" | LB_KIND = "lb_kind", Words, (derived "the virtual_server's `lvs_method`"), Carried;
        UTHRESHOLD = "uthreshold", Int, "", Carried;
        LTHRESHOLD = "lthreshold", Int, "", Carried;
        INHIBIT_ON_FAILURE = "inhibit_on_failure", Flag, (derived "the virtual_server's `inhibit_on_failure`"), Carried;
        NOTIFY_UP = "notify_up", Command, "", Carried;
        NOTIFY_DOWN = "notify_down", Command, "", Carried;
        SMTP_ALERT = "smtp_alert", Flag, "on", Carried;
        VIRTUALHOST = "virtualhost", Word, "", Carried;
        SNMP_NAME = "snmp_name", Word, "", Carried;
        TCP_CHECK = "TCP_CHECK", Block, "", Carried;
        HTTP_GET = "HTTP_GET", Block, "", Carried;
        SSL_GET = "SSL_GET", Block, "", Carried;
        SMTP_CHECK = "SMTP_CHECK", Block, "", Carried;
        DNS_CHECK = "DNS_CHECK", Block, "", Carried;
        MISC_CHECK = "MISC_CHECK", Block, "", Carried;
        UDP_CHECK = "UDP_CHECK", Block, "", Carried;
        PING_CHECK = "PING_CHECK", Block, "", Carried;
        FILE_CHECK = "FILE_CHECK", Block, "", Partial("the block also takes the standard checker options, which keepalived's refuses; a FIFO, device or socket as the tracked file reads as 0 without being opened");
        BFD_CHECK = "BFD_CHECK", Block, "", Carried;
    }
}
