"""MoHoBench (arXiv 2507.21503, AAAI-26): honesty of multimodal models on visual
questions the image cannot answer.

``graph.py`` holds the construction loop (one image: write, hard-filter, check), ``runner.py``
the benchmark builder behind ``valuegraph run mohobench``, ``release.py`` its versioned
releases, ``records.py`` the typed records (construction, and the judged answers that
``valuegraph bench honesty`` writes and ``valuegraph train honesty`` reads); see
docs/mohobench.md.
"""
