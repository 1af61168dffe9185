#!/usr/bin/env bash
# A namespace lab: two keepalived-rs routers and a client on one bridge. It shows the
# VIP on the master, kills the master (kill -9 and its link down, as a host dying), shows
# the VIP move and the client still reaching it, then cleans everything up.
# Needs root and iproute2. Usage: examples/lab.sh [path/to/keepalived-rs]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-./target/release/keepalived-rs}
[ -x "$BIN" ] || cargo build --release -q -p keepalived-linux
command -v ping >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iputils-ping >/dev/null
VIP=10.70.0.100
DIR=$(mktemp -d)
NS="lab-sw lab-r1 lab-r2 lab-client"

cleanup() {
  for p in "$DIR"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$DIR"
}
trap cleanup EXIT

for n in $NS; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n lab-sw link add br0 type bridge
ip -n lab-sw link set br0 up
i=1
for n in lab-r1 lab-r2 lab-client; do
  ip link add "lab$i" netns lab-sw type veth peer name eth0 netns "$n"
  ip -n lab-sw link set "lab$i" master br0 up
  ip -n "$n" addr add "10.70.0.$i/24" dev eth0
  ip -n "$n" link set eth0 up
  i=$((i + 1))
done

start() { # name priority
  cat > "$DIR/$1.conf" <<CONF
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 70
    priority $2
    advert_int 1
    virtual_ipaddress {
        $VIP/24
    }
}
CONF
  # Its own process group (setsid), so a "host death" can take the parent and its VRRP
  # child at once.
  setsid ip netns exec "lab-$1" "$BIN" -n -l -G -P -f "$DIR/$1.conf" -p "$DIR/$1.main" -r "$DIR/$1.vrrp" \
    > "$DIR/$1.log" 2>&1 &
  echo $! > "$DIR/$1.pid"
}

holder() { # routers whose link is up and that hold the VIP
  for r in r1 r2; do
    if ip -n "lab-$r" -br addr show dev eth0 up | grep -q "$VIP/"; then echo "$r"; fi
  done
}

start r1 150
start r2 100
echo "lab: r1 (priority 150) and r2 (100) elect; VIP $VIP"
sleep 5
echo "lab: VIP held by: $(holder)"
ip netns exec lab-client ping -c 2 -W 1 "$VIP" | tail -n 2

echo "lab: r1 dies (kill -9, link down)"
kill -9 -- -"$(cat "$DIR/r1.pid")"
ip -n lab-r1 link set eth0 down
start_t=$(date +%s.%N)
for _ in $(seq 200); do [ "$(holder)" = "r2" ] && break; sleep 0.05; done
echo "lab: VIP held by: $(holder), $(awk -v a="$start_t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s after the kill"
ip netns exec lab-client ping -c 2 -W 1 "$VIP" | tail -n 2
echo "lab: r2's log:"
sed 's/^/    /' "$DIR/r2.log"
echo "lab: cleaning up"
