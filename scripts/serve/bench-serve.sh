#!/usr/bin/env bash
# Load benchmark of `tokengate serve` on loopback with wrk (Debian's wrk package), one run:
# single-value encode (requests/s, p50, p99) and 1,000-value batches (p99, values/s), for a
# `custody: derived` and a `custody: hsm` transformation. Throwaway SoftHSM2 token and keys in a
# temporary folder; plain HTTP on 127.0.0.1.
#   scripts/serve/bench-serve.sh [TOKENGATE_BINARY] [SECONDS] [CONNECTIONS]
# COALESCE=false turns off the coalescing of concurrent requests (limits.coalesce), to compare.
# Default binary: .build/release/tokengate (swift build -c release --product tokengate).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$(realpath "${1:-.build/release/tokengate}")"
SECS="${2:-10}"
CONNS="${3:-16}"
command -v wrk >/dev/null || { echo "bench-serve: wrk not found (apt-get install wrk)" >&2; exit 1; }
MODULE=/usr/lib/softhsm/libsofthsm2.so
DIR="$(mktemp -d /tmp/tokengate-bench-serve.XXXXXX)"
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
mkdir -p "$DIR/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' "$DIR" > "$DIR/softhsm2.conf"
export SOFTHSM2_CONF="$DIR/softhsm2.conf"
umask 077
PIN="$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf %s "$PIN" > "$DIR/user.pin"
for p in in-use audit; do
  softhsm2-util --init-token --free --label "bench-$p" --pin "$PIN" --so-pin "so-$PIN" >/dev/null
done
cat > "$DIR/keyring.yaml" <<YAML
version: 1
module: $MODULE
module-environment: { SOFTHSM2_CONF: ./softhsm2.conf }
audit-log: ./audit.jsonl
purposes:
  in-use: { token: bench-in-use, pin: { file: ./user.pin }, keys: [pan] }
  audit: { token: bench-audit, pin: { file: ./user.pin }, keys: [log] }
YAML
"$BIN" keys init --keyring "$DIR/keyring.yaml" >/dev/null
TOKEN="bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
HASH="$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)"
cat > "$DIR/serve.yaml" <<YAML
version: 1
keyring: keyring.yaml
listen: 127.0.0.1:0
plain-http: true
limits: { max-body-bytes: 4194304, max-batch: 10000, coalesce: ${COALESCE:-true} }
transformations:
  card: { transform: card, domain: pan, column: card_number }
  card-hsm: { transform: card, domain: pan, custody: hsm, column: card_number }
roles:
  bench: { transformations: [card, card-hsm], operations: [encode] }
clients:
  bench: { token-sha256: $HASH, roles: [bench] }
YAML
"$BIN" serve --config "$DIR/serve.yaml" > "$DIR/serve.out" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q listening "$DIR/serve.out" && break; sleep 0.1; done
URL="$(grep -o 'http://[0-9.:]*' "$DIR/serve.out")"
echo "bench-serve: $BIN at $URL, ${SECS}s per run, $CONNS connection(s) for single values, 4 for batches, coalesce ${COALESCE:-true}; load average $(cut -d" " -f1-3 /proc/loadavg)"
for t in card card-hsm; do
  cat > "$DIR/single.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-Vault-Token"] = "$TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"value":"4111111111111111","transformation":"$t"}'
LUA
  cat > "$DIR/batch.lua" <<LUA
wrk.method = "POST"
wrk.headers["X-Vault-Token"] = "$TOKEN"
wrk.headers["Content-Type"] = "application/json"
local items = {}
for i = 1, 1000 do
  items[i] = string.format('{"value":"4%015d","transformation":"$t"}', i * 7919)
end
wrk.body = '{"batch_input":[' .. table.concat(items, ",") .. ']}'
LUA
  curl -sf -H "X-Vault-Token: $TOKEN" -d "{\"value\":\"4111111111111111\",\"transformation\":\"$t\"}" "$URL/v1/transform/encode/bench" >/dev/null
  echo "== $t: single-value encode"
  wrk -t"$(( CONNS < 2 ? 1 : 2 ))" -c"$CONNS" -d"${SECS}s" --latency -s "$DIR/single.lua" "$URL/v1/transform/encode/bench" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
  echo "== $t: 1000-value batch encode (values/s = requests/s x 1000)"
  wrk -t2 -c4 -d"${SECS}s" --latency -s "$DIR/batch.lua" "$URL/v1/transform/encode/bench" | grep -E 'Requests/sec|^ +(50|99)%|Non-2xx|Socket errors'
done
curl -sf "$URL/metrics" | grep -E '^tokengate_(transform_batch|hsm_calls)' || true
kill -TERM "$PID"
wait "$PID" || true
PID=
"$BIN" audit verify --keyring "$DIR/keyring.yaml" | tail -1
