#!/usr/bin/env bash
# Create .venv and install valuegraph with the extras the quickstart needs. Idempotent: it
# reinstalls only when pyproject.toml or constraints.txt changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${VALUEGRAPH_EXTRAS:-local,train,dev,studio,view,postgres}
stamp=.venv/.valuegraph-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)-$EXTRAS
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first and pinned exactly: a bare or ranged torch spec would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
echo "installing valuegraph[$EXTRAS] (llama-cpp-python compiles once per machine, ~8 min)" >&2
.venv/bin/python -m pip install -q -c constraints.txt -e ".[$EXTRAS]"
echo "$want" > "$stamp"
