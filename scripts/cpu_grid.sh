#!/usr/bin/env bash
# The cpu-scale grid (issue 9), in resumable chunks, headline cells first.
# Each chunk is one `python -m hashlib_core.reproduce` call: cells that already have a
# record are skipped, so re-running this script resumes where it stopped. After every
# chunk the new records under results/cpu are committed (nothing is lost when a
# session ends). Usage: nohup scripts/cpu_grid.sh > runs/cpu_grid.log 2>&1 &
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DEEP="cnnh dnnh dhn dpsh dtsh hashnet dch csq adsh daph shnet dheh csdh dsah"
SHALLOW="lsh sh itq ksh sdh fasth"

commit() {
  git add results/cpu 2>/dev/null || return 0
  for _ in 1 2 3 4 5; do
    git diff --cached --quiet -- results/cpu && return 0
    git commit -q -m "cpu grid: $1" -- results/cpu && return 0
    sleep 5
  done
}

chunk() {  # chunk "<description>" reproduce-args...
  local what=$1; shift
  echo "== $(date -u +%H:%M:%S) chunk: $what"
  $PY -m hashlib_core.reproduce --scale cpu --no-book "$@"
  commit "$what"
}

for b in 64 32 16; do
  chunk "csq shnet ${b} bits seed 0" --methods csq shnet --bits "$b" --seeds 0
done
for m in $DEEP; do chunk "$m 32 bits" --methods "$m" --bits 32 --seeds 0; done
for m in $SHALLOW; do chunk "$m all bits" --methods "$m"; done
for b in 64 16; do
  for m in $DEEP; do chunk "$m $b bits" --methods "$m" --bits "$b" --seeds 0; done
done
chunk "csq shnet seeds 1 2" --methods csq shnet --seeds 1 2
for m in dnnh hashnet daph adsh dsah; do chunk "$m 12/24/48 bits" --methods "$m" --bits 12 24 48; done
chunk "remaining cells (SHNet ablation ...)"
echo "== $(date -u +%H:%M:%S) grid done"
