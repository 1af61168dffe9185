#![no_main]
//! VRRP advert parse and every receive check, for each kind of receiving instance.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepalived_engine::vrrp::fuzz::fuzz_advert_input(data);
});
