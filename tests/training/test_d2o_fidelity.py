"""D²O as stated: cut samples trained without an end of turn, models without a chat template,
prompt templates for sampling and training, options that would be ignored refused."""

from __future__ import annotations

import json
import shutil

import pytest
from datasets import Dataset
from transformers import AutoTokenizer
from typer.testing import CliRunner

from tests.training.conftest import CPU_TRAINING, d2o_rows
from valuegraph.cli.train import train_app
from valuegraph.training.d2o.config import D2OConfig
from valuegraph.training.d2o.trainer import D2OTrainer
from valuegraph.training.data.d2o_records import PROMPT_TEMPLATES

PKU = [{"prompt": f"How do I do bad thing {i}?", "response_0": "Like this.", "response_1": "No.",
        "is_response_0_safe": False, "is_response_1_safe": True} for i in range(2)]


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def no_template_dir(tiny_lm_dir, tmp_path):
    """The tiny model without its chat template (a base model, like Alpaca-7B's)."""
    path = tmp_path / "base-model"
    shutil.copytree(tiny_lm_dir, path)
    (path / "chat_template.jinja").unlink()
    assert AutoTokenizer.from_pretrained(path).chat_template is None
    return path


def _trainer(model_dir, tmp_path, rows, k):
    args = D2OConfig(output_dir=str(tmp_path / "d2o"), num_self_samples=k, **CPU_TRAINING)
    return D2OTrainer(str(model_dir), args=args, train_dataset=Dataset.from_list(rows),
                      processing_class=AutoTokenizer.from_pretrained(model_dir))


@pytest.mark.parametrize("overrides,message", [
    ({"loss_weights": [1.0]}, "loss_weights is not supported by D²O"),
    ({"padding_free": True}, "padding_free is not supported by D²O"),
])
def test_dpo_options_d2o_would_ignore_are_refused(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        D2OConfig(output_dir=str(tmp_path), **{**CPU_TRAINING, **overrides})


def test_a_cut_sample_trains_without_an_end_of_turn(tiny_lm_dir, tmp_path):
    rows = d2o_rows(k=2, n=2)
    rows[0]["self_samples_truncated"] = [False, True]
    rows[1]["self_samples_truncated"] = [False, False]
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    end = tokenizer.convert_tokens_to_ids("</s>")
    example = _trainer(tiny_lm_dir, tmp_path, rows, 2).train_dataset[0]
    whole, cut = example["self_ids"]
    assert whole[-1] == end  # the chat template closes a finished turn
    assert end not in cut and cut  # the cut one stays open
    content = rows[0]["self_samples"][1][0]["content"]
    assert tokenizer.decode(cut).strip() == content
    assert example["rejected_ids"][-1] == end
    # plain-text records: no EOS appended to a cut sample either
    text_rows = [{"prompt": "Q: hi\nA:", "rejected": " bad", "self_samples": [" a", " b"],
                  "self_samples_truncated": [True, False]}] * 2
    text = _trainer(tiny_lm_dir, tmp_path, text_rows, 2).train_dataset[0]
    eos = tokenizer.eos_token_id
    assert text["self_ids"][0][-1] != eos and text["self_ids"][1][-1] == eos


def test_a_model_without_a_chat_template_is_refused_before_any_work(no_template_dir, tmp_path):
    _write_jsonl(tmp_path / "pku.jsonl", PKU)
    (tmp_path / "d2o.yaml").write_text(
        f"model: {no_template_dir}\noutput_dir: out\nk: 2\n"
        "data:\n  negatives: {source: pku, path: pku.jsonl}\n"
        "training: {use_cpu: true, bf16: false}\n")
    result = CliRunner().invoke(train_app, ["d2o", "-c", str(tmp_path / "d2o.yaml")])
    assert result.exit_code == 2
    assert "has no chat template" in result.output and "prompt_template" in result.output
    assert not (tmp_path / "out").exists()


def test_alpaca_template_for_sampling_and_training(no_template_dir, tmp_path):
    from valuegraph.tools.pool import ModelPool
    from valuegraph.training.d2o.run import execute_d2o, plan_d2o
    from valuegraph.training.run_config import D2ORunConfig

    _write_jsonl(tmp_path / "pku.jsonl", PKU)
    config = D2ORunConfig(
        model=str(no_template_dir), output_dir=tmp_path / "out", k=2, prompt_template="alpaca",
        data={"negatives": {"source": "pku", "path": tmp_path / "pku.jsonl"},
              "self_sampling": {"max_tokens": 4, "seed": 3}},
        training=CPU_TRAINING)
    plan = plan_d2o(config)
    assert plan.sampling.prompt_template == PROMPT_TEMPLATES["alpaca"]
    pool = ModelPool(tmp_path / "cache")
    try:
        run = execute_d2o(plan, pool)
    finally:
        pool.close()
    records = [json.loads(x) for x in (tmp_path / "out" / "d2o_records.jsonl").read_text()
               .splitlines()]
    formatted = PROMPT_TEMPLATES["alpaca"].format(prompt=PKU[0]["prompt"])
    assert records[0]["prompt"] == formatted and records[0]["source_prompt"] == PKU[0]["prompt"]
    assert records[0]["rejected"] == "Like this." and len(records[0]["self_samples"]) == 2
    # the pool sampled the same text that training tokenizes (a raw prompt, no chat template)
    assert all(len(f) == 2 for f in (r["self_samples_truncated"] for r in records))
    assert any(e.get("loss") is not None for e in run.log_history)
    card = (tmp_path / "out" / "README.md").read_text()
    assert "top_k=0 (off)" in card and "repetition_penalty=1.0" in card
    assert "one derived per prompt" in card and "| prompt template | `alpaca`" in card
    assert "self-samples cut at max_tokens" in card


@pytest.mark.parametrize("yaml_extra,message", [
    ("prompt_template: 'no placeholder'\n", "prompt_template must contain {prompt}"),
    ("prompt_template: alpaca\n", "needs in-process sampling"),
])
def test_prompt_template_settings_are_checked(tiny_lm_dir, tmp_path, yaml_extra, message):
    _write_jsonl(tmp_path / "pku.jsonl", PKU)
    (tmp_path / "d2o.yaml").write_text(
        f"model: {tiny_lm_dir}\noutput_dir: out\nk: 2\n{yaml_extra}"
        "data:\n  negatives: {source: pku, path: pku.jsonl}\n"
        "  self_sampling: {spec: hosted_vllm/sft, api_base: 'http://127.0.0.1:9/v1'}\n"
        "training: {use_cpu: true, bf16: false}\n")
    result = CliRunner().invoke(train_app, ["d2o", "-c", str(tmp_path / "d2o.yaml")])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()
