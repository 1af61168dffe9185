#![no_main]
//! AgentX PDUs from a master agent as a stream, lone OIDs and VarBinds, and OID text.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    keepalived_engine::agentx::fuzz::fuzz_agentx_input(data);
});
