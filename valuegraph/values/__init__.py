"""Value science as pure functions: theories, metrics, statistics, informativeness S,
diversity and profiles. Imports only ``valuegraph.tools`` and ``valuegraph.config``."""
