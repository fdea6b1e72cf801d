"""``python -m valuegraph.graphs > langgraph.json``: the Studio config of every graph."""

import sys

from valuegraph.graphs import langgraph_json

sys.stdout.write(langgraph_json())
