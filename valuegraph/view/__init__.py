"""``valuegraph view``: a local, read-only web page over a runs directory, live.

:func:`~valuegraph.view.app.create_app` builds the Starlette app; ``valuegraph view [runs-dir]``
serves it on 127.0.0.1. Per-item record kinds are shown through the renderer registry in
:mod:`valuegraph.view.items` (one function per kind). See docs/view.md.
"""
