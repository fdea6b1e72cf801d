# Offline settings for tests, CI and the demo (sourced by the other scripts).
export LITELLM_OFFLINE_MODE=true
export LITELLM_LOCAL_MODEL_COST_MAP=True
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export ANONYMIZED_TELEMETRY=False
export LANGGRAPH_CLI_NO_ANALYTICS=1
export LANGGRAPH_NO_VERSION_CHECK=true
export TOKENIZERS_PARALLELISM=false
