"""Data builders for the trainers: negatives, self-samples and validated JSONL inputs."""
