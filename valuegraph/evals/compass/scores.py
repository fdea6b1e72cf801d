"""From stored answers to the leaderboard: scores per model x system x dimension (and per
release), 95% bootstrap intervals, ranks, and pluralistic alignment with intervals.

A dimension's score is the mean of its items' values weighted by their scored judgements (so a
Schwartz score is the share of answered questions expressing the value, an MFT score 100 - APV).
A system's score is the mean of its dimension scores. Intervals: percentile bootstrap over items,
resampled within each dimension's own items (Schwartz questions are one stratum, as each probes
every value); the same resamples serve every model (paired comparisons) and the alignment
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from valuegraph.evals.compass.items import SYSTEMS, CompassItem
from valuegraph.evals.compass.measure import CompassAnswer
from valuegraph.values.pluralistic import (
    TargetProfile,
    spearman_match,
    spearman_rows,
    weighted_alignment,
)
from valuegraph.values.theories import THEORIES

ALL = "all"
MEAN = "mean"


@dataclass(frozen=True)
class BoardRow:
    """One cell of the leaderboard: a model's score on a dimension (or a system's mean)."""

    model: str
    system: str
    release: str
    dimension: str
    name: str
    score: float
    low: float
    high: float
    n_items: int
    """Items behind the score (answered and scored)."""
    n_unscored: int
    """Items answered whose judgement could not be scored."""
    rank: int | None = None
    """1 = highest score among the models on this cell (None: no score)."""

    def to_json(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and math.isnan(v) else
                    round(v, 4) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


@dataclass
class SystemScores:
    """One model on one system and release: point scores and their bootstrap resamples."""

    codes: tuple[str, ...]
    point: np.ndarray
    resamples: np.ndarray
    n_items: np.ndarray
    n_unscored: np.ndarray
    items_scored: int = 0
    """Items with at least one scored dimension."""
    items_unscored: int = 0
    """Items answered without any scored dimension."""

    def interval(self, column: np.ndarray, point: float) -> tuple[float, float]:
        kept = column[~np.isnan(column)]
        if math.isnan(point) or len(kept) == 0:
            return point, point
        low, high = np.percentile(kept, [2.5, 97.5])
        return float(low), float(high)

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.point)) if np.isfinite(self.point).any() else math.nan

    @property
    def resampled_mean(self) -> np.ndarray:
        ok = np.isfinite(self.resamples).any(axis=1)
        out = np.full(len(self.resamples), np.nan)
        if ok.any():
            out[ok] = np.nanmean(self.resamples[ok], axis=1)
        return out


def resample_counts(strata: Sequence[Any], n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples x n) multiplicities of a bootstrap over items, within each stratum."""
    n = len(strata)
    counts = np.zeros((n_resamples, n), dtype=np.float32)
    if n == 0 or n_resamples == 0:
        return counts
    rng = np.random.default_rng(seed)
    groups: dict[Any, list[int]] = {}
    for index, stratum in enumerate(strata):
        groups.setdefault(stratum, []).append(index)
    offsets = (np.arange(n_resamples, dtype=np.int64) * n)[:, None]
    for members in groups.values():
        idx = np.asarray(members)
        picks = idx[rng.integers(0, len(idx), size=(n_resamples, len(idx)))]
        counts += np.bincount((picks + offsets).ravel(), minlength=n_resamples * n
                              ).reshape(n_resamples, n).astype(np.float32)
    return counts


def score_items(items: Sequence[CompassItem], answers: Sequence[CompassAnswer | None],
                codes: Sequence[str], counts: np.ndarray) -> SystemScores:
    """Scores of one model on ``items`` (its answers aligned with them; None: not answered)."""
    n, d = len(items), len(codes)
    values, weights = np.zeros((n, d)), np.zeros((n, d))
    unscored = np.zeros(d, dtype=int)
    answered = np.zeros(n, dtype=bool)
    column = {c: j for j, c in enumerate(codes)}
    for i, (item, answer) in enumerate(zip(items, answers, strict=True)):
        if answer is None:
            continue
        answered[i] = True
        measured = [item.dimension] if item.dimension else list(codes)
        for code in measured:
            w = answer.weights.get(code, 0)
            if w:
                values[i, column[code]] = answer.values[code]
                weights[i, column[code]] = w
            else:
                unscored[column[code]] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        total = weights.sum(axis=0)
        point = np.where(total > 0, (weights * values).sum(axis=0) / np.where(total, total, 1),
                         np.nan)
        num, den = counts @ (weights * values), counts @ weights
        resamples = np.where(den > 0, num / np.where(den, den, 1), np.nan)
    scored_items = weights.sum(axis=1) > 0
    return SystemScores(tuple(codes), point, resamples, (weights > 0).sum(axis=0), unscored,
                        int(scored_items.sum()), int((answered & ~scored_items).sum()))


@dataclass
class Leaderboard:
    """Everything the outputs are written from."""

    models: list[str]
    systems: list[str]
    releases: dict[str, list[str]]
    rows: list[BoardRow] = field(default_factory=list)
    scores: dict[tuple[str, str, str], SystemScores] = field(default_factory=dict)
    """(model, system, release) -> scores."""
    alignment: list[dict[str, Any]] = field(default_factory=list)

    def score(self, model: str, system: str, release: str = ALL) -> SystemScores | None:
        return self.scores.get((model, system, release))


def _rank(rows: list[BoardRow]) -> list[BoardRow]:
    """Ranks within each (system, release, dimension) cell, highest score first; ties share."""
    cells: dict[tuple[str, str, str], list[BoardRow]] = {}
    for row in rows:
        cells.setdefault((row.system, row.release, row.dimension), []).append(row)
    ranked: dict[int, int | None] = {}
    for members in cells.values():
        scored = sorted((r for r in members if not math.isnan(r.score)), key=lambda r: -r.score)
        for row in scored:
            ranked[id(row)] = 1 + sum(other.score > row.score for other in scored)
    return [BoardRow(**{**r.__dict__, "rank": ranked.get(id(r))}) for r in rows]


def build_leaderboard(models: Sequence[str], items: Mapping[str, Sequence[CompassItem]],
                      answers: Mapping[tuple[str, str], CompassAnswer], *,
                      targets: Sequence[TargetProfile] = (), n_resamples: int = 1000,
                      seed: int = 0) -> Leaderboard:
    """The leaderboard of ``models`` on the board's ``items`` (system -> items, releases
    together) from ``answers`` ((model, item digest) -> answer of the current measurement)."""
    systems = [s for s in SYSTEMS if items.get(s)]
    releases = {s: list(dict.fromkeys(i.release for i in items[s])) for s in systems}
    board = Leaderboard(list(models), systems, releases)
    rows: list[BoardRow] = []
    for system in systems:
        theory = THEORIES[system]
        for release in [ALL, *releases[system]]:
            chosen = list(items[system]) if release == ALL else \
                [i for i in items[system] if i.release == release]
            unique = list({i.digest: i for i in chosen}.values())
            codes = [c for c in theory.codes
                     if any(i.dimension in (None, c) for i in unique)]
            counts = resample_counts([i.dimension for i in unique], n_resamples,
                                     seed + SYSTEMS.index(system))
            for model in models:
                scores = score_items(unique, [answers.get((model, i.digest)) for i in unique],
                                     codes, counts)
                board.scores[(model, system, release)] = scores
                mean = scores.mean
                low, high = scores.interval(scores.resampled_mean, mean)
                rows.append(BoardRow(model, system, release, MEAN, f"{theory.name} (mean)",
                                     mean, low, high, scores.items_scored,
                                     scores.items_unscored))
                for j, code in enumerate(codes):
                    value = float(scores.point[j])
                    low, high = scores.interval(scores.resamples[:, j], value)
                    rows.append(BoardRow(model, system, release, code, theory.get(code).name,
                                         value, low, high, int(scores.n_items[j]),
                                         int(scores.n_unscored[j])))
    board.rows = _rank(rows)
    board.alignment = alignment_rows(board, targets)
    return board


def alignment_rows(board: Leaderboard, targets: Sequence[TargetProfile]) -> list[dict[str, Any]]:
    """Each model against each target whose system the board scored: ρ, match and the weighted
    alignment, each with its 95% interval."""
    out = []
    for target in targets:
        codes = THEORIES[target.system].codes
        weights = target.weight_vector(codes)
        ranks = target.rank_vector(codes)
        for model in board.models:
            scores = board.score(model, target.system)
            if scores is None or tuple(scores.codes) != tuple(codes):
                continue  # the board does not score every value of the target's system
            rho = float(spearman_rows(scores.point[None, :], ranks)[0]) if ranks is not None \
                else math.nan
            rho_resampled = spearman_rows(scores.resamples, ranks) if ranks is not None \
                else np.full(len(scores.resamples), np.nan)
            weighted = weighted_alignment(scores.point / 100.0, weights)
            weighted_resampled = (scores.resamples / 100.0) @ weights
            rho_low, rho_high = scores.interval(rho_resampled, rho)
            w_low, w_high = scores.interval(weighted_resampled, weighted)
            out.append({"model": model, "target": target.key, "name": target.name,
                        "kind": target.kind, "system": target.system,
                        "rho": _num(rho), "rho_low": _num(rho_low), "rho_high": _num(rho_high),
                        "match": _num(spearman_match(rho)),
                        "weighted": _num(weighted), "weighted_low": _num(w_low),
                        "weighted_high": _num(w_high)})
    return out


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)
