"""`valuegraph run irote` in process: typed records, exports, seeds and item files, a failed
trait retried by a resumed run without redoing the others."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from rich.console import Console

from valuegraph.config import ConfigError, resolve_config
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.graphs._shared.runner import RunEnv
from valuegraph.graphs.irote.records import ReflectionRecord
from valuegraph.graphs.irote.runner import DEMO_PARAMS
from valuegraph.graphs.irote.runner import RUNNER as runner
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.files import FileError
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.progress import make_progress
from valuegraph.tools.rundir import RunDir
from valuegraph.tools.types import BackendError

from .conftest import optimizer_reply

SMALL = {"rounds": 1, "initial_sets": 2, "set_size": 3, "optimization_beam": 1, "k_shot": 2,
         "summarization_beam": 1, "top_k": 1, "line_orders": 1, "distractor_turns": [0],
         "max_items": 2, "embedder": "hashing", "formats": ["jsonl"]}


def config(tmp_path, **params):
    return resolve_config({"graph": "irote", "runs_dir": tmp_path / "runs", "concurrency": 2,
                           "run_id": "r1",
                           "models": {"target": "mock/target", "optimizer": "mock/optimizer",
                                      "judge": "mock/judge"},
                           "params": {"traits": ["O", "Conscientiousness"], **SMALL, **params}})


def execute(cfg, run_dir):
    pool = ModelPool(run_dir.cache_dir)
    with make_progress(Console(file=io.StringIO())) as progress:
        summary = asyncio.run(runner.run(RunEnv(cfg, run_dir, pool, progress)))
    pool.close()
    return summary


def test_one_record_per_trait_and_the_exports(tmp_path, scripted):
    cfg = config(tmp_path)
    runner.validate(cfg)
    run_dir = RunDir.create(cfg)
    summary = execute(cfg, run_dir)
    assert (summary["ok"], summary["failed"], summary["done"]) == (2, 0, 2)
    records = list(RecordLog(run_dir.results_path).typed("irote_reflection"))
    assert all(isinstance(r, ReflectionRecord) for r in records)
    by_trait = {r.trait_id: r for r in records}
    assert set(by_trait) == {"big_five:O", "big_five:C"}
    record = by_trait["big_five:C"]
    assert record.item_id == "big_five-C" and record.run_id == "r1"
    assert record.items == ["bfi-c-1", "bfi-c-2"] and record.rounds == 1
    assert record.lines[0].startswith("I am curious") and record.iteration == 1
    assert (record.target, record.optimizer, record.judge) == ("mock/target", "mock/optimizer",
                                                               "mock/judge")
    exported = [json.loads(line) for line in
                (run_dir.exports_dir / "reflections.jsonl").read_text().splitlines()]
    assert [row["trait_id"] for row in exported] == ["big_five:O", "big_five:C"]
    assert exported[1]["text"] == record.text and exported[1]["reward"] == record.reward
    sets = (run_dir.exports_dir / "reflection_sets.jsonl").read_text().splitlines()
    assert len(sets) == sum(len(r.sets) for r in records) == 2 * 3
    assert set(json.loads(sets[0])) >= {"iteration", "strs", "text", "avg_reward",
                                        "compactness"}
    calls = len(scripted["optimizer"].calls)
    again = execute(cfg, run_dir)  # a finished run has nothing left to do
    assert again["resumed_done"] == 2 and again["ok"] == 0
    assert len(scripted["optimizer"].calls) == calls


def test_a_failed_trait_is_retried_on_resume_and_the_others_are_not_redone(tmp_path, scripted):
    def broken(messages, params, index):
        if "Conscientiousness" in messages[-1]["content"]:
            raise BackendError("the server went away", retryable=False)
        return optimizer_reply(messages, params, index)

    register_mock("optimizer", respond=broken)
    cfg = config(tmp_path)
    run_dir = RunDir.create(cfg)
    first = execute(cfg, run_dir)
    assert (first["ok"], first["failed"], first["done"]) == (1, 1, 1)
    failure = next(r for r in run_dir.results.read() if r["kind"] == "failure")
    assert failure["item_id"] == "big_five-C" and "server went away" in failure["error"]
    script = register_mock("optimizer", respond=optimizer_reply)
    second = execute(cfg, run_dir)
    assert (second["resumed_done"], second["ok"], second["done"]) == (1, 1, 2)
    prompts = [c[-1]["content"] for c in script.calls]
    assert prompts and not any("Openness" in p for p in prompts)  # O was not redone


def test_seed_lines_from_a_file_replace_the_seed_requests(tmp_path, scripted):
    seeds = tmp_path / "seeds.csv"
    seeds.write_text("dimension,sentence\n" + "".join(f"O,I wonder about thing {n}\n"
                                                        for n in range(6)))
    cfg = config(tmp_path, traits=["O"], seeds=str(seeds))
    run_dir = RunDir.create(cfg)
    assert execute(cfg, run_dir)["ok"] == 1
    prompts = [c[-1]["content"] for c in scripted["optimizer"].calls]
    assert not any("different first-person reflections" in p for p in prompts)
    (record,) = run_dir.results.read()
    assert record["sets"][0]["lines"] == [f"I wonder about thing {n}" for n in range(3)]


def test_an_item_file_drives_the_loop(tmp_path, scripted):
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"theory": "mft", "dimension": "care", "text": "I help.",
                                 "split": "train", "id": "mine-1"}) + "\n")
    cfg = config(tmp_path, theory="mft", traits=["care"], items=str(items))
    run_dir = RunDir.create(cfg)
    assert execute(cfg, run_dir)["ok"] == 1
    (record,) = run_dir.results.read()
    assert record["trait_id"] == "mft:care" and record["items"] == ["mine-1"]


@pytest.mark.parametrize("params,error,message", [
    ({"traits": ["Openness", "Wisdom"]}, ConfigError,
     "irote: params.traits: 'Wisdom' is not a dimension of Big Five"),
    ({"theory": "tarot"}, ConfigError, "irote: theory: Input should be 'schwartz', 'mft'"),
    ({"items": "missing.jsonl"}, FileError, "missing.jsonl: item file not found"),
    ({"top_k": 0}, ConfigError, "irote: top_k: Input should be greater than or equal to 1"),
])
def test_bad_settings_are_refused_before_anything_runs(tmp_path, params, error, message):
    with pytest.raises(error, match=message):
        runner.validate(config(tmp_path, **params))


def test_a_trait_without_train_items_is_refused(tmp_path):
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"theory": "big_five", "dimension": "O", "text": "I like art.",
                                 "split": "test"}) + "\n")
    with pytest.raises(ConfigError, match="no train items for big_five:O in .*items.jsonl"):
        runner.validate(config(tmp_path, traits=["O"], items=str(items)))


def test_the_demo_preset_is_small():
    params = runner.expand_params({"demo": True, "rounds": 2})
    assert params["rounds"] == 2 and params["limit"] == 1
    assert params["initial_sets"] * params["set_size"] == 6 and params["distractor_turns"] == [0]
    assert set(DEMO_PARAMS) - {"limit"} <= set(runner.context_cls.field_names())
