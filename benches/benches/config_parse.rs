//! Parse and validate the 2,000 × 20 TCP_CHECK config (40,000 real servers).
use criterion::{criterion_group, criterion_main, Criterion};
use keepalived_engine::config::{parse_str, ParseOptions};

fn parse_big(c: &mut Criterion) {
    let text = keepalived_benches::big_config(2000, 20);
    let opts = ParseOptions::default();
    let mut g = c.benchmark_group("config");
    g.sample_size(10);
    g.bench_function("parse_validate_2000vs_x_20rs", |b| {
        b.iter(|| {
            let l = parse_str(&text, &opts);
            assert_eq!(l.config.virtual_servers.len(), 2000);
            l
        })
    });
    g.finish();
}

criterion_group!(benches, parse_big);
criterion_main!(benches);
