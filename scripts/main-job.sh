#!/usr/bin/env bash
# The main job on the sample feed, with the development keyring made by scripts/setup.sh:
# tag the columns of Fixtures/feeds/customers.csv, tokenize them under the HSM-held keys and
# print the run summary. (Sealing the output, `--seal`, lands with issue 5.)
set -euo pipefail
cd "$(dirname "$0")/.."
TG=.build/release/tokengate
[ -x "$TG" ] || swift build -c release --product tokengate
OUT=.dev/out
mkdir -p "$OUT"
chmod 700 "$OUT"
echo "== keys (custody attributes read back from the HSM)"
"$TG" keys list
echo
echo "== scan Fixtures/feeds/customers.csv"
"$TG" scan Fixtures/feeds/customers.csv
echo
echo "== tokenize Fixtures/feeds/customers.csv → $OUT/customers.tokenized.csv"
"$TG" tokenize --in Fixtures/feeds/customers.csv --out "$OUT/customers.tokenized.csv" \
  --rejects "$OUT/customers.rejects.jsonl" --summary-json "$OUT/customers.summary.json"
echo
echo "first rows of the tokenized feed:"
head -n 3 "$OUT/customers.tokenized.csv"
