#!/usr/bin/env bash
# Parquet figures of issue 14, each against pyarrow's passthrough of the same file in the same
# run (the machine is noisy: compare rows of one run only). Usage:
#   scripts/bench-parquet.sh FILE.parquet RUNS [BINARY]
# FILE: e.g. the bench10 feed as snappy Parquet:
#   python3 scripts/gen_feed.py --profile bench10 --bytes 1G --out /tmp/bench1g.csv
#   .venv/bin/python scripts/parquet/bench_feed.py /tmp/bench1g.csv /tmp/bench1g.parquet
# Runs, alternating, RUNS times each (output to a file in /tmp, page cache warm):
#   pyarrow      read_table + write_table (scripts/parquet/bench_passthrough.py)
#   passthrough  tokengate tokenize with a policy keeping every column, --no-verify-output
#                (every column chunk copied verbatim)
#   tokenize     tokengate tokenize, default policy (card, email, SSN tokenized), --workers 2,
#                with the residual output scan (every string column decoded and scanned)
#   tokenize-ns  the same with --no-verify-output (only the tokenized columns decoded)
# and prints per label the median and best wall time and the median peak RSS (/usr/bin/time).
# Run from the repository (the development keyring is found from here).
set -euo pipefail
file=$1; runs=$2; bin=${3:-.build/release/tokengate}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A policy naming every column keep (a reviewed passthrough).
.venv/bin/python - "$file" > "$tmp/keep.yaml" <<'PY'
import sys, pyarrow.parquet as pq
print("version: 1\ntags: {}\ncolumns:")
for n in pq.ParquetFile(sys.argv[1]).schema_arrow.names:
    print(f"  {n}: {{ action: keep }}")
PY
timed() {  # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  echo "$label $(cat "$tmp/t")" >> "$tmp/results"
}
for _ in $(seq "$runs"); do
  timed pyarrow .venv/bin/python scripts/parquet/bench_passthrough.py "$file" "$tmp/py.parquet"
  timed passthrough "$bin" tokenize --in "$file" --out "$tmp/pt.parquet" --policy "$tmp/keep.yaml" --no-verify-output
  timed tokenize "$bin" tokenize --in "$file" --out "$tmp/tk.parquet" --workers 2
  timed tokenize-ns "$bin" tokenize --in "$file" --out "$tmp/tn.parquet" --workers 2 --no-verify-output
  rm -f "$tmp"/*.parquet
done
python3 - "$tmp/results" "$(stat -c %s "$file")" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
size = int(sys.argv[2])
by = {}
for label, wall, rss in rows:
    by.setdefault(label, []).append((float(wall), int(rss)))
base = statistics.median(w for w, _ in by["pyarrow"])
for label, v in by.items():
    med = statistics.median(w for w, _ in v)
    print(f"{label:12s} wall median {med:6.2f} s, best {min(w for w, _ in v):6.2f} s ({size / 1e6 / med:5.0f} MB/s of Parquet), "
          f"{base / med:5.1f}x pyarrow's passthrough; peak RSS median {statistics.median(r for _, r in v) / 1024:5.0f} MB")
PY
