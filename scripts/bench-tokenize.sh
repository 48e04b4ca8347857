#!/usr/bin/env bash
# Same-run comparison of tokenize builds on one feed (the machine is noisy: compare only rows of
# one run). Usage:
#   scripts/bench-tokenize.sh RUNS FEED label:BINARY[:FLAGS] ...
# e.g. scripts/bench-tokenize.sh 7 /tmp/bench100.csv old:/tmp/tokengate-old new:.build/release/tokengate \
#        noscan:.build/release/tokengate:--no-verify-output
# Prints per label the median and best wall time and the median transform-stage CPU (from the
# run summary's JSON). Run from the repository (the development keyring is found from here).
set -euo pipefail
runs=$1; feed=$2; shift 2
tmp=$(mktemp -d)
for i in $(seq "$runs"); do
  for spec in "$@"; do
    IFS=: read -r label bin flags <<< "$spec"
    # shellcheck disable=SC2086
    "$bin" tokenize --in "$feed" --out "$tmp/out-$label.csv" --workers 2 $flags --summary-json "$tmp/$label-$i.json" 2>/dev/null
  done
done
python3 - "$tmp" "$runs" "$(stat -c %s "$feed")" "$@" <<'PY'
import json, statistics, sys
tmp, runs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for spec in sys.argv[4:]:
    label = spec.split(':')[0]
    wall, cpu = [], []
    for i in range(1, runs + 1):
        d = json.load(open(f"{tmp}/{label}-{i}.json"))
        wall.append(d["wallSeconds"])
        cpu.append({s["name"]: s["cpuSeconds"] for s in d["stages"]}["transform"])
    med = statistics.median(wall)
    print(f"{label:12s} wall median {med:.3f} s ({size / 1e6 / med:.0f} MB/s), best {min(wall):.3f} s; transform CPU median {statistics.median(cpu):.2f} s")
PY
rm -rf "$tmp"
