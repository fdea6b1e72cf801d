"""One growth step on the embedded default model (SmolLM2-135M in-process), tiny budget."""

from __future__ import annotations

import pytest

from tests.graphs.adaem.checks import check_run
from valuegraph.config import resolve_config
from valuegraph.graphs._shared.runner import RunEnv
from valuegraph.graphs.adaem.release import read_release, release_dirs
from valuegraph.graphs.adaem.runner import RUNNER as runner
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.rundir import RunDir


@pytest.mark.slow
async def test_one_step_on_the_embedded_model_writes_a_release(tmp_path):
    pytest.importorskip("llama_cpp")
    # Short replies and one call per labelled text keep this near a minute on two cores; the
    # 135M model rarely keeps the reply formats, which the parsers have to survive.
    cfg = resolve_config({"graph": "adaem", "runs_dir": tmp_path, "run_id": "local", "params": {
        "steps": 1, "questions_per_step": 2, "max_depth": 0, "opinion_points": 1,
        "opinion_max_tokens": 64, "question_max_tokens": 80, "judge_mode": "joint",
        "release_every": 1}}, None, {})
    assert set(cfg.models.values()) == {"local"}
    runner.validate(cfg)
    run_dir = RunDir.create(cfg)
    pool = ModelPool(run_dir.cache_dir)
    try:
        summary = await runner.run(RunEnv(cfg, run_dir, pool))
    finally:
        pool.close()
    assert summary["done"] and summary["steps_done"] == 1
    checked = check_run(run_dir.root, summary["arms"], 1)
    kinds = {r["kind"] for r in checked["records"]}
    assert {"candidate", "score", "step"} <= kinds
    assert pool.usage.role("attacker").calls == 4  # N2 = 2 samples x (fact + question)
    kept = [q for q in checked["questions"] if q["status"] == "kept"]
    assert kept, "the pinned seeds make the embedded model write at least one question"
    (version,) = release_dirs(run_dir.root)
    release = read_release(version)
    assert [q["qid"] for q in release.questions] == [q["qid"] for q in kept]
    assert release.manifest["pools"]["p1"] == ["local"]
