"""Pipelines: runs that chain loops, evaluations and training (the floor above evals and
training, below the CLI). ``align``: probe -> negatives -> D²O -> re-probe -> paired comparison.
"""
