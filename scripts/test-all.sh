#!/usr/bin/env bash
# Installs what the tests need (Debian, as root) and runs every check CI runs:
# formatting, clippy with -D warnings, the whole test suite, and the simulator's
# scenario catalogue over 50 seeds each.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in keepalived tshark tcpdump iproute2 iputils-ping dnsmasq-base hyperfine time jq; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test-all: not root; skipping install of: ${need[*]}" >&2
  fi
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# Every simulator scenario over 50 seeds; any invariant violation fails CI.
cargo build --release -q -p keepalived-sim
./target/release/keepalived-sim sweep sim/scenarios/*.toml --seeds 50 --jobs 2
