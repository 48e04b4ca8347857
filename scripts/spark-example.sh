#!/usr/bin/env bash
# The Spark bridge end to end on local[2] (docs/spark.md): installs what is missing — a JRE from
# Debian when no `java` is on PATH, pyspark and pyarrow from PyPI into the project's .venv, the
# development tokens (scripts/setup.sh) — builds tokengate (release), then runs
# scripts/spark/spark_check.py: a 100,000-row DataFrame (id, card, email, ssn) in 8 partitions
# tokenized with tokengate.spark.tokenize_dataframe and compared row for row with
# `tokengate tokenize` of the same rows as CSV, detokenized back, a partition with an SSN
# outside the transform's domain failing the job; then `audit lineage --spark-app` of the run.
# ROWS=… changes the row count; TOKENGATE_BINARY=… uses a tokengate built elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

if ! command -v java >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "spark-example: no java: run as root or: sudo apt-get install -y default-jre-headless" >&2; exit 1; }
  echo "spark-example: installing default-jre-headless"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
fi
# Development tokens and the pinned .venv (pyspark included) come from setup.
[ -f .dev/hsm/softhsm2.conf ] && [ -x .venv/bin/python ] || TOKENGATE_SKIP_BUILD=1 bash scripts/setup.sh
PYSPARK_PIN="$(grep -o 'pyspark==[0-9.]*' scripts/setup.sh)"
PYARROW_PIN="$(grep -o 'pyarrow==[0-9.]*' scripts/setup.sh)"
.venv/bin/python -c 'import pyspark, pyarrow' 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check "$PYSPARK_PIN" "$PYARROW_PIN"

# TOKENGATE_BINARY=… uses a tokengate built elsewhere.
TG="${TOKENGATE_BINARY:-$ROOT/.build/release/tokengate}"
[ -x "$TG" ] || swift build -c release --product tokengate
"$TG" keys init --keyring keys-config/keyring.dev.yaml >/dev/null

# A copy of the development keyring with a detokenize grant for this example's own PIN (the
# custodians' step in production: keys-config/README.md), and a policy naming every column.
OUT="$ROOT/.dev/spark"
mkdir -p "$OUT"
chmod 700 "$OUT"
umask 077
[ -f "$OUT/detokenize.pin" ] || od -An -N12 -tx1 /dev/urandom | tr -d ' \n' > "$OUT/detokenize.pin"
VERIFIER="$(TOKENGATE_DETOKENIZE_PIN="$(cat "$OUT/detokenize.pin")" "$TG" policy pin-verifier --pin-env TOKENGATE_DETOKENIZE_PIN)"
sed -e "s#\.\./\.dev/#$ROOT/.dev/#g" \
    -e "s#^grants: { unverified-output: true }#grants: { unverified-output: true, detokenize: { pin-verifier: '$VERIFIER' } }#" \
    keys-config/keyring.dev.yaml > "$OUT/keyring.yaml"
echo "audit-log: $ROOT/.dev/audit/audit.jsonl" >> "$OUT/keyring.yaml"
chmod 644 "$OUT/keyring.yaml"
cat > "$OUT/policy.yaml" <<POLICY
version: 1
columns:
  id: { action: keep }
  card: { transform: card, domain: pan }
  email: { transform: email, domain: email }
  ssn: { transform: ssn, domain: ssn }
detokenize:
  allowed: true
  pin: { file: $OUT/detokenize.pin }
POLICY

rm -rf "$OUT/work"
echo "== scripts/spark/spark_check.py on local[2] (${ROWS:-100000} rows, 8 partitions)"
RESULT="$(.venv/bin/python scripts/spark/spark_check.py --binary "$TG" --keyring "$OUT/keyring.yaml" --policy "$OUT/policy.yaml" \
  --workdir "$OUT/work" --rows "${ROWS:-100000}" --partitions 8 2> "$OUT/spark.log" | tail -n 1)" \
  || { tail -n 40 "$OUT/spark.log" >&2; exit 1; }
echo "$RESULT"
APP="$(echo "$RESULT" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["app"])')"
echo
echo "== tokengate audit lineage --spark-app $APP"
"$TG" audit lineage --spark-app "$APP" --keyring "$OUT/keyring.yaml" | cut -c1-200
