#!/usr/bin/env bash
# Development set-up, idempotent:
#  1. installs the Debian packages tokengate needs (libssl-dev libp11-kit-dev softhsm2 pkg-config;
#     libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev for Parquet's codecs; bsdutils for `script`, which a
#     test uses as a pseudo-terminal; python3-venv for the test oracles' virtual environment;
#     default-jre-headless for pyspark, only when no `java` is on PATH)
#     when they are missing (as root: apt-get; otherwise it says what to install);
#  2. creates SoftHSM2 development tokens, one per key purpose, under .dev/hsm/ (git-ignored),
#     with random PINs stored in .dev/hsm/pins/ (mode 600) — DEVELOPMENT ONLY;
#  3. builds tokengate and runs `tokengate keys init` on keys-config/keyring.dev.yaml.
# Set TOKENGATE_SKIP_BUILD=1 to stop after step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

need=()
for pkg in libssl-dev libp11-kit-dev libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev softhsm2 pkg-config bsdutils python3-venv; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
# pyspark (the Spark bridge's test, docs/spark.md) needs a JRE (17 or later): any java on PATH will do.
command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${need[*]} — run as root or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -f "$MODULE" ] || { echo "setup: $MODULE not found after installing softhsm2" >&2; exit 1; }

HSM="$ROOT/.dev/hsm"
mkdir -p "$HSM/tokens" "$HSM/pins"
chmod 700 "$ROOT/.dev" "$HSM" "$HSM/pins"
cat > "$HSM/softhsm2.conf" <<CONF
# Development SoftHSM2 config written by scripts/setup.sh
directories.tokendir = $HSM/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$HSM/softhsm2.conf"

random_pin() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
for purpose in at-rest in-transit in-use audit; do
  label="tokengate-dev-$purpose"
  if softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$label[[:space:]]*$"; then
    continue
  fi
  umask 077
  random_pin > "$HSM/pins/$purpose.pin"
  random_pin > "$HSM/pins/$purpose.so-pin"
  softhsm2-util --init-token --free --label "$label" \
    --pin "$(cat "$HSM/pins/$purpose.pin")" --so-pin "$(cat "$HSM/pins/$purpose.so-pin")" >/dev/null
  echo "setup: created development token $label (PIN in .dev/hsm/pins/$purpose.pin)"
done

# Test oracles (pyarrow, duckdb, fastparquet read and write the Parquet interop corpus; pyspark
# runs the Spark bridge's test on local[2]; hvac, the Python Vault client, calls `tokengate serve`)
# in a project-local, git-ignored virtual environment; pinned, installed once.
VENV="$ROOT/.venv"
ORACLES="pyarrow==26.0.1 duckdb==2.0.1 fastparquet==2026.9.0 pyspark==4.3.0 hvac==2.4.0"
if [ ! -f "$VENV/.oracles" ] || [ "$(cat "$VENV/.oracles")" != "$ORACLES" ]; then
  PY="$(command -v python3 || true)"
  [ -n "$PY" ] || { echo "setup: python3 not found" >&2; exit 1; }
  "$PY" -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $ORACLES
  echo "$ORACLES" > "$VENV/.oracles"
  echo "setup: installed test oracles in .venv ($ORACLES)"
fi

if [ "${TOKENGATE_SKIP_BUILD:-0}" != "1" ]; then
  swift build -c release --product tokengate 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
  [ -x "$ROOT/.build/release/tokengate" ] || { echo "setup: build failed" >&2; exit 1; }
  "$ROOT/.build/release/tokengate" keys init --keyring "$ROOT/keys-config/keyring.dev.yaml"
fi
