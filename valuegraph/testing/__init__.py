"""Test helpers that ship with the package: a local OpenAI-compatible server for tests/benchmarks."""
