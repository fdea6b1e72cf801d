"""Checkpointer factory: SQLite in the run directory by default, Postgres by URL.

SQLite checkpoints are written by :class:`LoopSqliteSaver`: LangGraph's own ``SqliteSaver``
(same schema, same serializer, the same file ``AsyncSqliteSaver`` would write) with its async
methods run inline on the event loop and group commit. ``AsyncSqliteSaver`` hands every
statement and every commit to aiosqlite's thread and back, four to six thread hops per graph
step; with 16 graphs in flight that cost 2.8 ms of CPU per step over running without a
checkpointer (the DeNEVIL graph over scripted models). Inline, a per-step checkpoint costs
about 0.8 ms, LangGraph's bookkeeping included (``bench/denevil_throughput.py``:
ms_per_step_sync - ms_per_step). In WAL mode with ``synchronous=NORMAL`` a commit does not
wait for the disk, so the loop is held for tens of microseconds per write.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver

SQLITE_FILE = "checkpoints.sqlite"


class LoopSqliteSaver(SqliteSaver):
    """LangGraph's ``SqliteSaver`` for async graphs: each async method runs its synchronous twin
    on the event loop, and the writes made in one loop iteration share one commit.

    An async write returns once its commit is done, so ``durability="sync"`` keeps its meaning
    (a step's checkpoint is committed before the next step starts); graphs that finish steps in
    the same iteration pay for one commit instead of one each. Synchronous calls from other
    threads commit at once, as ``SqliteSaver`` does.
    """

    def __init__(self, conn: sqlite3.Connection, **kwargs: Any):
        super().__init__(conn, **kwargs)
        self._deferring: int | None = None  # the thread whose writes wait for the group commit
        self._waiters: list[asyncio.Future[None]] = []

    @contextmanager
    def cursor(self, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        with self.lock:
            self.setup()
            cur = self.conn.cursor()
            try:
                yield cur
            finally:
                if transaction and self._deferring != threading.get_ident():
                    self.conn.commit()
                cur.close()

    async def _write(self, method: Callable[..., Any], *args: Any) -> Any:
        self._deferring = threading.get_ident()
        try:
            result = method(*args)
        finally:
            self._deferring = None
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        if not self._waiters:
            loop.call_soon(self.flush)
        self._waiters.append(done)
        await done
        return result

    def flush(self) -> None:
        """Commit the pending writes and wake their writers (run by the loop once per
        iteration with writes; also on close)."""
        waiters, self._waiters = self._waiters, []
        try:
            with self.lock:
                self.conn.commit()
        except Exception as exc:  # noqa: BLE001 - handed to every writer of the group
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def aget_tuple(self, config: Any) -> Any:
        return self.get_tuple(config)

    async def alist(self, config: Any, *, filter: dict[str, Any] | None = None,  # noqa: A002
                    before: Any = None, limit: int | None = None) -> AsyncIterator[Any]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(self, config: Any, checkpoint: Any, metadata: Any,
                   new_versions: Any) -> Any:
        return await self._write(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(self, config: Any, writes: Sequence[tuple[str, Any]], task_id: str,
                          task_path: str = "") -> None:
        await self._write(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._write(self.delete_thread, thread_id)

    async def aget_delta_channel_history(self, *, config: Any,
                                         channels: Sequence[str]) -> Mapping[str, Any]:
        return self.get_delta_channel_history(config=config, channels=channels)


@asynccontextmanager
async def open_checkpointer(target: str, run_dir: Path | None = None) -> AsyncIterator[Any]:
    """Yield an async LangGraph checkpointer.

    Args:
        target: ``"sqlite"`` (file ``checkpoints.sqlite`` in ``run_dir``) or a postgresql:// URL.
        run_dir: The run directory, needed for SQLite.
    """
    if target == "sqlite":
        if run_dir is None:
            raise ValueError("a SQLite checkpointer needs the run directory")
        with closing(sqlite3.connect(str(run_dir / SQLITE_FILE),
                                     check_same_thread=False)) as conn:
            saver = LoopSqliteSaver(conn)
            saver.setup()  # WAL journal
            # In WAL mode, NORMAL skips the fsync of every commit (two per graph step) and still
            # survives a killed process; only a power loss can drop the last steps, which resume
            # then replays from the completion cache.
            conn.execute("PRAGMA synchronous=NORMAL")
            try:
                yield saver
            finally:
                saver.flush()
        return
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    except ImportError as exc:
        raise ImportError(
            "a Postgres checkpointer needs: pip install 'valuegraph[postgres]'") from exc
    async with AsyncPostgresSaver.from_conn_string(target) as saver:
        await saver.setup()
        yield saver
