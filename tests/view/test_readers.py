"""What the viewer reads, without a browser: the per-kind renderer registry, items of resumed
runs, the growth summary, paired comparisons, the polling protocol and damaged files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.view.builders import moral_record
from valuegraph.graphs._shared.records import RecordLog
from valuegraph.tools.rundir import RunDir
from valuegraph.values.paired import compare_paired
from valuegraph.view.app import create_app
from valuegraph.view.compare import compare, load_side
from valuegraph.view.growth import growth_view
from valuegraph.view.items import (
    ITEM_KINDS,
    ItemView,
    Round,
    item_sections,
    outputs_of,
    register_item_kind,
)
from valuegraph.view.sources import Sources


def client(runs: Path) -> TestClient:
    return TestClient(create_app(runs), base_url="http://127.0.0.1")


@pytest.fixture
def instruction_kind():
    """A VILMO-style kind (rounds of value instructions), registered for one test."""
    @register_item_kind("test_instruction", title="Value instructions",
                        group_label="foundation", score_label="violation after")
    def render(record: dict[str, Any]) -> ItemView:
        return ItemView(
            key=record["item_id"], title=record["prompt"], group=record["foundation"],
            score=record["after"], status=record["status"], text=record["instructions"][-1],
            rounds=[Round(f"instruction {i}", text, outputs_of(r["replies"], r["scores"]))
                    for i, (text, r) in enumerate(zip(record["instructions"], record["rounds"],
                                                      strict=True))])

    yield render
    ITEM_KINDS.pop("test_instruction")


def instruction_record(item: str, after: float) -> dict[str, Any]:
    return {"kind": "test_instruction", "id": f"i-{item}", "item_id": item, "status": "ok",
            "prompt": f"Prompt {item}", "foundation": "care", "after": after,
            "instructions": ["Be kind.", "Be kind and honest."],
            "rounds": [{"replies": ["r0"], "scores": [0.8]},
                       {"replies": ["r1"], "scores": [after]}]}


def test_a_registered_kind_is_rendered_by_its_function(instruction_kind, tmp_path):
    sections = item_sections([instruction_record("p1", 0.25), instruction_record("p2", 0.5)])
    assert [s.kind.title for s in sections] == ["Value instructions"]
    item = sections[0].items[0]
    assert (item.key, item.score, item.text) == ("p1", 0.25, "Be kind and honest.")
    assert [r.label for r in item.rounds] == ["instruction 0", "instruction 1"]
    # and on the page, through the same template every kind uses
    runs = tmp_path / "runs"
    from valuegraph.config import resolve_config

    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": runs, "run_id": "v"}))
    (run.root / "results.jsonl").write_text(json.dumps(instruction_record("p1", 0.25)) + "\n")
    page = client(runs).get("/run/v").text
    assert "Value instructions" in page and "violation after ≥" in page
    detail = client(runs).get("/part/item/v?kind=test_instruction&key=p1").text
    assert "instruction 1" in detail and "Be kind and honest." in detail


def test_items_of_a_resumed_run_show_their_last_record():
    failed = {"kind": "failure", "id": "f-a", "item_id": "a", "status": "failed",
              "error": "BackendError: 503"}
    ok = moral_record("r", "a", "Don't steal.", "fairness", [0.5, 1.0]).model_dump(mode="json")
    still_failed = {**failed, "id": "f-b", "item_id": "b"}
    toy = {"kind": "toy_answer", "id": "t", "item_id": "c", "status": "ok", "score": 0.75,
           "question": "Q?", "answer": "A."}
    sections = item_sections([failed, ok, still_failed, toy])
    assert [s.kind.kind for s in sections] == ["moral_prompt", "failure", "toy_answer"]
    assert [i.key for i in sections[0].items] == ["a"]
    assert sections[0].items[0].score == 0.75
    assert sections[1].items[0].text == "BackendError: 503"
    generic = sections[2].items[0]
    assert (generic.key, generic.score, generic.facts["answer"]) == ("c", 0.75, "A.")


def test_growth_summary_from_the_records(built_runs):
    root = built_runs / "grow-1"
    records = Sources(built_runs).records(RunDir(root)).rows
    view = growth_view(root, records, RunDir(root).status())
    assert [(p.step, p.arm, p.kept, p.kept_total) for p in view.steps] == [
        (0, "t01", 1, 1), (1, "t02", 2, 3), (2, "t01", 1, 4)]
    assert [p.mean_s for p in view.steps] == [3.0, 4.0, 4.5]
    assert [(a.topic_id, a.pulls) for a in view.arms] == [("t01", 2), ("t02", 1)]
    assert view.arms[0].value == pytest.approx((2.0 + 4.0) / 2)  # mean step reward of t01
    assert view.status_counts == {"kept": 4, "rejected": 1, "flagged": 1}
    assert [q["qid"] for q in view.recent][:2] == ["q2-1", "q2-0"]
    assert [r.version for r in view.releases] == ["v1"] and len(view.releases[0].questions) == 2


def test_compare_pairs_items_by_key_and_uses_the_paired_statistics(built_runs):
    sources = Sources(built_runs)
    a, b = load_side(sources, "den-a"), load_side(sources, "den-b")
    result = compare(a, b, n_resamples=200)
    assert [(p.key, p.diff) for p in result.pairs] == [
        ("a", -1.0), ("b", pytest.approx(2 / 3)), ("c", 0.0)]
    expected = compare_paired([1.0, 1 / 3, 0.0], [0.0, 1.0, 0.0], n_resamples=200)
    assert result.stats == expected
    bench = load_side(sources, "bench-moral-1::mock/bad")
    assert sorted(bench.items) == ["c1", "f1", "f2"]
    assert bench.items["f1"].score == pytest.approx(2 / 3)
    across = compare(a, bench)
    assert (len(across.pairs), across.only_a, across.only_b) == (
        0, ["a", "b", "c"], ["f1", "f2", "c1"])
    assert across.stats is None


def test_polling_answers_204_until_the_run_changes(runs):
    app = client(runs)
    first = app.get("/part/run/den-a")
    version = first.headers["x-version"]
    assert first.status_code == 200 and first.text.count('class="item"') == 3
    assert app.get(f"/part/run/den-a?since={version}").status_code == 204
    RecordLog(runs / "den-a" / "results.jsonl").append(
        moral_record("den-a", "d", "Don't lie.", "fairness", [0.9]))
    changed = app.get(f"/part/run/den-a?since={version}")
    assert changed.status_code == 200 and changed.headers["x-version"] != version
    assert changed.text.count('class="item"') == 4
    runs_version = app.get("/part/runs").headers["x-version"]
    assert app.get(f"/part/runs?since={runs_version}").status_code == 204
    RunDir(runs / "den-b").set_status("done", requests_total=5)
    assert app.get(f"/part/runs?since={runs_version}").status_code == 200


def test_files_are_parsed_again_only_when_they_change(runs):
    sources = Sources(runs)
    calls = []

    def parse(path: Path) -> int:
        calls.append(path)
        return len(path.read_bytes())

    status = runs / "den-a" / "status.json"
    assert sources.cached(status, "size", parse) == sources.cached(status, "size", parse)
    assert len(calls) == 1
    RunDir(runs / "den-a").set_status("running", requests_total=123456)
    sources.cached(status, "size", parse)
    assert len(calls) == 2


def test_a_damaged_line_is_reported_and_the_records_before_it_shown(runs):
    results = runs / "den-a" / "results.jsonl"
    lines = results.read_text().splitlines(keepends=True)
    results.write_text(lines[0] + "{not json\n" + "".join(lines[1:]))
    page = client(runs).get("/run/den-a").text
    assert page.count('class="item"') == 1
    assert "results.jsonl:2" in page and "broken record" in page


def test_other_host_names_are_refused(runs):
    app = TestClient(create_app(runs), base_url="http://attacker.example")
    assert app.get("/").status_code == 400
