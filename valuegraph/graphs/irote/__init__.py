"""IROTE (Bai et al., AAAI-26): in-context self-reflective trait elicitation.

``graph.py`` holds the loop (``build_graph``), ``runner.py`` the run over traits behind
``valuegraph run irote``; the objective is in ``valuegraph/values/irote_objective.py``; see
docs/irote.md.
"""
