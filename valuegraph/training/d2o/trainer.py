"""D²O trainer: TRL's ``DPOTrainer`` with K self-samples and one negative per prompt.

Pinned to ``trl==1.16.0`` (see :mod:`valuegraph.training.trl_pin`). Overridden:
``_prepare_dataset`` (tokenizes ``self_samples``), ``_set_signature_columns_if_needed``,
``_precompute_ref_logps`` / ``compute_ref_log_probs`` (the K+1 layout) and ``_compute_loss``
(:func:`~valuegraph.training.d2o.loss.d2o_loss`). Model loading, PEFT, the reference model (a
frozen copy, or the PEFT base with adapters off), precomputation, TR-DPO reference sync,
DeepSpeed/FSDP preparation and logging are TRL's.
"""

from __future__ import annotations

import contextlib
import textwrap
from typing import Any

import torch
from accelerate.utils import is_peft_model
from datasets import Dataset, IterableDataset
from datasets.fingerprint import Hasher
from transformers import AutoTokenizer, PreTrainedModel, ProcessorMixin
from trl import DPOTrainer
from trl.data_utils import _tokenize, common_prefix_length, is_conversational
from trl.models import prepare_deepspeed, prepare_fsdp
from trl.models.utils import disable_gradient_checkpointing, unwrap_model_for_generation
from trl.trainer.utils import (
    add_fused_lm_head,
    create_model_from_path,
    disable_dropout_in_model,
    get_config_model_id,
    global_then_local_main_first,
    hash_module,
    use_adapter,
)

from valuegraph.training.d2o.collator import DataCollatorForD2O, layout_rows
from valuegraph.training.d2o.config import D2OConfig
from valuegraph.training.d2o.loss import d2o_loss
from valuegraph.training.logps import completion_logps
from valuegraph.training.metrics import log_batch_metrics
from valuegraph.training.trl_pin import check_trl_version

REQUIRED_COLUMNS = ("prompt", "rejected", "self_samples")


def _rows(inputs: dict[str, Any], rows: slice) -> dict[str, Any]:
    """The row-indexed model inputs of ``inputs`` restricted to ``rows``."""
    keys = ("input_ids", "attention_mask", "completion_mask")
    return {key: inputs[key][rows] for key in keys}


def _load_reference(path: str, args: D2OConfig) -> PreTrainedModel:
    """A reference model loaded like TRL loads its own (``model_init_kwargs``, device map)."""
    kwargs = dict(args.model_init_kwargs or {})
    if args.distributed_state.distributed_type in ("MULTI_GPU", "DEEPSPEED"):
        kwargs["device_map"] = None
    kwargs.setdefault("trust_remote_code", args.trust_remote_code)
    return create_model_from_path(path, **kwargs)


def _cut_at_eos(ids: list[int], eos_token_id: int, pad_token_id: int) -> list[int]:
    """A generated completion up to and including its first EOS, without trailing padding."""
    if eos_token_id in ids:
        return ids[: ids.index(eos_token_id) + 1]
    while ids and ids[-1] == pad_token_id:
        ids = ids[:-1]
    return ids


class D2OTrainer(DPOTrainer):
    """Distributional Dispreference Optimization (Duan et al., 2024) on TRL's DPO machinery.

    Args:
        model: Policy (the SFT model), as a path or a loaded causal LM / PEFT model.
        ref_model: π_r-, the reference of the self-samples. None: ``args.ref_minus_model_path``
            if set, else TRL's default (a frozen copy of the initial policy, or the PEFT base
            with adapters disabled).
        args: A :class:`D2OConfig`.
        ref_plus_model: π_r+, the reference of the negative. None: ``args.ref_plus_model_path``
            if set, else the same model as π_r-.
        data_collator: Defaults to :class:`DataCollatorForD2O`.
        train_dataset: Records with ``prompt``, ``rejected`` and ``self_samples`` (K each), in
            TRL's standard or conversational format.
        eval_dataset: Same format as ``train_dataset``.
        processing_class: The tokenizer. None: loaded from the model's path.
        callbacks: Extra ``TrainerCallback`` objects.
        optimizers: ``(optimizer, scheduler)``, as in ``transformers.Trainer``.
        peft_config: A ``peft.PeftConfig`` to train an adapter.
    """

    _tag_names = ["trl", "d2o", "valuegraph"]
    _name = "D2O"
    _paper = {
        "title": "Negating Negatives: Alignment with Human Negative Samples via Distributional "
        "Dispreference Optimization",
        "id": "2403.03419",
        "citation": textwrap.dedent("""\
            @inproceedings{duan2024negating,
                title     = {{Negating Negatives: Alignment with Human Negative Samples via
                              Distributional Dispreference Optimization}},
                author    = {Shitong Duan and Xiaoyuan Yi and Peng Zhang and Yan Liu and
                             Zheng Liu and Tun Lu and Xing Xie and Ning Gu},
                booktitle = {Findings of the Association for Computational Linguistics: EMNLP 2024},
                pages     = {1012--1042},
                year      = 2024,
            }"""),
    }

    def __init__(
        self,
        model: str | PreTrainedModel,
        ref_model: PreTrainedModel | None = None,
        args: D2OConfig | None = None,
        *,
        ref_plus_model: PreTrainedModel | None = None,
        data_collator: Any = None,
        train_dataset: Dataset | IterableDataset | None = None,
        eval_dataset: Dataset | IterableDataset | dict[str, Dataset] | None = None,
        processing_class: Any = None,
        callbacks: list | None = None,
        optimizers: tuple = (None, None),
        peft_config: Any = None,
    ):
        check_trl_version()
        if args is None:
            name = model if isinstance(model, str) else get_config_model_id(model.config)
            args = D2OConfig(f"{name.rstrip('/').split('/')[-1] or 'model'}-D2O")
        if not isinstance(args, D2OConfig):
            raise TypeError(f"args must be a D2OConfig, got {type(args).__name__}")
        if train_dataset is None:
            raise ValueError("train_dataset is required")
        sample = next(iter(train_dataset))
        if "image" in sample or "images" in sample:
            raise ValueError("D²O supports text datasets only; drop the 'image'/'images' column")
        missing = [c for c in REQUIRED_COLUMNS if c not in sample]
        if missing and "prompt_ids" not in sample:
            raise ValueError(
                f"train_dataset lacks column(s) {missing}; D²O needs {list(REQUIRED_COLUMNS)}"
            )
        if ref_model is None and args.ref_minus_model_path is not None:
            ref_model = _load_reference(args.ref_minus_model_path, args)
        if ref_plus_model is None and args.ref_plus_model_path is not None:
            ref_plus_model = _load_reference(args.ref_plus_model_path, args)
        if ref_plus_model is not None and args.sync_ref_model:
            raise ValueError(
                "sync_ref_model moves only π_r-; "
                "it cannot be combined with a separate ref_plus_model"
            )
        if processing_class is None:
            processing_class = AutoTokenizer.from_pretrained(
                model if isinstance(model, str) else get_config_model_id(model.config)
            )
        if isinstance(processing_class, ProcessorMixin):
            raise ValueError("D²O supports text models only; pass a tokenizer as processing_class")
        if processing_class.pad_token is None:
            processing_class.pad_token = processing_class.eos_token
        if data_collator is None:
            data_collator = DataCollatorForD2O(
                pad_token_id=processing_class.pad_token_id,
                max_length=args.max_length,
                truncation_mode=args.truncation_mode,
                pad_to_multiple_of=args.pad_to_multiple_of,
                return_prompts=args.online_sampling_start_step is not None,
            )
        self.num_self_samples = args.num_self_samples
        self.alpha = args.alpha
        self._ref_plus_model = ref_plus_model
        self._ref_plus_prepared = False
        self._ref_plus_hash = (
            hash_module(ref_plus_model)
            if ref_plus_model is not None and args.precompute_ref_log_probs
            else None
        )
        super().__init__(
            model,
            ref_model=ref_model,
            args=args,
            data_collator=data_collator,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=processing_class,
            callbacks=callbacks,
            optimizers=optimizers,
            peft_config=peft_config,
        )

    # Data

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        first = next(iter(dataset))
        if "prompt_ids" in first and "self_ids" in first:
            return dataset
        missing = [c for c in REQUIRED_COLUMNS if c not in first]
        if missing:
            raise ValueError(f"{dataset_name} dataset lacks column(s) {missing}")
        k = self.num_self_samples
        if isinstance(dataset, Dataset):
            for index, samples in enumerate(dataset["self_samples"]):
                if len(samples) != k:
                    raise ValueError(
                        f"{dataset_name} example {index} has {len(samples)} self_samples, "
                        f"expected K={k}"
                    )
        eos = self._tokenizer.eos_token

        def tokenize(example: dict[str, Any]) -> dict[str, Any]:
            prompt, rejected, samples = (
                example["prompt"],
                example["rejected"],
                example["self_samples"],
            )
            if len(samples) != k:
                raise ValueError(
                    f"a {dataset_name} example has {len(samples)} self_samples, expected K={k}"
                )
            # A self-sample cut at the sampling length limit did not end: no end of turn / EOS
            # is appended to it (it trains as the prefix it is).
            cut = [False, *(example.get("self_samples_truncated") or [False] * k)]
            if is_conversational(example):
                template_kwargs = dict(example.get("chat_template_kwargs") or {})
                prompt_ids = _tokenize(
                    processing_class, prompt, add_generation_prompt=True, **template_kwargs
                )["input_ids"]
                full = [
                    _tokenize(
                        processing_class,
                        prompt + completion,
                        **template_kwargs,
                        **({"continue_final_message": True} if open_ended else {}),
                    )["input_ids"]
                    for completion, open_ended in zip([rejected, *samples], cut, strict=True)
                ]
            else:
                prompt_ids = _tokenize(processing_class, prompt)["input_ids"]
                full = [
                    _tokenize(
                        processing_class,
                        prompt + c + ("" if open_ended or c.endswith(eos) else eos),
                    )["input_ids"]
                    for c, open_ended in zip([rejected, *samples], cut, strict=True)
                ]
            # As TRL does: the completion starts where prompt and prompt+completion diverge.
            prompt_len = min(common_prefix_length(prompt_ids, ids) for ids in full)
            return {
                "prompt_ids": prompt_ids[:prompt_len],
                "rejected_ids": full[0][prompt_len:],
                "self_ids": [ids[prompt_len:] for ids in full[1:]],
            }

        map_kwargs: dict[str, Any] = {}
        if isinstance(dataset, Dataset):
            map_kwargs = {
                "num_proc": args.dataset_num_proc,
                "desc": f"Tokenizing {dataset_name} D2O dataset",
            }
        with global_then_local_main_first():
            dataset = dataset.map(tokenize, **map_kwargs)
            if args.max_length is not None and args.truncation_mode == "keep_start":
                filter_kwargs = (
                    {"num_proc": args.dataset_num_proc} if isinstance(dataset, Dataset) else {}
                )
                dataset = dataset.filter(
                    lambda e: len(e["prompt_ids"]) < args.max_length, **filter_kwargs
                )
        return dataset

    def _set_signature_columns_if_needed(self):
        if self._signature_columns is None:
            self._signature_columns = [
                "prompt_ids",
                "self_ids",
                "rejected_ids",
                "ref_self_logps",
                "ref_rejected_logps",
            ]

    # Reference log-probs

    def _precompute_ref_logps(self, dataset: Dataset, name: str, batch_size: int) -> Dataset:
        # TRL stores the first element of compute_ref_log_probs as "ref_chosen_logps"; ours is the
        # (B, K) self-sample block. The cache key must also cover π_r+ when it is a separate model.
        if self._ref_plus_hash is not None:
            self._precompute_model_hash = Hasher.hash(
                (self._precompute_model_hash, self._ref_plus_hash)
            )
            self._ref_plus_hash = None
        dataset = super()._precompute_ref_logps(dataset, name, batch_size)
        return dataset.rename_column("ref_chosen_logps", "ref_self_logps")

    def _ref_plus(self) -> PreTrainedModel:
        """π_r+, prepared like TRL prepares the reference model, on first use."""
        if not self._ref_plus_prepared:
            model = self._ref_plus_model
            if self.args.disable_dropout:
                disable_dropout_in_model(model)
            add_fused_lm_head(model)
            if self.is_deepspeed_enabled:
                model = prepare_deepspeed(model, self.accelerator)
            elif self.is_fsdp_enabled:
                model = prepare_fsdp(model, self.accelerator)
            else:
                model = self.accelerator.prepare_model(model, evaluation_mode=True)
            self._ref_plus_model, self._ref_plus_prepared = model, True
        return self._ref_plus_model

    def _reference_summed_logps(self, model: Any, inputs: dict[str, Any]) -> torch.Tensor:
        adapter = contextlib.nullcontext()
        is_ref_plus = self._ref_plus_model is not None and model is self._ref_plus_model
        if not is_ref_plus and self.ref_model is None and is_peft_model(self.model):
            unwrapped = self.accelerator.unwrap_model(self.model)
            adapter = use_adapter(
                unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None
            )
        with (
            torch.no_grad(),
            disable_gradient_checkpointing(self.model, self.args.gradient_checkpointing_kwargs),
            adapter,
            self.accelerator.autocast(),
        ):
            return completion_logps(model, inputs).summed

    def compute_ref_log_probs(self, model, inputs):
        """Reference log-probs of one collated batch.

        Args:
            model: π_r- (the reference model, the initial policy, or the PEFT policy whose
                adapters are disabled here).
            inputs: A batch from :class:`DataCollatorForD2O`.

        Returns:
            ``(ref_self_logps (B, K) under π_r-, ref_rejected_logps (B,) under π_r+)``.
        """
        k = self.num_self_samples
        batch = inputs["input_ids"].size(0) // (k + 1)
        if self._ref_plus_model is None:
            logps = self._reference_summed_logps(model, inputs)
            self_logps, rejected_logps = logps[: k * batch], logps[k * batch :]
        else:
            self_logps = self._reference_summed_logps(model, _rows(inputs, slice(0, k * batch)))
            rejected_logps = self._reference_summed_logps(
                self._ref_plus(), _rows(inputs, slice(k * batch, None))
            )
        return self_logps.view(k, batch).T, rejected_logps

    # Online self-samples

    def _online_sampling_active(self, mode: str) -> bool:
        start = self.args.online_sampling_start_step
        return mode == "train" and start is not None and self.state.global_step >= start

    def _with_online_self_samples(self, model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        """Replaces the batch's self-samples by K fresh samples of the current policy per prompt."""
        k, args, tokenizer = self.num_self_samples, self.args, self._tokenizer
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        batch = prompt_ids.size(0)
        with (
            unwrap_model_for_generation(
                model,
                self.accelerator,
                gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs,
            ) as unwrapped,
            torch.no_grad(),
        ):
            generated = unwrapped.generate(
                input_ids=prompt_ids,
                attention_mask=prompt_mask,
                do_sample=True,
                num_return_sequences=k,
                max_new_tokens=args.online_max_new_tokens,
                temperature=args.online_temperature,
                top_p=args.online_top_p,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        samples = [
            _cut_at_eos(ids, tokenizer.eos_token_id, tokenizer.pad_token_id)
            for ids in generated[:, prompt_ids.size(1) :].tolist()
        ]
        prompts = [
            ids[mask.bool()].tolist() for ids, mask in zip(prompt_ids, prompt_mask, strict=True)
        ]
        rejected_rows = slice(k * batch, None)
        rejected = [
            ids[mask.bool()].tolist()
            for ids, mask in zip(
                inputs["input_ids"][rejected_rows],
                inputs["completion_mask"][rejected_rows],
                strict=True,
            )
        ]
        slots = [[samples[b * k + j] for b in range(batch)] for j in range(k)] + [rejected]
        rows = layout_rows(
            prompts,
            slots,
            pad_token_id=tokenizer.pad_token_id,
            max_length=args.max_length,
            truncation_mode=args.truncation_mode,
            pad_to_multiple_of=args.pad_to_multiple_of,
        )
        device = inputs["input_ids"].device
        rows = {key: value.to(device) for key, value in rows.items()}
        return {**rows, "prompt_ids": prompt_ids, "prompt_mask": prompt_mask}

    # Loss

    def _compute_loss(self, model, inputs, return_outputs):
        mode = "train" if self.model.training else "eval"
        k = self.num_self_samples
        if self._online_sampling_active(mode):
            inputs = self._with_online_self_samples(model, inputs)
        forward_kwargs = {"output_router_logits": True} if self.aux_loss_enabled else {}
        policy = completion_logps(model, inputs, **forward_kwargs)
        policy_logps = policy.summed
        batch = policy_logps.size(0) // (k + 1)
        policy_self_logps = policy_logps[: k * batch].view(k, batch).T
        policy_rejected_logps = policy_logps[k * batch :]
        if self.precompute_ref_logps:
            ref_self_logps, ref_rejected_logps = (
                inputs["ref_self_logps"],
                inputs["ref_rejected_logps"],
            )
        else:
            reference = self.ref_model if self.ref_model is not None else self.model
            ref_self_logps, ref_rejected_logps = self.compute_ref_log_probs(reference, inputs)
        result = d2o_loss(
            policy_self_logps,
            policy_rejected_logps,
            ref_self_logps,
            ref_rejected_logps,
            alpha=self.alpha,
            beta=self.beta,
        )
        loss = result.losses.mean()
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * policy.outputs.aux_loss

        self_logratios = policy_self_logps - ref_self_logps
        log_batch_metrics(
            self,
            mode,
            inputs,
            {
                "rewards/self": result.self_rewards,
                "rewards/rejected": result.rejected_rewards,
                "rewards/margins": result.logits,
                "rewards/accuracies": (result.logits > 0).float(),
                "logps/self": policy_self_logps.mean(dim=1),
                "logps/rejected": policy_rejected_logps,
                "logratios/self": self_logratios.mean(dim=1),
                "logratios/rejected": policy_rejected_logps - ref_rejected_logps,
            },
        )
        if return_outputs:
            model_kwargs = {key: inputs[key] for key in ("input_ids", "attention_mask")}
            with torch.no_grad():
                return loss, model(**model_kwargs)
        return loss
