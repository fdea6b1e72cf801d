"""A throwaway PostgreSQL server for tests: initdb + pg_ctl on a free port in a temporary dir.

Debian's ``postgresql`` package (``scripts/system-deps.sh`` installs it in CI) puts the server
binaries in ``/usr/lib/postgresql/<version>/bin``. Postgres refuses to run as root, so as root
the server runs as the ``postgres`` system user the package creates (``runuser``). Trust
authentication on 127.0.0.1 only; ``fsync=off``: the tests kill the *client* (a run), never the
server, so the server's own crash safety is not what they measure.

    with start_postgres() as pg:
        url = pg.create_database("t1")      # postgresql://vg@127.0.0.1:<port>/t1
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no user to run them as)."""


def server_bindir() -> Path:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (the newest version).

    Raises:
        PostgresUnavailable: no server binaries found.
    """
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found; install "
                              "Debian's postgresql package (bash scripts/system-deps.sh)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throwaway server."""

    bindir: Path
    data: Path
    port: int
    run_as: str | None
    user: str = "vg"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name``; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run(self.run_as, [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                           "-w", "stop"], check=False)
        shutil.rmtree(self.data.parent, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _run(run_as: str | None, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if run_as is not None:
        argv = ["runuser", "-u", run_as, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} failed: {(done.stderr or done.stdout)[-600:]}")
    return done


def start_postgres() -> PostgresServer:
    """Start a fresh server on a free port of 127.0.0.1.

    Raises:
        PostgresUnavailable: no server binaries, or running as root without a ``postgres`` user
            or ``runuser`` to run them as.
    """
    bindir = server_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no 'postgres' user to run "
                                      "the server as (Debian's postgresql package creates it)"
                                      ) from None
        if shutil.which("runuser") is None:
            raise PostgresUnavailable("running as root without runuser to drop to 'postgres'")
        run_as = "postgres"
    root = Path(tempfile.mkdtemp(prefix="valuegraph-pg-"))
    data = root / "data"
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    try:
        _run(run_as, [str(bindir / "initdb"), "-D", str(data), "-U", "vg", "--auth=trust",
                      "-E", "UTF8", "--no-sync", "--no-instructions"])
        port = _free_port()
        options = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        _run(run_as, [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
                      str(root / "server.log"), "-w", "-t", "60", "start"])
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return PostgresServer(bindir, data, port, run_as)
