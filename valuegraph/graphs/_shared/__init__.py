"""Pieces used by several loops: budget / exit router, reducers, result records."""
