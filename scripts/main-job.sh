#!/usr/bin/env bash
# The main job on the sample feed, with the development keyring made by scripts/setup.sh.
# Today: the key custody report and the FPE engine on the sample values of Fixtures/.
# (Column-aware `tokengate tokenize --seal` with its run summary lands with issues 4 and 5.)
set -euo pipefail
cd "$(dirname "$0")/.."
TG=.build/release/tokengate
[ -x "$TG" ] || swift build -c release --product tokengate
echo "== keys (custody attributes read back from the HSM)"
"$TG" keys list
