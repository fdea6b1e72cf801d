"""D²O: alignment from negative samples only, with self-generated anchors (arXiv 2403.03419).

``loss`` (pure torch), ``config`` (``D2OConfig``), ``collator`` and ``trainer`` (``D2OTrainer``).
"""
