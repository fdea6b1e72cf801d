"""``valuegraph train``: bad input is one line on stderr, exit status 2, and nothing written."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.training.conftest import CPU_TRAINING, d2o_rows
from valuegraph.cli.train import train_app


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def workdir(tmp_path, tiny_lm_dir, image_paths):
    """A directory with D²O records, honesty records (with images) and a base config per command."""
    _write_jsonl(tmp_path / "d2o.jsonl", d2o_rows(k=2))
    honesty = [
        {
            "question": f"What year was photo {i} taken?",
            "category": "Context_Dependent",
            "reason": "No date is visible.",
            "model_answer": "1999.",
            "image": str(image_paths[i]),
        }
        for i in range(2)
    ]
    _write_jsonl(tmp_path / "honesty.jsonl", honesty)
    tmp_path.joinpath("d2o_base.json").write_text(
        json.dumps(
            {
                "model": str(tiny_lm_dir),
                "output_dir": "out",
                "k": 2,
                "data": {"records": "d2o.jsonl"},
                "training": CPU_TRAINING,
            }
        )
    )
    tmp_path.joinpath("honesty_base.json").write_text(
        json.dumps(
            {
                "model": str(tiny_lm_dir),
                "output_dir": "out",
                "data": {"honesty": "honesty.jsonl", "allow_unmixed": True},
                "training": CPU_TRAINING,
            }
        )
    )
    return tmp_path


def _config(workdir, base: str, name: str = "run.yaml", **changes):
    config = json.loads((workdir / f"{base}_base.json").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        if value is None:
            node.pop(leaf)
        else:
            node[leaf] = value
    path = workdir / name
    path.write_text(yaml.safe_dump(config))
    return path


def _fails(args, workdir, expected: str):
    result = CliRunner().invoke(train_app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert lines[0].startswith("error: ")
    assert not (workdir / "out").exists()


def test_negative_beta(workdir):
    _fails(
        ["d2o", "-c", str(_config(workdir, "d2o", beta=-0.1))],
        workdir,
        "beta: Input should be greater than 0",
    )


def test_k_zero(workdir):
    _fails(
        ["d2o", "-c", str(_config(workdir, "d2o", k=0))],
        workdir,
        "k: Input should be greater than or equal to 1",
    )


def test_missing_column_names_the_line(workdir):
    rows = d2o_rows(k=2)
    del rows[1]["self_samples"]
    _write_jsonl(workdir / "d2o.jsonl", rows)
    _fails(
        ["d2o", "-c", str(_config(workdir, "d2o"))],
        workdir,
        "d2o.jsonl:2: field 'self_samples': Field required",
    )


def test_wrong_number_of_self_samples(workdir):
    _fails(
        ["d2o", "-c", str(_config(workdir, "d2o", k=3))],
        workdir,
        "d2o.jsonl:1: field 'self_samples': expected K=3 samples, got 2",
    )


def test_image_record_without_an_image(workdir):
    rows = [json.loads(line) for line in (workdir / "honesty.jsonl").read_text().splitlines()]
    del rows[1]["image"]
    _write_jsonl(workdir / "honesty.jsonl", rows)
    _fails(
        ["honesty", "--method", "dpo", "-c", str(_config(workdir, "honesty", vision=True))],
        workdir,
        "honesty.jsonl:2: image record without an image",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--method", "ppo"], "--method 'ppo' is not supported; allowed: sft, dpo, simpo, orpo"),
        ([], "method: not set; pass --method sft|dpo|simpo|orpo"),
    ],
)
def test_method_must_be_known(workdir, args, expected):
    _fails(["honesty", *args, "-c", str(_config(workdir, "honesty"))], workdir, expected)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"training.not_an_option": 1}, "training.not_an_option: not an option of D2OConfig"),
        ({"training.beta": 0.2}, "training.beta: set 'beta' at the top level"),
        (
            {"training.lr_scheduler_type": "sawtooth"},
            "training: sawtooth is not a valid SchedulerType",
        ),
        (
            {"data.negatives": {"source": "pku", "path": "d2o.jsonl"}},
            "data: set exactly one of 'records' (ready D²O records) or 'negatives'",
        ),
        (
            {"model": "/nonexistent/model"},
            "model: cannot load a model config from '/nonexistent/model'",
        ),
        ({"epochs": 3}, "epochs: Extra inputs are not permitted"),
        (
            {"data.records": None, "data.negatives": {"source": "pku", "path": "d2o.jsonl"}},
            "d2o.jsonl:1: field 'prompt': Input should be a valid string",
        ),
        (
            {"data.records": None, "data.negatives": {"source": "hh", "path": "d2o.jsonl"}},
            "data.negatives.source: Input should be 'pku' or 'denevil'",
        ),
    ],
)
def test_bad_d2o_options(workdir, changes, expected):
    _fails(["d2o", "-c", str(_config(workdir, "d2o", **changes))], workdir, expected)


def test_unknown_self_sampling_provider(workdir):
    pku = {
        "prompt": "p",
        "response_0": "bad",
        "response_1": "ok",
        "is_response_0_safe": False,
        "is_response_1_safe": True,
    }
    _write_jsonl(workdir / "pku.jsonl", [pku])
    negatives = {"source": "pku", "path": "pku.jsonl"}
    config = _config(
        workdir,
        "d2o",
        **{
            "data.records": None,
            "data.negatives": negatives,
            "data.self_sampling": {"spec": "nosuch/model"},
        },
    )
    _fails(
        ["d2o", "-c", str(config)], workdir, "data.self_sampling.spec: unknown provider 'nosuch'"
    )


def test_unparseable_or_missing_config(workdir):
    (workdir / "bad.yaml").write_text("model: [unclosed\n")
    _fails(["d2o", "-c", str(workdir / "bad.yaml")], workdir, "malformed config file")
    _fails(
        ["d2o", "-c", str(workdir / "run.ini")],
        workdir,
        "must end in .yaml, .yml or .toml",
    )
    _fails(["d2o"], workdir, "--config is required")
