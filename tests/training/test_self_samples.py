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
        prompt = messages if isinstance(messages, str) else messages[-1]["content"]
        count = n - 1 if self.wrong_n else n
        return [Completion(text=f"{prompt} / sample {i}", index=i,
                           finish_reason=self.finish(prompt, seed, i)) for i in range(count)]

    def finish(self, prompt, seed, index):
        return "stop"


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
    # every sampling setting is sent explicitly (top_k 0: off), with the prompt's own seed
    assert params == {
        "n": 3,
        "temperature": 1.0,
        "top_p": 0.9,
        "top_k": 0,
        "min_p": 0.0,
        "repetition_penalty": 1.0,
        "max_tokens": 16,
        "seed": sampling.prompt_seed(messages[-1]["content"]),
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
    # litellm forwards the settings it does not know (extra_body) to the server
    assert all((b["top_k"], b["min_p"], b["repetition_penalty"]) == (0, 0.0, 1.0)
               for b in server.admin()["sampling"])


# -- sampling fidelity: seeds per prompt, truncated samples, raw prompts -----------------------

def test_each_prompt_draws_from_its_own_seed(tmp_path):
    generator = FakeGenerator()
    sampling = SelfSampling(spec="mock/sft", k=2, seed=7)
    _run(NEGATIVES, generator, sampling, tmp_path / "r.jsonl")
    seeds = {call[1][-1]["content"]: call[2]["seed"] for call in generator.calls}
    assert seeds["p1"] != seeds["p2"]
    assert seeds == {p: sampling.prompt_seed(p) for p in ("p1", "p2")}
    assert sampling.prompt_seed("p1") == SelfSampling(spec="x", seed=7).prompt_seed("p1")
    assert SelfSampling(spec="x", seed=None).prompt_seed("p1") is None


class CuttingGenerator(FakeGenerator):
    """Sample 1 of the first draw of p1 is cut at max_tokens; replacement draws are whole."""

    def finish(self, prompt, seed, index):
        return "length" if prompt == "p1" and seed == SelfSampling(
            spec="x", seed=0).prompt_seed("p1") and index == 1 else "stop"


def test_samples_cut_at_max_tokens_are_flagged(tmp_path):
    from valuegraph.training.data.self_samples import sampling_stats

    out = tmp_path / "r.jsonl"
    records = _run(NEGATIVES, CuttingGenerator(), SelfSampling(spec="mock/sft", k=3), out)
    assert records[0]["self_samples_truncated"] == [False, True, False]
    assert records[1]["self_samples_truncated"] == [False, False, False]
    assert sampling_stats(records, NEGATIVES) == {"samples_cut_at_max_tokens": 1,
                                                 "prompts_left_out": 0}
    # the flags survive a resumed run and the loader
    again = _run(NEGATIVES, FakeGenerator(), SelfSampling(spec="mock/sft", k=3), out)
    assert again == records
    from valuegraph.training.data.d2o_records import load_d2o_records

    assert load_d2o_records(out, 3)[0]["self_samples_truncated"] == [False, True, False]


def test_samples_cut_at_max_tokens_are_replaced_when_dropping(tmp_path):
    generator = CuttingGenerator()
    sampling = SelfSampling(spec="mock/sft", k=3, truncated="drop")
    records = _run(NEGATIVES, generator, sampling, tmp_path / "r.jsonl")
    p1 = [s[0]["content"] for s in records[0]["self_samples"]]
    # samples 0 and 2 of the first draw, then the first of a replacement draw (its own seed)
    assert p1 == ["p1 / sample 0", "p1 / sample 2", "p1 / sample 0"]
    assert records[0]["self_samples_truncated"] == [False] * 3
    p1_calls = [c[2] for c in generator.calls if c[1][-1]["content"] == "p1"]
    assert [c["n"] for c in p1_calls] == [3, 2]
    assert p1_calls[1]["seed"] == sampling.prompt_seed("p1", 1) != p1_calls[0]["seed"]


def test_a_prompt_without_k_whole_samples_is_left_out(tmp_path):
    from valuegraph.training.data.self_samples import sampling_stats

    class AlwaysCut(FakeGenerator):
        def finish(self, prompt, seed, index):
            return "length" if prompt == "p2" else "stop"

    out = tmp_path / "r.jsonl"
    generator = AlwaysCut()
    sampling = SelfSampling(spec="mock/sft", k=2, truncated="drop")
    records = _run(NEGATIVES, generator, sampling, out)
    assert [r["rejected"][0]["content"] for r in records] == ["bad 1", "bad 3"]
    assert sampling_stats(records, NEGATIVES)["prompts_left_out"] == 1
    assert {"dropped_prompt": "p2"} in [json.loads(x) for x in out.read_text().splitlines()]
    rerun = AlwaysCut()
    assert _run(NEGATIVES, rerun, sampling, out) == records and rerun.calls == []


def test_a_prompt_template_gives_raw_prompts_and_text_records(tmp_path):
    generator = FakeGenerator()
    sampling = SelfSampling(spec="mock/sft", k=2, prompt_template="Q: {prompt}\nA:")
    records = _run(NEGATIVES, generator, sampling, tmp_path / "r.jsonl")
    assert sorted(c[1] for c in generator.calls) == ["Q: p1\nA:", "Q: p2\nA:"]
    assert records[0] == {"prompt": "Q: p1\nA:", "rejected": "bad 1",
                          "self_samples": ["Q: p1\nA: / sample 0", "Q: p1\nA: / sample 1"],
                          "source_prompt": "p1", "self_samples_truncated": [False, False]}
    again = FakeGenerator()
    assert _run(NEGATIVES, again, sampling, tmp_path / "r.jsonl") == records and not again.calls
    with pytest.raises(ValueError, match="{prompt}"):
        SelfSampling(spec="x", prompt_template="no placeholder")
    with pytest.raises(ValueError, match="truncated"):
        SelfSampling(spec="x", truncated="keep")


def test_sampling_settings_reach_an_openai_compatible_server(server, tmp_path):
    from valuegraph.tools.pool import ModelPool

    pool = ModelPool(cache_dir=tmp_path / "cache")
    sampling = SelfSampling(spec="hosted_vllm/sft", k=2, extra={"api_base": server.api_base})
    try:
        _run(NEGATIVES[:1], pool, sampling, tmp_path / "r.jsonl")
    finally:
        pool.close()
    (sent,) = server.admin()["sampling"]
    assert {k: sent[k] for k in ("n", "temperature", "top_p", "top_k", "min_p",
                                 "repetition_penalty", "max_tokens", "seed")} == {
        "n": 2, "temperature": 1.0, "top_p": 0.95, "top_k": 0, "min_p": 0.0,
        "repetition_penalty": 1.0, "max_tokens": 256, "seed": sampling.prompt_seed("p1")}
