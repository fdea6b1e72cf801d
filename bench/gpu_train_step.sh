#!/usr/bin/env bash
# GPU variant of bench/train_step.py: a random ~134M-parameter Llama (built from a config, no
# downloads) in bf16 on one CUDA device; D2O K=1 vs TRL DPO, then K=1, 4, 11.
#
#   bash bench/gpu_train_step.sh [extra train_step.py flags, e.g. --steps 20 --batch-size 16]
#
# Needs torch (CUDA), transformers, peft, accelerate, datasets and trl==1.16.0. If trl is not
# importable and VALUEGRAPH_WHEELS names a directory of wheels, they are installed from it
# offline first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PYTHON" -c "import trl" 2>/dev/null; then
  if [ -n "${VALUEGRAPH_WHEELS:-}" ] && [ -d "$VALUEGRAPH_WHEELS" ]; then
    "$PYTHON" -m pip install -q --no-index --find-links "$VALUEGRAPH_WHEELS" "trl==1.16.0"
  else
    echo "error: trl is not importable; install trl==1.16.0 or set VALUEGRAPH_WHEELS" >&2
    exit 2
  fi
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
exec "$PYTHON" bench/train_step.py --device cuda --size 125m "$@"
