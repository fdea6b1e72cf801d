"""``valuegraph view [runs-dir]``: a local web page over runs, live, read-only."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Annotated

import typer

from valuegraph.cli.common import console, fail, out, runs_dir_of
from valuegraph.config import ConfigError

DEFAULT_PORT = 8765
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_port(raw: str) -> int:
    """``--port 8765`` -> 8765; 0 picks a free port.

    Raises:
        ConfigError: not a whole number from 0 to 65535.
    """
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be a whole number from 0 to 65535 (0: any free port), "
                          f"got {raw!r}")
    return port


def view(
    runs_dir: Annotated[Path | None, typer.Argument(
        help="Runs directory (default: the configured runs_dir, ./runs).")] = None,
    host: Annotated[str, typer.Option(
        help="Address to listen on; the default keeps the page on this machine.")] = "127.0.0.1",
    port: Annotated[str, typer.Option(help="Port (0: any free port).")] = str(DEFAULT_PORT),
    poll: Annotated[float, typer.Option(
        help="Seconds between a page's checks for new records and status.")] = 2.0,
) -> None:
    """A local web page over runs: status, transcripts, growth, benchmarks, comparisons."""
    try:
        from valuegraph.view.app import LOOPBACK_HOSTS, create_app
        from valuegraph.view.server import bind, serve, url_of
    except ImportError as exc:
        raise fail(f"the viewer needs the view extra ({exc.name} is missing): "
                   "pip install 'valuegraph[view]'") from None
    try:
        number = parse_port(port)
        if not 0.05 <= poll <= 3600:
            raise ConfigError(f"--poll must be between 0.05 and 3600 seconds, got {poll}")
        root = runs_dir_of(runs_dir)
        hosts = None if host in LOOPBACK else [*LOOPBACK_HOSTS, host]
        app = create_app(root, poll_seconds=poll,
                         allowed_hosts=["*"] if host in ("0.0.0.0", "::") else hosts)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    try:
        sock = bind(host, number)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise fail(f"port {number} on {host} is in use; choose another with --port "
                       "(0: any free port)") from None
        raise fail(f"cannot listen on {host}:{number}: {exc.strerror or exc}") from None
    if host not in LOOPBACK:
        console.print(f"warning: listening on {host}: anyone who can reach this machine can "
                      "read these runs", markup=False)
    out.print(f"valuegraph view: {url_of(sock)} (runs: {root}; Ctrl-C stops)", markup=False,
              soft_wrap=True, highlight=False)
    try:
        serve(app, sock)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


def register(app: typer.Typer) -> None:
    app.command()(view)
