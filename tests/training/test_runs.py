"""End-to-end runs on tiny models: train, save, model card, reload and generate."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from tests.training.conftest import CPU_TRAINING, d2o_rows
from valuegraph.cli.train import train_app
from valuegraph.training.honesty.freeze import vision_tower_names
from valuegraph.training.honesty.run import plan_honesty, train_honesty
from valuegraph.training.run_config import HonestyRunConfig


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _honesty_rows(images=None):
    rows = []
    for i in range(4):
        row = {
            "question": f"What year was photo {i} taken?",
            "category": "Context_Dependent",
            "reason": "No date is visible in the picture.",
            "model_answer": f"It was {1990 + i}.",
        }
        if images is not None:
            row["image"] = str(images[i % len(images)])
        rows.append(row)
    return rows


def _losses(log_history):
    return [entry["loss"] for entry in log_history if "loss" in entry]


def _changed_tensors(before_dir, after_dir, name="model.safetensors"):
    before, after = load_file(before_dir / name), load_file(after_dir / name)
    assert before.keys() == after.keys()
    return sum(not torch.equal(before[k], after[k]) for k in before), len(before)


@pytest.mark.parametrize("method", ["sft", "dpo", "simpo", "orpo"])
def test_text_honesty_methods(tiny_lm_dir, tmp_path, method):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    answerable = _write_jsonl(
        tmp_path / "a.jsonl",
        [{"question": "What colour is the square?", "chosen": "Red.", "rejected": "Blue."}] * 2,
    )
    config = HonestyRunConfig(
        model=str(tiny_lm_dir),
        output_dir=tmp_path / "out",
        data={
            "honesty": _write_jsonl(tmp_path / "h.jsonl", _honesty_rows()),
            "answerable": answerable,
            "answerable_ratio": 0.5,
            "allow_unmixed": True,
        },
        training=CPU_TRAINING,
    )
    run = train_honesty(config, method)
    losses = _losses(run.log_history)
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    changed, total = _changed_tensors(tiny_lm_dir, run.output_dir)
    assert changed == total
    card = (run.output_dir / "README.md").read_text()
    name = {"sft": "SFT", "dpo": "DPO", "simpo": "SimPO", "orpo": "ORPO"}[method]
    assert f"aligned with {name}" in card
    assert "| examples (after mixing) | 6 |" in card and "| answerable_ratio | 0.5 |" in card
    expected_hyper = {
        "sft": "| learning_rate | 0.01 |",
        "dpo": "| beta | 0.1 |",
        "simpo": "| simpo_gamma | 0.5 |",
        "orpo": "| orpo_lambda | 0.1 |",
    }[method]
    assert expected_hyper in card
    tokenizer = AutoTokenizer.from_pretrained(run.output_dir)
    model = AutoModelForCausalLM.from_pretrained(run.output_dir)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What year?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    generated = model.generate(**prompt, max_new_tokens=3, min_new_tokens=3, do_sample=False)
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 3


def _changed_names(before_dir, after_dir, name="model.safetensors"):
    before, after = load_file(before_dir / name), load_file(after_dir / name)
    assert before.keys() == after.keys()
    return {k for k in before if not torch.equal(before[k], after[k])}, set(before)


@pytest.mark.parametrize("method", ["dpo", "simpo"])
def test_vision_honesty_on_a_tiny_llava(tiny_vlm_dir, image_paths, tmp_path, method):
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    config = HonestyRunConfig(
        model=str(tiny_vlm_dir),
        output_dir=tmp_path / "out",
        vision=True,
        data={"honesty": _write_jsonl(tmp_path / "h.jsonl", _honesty_rows(image_paths)),
              "allow_unmixed": True},
        training={**CPU_TRAINING, "max_length": None},
    )
    assert config.freezes_vision_tower  # the default for full fine-tuning of a vision model
    run = train_honesty(config, method)
    losses = _losses(run.log_history)
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    changed, names = _changed_names(tiny_vlm_dir, run.output_dir)
    vision = set(vision_tower_names(names))
    assert len(vision) == 23
    assert changed & vision == set()  # the frozen encoder kept every value
    assert changed == names - vision  # everything else (language model, projector) trained
    card = (run.output_dir / "README.md").read_text()
    assert "| freeze_vision_tower | true |" in card and "| vision_tensors_frozen | 23 |" in card
    processor = AutoProcessor.from_pretrained(run.output_dir)
    model = AutoModelForImageTextToText.from_pretrained(run.output_dir)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Year?"}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(images=[Image.open(image_paths[0])], text=[text], return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=3, min_new_tokens=3, do_sample=False)
    assert generated.shape[1] == inputs["input_ids"].shape[1] + 3
    assert "AutoModelForImageTextToText" in card


def test_vision_tower_trains_when_not_frozen(tiny_vlm_dir, image_paths, tmp_path):
    config = HonestyRunConfig(
        model=str(tiny_vlm_dir),
        output_dir=tmp_path / "out",
        vision=True,
        freeze_vision_tower=False,
        data={"honesty": _write_jsonl(tmp_path / "h.jsonl", _honesty_rows(image_paths)),
              "allow_unmixed": True},
        training={**CPU_TRAINING, "max_length": None},
    )
    run = train_honesty(config, "sft")
    changed, names = _changed_names(tiny_vlm_dir, run.output_dir)
    vision = set(vision_tower_names(names))
    assert len(changed & vision) >= 21  # the unused final layer norm may keep its values
    assert "| freeze_vision_tower | false |" in (run.output_dir / "README.md").read_text()


@pytest.mark.parametrize(("method", "rate"), [("sft", 1e-5), ("dpo", 5e-7), ("orpo", 5e-6)])
def test_per_method_defaults(tiny_lm_dir, tmp_path, method, rate):
    training = {k: v for k, v in CPU_TRAINING.items() if k != "learning_rate"}
    config = HonestyRunConfig(
        model=str(tiny_lm_dir), output_dir=tmp_path / "out",
        data={"honesty": _write_jsonl(tmp_path / "h.jsonl", _honesty_rows()),
              "allow_unmixed": True},
        training=training,
    )
    plan = plan_honesty(config, method)
    assert plan.args.learning_rate == rate and plan.args.num_train_epochs == 1.0
    override = config.model_copy(update={"training": {**training, "learning_rate": 3e-6}})
    assert plan_honesty(override, method).args.learning_rate == 3e-6
    assert not (tmp_path / "out").exists()


def test_d2o_cli_with_lora_saves_an_adapter_that_reloads(tiny_lm_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _write_jsonl(tmp_path / "d2o.jsonl", d2o_rows(k=4))
    training = "\n".join(f"{k} = {json.dumps(v)}" for k, v in CPU_TRAINING.items())
    (tmp_path / "d2o.toml").write_text(
        f'model = "{tiny_lm_dir}"\noutput_dir = "out"\nk = 4\n'
        f'[data]\nrecords = "d2o.jsonl"\n[lora]\nr = 4\n[training]\n{training}\n'
    )
    result = CliRunner().invoke(train_app, ["d2o", "--config", str(tmp_path / "d2o.toml")])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert result.stdout.strip().splitlines()[-1] == str(out)  # the trainer prints its logs first
    state = json.loads((out / "trainer_state.json").read_text())
    assert len(_losses(state["log_history"])) == 2
    card = (out / "README.md").read_text()
    assert "aligned with D2O" in card and "| K | 4 |" in card and "| lora_r | 4 |" in card
    assert "sha256" in card and "| records | 4 |" in card
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_lm_dir), out)
    adapter = load_file(out / "adapter_model.safetensors")
    assert any(("lora_B" in k) and v.abs().sum() > 0 for k, v in adapter.items())
    tokenizer = AutoTokenizer.from_pretrained(out)
    prompt = tokenizer("How do I", return_tensors="pt")
    generated = model.generate(**prompt, max_new_tokens=2, min_new_tokens=2, do_sample=False)
    assert generated.shape[1] == prompt["input_ids"].shape[1] + 2


def test_d2o_cli_data_only_samples_through_the_pool_and_stops(tiny_lm_dir, tmp_path):
    pku = [
        {
            "prompt": f"How do I do bad thing {i}?",
            "response_0": "Like this.",
            "response_1": "No.",
            "is_response_0_safe": False,
            "is_response_1_safe": True,
        }
        for i in range(3)
    ]
    _write_jsonl(tmp_path / "pku.jsonl", pku)
    (tmp_path / "d2o.yaml").write_text(
        f"model: {tiny_lm_dir}\noutput_dir: out\nk: 2\n"
        "data:\n  negatives: {source: pku, path: pku.jsonl}\n"
        "  self_sampling: {max_tokens: 3, concurrency: 2}\n"
        "training: {use_cpu: true, bf16: false}\n"
    )
    result = CliRunner().invoke(train_app, ["d2o", "-c", str(tmp_path / "d2o.yaml"), "--data-only"])
    assert result.exit_code == 0, result.output
    records_file = tmp_path / "out" / "d2o_records.jsonl"
    assert result.stdout.strip().splitlines()[-1] == str(records_file)
    records = [json.loads(line) for line in records_file.read_text().splitlines()]
    assert [r["prompt"][0]["content"] for r in records] == [p["prompt"] for p in pku]
    assert all(len(r["self_samples"]) == 2 for r in records)
    assert not (tmp_path / "out" / "model.safetensors").exists()
    assert (tmp_path / "out" / "self_sample_cache").is_dir()
