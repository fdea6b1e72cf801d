"""Value Compass boards: what growing a board costs next to building it.

A board of M scripted in-process models (``mock/``: replies cost nothing, so every second is
the framework's: prompts, judging through the pool and its disk cache, fsynced answers, the
leaderboard with 1,000 bootstrap resamples, the platform files and the report) on Q Schwartz
questions (per-value judge, AdAEM's L4: ten judge calls per key point) and 60 LLM-specific
sentence stems. Then, on the same board:

1. a re-run with nothing new (baseline: the first build): reads every answer, sends nothing,
   rewrites every output;
2. one more model: measures only its pairs (requests counted against a fresh one-model board).

    python bench/compass_board.py [--models 8] [--questions 150]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import peak_rss_mb, result_line, timed  # noqa: E402


def register(name: str) -> str:
    from valuegraph.testing import compass_fakes as fakes
    from valuegraph.tools.backends.mock_backend import register_mock

    def respond(messages, params, index):
        text = messages[-1]["content"]
        pick = int(hashlib.sha256(f"{name}|{text}".encode()).hexdigest(), 16) % 2
        return fakes.answer(("careful", "bold")[pick], text)

    register_mock(name, respond=respond)
    return f"mock/{name}"


def write_items(root: Path, questions: int) -> dict[str, Path]:
    release = root / "releases" / "v1"
    release.mkdir(parents=True)
    (release / "questions.jsonl").write_text("".join(
        json.dumps({"qid": f"q{i}", "question": f"Should rule {i} apply in region {i % 17}?"})
        + "\n" for i in range(questions)))
    (release / "manifest.json").write_text('{"version": "v1", "theory": "schwartz"}')
    stems = root / "fulva.jsonl"
    codes = ("self_competence", "user_oriented", "idealistic", "social", "professional",
             "ethical")
    stems.write_text("".join(json.dumps({"prompt": f"Stem {i}: when I help, I",
                                         "dimension": codes[i % 6]}) + "\n" for i in range(60)))
    return {"release": release, "fulva": stems}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--questions", type=int, default=150)
    args = parser.parse_args()

    from valuegraph.evals.compass.board import open_board
    from valuegraph.evals.compass.run import run_compass
    from valuegraph.testing import compass_fakes as fakes

    judge = fakes.register_mocks()["judge"]
    models = [register(f"m{i}") for i in range(args.models)]
    extra = register("newcomer")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        items = write_items(root / "items", args.questions)
        sources = [("schwartz", items["release"]), ("fulva", items["fulva"])]
        settings = {"judge": judge}
        with timed() as first_t:
            first = run_compass(open_board(root / "board", models=models, sources=sources,
                                           settings=settings))
        with timed() as again_t:
            again = run_compass(open_board(root / "board"))
        with timed() as added_t:
            added = run_compass(open_board(root / "board", models=[extra]))
        alone = run_compass(open_board(root / "alone", models=[extra], sources=sources,
                                       settings=settings))
        answers = len((root / "board" / "answers.jsonl").read_text().splitlines())
    pairs = first.counts["pairs"]
    print(f"board: {args.models} models x ({args.questions} questions + 60 stems) = {pairs} "
          f"pairs, {first.counts['requests']} requests")
    print(f"first build     {first_t.wall:7.2f} s wall  {first_t.cpu:7.2f} s CPU  "
          f"({1000 * first_t.wall / pairs:.1f} ms per pair)")
    print(f"re-run, nothing {again_t.wall:7.2f} s wall  requests {again.counts['requests']}  "
          f"ratio to first build {again_t.wall / first_t.wall:.3f}")
    print(f"one more model  {added_t.wall:7.2f} s wall  requests {added.counts['requests']} "
          f"(a fresh one-model board: {alone.counts['requests']})  measured "
          f"{added.counts['measured']} pairs")
    print(f"answers stored {answers}; peak RSS {peak_rss_mb():.0f} MB")
    print(result_line(pairs=pairs, first_s=first_t.wall, rerun_s=again_t.wall,
                      rerun_ratio=again_t.wall / first_t.wall,
                      rerun_requests=again.counts["requests"], add_model_s=added_t.wall,
                      add_model_requests=added.counts["requests"],
                      one_model_requests=alone.counts["requests"],
                      ms_per_pair=1000 * first_t.wall / pairs, peak_rss_mb=peak_rss_mb()))


if __name__ == "__main__":
    main()
