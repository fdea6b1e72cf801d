"""In-process backends: a tiny random transformers model, and the embedded SmolLM2."""

from __future__ import annotations

import math

import pytest

from valuegraph.tools.pool import ModelPool


async def test_hf_backend_generates_and_scores(tiny_lm_dir, tmp_path):
    pool = ModelPool(tmp_path / "cache")
    spec = f"hf/{tiny_lm_dir}"
    msgs = [{"role": "user", "content": "The capital of France is"}]
    got = await pool.generate(spec, msgs, n=2, max_tokens=5, temperature=1.0, seed=3)
    assert len(got) == 2 and all(c.completion_tokens <= 5 for c in got)
    again = await pool.generate(spec, msgs, n=2, max_tokens=5, temperature=1.0, seed=3)
    assert [c.text for c in again] == [c.text for c in got] and all(c.cached for c in again)
    scores = await pool.loglik(spec, "The capital of France is", [" Paris", " Paris Paris"])
    assert all(s < 0 for s in scores)
    assert scores[1] < scores[0]  # a longer continuation has a lower summed log-probability


async def test_hf_loglik_matches_manual_forward(tiny_lm_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pool = ModelPool()
    (score,) = await pool.loglik(f"hf/{tiny_lm_dir}", "It is wrong", [" to lie"])
    tok = AutoTokenizer.from_pretrained(tiny_lm_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()
    prompt = tok("It is wrong")["input_ids"]
    full = tok("It is wrong to lie")["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([full])).logits[0], -1)
    manual = sum(float(logp[i - 1, full[i]]) for i in range(len(prompt), len(full)))
    assert score == pytest.approx(manual, abs=1e-4)


@pytest.mark.slow
async def test_embedded_model_prefers_paris_and_answers(tmp_path):
    pool = ModelPool(tmp_path / "cache")
    paris, berlin = await pool.loglik("local", "The capital of France is", [" Paris", " Berlin"])
    assert paris > berlin
    assert math.isfinite(paris) and paris < 0
    reply = await pool.generate("local", [{"role": "user", "content": "What is the capital of "
                                           "France? Answer in one word."}],
                                temperature=0.0, max_tokens=8, seed=0)
    assert "paris" in reply[0].text.lower()
    assert reply[0].completion_tokens > 0


async def test_hf_sampling_ignores_the_checkpoints_generation_config(tiny_lm_dir, tmp_path):
    """A checkpoint whose generation_config.json says top_k=1 (greedy in disguise), a low
    temperature and a repetition penalty: the pool samples at exactly what the request states
    (top_k off), so K samples at temperature 1 differ; the token ids are kept."""
    import shutil

    from transformers import GenerationConfig

    from valuegraph.tools.backends.hf_backend import HFBackend, generation_kwargs
    from valuegraph.tools.pool import ModelPool
    from valuegraph.tools.types import SamplingParams

    path = tmp_path / "model"
    shutil.copytree(tiny_lm_dir, path)
    GenerationConfig(top_k=1, temperature=0.05, repetition_penalty=1.3, do_sample=True,
                     eos_token_id=[2, 5], bos_token_id=1, pad_token_id=3).save_pretrained(path)
    backend = HFBackend(str(path), device="cpu")
    model, _ = backend._load()
    assert model.generation_config.to_diff_dict().keys() <= {
        "bos_token_id", "eos_token_id", "pad_token_id", "transformers_version"}
    assert model.generation_config.eos_token_id == [2, 5]
    params = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=8, seed=0)
    effective, _ = model._prepare_generation_config(None, **generation_kwargs(params))
    assert (effective.top_k, effective.temperature, effective.top_p) == (0, 1.0, 1.0)
    assert effective.repetition_penalty == 1.0 and effective.do_sample
    explicit = SamplingParams(temperature=0.7, top_p=0.9, top_k=5, min_p=0.1, seed=0)
    assert generation_kwargs(explicit) == {"max_new_tokens": 256, "do_sample": True,
                                           "temperature": 0.7, "top_p": 0.9, "top_k": 5,
                                           "min_p": 0.1, "repetition_penalty": 1.0}
    pool = ModelPool(None)
    samples = await pool.generate(f"hf/{path}", [{"role": "user", "content": "It is wrong"}],
                                  n=6, temperature=1.0, top_p=1.0, max_tokens=6, seed=0)
    assert len({s.text for s in samples}) > 1  # with the checkpoint's top_k=1 all would agree
    # a raw text prompt is used as is, with the tokenizer's special tokens (as in training)
    raw = await pool.generate(f"hf/{path}", "It is wrong", n=1, temperature=0.0, max_tokens=3)
    assert raw[0].finish_reason in ("stop", "length")
    pool.close()


async def test_a_raw_prompt_needs_a_backend_that_takes_one(server):
    from valuegraph.tools.pool import ModelPool
    from valuegraph.tools.types import NotSupportedError

    pool = ModelPool(None, api_bases={"hosted_vllm/m": server.api_base})
    with pytest.raises(NotSupportedError, match="raw text prompt"):
        await pool.generate("hosted_vllm/m", "Q: hi\nA:", n=1)
    await pool.aclose()
