#![no_main]
//! Gratuitous ARP and unsolicited NA frame parsing.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepalived_engine::wire::fuzz::fuzz_frame_input(data);
});
