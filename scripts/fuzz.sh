#!/usr/bin/env bash
# libFuzzer harnesses (Fuzz/, a separate package that CI and `swift test` never build).
#   scripts/fuzz.sh list               the targets
#   scripts/fuzz.sh TARGET SECONDS     build Fuzz/ with -sanitize=fuzzer,address and run TARGET on
#                                      its corpus (Fuzz/Corpus/TARGET) for SECONDS
#   scripts/fuzz.sh TARGET FILE...     run TARGET once on each FILE (reproduce a crash)
# Prints the executions and the coverage of the run; exits non-zero on a crash, an invariant
# failure (abort) or a sanitizer report. New corpus entries go to .build-fuzz/corpus/TARGET (not
# committed); a crashing input is written to .build-fuzz/artifacts/TARGET/ — copy it to
# Fuzz/Corpus/regressions/ with its fix. Environment: FUZZ_CONFIG=debug|release (default release),
# FUZZ_JOBS (default 1), FUZZ_ARGS (more libFuzzer flags). Runs at nice 10.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
targets=(csv jsonl sealed audit policy parquet)
binary() { case "$1" in csv) echo FuzzCSV ;; jsonl) echo FuzzJSONL ;; sealed) echo FuzzSealed ;; audit) echo FuzzAudit ;; policy) echo FuzzPolicy ;; parquet) echo FuzzParquet ;; *) return 1 ;; esac; }

if [ "${1:-}" = "list" ]; then
  printf '%s\n' "${targets[@]}"
  exit 0
fi
[ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh list | TARGET SECONDS | TARGET FILE..." >&2; exit 2; }
target="$1"; shift
bin="$(binary "$target")" || { echo "fuzz: unknown target '$target' (scripts/fuzz.sh list)" >&2; exit 2; }
config="${FUZZ_CONFIG:-release}"

# -sanitize=fuzzer,address as one swiftc flag (two -sanitize= flags: the last one wins, and the
# Swift code would get no coverage); --sanitize makes SwiftPM link with libFuzzer's main.
(cd Fuzz && nice -n 10 swift build -c "$config" --scratch-path "$ROOT/.build-fuzz" --product "$bin" \
  --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 \
  | grep -v -e "Cannot export local symbol" -e '^\[[0-9]*/[0-9]*\]' || true)
exe="$ROOT/.build-fuzz/$config/$bin"
[ -x "$exe" ] || { echo "fuzz: build of $bin failed" >&2; exit 1; }

work="$(mktemp -d /dev/shm/tokengate-fuzz-XXXXXX 2>/dev/null || mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TOKENGATE_FUZZ_DIR="$work"
# Leaks are not checked: Foundation (swift 6.3.1) leaks a buffer reading an empty file, and
# process-lifetime caches are reported at exit.
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
artifacts="$ROOT/.build-fuzz/artifacts/$target"
mkdir -p "$artifacts"

if ! [[ "$1" =~ ^[0-9]+$ ]]; then
  nice -n 10 "$exe" -detect_leaks=0 "$@"
  exit $?
fi
seconds="$1"
corpus="$ROOT/.build-fuzz/corpus/$target"
mkdir -p "$corpus"
log="$work/fuzz.log"
rc=0
dict=""
[ -f "$ROOT/Fuzz/Corpus/$target.dict" ] && dict="-dict=$ROOT/Fuzz/Corpus/$target.dict"
# shellcheck disable=SC2086
nice -n 10 "$exe" -max_total_time="$seconds" -print_final_stats=1 -detect_leaks=0 -timeout=10 -rss_limit_mb=4096 \
  -artifact_prefix="$artifacts/" $dict ${FUZZ_ARGS:-} \
  "$corpus" "$ROOT/Fuzz/Corpus/$target" >"$log" 2>&1 || rc=$?
grep -E "INVARIANT FAILED|ERROR: |SUMMARY: |Test unit written|deadly signal" "$log" | head -20 || true
final="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
[ -n "$final" ] || final="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
echo "fuzz $target: ${seconds}s, $(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions"
echo "fuzz $target: $final"
if [ "$rc" -ne 0 ]; then
  cp "$log" "$artifacts/last.log"
  echo "fuzz $target: FAILED (rc $rc); log in $artifacts/last.log, input in $artifacts/" >&2
  exit 1
fi
