"""Two runs side by side: their items paired by key (the same principle, the same prompt), the
paired difference of their headline scores (B − A) with
:func:`valuegraph.values.paired.compare_paired` (paired bootstrap interval, sign test,
Wilcoxon), and both results next to each other.

A side is a run id (its per-item records) or ``<bench path>::<model>`` (one model's prompts in a
``bench moral`` output).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from valuegraph.values.paired import PairedComparison, compare_paired
from valuegraph.view.items import ItemView, item_sections
from valuegraph.view.sources import NotFound, Sources

SEPARATOR = "::"


@dataclass(frozen=True)
class Side:
    ref: str
    label: str
    score_label: str
    items: dict[str, ItemView]


@dataclass(frozen=True)
class Pair:
    key: str
    a: ItemView
    b: ItemView

    @property
    def diff(self) -> float | None:
        if self.a.score is None or self.b.score is None:
            return None
        return self.b.score - self.a.score


@dataclass
class Comparison:
    a: Side
    b: Side
    pairs: list[Pair] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    stats: PairedComparison | None = None


def side_choices(sources: Sources) -> list[tuple[str, str]]:
    """(ref, label) of everything that can be compared: runs with per-item records and each
    model of each moral benchmark."""
    choices = [(run.run_id, f"run {run.run_id} ({run.graph})") for run in sources.runs()
               if run.graph != "adaem"]
    for bench in sources.benches():
        if bench.kind == "moral":
            for model in sources.moral(bench).models:
                choices.append((f"{bench.path}{SEPARATOR}{model}",
                                f"bench {bench.path}: {model}"))
    return choices


def load_side(sources: Sources, ref: str) -> Side:
    """The items of one side.

    Raises:
        NotFound: no such run or benchmark model, or a run without per-item records.
    """
    if SEPARATOR in ref:
        path, _, model = ref.partition(SEPARATOR)
        bench = sources.bench(path)
        moral = sources.moral(bench)
        if model not in moral.models:
            raise NotFound(f"no model {model!r} in {path}; it has: {', '.join(moral.models)}")
        return Side(ref, f"{model} on {path}", "mean p(violation)",
                    {i.key: i for i in moral.items(model)})
    run = sources.run_dir(ref)
    sections = [s for s in item_sections(sources.records(run).rows) if s.kind.kind != "failure"]
    if not sections:
        raise NotFound(f"run {ref!r} has no per-item records to compare")
    section = sections[0]
    return Side(ref, f"run {ref}", section.kind.score_label,
                {i.key: i for i in section.items})


def compare(a: Side, b: Side, *, n_resamples: int = 1000, seed: int = 0) -> Comparison:
    """Pair the two sides' items by key (in A's order) and compare their scores (B − A)."""
    result = Comparison(a, b)
    result.pairs = [Pair(key, item, b.items[key]) for key, item in a.items.items()
                    if key in b.items]
    result.only_a = [k for k in a.items if k not in b.items]
    result.only_b = [k for k in b.items if k not in a.items]
    if result.pairs:
        result.stats = compare_paired([p.a.score for p in result.pairs],
                                      [p.b.score for p in result.pairs],
                                      n_resamples=n_resamples, seed=seed)
    return result
