"""The ``valuegraph`` command: thin wrappers over the functions Python users call.

Nothing imports this package; each sub-module mounts its commands on :data:`app`.
"""

from __future__ import annotations

import logging
import sys

import typer

from valuegraph.cli import bench, grow, models, run, train, traits
from valuegraph.cli.common import console
from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError
from valuegraph.tools.specs import SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure, probe and align the values and honesty of LLMs.")
for module in (run, models, bench, grow, train, traits):
    module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # run.log takes valuegraph's INFO records; the terminal shows warnings and errors only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    try:
        app()
    except (ConfigError, SpecError, FileError) as exc:
        console.print(f"error: {' '.join(str(exc).split())}", markup=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
