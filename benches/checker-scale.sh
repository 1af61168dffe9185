#!/usr/bin/env bash
# The checker at scale: 20,000 real servers with TCP_CHECK at delay_loop 2 s, i.e. 10,000
# checks a second, against a loopback listener that accepts every connection. Measures,
# over a fixed window after a warm-up, the checks actually done (the listener's count),
# the checker child's CPU (utime+stime from /proc/PID/stat: ms per 1,000 checks and % of
# one core), peak RSS (VmHWM) of the checker child and of the parent, and false downs
# (real servers reported DOWN on lvs_notify_fifo, and single failed checks in the log,
# while the listener was up the whole time: both must be 0). Repeats RUNS times and
# prints the medians as a Markdown table; every run and the medians go to a JSON file.
#
#   benches/checker-scale.sh                    # 3 runs × (10 s warm-up + 60 s window)
#   RUNS=1 WINDOW=20 benches/checker-scale.sh   # a quick look
#   NOFILE=1024 benches/checker-scale.sh        # start the daemon at the usual service fd limit
#
# "Keeps up" is measured two ways: checks done per second against the nominal
# VS × RS / 2 s (each checker waits delay_loop after its previous check ends, so a little
# under 1.0 is expected), and lateness: the listener notes, per real-server address, the
# time since that address's previous check, less 2 s, and reports its distribution.
# The machine should be otherwise idle: the checker's loop and the kernel's loopback
# TCP both need CPU, and a starved checker falls behind (no false downs, but lateness
# grows). Load average is printed before and after each run.
#
# Settings (environment): RUNS=3 WARMUP=10 WINDOW=60 VS=1000 RS=20 (VS × RS real
# servers), PORT=18080, LISTENER_THREADS=1, NOFILE (unset), OUT=target/checker-scale
# (per-run logs, config and result.json). Needs: a Rust toolchain, python3 (for the summary), Linux
# /proc. Runs as any user; as root it raises the hard RLIMIT_NOFILE too.
#
# The real servers are 127.(10+r).(v/250).(v%250+1):PORT, distinct loopback addresses on
# one port, so one listener on 0.0.0.0:PORT answers all of them, and each check's
# 4-tuple differs by destination address. Limits, and what the harness does about them:
# - RLIMIT_NOFILE: raised to 65536 (soft = hard) for the daemon when allowed (NOFILE=N
#   sets the soft limit instead), and reported as the checker child ends up with it
#   (the checker raises its own to what its checkers need, as keepalived does), with the
#   most fds the checker held at once (sampled every second).
# - Ephemeral ports: not changed. net.ipv4.ip_local_port_range and
#   net.ipv4.tcp_max_tw_buckets are reported, with the TIME-WAIT count at the end of
#   each run and the kernel counters TCPTimeWaitOverflow (TIME-WAIT table full: the
#   socket is freed at once, harmless here) and, in the checker's log, any failed check,
#   which is where "cannot assign requested address" would show if ports ran out.
# - The listener keeping up: its accept queue is 4096 (capped by net.core.somaxconn);
#   the kernel counters ListenOverflows and ListenDrops over the run must stay 0.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-60}
VS=${VS:-1000}
RS=${RS:-20}
PORT=${PORT:-18080}
LISTENER_THREADS=${LISTENER_THREADS:-1}
OUT=${OUT:-target/checker-scale}

cargo build --release -q -p keepalived-linux -p keepalived-benches
bin=$PWD/target/release
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# The fd limit the daemon (and its checker child, which inherits it) starts with:
# NOFILE=N sets the soft limit to N (1024 is the usual default for services), else the
# soft limit is raised to the hard one, itself raised to 65536 where allowed.
if [ -n "${NOFILE:-}" ]; then
  ulimit -Sn "$NOFILE"
else
  want_nofile=65536
  if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt $want_nofile ]; then
    ulimit -Hn $want_nofile 2>/dev/null || true
  fi
  ulimit -Sn "$(ulimit -Hn)"
fi

clk_tck=$(getconf CLK_TCK)
now() { date +%s.%N; }
# utime+stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat; the
# command name in field 2 may hold spaces, so count from its closing parenthesis).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# A counter of /proc/net/netstat or /proc/net/snmp: "TcpExt ListenOverflows".
netstat_get() {
  awk -v g="$1:" -v n="$2" '
    $1 == g && !hdr[g] { for (i = 2; i <= NF; i++) col[i] = $i; hdr[g] = 1; next }
    $1 == g && hdr[g]  { for (i = 2; i <= NF; i++) if (col[i] == n) print $i }' \
    /proc/net/netstat /proc/net/snmp
}
time_wait() { awk '$1 == "TCP:" { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat; }
# The listener's last report: "<ms since its start> <accepted> <accept errors>".
listener_line() { tail -n 1 "$1"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

run_one() {
  local n=$1 dir=$OUT/run$1
  rm -rf "$dir"
  mkdir -p "$dir"
  local fifo=$dir/lvs.fifo
  mkfifo "$fifo"
  "$bin/gen-check-config" "$VS" "$RS" "$PORT" "$fifo" > "$dir/check.conf"

  "$bin/accept-listener" "$PORT" "$LISTENER_THREADS" 2000 > "$dir/listener.out" 2> "$dir/listener.err" &
  local lpid=$!
  pids+=("$lpid")
  # Opens once the daemon opens the FIFO; ends when the daemon closes it.
  cat "$fifo" > "$dir/fifo.log" &
  pids+=($!)
  sleep 1
  kill -0 "$lpid" || { cat "$dir/listener.err" >&2; return 1; }

  local ovf0 drops0 twovf0
  ovf0=$(netstat_get TcpExt ListenOverflows)
  drops0=$(netstat_get TcpExt ListenDrops)
  twovf0=$(netstat_get TcpExt TCPTimeWaitOverflow)

  "$bin/keepalived-rs" -n -l -G -C -f "$dir/check.conf" \
    -p "$dir/parent.pid" -c "$dir/checker.pid" > "$dir/keepalived.log" 2>&1 &
  local kpid=$!
  pids+=("$kpid")
  local i=0
  while [ ! -s "$dir/checker.pid" ]; do
    sleep 0.1
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "no checker child after 30 s" >&2; tail "$dir/keepalived.log" >&2; return 1; }
  done
  local chk
  chk=$(cat "$dir/checker.pid")
  local nofile
  nofile=$(awk '/Max open files/ {print $4 "/" $5}' "/proc/$chk/limits")

  sleep "$WARMUP"
  local t0 c0 l0 line0 fails0 downs0
  t0=$(now); c0=$(cpu_ticks "$chk"); l0=$(cpu_ticks "$lpid"); line0=$(listener_line "$dir/listener.out")
  fails0=$(grep -c 'failed' "$dir/keepalived.log" || true)
  downs0=$(grep -c ' DOWN$' "$dir/fifo.log" || true)
  local maxfd=0 fd
  for ((s = 0; s < WINDOW; s++)); do
    sleep 1
    fd=$(find "/proc/$chk/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ "$fd" -le "$maxfd" ] || maxfd=$fd
  done
  local t1 c1 l1 line1
  t1=$(now); c1=$(cpu_ticks "$chk"); l1=$(cpu_ticks "$lpid"); line1=$(listener_line "$dir/listener.out")
  local hwm_chk rss_chk hwm_par tw
  hwm_chk=$(status_kb "$chk" VmHWM); rss_chk=$(status_kb "$chk" VmRSS)
  hwm_par=$(status_kb "$kpid" VmHWM)
  tw=$(time_wait)

  kill -TERM "$kpid"
  wait "$kpid" || true
  kill "$lpid"
  wait "$lpid" 2>/dev/null || true
  sleep 0.2

  local fails downs ups removing ovf drops twovf
  fails=$(grep -c 'failed' "$dir/keepalived.log" || true)
  removing=$(grep -c 'Removing service' "$dir/keepalived.log" || true)
  downs=$(grep -c ' DOWN$' "$dir/fifo.log" || true)
  ups=$(grep -c ' UP$' "$dir/fifo.log" || true)
  ovf=$(( $(netstat_get TcpExt ListenOverflows) - ovf0 ))
  drops=$(( $(netstat_get TcpExt ListenDrops) - drops0 ))
  twovf=$(( $(netstat_get TcpExt TCPTimeWaitOverflow) - twovf0 ))

  python3 - "$dir/result.json" <<EOF
import json, sys
t0, t1 = $t0, $t1
ms0, acc0, _, *late0 = map(int, "$line0".split())
ms1, acc1, accerr, *late1 = map(int, "$line1".split())
rate = (acc1 - acc0) / ((ms1 - ms0) / 1000)
# Lateness of each real server's check (interval since its previous check − delay_loop),
# bucketed by the listener: early, < 1 ms, < 2, < 5, … < 1000, ≥ 1000 ms.
bounds = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
late = [b - a for a, b in zip(late0, late1)]
# A percentile as the upper bound of its bucket in ms: 0 for early (a retry), 1000000 for
# the last bucket (≥ 1000 ms).
def pct(q):
    need, seen = q * sum(late), 0
    for i, n in enumerate(late):
        seen += n
        if n and seen >= need:
            return 0 if i == 0 else (bounds[i - 1] if i <= len(bounds) else 1000000)
    return 0
wall = t1 - t0
cpu_ms = ($c1 - $c0) * 1000 / $clk_tck
checks = rate * wall
r = {
    "run": $n,
    "real_servers": $VS * $RS,
    "nominal_checks_per_s": $VS * $RS / 2.0,
    "window_s": round(wall, 2),
    "checks_per_s": round(rate, 1),
    "keeps_up_ratio": round(rate / ($VS * $RS / 2.0), 4),
    "lateness_intervals": sum(late),
    "lateness_buckets_ms": dict(zip(["early"] + ["<%d" % b for b in bounds] + [">=1000"], late)),
    "lateness_p50_ms": pct(0.5),
    "lateness_p99_ms": pct(0.99),
    "lateness_p999_ms": pct(0.999),
    "lateness_worst_ms": pct(1.0),
    "late_by_100ms_or_more": sum(late[8:]),
    "checker_cpu_ms_per_1000_checks": round(cpu_ms / (checks / 1000), 2),
    "checker_cpu_pct_of_core": round(cpu_ms / 10 / wall, 1),
    "listener_cpu_pct_of_core": round(($l1 - $l0) * 1000 / $clk_tck / 10 / wall, 1),
    "checker_vmhwm_kib": $hwm_chk,
    "checker_vmrss_kib": $rss_chk,
    "parent_vmhwm_kib": $hwm_par,
    "checker_max_fds": $maxfd,
    "rlimit_nofile": "$nofile",
    "false_downs_window": $downs - $downs0,
    "false_downs_run": $downs,
    "failed_checks_window": $fails - $fails0,
    "failed_checks_run": $fails,
    "removing_service_run": $removing,
    "fifo_up_lines_run": $ups,
    "listen_overflows_run": $ovf,
    "listen_drops_run": $drops,
    "listener_accept_errors": accerr,
    "time_wait_at_end": $tw,
    "time_wait_overflows_run": $twovf,
}
json.dump(r, open(sys.argv[1], "w"), indent=1)
print(json.dumps(r))
EOF
  # This run's children are gone; the next run starts its own.
  pids=()
}

echo "checker-scale: $((VS * RS)) real servers ($VS × $RS), TCP_CHECK delay_loop 2 s, $RUNS runs of ${WARMUP} s warm-up + ${WINDOW} s window"
echo "host: $(nproc) CPUs, kernel $(uname -r); ip_local_port_range $(tr '\t' ' ' < /proc/sys/net/ipv4/ip_local_port_range), tcp_max_tw_buckets $(cat /proc/sys/net/ipv4/tcp_max_tw_buckets), somaxconn $(cat /proc/sys/net/core/somaxconn), RLIMIT_NOFILE $(ulimit -Sn)/$(ulimit -Hn)"
for ((run = 1; run <= RUNS; run++)); do
  echo "run $run/$RUNS … (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  run_one "$run"
done
echo "done (load average $(cut -d' ' -f1-3 /proc/loadavg))"

python3 - "$OUT" "$RUNS" <<'EOF'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rs = [json.load(open(f"{out}/run{i}/result.json")) for i in range(1, runs + 1)]
keys = [k for k, v in rs[0].items() if isinstance(v, (int, float)) and k != "run"]
med = {k: statistics.median(r[k] for r in rs) for k in keys}
json.dump({"runs": rs, "median": med}, open(f"{out}/result.json", "w"), indent=1)
rows = [
    ("real servers", "real_servers", ""),
    ("checks/s done (nominal %d)" % rs[0]["nominal_checks_per_s"], "checks_per_s", ""),
    ("done / nominal", "keeps_up_ratio", ""),
    ("lateness p50 / p99 / p99.9 / worst", ("lateness_p50_ms", "lateness_p99_ms", "lateness_p999_ms", "lateness_worst_ms"), ""),
    ("checks late by ≥ 100 ms", "late_by_100ms_or_more", ""),
    ("checker CPU per 1,000 checks", "checker_cpu_ms_per_1000_checks", " ms"),
    ("checker CPU", "checker_cpu_pct_of_core", " % of a core"),
    ("listener CPU", "listener_cpu_pct_of_core", " % of a core"),
    ("checker peak RSS (VmHWM)", "checker_vmhwm_kib", " KiB"),
    ("parent peak RSS (VmHWM)", "parent_vmhwm_kib", " KiB"),
    ("checker max open fds", "checker_max_fds", ""),
    ("false downs (FIFO DOWN lines, whole run)", "false_downs_run", ""),
    ("failed checks (log, whole run)", "failed_checks_run", ""),
    ("listen queue overflows / drops", ("listen_overflows_run", "listen_drops_run"), ""),
    ("TIME-WAIT sockets at end / table overflows", ("time_wait_at_end", "time_wait_overflows_run"), ""),
]
def fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)
def late(v):
    return "early" if v == 0 else ("≥ 1000 ms" if v >= 1000000 else f"< {v:g} ms")
print(f"\n| measure | median of {runs} | runs |")
print("|---|---|---|")
for label, key, unit in rows:
    if label.startswith("lateness"):
        m = " / ".join(late(med[k]) for k in key)
        each = ", ".join(" / ".join(late(r[k]) for k in key) for r in rs)
    elif isinstance(key, tuple):
        m = " / ".join(fmt(med[k]) for k in key)
        each = ", ".join(" / ".join(fmt(r[k]) for k in key) for r in rs)
    else:
        m, each = fmt(med[key]) + unit, ", ".join(fmt(r[key]) for r in rs)
    print(f"| {label} | {m} | {each} |")
print(f"\nJSON: {out}/result.json (RLIMIT_NOFILE of the checker: {rs[0]['rlimit_nofile']})")
EOF
