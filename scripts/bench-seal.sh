#!/usr/bin/env bash
# Audited `tokengate seal` / `tokengate open` of one file against age (Debian's `age` package) on
# the same file, in the same run, alternating (the machine is noisy: compare rows of one run only).
# Usage:
#   scripts/bench-seal.sh [SIZE_MB] [RUNS]        defaults: 1024 MB, 5 runs
# Builds the release binary (scratch path $TOKENGATE_SCRATCH, default .build; or give a binary in
# $TOKENGATE_BIN), makes SIZE_MB of CSV-like random text in a temporary folder under /tmp, and per
# run times (wall, date +%s.%N) seal, age -e, open, age -d; prints the medians and the ratios.
# tokengate runs from the repository root, so it uses keys-config/keyring.dev.yaml (scripts/setup.sh)
# and appends its audit records to that keyring's log. age uses a fresh X25519 identity
# (age-keygen), not a passphrase (which is interactive). Needs 3 × SIZE_MB free in /tmp; the
# temporary folder is removed at the end.
set -euo pipefail
size_mb=${1:-1024}
runs=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if ! command -v age >/dev/null || ! command -v age-keygen >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq age >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq age >/dev/null; }
  else
    echo "bench-seal: age is missing — install Debian's package: sudo apt-get install -y age" >&2
    exit 1
  fi
fi

if [ -n "${TOKENGATE_BIN:-}" ]; then
  TG=$TOKENGATE_BIN
else
  SCRATCH=${TOKENGATE_SCRATCH:-.build}
  swift build -c release --scratch-path "$SCRATCH" --product tokengate 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
  TG=$SCRATCH/release/tokengate
fi
[ -x "$TG" ] || { echo "bench-seal: no tokengate binary at $TG" >&2; exit 1; }
[ -f keys-config/keyring.dev.yaml ] && [ -d .dev/hsm ] || { echo "bench-seal: run scripts/setup.sh first (development keyring)" >&2; exit 1; }

need=$((size_mb * 3 + 64))
avail=$(df -Pm /tmp | awk 'NR == 2 { print $4 }')
if [ "$avail" -lt "$need" ]; then
  echo "bench-seal: /tmp has $avail MB free, $need MB needed for $size_mb MB (try: $0 512 $runs)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/bench-seal.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
in=$tmp/data.csv
# CSV-like: lines of base64 text with commas, random line lengths.
base64 -w 76 /dev/urandom | tr '+/' ',\n' | head -c "$((size_mb * 1024 * 1024))" > "$in" || true
[ "$(stat -c %s "$in")" -eq "$((size_mb * 1024 * 1024))" ] || { echo "bench-seal: could not make the input" >&2; exit 1; }
age-keygen -o "$tmp/age-key.txt" 2>/dev/null
recipient=$(age-keygen -y "$tmp/age-key.txt")

now() { date +%s.%N; }
timed() { # label command...: appends the wall seconds to $tmp/label
  local label=$1 t0 t1
  shift
  # Untimed: flush what the previous command left dirty. age does not fsync, so without this its
  # unwritten gigabyte would be flushed during (and charged to) the next command. tokengate's own
  # fsync before the rename stays inside its time.
  sync
  t0=$(now)
  "$@" 2> "$tmp/stderr" || { echo "bench-seal: $label failed:" >&2; cat "$tmp/stderr" >&2; exit 1; }
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >> "$tmp/$label"
}

echo "bench-seal: $size_mb MB, $runs runs; $TG vs age $(age --version)"
for i in $(seq "$runs"); do
  timed seal "$TG" seal "$in" --out "$tmp/data.tgs"
  timed open "$TG" open "$tmp/data.tgs" --out "$tmp/data.out"
  if [ "$i" = 1 ]; then cmp -s "$in" "$tmp/data.out" || { echo "bench-seal: open did not give the input back" >&2; exit 1; }; fi
  rm -f "$tmp/data.tgs" "$tmp/data.out"
  timed age-encrypt age -r "$recipient" -o "$tmp/data.age" "$in"
  timed age-decrypt age -d -i "$tmp/age-key.txt" -o "$tmp/data.out" "$tmp/data.age"
  if [ "$i" = 1 ]; then cmp -s "$in" "$tmp/data.out" || { echo "bench-seal: age -d did not give the input back" >&2; exit 1; }; fi
  rm -f "$tmp/data.age" "$tmp/data.out"
  # The same with the output made durable (tokengate fsyncs before its rename; age does not):
  # age, then fsync of its output (coreutils `sync FILE`).
  timed age-encrypt-sync sh -c 'age -r "$1" -o "$2" "$3" && sync "$2"' sh "$recipient" "$tmp/data.age" "$in"
  timed age-decrypt-sync sh -c 'age -d -i "$1" -o "$2" "$3" && sync "$2"' sh "$tmp/age-key.txt" "$tmp/data.out" "$tmp/data.age"
  rm -f "$tmp/data.age" "$tmp/data.out"
done

median() { sort -g "$tmp/$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
all() { sort -g "$tmp/$1" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }'; }
seal=$(median seal) open=$(median open) ae=$(median age-encrypt) ad=$(median age-decrypt)
aes=$(median age-encrypt-sync) ads=$(median age-decrypt-sync)
printf '%-24s median %6.2f s  (%s)\n' "tokengate seal (audited)" "$seal" "$(all seal)"
printf '%-24s median %6.2f s  (%s)\n' "age -e" "$ae" "$(all age-encrypt)"
printf '%-24s median %6.2f s  (%s)\n' "tokengate open (audited)" "$open" "$(all open)"
printf '%-24s median %6.2f s  (%s)\n' "age -d" "$ad" "$(all age-decrypt)"
printf '%-24s median %6.2f s  (%s)\n' "age -e + fsync" "$aes" "$(all age-encrypt-sync)"
printf '%-24s median %6.2f s  (%s)\n' "age -d + fsync" "$ads" "$(all age-decrypt-sync)"
awk -v s="$seal" -v o="$open" -v e="$ae" -v d="$ad" -v es="$aes" -v ds="$ads" 'BEGIN {
  printf "seal / age -e = %.2f   open / age -d = %.2f   (durable: seal / (age -e + fsync) = %.2f   open / (age -d + fsync) = %.2f)\n", s / e, o / d, s / es, o / ds }'
