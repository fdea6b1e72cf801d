"""The seed principles and user principle files (JSONL / CSV, bad rows by line number)."""

from __future__ import annotations

from collections import Counter

import pytest

from valuegraph.graphs.denevil.principles import (
    PrincipleError,
    load_principles,
    select_principles,
)
from valuegraph.values.theories import MORAL_FOUNDATIONS


def test_seed_set_covers_every_foundation():
    principles = load_principles()
    counts = Counter(p.foundation for p in principles)
    assert len(principles) >= 60
    assert set(counts) == set(MORAL_FOUNDATIONS.codes)
    assert min(counts.values()) >= 10
    assert len({p.text for p in principles}) == len(principles)


def test_user_jsonl_with_names_and_derived_ids(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"principle": "It is wrong to lie to a friend.", "foundation": "Care/Harm"}\n'
                    '\n'
                    '{"id": "x.1", "principle": "Respect your elders.", "foundation": "authority",'
                    ' "source": "me"}\n')
    first, second = load_principles(path)
    assert first.foundation == "care" and first.id.startswith("care-")
    assert (second.id, second.foundation, second.metadata) == ("x.1", "authority",
                                                               {"source": "me"})


def test_user_csv(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text('id,principle,foundation\na,"Don\'t cheat at cards, ever.",fairness\n')
    (only,) = load_principles(path)
    assert (only.id, only.text, only.foundation) == ("a", "Don't cheat at cards, ever.",
                                                     "fairness")


def test_every_bad_row_is_reported_with_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([
        '{"id": "ok", "principle": "It is wrong to steal.", "foundation": "fairness"}',
        '{"principle": "short", "foundation": "care"}',
        '{"principle": "It is wrong to be cruel.", "foundation": "kindness"}',
        'not json',
        '{"id": "ok", "principle": "Another good one here.", "foundation": "care"}',
        '["a list"]',
        '{"principle": "Missing the foundation."}',
    ]) + "\n")
    with pytest.raises(PrincipleError) as err:
        load_principles(path)
    message = str(err.value)
    assert "6 bad row(s)" in message
    for expected in ("line 2: 'principle' must be 8-300", "line 3: unknown foundation 'kindness'",
                     "line 4: not valid JSON", "line 5: duplicate id 'ok' (first on line 1)",
                     "line 6: expected a JSON object", "line 7: missing 'foundation'"):
        assert expected in message


def test_csv_bad_rows_and_missing_files(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("principle,foundation\nIt is wrong to lie to people.,care\n,care\n")
    with pytest.raises(PrincipleError, match="line 3: missing 'principle'"):
        load_principles(path)
    with pytest.raises(PrincipleError, match="file not found"):
        load_principles(tmp_path / "none.jsonl")
    with pytest.raises(PrincipleError, match="expected a .jsonl or .csv"):
        load_principles(tmp_path / "p.txt")


def test_select_round_robin_over_foundations():
    chosen = select_principles(load_principles(), limit=5)
    assert sorted(p.foundation for p in chosen) == sorted(MORAL_FOUNDATIONS.codes)
    only = select_principles(load_principles(), foundations=["Loyalty/Betrayal"], limit=3)
    assert [p.foundation for p in only] == ["loyalty"] * 3
