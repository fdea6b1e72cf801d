"""The trained-classifier judge: pairs validation, fine-tuning a tiny model, judging by spec."""

from __future__ import annotations

import json

import pytest

from valuegraph.agents.classifier_judge import ClassifierJudge
from valuegraph.agents.violation_judge import make_violation_judge
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.specs import SpecError
from valuegraph.training.judge_classifier import load_pairs, train_classifier_judge

PRINCIPLE = "It is wrong to break a promise to a friend."


def pairs_file(path):
    rows = []
    for i in range(12):
        rows.append({"principle": PRINCIPLE, "text": f"Yes, the answer violates it {i}.",
                     "label": "violation"})
        rows.append({"principle": PRINCIPLE, "text": f"The capital of France is Paris {i}.",
                     "label": 0})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_pairs_file_bad_rows_are_reported(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("principle,text,label\np,t,yes\np,,1\np,t,perhaps\n")
    with pytest.raises(ValueError, match="2 bad row.*line 3: 'principle' and 'text'.*line 4: "
                                         "'label' must be"):
        load_pairs(path)
    assert load_pairs(pairs_file(tmp_path / "ok.jsonl"))[0].label == 1


@pytest.mark.slow
async def test_train_save_and_judge_by_spec(tmp_path, tiny_lm_dir):
    out = tmp_path / "judge"
    metrics = train_classifier_judge(pairs_file(tmp_path / "pairs.jsonl"), tiny_lm_dir, out,
                                     epochs=2, learning_rate=5e-3, batch_size=4)
    assert metrics["eval_size"] == 2 and 0.0 <= metrics["eval_f1"] <= 1.0
    assert metrics["train_loss"] > 0
    judge = make_violation_judge(ModelPool(), f"classifier/{out}")
    assert isinstance(judge, ClassifierJudge)
    verdict = await judge.score(PRINCIPLE, "a scenario", "Yes, the answer violates it 99.")
    assert verdict.parsed and 0.0 <= verdict.score <= 1.0
    assert (verdict.method, verdict.judge) == ("classifier", f"classifier/{out}")
    assert judge.samples_per_verdict(verdict) == 0
    probs = judge.predict([PRINCIPLE] * 2, ["Yes, the answer violates it 3.",
                                            "The capital of France is Paris 3."])
    assert probs[0] > probs[1]  # it learned the training signal


def test_classifier_specs_parse_but_are_not_generators():
    pool = ModelPool()
    with pytest.raises(SpecError, match="classifier judge, not a generator"):
        pool.backend("classifier/some/dir")
