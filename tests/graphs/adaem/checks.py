"""Consistency checks of a growth run directory, shared by the in-process and subprocess tests."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from valuegraph.graphs.adaem.bandit import replay, step_reward
from valuegraph.graphs.adaem.store import BANKED, REWARDED


def read_records(root: Path) -> list[dict[str, Any]]:
    with open(root / "results.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.endswith("\n")]


def check_run(root: Path, arms: dict[str, dict[str, float]], steps_done: int,
              empty_reward: float | None = None) -> dict[str, Any]:
    """No record written twice, every banked question in the item bank, and the arm statistics
    equal to a replay of the recorded steps and the final S of their questions."""
    from valuegraph.tools.itembank import ItemBank

    records = read_records(root)
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "a record was written twice"
    questions = [r for r in records if r["kind"] == "question"]
    texts = [q["question"] for q in questions if q["status"] in BANKED]
    assert len(texts) == len(set(texts)), "a question was banked twice"
    bank = ItemBank(root / "bank", collection="questions")
    banked = [q["qid"] for q in questions if q["status"] in BANKED]
    found = set(bank.collection.get(ids=banked, include=[])["ids"]) if banked else set()
    assert found == set(banked), f"missing from the item bank: {sorted(set(banked) - found)}"
    steps = sorted((r for r in records if r["kind"] == "step"), key=lambda r: r["step"])
    assert [s["step"] for s in steps] == list(range(steps_done))
    scores: dict[int, list[float]] = defaultdict(list)
    for q in questions:
        if q["status"] in REWARDED:
            scores[q["round_b"]].append(q["S"])
    history = []
    for s in steps:
        reward = step_reward(scores[s["step"]], empty_reward)
        assert s["reward"] is None if reward is None else s["reward"] == pytest.approx(reward)
        assert sorted(s["questions"]) == sorted(q["qid"] for q in questions
                                                if q["round_b"] == s["step"])
        history.append((s["arm"], reward))
    expected = replay(history)
    assert set(arms) == set(expected)
    for arm, stats in expected.items():
        assert arms[arm]["count"] == stats["count"]
        assert arms[arm]["value"] == pytest.approx(stats["value"])
        assert arms[arm].get("empty", 0) == stats.get("empty", 0)
    return {"records": records, "questions": questions, "steps": steps}
