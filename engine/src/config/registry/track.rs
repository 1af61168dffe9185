//! Tracking and helper blocks (`keepalived/vrrp/vrrp_parser.c`, `keepalived/bfd/bfd_parser.c`;
//! `blocks/track.rs`).

pub mod script {
    keywords! { VrrpScript;
        SCRIPT = "script", Command, "", Carried;
        INTERVAL = "interval", Seconds, "1", Carried;
        TIMEOUT = "timeout", Seconds, (derived "`interval`"), Carried;
        WEIGHT = "weight", Words, "0", Carried;
        RISE = "rise", Int, "1", Carried;
        FALL = "fall", Int, "1", Carried;
        USER = "user", Words, (derived "`script_user`"), Carried;
        INIT_FAIL = "init_fail", Flag, "", Carried;
    }
}

pub mod file {
    keywords! { TrackFile;
        FILE = "file", Word, "", Carried;
        WEIGHT = "weight", Words, "1", Carried;
        INIT_FILE = "init_file", Words, "", Carried;
    }
}

pub mod process {
    keywords! { TrackProcess;
        PROCESS = "process", Words, "", Carried;
        PARAM_MATCH = "param_match", Words, (derived "exact when `process` names parameters; otherwise they are not looked at"), Carried;
        WEIGHT = "weight", Words, "0", Carried;
        QUORUM = "quorum", Int, "1", Carried;
        QUORUM_MAX = "quorum_max", Int, "", Carried;
        FORK_DELAY = "fork_delay", Seconds, "", Carried;
        TERMINATE_DELAY = "terminate_delay", Seconds, "", Carried;
        DELAY = "delay", Seconds, "", Carried;
        FULL_COMMAND = "full_command", Flag, "", Carried;
    }
}

pub mod garp_group {
    keywords! { GarpGroup;
        GARP_INTERVAL = "garp_interval", Seconds, "", Carried;
        GNA_INTERVAL = "gna_interval", Seconds, "", Carried;
        INTERFACE = "interface", Word, "", Carried;
        INTERFACES = "interfaces", Block, "", Carried;
    }
}

pub mod bfd {
    keywords! { BfdInstance;
        NEIGHBOR_IP = "neighbor_ip" | NEIGHBOUR_IP = "neighbour_ip", Ip, "", Carried;
        SOURCE_IP = "source_ip", Ip, "", Carried;
        MIN_RX = "min_rx", Millis, "10", Carried;
        MIN_TX = "min_tx", Millis, "10", Carried;
        IDLE_TX = "idle_tx", Millis, "1000", Carried;
        MULTIPLIER = "multiplier", Int, "5", Carried;
        PASSIVE = "passive", Flag, "", Carried;
        TTL = "ttl", Int, (derived "255 for an IPv4 neighbor"), Carried;
        HOPLIMIT = "hoplimit", Int, (derived "64 for an IPv6 neighbor"), Carried;
        MAX_HOPS = "max_hops", Int, "0", Carried;
        MULTIHOP = "multihop", Flag, "", Ignored("keepalived master's keyword, not 2.2.7's: sessions are single-hop (RFC 5881, port 3784)");
        WEIGHT = "weight", Words, "0", Carried;
        VRRP = "vrrp", Flag, "", Carried;
        CHECKER = "checker", Flag, "", Carried;
        IGNORE_ADMIN_DOWN = "ignore_admin_down", Flag, "", Carried;
    }
}

pub mod group {
    keywords! { TrackGroup;
        GROUP = "group", Block, "", Carried;
    }
}
