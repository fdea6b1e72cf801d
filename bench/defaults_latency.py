"""Default settings against tuned ones on an eval-shaped run at 100 ms of server latency.

Each item runs one graph: one target call, then one judge call (``tests/eval_loop.py``), through
the kit's runner exactly as ``valuegraph run`` does (run directory, SQLite checkpoints, cache,
records). The local OpenAI-compatible server delays every reply by ``--delay`` seconds. The
same code runs twice per repeat, alternating: with the default settings (``concurrency`` unset:
adaptive) and tuned (``concurrency: 64``). The ratio is the tuned run's wall time over the
default's (1.0: the defaults lose nothing; the goal is at least 0.9).

    python bench/defaults_latency.py [--items 300] [--delay 0.1] [--tuned 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(Path(__file__).parent), str(ROOT)]
from _common import result_line, timed  # noqa: E402

from tests.eval_loop import RUNNER  # noqa: E402
from valuegraph.config import resolve_config  # noqa: E402
from valuegraph.graphs._shared.runner import execute_run  # noqa: E402
from valuegraph.testing.process import start_server  # noqa: E402
from valuegraph.tools.rundir import RunDir  # noqa: E402

JUDGE_RULE = {"match": "Answer Yes or No", "reply": "Yes", "logprobs": {"Yes": -0.2, "No": -1.7}}


def one_run(api_base: str, runs: Path, run_id: str, items: int,
            concurrency: int | None) -> tuple[float, dict]:
    values = {"graph": "evalshape", "runs_dir": runs, "run_id": run_id,
              "models": {"target": "openai/target", "judge": "openai/judge"},
              "api_bases": {"openai/target": api_base, "openai/judge": api_base},
              "params": {"items": items}}
    if concurrency is not None:
        values["concurrency"] = concurrency
    cfg = resolve_config(values, None, {})
    RUNNER.validate(cfg)
    run_dir = RunDir.create(cfg)
    with timed() as timing:
        outcome = execute_run(RUNNER, cfg, run_dir)
    assert outcome.state == "done" and outcome.summary["ok"] == items, outcome.summary
    return timing.wall, outcome.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--tuned", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = start_server(rules=[JUDGE_RULE])
    server.admin(delay=args.delay)
    walls: dict[str, list[float]] = {"default": [], "tuned": []}
    peaks: list[int] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = Path(tmp)
            one_run(server.api_base, runs, "warm", 8, 8)  # imports and connections, untimed
            for repeat in range(args.repeats):
                for name, concurrency in (("default", None), ("tuned", args.tuned)):
                    wall, summary = one_run(server.api_base, runs, f"{name}{repeat}",
                                            args.items, concurrency)
                    walls[name].append(wall)
                    if concurrency is None:
                        peaks.append(summary["concurrency_peak"])
                    print(f"{name:8s} repeat {repeat}: {wall:.2f}s "
                          f"({args.items / wall:.0f} items/s)"
                          + (f", peak {summary['concurrency_peak']} graphs in flight"
                             if concurrency is None else ""), flush=True)
        requests = server.admin()["requests"]
    finally:
        server.stop()
    default, tuned = statistics.median(walls["default"]), statistics.median(walls["tuned"])
    floor = 2 * args.delay * args.items / args.tuned
    print(f"{args.items} items x 2 calls at {args.delay * 1000:.0f} ms; median of "
          f"{args.repeats}: default {default:.2f}s, tuned ({args.tuned} in flight) "
          f"{tuned:.2f}s; latency floor at {args.tuned} in flight {floor:.2f}s; "
          f"{requests} requests in all")
    print(result_line(ratio_default_to_tuned=tuned / default, default_s=default,
                      tuned_s=tuned, default_peak=int(statistics.median(peaks)),
                      items=args.items))


if __name__ == "__main__":
    main()
