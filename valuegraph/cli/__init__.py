"""The ``valuegraph`` command: thin wrappers over the functions Python users call.

Nothing imports this package; each sub-module mounts its commands on :data:`app`.
"""

from __future__ import annotations

import logging
import sys

import typer

from valuegraph.cli import (
    align,
    bench,
    compass,
    grow,
    honesty,
    models,
    run,
    serve,
    train,
    traits,
    view,
)
from valuegraph.cli.common import console
from valuegraph.config import ConfigError
from valuegraph.tools.files import FileError
from valuegraph.tools.secrets import RedactingFilter
from valuegraph.tools.specs import SpecError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Measure, probe and align the values and honesty of LLMs.")
COMMAND_MODULES = (
    run,
    models,
    bench,
    honesty,
    compass,
    grow,
    train,
    traits,
    align,
    view,
    serve,
)
"""Each mounts its commands with ``register(app)``; the help lists them in this order."""
for module in COMMAND_MODULES:
    module.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # run.log takes valuegraph's INFO records; the terminal shows warnings and errors only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
        handler.addFilter(RedactingFilter())
    try:
        app()
    except (ConfigError, SpecError, FileError) as exc:
        console.print(f"error: {' '.join(str(exc).split())}", markup=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
