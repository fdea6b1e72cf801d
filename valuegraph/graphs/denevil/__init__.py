"""DeNEVIL (Duan et al., ICLR 2024): prompts that elicit violations of moral principles.

``graph.py`` holds the loop (``build_graph``), ``runner.py`` the MoralPrompt-style dataset
builder behind ``valuegraph run denevil``; see docs/denevil.md.
"""
