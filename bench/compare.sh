#!/usr/bin/env bash
# The benchmarks that both trees have, on this checkout and on an earlier revision, one after
# the other on this machine with this venv (so a change's figures sit beside the old ones):
#   bash bench/compare.sh REV [bench ...]      # default: pool_overhead denevil_throughput
#                                              #          adaem_growth train_step
# Prints each run's `result:` line, labelled `now` or REV.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/compare.sh REV [bench ...]}
shift
[ $# -gt 0 ] || set -- pool_overhead denevil_throughput adaem_growth train_step
source scripts/env.sh
old=$(mktemp -d)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || rm -rf "$old"' EXIT
git worktree add --detach -f "$old" "$rev" >/dev/null
py=$PWD/.venv/bin/python
declare -A args=([denevil_throughput]="--principles 20 --repeat 5"
                 [adaem_growth]="--steps 20 --bank-size 500 --big-steps 1")
for bench in "$@"; do
  for tree in "$PWD" "$old"; do
    label=now; [ "$tree" = "$old" ] && label=$rev
    if [ ! -f "$tree/bench/$bench.py" ]; then echo "$bench $label: (absent)"; continue; fi
    # shellcheck disable=SC2086
    line=$(cd "$tree" && PYTHONPATH=$tree "$py" "bench/$bench.py" ${args[$bench]:-} 2>&1 \
           | grep '^result:' | tail -1)
    echo "$bench $label: ${line:-(no result line)}"
  done
done
