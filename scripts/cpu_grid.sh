#!/usr/bin/env bash
# The cpu-scale grid (issue 9), in resumable chunks, headline cells first.
# Each chunk is one `python -m hashlib_core.reproduce` call: cells that already have a
# record are skipped, so re-running this script resumes where it stopped. After every
# chunk the new records under results/cpu are committed (nothing is lost when a
# session ends).
#
# Usage: nohup setsid scripts/cpu_grid.sh [N_WORKERS] > runs/cpu_grid.log 2>&1 &
# N_WORKERS (default 2) processes take chunks from the list below in order, each chunk
# once (claimed with an atomic mkdir), each process on one OpenMP thread: on 2 cores two
# 1-thread runs finish more cells per hour than one 2-thread run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# daph last: its schedule is being reworked (issue 5); its cells then run with the fix
DEEP="cnnh dnnh dhn dpsh dtsh hashnet dch csq adsh shnet dheh csdh dsah"
SHALLOW="lsh sh itq ksh sdh fasth"
WORKERS=${1:-2}
CLAIMS=runs/grid_claims.$$
mkdir -p "$CLAIMS"

chunks() {  # one line per chunk: "<description>|<reproduce args>"
  for b in 64 32 16; do echo "csq shnet ${b} bits seed 0|--methods csq shnet --bits $b --seeds 0"; done
  for m in $DEEP; do echo "$m 32 bits|--methods $m --bits 32 --seeds 0"; done
  for m in $SHALLOW; do echo "$m all bits|--methods $m"; done
  # the seeds of the headline comparison (and the noise the ablation is weighed against)
  for s in 1 2; do
    for b in 32 64 16; do echo "csq shnet $b bits seed $s|--methods csq shnet --bits $b --seeds $s"; done
  done
  echo "daph all bits|--methods daph"
  for b in 64 16; do
    for m in $DEEP; do echo "$m $b bits|--methods $m --bits $b --seeds 0"; done
  done
  for m in dnnh hashnet adsh dsah; do echo "$m 12/24/48 bits|--methods $m --bits 12 24 48"; done
}

commit() {
  for _ in 1 2 3 4 5 6; do
    git add results/cpu 2>/dev/null
    git diff --cached --quiet -- results/cpu && return 0
    git commit -q -m "cpu grid: $1" -- results/cpu && return 0
    sleep $((RANDOM % 10 + 3))
  done
}

worker() {
  local n=0 what args
  while IFS='|' read -r what args; do
    n=$((n + 1))
    mkdir "$CLAIMS/$n" 2>/dev/null || continue  # another worker has it
    echo "== $(date -u +%H:%M:%S) worker $1 chunk: $what"
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $PY -m hashlib_core.reproduce --scale cpu --no-book $args
    commit "$what"
  done < <(chunks)
}

for w in $(seq 1 "$WORKERS"); do worker "$w" & sleep 2; done
wait
rm -rf "$CLAIMS"
# anything the chunks above do not name (run alone: two workers on one cell would share
# its checkpoint folder)
echo "== $(date -u +%H:%M:%S) remaining cells"
$PY -m hashlib_core.reproduce --scale cpu --no-book
commit "remaining cells"
echo "== $(date -u +%H:%M:%S) grid done"
