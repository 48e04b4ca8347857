#!/usr/bin/env bash
# The main job on the sample feed, with the development keyring made by scripts/setup.sh:
# tag the columns of Fixtures/feeds/customers.csv, tokenize them under the HSM-held keys, seal the
# result (AES-256-GCM frames, data key wrapped by the at-rest key) and print the run summary.
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
echo "== tokenize + seal Fixtures/feeds/customers.csv → $OUT/customers.tgs"
"$TG" tokenize --in Fixtures/feeds/customers.csv --out "$OUT/customers.tgs" --seal \
  --rejects "$OUT/customers.rejects.jsonl" --summary-json "$OUT/customers.summary.json"
echo
echo "== inspect (no key needed)"
"$TG" inspect "$OUT/customers.tgs"
echo
echo "first rows, as a training job reads them (tokengate open authenticates every frame):"
"$TG" open "$OUT/customers.tgs" --out "$OUT/customers.opened.csv"
head -n 3 "$OUT/customers.opened.csv"
echo
echo "== audit trail (HMAC chain in the HSM)"
"$TG" audit verify
"$TG" audit lineage "$OUT/customers.tgs" | head -n 4
