"""D2OTrainer on a tiny Llama: parity with TRL's DPO, references, precompute, online samples."""

from __future__ import annotations

import math

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import DPOConfig, DPOTrainer

from tests.training.conftest import CPU_TRAINING, d2o_rows
from valuegraph.training.d2o.collator import DataCollatorForD2O
from valuegraph.training.d2o.config import D2OConfig
from valuegraph.training.d2o.trainer import D2OTrainer


def _perturbed(path, seed: int, scale: float = 0.05):
    """The tiny model with Gaussian noise on every weight: a reference distinct from the policy."""
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * scale)
    return model


def _reference_logps_by_hand(model, batch) -> torch.Tensor:
    """Summed completion log-probs from plain logits (independent of TRL's fused head)."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logps = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    token_logps = logps.gather(-1, batch["input_ids"][:, 1:, None]).squeeze(-1)
    return (token_logps * batch["completion_mask"][:, 1:]).sum(dim=1)


def _d2o(tiny_lm_dir, tmp_path, rows, **overrides):
    extra = {
        k: overrides.pop(k)
        for k in ("ref_model", "ref_plus_model", "peft_config")
        if k in overrides
    }
    args = D2OConfig(output_dir=str(tmp_path / "d2o"), **{**CPU_TRAINING, **overrides})
    return D2OTrainer(
        str(tiny_lm_dir),
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(tiny_lm_dir),
        **extra,
    )


def _batch_loss(trainer, n: int) -> torch.Tensor:
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(n)])
    trainer.model.eval()
    with torch.no_grad():
        return trainer.compute_loss(trainer.model, batch)


def test_k1_equals_trl_sigmoid_dpo_on_the_same_batch(tiny_lm_dir, tmp_path):
    rows = d2o_rows(k=1, n=4)
    dpo_rows = [
        {"prompt": r["prompt"], "chosen": r["self_samples"][0], "rejected": r["rejected"]}
        for r in rows
    ]
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm_dir)
    common = {**CPU_TRAINING, "beta": 0.1}
    dpo = DPOTrainer(
        str(tiny_lm_dir),
        ref_model=_perturbed(tiny_lm_dir, seed=1),
        args=DPOConfig(output_dir=str(tmp_path / "dpo"), **common),
        train_dataset=Dataset.from_list(dpo_rows),
        processing_class=tokenizer,
    )
    d2o = D2OTrainer(
        str(tiny_lm_dir),
        ref_model=_perturbed(tiny_lm_dir, seed=1),
        args=D2OConfig(output_dir=str(tmp_path / "d2o"), alpha=0.1, num_self_samples=1, **common),
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    dpo_loss, d2o_loss = _batch_loss(dpo, 4), _batch_loss(d2o, 4)
    assert abs(dpo_loss.item() - math.log(2)) > 1e-3  # the references differ from the policy
    assert d2o_loss.item() == pytest.approx(dpo_loss.item(), abs=1e-5)
    assert d2o._metrics["eval"]["logps/self"] == pytest.approx(
        dpo._metrics["eval"]["logps/chosen"], abs=1e-4
    )
    assert d2o._metrics["eval"]["rewards/rejected"] == pytest.approx(
        dpo._metrics["eval"]["rewards/rejected"], abs=1e-6
    )


@pytest.mark.parametrize("k", [1, 4])
def test_training_logs_a_loss_and_moves_every_parameter(tiny_lm_dir, tmp_path, k):
    trainer = _d2o(tiny_lm_dir, tmp_path, d2o_rows(k=k), alpha=0.1, num_self_samples=k)
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert [entry["step"] for entry in logs] == [1, 2]
    assert logs[0]["loss"] == pytest.approx(math.log(2), abs=1e-6)  # policy == reference at step 1
    assert logs[1]["loss"] < logs[0]["loss"]
    for key in (
        "rewards/self",
        "rewards/rejected",
        "rewards/margins",
        "rewards/accuracies",
        "logratios/self",
        "logratios/rejected",
        "logps/self",
        "logps/rejected",
    ):
        assert math.isfinite(logs[1][key])
    assert logs[1]["rewards/margins"] == pytest.approx(
        logs[1]["rewards/self"] - logs[1]["rewards/rejected"], abs=1e-5
    )
    changed = [
        n for n, p in trainer.model.named_parameters() if not torch.equal(p.detach(), before[n])
    ]
    assert sorted(changed) == sorted(before)


def test_collator_lays_out_k_self_samples_then_the_negative():
    collator = DataCollatorForD2O(pad_token_id=0)
    examples = [
        {
            "prompt_ids": [1, 2],
            "self_ids": [[3], [4, 5]],
            "rejected_ids": [6],
            "ref_self_logps": [-1.0, -2.0],
            "ref_rejected_logps": -3.0,
        },
        {
            "prompt_ids": [7],
            "self_ids": [[8, 9], [10]],
            "rejected_ids": [11, 12, 13],
            "ref_self_logps": [-4.0, -5.0],
            "ref_rejected_logps": -6.0,
        },
    ]
    out = collator(examples)
    assert out["input_ids"].tolist() == [
        [1, 2, 3, 0],
        [7, 8, 9, 0],  # self-sample 1 of each example
        [1, 2, 4, 5],
        [7, 10, 0, 0],  # self-sample 2
        [1, 2, 6, 0],
        [7, 11, 12, 13],  # the negatives
    ]
    assert out["completion_mask"].tolist() == [
        [0, 0, 1, 0],
        [0, 1, 1, 0],
        [0, 0, 1, 1],
        [0, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 1, 1, 1],
    ]
    assert out["attention_mask"].sum(dim=1).tolist() == [3, 3, 4, 2, 3, 4]
    assert out["ref_self_logps"].tolist() == [[-1.0, -2.0], [-4.0, -5.0]]
    assert out["ref_rejected_logps"].tolist() == [-3.0, -6.0]


def test_separate_references_score_their_own_rows(tiny_lm_dir, tmp_path):
    _perturbed(tiny_lm_dir, seed=2).save_pretrained(tmp_path / "ref_plus")
    trainer = _d2o(
        tiny_lm_dir,
        tmp_path,
        d2o_rows(k=2, n=2),
        num_self_samples=2,
        ref_model=_perturbed(tiny_lm_dir, seed=1),
        ref_plus_model_path=str(tmp_path / "ref_plus"),
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    ref_self, ref_rejected = trainer.compute_ref_log_probs(trainer.ref_model, batch)
    minus_by_hand = _reference_logps_by_hand(_perturbed(tiny_lm_dir, seed=1), batch)
    plus_by_hand = _reference_logps_by_hand(_perturbed(tiny_lm_dir, seed=2), batch)
    # Rows are slot-major: [self_1(b0), self_1(b1), self_2(b0), self_2(b1), neg(b0), neg(b1)].
    torch.testing.assert_close(ref_self, minus_by_hand[:4].view(2, 2).T, atol=1e-4, rtol=0)
    torch.testing.assert_close(ref_rejected, plus_by_hand[4:], atol=1e-4, rtol=0)


def test_precomputed_reference_logps_match_the_on_the_fly_ones(tiny_lm_dir, tmp_path):
    ref = _perturbed(tiny_lm_dir, seed=3)
    trainer = _d2o(
        tiny_lm_dir,
        tmp_path,
        d2o_rows(k=2, n=2),
        num_self_samples=2,
        ref_model=ref,
        precompute_ref_log_probs=True,
    )
    assert {"ref_self_logps", "ref_rejected_logps"} <= set(trainer.train_dataset.column_names)
    assert "ref_chosen_logps" not in trainer.train_dataset.column_names
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    assert batch["ref_self_logps"].shape == (2, 2)
    fly_self, fly_rejected = trainer.compute_ref_log_probs(trainer.ref_model, batch)
    torch.testing.assert_close(batch["ref_self_logps"], fly_self, atol=1e-4, rtol=0)
    torch.testing.assert_close(batch["ref_rejected_logps"], fly_rejected, atol=1e-4, rtol=0)


def test_lora_uses_the_adapter_free_base_as_reference(tiny_lm_dir, tmp_path):
    from peft import LoraConfig

    trainer = _d2o(
        tiny_lm_dir,
        tmp_path,
        d2o_rows(k=2),
        num_self_samples=2,
        peft_config=LoraConfig(
            r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"
        ),
    )
    assert trainer.ref_model is None
    trainable = {
        n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad
    }
    assert trainable and all("lora_" in n for n in trainable)
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logs[0]["logratios/self"] == pytest.approx(0.0, abs=1e-5)  # B = 0: policy == base
    assert abs(logs[1]["logratios/self"]) > 1e-4  # the adapter moved, the base did not
    moved = [
        n
        for n, p in trainer.model.named_parameters()
        if n in trainable and not torch.equal(p, trainable[n])
    ]
    assert any("lora_B" in n for n in moved)


def test_online_self_samples_replace_the_stored_ones(tiny_lm_dir, tmp_path):
    trainer = _d2o(
        tiny_lm_dir,
        tmp_path,
        d2o_rows(k=2, n=2),
        num_self_samples=2,
        online_sampling_start_step=0,
        online_max_new_tokens=3,
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    assert batch["prompt_ids"].shape[0] == 2
    fresh = trainer._with_online_self_samples(trainer.model, batch)
    assert fresh["input_ids"].shape[0] == 6
    completions = fresh["completion_mask"].sum(dim=1).tolist()
    assert all(1 <= n <= 3 for n in completions[:4])  # K·B fresh samples of at most 3 tokens
    old_rejected = batch["input_ids"][4:][batch["attention_mask"][4:].bool()]
    new_rejected = fresh["input_ids"][4:][fresh["attention_mask"][4:].bool()]
    assert new_rejected.tolist() == old_rejected.tolist()  # the negatives are kept as they were
    trainer.train()
    assert [e["step"] for e in trainer.state.log_history if "loss" in e] == [1, 2]


def test_trl_reference_sync_moves_the_self_sample_reference(tiny_lm_dir, tmp_path):
    trainer = _d2o(
        tiny_lm_dir,
        tmp_path,
        d2o_rows(k=2),
        num_self_samples=2,
        sync_ref_model=True,
        ref_model_sync_steps=1,
        ref_model_mixup_alpha=1.0,
    )
    trainer.train()
    for (name, policy), reference in zip(
        trainer.model.named_parameters(), trainer.ref_model.parameters(), strict=True
    ):
        assert torch.equal(policy.detach(), reference.detach()), name  # α = 1: π_r- := π_θ
    with pytest.raises(ValueError, match="cannot be combined with a separate ref_plus_model"):
        _d2o(
            tiny_lm_dir,
            tmp_path,
            d2o_rows(k=2),
            num_self_samples=2,
            sync_ref_model=True,
            ref_plus_model=_perturbed(tiny_lm_dir, seed=1),
        )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"beta": -0.1}, "beta must be > 0"),
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"num_self_samples": 0}, "num_self_samples"),
        ({"loss_type": ["ipo"]}, "loss_type"),
        (
            {"online_sampling_start_step": 5, "precompute_ref_log_probs": True},
            "precompute_ref_log_probs",
        ),
        ({"ref_plus_model_path": "/ref", "sync_ref_model": True}, "sync_ref_model moves only"),
        ({"ld_alpha": 0.5}, "ld_alpha is not supported by D²O"),
    ],
)
def test_config_rejects_bad_values(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        D2OConfig(output_dir=str(tmp_path), **{**CPU_TRAINING, **overrides})


def test_records_with_the_wrong_k_are_rejected(tiny_lm_dir, tmp_path):
    with pytest.raises(ValueError, match="example 0 has 2 self_samples, expected K=3"):
        _d2o(tiny_lm_dir, tmp_path, d2o_rows(k=2), num_self_samples=3)
