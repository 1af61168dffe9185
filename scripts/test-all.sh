#!/usr/bin/env bash
# Installs what the tests need (Debian, as root) and runs every check CI runs:
# formatting, clippy with -D warnings, the whole test suite, and the simulator's
# scenario catalogue over 50 seeds each.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# qemu-system-x86, linux-image-amd64, busybox-static and ipvsadm: the IPVS tests boot
# Debian's kernel in a VM (this machine's kernel has no IPVS). systemd: systemd-analyze
# checks the shipped unit file; groff-base (groff) the generated manual pages. snmpd, snmp and
# snmptrapd: the AgentX master agent, snmpwalk and the trap receiver for the SNMP tests. frr:
# its bfdd, a BFD peer besides keepalived's.
for pkg in keepalived tshark tcpdump iproute2 iputils-ping dnsmasq-base hyperfine time jq nftables systemd \
           groff-base binutils snmpd snmp snmptrapd frr \
           qemu-system-x86 linux-image-amd64 busybox-static ipvsadm python3-pip; do
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

# virtme-ng (vng) boots that kernel with this machine's files as its root.
if ! command -v vng >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    python3 -m pip install -q virtme-ng 2>/dev/null ||
      python3 -m pip install -q --break-system-packages virtme-ng
  else
    echo "test-all: not root; skipping install of virtme-ng" >&2
  fi
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# Every simulator scenario over 50 seeds; any invariant violation fails CI.
cargo build --release -q -p keepalived-sim
./target/release/keepalived-sim sweep sim/scenarios/*.toml --seeds 50 --jobs 2
# The director pair's scenario over 20 seeds, and `check` on its config files: the fault
# campaign must pass; on the deliberately broken pair it must fail (exit 1) naming the
# split brain.
./target/release/keepalived-sim sweep examples/director-pair/*.toml --seeds 20 --jobs 2
./target/release/keepalived-sim check examples/director-pair/lvs1.conf examples/director-pair/lvs2.conf \
  --junit target/sim-check-director-pair.xml
set +e
./target/release/keepalived-sim check examples/director-pair-broken/lvs1.conf \
  examples/director-pair-broken/lvs2.conf --seeds 1 --only baseline > target/sim-check-broken.txt
rc=$?
set -e
if [ "$rc" -ne 1 ] || ! grep -q "split brain" target/sim-check-broken.txt; then
  cat target/sim-check-broken.txt
  echo "test-all: keepalived-sim check passed a broken pair (exit $rc)" >&2
  exit 1
fi
