"""Where a growth run keeps what it paid for: ``results.jsonl``, the item bank, the topics.

Every record carries a ``key`` (``candidate:<id>``, ``score:p1:<id>``, ``question:<id>``, ...)
and is written once: appending a key that is already on disk returns the record on disk. A node
re-run after a crash therefore reuses what it had recorded (no second model call, no duplicate
line), and "first record wins" keeps the log consistent with the checkpoints.

Record kinds: ``candidate`` (a question version, with lineage), ``drop`` (why a candidate left),
``error`` (a backend failure that cost a candidate), ``score`` (S and its parts, per pool),
``refine`` (a refinement's ΔS and whether it was accepted), ``safety``, ``approval``,
``question`` (a finished question: kept, flagged or rejected) and ``step`` (the arm update).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from valuegraph.graphs._shared.records import RecordLog
from valuegraph.graphs.adaem.seeds import Topic, load_seeds
from valuegraph.tools.files import write_atomic

log = logging.getLogger(__name__)

TOPICS_FILE = "topics.jsonl"
RESULTS_FILE = "results.jsonl"
EMBEDDING_CACHE = 20000
"""Texts whose embeddings the store remembers (about 1.5 kB each)."""
BANKED = ("kept", "flagged")
"""Question statuses that enter the item bank (flagged ones too, so they are not re-grown)."""
REWARDED = ("kept", "flagged", "rejected")
"""Question statuses whose final S counts in the arm's reward (not duplicates: their topic
gave nothing new)."""


def seed_question_id(topic_id: str, index: int) -> str:
    return f"seed-{topic_id}-{index}"


class GrowthStore:
    """The records, item bank and topics of one growth run, indexed in memory.

    Args:
        root: The run directory.
        bank_url: A Chroma server for the item bank (None: embedded under ``root/bank``).
        seeds, seed_format: Where the topics come from the first time; afterwards the run's own
            ``topics.jsonl`` is authoritative (a resumed run keeps its arms).
        embedding: Embedding function for the item bank (default: offline MiniLM).
    """

    def __init__(self, root: str | Path, *, bank_url: str | None = None,
                 seeds: str | None = None, seed_format: str = "auto", embedding: Any = None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = RecordLog(self.root / RESULTS_FILE, writer=True)
        self.bank_url = bank_url
        self._embedding = embedding
        self._bank: Any = None
        self._lock = threading.RLock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.records: dict[str, dict[str, Any]] = {}
        self._topic_questions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.status_counts: Counter[str] = Counter()
        """Recorded questions per status (kept, flagged, rejected)."""
        self.topics = self._load_topics(seeds, seed_format)
        self.topic_ids = [t.topic_id for t in self.topics]
        self._by_topic = {t.topic_id: t for t in self.topics}
        for record in self.log:
            self._index(record)

    # -- topics ----------------------------------------------------------------------------

    def _load_topics(self, seeds: str | None, seed_format: str) -> list[Topic]:
        path = self.root / TOPICS_FILE
        if path.is_file():
            return load_seeds(path, "jsonl")
        topics = load_seeds(seeds, seed_format)  # type: ignore[arg-type]
        import json

        write_atomic(path, "".join(json.dumps(t.to_json(), ensure_ascii=False) + "\n"
                                   for t in topics))
        return topics

    def topic(self, topic_id: str) -> Topic:
        return self._by_topic[topic_id]

    def topic_questions(self, topic_id: str) -> list[dict[str, Any]]:
        """X_i: the topic's seed questions, then its kept questions, as ``{id, text, S}``."""
        topic = self._by_topic[topic_id]
        seeds = [{"id": seed_question_id(topic_id, i), "text": q, "S": None}
                 for i, q in enumerate(topic.questions)]
        return seeds + list(self._topic_questions[topic_id])

    def exemplars(self, topic_id: str, n_shot: int) -> list[dict[str, Any]]:
        """The top-``n_shot`` questions of the topic by S (unscored seeds last; ties by id)."""
        ranked = sorted(self.topic_questions(topic_id),
                        key=lambda q: (q["S"] is None, -(q["S"] or 0.0), q["id"]))
        return ranked[:n_shot]

    # -- records ---------------------------------------------------------------------------

    def _index(self, record: dict[str, Any]) -> None:
        key = record.get("key")
        if not key or key in self.records:
            return
        self.records[key] = record
        if record.get("kind") == "question":
            self.status_counts[record["status"]] += 1
        if record.get("kind") == "question" and record.get("status") == "kept":
            self._topic_questions[record["topic_id"]].append(
                {"id": record["qid"], "text": record["question"], "S": record["S"]})

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write ``record`` durably unless its key is already recorded; return the record on
        disk (the earlier one when the key existed)."""
        key = record["key"]
        with self._lock:
            existing = self.records.get(key)
            if existing is not None:
                return existing
            self.log.append(record)
            self._index(record)
            return record

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records.values() if r.get("kind") == kind]

    def questions(self, *statuses: str) -> list[dict[str, Any]]:
        """Question records in the order they were recorded, optionally by status."""
        return [r for r in self.of_kind("question") if not statuses or r["status"] in statuses]

    # -- item bank -------------------------------------------------------------------------

    @property
    def bank(self) -> Any:
        """The item bank, holding every seed and banked question from the first access on."""
        if self._bank is None:
            from valuegraph.tools.itembank import ItemBank

            self._bank = ItemBank(self.root / "bank", url=self.bank_url,
                                  collection=self.collection_name(), embedding=self._embedding)
            self.ensure_bank()
        return self._bank

    def collection_name(self) -> str:
        """One collection per run when the bank is a shared server; "questions" embedded."""
        if not self.bank_url:
            return "questions"
        digest = hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:10]
        return f"adaem-{digest}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """MiniLM vectors, remembered for the most recent texts: a step embeds the same
        points and questions several times (dedup, S with P1 and P2, the item bank)."""
        texts = list(texts)
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(self.bank.embed(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                self._vectors.update(zip(missing, fresh, strict=True))
                while len(self._vectors) > EMBEDDING_CACHE:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[t] for t in texts])

    def bank_question(self, record: dict[str, Any]) -> None:
        """Add a recorded question to the item bank (idempotent: upsert by id)."""
        self.bank.add([record["qid"]], [record["question"]], [{
            "kind": "question", "topic_id": record["topic_id"], "status": record["status"],
            "S": record["S"], "step": record["round_b"]}],
            embeddings=self.embed([record["question"]]))

    def ensure_bank(self) -> int:
        """Make the item bank hold every seed question and every banked question recorded in
        ``results.jsonl`` (after a crash between the two writes). Returns how many were added."""
        expected: dict[str, tuple[str, dict[str, Any]]] = {}
        for topic in self.topics:
            for i, question in enumerate(topic.questions):
                expected[seed_question_id(topic.topic_id, i)] = (
                    question, {"kind": "seed", "topic_id": topic.topic_id, "status": "seed"})
        for record in self.questions(*BANKED):
            expected[record["qid"]] = (record["question"], {
                "kind": "question", "topic_id": record["topic_id"], "status": record["status"],
                "S": record["S"], "step": record["round_b"]})
        bank = self.bank
        if bank.count() == len(expected):
            return 0
        present = set(bank.collection.get(ids=list(expected), include=[])["ids"])
        missing = [i for i in expected if i not in present]
        if missing:
            restored = sum(not i.startswith("seed-") for i in missing)
            if restored:
                log.warning("restored %d recorded questions missing from the item bank",
                            restored)
            bank.add(missing, [expected[i][0] for i in missing], [expected[i][1] for i in missing])
        return len(missing)


def open_store(ctx: Any) -> GrowthStore:
    """The store of the context's run directory, opened once per run (its resources hold it);
    ``run_dir=''`` opens one in a temporary directory (Studio, quick experiments)."""

    def make() -> GrowthStore:
        root = ctx.run_dir or tempfile.mkdtemp(prefix="adaem-")
        return GrowthStore(root, bank_url=ctx.item_bank_url, seeds=ctx.seeds,
                           seed_format=ctx.seed_format)

    return ctx.res.memo(("adaem-store", ctx.run_dir), make)
