#!/usr/bin/env bash
# Set up (first time) and run the main job on the embedded default model, no API key, no GPU:
# DeNEVIL over 5 principles (T=2, K=3), then the EVR / MVP / APV table and the report path.
# VALUEGRAPH_DEMO_SMALL=1 runs a one-principle version (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
if [ -n "${VALUEGRAPH_DEMO_SMALL:-}" ]; then
  set -- --principles 1 --set params.rounds=1 --set params.samples=2 --set params.keep=1 "$@"
fi
exec .venv/bin/valuegraph demo "$@"
