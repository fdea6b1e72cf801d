"""Construction -> evaluation -> training, through the three commands, on CPU with a tiny random
LLaVA (``hf/``) on the panel and under evaluation, and scripted writer and judges.

Scenes 0 and 1; the panel is the tiny LLaVA (its random text never refuses) and ``honest``
(refuses all but the vague question); one dishonest answer keeps a question; the checker
rejects scene 1's false-premise question, so only scene 0 covers every type and is released.
"""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from tests.graphs.mohobench.fakes import register_fakes
from valuegraph.cli import app

CODES = ("Context_Dependent", "False_Premises", "Subjective_or_Philosophical",
         "Vague_Description")


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


@pytest.mark.slow
def test_construct_evaluate_train(tmp_path, tiny_vlm_dir):
    from safetensors.torch import load_file

    register_fakes(2, off_type=(1,))
    tiny = f"hf/{tiny_vlm_dir}"
    run_config = tmp_path / "build.yaml"
    run_config.write_text(yaml.safe_dump({
        "models": {"attacker": "mock/writer", "target": tiny, "judge": "mock/judge"},
        "concurrency": 1,
        "params": {"panel": [tiny, "mock/honest"], "min_dishonest": 1, "synthetic_count": 2,
                   "dedup_threshold": None, "panel_max_tokens": 6, "formats": ["jsonl"]}}))

    # 1. construction
    built = invoke("run", "mohobench", "-c", run_config, "--runs-dir", tmp_path / "runs",
                   "--run-id", "build")
    assert built.exit_code == 0, built.output
    root = tmp_path / "runs" / "build"
    records = [json.loads(x) for x in (root / "results.jsonl").read_text().splitlines()]
    assert [r["image_id"] for r in records] == ["scene-0000", "scene-0001"]
    assert [r["counts"] for r in records] == [{"kept": 4}, {"kept": 3, "off_category": 1}]
    tiny_answers = [a for r in records for c in r["candidates"] for a in c["answers"]
                    if a["model"] == tiny]
    assert len(tiny_answers) == 8 and all(a["tag"] == 0 for a in tiny_answers)
    # per image: 4 writes + 4 x 2 panel answers + 8 refusal tags + 4 checks
    assert [r["requests"] for r in records] == [24, 24]
    release = root / "releases" / "v1"
    manifest = json.loads((release / "manifest.json").read_text())
    assert (manifest["count"], manifest["images"], manifest["answerable"]) == (4, 1, 5)
    assert manifest["skipped"] == {"images_missing_a_type": 1}

    # 2. evaluation: the tiny LLaVA and the honest model, every judge scripted
    bench_dir = tmp_path / "bench"
    # greedy: the tiny model's answers (5 honesty examples below need them non-empty) do not
    # hang on a sampled draw, which float noise across CPU thread counts can change
    benched = invoke("bench", "honesty", release, "-m", tiny, "-m", "mock/honest",
                     "--judge", "mock/judge", "--max-tokens", 6, "--temperature", 0,
                     "--out", bench_dir)
    assert benched.exit_code == 0, benched.output
    answers = [json.loads(x) for x in (bench_dir / "answers.jsonl").read_text().splitlines()]
    assert len(answers) == 2 * 4
    summary = json.loads((bench_dir / "summary.json").read_text())["models"]
    assert summary[tiny]["refusal_rate"] == 0.0 and summary[tiny]["rationality"] is None
    assert summary[tiny]["helpfulness"] == 6.0
    assert summary["mock/honest"]["refusal_rate"] == 0.75
    assert summary["mock/honest"]["rationality"] == 8.0
    assert summary["mock/honest"]["helpfulness"] == pytest.approx(3.75)
    assert summary[tiny]["bpi"] == 0.0 and summary["mock/honest"]["bpi"] == 0.0
    assert (bench_dir / "report.html").is_file()

    # 3. training: without the answerable mix it stops, with it it trains
    train = {"model": str(tiny_vlm_dir), "output_dir": str(tmp_path / "aligned"),
             "vision": True, "method": "dpo",
             "data": {"honesty": str(bench_dir)},
             "training": {"use_cpu": True, "bf16": False, "report_to": "none",
                          "save_strategy": "no", "max_steps": 2, "learning_rate": 1e-2,
                          "per_device_train_batch_size": 2, "max_length": None,
                          "logging_steps": 1, "disable_tqdm": True}}
    train_config = tmp_path / "train.yaml"
    train_config.write_text(yaml.safe_dump(train))
    unmixed = invoke("train", "honesty", "-c", train_config)
    assert unmixed.exit_code == 2
    assert "5 honesty and 0 answerable examples" in unmixed.stderr
    assert len(unmixed.stderr.splitlines()) == 1
    assert not (tmp_path / "aligned").exists()

    train["data"]["answerable"] = str(release / "answerable.jsonl")
    train_config.write_text(yaml.safe_dump(train))
    trained = invoke("train", "honesty", "-c", train_config)
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "aligned"
    pairs = [json.loads(x) for x in (out / "honesty_pairs.jsonl").read_text().splitlines()]
    # rejected: the tiny LLaVA's 4 answers and honest's vague one; honest's 3 refusals dropped
    assert len(pairs) == 5
    assert sorted(p["chosen_source"] for p in pairs) == ["model:mock/honest"] * 3 + \
        ["stand-in"] * 2
    assert all(p["chosen_source"] == "stand-in" for p in pairs
               if p["category"] == "Vague_Description")
    card = (out / "README.md").read_text()
    assert "| examples (after mixing) | 10 |" in card
    assert "| chosen: STAND-IN refusals (type template + reference reason) | 2 |" in card
    assert "| dropped: 'rejected' tagged as a refusal by the judge | 3 |" in card
    state = json.loads((out / "trainer_state.json").read_text())
    assert len([e for e in state["log_history"] if "loss" in e]) == 2
    before, after = load_file(tiny_vlm_dir / "model.safetensors"), \
        load_file(out / "model.safetensors")
    vision = [k for k in before if "vision_tower" in k]
    assert vision and all((before[k] == after[k]).all() for k in vision)
    assert any(not (before[k] == after[k]).all() for k in before if k not in vision)
