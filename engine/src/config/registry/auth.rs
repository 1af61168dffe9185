//! A vrrp_instance's `authentication {}` and `auth_hmac {}` (`blocks/vrrp.rs`).

pub mod authentication {
    keywords! { Authentication;
        AUTH_TYPE = "auth_type", Choice, "", Carried;
        AUTH_PASS = "auth_pass", Word, "", Carried;
    }
}

pub mod hmac {
    keywords! { AuthHmac;
        KEY = "key", Words, "", Ignored("HMAC authentication is not applied to adverts");
        ACTIVE_KEY = "active_key", Int, "", Ignored("HMAC authentication is not applied to adverts");
        ANTI_REPLAY = "anti_replay", Choice, "time", Ignored("HMAC authentication is not applied to adverts");
        TIME_WINDOW = "time_window", Int, "", Ignored("HMAC authentication is not applied to adverts");
        MODE = "mode", Choice, "enforce", Ignored("HMAC authentication is not applied to adverts");
    }
}
