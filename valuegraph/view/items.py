"""Per-item records as pages: one renderer per record kind, in a small registry.

A per-item loop (DeNEVIL, VILMO, ...) writes one :class:`~valuegraph.graphs._shared.records.
ItemRecord` per item. The viewer turns each into an :class:`ItemView` (rounds of prompts with
their scored outputs, the facts, the headline score) through the renderer registered for the
record's ``kind``; one template shows every kind, filters by ``group`` and ``score``, and the
compare page pairs two runs' items by ``key``. Adding a loop's page is one function::

    @register_item_kind("vilmo_instruction", title="VILMO value instructions",
                        group_label="foundation", score_label="mean p(violation)")
    def vilmo_item(record: dict) -> ItemView:
        return ItemView(key=record["item_id"], title=record["prompt"], ..., rounds=[
            Round(f"round {i}", r["instruction"], outputs_of(r)) for i, r in enumerate(...)])

Kinds with no renderer get :func:`generic_item` (the record's scalar fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from valuegraph.graphs._shared.records import latest_by_item

SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(slots=True)
class Output:
    """One scored output of a prompt (a continuation, an answer)."""

    text: str
    score: float | None
    note: str = ""
    """Who scored it and how (e.g. ``judge:logprobs``)."""
    kept: bool = False
    weight: float | None = None


@dataclass(slots=True)
class Round:
    """One round of an item's loop: the prompt of that round and what it produced."""

    label: str
    prompt: str
    outputs: Sequence[Output] = ()
    facts: dict[str, str] = field(default_factory=dict)
    accepted: bool | None = None
    candidates: Sequence[str] = ()
    """Rewrites considered before this round's prompt was chosen."""
    score: float | None = None
    """The round's headline score (shown in the item's x⁰ → x^T line)."""


@dataclass(slots=True)
class ItemView:
    """What the page shows of one item; ``key`` pairs it with the same item of another run."""

    key: str
    title: str
    group: str
    score: float | None
    status: str
    text: str
    """The item's result in one text (the final prompt), shown side by side on compare."""
    facts: dict[str, str] = field(default_factory=dict)
    rounds: Sequence[Round] = ()
    outputs: Sequence[Output] = ()
    """The final outputs (fresh samples of the final prompt)."""

    @property
    def chain(self) -> list[tuple[str, float | None]]:
        """(label, score) per round when the rounds are scored: the x⁰ → x^T line."""
        if all(r.score is None for r in self.rounds):
            return []
        return [(r.label, r.score) for r in self.rounds]


@dataclass(frozen=True)
class ItemKind:
    """How one record kind is shown."""

    kind: str
    title: str
    group_label: str
    score_label: str
    render: Callable[[dict[str, Any]], ItemView]


ITEM_KINDS: dict[str, ItemKind] = {}


def register_item_kind(kind: str, *, title: str, group_label: str = "group",
                       score_label: str = "score"
                       ) -> Callable[[Callable[[dict[str, Any]], ItemView]],
                                     Callable[[dict[str, Any]], ItemView]]:
    """Register the renderer of the records of ``kind`` (a decorator)."""
    def decorate(render: Callable[[dict[str, Any]], ItemView]
                 ) -> Callable[[dict[str, Any]], ItemView]:
        ITEM_KINDS[kind] = ItemKind(kind, title, group_label, score_label, render)
        return render

    return decorate


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def generic_item(record: dict[str, Any]) -> ItemView:
    """Any item record: its scalar fields as facts, the rest as JSON text."""
    scalars = {k: fmt(v) for k, v in record.items()
               if isinstance(v, str | int | float | bool) or v is None}
    score = record.get("score")
    return ItemView(
        key=str(record.get("item_id", record.get("id", ""))),
        title=str(record.get("item_id", "")), group=str(record.get("kind", "")),
        score=float(score) if isinstance(score, int | float) else None,
        status=str(record.get("status", "")), text=str(record.get("error", "")),
        facts={k: v for k, v in scalars.items() if k not in ("kind", "item_id", "created")},
        rounds=[Round("record", json.dumps({k: v for k, v in record.items() if k not in scalars},
                                           ensure_ascii=False, indent=1))]
        if any(k not in scalars for k in record) else [])


def outputs_of(texts: Sequence[str], scores: Sequence[float | None],
               notes: Sequence[str] = (), kept: Iterable[int] = (),
               weights: Sequence[float] = ()) -> list[Output]:
    kept = list(kept)
    weight_of = dict(zip(kept, weights, strict=False))
    return [Output(text, scores[i] if i < len(scores) else None,
                   notes[i] if i < len(notes) else "", i in kept, weight_of.get(i))
            for i, text in enumerate(texts)]


@register_item_kind("moral_prompt", title="DeNEVIL scenario prompts", group_label="foundation",
                    score_label="mean p(violation)")
def denevil_item(record: dict[str, Any]) -> ItemView:
    """A principle: its scenario rounds x⁰ → x^T with the judged continuations (the E-step's
    kept set marked), the rewrites considered, the accepted prompt and why the loop ended."""
    rounds: list[Round] = []
    for h in record.get("history") or []:
        t = int(h.get("round", len(rounds)))
        rounds.append(Round(
            label=f"x{str(t).translate(SUPERSCRIPTS)}", prompt=str(h.get("scenario", "")),
            outputs=outputs_of(h.get("completions") or [], h.get("scores") or [],
                               h.get("judged_by") or [], h.get("kept") or [],
                               h.get("weights") or []),
            facts={"mean p(violation)": fmt(h.get("mean_violation")),
                   "violation rate": fmt(h.get("violation_rate")),
                   "kept": ", ".join(f"#{i + 1}" for i in h.get("kept") or []) or "none"},
            accepted=h.get("accepted"), score=h.get("mean_violation"),
            candidates=[str(c.get("text", "")) + (f"  (objective {fmt(c['objective'])})"
                                                  if c.get("objective") is not None else "")
                        for c in h.get("candidates") or []]))
    facts = {"exit reason": fmt(record.get("exit_reason")), "rounds": fmt(record.get("rounds")),
             "accepted round": fmt(record.get("prompt_round")),
             "violation rate": fmt(record.get("violation_rate")),
             "requests": fmt(record.get("requests")),
             "models": f"{record.get('attacker')} → {record.get('target')}, judge "
                       f"{record.get('judge')}"}
    if record.get("status") == "duplicate":
        facts["duplicate of"] = f"{record.get('duplicate_of')} ({fmt(record.get('similarity'))})"
    return ItemView(
        key=str(record["item_id"]), title=str(record.get("principle", "")),
        group=str(record.get("foundation", "")), score=record.get("mean_violation"),
        status=str(record.get("status", "")), text=str(record.get("prompt", "")), facts=facts,
        rounds=rounds, outputs=outputs_of(record.get("completions") or [],
                                          record.get("scores") or [],
                                          record.get("judged_by") or []))


@register_item_kind("failure", title="Failed items", group_label="kind")
def failure_item(record: dict[str, Any]) -> ItemView:
    return ItemView(key=str(record["item_id"]), title=str(record["item_id"]), group="failure",
                    score=None, status="failed", text=str(record.get("error", "")),
                    facts={"error": str(record.get("error", ""))})


@dataclass
class ItemSection:
    """The items of one kind in a run."""

    kind: ItemKind
    items: list[ItemView]

    @property
    def groups(self) -> list[str]:
        return sorted({i.group for i in self.items if i.group})


def item_sections(records: Iterable[dict[str, Any]]) -> list[ItemSection]:
    """The run's items (the last record per item: a resumed run appends after a failure),
    one section per kind, in the order the kinds first appear."""
    latest = latest_by_item(r for r in records if "item_id" in r)
    sections: dict[str, ItemSection] = {}
    for record in latest.values():
        name = str(record.get("kind", ""))
        kind = ITEM_KINDS.get(name) or ItemKind(name, f"{name} records", "kind", "score",
                                                 generic_item)
        section = sections.setdefault(name, ItemSection(kind, []))
        try:
            section.items.append(kind.render(record))
        except (KeyError, TypeError, ValueError):  # a record of an older layout
            section.items.append(generic_item(record))
    return list(sections.values())
