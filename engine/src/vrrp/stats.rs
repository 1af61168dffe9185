//! The per-instance statistics keepalived prints on SIGUSR2 (`vrrp_print_stats()`).

use super::receive::Counter;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    pub chk_err: u64,
    pub vers_err: u64,
}

impl Stats {
    pub fn bump(&mut self, c: Counter) {
        let f = match c {
            Counter::PacketLenErr => &mut self.packet_len_err,
            Counter::IpTtlErr => &mut self.ip_ttl_err,
            Counter::VersErr => &mut self.vers_err,
            Counter::InvalidAuthtype => &mut self.invalid_authtype,
            Counter::AuthtypeMismatch => &mut self.authtype_mismatch,
            Counter::AuthFailure => &mut self.auth_failure,
            Counter::InvalidTypeRcvd => &mut self.invalid_type_rcvd,
            Counter::ChkErr => &mut self.chk_err,
            Counter::AddrListErr => &mut self.addr_list_err,
            Counter::AdvertRcvd => &mut self.advert_rcvd,
            Counter::PriZeroRcvd => &mut self.pri_zero_rcvd,
        };
        *f += 1;
    }

    /// The SIGUSR2 text block for one instance, in keepalived's layout.
    pub fn render(&self, instance: &str) -> String {
        format!(
            "VRRP Instance: {instance}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  Became master: {}\n  \
             Released master: {}\n  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: 0\n    Address List: {}\n  Authentication Errors:\n    Invalid Type: {}\n    \
             Type Mismatch: {}\n    Failure: {}\n  Priority Zero:\n    Received: {}\n    Sent: {}\n",
            self.advert_rcvd,
            self.advert_sent,
            self.become_master,
            self.release_master,
            self.packet_len_err,
            self.ip_ttl_err,
            self.invalid_type_rcvd,
            self.addr_list_err,
            self.invalid_authtype,
            self.authtype_mismatch,
            self.auth_failure,
            self.pri_zero_rcvd,
            self.pri_zero_sent,
        )
    }
}
