"""Negatives from PKU-SafeRLHF and DeNEVIL files, with line-numbered validation errors."""

from __future__ import annotations

import json

import pytest

from valuegraph.tools.files import FileError as DataError
from valuegraph.training.data.d2o_records import load_d2o_records
from valuegraph.training.data.negatives import Negative, load_denevil_negatives, load_pku_negatives


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _pku(prompt, r0, r1, safe0, safe1):
    return {
        "prompt": prompt,
        "response_0": r0,
        "response_1": r1,
        "is_response_0_safe": safe0,
        "is_response_1_safe": safe1,
        "better_response_id": 0,
    }


def test_pku_takes_every_unsafe_response_once_in_file_order(tmp_path):
    path = _write(
        tmp_path / "pku.jsonl",
        [
            _pku("p1", "bad a", "good", False, True),
            _pku("p2", "bad b", "bad c", False, False),
            _pku("p3", "fine", "also fine", True, True),
            _pku("p1", "bad a", "", False, False),  # a duplicate and an empty response
        ],
    )
    assert load_pku_negatives(path) == [
        Negative("p1", "bad a"),
        Negative("p2", "bad b"),
        Negative("p2", "bad c"),
    ]


def test_pku_errors_name_the_line(tmp_path):
    good = _pku("p1", "bad", "good", False, True)
    missing = {k: v for k, v in good.items() if k != "is_response_1_safe"}
    path = _write(tmp_path / "pku.jsonl", [good, "", missing])
    with pytest.raises(DataError, match=r"pku.jsonl:3: field 'is_response_1_safe': Field required"):
        load_pku_negatives(path)
    _write(path, [good, "{not json"])
    with pytest.raises(DataError, match=r"pku.jsonl:2: not valid JSON"):
        load_pku_negatives(path)
    _write(path, [_pku("p", "a", "b", "no", True)])
    with pytest.raises(DataError, match=r"pku.jsonl:1: field 'is_response_0_safe'"):
        load_pku_negatives(path)
    _write(path, [_pku("p", "a", "b", True, True)])
    with pytest.raises(DataError, match="no unsafe response"):
        load_pku_negatives(path)


def test_denevil_keeps_scores_strictly_above_the_threshold(tmp_path):
    path = _write(
        tmp_path / "denevil.jsonl",
        [
            {"prompt": "s1", "completion": "violates", "score": 0.9},
            {"prompt": "s2", "completion": "borderline", "score": 0.5},
            {"prompt": "s3", "completion": "fine", "score": 0.1},
            {"prompt": "s4", "completion": "mild", "score": 0.6, "principle": "care"},
        ],
    )
    assert load_denevil_negatives(path) == [Negative("s1", "violates"), Negative("s4", "mild")]
    assert load_denevil_negatives(path, threshold=0.7) == [Negative("s1", "violates")]
    with pytest.raises(DataError, match="no completion with score > 0.95"):
        load_denevil_negatives(path, threshold=0.95)


def test_denevil_rejects_scores_outside_zero_one(tmp_path):
    path = _write(tmp_path / "d.jsonl", [{"prompt": "s", "completion": "c", "score": 1.5}])
    with pytest.raises(DataError, match=r"d.jsonl:1: field 'score'"):
        load_denevil_negatives(path)


def test_d2o_records_are_validated_for_k_and_format(tmp_path):
    ok = {"prompt": "p", "rejected": "r", "self_samples": ["a", "b"]}
    path = _write(tmp_path / "r.jsonl", [ok, {"prompt": "p", "rejected": "r"}])
    with pytest.raises(DataError, match=r"r.jsonl:2: field 'self_samples': Field required"):
        load_d2o_records(path, k=2)
    _write(path, [ok, {**ok, "self_samples": ["a"]}])
    with pytest.raises(
        DataError, match=r"r.jsonl:2: field 'self_samples': expected K=2 samples, got 1"
    ):
        load_d2o_records(path, k=2)
    messages = {
        "prompt": [{"role": "user", "content": "p"}],
        "rejected": [{"role": "assistant", "content": "r"}],
        "self_samples": [[{"role": "assistant", "content": "a"}]] * 2,
    }
    _write(path, [ok, messages])
    with pytest.raises(DataError, match=r"r.jsonl:2: format differs from the first record"):
        load_d2o_records(path, k=2)
    _write(path, [messages, ok])
    with pytest.raises(DataError, match=r"r.jsonl:2: format differs"):
        load_d2o_records(path, k=2)
    _write(path, [messages, messages])
    assert load_d2o_records(path, k=2) == [messages, messages]
