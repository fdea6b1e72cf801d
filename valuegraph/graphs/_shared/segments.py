"""Long runs as a chain of graph *segments* (AdAEM growth; any loop that runs for days).

Segment k runs on checkpoint thread ``<name>-<k>`` until its share of steps is done; segment
k+1 starts from its *carry* (the totals the next segment needs) and thread k is deleted once the
next one holds the carry. So a run "forever" never reaches the recursion limit (it is per
invocation) and the checkpoint database does not grow with the run. ``segment.json`` names the
current segment: a resumed run (after SIGKILL, a crash or a wall-clock stop) continues the
unfinished segment from its last checkpoint.

A subclass gives the graph, the state type, the carry, the exit rule and what to do after
each step; :meth:`SegmentRunner.run_segments` does the rest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from langchain_core.runnables import RunnableConfig

from valuegraph.graphs._shared.runner import LoopRunner, RunEnv
from valuegraph.tools.checkpoint import open_checkpointer
from valuegraph.tools.files import write_atomic

SEGMENT_FILE = "segment.json"


class SegmentRunner(LoopRunner):
    """Runs segment after segment until the exit rule finishes (or pauses) the run."""

    carry_fields: ClassVar[tuple[str, ...]] = ()
    """State fields carried from one segment to the next."""
    done_reasons: ClassVar[tuple[str, ...]] = ()
    """Exit reasons that finish the run; any other reason but "segment" pauses it."""
    step_field: ClassVar[str] = "steps_done"
    """The state field that counts finished steps (``after_step`` runs when it grows)."""
    default_recursion_limit: ClassVar[int] = 1000

    # -- hooks -----------------------------------------------------------------------------

    def state_of(self, values: dict[str, Any]) -> Any:
        """The typed state from a values mapping."""
        raise NotImplementedError

    def exit_reason(self, state: Any, context: Any) -> str | None:
        raise NotImplementedError

    async def after_step(self, run: SegmentRun, state: Any) -> None:
        """Hook: progress, status, releases after each finished step."""

    async def on_interrupt(self, run: SegmentRun, snapshot: Any) -> Any:
        """Hook: the resume value for a paused graph (a ``Command``), or None to stop."""
        return None

    def summary(self, run: SegmentRun, state: Any, reason: str | None) -> dict[str, Any]:
        return {"exit_reason": reason}

    # -- the chain -------------------------------------------------------------------------

    def segment_config(self, context: Any, segment: int) -> RunnableConfig:
        return RunnableConfig(configurable={"thread_id": f"{self.name}-{segment:06d}"},
                              recursion_limit=self.recursion_limit(context))

    def carry(self, values: dict[str, Any]) -> dict[str, Any]:
        return {key: values[key] for key in self.carry_fields if key in values}

    async def run_segments(self, run: SegmentRun) -> dict[str, Any]:
        """Continue the run's current segment, then chain new ones until an exit reason
        other than "segment"; returns the summary (its ``state`` is done or incomplete)."""
        async with open_checkpointer(run.env.cfg.checkpointer, run.root) as saver:
            graph = self.build_graph().compile(checkpointer=saver, name=self.name)
            segment = run.segment()
            carry: dict[str, Any] = {}
            if segment > 0:
                previous = await graph.aget_state(self.segment_config(run.context, segment - 1))
                if previous.values:
                    carry = self.carry(previous.values)
            while True:
                config = self.segment_config(run.context, segment)
                snapshot = await graph.aget_state(config)
                if snapshot.values and not snapshot.next:
                    state = self.state_of(snapshot.values)
                    reason = self.exit_reason(state, run.context)
                    # None: the bound that ended this segment no longer holds (a resumed run's
                    # new deadline, a raised budget or step count): go on in a new segment.
                    if reason is not None and reason != "segment":
                        return self._finish(run, state, reason)
                    carry = self.carry(snapshot.values)
                    segment += 1
                    run.set_segment(segment)
                    continue
                start: Any
                if snapshot.next and snapshot.interrupts:
                    start = await self.on_interrupt(run, snapshot)
                    if start is None:
                        return self._finish(run, self.state_of(snapshot.values), "paused")
                else:
                    start = None if snapshot.next else carry
                await self._stream(run, graph, start, config)
                if segment > 0:
                    await saver.adelete_thread(f"{self.name}-{segment - 1:06d}")

    async def _stream(self, run: SegmentRun, graph: Any, start: Any,
                      config: RunnableConfig) -> None:
        """Run one segment (or its rest); ``durability="sync"`` writes each checkpoint before
        the next node starts, so a kill loses at most the node in flight."""
        seen: int | None = None
        async for values in graph.astream(start, config, context=run.context,
                                          stream_mode="values", durability="sync"):
            if "__interrupt__" in values:  # a pause: handled by run_segments
                continue
            state = self.state_of(values)
            done = getattr(state, self.step_field)
            if seen is not None and done > seen:
                await self.after_step(run, state)
            seen = done

    def _finish(self, run: SegmentRun, state: Any, reason: str | None) -> dict[str, Any]:
        summary = self.summary(run, state, reason)
        finished = reason in self.done_reasons
        return {"state": "done" if finished else "incomplete", "exit_reason": reason,
                "done": finished, **summary, "segment": run.segment()}


class SegmentRun:
    """One process's part of a segmented run: its env, context and segment file."""

    def __init__(self, env: RunEnv, context: Any):
        self.env = env
        self.context = context
        self.root = Path(env.run_dir.root)

    def segment(self) -> int:
        path = self.root / SEGMENT_FILE
        return json.loads(path.read_text())["segment"] if path.is_file() else 0

    def set_segment(self, segment: int) -> None:
        write_atomic(self.root / SEGMENT_FILE, json.dumps({"segment": segment}))
