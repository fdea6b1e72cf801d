"""``python -m valuegraph``: the command line."""

from valuegraph.cli import main

main()
