"""Start-up time of the paths a user waits on, each in a fresh Python process.

``valuegraph --help``, ``valuegraph run --help``, and a script that makes a pool and sends its
first request to a self-hosted server through the lean backend (an ``openai/`` spec with an
api_base, against the local test server). Median of ``--repeats`` fresh processes each. The
baseline, measured in the same run, is a bare ``python -c pass`` of the same interpreter.

    python bench/startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import result_line  # noqa: E402

from valuegraph.testing.process import start_server  # noqa: E402

FIRST_REQUEST = """
import asyncio, sys
from valuegraph.tools.pool import ModelPool

async def main():
    pool = ModelPool(None, api_bases={{"openai/test": "{base}"}})
    reply = await pool.generate("openai/test", [{{"role": "user", "content": "hi"}}])
    await pool.aclose()
    assert reply[0].text
    assert "litellm" not in sys.modules, "the lean backend imported litellm"

asyncio.run(main())
"""


def median_seconds(argv: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy())
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} failed: {done.stderr[-800:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    server = start_server()
    try:
        figures = {
            "python_s": median_seconds([python, "-c", "pass"], args.repeats),
            "help_s": median_seconds([python, "-m", "valuegraph.cli", "--help"], args.repeats),
            "run_help_s": median_seconds([python, "-m", "valuegraph.cli", "run", "--help"],
                                         args.repeats),
            "first_request_s": median_seconds(
                [python, "-c", FIRST_REQUEST.format(base=server.api_base)], args.repeats),
        }
    finally:
        server.stop()
    for name, seconds in figures.items():
        print(f"{name:16s} {seconds:.2f}s (median of {args.repeats} fresh processes)")
    slowest = max(v for k, v in figures.items() if k != "python_s")
    print(result_line(startup_s=slowest, **figures))


if __name__ == "__main__":
    main()
