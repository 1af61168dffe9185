#!/usr/bin/env bash
# Side by side: `keepalived-rs -t` and `keepalived -t` on the same 2,000 × 20 TCP_CHECK
# config, whole processes, same run. Prints median wall time (hyperfine) and peak RSS
# (/usr/bin/time). Needs: keepalived, hyperfine, time, jq (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p keepalived-linux -p keepalived-benches
conf=$(mktemp --suffix=.conf)
json=$(mktemp --suffix=.json)
trap 'rm -f "$conf" "$json"' EXIT
./target/release/gen-config 2000 20 > "$conf"
echo "config: $(wc -c < "$conf") bytes, $(wc -l < "$conf") lines"
rss() { /usr/bin/time -f '%M' "$@" >/dev/null 2>/tmp/rss.$$ || true; tail -n1 /tmp/rss.$$; rm -f /tmp/rss.$$; }
echo "peak RSS keepalived-rs -t: $(rss ./target/release/keepalived-rs -t -f "$conf") KiB"
echo "peak RSS keepalived -t:    $(rss keepalived -t -f "$conf") KiB"
hyperfine --warmup 2 --runs 15 -i -N --export-json "$json" \
  -n keepalived-rs "./target/release/keepalived-rs -t -f $conf" \
  -n keepalived "keepalived -t -f $conf"
# hyperfine's summary gives means; the medians are steadier on a busy machine.
jq -r '.results[] | "median \(.command): \(.median * 1000 | round) ms"' "$json"
