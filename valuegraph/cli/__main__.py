"""``python -m valuegraph.cli``: the command line."""

from valuegraph.cli import main

main()
