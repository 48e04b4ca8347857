#!/usr/bin/env bash
# Instructions per value of the card, email and SSN transforms (versions 1 and 2), counted by
# callgrind: the same figure on every run whatever else the machine does, so a change of a few
# percent is readable where timings on 2 shared cores are not. Usage (from the repository):
#   scripts/transform-instructions.sh [KIND ...]     # default: card email ssn
# Builds Benchmarks' TransformInstructions (release), runs it under callgrind with 1 and 5
# iterations of 8192 values and prints (Ir(5) − Ir(1)) / (4 · 8192), and the token hash (which an
# engine change must leave as it was).
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
command -v valgrind >/dev/null || { echo "transform-instructions: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --product TransformInstructions 2>&1 | grep -E "error|warning: unre" || true
bin=.build/release/TransformInstructions
kinds=("$@"); [ ${#kinds[@]} -gt 0 ] || kinds=(card email ssn)
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 | awk '/Collected/ {print $4}'; }
for k in "${kinds[@]}"; do
  for v in 1 2; do
    a=$(ir "$k" 1 "$v"); b=$(ir "$k" 5 "$v")
    printf '%-6s v%s  %6d instructions/value  (%s)\n' "$k" "$v" $(( (b - a) / (4 * 8192) )) "$("$bin" "$k" 1 "$v" | grep -o 'token hash [0-9a-f]*')"
  done
done
