#!/usr/bin/env bash
# Parquet Modular Encryption figures of issue 17, in one run (the machine is noisy: compare rows
# of one run only). Usage:
#   scripts/bench-pme.sh FILE.parquet [RUNS] [BINARY]
# FILE: e.g. the bench10 feed as snappy Parquet (scripts/bench-parquet.sh says how to make it).
#   seal      tokengate seal FILE as PME (card_number, email, ssn under a column key, the rest
#             under the footer key; DEKs from the HSM), RUNS times: median and best wall time,
#             peak RSS (/usr/bin/time)
#   read      pyarrow pq.read_table of FILE vs of the sealed file through CryptoFactory and the
#             project's KmsClient (`tokengate keys unwrap` included), alternating RUNS times
#             (scripts/parquet/pme_bench.py): best of each and the reading-side overhead in %
# Run from the repository (the development keyring is found from here).
set -euo pipefail
file=$1; runs=${2:-3}; bin=${3:-.build/release/tokengate}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
keyring=${TOKENGATE_KEYRING:-keys-config/keyring.dev.yaml}
times=()
for _ in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$bin" seal "$file" --out "$tmp/sealed.parquet" \
    --column-key-columns card_number,email,ssn --keyring "$keyring" 2> "$tmp/err" > /dev/null || { cat "$tmp/err" >&2; exit 1; }
  times+=("$(cat "$tmp/t")")
done
printf '%s\n' "${times[@]}" | sort -n | awk -v f="$file" '{ t[NR] = $1; m[NR] = $2 } END {
  printf "seal (PME) of %s: median %.2f s, best %.2f s, peak RSS %d MB\n", f, t[int((NR + 1) / 2)], t[1], m[int((NR + 1) / 2)] / 1024 }'
ls -l "$file" "$tmp/sealed.parquet" | awk '{ print "  " $5 " bytes  " $9 }'
.venv/bin/python scripts/parquet/pme_bench.py "$file" "$tmp/sealed.parquet" --tokengate "$bin" --keyring "$keyring" --repeat "$runs"
