#!/usr/bin/env bash
# Set up (first time) and run the main job on the embedded default model: no API key, no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh
exec .venv/bin/valuegraph models "$@"
