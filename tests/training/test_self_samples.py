"""Self-sample generation for D²O records: counts, order, resumability, the real model pool."""

from __future__ import annotations

import asyncio
import json

import pytest

from valuegraph.tools.types import Completion
from valuegraph.training.data.negatives import Negative
from valuegraph.training.data.self_samples import SelfSampling, build_d2o_records


class FakeGenerator:
    """Deterministic stand-in with the pool's ``generate`` signature; records each call."""

    def __init__(self, wrong_n: bool = False):
        self.calls: list[tuple[str, list, dict]] = []
        self.wrong_n = wrong_n

    async def generate(
        self,
        spec,
        messages,
        *,
        n=1,
        temperature=0.7,
        top_p=1.0,
        max_tokens=256,
        seed=None,
        role="target",
        **extra,
    ):
        self.calls.append(
            (
                spec,
                messages,
                {
                    "n": n,
                    "temperature": temperature,
                    "top_p": top_p,
                    "max_tokens": max_tokens,
                    "seed": seed,
                    **extra,
                },
            )
        )
        prompt = messages[-1]["content"]
        count = n - 1 if self.wrong_n else n
        return [Completion(text=f"{prompt} / sample {i}", index=i) for i in range(count)]


NEGATIVES = [Negative("p1", "bad 1"), Negative("p2", "bad 2"), Negative("p1", "bad 3")]


def _run(negatives, generator, sampling, out):
    return asyncio.run(build_d2o_records(negatives, generator, sampling, out))


def test_one_request_per_distinct_prompt_and_records_in_input_order(tmp_path):
    generator = FakeGenerator()
    sampling = SelfSampling(
        spec="mock/sft",
        k=3,
        temperature=1.0,
        top_p=0.9,
        max_tokens=16,
        seed=7,
        system_prompt="Be harmless.",
        extra={"api_base": "http://127.0.0.1:1"},
    )
    out = tmp_path / "records.jsonl"
    records = _run(NEGATIVES, generator, sampling, out)
    assert sorted(call[1][-1]["content"] for call in generator.calls) == ["p1", "p2"]
    spec, messages, params = generator.calls[0]
    assert spec == "mock/sft"
    assert messages[0] == {"role": "system", "content": "Be harmless."}
    assert params == {
        "n": 3,
        "temperature": 1.0,
        "top_p": 0.9,
        "max_tokens": 16,
        "seed": 7,
        "api_base": "http://127.0.0.1:1",
    }
    assert [r["rejected"][0]["content"] for r in records] == ["bad 1", "bad 2", "bad 3"]
    assert records[0]["prompt"] == [
        {"role": "user", "content": "p1"}
    ]  # no system prompt trained on
    assert [s[0]["content"] for s in records[2]["self_samples"]] == [
        "p1 / sample 0",
        "p1 / sample 1",
        "p1 / sample 2",
    ]
    assert [json.loads(line) for line in out.read_text().splitlines()] == records


def test_a_rerun_resumes_without_new_requests(tmp_path):
    out = tmp_path / "records.jsonl"
    sampling = SelfSampling(spec="mock/sft", k=2)
    first = _run(NEGATIVES[:2], FakeGenerator(), sampling, out)
    generator = FakeGenerator()
    second = _run(NEGATIVES, generator, sampling, out)
    assert generator.calls == []  # p1 and p2 were done in the first run
    assert second[:2] == first
    assert len(second) == 3


def test_existing_file_with_another_k_is_refused(tmp_path):
    out = tmp_path / "records.jsonl"
    _run(NEGATIVES[:1], FakeGenerator(), SelfSampling(spec="mock/sft", k=2), out)
    with pytest.raises(ValueError, match=r"records.jsonl:1: not a D²O record with 3 self_samples"):
        _run(NEGATIVES[:1], FakeGenerator(), SelfSampling(spec="mock/sft", k=3), out)


def test_a_short_reply_from_the_generator_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="returned 1 completions, expected k=2"):
        _run(
            NEGATIVES[:1],
            FakeGenerator(wrong_n=True),
            SelfSampling(spec="mock/sft", k=2),
            tmp_path / "r.jsonl",
        )


def test_self_samples_through_the_real_model_pool(tiny_lm_dir, tmp_path):
    from valuegraph.tools.pool import ModelPool

    pool = ModelPool(cache_dir=tmp_path / "cache")
    sampling = SelfSampling(spec=f"hf/{tiny_lm_dir}", k=2, max_tokens=4, seed=0)
    try:
        records = _run(NEGATIVES[:2], pool, sampling, tmp_path / "r.jsonl")
        assert [len(r["self_samples"]) for r in records] == [2, 2]
        assert pool.usage.role("target").samples == 4
        again = _run(NEGATIVES[:2], pool, sampling, tmp_path / "other.jsonl")
    finally:
        pool.close()
    assert again == records  # answered by the completion cache
    assert pool.usage.role("target").cache_hits == 4


def test_self_samples_from_an_openai_compatible_server_through_litellm(server, tmp_path):
    from valuegraph.tools.pool import ModelPool

    pool = ModelPool(cache_dir=tmp_path / "cache", server_client="litellm")
    sampling = SelfSampling(spec="hosted_vllm/sft", k=3, extra={"api_base": server.api_base})
    try:
        records = _run(NEGATIVES, pool, sampling, tmp_path / "r.jsonl")
    finally:
        pool.close()
    texts = [[s[0]["content"] for s in r["self_samples"]] for r in records]
    assert [[t.split()[-1] for t in sample] for sample in texts] == [["0)", "1)", "2)"]] * 3
    assert texts[0] == texts[2]  # both negatives of p1 share its self-samples
    assert texts[0] != texts[1]
    assert server.admin()["requests"] == 2  # one request (n=3) per distinct prompt
