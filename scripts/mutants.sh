#!/usr/bin/env bash
# Mutation testing of the engine with cargo-mutants: each mutant (a decision inverted, an
# operator swapped, a function's body replaced by a default) is built and the engine's
# own tests run against it; a mutant they all pass is "missed", code whose change no test
# notices. The settings are in .cargo/mutants.toml.
#
#   scripts/mutants.sh                    every module of the engine (about 6,400 mutants at
#                                         12 to 16 s each on 2 cores: about a day)
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

usage() {
  echo "usage: $0 [MODULE | FILE | --diff FILE | --table DIR...]" >&2
  exit 2
}

# Paths the caller gives are taken from where the script was run.
here=$(pwd)
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$here/$1" ;; esac; }
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
  [ "$#" -gt 0 ] || usage
  outcomes=()
  for d in "$@"; do outcomes+=("$(absolute "$d")/mutants.out/outcomes.json"); done
  table "${outcomes[@]}"
  exit 0
fi

# cargo-mutants, and cargo-nextest, which .cargo/mutants.toml runs the tests with.
if ! command -v cargo-mutants >/dev/null 2>&1; then
  cargo install --locked cargo-mutants
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi

args=(-p keepalived-engine)
case "${1:-}" in
  "") name=engine ;;
  --diff)
    [ "$#" -eq 2 ] || usage
    name=diff; args+=(--in-diff "$(absolute "$2")") ;;
  -*) usage ;;
  *)
    [ "$#" -eq 1 ] || usage
    path="engine/src/${1%/}"
    if [ -d "$path" ]; then args+=(-f "$path/**/*.rs")
    elif [ -f "$path" ]; then args+=(-f "$path")
    else echo "$0: no module or file $path" >&2; exit 2
    fi
    name=$(echo "${1%/}" | tr '/' '-') ;;
esac
out="target/mutants/$name"
mkdir -p "$out"
# A run that finds nothing to test writes no results: none from an earlier run are shown.
rm -rf "$out/mutants.out"
# cargo-mutants exits 2 when mutants were missed and 3 when some timed out: the table
# says which. Anything else is a failure of the run itself.
rc=0
cargo mutants "${args[@]}" -o "$out" --no-shuffle || rc=$?
case "$rc" in 0 | 2 | 3) ;; *) exit "$rc" ;; esac
if [ -f "$out/mutants.out/outcomes.json" ]; then
  table "$out/mutants.out/outcomes.json"
else
  echo "no mutants to test"
fi
