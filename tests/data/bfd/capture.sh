#!/bin/bash
# Captures keepalived 2.2.7's BFD control packets (RFC 5880 §4.1, RFC 5881 UDP 3784) between
# two namespaces joined by a veth pair, each running keepalived with one bfd_instance
# (min_rx/min_tx 100 ms, multiplier 3) and one vrrp_instance that tracks it (track_bfd).
#
# Writes to OUT (default: this directory):
#   keepalived.pcap         the whole exchange, seen on side A's interface
#   keepalived-<state>.bin  one raw UDP payload of each kind (see the README)
#   capture.log             what each step did, both daemons' logs, and tshark's summary
# Needs root, iproute2, tcpdump, tshark, nft, keepalived (Debian's 2.2.7).
# Namespaces: kbfd5c1 (side A, 192.168.250.1) and kbfd5c2 (side B, 192.168.250.2).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
W=$(mktemp -d /tmp/kbfd5-capture.XXXXXX)
NS=(kbfd5c1 kbfd5c2)
IF=(kbfd5ca1 kbfd5ca2)
ADDR=(192.168.250.1 192.168.250.2)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
trap cleanup EXIT
log() { echo "$(date +%s.%N) $*" | tee -a "$W/steps.log"; }

for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add "${IF[0]}" netns "${NS[0]}" type veth peer name "${IF[1]}" netns "${NS[1]}"
for i in 0 1; do
    ip -n "${NS[$i]}" addr add "${ADDR[$i]}/24" dev "${IF[$i]}"
    ip -n "${NS[$i]}" link set "${IF[$i]}" up
done

# Side i's config: a BFD session to the other side, and a VRRP instance tracking it
# (priorities 200 on A, 100 on B, so A becomes master once the session is Up).
conf() {
    local i=$1 j=$((1 - $1)) prio=$((200 - 100 * $1))
    cat >"$W/side$i.conf" <<CONF
global_defs {
  router_id kbfd5side$i
}
bfd_instance BFD_1 {
  neighbor_ip ${ADDR[$j]}
  source_ip ${ADDR[$i]}
  min_rx 100
  min_tx 100
  multiplier 3
}
vrrp_instance VI_1 {
  state BACKUP
  interface ${IF[$i]}
  virtual_router_id 250
  priority $prio
  advert_int 1
  virtual_ipaddress {
    10.250.0.100/24
  }
  track_bfd {
    BFD_1
  }
}
CONF
}
start() {
    local i=$1
    conf "$i"
    ip netns exec "${NS[$i]}" keepalived -n -l -D -P -f "$W/side$i.conf" \
        -p "$W/side$i.p" -r "$W/side$i.r" -c "$W/side$i.c" -b "$W/side$i.b" \
        >"$W/side$i.log" 2>&1 &
    PIDS+=($!)
    eval "KA$i=$!"
}

ip netns exec "${NS[0]}" tcpdump -i "${IF[0]}" -n -U -w "$W/keepalived.pcap" 'udp port 3784 or vrrp' \
    2>"$W/tcpdump.err" &
PIDS+=($!)
TCPDUMP=$!
sleep 1

log "A starts alone: it sends Down with your-discr 0 at the slow rate"
start 0
sleep 3
log "B starts: Down -> Init -> Up, then the poll sequence to 100 ms"
start 1
sleep 4
log "B's namespace drops A's BFD packets for 2 s: B detects Down, A sees B's Down"
ip netns exec "${NS[1]}" nft -f - <<NFT
table inet kbfd5 {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 3784 ip saddr ${ADDR[0]} drop
  }
}
NFT
sleep 2
log "unblocked: the session comes Up again with new discriminators"
ip netns exec "${NS[1]}" nft delete table inet kbfd5
sleep 4
log "SIGTERM to B (keepalived 2.2.7 sends no AdminDown)"
kill -TERM "$KA1"
sleep 3
log "SIGTERM to A"
kill -TERM "$KA0"
sleep 2
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null || true

mkdir -p "$OUT"
cp "$W/keepalived.pcap" "$OUT/keepalived.pcap"
FIELDS=(-e frame.time_epoch -e ip.src -e bfd.sta -e bfd.diag -e bfd.flags.p -e bfd.flags.f
        -e bfd.my_discriminator -e bfd.your_discriminator -e bfd.desired_min_tx_interval
        -e bfd.required_min_rx_interval -e udp.payload)
tshark -r "$W/keepalived.pcap" -Y bfd -T fields -E separator=' ' "${FIELDS[@]}" >"$W/bfd.txt" 2>/dev/null

# The first payload matching each kind. States: 0 AdminDown, 1 Down, 2 Init, 3 Up; P and F
# as 1 or 0 (tshark prints them as True/False or 1/0 by version).
pick() {
    local name=$1 cond=$2
    local hex
    hex=$(awk "$cond { print \$11; exit }" "$W/bfd.txt")
    if [ -n "$hex" ]; then
        echo "$hex" | xxd -r -p >"$OUT/keepalived-$name.bin"
        log "keepalived-$name.bin: $hex"
    else
        log "no packet for keepalived-$name"
    fi
}
sed -e 's/True/1/g' -e 's/False/0/g' -i "$W/bfd.txt"
pick down          '$3 == 1 && $8 == "0x00000000"'
pick down-expired  '$3 == 1 && $4 == "0x01"'
pick down-neighbor '$3 == 1 && $4 == "0x03"'
pick init          '$3 == 2'
pick up            '$3 == 3 && $5 == 0 && $6 == 0'
pick up-poll       '$3 == 3 && $5 == 1'
pick up-final      '$3 == 3 && $6 == 1'
pick admin-down    '$3 == 0'

{
    echo "== steps"; cat "$W/steps.log"
    echo "== tshark: time src state diag P F my-discr your-discr min-tx min-rx"
    cut -d' ' -f1-10 "$W/bfd.txt"
    echo "== vrrp adverts"
    tshark -r "$W/keepalived.pcap" -Y vrrp -T fields -e frame.time_epoch -e ip.src -e vrrp.prio 2>/dev/null
    for i in 0 1; do echo "== side $i log"; cat "$W/side$i.log"; done
} >"$OUT/capture.log"
rm -rf "$W"
