#![no_main]
//! The whole config front end: lexer, includes, parser, validation.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepalived_engine::config::fuzz_config_input(data);
});
