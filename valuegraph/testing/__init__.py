"""Test helpers shipped with the package: a local OpenAI-compatible server, tiny models."""
