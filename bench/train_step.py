"""Training-step cost of D²O against TRL's own DPOTrainer, then D²O's growth with K.

One process builds, on the same random Llama and the same batch, TRL's ``DPOTrainer`` (chosen =
self-sample 1) and ``D2OTrainer`` at K = 1, 4 and 11 (the first K self-samples of each record),
each with its own frozen reference copy computed on the fly. A step is TRL's ``training_step``
(forward, reference forward, backward) plus the optimizer step. Timed steps alternate between
the trainers after warm-up; the median is reported.

Peak memory is the memory a step adds above what is resident before it (weights, optimizer
state): on CUDA ``max_memory_allocated`` minus ``memory_allocated``; on CPU the glibc heap in use
(``mallinfo2``), sampled after every aten op of one extra step.

    python bench/train_step.py                               # tiny Llama on CPU
    python bench/train_step.py --device cuda --size 125m     # ~134M-parameter Llama, bf16
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import torch  # noqa: E402
from _common import result_line  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

SIZES = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab": 1000,
    },
    "125m": {
        "hidden_size": 768,
        "intermediate_size": 2048,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "num_key_value_heads": 12,
        "vocab": 32000,
    },
}
KS = (1, 4, 11)


def build_tokenizer(vocab: int):
    """A word-level tokenizer over ``w0 .. w{vocab-1}``: every word is exactly one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    words = {
        token: i
        for i, token in enumerate(specials + [f"w{i}" for i in range(vocab - len(specials))])
    }
    tokenizer = Tokenizer(models.WordLevel(vocab=words, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    fast.add_special_tokens({"additional_special_tokens": specials})
    return fast


def build_model(size: str, tokenizer, device: str):
    from transformers import LlamaConfig, LlamaForCausalLM

    spec = dict(SIZES[size])
    spec.pop("vocab")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        **spec,
    )
    torch.manual_seed(0)
    return LlamaForCausalLM(config).to(device)


def make_rows(batch: int, prompt_len: int, completion_len: int, k: int, vocab: int) -> list[dict]:
    """Standard-format records of fixed token lengths (the EOS TRL appends makes it +1)."""
    rng = random.Random(0)

    def text(n: int) -> str:
        return " ".join(f"w{rng.randrange(vocab - 4)}" for _ in range(n))

    return [
        {
            "prompt": text(prompt_len),
            "rejected": " " + text(completion_len),
            "self_samples": [" " + text(completion_len) for _ in range(k)],
        }
        for _ in range(batch)
    ]


class HeapPeak(TorchDispatchMode):
    """Samples glibc's in-use heap after every aten op; keeps the maximum."""

    class _MallInfo2(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_size_t)
            for name in (
                "arena",
                "ordblks",
                "smblks",
                "hblks",
                "hblkhd",
                "usmblks",
                "fsmblks",
                "uordblks",
                "fordblks",
                "keepcost",
            )
        ]

    def __init__(self):
        super().__init__()
        libc = ctypes.CDLL("libc.so.6")
        self._mallinfo2 = libc.mallinfo2
        self._mallinfo2.restype = self._MallInfo2
        self.peak = 0

    def in_use(self) -> int:
        info = self._mallinfo2()
        return info.uordblks + info.hblkhd

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, self.in_use())
        return out


class Bench:
    """One trainer, its fixed batch and its optimizer."""

    def __init__(self, name: str, trainer, rows_per_step: int):
        self.name, self.trainer, self.rows = name, trainer, rows_per_step
        collator = trainer.data_collator
        examples = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
        self.inputs = trainer._prepare_inputs(collator(examples))
        self.optimizer = trainer.create_optimizer()
        trainer.current_gradient_accumulation_steps = 1  # set by Trainer.train() otherwise
        self.times: list[float] = []
        self.peak_mb = float("nan")

    def step(self) -> None:
        self.trainer.training_step(self.trainer.model, self.inputs)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def timed_step(self, device: str) -> None:
        _sync(device)
        start = time.perf_counter()
        self.step()
        _sync(device)
        self.times.append(time.perf_counter() - start)

    def measure_memory(self, device: str) -> None:
        _sync(device)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
            self.step()
            _sync(device)
            self.peak_mb = (torch.cuda.max_memory_allocated() - before) / 2**20
        else:
            probe = HeapPeak()
            before = probe.in_use()
            with probe:
                self.step()
            self.peak_mb = (probe.peak - before) / 2**20

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def build_benches(args, tokenizer, device: str) -> list[Bench]:
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    from valuegraph.training.d2o.config import D2OConfig
    from valuegraph.training.d2o.trainer import D2OTrainer

    vocab = len(tokenizer)
    rows = make_rows(args.batch_size, args.prompt_len, args.completion_len, max(KS), vocab)
    common = {
        "output_dir": str(Path(args.output_dir)),
        "per_device_train_batch_size": args.batch_size,
        "beta": 0.1,
        "report_to": "none",
        "save_strategy": "no",
        "disable_tqdm": True,
        "gradient_checkpointing": args.gradient_checkpointing,
        "use_cpu": device == "cpu",
        "bf16": device == "cuda" and not args.fp32,
        "max_length": None,
        "learning_rate": 1e-6,
        "dataloader_pin_memory": False,
    }
    policy = build_model(args.size, tokenizer, device)

    def fresh_pair():
        model = copy.deepcopy(policy)
        return model, copy.deepcopy(policy)

    benches = []
    model, ref = fresh_pair()
    dpo_rows = [
        {"prompt": r["prompt"], "chosen": r["self_samples"][0], "rejected": r["rejected"]}
        for r in rows
    ]
    dpo = DPOTrainer(
        model,
        ref_model=ref,
        args=DPOConfig(**common),
        train_dataset=Dataset.from_list(dpo_rows),
        processing_class=tokenizer,
    )
    benches.append(Bench("TRL DPO", dpo, 2 * args.batch_size))
    for k in args.ks:
        model, ref = fresh_pair()
        k_rows = [{**r, "self_samples": r["self_samples"][:k]} for r in rows]
        d2o = D2OTrainer(
            model,
            ref_model=ref,
            args=D2OConfig(**common, alpha=0.1, num_self_samples=k),
            train_dataset=Dataset.from_list(k_rows),
            processing_class=tokenizer,
        )
        benches.append(Bench(f"D2O K={k}", d2o, (k + 1) * args.batch_size))
    return benches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--size", choices=tuple(SIZES), default="tiny")
    parser.add_argument("--batch-size", type=int, default=None, help="prompts per step")
    parser.add_argument("--prompt-len", type=int, default=None)
    parser.add_argument("--completion-len", type=int, default=None)
    parser.add_argument("--ks", type=int, nargs="+", default=list(KS))
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=None, help="timed steps per trainer")
    parser.add_argument("--threads", type=int, default=1, help="CPU intra-op threads")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument(
        "--fp32", action="store_true", help="on CUDA, train in fp32 instead of bf16"
    )
    parser.add_argument("--output-dir", default="/tmp/valuegraph-bench-train-step")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible")
    on_gpu = args.device == "cuda"
    args.batch_size = args.batch_size or (8 if on_gpu else 4)
    args.prompt_len = args.prompt_len or (128 if on_gpu else 32)
    args.completion_len = args.completion_len or (128 if on_gpu else 32)
    args.steps = args.steps or (10 if on_gpu else 6)
    if 1 not in args.ks:
        parser.error("--ks must include 1 (the comparison with DPO)")
    if args.device == "cpu":
        torch.set_num_threads(args.threads)

    import transformers
    import trl

    tokenizer = build_tokenizer(SIZES[args.size]["vocab"])
    benches = build_benches(args, tokenizer, args.device)
    params = sum(p.numel() for p in benches[0].trainer.model.parameters())
    device_name = (
        torch.cuda.get_device_name(0) if on_gpu else f"cpu ({torch.get_num_threads()} thread)"
    )
    print(
        f"device: {device_name}; torch {torch.__version__}, "
        f"transformers {transformers.__version__}, "
        f"trl {trl.__version__}"
    )
    print(
        f"model: random Llama '{args.size}', {params / 1e6:.1f}M parameters, "
        f"{'bf16' if benches[0].trainer.args.bf16 else 'fp32'}; reference computed on the fly"
    )
    print(
        f"batch: {args.batch_size} prompts x ({args.prompt_len} prompt + {args.completion_len + 1} "
        f"completion tokens); {args.warmup} warm-up + {args.steps} timed steps each, interleaved"
    )
    for bench in benches:
        for _ in range(args.warmup):
            bench.step()
    for _ in range(args.steps):
        for bench in benches:
            bench.timed_step(args.device)
    for bench in benches:
        bench.measure_memory(args.device)

    print(
        f"{'trainer':<10} {'rows/step':>9} {'step ms (median)':>17} {'min ms':>8} "
        f"{'peak step MB':>13}"
    )
    for bench in benches:
        print(
            f"{bench.name:<10} {bench.rows:>9} {bench.median * 1e3:>17.2f} "
            f"{min(bench.times) * 1e3:>8.2f} {bench.peak_mb:>13.2f}"
        )
    dpo, by_k = benches[0], {int(b.name.split("=")[1]): b for b in benches[1:]}
    k1 = by_k[1]
    time_ratio, memory_ratio = k1.median / dpo.median, k1.peak_mb / dpo.peak_mb
    print(f"D2O K=1 / TRL DPO: time {time_ratio:.3f}x, peak step memory {memory_ratio:.3f}x")
    for k, bench in sorted(by_k.items()):
        print(
            f"D2O K={k} / D2O K=1: time {bench.median / k1.median:.2f}x, "
            f"peak step memory {bench.peak_mb / k1.peak_mb:.2f}x, rows {bench.rows / k1.rows:.1f}x"
        )
    figures = {"time_ratio": time_ratio, "memory_ratio": memory_ratio}
    for k in (4, 11):
        if k in by_k:
            figures[f"k{k}_time"] = by_k[k].median
    print(result_line(**figures))


if __name__ == "__main__":
    main()
