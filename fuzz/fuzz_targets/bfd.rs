#![no_main]
//! BFD control packet parse and the session engine fed a sequence of them.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepalived_engine::bfd::fuzz::fuzz_bfd_input(data);
});
