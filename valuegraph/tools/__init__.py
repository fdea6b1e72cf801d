"""Model pool and backends, completion cache, item bank, embeddings, checkpoints, run store."""
