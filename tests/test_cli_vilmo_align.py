"""Bad input to `run vilmo`, `bench moral --intervention` and `align`: one line on stderr, exit
status 2, nothing written (table-driven, in process)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from valuegraph.cli import app

PROMPT = {"id": "f1", "prompt": "Sam finds a wallet.", "principle": "Don't steal.",
          "foundation": "fairness"}


@pytest.fixture
def workdir(tmp_path, tiny_lm_dir, monkeypatch):
    (tmp_path / "prompts.jsonl").write_text(json.dumps(PROMPT) + "\n")
    (tmp_path / "bad_rows.jsonl").write_text('{"prompt_id": "f1"}\n')
    (tmp_path / "other.jsonl").write_text('{"prompt_id": "zz", "instruction": "Be fair."}\n')
    (tmp_path / "bad.yaml").write_text("heldout: [1,\n")
    (tmp_path / "tiny").symlink_to(tiny_lm_dir)
    monkeypatch.chdir(tmp_path)
    return tmp_path


TARGET = ["--set", "models.target=hf/tiny"]
CASES = {
    # run vilmo
    "vilmo without a dataset": (["run", "vilmo"], "vilmo: params.dataset is required"),
    "vilmo dataset missing": (["run", "vilmo", "--set", "params.dataset=none.jsonl"],
                              "none.jsonl: prompt file not found"),
    "vilmo bad placement": (["run", "vilmo", "--set", "params.dataset=prompts.jsonl", "--set",
                             "params.placement=middle"],
                            "vilmo: placement: Input should be 'system' or 'user'"),
    "vilmo generator from params": (["run", "vilmo", "--set", "params.dataset=prompts.jsonl",
                                     "--set", "params.generator=mock/g"],
                                    "params.generator is set from the run config"),
    # bench moral --intervention
    "intervention path missing": (["bench", "moral", "prompts.jsonl", "--intervention",
                                   "nosuch.jsonl"],
                                  "--intervention must be vilmo, none, or an instruction file"),
    "intervention bad row": (["bench", "moral", "prompts.jsonl", "--intervention",
                              "bad_rows.jsonl"],
                             "bad_rows.jsonl:1: field 'instruction': Field required"),
    "intervention for other prompts": (["bench", "moral", "prompts.jsonl", "--intervention",
                                        "other.jsonl"],
                                       "1 instruction(s) match no prompt of the set"),
    "bad placement": (["bench", "moral", "prompts.jsonl", "--intervention", "vilmo",
                       "--placement", "middle"],
                      "--placement must be one of system, user, got 'middle'"),
    "unknown generator provider": (["bench", "moral", "prompts.jsonl", "--intervention",
                                    "vilmo", "--generator", "nosuch/x"],
                                   "unknown provider 'nosuch'"),
    # align
    "align without an hf target": (["align"], "models.target must be hf/<model directory>"),
    "align api target": (["align", "--set", "models.target=openai/gpt-4o"],
                         "models.target must be hf/<model directory>"),
    "align target not a model": (["align", "--set", "models.target=hf/nowhere"],
                                 "nowhere is not a local model directory"),
    "align unknown key": (["align", *TARGET, "--set", "surprise=1"],
                          "align: surprise: unknown setting; allowed: run_id"),
    "align heldout": (["align", *TARGET, "--set", "heldout=1.5"],
                      "align: heldout: Input should be less than 1"),
    "align reserved train key": (["align", *TARGET, "--set", "train.model=x"],
                                 "train.model is set by the pipeline"),
    "align bad probe param": (["align", *TARGET, "--set", "probe.samples=0"],
                              "align: probe: samples: Input should be greater than or equal"),
    "align bad D2O setting": (["align", *TARGET, "--set", "train.k=0"],
                              "align: train: k: Input should be greater than or equal to 1"),
    "align unknown TRL option": (["align", *TARGET, "--set", "train.training.nosuch=1"],
                                 "align: train: training.nosuch: not an option of D2OConfig"),
    "align malformed config": (["align", "-c", "bad.yaml"], "malformed config file bad.yaml"),
    "align resume unknown": (["align", "--resume", "nope"], "no align run 'nope'"),
    "align resume with --set": (["align", "--resume", "nope", *TARGET],
                                "only --set budget=... may change, not models"),
    "align resume with -c": (["align", "--resume", "nope", "-c", "bad.yaml"],
                             "--resume continues a run with its stored config; drop"),
    "align bad budget": (["align", *TARGET, "--set", "budget=0"],
                         "align: budget: Input should be greater than or equal to 1"),
    "align bad run id": (["align", *TARGET, "--run-id", "../up"], "run id '../up' must be"),
}


def files_under(path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case, workdir):
    args, message = CASES[case]
    before = files_under(workdir)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert files_under(workdir) == before
