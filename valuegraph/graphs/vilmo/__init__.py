"""VILMO (Duan et al., ICLR 2024, with DeNEVIL): value instructions that reduce violations.

``graph.py`` holds the loop (``build_graph``): a generator writes a prompt-specific value
instruction, the target continues the scenario with it in context, the violation judge scores,
the generator revises. ``runner.py`` runs it over a MoralPrompt-style dataset
(``valuegraph run vilmo``); ``records.py`` holds its typed record and the instruction-file
reader used by ``bench moral --intervention``. See docs/vilmo.md.
"""
