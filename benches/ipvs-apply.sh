#!/usr/bin/env bash
# Time for the checker to program IPVS: a config of VS virtual servers × RS real servers
# (2,000 × 20 = 42,000 netlink commands) applied from an empty table, then a SIGHUP to a
# config that differs in 1 % of it (one real server in a hundred reweighted, one virtual
# server in a hundred replaced: 20 DEL_SERVICE, 20 NEW_SERVICE, 400 NEW_DEST and the
# SET_DESTs). Real servers have no checkers, so everything is in the table from the start
# and what is timed is the table's programming.
#
#   benches/ipvs-apply.sh                 # 3 runs, 2,000 × 20
#   RUNS=1 VS=200 benches/ipvs-apply.sh   # a quick look
#
# The kernel here has no IPVS, so this boots Debian's kernel under qemu without KVM
# (virtme-ng, as the IPVS tests do) and runs every measurement inside it; software
# emulation makes every system call far slower than on hardware, so these are upper
# bounds. The figures are the daemon's own ("IPVS: initial table applied: N changes, F
# failed, in X ms", from opening IPVS to the last command's ack; "IPVS: reload applied
# … in X ms", from SIGHUP to the last ack), plus the wall time from starting the daemon
# to that line. The kernel's table is counted with ipvsadm after each step. Medians are
# printed as a Markdown table; every run goes to $OUT/result.json.
#
# Settings (environment): RUNS=3 VS=2000 RS=20 OUT=target/ipvs-apply. Needs root,
# qemu-system-x86, linux-image-amd64, ipvsadm, virtme-ng (vng), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
VS=${VS:-2000}
RS=${RS:-20}
OUT=${OUT:-target/ipvs-apply}

if [ -n "${IPVS_APPLY_INNER:-}" ]; then
    # Inside the VM: $OUT is shared with the host.
    bin=$PWD/target/release
    modprobe ip_vs
    ns=ipvsbench
    wait_line() { # file pattern timeout_s
        local i=0
        # The tail only: a stop logs a line per real server, and grepping 40,000 lines five
        # times a second under emulation would be most of what is measured.
        until tail -n 200 "$1" | grep -q "$2"; do
            sleep 0.2
            i=$((i + 1))
            if [ $i -gt $(($3 * 5)) ]; then
                echo "timed out waiting for '$2' in $1" >&2
                cat "$1" >&2
                return 1
            fi
        done
    }
    ms_of() { grep "$2" "$1" | tail -1 | sed -E 's/.* in ([0-9]+) ms.*/\1/'; }
    changes_of() { grep "$2" "$1" | tail -1 | sed -E 's/.*applied: ([0-9]+) changes, ([0-9]+) failed.*/\1 \2/'; }
    dests() { ip netns exec $ns ipvsadm -Ln | grep -- '->' | grep -vc RemoteAddress || true; }
    services() { ip netns exec $ns ipvsadm -Ln | grep -cE '^(TCP|UDP|SCTP|FWM)' || true; }
    : > "$OUT/runs.txt"
    : > "$OUT/progress.txt"
    note() { echo "$(date +%T) run $run: $*" >> "$OUT/progress.txt"; }
    for run in $(seq 1 "$RUNS"); do
        ip netns del $ns 2>/dev/null || true
        ip netns add $ns
        ip -n $ns link set lo up
        work=/tmp/ipvs-apply-$run
        mkdir -p $work
        cp "$OUT/initial.conf" $work/run.conf
        log=$work/daemon.log
        t0=$(date +%s%N)
        ip netns exec $ns "$bin/keepalived-rs" -n -l -C -f $work/run.conf \
            -p $work/p -r $work/r -c $work/c > $log 2>&1 &
        note "daemon started"
        wait_line $log "IPVS: initial table applied" 1800
        t1=$(date +%s%N)
        note "initial table applied"

        init_ms=$(ms_of $log "IPVS: initial table applied")
        read -r init_changes init_failed <<< "$(changes_of $log "IPVS: initial table applied")"
        init_services=$(services); init_dests=$(dests)
        cp "$OUT/changed.conf" $work/run.conf
        note "counted: $init_services services, $init_dests destinations"
        kill -HUP "$(cat $work/p)"
        wait_line $log "IPVS: reload applied" 1800
        note "reload applied"
        reload_ms=$(ms_of $log "IPVS: reload applied")
        read -r reload_changes reload_failed <<< "$(changes_of $log "IPVS: reload applied")"
        reload_services=$(services); reload_dests=$(dests)
        note "counted: $reload_services services, $reload_dests destinations"
        kill -TERM "$(cat $work/p)"
        wait_line $log "IPVS: removal on stop applied" 1800
        stop_ms=$(ms_of $log "IPVS: removal on stop applied")
        wait_line $log "Healthcheck child process.*exited" 600 || true
        note "stopped"
        wait || true
        echo "$run $init_ms $(( (t1 - t0) / 1000000 )) $init_changes $init_failed $init_services $init_dests $reload_ms $reload_changes $reload_failed $reload_services $reload_dests $stop_ms" | tee -a "$OUT/runs.txt"
        cp $log "$OUT/daemon-$run.log"
        ip netns del $ns
    done
    exit 0
fi

kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort | tail -1)
[ -n "$kernel" ] || { echo "no kernel in /boot: apt-get install linux-image-amd64" >&2; exit 1; }
command -v vng >/dev/null || { echo "vng missing: pip install virtme-ng" >&2; exit 1; }
cargo build --release -q -p keepalived-linux -p keepalived-benches
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
target/release/gen-ipvs-config "$VS" "$RS" > "$OUT/initial.conf"
target/release/gen-ipvs-config "$VS" "$RS" changed > "$OUT/changed.conf"
echo "booting $kernel under qemu (no KVM) for $RUNS run(s) of $VS × $RS"
vng --run "$kernel" --disable-kvm --memory 2G --cpus 2 --rwdir "$OUT" \
    --exec "env IPVS_APPLY_INNER=1 RUNS=$RUNS VS=$VS RS=$RS OUT=$OUT bash benches/ipvs-apply.sh" \
    < /dev/null

python3 - "$OUT" "$VS" "$RS" <<'PY'
import json, statistics, sys
out, vs, rs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = ["run", "initial_ms", "initial_wall_ms", "initial_changes", "initial_failed",
        "initial_services", "initial_dests", "reload_ms", "reload_changes",
        "reload_failed", "reload_services", "reload_dests", "stop_ms"]
runs = [dict(zip(keys, map(int, l.split()))) for l in open(f"{out}/runs.txt") if l.strip()]
if not runs:
    sys.exit("no runs recorded")
med = {k: statistics.median(r[k] for r in runs) for k in keys[1:]}
result = {"virtual_servers": vs, "real_servers_each": rs, "runs": runs, "median": med,
          "environment": "Debian kernel under qemu without KVM (software emulation)"}
json.dump(result, open(f"{out}/result.json", "w"), indent=2)
print(f"\n{len(runs)} run(s), medians; table counted with ipvsadm after each step\n")
print("| step | netlink changes | failed | daemon's time | wall time | services | destinations |")
print("|---|---|---|---|---|---|---|")
print(f"| {vs} × {rs} from empty | {med['initial_changes']:.0f} | {med['initial_failed']:.0f} | {med['initial_ms']:.0f} ms | {med['initial_wall_ms']:.0f} ms | {med['initial_services']:.0f} | {med['initial_dests']:.0f} |")
print(f"| reload changing 1 % | {med['reload_changes']:.0f} | {med['reload_failed']:.0f} | {med['reload_ms']:.0f} ms | – | {med['reload_services']:.0f} | {med['reload_dests']:.0f} |")
print(f"| SIGTERM: remove the {vs} services | {vs} | – | {med['stop_ms']:.0f} ms | – | 0 | 0 |")
print(f"\nper change: {med['initial_ms'] / max(med['initial_changes'], 1) * 1000:.0f} µs from empty, "
      f"{med['reload_ms'] / max(med['reload_changes'], 1) * 1000:.0f} µs on reload; results in {out}/result.json")
PY
