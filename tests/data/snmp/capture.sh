#!/bin/bash
# Regenerates the keepalived 2.2.7 SNMP reference captures in this directory.
# Needs root, keepalived 2.2.7 built with SNMP, net-snmp's snmpd, snmptrapd and
# snmpwalk, and MIB_DIR holding KEEPALIVED-MIB, VRRP-MIB, VRRPv3-MIB (from
# keepalived's doc/) plus SNMPv2-SMI, SNMPv2-TC, SNMPv2-CONF, SNMPv2-MIB,
# INET-ADDRESS-MIB, IF-MIB and IANAifType-MIB (net-snmp's mibs/), for the
# symbolic copies only.
#   usage: capture.sh OUT_DIR MIB_DIR     (KSNMP_KEEP=1 keeps the work dir)
set -euo pipefail
OUT=$(realpath "$1"); MIBDIR=$(realpath "$2")
HERE=$(dirname "$(realpath "$0")")
T=$(mktemp -d /tmp/ksnmp-run.XXXXXX)
NS=ksn1; PEER_NS=ksn2
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait || true
    ip netns del $NS 2>/dev/null || true
    ip netns del $PEER_NS 2>/dev/null || true
    [ -n "${KSNMP_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# nsenter execs the program (ip netns exec forks), so $! is the daemon itself.
NSX="nsenter --net=/run/netns/$NS --"

ip netns add $NS
ip netns add $PEER_NS
$NSX sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip netns exec $PEER_NS sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n $NS link set lo up
ip -n $PEER_NS link set lo up
ip -n $NS link add eth0 type veth peer name eth0p netns $PEER_NS
ip -n $NS link set eth0 address 02:00:00:00:00:01
ip -n $NS addr add 192.0.2.2/24 dev eth0
ip -n $NS addr add 2001:db8::2/64 dev eth0 nodad
ip -n $NS link set eth0 up
ip -n $PEER_NS link set eth0p address 02:00:00:00:00:03
ip -n $PEER_NS addr add 192.0.2.3/24 dev eth0p
ip -n $PEER_NS addr add 2001:db8::3/64 dev eth0p nodad
ip -n $PEER_NS link set eth0p up
ip -n $NS link add eth1 type veth peer name eth1p netns $PEER_NS
ip -n $NS link set eth1 address 02:00:00:00:00:02
ip -n $NS link set eth1 up
ip -n $PEER_NS link set eth1p up

cat > $T/snmpd.conf <<CONF
master agentx
agentXSocket unix:$T/agentx.sock
agentaddress udp:127.0.0.1:1161
rocommunity public 127.0.0.1
trap2sink 127.0.0.1:1162 public
CONF
cat > $T/snmptrapd.conf <<CONF
authCommunity log public
format2 ==== TRAP %b%V\n% \n%v\n
CONF

export SNMP_PERSISTENT_DIR=$T/persist MIBS=
mkdir -p $T/persist
$NSX snmptrapd -f -Lf $T/traps.log -C -c $T/snmptrapd.conf -On -Ob \
    --disableAuthorization=yes udp:127.0.0.1:1162 &
PIDS+=($!)
$NSX snmpd -f -Lf $T/snmpd.log -C -c $T/snmpd.conf &
PIDS+=($!)
for _ in $(seq 50); do [ -S $T/agentx.sock ] && break; sleep 0.1; done
# keepalived talks to snmpd through a relay that logs every AgentX PDU.
python3 "$HERE/agentx_tap.py" $T/agentx-tap.sock $T/agentx.sock $T/agentx.log &
PIDS+=($!)
for _ in $(seq 50); do [ -S $T/agentx-tap.sock ] && break; sleep 0.1; done
sleep 1

mark() { grep -c '^==== TRAP' $T/traps.log || true; }

$NSX keepalived -P -x -n -l -D -f "$HERE/vrrp.conf" -A unix:$T/agentx-tap.sock \
    -p $T/keepalived.pid -r $T/vrrp.pid > $T/keepalived.log 2>&1 &
KA=$!
PIDS+=($KA)

# All three instances are MASTER after the master-down interval.
for _ in $(seq 100); do
    [ "$(grep -c 'Entering MASTER STATE' $T/keepalived.log || true)" -ge 3 ] && break
    sleep 0.2
done
sleep 3

W="snmpwalk -v2c -c public -On -Ob 127.0.0.1:1161"
S="snmpwalk -v2c -c public -M $MIBDIR -m ALL 127.0.0.1:1161"
$NSX $W .1.3.6.1.4.1.9586.100.5 > $OUT/keepalived-2.2.7-walk-keepalived.txt
$NSX $W .1.3.6.1.2.1.68 > $OUT/keepalived-2.2.7-walk-vrrp-rfc2787.txt
$NSX $W .1.3.6.1.2.1.207 > $OUT/keepalived-2.2.7-walk-vrrpv3-rfc6527.txt
A_WALKED=$(wc -l < $T/agentx.log)
$NSX $S .1.3.6.1.4.1.9586.100.5 > $OUT/keepalived-2.2.7-walk-keepalived.sym.txt
$NSX $S .1.3.6.1.2.1.68 > $OUT/keepalived-2.2.7-walk-vrrp-rfc2787.sym.txt
$NSX $S .1.3.6.1.2.1.207 > $OUT/keepalived-2.2.7-walk-vrrpv3-rfc6527.sym.txt
M_START=$(mark)

# Forced failover: eth1 (tracked by VI_V2) goes down, so VI_V2 enters FAULT and
# the sync group drags VI_V3 with it; eth1 comes back after the walk.
ip -n $NS link set eth1 down
sleep 3
for oid in .1.3.6.1.4.1.9586.100.5 .1.3.6.1.2.1.68 .1.3.6.1.2.1.207; do
    $NSX $W $oid
done > $OUT/keepalived-2.2.7-walk-fault.txt
ip -n $NS link set eth1 up
for _ in $(seq 100); do
    [ "$(grep -c 'Entering MASTER STATE' $T/keepalived.log || true)" -ge 5 ] && break
    sleep 0.2
done
sleep 3
M_FAIL=$(mark)

# Preempted: a peer with higher priorities starts on the other end of eth0, so
# every instance here becomes BACKUP; when the peer stops (sending priority 0)
# they take over again.
nsenter --net=/run/netns/$PEER_NS -- keepalived -P -n -l -D -f "$HERE/peer.conf" \
    -p $T/peer.pid -r $T/peer-vrrp.pid > $T/peer.log 2>&1 &
PEER=$!
PIDS+=($PEER)
for _ in $(seq 100); do
    [ "$(grep -c 'Entering BACKUP STATE$' $T/keepalived.log || true)" -ge 6 ] && break
    sleep 0.2
done
sleep 3
for oid in .1.3.6.1.4.1.9586.100.5 .1.3.6.1.2.1.68 .1.3.6.1.2.1.207; do
    $NSX $W $oid
done > $OUT/keepalived-2.2.7-walk-backup.txt
kill -TERM $PEER
wait $PEER || true
for _ in $(seq 100); do
    [ "$(grep -c 'Entering MASTER STATE' $T/keepalived.log || true)" -ge 8 ] && break
    sleep 0.2
done
sleep 3
M_PEER=$(mark)

kill -TERM $KA
wait $KA || true
sleep 2
M_STOP=$(mark)

split_traps() { # from-count to-count
    awk -v a="$1" -v b="$2" '/^==== TRAP/{n++} n>a && n<=b' $T/traps.log
}
split_traps 0 "$M_START" > $OUT/keepalived-2.2.7-traps-start.txt
split_traps "$M_START" "$M_FAIL" > $OUT/keepalived-2.2.7-traps-failover.txt
split_traps "$M_FAIL" "$M_PEER" > $OUT/keepalived-2.2.7-traps-preempted.txt
split_traps "$M_PEER" "$M_STOP" > $OUT/keepalived-2.2.7-traps-stop.txt
cp $T/keepalived.log $OUT/keepalived-2.2.7-run.log
cp $T/peer.log $OUT/keepalived-2.2.7-peer-run.log
# The AgentX log keeps every PDU up to the end of the three numeric walks;
# after that only the sub-agent's own requests and the master's answers
# (the later walks repeat the same Get traffic).
awk -v a="$A_WALKED" 'NR <= a || !/(<< Get|>> Response)/' $T/agentx.log \
    > $OUT/keepalived-2.2.7-agentx.txt
[ -z "${KSNMP_KEEP:-}" ] || echo "work dir: $T"
