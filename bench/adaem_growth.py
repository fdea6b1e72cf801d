"""AdAEM growth against a local OpenAI-compatible server that answers instantly.

1. B bandit steps (default 200) in-process: questions kept per 1,000 model calls (requests
   actually sent), and framework milliseconds per bandit step = this process's CPU time per
   step (graph, checkpoints, JSONL fsyncs, MiniLM embeddings, item bank, litellm parsing; the
   server runs in another process). Wall time per step is printed too.
2. A run whose item bank holds 20,000 questions (built synthetically in a subprocess: records
   in results.jsonl and MiniLM embeddings in the bank), continued for a few real steps in a
   fresh subprocess: its peak RSS, and the time of one dedup lookup (embed one candidate and
   query its 3 nearest neighbours) at that size.

    python bench/adaem_growth.py [--steps 200] [--bank-size 20000] [--judge-mode joint] \
        [--param tau_mode=absolute ...]

The defaults follow the paper (N2 = 3, depth 3, ε = 0.85, τ = 0.5) except the judge, which
labels all ten values in one call (``--judge-mode per_value`` is the paper's, ten times the
judge calls). The server's scripted replies come from valuegraph/testing/adaem_fakes.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import peak_rss_mb, result_line, timed  # noqa: E402

MODELS = ("p1a", "p1b", "p2", "judge", "opt", "safe")


def config(runs: Path, run_id: str, api_base: str, steps: int, args: argparse.Namespace):
    from valuegraph.config import resolve_config

    return resolve_config({
        "graph": "adaem", "runs_dir": runs, "run_id": run_id,
        "api_bases": {f"openai/{m}": api_base for m in MODELS},
        "models": {"attacker": "openai/p1a", "target": "openai/p2", "judge": "openai/judge",
                   "optimizer": "openai/opt"},
        "params": {"explorers": ["openai/p1a", "openai/p1b"], "respondents": ["openai/p2"],
                   "safety_judge": "openai/safe", "steps": steps, "judge_mode": args.judge_mode,
                   "questions_per_step": args.n2, "retry_wait": 0.01, **extra_params(args)}},
        None, {})


def extra_params(args: argparse.Namespace) -> dict:
    """``--param name=value`` settings of the graph (values read as YAML)."""
    import yaml

    out = {}
    for item in getattr(args, "param", None) or []:
        name, _, value = item.partition("=")
        out[name] = yaml.safe_load(value)
    return out


def refinements(root: Path) -> tuple[int, int]:
    """(accepted, tried) refinements of a run."""
    decisions = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    decisions = [r for r in decisions if r.get("kind") == "refine"]
    return sum(r["accepted"] for r in decisions), len(decisions)


async def grow(cfg) -> tuple[dict, object]:
    from valuegraph.graphs._shared.runner import RunEnv
    from valuegraph.graphs.adaem.runner import RUNNER as runner
    from valuegraph.tools.pool import ModelPool
    from valuegraph.tools.rundir import RunDir

    runner.validate(cfg)
    run_dir = RunDir.create(cfg) if not (Path(cfg.runs_dir) / cfg.run_id).exists() \
        else RunDir.open(cfg.runs_dir, cfg.run_id)
    pool = ModelPool(run_dir.cache_dir, api_bases=cfg.api_bases)
    try:
        summary = await runner.run(RunEnv(cfg, run_dir, pool))
    finally:
        pool.close()
    return summary, pool


def build_bank(runs: Path, api_base: str, size: int, args: argparse.Namespace) -> None:
    """Subprocess: a run directory whose results and item bank hold ``size`` questions."""
    from valuegraph.graphs.adaem.store import GrowthStore
    from valuegraph.testing.adaem_fakes import POLICIES, SUBJECTS
    from valuegraph.tools.rundir import RunDir

    cfg = config(runs, "big", api_base, args.big_steps, args)
    run_dir = RunDir.create(cfg)
    store = GrowthStore(run_dir.root)
    topics = store.topic_ids
    texts = [f"Should {SUBJECTS[i % 40]} in district {i // 40} {POLICIES[(i * 7) % 20]}?"
             for i in range(size)]
    records = [{"kind": "question", "key": f"question:synth-{i:06d}", "qid": f"synth-{i:06d}",
                "topic_id": topics[i % len(topics)], "question": text, "S": 5.0,
                "status": "kept", "round_b": -1} for i, text in enumerate(texts)]
    with open(run_dir.root / "results.jsonl", "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    store = GrowthStore(run_dir.root)
    started = time.perf_counter()
    store.ensure_bank()  # embeds seeds and the 20k questions with MiniLM
    print(json.dumps({"bank": store.bank.count(), "build_s": time.perf_counter() - started}))


def run_big(runs: Path) -> None:
    """Subprocess: continue the 20k-question run for a few steps; time dedup lookups."""
    from valuegraph.graphs.adaem.store import GrowthStore
    from valuegraph.tools.rundir import RunDir

    run_dir = RunDir.open(runs, "big")
    cfg = run_dir.config()
    with timed() as wall:
        summary, pool = asyncio.run(grow(cfg))
    store = GrowthStore(run_dir.root)
    count = store.bank.count()
    probes = [f"Should {w} in a new town be required to pay for public housing?" for w in
              ("nurses", "bakers", "pilots", "miners", "judges", "farmers", "coders", "monks")]
    store.bank.neighbours(probes[:1], k=3)  # warm up
    times = []
    for probe in probes * 5:
        started = time.perf_counter()
        store.bank.neighbours([probe], k=3)
        times.append(time.perf_counter() - started)
    print(json.dumps({"bank": count, "steps": summary["steps_done"], "wall_s": wall.wall,
                      "peak_mb": peak_rss_mb(), "dedup_ms": 1000 * sorted(times)[len(times) // 2],
                      "dedup_ms_mean": 1000 * sum(times) / len(times)}))


def time_embeddings(embedding_class: type) -> dict[str, float]:
    """Accumulate the wall time spent inside MiniLM (dedup, R_OD, the item bank)."""
    import threading

    totals = {"s": 0.0, "calls": 0}
    lock = threading.Lock()
    original = embedding_class.__call__

    def timed_call(self, input):  # noqa: A002 - Chroma's signature
        started = time.perf_counter()
        try:
            return original(self, input)
        finally:
            with lock:
                totals["s"] += time.perf_counter() - started
                totals["calls"] += 1

    embedding_class.__call__ = timed_call
    return totals


def subprocess_json(*argv: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--bank-size", type=int, default=20000)
    parser.add_argument("--big-steps", type=int, default=5)
    parser.add_argument("--n2", type=int, default=3)
    parser.add_argument("--judge-mode", default="joint", choices=("joint", "per_value"))
    parser.add_argument("--param", action="append", metavar="NAME=VALUE",
                        help="a graph setting for the growth run (repeat), e.g. tau_mode=absolute")
    parser.add_argument("--phase", choices=("build", "run-big"), help=argparse.SUPPRESS)
    parser.add_argument("--runs", help=argparse.SUPPRESS)
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "build":
        build_bank(Path(args.runs), args.api_base, args.bank_size, args)
        return
    if args.phase == "run-big":
        run_big(Path(args.runs))
        return

    from valuegraph.testing.adaem_fakes import server_rules
    from valuegraph.testing.process import start_server

    # every opinion point new text, as with real models (so MiniLM embeds as much as it would)
    server = start_server(rules=server_rules(questions=16000, opinions=20000))
    common = ["--n2", str(args.n2), "--judge-mode", args.judge_mode,
              "--bank-size", str(args.bank_size), "--big-steps", str(args.big_steps)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = Path(tmp)
            cfg = config(runs, "growth", server.api_base, args.steps, args)
            # load MiniLM and litellm outside the timed region
            from valuegraph.tools.embeddings import MiniLMEmbedding

            MiniLMEmbedding()(["warm up"])
            import litellm  # noqa: F401
            embedding = time_embeddings(MiniLMEmbedding)
            with timed() as run_time:
                summary, pool = asyncio.run(grow(cfg))
            calls = pool.usage.total_calls
            steps = summary["steps_done"]
            accepted, tried = refinements(runs / "growth")
            requests = server.admin()["requests"]
            built = subprocess_json("--phase", "build", "--runs", tmp, "--api-base",
                                    server.api_base, *common)
            big = subprocess_json("--phase", "run-big", "--runs", tmp)
    finally:
        server.stop()
    kept = summary["kept"]
    print(f"growth: B={steps} steps, N2={args.n2}, P1=2 models, P2=3, judge {args.judge_mode}")
    print(f"  kept {kept} questions ({summary['flagged']} more flagged), mean S "
          f"{summary['mean_S']:.2f}; {calls} model calls ({requests} server requests), "
          f"{calls / steps:.0f} per step; refinements accepted {accepted} of {tried}")
    print(f"  wall {run_time.wall:.1f} s ({1000 * run_time.wall / steps:.0f} ms/step); "
          f"client CPU {run_time.cpu:.1f} s ({1000 * run_time.cpu / steps:.0f} ms/step, "
          f"{1000 * run_time.cpu / calls:.2f} ms/call)")
    print(f"  of which MiniLM embedding (wall, in worker threads): {embedding['s']:.1f} s in "
          f"{embedding['calls']} calls ({1000 * embedding['s'] / steps:.0f} ms/step)")
    print(f"bank of {built['bank']} items built in {built['build_s']:.0f} s; a run on it: "
          f"{big['steps']} steps in {big['wall_s']:.1f} s, peak RSS {big['peak_mb']:.0f} MB, "
          f"dedup lookup median {big['dedup_ms']:.1f} ms (mean {big['dedup_ms_mean']:.1f} ms)")
    print(result_line(kept_per_1k_calls=1000 * kept / calls,
                      ms_per_step=1000 * run_time.cpu / steps, peak_mb_20k=big["peak_mb"],
                      dedup_ms_20k=big["dedup_ms"]))


if __name__ == "__main__":
    main()
