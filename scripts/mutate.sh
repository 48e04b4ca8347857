#!/usr/bin/env bash
# Mutation check of the security checks: scripts/mutate.sh [ID...]
# For each mutation in scripts/mutations.py (all, or the IDs given) it breaks one check in a
# scratch copy of the committed tree (a git worktree under /tmp; the working tree is never
# touched), builds the tests, runs the tests the mutation names, and prints KILLED (a test failed:
# the check is proven) or SURVIVED (no test noticed), then a score. Exit status: the number of
# survivors (0: every mutation killed). One scratch build is reused, so each mutation rebuilds only
# what it touched. Needs scripts/setup.sh to have run (SoftHSM2).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
SCRATCH="${TOKENGATE_MUTATE_DIR:-/tmp/tokengate-mutate}"
BUILD="${TOKENGATE_MUTATE_BUILD:-/tmp/tokengate-mutate-build}"
LOG="$SCRATCH.log"
[ -d "$SCRATCH" ] && git worktree remove --force "$SCRATCH" 2>/dev/null
rm -rf "$SCRATCH"
git worktree add --detach "$SCRATCH" HEAD >/dev/null 2>&1 || { echo "mutate: cannot make the scratch worktree" >&2; exit 100; }
trap 'git -C "$ROOT" worktree remove --force "$SCRATCH" >/dev/null 2>&1' EXIT
cd "$SCRATCH"
: > "$LOG"
echo "mutate: baseline build (scratch $BUILD; log $LOG)"
if ! swift build --build-tests --scratch-path "$BUILD" >> "$LOG" 2>&1; then
  echo "mutate: the unmutated tree does not build" >&2; exit 100
fi
ids=$(python3 -c 'import sys; sys.path.insert(0, "scripts"); from mutations import MUTATIONS as M; print("\n".join(m[0] for m in M))')
[ $# -gt 0 ] && ids="$*"
killed=0 survived=0 broken=0 list_survived=""
for id in $ids; do
  filter=$(python3 - "$id" <<'PY'
import sys
sys.path.insert(0, "scripts")
from mutations import MUTATIONS
m = {m[0]: m for m in MUTATIONS}.get(sys.argv[1])
if m is None: sys.exit(2)
_, path, old, new, flt = m
text = open(path).read()
if text.count(old) != 1: sys.exit(3)
open(path, "w").write(text.replace(old, new))
print(flt)
PY
  )
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "NOT APPLICABLE  $id (unknown id or its snippet does not occur exactly once)"
    broken=$((broken + 1)); continue
  fi
  t0=$(date +%s)
  if ! swift build --build-tests --scratch-path "$BUILD" >> "$LOG" 2>&1; then
    result="BUILD FAILS"; broken=$((broken + 1))
  elif timeout 1200 swift test --skip-build --scratch-path "$BUILD" --filter "$filter" >> "$LOG" 2>&1; then
    result="SURVIVED"; survived=$((survived + 1)); list_survived="$list_survived $id"
  else
    result="KILLED"; killed=$((killed + 1))
  fi
  git checkout -q -- .
  printf '%-15s %-30s (%s, %ss)\n' "$result" "$id" "$filter" "$(( $(date +%s) - t0 ))"
done
total=$((killed + survived))
note=""
[ "$broken" -gt 0 ] && note=" ($broken not run: see above)"
echo "mutate: $killed of $total mutations killed${list_survived:+; survived:$list_survived}$note"
exit "$survived"
