"""`valuegraph view` on large runs: what a page and a live poll cost the viewer.

Two synthetic runs are written (records in the loops' own format):

- a DeNEVIL run with P principles (default 2,400, the paper's scale), T = 3 rounds of K = 10
  continuations each;
- a growth run with Q questions (default 20,000) over 1,500 bandit steps.

For each, through the app over HTTP (Starlette's test client, no network): the first page
(parses results.jsonl), a page again (parsed records cached), a poll while nothing changed
(the 204 answer: a stat per file), a poll after one record was appended, and for DeNEVIL one
item's rounds (loaded when the reader opens it). The baseline is reading the same
results.jsonl with ResultLog alone, measured in the same run; ratios are page / baseline.

    python bench/view_pages.py [--principles 2400] [--questions 20000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT))
from _common import result_line, timed  # noqa: E402


def write_denevil(root: Path, principles: int, rounds: int = 3, samples: int = 10) -> None:
    from valuegraph.config import resolve_config
    from valuegraph.tools.rundir import RunDir

    run = RunDir.create(resolve_config({"graph": "denevil", "runs_dir": root, "run_id": "den"}))
    with open(run.results_path, "w", encoding="utf-8") as fh:
        for i in range(principles):
            fh.write(json.dumps(moral_record(i, rounds, samples)) + "\n")
    run.set_status("running", requests_total=principles * 40)


def moral_record(i: int, rounds: int, samples: int) -> dict:
    texts = [f"Continuation {k} of principle {i}: the character weighs the choice, then "
             f"acts on it in a way the story makes plausible." for k in range(samples)]
    scores = [round((k * 7 + i) % 10 / 10, 2) for k in range(samples)]
    history = [{"round": t, "scenario": f"Scenario {t} for principle {i}: " + "detail " * 30,
                "completions": texts, "scores": scores, "judged_by": ["judge:logprobs"] * samples,
                "kept": [0, 1, 2], "weights": [0.4, 0.3, 0.3], "mean_violation": sum(scores) /
                samples, "violation_rate": 0.5, "accepted": True,
                "candidates": [{"text": "A rewrite", "objective": -3.2}]}
               for t in range(rounds + 1)]
    return {"kind": "moral_prompt", "created": time.time(), "run_id": "den",
            "id": f"denevil-p{i}", "item_id": f"p{i}", "status": "ok", "principle_id": f"p{i}",
            "principle": f"Principle {i} says something about right and wrong.",
            "foundation": ["care", "fairness", "loyalty", "authority", "sanctity"][i % 5],
            "prompt": history[-1]["scenario"], "prompt_round": rounds, "completions": texts,
            "scores": scores, "judged_by": ["judge:logprobs"] * samples,
            "mean_violation": sum(scores) / samples, "violation_rate": 0.5, "rounds": rounds,
            "exit_reason": "rounds", "requests": 40, "lineage": [h["scenario"] for h in history],
            "round_means": [h["mean_violation"] for h in history], "history": history,
            "attacker": "a", "target": "t", "judge": "j", "seed": 0, "samples": samples,
            "threshold": 0.5, "duplicate_of": None, "similarity": None,
            "principle_metadata": {}}


def write_growth(root: Path, questions: int, steps: int = 1500) -> None:
    from valuegraph.config import resolve_config
    from valuegraph.tools.rundir import RunDir

    run = RunDir.create(resolve_config({"graph": "adaem", "runs_dir": root, "run_id": "grow"}))
    per_step = max(1, questions // steps)
    with open(run.results_path, "w", encoding="utf-8") as fh:
        for step in range(steps):
            qids = []
            for n in range(per_step):
                qid = f"q{step}-{n}"
                qids.append(qid)
                s = (step * 13 + n) % 70 / 10
                fh.write(json.dumps({
                    "kind": "question", "key": f"question:{qid}", "qid": qid,
                    "topic_id": f"t{step % 40:02d}", "question": f"Should policy {qid} apply?",
                    "S": s, "S_parts": {"S": s, "VC": s, "VD": 0.5, "OD": 0.3, "Dis": 2.0},
                    "status": "kept" if n % 4 else "rejected", "round_b": step, "depth": 0,
                    "theory": "schwartz", "created": time.time()}) + "\n")
            fh.write(json.dumps({"kind": "step", "key": f"step:{step}", "step": step,
                                 "arm": f"t{step % 40:02d}", "reward": 3.0, "questions": qids,
                                 "count": step // 40 + 1, "value": 3.0,
                                 "created": time.time()}) + "\n")
    run.set_status("running", graph="adaem", requests_total=questions * 12)


def measure(client, run_id: str, results: Path, append: str, item: str | None) -> dict:
    from valuegraph.tools.results import ResultLog

    with timed() as baseline:
        records = ResultLog(results).read()
    with timed() as cold:
        page = client.get(f"/run/{run_id}")
    with timed() as warm:
        client.get(f"/run/{run_id}")
    version = client.get(f"/part/run/{run_id}").headers["x-version"]
    with timed() as idle:
        polled = client.get(f"/part/run/{run_id}?since={version}")
    with open(results, "a", encoding="utf-8") as fh:
        fh.write(append + "\n")
    with timed() as changed:
        client.get(f"/part/run/{run_id}?since={version}")
    figures = {"records": len(records), "results_mb": results.stat().st_size / 1e6,
               "page_mb": len(page.content) / 1e6, "baseline_s": baseline.wall,
               "cold_s": cold.wall, "warm_s": warm.wall, "idle_poll_ms": idle.wall * 1000,
               "idle_status": polled.status_code, "changed_poll_s": changed.wall}
    if item:
        with timed() as detail:
            client.get(f"/part/item/{run_id}?kind=moral_prompt&key={item}")
        figures["item_ms"] = detail.wall * 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--principles", type=int, default=2400)
    parser.add_argument("--questions", type=int, default=20000)
    args = parser.parse_args()
    from starlette.testclient import TestClient

    from valuegraph.view.app import create_app

    with tempfile.TemporaryDirectory(prefix="view-bench-") as tmp:
        root = Path(tmp) / "runs"
        write_denevil(root, args.principles)
        write_growth(root, args.questions)
        client = TestClient(create_app(root), base_url="http://127.0.0.1")
        den = measure(client, "den", root / "den" / "results.jsonl",
                      json.dumps(moral_record(args.principles, 3, 10)), "p7")
        grow = measure(client, "grow", root / "grow" / "results.jsonl", json.dumps({
            "kind": "step", "key": "step:99999", "step": 99999, "arm": "t00", "reward": 1.0,
            "questions": [], "count": 99, "value": 1.0}), None)
    for name, figures in (("denevil", den), ("growth", grow)):
        print(f"{name}: {figures['records']} records, results.jsonl {figures['results_mb']:.1f} "
              f"MB, page {figures['page_mb']:.2f} MB")
        print(f"  ResultLog read (baseline) {figures['baseline_s']:.3f} s; first page "
              f"{figures['cold_s']:.3f} s ({figures['cold_s'] / figures['baseline_s']:.2f}x); "
              f"page again {figures['warm_s']:.3f} s "
              f"({figures['warm_s'] / figures['baseline_s']:.2f}x)")
        print(f"  poll, nothing changed: {figures['idle_poll_ms']:.1f} ms "
              f"(HTTP {figures['idle_status']}); poll after one appended record "
              f"{figures['changed_poll_s']:.3f} s "
              f"({figures['changed_poll_s'] / figures['baseline_s']:.2f}x)"
              + (f"; one item's rounds {figures['item_ms']:.1f} ms" if "item_ms" in figures
                 else ""))
    print(result_line(
        denevil_records=den["records"], denevil_first_page_s=den["cold_s"],
        denevil_first_page_ratio=den["cold_s"] / den["baseline_s"],
        denevil_changed_poll_s=den["changed_poll_s"],
        denevil_changed_poll_ratio=den["changed_poll_s"] / den["baseline_s"],
        denevil_idle_poll_ms=den["idle_poll_ms"], denevil_item_ms=den["item_ms"],
        denevil_page_mb=den["page_mb"], growth_records=grow["records"],
        growth_first_page_s=grow["cold_s"], growth_first_page_ratio=grow["cold_s"] /
        grow["baseline_s"], growth_changed_poll_s=grow["changed_poll_s"],
        growth_changed_poll_ratio=grow["changed_poll_s"] / grow["baseline_s"],
        growth_idle_poll_ms=grow["idle_poll_ms"]))


if __name__ == "__main__":
    main()
