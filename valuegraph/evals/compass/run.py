"""The compass run: measure what the board lacks, then write the leaderboard from every answer.

    board = open_board("boards/main", models=["local", "openai/gpt-4o-mini"],
                       sources=[("schwartz", "runs/grow-1/releases/v1"),
                                ("mft", "runs/denevil-1")], settings={"judge": "openai/gpt-4o"})
    outcome = run_compass(board)          # outcome.paths: leaderboard.csv/.json, report.html, ...

Only (model, item) pairs without a stored answer of the board's measurement are put to models,
``concurrency`` at a time; each answer is appended (fsynced) when its pair finishes, and every
call goes through the board's completion cache. So a second run with one more model, or one more
release, sends requests for the new pairs only, and a run killed half-way repeats no finished
call when started again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuegraph.evals.compass.board import Board
from valuegraph.evals.compass.items import CompassItem
from valuegraph.evals.compass.measure import CompassAnswer, Measurer
from valuegraph.evals.compass.outputs import write_outputs
from valuegraph.evals.compass.scores import Leaderboard, build_leaderboard
from valuegraph.graphs._shared.runner import RunLock
from valuegraph.tools.pool import ModelPool, closing
from valuegraph.tools.progress import NullProgress

log = logging.getLogger(__name__)
EXIT_CODES = {"done": 0, "failed": 1, "incomplete": 3}


@dataclass
class CompassOutcome:
    """How a run ended and what it wrote."""

    state: str
    leaderboard: Leaderboard
    paths: dict[str, Path]
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]


def unique_items(board: Board) -> list[CompassItem]:
    """Every item of the board once (an item listed by two releases is measured once)."""
    return list({i.digest: i for items in board.items().values() for i in items}.values())


async def measure_missing(board: Board, measurer: Measurer, answers: dict[str, CompassAnswer],
                          *, budget: int | None = None, progress: Any = None
                          ) -> dict[str, Any]:
    """Measure the pairs without an answer; store each as it finishes. Returns the counts."""
    progress = progress or NullProgress()
    pairs = [(m, i) for i in unique_items(board) for m in board.spec.models]
    todo = [(m, i) for m, i in pairs if measurer.key(m, i) not in answers]
    counts: dict[str, Any] = {"pairs": len(pairs), "reused": len(pairs) - len(todo),
                              "measured": 0, "unscored": 0, "failed": 0, "skipped_budget": 0,
                              "errors": []}
    task = progress.add_task("compass", total=len(pairs), completed=len(pairs) - len(todo),
                             info="")
    writer = board.writer()
    gate = asyncio.Semaphore(board.settings.concurrency)
    pool = measurer.pool

    async def one(model: str, item: CompassItem) -> None:
        async with gate:
            if budget is not None and pool.usage.total_calls >= budget:
                counts["skipped_budget"] += 1
                return
            try:
                answer = await measurer.measure(model, item)
            except Exception as exc:  # noqa: BLE001 - counted; the next run retries the pair
                counts["failed"] += 1
                if len(counts["errors"]) < 5:
                    counts["errors"].append(f"{model} on {item.system}/{item.id}: "
                                            f"{type(exc).__name__}: {exc}"[:300])
                log.warning("%s on %s/%s failed: %s", model, item.system, item.id, exc)
                return
            await asyncio.to_thread(writer.append, answer)
            answers[answer.key] = answer
            counts["measured"] += 1
            counts["unscored"] += answer.status == "unscored"
            progress.update(task, advance=1, info=f"{model} requests {pool.usage.total_calls}")

    await asyncio.gather(*(one(m, i) for m, i in todo))
    return counts


def run_compass(board: Board, *, api_bases: dict[str, str] | None = None,
                budget: int | None = None, progress: Any = None,
                pool: ModelPool | None = None) -> CompassOutcome:
    """Measure what is missing and write every output of the board.

    Raises:
        ConfigError: the board is in use by another process.
        FileError: the board's answers file was damaged.
    """
    started = time.monotonic()
    api_bases = {**board.spec.api_bases, **(api_bases or {})}
    board.root.mkdir(parents=True, exist_ok=True)
    with RunLock(board.root):
        answers = board.read_answers()  # a damaged file stops the run before anything changes
        board.save()
        own_pool = pool is None
        pool = pool or ModelPool(board.root / "cache", api_bases=api_bases)
        try:
            measurer = Measurer(pool, board.settings, api_bases)
            counts = asyncio.run(closing(pool, measure_missing(
                board, measurer, answers, budget=budget, progress=progress)))
        finally:
            if own_pool:
                pool.close()
        counts.update(requests=pool.usage.total_calls, cache_hits=pool.usage.total_cache_hits,
                      seconds=round(time.monotonic() - started, 2))
        current = {}
        for item in unique_items(board):
            for model in board.spec.models:
                found = answers.get(measurer.key(model, item))
                if found is not None:
                    current[(model, item.digest)] = found
        leaderboard = build_leaderboard(board.spec.models, board.items(), current,
                                        targets=board.targets,
                                        n_resamples=board.settings.n_resamples,
                                        seed=board.settings.seed)
        if counts["failed"] == 0 and counts["skipped_budget"] == 0:
            state = "done"
        elif counts["measured"] == 0 and counts["failed"] and not counts["skipped_budget"] \
                and counts["reused"] == 0:
            state = "failed"
        else:
            state = "incomplete"
        counts["state"] = state
        paths = write_outputs(board, leaderboard, current, counts)
    return CompassOutcome(state, leaderboard, paths, counts)
