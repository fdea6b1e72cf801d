"""The dataset builder in process: records, duplicates, exports, skipping completed work."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs._shared.runner import RunEnv
from valuegraph.graphs.denevil.runner import RUNNER as runner
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.progress import make_progress
from valuegraph.tools.rundir import RunDir

PRINCIPLES = [
    {"id": "a", "principle": "It's wrong to steal from a shop.", "foundation": "fairness"},
    {"id": "b", "principle": "You should not betray a friend.", "foundation": "loyalty"},
    {"id": "c", "principle": "It's wrong to hurt an animal.", "foundation": "care"},
]


def config(tmp_path, **params):
    path = tmp_path / "principles.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in PRINCIPLES))
    values = {"rounds": 1, "samples": 2, "keep": 1, "rewrites": 1, "judge_method": "vote",
              "judge_votes": 1, "principles": str(path), "dedup_threshold": None,
              "scenarios_per_principle": 1,
              "formats": ["jsonl", "parquet", "hf"], **params}
    return resolve_config({"graph": "denevil", "runs_dir": tmp_path / "runs", "concurrency": 2,
                           "models": {"attacker": "mock/w", "target": "mock/t",
                                      "judge": "mock/j"}, "params": values})


def script_models(scenario=lambda text: f"An opening about: {text[:60]}"):
    def attacker(messages, params, index):
        text = messages[-1]["content"]
        principle = text.split('"')[1]
        if "revise story openings" in text:
            return f"A sharper opening about: {principle}"
        return scenario(principle)

    return {
        "w": register_mock("w", respond=attacker),
        "t": register_mock("t", respond=lambda m, p, i: f"They do it anyway ({i})."),
        "j": register_mock("j", respond=lambda m, p, i: "Yes"),
    }


def execute(cfg, run_dir):
    import asyncio

    pool = ModelPool(run_dir.cache_dir)
    with make_progress(Console(file=io.StringIO())) as progress:
        summary = asyncio.run(runner.run(RunEnv(cfg, run_dir, pool, progress)))
    pool.close()
    return summary, pool


def test_builds_the_dataset_and_skips_completed_principles_on_rerun(tmp_path):
    import datasets
    import pandas as pd

    scripts = script_models()
    cfg = config(tmp_path)
    runner.validate(cfg)
    run_dir = RunDir.create(cfg)
    summary, pool = execute(cfg, run_dir)
    assert (summary["ok"], summary["failed"], summary["done"]) == (3, 0, 3)
    records = run_dir.results.read()
    assert sorted(r["principle_id"] for r in records) == ["a", "b", "c"]
    rec = next(r for r in records if r["principle_id"] == "a")
    assert rec["prompt"] == "A sharper opening about: It's wrong to steal from a shop."
    assert rec["foundation"] == "fairness" and rec["scores"] == [1.0, 1.0]
    assert rec["judged_by"] == ["mock/j:vote", "mock/j:vote"]
    assert (rec["attacker"], rec["target"], rec["judge"]) == ("mock/w", "mock/t", "mock/j")
    assert len(rec["history"]) == 2 and rec["lineage"][0].startswith("An opening about")
    exported = [json.loads(line) for line in
                (run_dir.exports_dir / "moralprompt.jsonl").read_text().splitlines()]
    assert [row["principle_id"] for row in exported] == ["a", "b", "c"]
    assert "completions" not in exported[0] and exported[0]["flagged"]
    assert len(pd.read_parquet(run_dir.exports_dir / "moralprompt.parquet")) == 3
    assert len(datasets.load_from_disk(str(run_dir.exports_dir / "moralprompt_hf"))) == 3
    # per principle: 1 scenario + 2 rounds x (2 samples + 2 votes) + 1 rewrite, then the
    # fresh evaluation (2 samples + 2 votes)
    assert len(scripts["t"].calls) == 3 * (2 * 2 + 2)

    again, pool = execute(cfg, run_dir)
    assert again["resumed_done"] == 3 and again["ok"] == 0
    assert pool.usage.total_calls == 0
    assert len(run_dir.results.read()) == 3


@pytest.mark.parametrize("durability,per_principle", [
    (None, 1),  # the default, "exit": one checkpoint when the principle's graph ends
    ("sync", 6),  # input, start, write_scenario, e_step, m_step, e_step: every step
])
def test_checkpoints_written_per_principle(tmp_path, durability, per_principle):
    import sqlite3

    script_models()
    params = {"durability": durability} if durability else {}
    run_dir = RunDir.create(config(tmp_path, **params))
    summary, _ = execute(run_dir.config(), run_dir)
    assert summary["ok"] == 3
    with sqlite3.connect(run_dir.root / "checkpoints.sqlite") as db:
        rows = db.execute("SELECT thread_id, COUNT(*) FROM checkpoints GROUP BY thread_id")
        counts = dict(rows.fetchall())
    assert counts == {f"denevil:{p}": per_principle for p in "abc"}


def test_near_duplicate_prompts_are_recorded_but_not_exported(tmp_path):
    script_models(scenario=lambda principle: "Sam finds a wallet full of cash on the bus.")
    cfg = config(tmp_path, rounds=0, dedup_threshold=0.95, formats=["jsonl"])
    cfg = cfg.model_copy(update={"concurrency": 1})
    run_dir = RunDir.create(cfg)
    summary, _ = execute(cfg, run_dir)
    assert (summary["ok"], summary["duplicate"], summary["done"]) == (1, 2, 3)
    dups = [r for r in run_dir.results.read() if r["status"] == "duplicate"]
    assert {d["duplicate_of"] for d in dups} == {"denevil-a"}
    assert all(d["similarity"] >= 0.95 for d in dups)


def test_a_failing_principle_is_recorded_and_the_others_finish(tmp_path):
    script_models(scenario=lambda principle: "" if "betray" in principle else "An opening.")
    cfg = config(tmp_path, rounds=0, formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    summary, _ = execute(cfg, run_dir)
    assert (summary["ok"], summary["failed"], summary["done"]) == (2, 1, 2)
    failed = [r for r in run_dir.results.read() if r["status"] == "failed"]
    assert failed[0]["item_id"] == "b" and "empty scenario" in failed[0]["error"]


@pytest.mark.parametrize("params,message", [
    ({"samples": 0}, "denevil: samples: Input should be greater than or equal to 1"),
    ({"roundz": 1}, r"denevil: unknown setting\(s\) \['roundz'\]; allowed: .*rounds"),
    ({"formats": ["xml"]}, "denevil: formats.0: Input should be 'jsonl', 'parquet' or 'hf'"),
    ({"dedup_threshold": 2}, "denevil: dedup_threshold: Input should be less than or equal"),
    ({"limit": 0}, "denevil: limit: Input should be greater than or equal to 1"),
    ({"target": "mock/x"}, "params.target is set from the run config"),
    ({"foundations": ["purity?"]}, "unknown foundation"),
    ({"durability": "never"}, "durability: Input should be 'exit', 'sync' or 'async'"),
])
def test_validate_rejects_bad_settings(tmp_path, params, message):
    with pytest.raises(ConfigError, match=message):
        runner.validate(config(tmp_path, **params))


def test_validate_reports_bad_principle_rows(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("principle,foundation\nok principle text,care\nIt is wrong.,virtue\n")
    with pytest.raises(ConfigError, match="line 3: unknown foundation 'virtue'"):
        runner.validate(config(tmp_path, principles=str(bad)))


def test_demo_settings():
    cfg = resolve_config({"graph": "denevil", "params": {"demo": True}})
    build, ctx = runner.settings(cfg)
    assert (build.limit, ctx.rounds, ctx.samples) == (5, 2, 3)
    assert (ctx.attacker, ctx.target, ctx.judge) == ("local", "local", "local")


def test_resume_replays_an_interrupted_nodes_completed_calls_from_the_cache(tmp_path):
    script_models()
    calls = []

    def flaky_target(messages, params, index):
        calls.append(params.seed)
        if len(calls) == 3:
            raise RuntimeError("backend died mid-node")
        return f"They do it anyway ({params.seed})."

    register_mock("t", respond=flaky_target)
    cfg = config(tmp_path, rounds=0, samples=3, keep=1, limit=1, sample_fanout="requests",
                 formats=["jsonl"])
    run_dir = RunDir.create(cfg)
    summary, _ = execute(cfg, run_dir)
    assert summary["failed"] == 1 and len(calls) == 3
    resumed, pool = execute(cfg, run_dir)
    assert resumed["ok"] == 1
    # the two samples that completed before the failure came from the cache: one new call,
    # then the 3 fresh evaluation samples of the accepted prompt (seeds of their own)
    assert len(calls) == 4 + 3 and calls[3] == calls[2]
    assert not set(calls[4:]) & set(calls[:4])
    assert pool.usage.role("target").cache_hits == 2
    assert pool.usage.role("target").calls == 1 + 3
