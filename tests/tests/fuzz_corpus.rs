//! Replays the cargo-fuzz corpus of the config front end, so CI covers it without
//! cargo-fuzz. The fuzz target and this test share `fuzz_config_input`.

use keepalived_tests::crate_dir;

#[test]
fn config_fuzz_corpus_replays_without_panic() {
    let dir = crate_dir().join("../fuzz/corpus/config");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        keepalived_engine::config::fuzz_config_input(&data);
        n += 1;
    }
    assert!(n >= 10, "corpus has only {n} inputs");
}

fn replay(target: &str, min: usize, run: fn(&[u8])) {
    let dir = crate_dir().join("../fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus exists") {
        run(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= min, "{target} corpus has only {n} inputs");
}

#[test]
fn advert_fuzz_corpus_replays_without_panic() {
    replay(
        "advert",
        10,
        keepalived_engine::vrrp::fuzz::fuzz_advert_input,
    );
}

#[test]
fn frame_fuzz_corpus_replays_without_panic() {
    replay("frame", 6, keepalived_engine::wire::fuzz::fuzz_frame_input);
}

#[test]
fn agentx_fuzz_corpus_replays_without_panic() {
    replay(
        "agentx_decode",
        10,
        keepalived_engine::agentx::fuzz::fuzz_agentx_input,
    );
}

#[test]
fn bfd_fuzz_corpus_replays_without_panic() {
    replay("bfd", 20, keepalived_engine::bfd::fuzz::fuzz_bfd_input);
}
