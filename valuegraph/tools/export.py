"""Export item records to JSONL, parquet and a Hugging Face ``datasets.Dataset``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = ("jsonl", "parquet", "hf")


def to_dataset(records: Iterable[dict[str, Any]]) -> Any:
    """A ``datasets.Dataset`` of the records (nested values kept as JSON-typed columns)."""
    import datasets

    return datasets.Dataset.from_list([_flat(r) for r in records])


def export_records(records: list[dict[str, Any]], stem: Path, formats: Iterable[str]) -> list[Path]:
    """Write ``stem.jsonl`` / ``stem.parquet`` / ``stem_hf/``; returns the paths written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt == "jsonl":
            path = stem.with_suffix(".jsonl")
            with open(path, "w", encoding="utf-8") as fh:
                for record in records:
                    fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif fmt == "parquet":
            import pandas as pd

            path = stem.with_suffix(".parquet")
            pd.DataFrame([_flat(r) for r in records]).to_parquet(path, index=False)
        elif fmt == "hf":
            path = stem.parent / f"{stem.name}_hf"
            to_dataset(records).save_to_disk(str(path))
        else:
            raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
        paths.append(path)
    return paths


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """Columns of mixed or nested types become JSON strings so every format accepts them."""
    return {k: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
            for k, v in record.items()}
