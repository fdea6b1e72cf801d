"""SimPO and ORPO trainers on TRL's ``DPOTrainer`` (text and vision-language models).

TRL 1.16 ships SimPO and ORPO only as text-only experimental trainers
(``trl.experimental.cpo`` / ``orpo``); subclassing ``DPOTrainer`` keeps its tokenization, its
vision collator (``DataCollatorForVisionPreference``) and its fused LM head. Only
``_compute_loss`` is overridden (pinned to ``trl==1.16.0``).

TRL's ``DPOTrainer`` loads a frozen reference copy at init unless a PEFT adapter is trained;
these reference-free trainers release it right after init.
"""

from __future__ import annotations

import gc
import textwrap
from typing import Any

import torch
from trl import DPOTrainer

from valuegraph.training.honesty.config import ORPOConfig, SimPOConfig
from valuegraph.training.honesty.losses import PreferenceLossOutput, orpo_loss, simpo_loss
from valuegraph.training.logps import completion_logps
from valuegraph.training.metrics import log_batch_metrics
from valuegraph.training.trl_pin import check_trl_version


class _ReferenceFreePreferenceTrainer(DPOTrainer):
    """A ``DPOTrainer`` whose loss reads only the policy's length-normalised log-probs."""

    config_class: type = SimPOConfig

    def __init__(self, model: Any, args: Any = None, **kwargs: Any):
        check_trl_version()
        if not isinstance(args, self.config_class):
            raise TypeError(
                f"args must be a {self.config_class.__name__}, got {type(args).__name__}"
            )
        if kwargs.get("ref_model") is not None:
            raise ValueError(f"{type(self).__name__} is reference-free; do not pass ref_model")
        super().__init__(model, args=args, **kwargs)
        if self.ref_model is not None:
            self.ref_model = None
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def _preference_loss(
        self, chosen: torch.Tensor, rejected: torch.Tensor
    ) -> PreferenceLossOutput:
        """The method's loss from length-normalised log-probs; each subclass defines it."""
        raise NotImplementedError

    def _compute_loss(self, model, inputs, return_outputs):
        mode = "train" if self.model.training else "eval"
        forward_kwargs = {"output_router_logits": True} if self.aux_loss_enabled else {}
        policy = completion_logps(model, inputs, **forward_kwargs)
        chosen_logps, rejected_logps = policy.mean.chunk(2, dim=0)  # batch is [chosen, rejected]
        result = self._preference_loss(chosen_logps, rejected_logps)
        loss = result.losses.mean()
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * policy.outputs.aux_loss

        margins = result.chosen_rewards - result.rejected_rewards
        log_batch_metrics(
            self,
            mode,
            inputs,
            {
                "rewards/chosen": result.chosen_rewards,
                "rewards/rejected": result.rejected_rewards,
                "rewards/margins": margins,
                "rewards/accuracies": (margins > 0).float(),
                "logps/chosen": chosen_logps,
                "logps/rejected": rejected_logps,
            },
        )
        if return_outputs:
            model_kwargs = {k: v for k, v in inputs.items() if k != "completion_mask"}
            with torch.no_grad():
                return loss, model(**model_kwargs)
        return loss


class SimPOTrainer(_ReferenceFreePreferenceTrainer):
    """SimPO: length-normalised, reference-free preference optimisation with a margin."""

    config_class = SimPOConfig
    _tag_names = ["trl", "simpo", "valuegraph"]
    _name = "SimPO"
    _paper = {
        "title": "SimPO: Simple Preference Optimization with a Reference-Free Reward",
        "id": "2405.14734",
        "citation": textwrap.dedent("""\
            @inproceedings{meng2024simpo,
                title     = {{SimPO: Simple Preference Optimization with a Reference-Free Reward}},
                author    = {Yu Meng and Mengzhou Xia and Danqi Chen},
                booktitle = {Advances in Neural Information Processing Systems 38},
                year      = 2024,
            }"""),
    }

    def _preference_loss(self, chosen, rejected):
        return simpo_loss(chosen, rejected, beta=self.args.beta, gamma=self.args.simpo_gamma)


class ORPOTrainer(_ReferenceFreePreferenceTrainer):
    """ORPO: SFT on the chosen side plus an odds-ratio preference term, no reference model."""

    config_class = ORPOConfig
    _tag_names = ["trl", "orpo", "valuegraph"]
    _name = "ORPO"
    _paper = {
        "title": "ORPO: Monolithic Preference Optimization without Reference Model",
        "id": "2403.07691",
        "citation": textwrap.dedent("""\
            @inproceedings{hong2024orpo,
                title     = {{ORPO: Monolithic Preference Optimization without Reference Model}},
                author    = {Jiwoo Hong and Noah Lee and James Thorne},
                booktitle = {Proceedings of EMNLP 2024},
                year      = 2024,
            }"""),
    }

    def _preference_loss(self, chosen, rejected):
        return orpo_loss(chosen, rejected, lam=self.args.orpo_lambda)
