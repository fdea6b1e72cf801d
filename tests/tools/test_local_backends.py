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
