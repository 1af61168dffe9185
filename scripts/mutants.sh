#!/usr/bin/env bash
# Mutation testing of the engine with cargo-mutants: each mutant (a decision inverted, an
# operator swapped, a function's body replaced by a default) is built and the engine's
# own tests run against it; a mutant they all pass is "missed", code whose change no test
# notices. The settings are in .cargo/mutants.toml.
#
#   scripts/mutants.sh                    every module of the engine (about 6,400 mutants:
#                                         some 14 hours on 2 cores; the nightly command)
#   scripts/mutants.sh vrrp               one module, a folder under engine/src
#   scripts/mutants.sh vrrp/instance.rs   one file
#   scripts/mutants.sh --diff FILE        the mutants in the lines a diff (git diff) changes
#   scripts/mutants.sh --table DIR...     the table again, from earlier runs' output
#
# It works on a copy of the tree, so the checkout is left alone. Each run's results go to
# target/mutants/<name>/mutants.out (missed.txt lists what to test, diff/ each mutant), and
# the table per module is printed at the end: caught, missed, timed out and unviable
# (does not build), and the score, caught / (caught + missed + timed out). A timeout is
# not counted as caught: look at each (timeout.txt) to see whether the mutant really
# loops.
set -euo pipefail
cd "$(dirname "$0")/.."

table() {
  jq -r -s '
    [ .[].outcomes[] | select(.scenario | type == "object" and has("Mutant")) |
      { module: (.scenario.Mutant.file | ltrimstr("engine/src/") | split("/") |
                 if length > 1 then .[0] + "/" else .[0] end),
        summary } ]
    | group_by(.module)
    | (["module", "mutants", "caught", "missed", "timeout", "unviable", "score"] | @tsv),
      (.[] | { m: .[0].module,
               c: ([.[] | select(.summary == "CaughtMutant")] | length),
               x: ([.[] | select(.summary == "MissedMutant")] | length),
               t: ([.[] | select(.summary == "Timeout")] | length),
               u: ([.[] | select(.summary == "Unviable")] | length) }
           | [.m, (.c + .x + .t + .u), .c, .x, .t, .u,
              (if .c + .x + .t > 0 then (1000 * .c / (.c + .x + .t) | round / 10 | tostring) + " %"
               else "-" end)]
           | @tsv)' "$@" | column -t -s $'\t'
}

if [ "${1:-}" = "--table" ]; then
  shift
  outcomes=()
  for d in "$@"; do outcomes+=("$d/mutants.out/outcomes.json"); done
  table "${outcomes[@]}"
  exit 0
fi

if ! command -v cargo-mutants >/dev/null 2>&1; then
  cargo install --locked cargo-mutants
fi

args=(-p keepalived-engine)
case "${1:-}" in
  "") name=engine ;;
  --diff)
    [ -n "${2:-}" ] || { echo "usage: $0 --diff FILE" >&2; exit 2; }
    name=diff; args+=(--in-diff "$2") ;;
  *)
    path="engine/src/${1%/}"
    if [ -d "$path" ]; then args+=(-f "$path/**/*.rs" -f "$path/*.rs")
    elif [ -f "$path" ]; then args+=(-f "$path")
    else echo "$0: no module or file $path" >&2; exit 2
    fi
    name=$(echo "${1%/}" | tr '/' '-') ;;
esac
out="target/mutants/$name"
mkdir -p "$out"
# cargo-mutants exits 2 when it finds missed mutants, 3 on timeouts: the table says which.
cargo mutants "${args[@]}" -o "$out" --no-shuffle || true
table "$out/mutants.out/outcomes.json"
