#!/bin/bash
# Regenerates the keepalived 2.2.7 checker SNMP captures (KEEPALIVED-MIB `.3`) in this
# directory. keepalived's checker needs IPVS, so this boots the newest Debian kernel in
# /boot under qemu with virtme-ng (the guest's root is this machine's filesystem, so
# keepalived, snmpd, snmptrapd and snmpwalk are the host's) and runs itself there with
# --inner. Needs root, vng, keepalived 2.2.7 built with SNMP, net-snmp 5.9.
#   usage: capture-checker.sh [OUT_DIR]        (default: this directory)
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")

if [ "${1:-}" != --inner ]; then
    OUT=$(realpath "${1:-$HERE}")
    KERNEL=$(ls /boot/vmlinuz-* | sort | tail -n 1)
    # The flags of tests/src/host.rs's run_in_vm, plus root and a writable OUT_DIR.
    exec vng --run "$KERNEL" --disable-kvm --memory 1G --cpus 2 --user root \
        --rwdir="$OUT" --exec "bash $HERE/capture-checker.sh --inner $OUT"
fi

OUT=$2
NS=kck1
# checker.conf's snmp_socket lives here (the guest's /tmp is its own).
T=/tmp/kck-checker
rm -rf $T
mkdir -p $T/persist
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait || true
    ip netns del $NS 2>/dev/null || true
}
trap cleanup EXIT

NSX="nsenter --net=/run/netns/$NS --"
modprobe ip_vs
ip netns add $NS
ip -n $NS link set lo up
ip -n $NS link add eth0 type dummy
for a in 192.0.2.2 192.0.2.11 192.0.2.12 192.0.2.13; do
    ip -n $NS addr add $a/24 dev eth0
done
# The virtual server's address is local, so the client below goes through IPVS.
ip -n $NS addr add 10.0.0.100/32 dev eth0
ip -n $NS link set eth0 up

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
# A TCP listener standing for a real server: accepts and closes.
cat > $T/listen.py <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
while True:
    s.accept()[0].close()
PY
# A client: N connections to ADDR:PORT, each sending one line.
cat > $T/connect.py <<'PY'
import socket, sys
for _ in range(int(sys.argv[3])):
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    c.sendall(b"hello\n")
    c.close()
PY

export SNMP_PERSISTENT_DIR=$T/persist MIBS=
$NSX snmptrapd -f -Lf $T/traps.log -C -c $T/snmptrapd.conf -On -Ob \
    --disableAuthorization=yes udp:127.0.0.1:1162 &
PIDS+=($!)
$NSX snmpd -f -Lf $T/snmpd.log -C -c $T/snmpd.conf &
PIDS+=($!)
for _ in $(seq 100); do [ -S $T/agentx.sock ] && break; sleep 0.2; done
$NSX /usr/bin/python3 $T/listen.py 192.0.2.11 80 &
RS1=$!
PIDS+=($RS1)
$NSX /usr/bin/python3 $T/listen.py 192.0.2.12 80 &
PIDS+=($!)
sleep 3

mark() { grep -c '^==== TRAP' $T/traps.log || true; }
W="snmpwalk -v2c -c public -On -Ob 127.0.0.1:1161 .1.3.6.1.4.1.9586.100.5"

$NSX keepalived -C -x -n -l -D -f "$HERE/checker.conf" -A unix:$T/agentx.sock \
    -p $T/keepalived.pid -c $T/checkers.pid > $T/keepalived.log 2>&1 &
KA=$!
PIDS+=($KA)

# Settled: the alpha real server of the group is up (its first MISC_CHECK) and every
# checker has run a few times.
for _ in $(seq 150); do
    grep -q 'Adding service \[192.0.2.13\]:tcp:8080' $T/keepalived.log && break
    sleep 0.2
done
# Five connections through the virtual server, so that the IPVS counters are not all
# zero (the rates are 2 s estimates, run-dependent).
$NSX /usr/bin/python3 $T/connect.py 10.0.0.100 80 5 || echo "client failed" >&2
sleep 8
$NSX $W > $OUT/keepalived-2.2.7-walk-checker.txt
$NSX ipvsadm -Ln --stats > $T/ipvs-settled.txt
M_START=$(mark)

# 192.0.2.11 (weight 3) stops listening: its TCP_CHECK fails, it leaves the pool, and
# the alive weight (1) falls below quorum - hysteresis (2), so the sorry server comes in.
kill $RS1
for _ in $(seq 150); do
    grep -q 'Removing service \[192.0.2.11\]:tcp:80' $T/keepalived.log && break
    sleep 0.2
done
sleep 6
$NSX $W > $OUT/keepalived-2.2.7-walk-checker-rs-down.txt
$NSX ipvsadm -Ln --stats > $T/ipvs-rs-down.txt
M_DOWN=$(mark)

kill -TERM $KA
wait $KA || true
sleep 2
M_STOP=$(mark)

split_traps() { # from-count to-count
    awk -v a="$1" -v b="$2" '/^==== TRAP/{n++} n>a && n<=b' $T/traps.log
}
{
    echo "# phase: start (until the checkers settle)"
    split_traps 0 "$M_START"
    echo "# phase: rs-down (192.0.2.11:80 stops listening)"
    split_traps "$M_START" "$M_DOWN"
    echo "# phase: stop (kill -TERM)"
    split_traps "$M_DOWN" "$M_STOP"
} > $OUT/keepalived-2.2.7-traps-checker.txt
{
    cat $T/keepalived.log
    echo "# ipvsadm -Ln --stats, settled"
    cat $T/ipvs-settled.txt
    echo "# ipvsadm -Ln --stats, 192.0.2.11 down"
    cat $T/ipvs-rs-down.txt
} > $OUT/keepalived-2.2.7-checker-run.log
