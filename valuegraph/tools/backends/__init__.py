"""Backends behind the model pool. Each is imported lazily by :mod:`valuegraph.tools.pool`."""
