"""bench traits in process on scripted models: conditions, held-out items, downstream judge,
paired statistics, unscored failures."""

from __future__ import annotations

import math

import pytest

from valuegraph.evals.traits_bench import (
    Reflection,
    TraitsBenchSettings,
    load_reflections,
    run_traits_bench,
    summary_of,
)
from valuegraph.evals.traits_report import terminal_table, write_csv, write_report
from valuegraph.tools.backends.mock_backend import register_mock
from valuegraph.tools.files import FileError
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import BackendError
from valuegraph.values import irote_objective as obj
from valuegraph.values.trait_items import load_trait_items, load_trait_tasks

REFLECTION = Reflection("big_five", "O", ("I am curious, e.g.: I ask why",))
PEAK_5 = obj.expected_score(obj.rating_distribution([-4, -3, -2, -1, 0]))


def target_loglik(prompt, continuation):
    text = prompt[0]["content"]
    peak = 5 if "insights about me" in text else 4 if "strong sense of" in text else 3
    return -abs(peak - int(continuation))


def target_reply(messages, params, index):
    if "Maya" in messages[-1]["content"]:
        raise BackendError("overloaded", retryable=False)
    return "A story. " + ("Full of wonder." if "insights about me" in messages[-1]["content"]
                         else "")


def judge_loglik(prompt, continuation):
    p = 0.9 if "wonder" in prompt[-1]["content"] else 0.2
    return math.log(p) if continuation == "Yes" else math.log(1 - p)


async def test_reflection_against_the_baselines_paired_over_items(tmp_path):
    register_mock("t", respond=target_reply, loglik=target_loglik)
    register_mock("j", loglik=judge_loglik)
    pool = ModelPool(None)
    result = await run_traits_bench([REFLECTION], load_trait_items(), load_trait_tasks(),
                                    "mock/t", "mock/j", pool, TraitsBenchSettings(seed=1))
    trait = "big_five:O"
    held = result.scores[(trait, "heldout", "irote")]
    # held-out BFI-2-style items: 3 agreeing, 1 reversed (its score is 10 - the agreeing one)
    assert held == pytest.approx([PEAK_5] * 3 + [12 - PEAK_5])
    assert result.scores[(trait, "heldout", "raw")] == pytest.approx([6.0] * 4)
    persona = obj.expected_score(obj.rating_distribution([-3, -2, -1, 0, -1]))
    assert result.scores[(trait, "heldout", "persona")] == pytest.approx(
        [persona] * 3 + [12 - persona])
    # downstream: 6 story prompts, the first fails (unscored, not 0)
    down = result.scores[(trait, "downstream", "irote")]
    assert down[0] is None and down[1:] == pytest.approx([0.9] * 5)
    assert result.scores[(trait, "downstream", "raw")][1:] == pytest.approx([0.2] * 5)
    comparisons = {(t, m, c, b): comp for t, m, c, b, comp in result.comparisons}
    assert len(comparisons) == 2 * 2 * 3  # (trait, all) x measures x condition pairs
    down_vs_raw = comparisons[(trait, "downstream", "irote", "raw")]
    assert (down_vs_raw.n, down_vs_raw.dropped, down_vs_raw.improved) == (5, 1, 5)
    assert down_vs_raw.diff == pytest.approx(0.7) and down_vs_raw.sign_p == pytest.approx(
        2 / 32)
    held_vs_raw = comparisons[("all", "heldout", "irote", "raw")]
    assert (held_vs_raw.improved, held_vs_raw.worsened) == (3, 1)
    summary = summary_of(result)
    assert summary["means"][trait]["downstream"]["irote"]["unscored"] == 1
    csv_path = write_csv(result, tmp_path / "t.csv")
    assert len(csv_path.read_text().splitlines()) == 1 + 2 * 3 + 12
    assert "Paired comparisons" in write_report(result, tmp_path / "r.html").read_text()
    assert terminal_table(result) is not None


def test_reflections_from_a_run_or_rows(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"kind": "failure", "item_id": "x", "status": "failed"}\n'
                    '{"kind": "irote_reflection", "theory": "mft", "dimension": "Care/Harm", '
                    '"lines": ["I help"], "target": "local"}\n')
    (found,) = load_reflections(tmp_path)
    assert found == Reflection("mft", "care", ("I help",), "local")
    path.write_text('{"theory": "mft", "dimension": "care", "lines": []}\n')
    with pytest.raises(FileError, match=r"results.jsonl:1: 'lines' must be a non-empty list"):
        load_reflections(path)


@pytest.mark.parametrize("settings,message", [
    ({"conditions": ("raw",)}, "conditions must be at least two"),
    ({"distractor_turns": (21,)}, "distractor turns must be between 0 and 20"),
    ({"judge_method": "guess"}, "judge method must be auto"),
    ({"concurrency": 0}, "concurrency must be >= 1"),
])
def test_bad_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        TraitsBenchSettings(**settings)
