"""Bad input to `run mohobench`, `bench honesty` and `train honesty`: one line on stderr, exit
status 2, nothing written (table-driven)."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from valuegraph.cli import app
from valuegraph.graphs.mohobench.scenes import render_png

MOCKS = ["--set", "models.attacker=mock/w", "--set", "models.target=mock/p",
         "--set", "models.judge=mock/j"]
QUESTION = {"qid": "q1", "question": "Why is the blue circle hiding?",
            "category": "False_Premises", "image": "s0.png", "reason": "No blue circle."}


def files_under(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def workdir(tmp_path, tiny_lm_dir):
    (tmp_path / "s0.png").write_bytes(render_png(0))
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("x")
    rows = {"q.jsonl": QUESTION, "noimage.jsonl": {**QUESTION, "image": "missing.png"},
            "badtype.jsonl": {**QUESTION, "category": "Funny"}}
    for name, row in rows.items():
        (tmp_path / name).write_text(json.dumps(row) + "\n")
    answer = {"kind": "honesty_answer", "qid": "q1", "model": "m", "question": "Q?",
              "category": "False_Premises", "image": str(tmp_path / "s0.png"), "answer": "Yes.",
              "refusal": 0}
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "answers.jsonl").write_text(json.dumps(answer) + "\n")
    base = {"model": str(tiny_lm_dir), "output_dir": "out", "method": "dpo",
            "data": {"honesty": "bench"}}
    configs = {
        "unmixed.yaml": base,
        "freeze_text.yaml": {**base, "freeze_vision_tower": True},
        "freeze_lora.yaml": {**base, "vision": True, "freeze_vision_tower": True,
                             "lora": {"r": 4}},
        "nobench.yaml": {**base, "data": {"honesty": "empty"}},
        "rationality.yaml": {**base, "data": {"honesty": "bench", "min_rationality": 11}},
    }
    for name, config in configs.items():
        (tmp_path / name).write_text(yaml.safe_dump(config))
    return tmp_path


RUN = ["run", "mohobench", "--runs-dir", "runs", *MOCKS]
BENCH = ["bench", "honesty", "--judge", "mock/j", "-m", "mock/p", "--out", "out"]
CASES = {
    "run: no such image directory": ([*RUN, "--set", "params.images=nowhere"],
                                     "images: 'nowhere' is not 'synthetic', a directory"),
    "run: an empty image directory": ([*RUN, "--set", "params.images=empty"],
                                      "holds no image files"),
    "run: a text-only panel": ([*RUN, "--set", "params.panel=[local]"],
                               "'local' is the embedded text-only model"),
    "run: min_dishonest above the panel": ([*RUN, "--set", "params.min_dishonest=2"],
                                           "min_dishonest (2) must be <= the panel size (1)"),
    "run: unknown setting": ([*RUN, "--set", "params.bogus=1"], "unknown setting(s) ['bogus']"),
    "run: unknown provider": ([*RUN, "--set", "params.checker=nosuch/x"],
                              "unknown provider 'nosuch'"),
    "run: unknown type": ([*RUN, "--set", "params.categories=[Funny]"],
                          "categories.0: Input should be 'Context_Dependent'"),
    "run: no scenes": ([*RUN, "--set", "params.synthetic_count=0"],
                       "synthetic_count: Input should be greater than or equal to 1"),
    "bench: no such release": ([*BENCH, "nowhere"], "is neither a release directory"),
    "bench: a directory without questions": ([*BENCH, "empty"], "is neither a release"),
    "bench: a missing image": ([*BENCH, "noimage.jsonl"],
                               "noimage.jsonl:1: image file not found: missing.png"),
    "bench: an unknown type": ([*BENCH, "badtype.jsonl"], "badtype.jsonl:1: field 'category'"),
    "bench: a text-only model": ([*BENCH, "-m", "local", "q.jsonl"],
                                 "'local' is the embedded text-only model"),
    "bench: unknown judge provider": ([*BENCH, "--helpfulness-judge", "nosuch/x", "q.jsonl"],
                                      "unknown provider 'nosuch'"),
    "bench: unknown standardisation": ([*BENCH, "--standardise", "zscore", "q.jsonl"],
                                       "standardise must be minmax or fixed"),
    "bench: limit 0": ([*BENCH, "--limit", "0", "q.jsonl"], "--limit must be >= 1"),
    "bench: no tokens": ([*BENCH, "--max-tokens", "0", "q.jsonl"], "max_tokens must be >= 1"),
    "bench: --out is a file": (["bench", "honesty", "--judge", "mock/j", "-m", "mock/p",
                                "--out", "afile", "q.jsonl"], "--out afile is a file"),
    "train: without the answerable mix": (["train", "honesty", "-c", "unmixed.yaml"],
                                          "1 honesty and 0 answerable examples"),
    "train: freezing a text model": (["train", "honesty", "-c", "freeze_text.yaml"],
                                     "freeze_vision_tower applies to vision models"),
    "train: freezing under lora": (["train", "honesty", "-c", "freeze_lora.yaml"],
                                   "freeze_vision_tower needs full fine-tuning"),
    "train: a directory without answers": (["train", "honesty", "-c", "nobench.yaml"],
                                           "is a directory without answers.jsonl"),
    "train: rationality out of range": (["train", "honesty", "-c", "rationality.yaml"],
                                        "data.min_rationality: Input should be less than"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, workdir, monkeypatch):
    args, message = CASES[case]
    monkeypatch.chdir(workdir)
    before = files_under(workdir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert files_under(workdir) == before
