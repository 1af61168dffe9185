//! The checkers inside a real_server (`keepalived/check/check_*.c`; `blocks/lvs.rs`).

pub mod schedule {
    keywords! { Schedule;
        DELAY_LOOP = "delay_loop", Seconds, "60", Carried;
        CONNECT_TIMEOUT = "connect_timeout", Seconds, "5", Carried;
        RETRY = "retry" | NB_GET_RETRY = "nb_get_retry", Int, (derived "`1`; DNS_CHECK `3`, MISC_CHECK `0`"), Carried, deprecated "nb_get_retry is HTTP_GET's old name for retry";
        DELAY_BEFORE_RETRY = "delay_before_retry", Seconds, (derived "`1`; HTTP_GET, SSL_GET `3`; DNS_CHECK `delay_loop`"), Carried;
        WARMUP = "warmup", Seconds, (derived "`delay_loop`"), Carried;
        ALPHA = "alpha", Flag, "", Carried;
    }
}

pub mod common {
    keywords! { Checker;
        LOG_ALL_FAILURES = "log_all_failures", Flag, (derived "`checker_log_all_failures`"), Carried;
    }
}

pub mod connection {
    keywords! { Connection;
        CONNECT_IP = "connect_ip", Ip, (derived "the real server's address"), Carried;
        CONNECT_PORT = "connect_port", Int, (derived "the real server's port"), Carried;
        BINDTO = "bindto", Ip, "", Carried;
        BIND_PORT = "bind_port", Int, "", Carried;
        BIND_IF = "bind_if", Word, "", Carried;
        FWMARK = "fwmark", Int, "", Carried;
    }
}

pub mod http {
    keywords! { HttpGet;
        HTTP_PROTOCOL = "http_protocol", Choice, "1.0", Carried;
        VIRTUALHOST = "virtualhost", Word, "", Carried;
        FAST_RECOVERY = "fast_recovery", Flag, "", Carried;
        ENABLE_SNI = "enable_sni", Flag, "", Carried;
        SNI_NAME = "sni_name", Word, "", Carried;
        TLS_COMPLIANT = "tls_compliant", Flag, "", Carried;
        URL = "url", Block, "", Carried;
    }
}

pub mod url {
    keywords! { Url;
        PATH = "path", Word, "", Carried;
        DIGEST = "digest", Word, "", Carried;
        STATUS_CODE = "status_code", Words, "200-299", Carried;
        VIRTUALHOST = "virtualhost", Word, "", Carried;
        REGEX = "regex", Word, "", Partial("patterns use the regex crate's syntax (no backreferences or lookaround) and see the body only");
        REGEX_NO_MATCH = "regex_no_match", Flag, "", Carried;
        REGEX_OPTIONS = "regex_options", Words, "", Partial("only caseless, multiline, dotall, extended, ungreedy and dollar_endonly have an effect");
        REGEX_STACK = "regex_stack", Int, "", Ignored("a PCRE2 JIT setting: the regex engine has no such stack");
        REGEX_MIN_OFFSET = "regex_min_offset", Int, "", Carried;
        REGEX_MAX_OFFSET = "regex_max_offset", Int, "", Carried;
        TLS_COMPLIANT = "tls_compliant", Flag, "", Carried;
    }
}

pub mod smtp {
    keywords! { SmtpCheck;
        HELO_NAME = "helo_name", Word, "", Carried;
        HOST = "host", Block, "", Carried;
    }
}

pub mod dns {
    keywords! { DnsCheck;
        TYPE = "type", Choice, "SOA", Carried;
        NAME = "name", Word, ".", Carried;
    }
}

pub mod misc {
    keywords! { MiscCheck;
        MISC_PATH = "misc_path", Command, "", Carried;
        MISC_TIMEOUT = "misc_timeout", Seconds, (derived "`delay_loop`"), Carried;
        MISC_DYNAMIC = "misc_dynamic", Flag, "", Carried;
        USER = "user", Words, (derived "`script_user`"), Carried;
    }
}

pub mod udp {
    keywords! { UdpCheck;
        PAYLOAD = "payload", Word, "", Carried;
        REQUIRE_REPLY = "require_reply", Word, "", Carried;
        MIN_REPLY_LENGTH = "min_reply_length", Int, "0", Carried;
        MAX_REPLY_LENGTH = "max_reply_length", Int, "255", Carried;
    }
}

pub mod file {
    keywords! { FileCheck;
        TRACK_FILE = "track_file", Word, "", Carried;
        WEIGHT = "weight", Words, (derived "the track_file's `weight`"), Carried;
        DYNAMIC = "dynamic", Flag, "", Ignored("keepalived 2.2.7's FILE_CHECK has no such keyword (check_file.c installs only track_file and weight): the file's value × weight always applies");
    }
}

pub mod bfd {
    keywords! { BfdCheck;
        NAME = "name", Word, "", Carried;
        ALPHA = "alpha", Flag, "", Carried;
    }
}
