"""AdAEM (arXiv 2505.13531): a self-extending value benchmark grown by a UCB bandit over topics.

``graph.py`` holds the LangGraph state machine, ``runner.py`` the resumable growth run behind
``valuegraph grow``, ``release.py`` the versioned benchmark releases. See docs/adaem.md.
"""
