"""``valuegraph align``: the closed loop, in one run directory, stage by stage, resumable.

    probe      DeNEVIL on the target (hf/<dir>): MoralPrompt-style prompts and, per prompt, K
               scored completions (probe/, a DeNEVIL run directory)
    negatives  the prompts split into training and held-out ones (split.json, heldout.jsonl);
               every completion of a training prompt with p(violation) > tau becomes a negative
               (negatives.jsonl: typed ScoredCompletion rows whose ``prompt`` is the exact
               message the target was given, so D²O trains on the target's own input)
    train      D²O (negatives only, K self-samples of the base model as anchors) on the base
               model: train/ holds the trained model, its card and its D²O records
    reprobe    bench moral on the held-out prompts, base and trained model alike (reprobe/)
    compare    the paired comparison, trained vs base, per foundation: moral_paired.csv; once
               every stage is done, report.html (each stage's counts and the comparison)

Each stage's outputs stay in the run directory, and ``status.json`` records each finished stage;
a resumed run (``valuegraph align --resume RUN``) skips the finished stages and continues the
unfinished one from what it left (DeNEVIL from its checkpoints and cache, D²O from its records
file and checkpoints, the re-probe from its completion cache).
"""

from __future__ import annotations

import gc
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from valuegraph.config import ConfigError, RunConfig
from valuegraph.evals.moral_paired import (
    PAIRED_CSV,
    PairedRow,
    paired_rows,
    scores_by_model,
    write_paired_csv,
)
from valuegraph.graphs._shared.moral_prompts import (
    CONTINUE_PROMPT,
    MoralPrompt,
    load_moral_prompts,
)
from valuegraph.graphs._shared.records import load_scored_completions
from valuegraph.graphs._shared.runner import RunLock
from valuegraph.pipelines.align_config import AlignConfig
from valuegraph.tools.files import FileError, read_text, write_atomic, write_jsonl
from valuegraph.tools.rundir import check_run_id, new_run_id
from valuegraph.tools.secrets import redact
from valuegraph.tools.specs import SpecError, missing_api_keys, parse_spec
from valuegraph.training.run_config import D2ORunConfig, parse_run_config

log = logging.getLogger(__name__)

CONFIG_FILE = "align.yaml"
STATUS_FILE = "status.json"
STAGES = ("probe", "negatives", "train", "reprobe", "compare")
WHAT = {
    "probe": "DeNEVIL probes the target",
    "negatives": "split the prompts; violating completions of the training prompts -> negatives",
    "train": "D²O on the negatives",
    "reprobe": "bench moral on the held-out prompts, base and trained",
    "compare": "paired comparison, trained vs base",
}
EXIT_CODES = {"done": 0, "failed": 1, "incomplete": 3}
BASE_LABEL, TRAINED_LABEL = "base", "D2O-trained"
"""How the paired rows name the two models (the report names their specs: the target and
``hf/<run>/train``)."""


class StageStop(Exception):
    """A stage that cannot finish: ``state`` is failed or incomplete."""

    def __init__(self, state: str, message: str):
        super().__init__(message)
        self.state = state


@dataclass
class AlignPlan:
    """A validated pipeline: its config, where it runs, and each stage's own config."""

    config: AlignConfig
    root: Path
    probe: RunConfig
    train: D2ORunConfig

    @property
    def trained_spec(self) -> str:
        return f"hf/{self.root / 'train'}"


def check_specs(config: AlignConfig) -> None:
    """Every model spec parses and has its API key; the target is a local model directory."""
    for role, spec in config.models.items():
        if spec.startswith("classifier/"):
            if not (Path(spec.removeprefix("classifier/")) / "config.json").is_file():
                raise ConfigError(f"align: models.{role}: classifier directory of {spec!r} "
                                  "holds no model (config.json)")
            continue
        try:
            missing = missing_api_keys(parse_spec(spec, config.api_bases.get(spec)))
        except SpecError as exc:
            raise ConfigError(f"align: models.{role}: {exc}") from None
        if missing:
            raise ConfigError(f"align: model {spec!r} ({role}) needs the environment "
                              f"variable(s) {', '.join(missing)}")
    base = Path(config.base_model)
    if not (base / "config.json").is_file():
        raise ConfigError(f"align: models.target: {base} is not a local model directory (no "
                          "config.json); D²O trains the target, so it must be hf/<dir>")


def plan_align(config: AlignConfig, root: Path | None = None) -> AlignPlan:
    """Validate the whole pipeline (models, DeNEVIL params, D²O settings) before anything is
    written; ``root`` is the run directory (new runs: from ``runs_dir`` and ``run_id``).

    Raises:
        ConfigError: the first problem, in one line.
    """
    from valuegraph.graphs.denevil.runner import RUNNER as DENEVIL

    if root is None:
        root = Path(config.runs_dir) / check_run_id(config.run_id or new_run_id("align"))
    check_specs(config)
    probe = RunConfig(graph="denevil", run_id="probe", runs_dir=root,
                      models={**config.models, "optimizer": config.models["judge"]},
                      api_bases=config.api_bases, seed=config.seed, cache=config.cache,
                      concurrency=config.concurrency, budget=config.budget,
                      params=config.probe)
    try:
        DENEVIL.validate(probe)
    except (ConfigError, FileError) as exc:
        raise ConfigError(f"align: probe: {str(exc).removeprefix('denevil: ')}") from None
    train = dict(config.train)
    sampling = {"spec": config.models["target"], "seed": config.seed,
                **train.pop("self_sampling", {})}
    raw = {"model": config.base_model, "output_dir": root / "train", "resume": True,
           "data": {"negatives": {"source": "denevil", "path": root / "negatives.jsonl",
                                  "threshold": config.threshold},
                    "self_sampling": sampling}, **train}
    d2o = parse_run_config(raw, D2ORunConfig, "align: train")
    try:
        import trl  # noqa: F401  (a one-line message instead of an ImportError mid-run)
    except ImportError as exc:
        raise ConfigError(f"align trains with D²O, which needs the train extra ({exc}); "
                          "pip install 'valuegraph[train]'") from None
    from valuegraph.training.d2o.run import check_chat_template, d2o_args
    from valuegraph.training.data.d2o_records import resolve_template

    try:
        d2o_args(d2o)
        if resolve_template(d2o.prompt_template) is None:  # DeNEVIL negatives are chat records
            check_chat_template(d2o.model)
    except ConfigError as exc:
        raise ConfigError(f"align: train: {exc}") from None
    return AlignPlan(config, Path(root), probe, d2o)


def split_prompts(prompts: list[MoralPrompt], fraction: float,
                  seed: int) -> tuple[list[str], list[str]]:
    """(training ids, held-out ids), both in the prompts' order.

    Each foundation's prompts are shuffled (seeded) and dealt in turn across foundations, and
    the first ``round(n * fraction)`` dealt (at least 1, at most n - 1) are held out, so the
    held-out set spreads over the foundations [R].
    """
    if len(prompts) < 2:
        raise StageStop("failed", f"the probe produced {len(prompts)} prompt(s); holding some "
                                  "out for re-probing needs at least 2")
    rng = random.Random(seed)
    groups = []
    for code in sorted({p.foundation for p in prompts}):
        ids = sorted(p.id for p in prompts if p.foundation == code)
        rng.shuffle(ids)
        groups.append(ids)
    dealt = [ids[i] for i in range(max(map(len, groups))) for ids in groups if i < len(ids)]
    held = set(dealt[: min(max(1, round(len(prompts) * fraction)), len(prompts) - 1)])
    return [p.id for p in prompts if p.id not in held], [p.id for p in prompts if p.id in held]


@dataclass
class AlignRun:
    """One pipeline run in its directory: stage status, the stages, the outcome."""

    plan: AlignPlan
    echo: Callable[[str], None] = log.info
    progress: Any = None
    paired: list[PairedRow] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.plan.root

    @property
    def config(self) -> AlignConfig:
        return self.plan.config

    # -- the run directory -----------------------------------------------------------------

    @classmethod
    def create(cls, plan: AlignPlan, **kwargs: Any) -> AlignRun:
        """Make the run directory and write the resolved config (the only writer of it).

        Raises:
            ConfigError: the directory exists, or cannot be made.
        """
        if plan.root.exists():
            raise ConfigError(f"run directory {plan.root} already exists; continue it with "
                              f"`valuegraph align --resume {plan.root}`")
        try:
            plan.root.mkdir(parents=True)
        except OSError as exc:
            raise ConfigError(f"cannot create run directory {plan.root}: "
                              f"{exc.strerror or exc}") from None
        config = plan.config.model_copy(update={"run_id": plan.root.name})
        write_atomic(plan.root / CONFIG_FILE, yaml.safe_dump(
            redact(config.model_dump(mode="json")), sort_keys=False))
        run = cls(plan, **kwargs)
        run.write_status({"state": "created", "stages": {}})
        return run

    def status(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"stages": {}}
        return data if isinstance(data, dict) else {"stages": {}}

    def write_status(self, data: dict[str, Any]) -> None:
        data = {**data, "updated": time.time()}
        write_atomic(self.root / STATUS_FILE, json.dumps(redact(data), indent=1, default=str))

    def mark(self, stage: str, state: str, **fields: Any) -> None:
        status = self.status()
        status.setdefault("stages", {})[stage] = {"state": state, **fields}
        status["state"] = "running" if state == "done" and stage != STAGES[-1] else state
        self.write_status(status)

    def finished(self, stage: str) -> bool:
        """Done before (recorded) and its main output still there."""
        recorded = self.status().get("stages", {}).get(stage, {}).get("state") == "done"
        return recorded and self.output(stage).exists()

    def output(self, stage: str) -> Path:
        return {"probe": self.root / "probe" / "exports" / "moralprompt.jsonl",
                "negatives": self.root / "negatives.jsonl",
                "train": self.root / "train" / "config.json",
                "reprobe": self.root / "reprobe" / "samples.jsonl",
                "compare": self.root / PAIRED_CSV}[stage]

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> str:
        """Run every unfinished stage in order; returns done, failed or incomplete.

        Raises:
            ConfigError: another process holds the run directory.
        """
        with RunLock(self.root):
            for number, stage in enumerate(STAGES, start=1):
                tag = f"[{number}/{len(STAGES)}] {stage}"
                if self.finished(stage):
                    self.echo(f"{tag}: done before, skipped")
                    continue
                self.echo(f"{tag}: {WHAT[stage]}")
                self.mark(stage, "running")
                started = time.monotonic()
                try:
                    counts = getattr(self, f"stage_{stage}")()
                except StageStop as stop:
                    self.mark(stage, stop.state, error=str(stop))
                    self.echo(f"{tag} {stop.state}: {stop}")
                    return stop.state
                except Exception as exc:  # noqa: BLE001 - recorded; resume retries the stage
                    log.exception("align stage %s failed", stage)
                    error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                    self.mark(stage, "failed", error=error)
                    self.echo(f"{tag} failed: {error}")
                    return "failed"
                seconds = round(time.monotonic() - started, 1)
                self.mark(stage, "done", seconds=seconds, **counts)
                shown = ", ".join(f"{k} {v}" for k, v in counts.items())
                self.echo(f"{tag} done in {seconds:.1f}s: {shown}")
            self.paired = self.paired or self.paired_rows()
            self.write_report()  # every stage done: the report, with each stage's counts
        return "done"

    # -- the stages ------------------------------------------------------------------------

    def stage_probe(self) -> dict[str, Any]:
        from valuegraph.graphs._shared.runner import execute_run
        from valuegraph.graphs.denevil.runner import RUNNER as DENEVIL
        from valuegraph.tools.rundir import RunDir

        probe_dir = self.root / "probe"
        run_dir = RunDir.open(self.root, "probe") if (probe_dir / "config.yaml").is_file() \
            else RunDir.create(self.plan.probe)
        # the plan's probe config, not the one stored at creation: a resumed run may have
        # raised the budget
        outcome = execute_run(DENEVIL, self.plan.probe, run_dir, progress=self.progress)
        if outcome.state == "incomplete":
            raise StageStop("incomplete", "the probe stopped before the end (budget)")
        if outcome.state != "done":
            raise StageStop("failed", f"the probe failed: {outcome.error or 'every principle'}")
        try:
            prompts = load_moral_prompts(probe_dir)
        except ValueError as exc:
            raise StageStop("failed", f"the probe left no dataset: {exc}") from None
        return {"prompts": len(prompts), "failed_principles": outcome.summary.get("failed", 0),
                "requests": run_dir.status().get("requests_total", 0)}

    def stage_negatives(self) -> dict[str, Any]:
        probe_dir = self.root / "probe"
        prompts = load_moral_prompts(probe_dir)
        train_ids, heldout_ids = split_prompts(prompts, self.config.heldout, self.config.seed)
        training = set(train_ids)
        rows = [r for r in load_scored_completions(probe_dir) if r.prompt_id in training]
        tau = self.config.threshold
        negatives = [r.model_copy(update={"prompt": CONTINUE_PROMPT.format(scenario=r.prompt)})
                     for r in rows
                     if r.score is not None and r.score > tau and r.completion.strip()]
        if not negatives:
            raise StageStop("failed", f"no completion of the {len(train_ids)} training "
                                      f"prompt(s) has p(violation) > {tau}: nothing to train on")
        held = [p for p in prompts if p.id in set(heldout_ids)]
        write_jsonl(self.root / "heldout.jsonl", [
            {"id": p.id, "prompt": p.prompt, "principle": p.principle,
             "foundation": p.foundation} for p in held])
        write_atomic(self.root / "split.json", json.dumps(
            {"seed": self.config.seed, "heldout_share": self.config.heldout,
             "train": train_ids, "heldout": heldout_ids}, indent=1))
        write_jsonl(self.output("negatives"), [n.model_dump(mode="json") for n in negatives])
        return {"train_prompts": len(train_ids), "heldout_prompts": len(heldout_ids),
                "train_completions": len(rows), "negatives": len(negatives)}

    def stage_train(self) -> dict[str, Any]:
        from valuegraph.training.d2o.run import execute_d2o, plan_d2o, records_path

        plan = plan_d2o(self.plan.train)
        run = execute_d2o(plan)
        losses = [entry["loss"] for entry in run.log_history if "loss" in entry]
        records = sum(1 for line in read_text(records_path(plan.config)).splitlines()
                      if line.strip())
        _release_memory()
        return {"negatives": len(plan.negatives or []), "d2o_records": records,
                "steps": len(losses), "final_loss": round(losses[-1], 4) if losses else None}

    def stage_reprobe(self) -> dict[str, Any]:
        from valuegraph.evals.moral_bench import BenchSettings, bench_and_report

        held = load_moral_prompts(self.root / "heldout.jsonl")
        rp = self.config.reprobe
        settings = BenchSettings(
            samples=rp.samples, threshold=self.config.threshold, temperature=rp.temperature,
            top_p=rp.top_p, max_tokens=rp.max_tokens, judge_method=rp.judge_method,
            judge_votes=rp.judge_votes, concurrency=rp.concurrency, seed=self.config.seed,
            n_resamples=rp.n_resamples)
        bench_and_report(held, [self.config.models["target"], self.plan.trained_spec],
                         self.config.models["judge"], self.config, self.root / "reprobe",
                         settings, self.progress)
        samples = load_scored_completions(self.root / "reprobe")
        _release_memory()
        return {"prompts": len(held), "models": 2, "completions": len(samples),
                "unscored": sum(s.score is None for s in samples)}

    def stage_compare(self) -> dict[str, Any]:
        self.paired = self.paired_rows()
        write_paired_csv(self.paired, self.output("compare"))
        apv = next(r.comparison for r in self.paired if (r.foundation, r.metric) == ("all",
                                                                                     "apv"))
        return {"rows": len(self.paired), "apv_diff": round(apv.diff, 2),
                "apv_sign_p": round(apv.sign_p, 4)}

    # -- outputs ---------------------------------------------------------------------------

    def paired_rows(self) -> list[PairedRow]:
        """Trained vs base on the held-out prompts, from the re-probe's scored completions."""
        held = load_moral_prompts(self.root / "heldout.jsonl")
        by_model = scores_by_model(load_scored_completions(self.root / "reprobe"))
        base, trained = self.config.models["target"], self.plan.trained_spec
        rp = self.config.reprobe
        return paired_rows(held, by_model.get(base, {}), by_model.get(trained, {}),
                           before_label=BASE_LABEL, after_label=TRAINED_LABEL,
                           threshold=self.config.threshold, n_resamples=rp.n_resamples,
                           seed=self.config.seed)

    def write_report(self) -> Path:
        from valuegraph.evals.moral_paired import add_paired_section
        from valuegraph.evals.report import HtmlReport

        report = HtmlReport("valuegraph align: probe, D²O, re-probe")
        report.paragraph(
            f"Target {self.config.models['target']} probed by DeNEVIL (attacker "
            f"{self.config.models['attacker']}, judge {self.config.models['judge']}); "
            f"completions of the training prompts with p(violation) > {self.config.threshold} "
            f"became D²O negatives; the trained model ({self.plan.trained_spec}) and the base "
            f"model were re-probed on the held-out prompts (bench moral: outputs in reprobe/).")
        stages = self.status().get("stages", {})
        report.table(["stage", "state", "seconds", "counts"], [
            [name, stages.get(name, {}).get("state", "-"), stages.get(name, {}).get(
                "seconds", ""), ", ".join(f"{k} {v}" for k, v in stages.get(name, {}).items()
                                          if k not in ("state", "seconds", "error"))]
            for name in STAGES])
        add_paired_section(report, self.paired)
        return report.write(self.root / "report.html")


def _release_memory() -> None:
    """Free the models a stage loaded before the next one loads its own (GPU runs)."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


RESUME_OVERRIDES = ("budget",)
"""What a resumed run may change (the probe's budget, after it stopped on it)."""


def open_run(run_ref: str | Path, runs_dir: Path,
             overrides: dict[str, Any] | None = None) -> AlignPlan:
    """The plan of an existing pipeline run (by directory or by id under ``runs_dir``), with
    ``overrides`` (only :data:`RESUME_OVERRIDES`) applied to its stored config and saved.

    Raises:
        ConfigError: no pipeline run there, a setting that cannot change, or a stored config
            that no longer validates.
    """
    from valuegraph.pipelines.align_config import resolve_align_config

    overrides = overrides or {}
    fixed = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if fixed:
        raise ConfigError(f"--resume continues a run with its stored config; only --set "
                          f"{', '.join(RESUME_OVERRIDES)}=... may change, not {fixed[0]}")
    given = Path(run_ref)
    root = given if (given / CONFIG_FILE).is_file() else Path(runs_dir) / str(run_ref)
    if not (root / CONFIG_FILE).is_file():
        raise ConfigError(f"no align run {str(run_ref)!r} (expected {root / CONFIG_FILE})")
    plan = plan_align(resolve_align_config(overrides, root / CONFIG_FILE), root)
    if overrides:
        write_atomic(root / CONFIG_FILE, yaml.safe_dump(
            redact(plan.config.model_dump(mode="json")), sort_keys=False))
    return plan
