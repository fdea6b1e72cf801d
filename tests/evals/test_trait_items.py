"""The shipped trait items and the loader of user item, task and seed files."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from valuegraph.tools.files import FileError
from valuegraph.values.theories import BIG_FIVE, MORAL_FOUNDATIONS, SCHWARTZ
from valuegraph.values.trait_items import (
    load_distractors,
    load_seed_lines,
    load_trait_items,
    load_trait_tasks,
    select_items,
)


def test_the_shipped_forms_cover_every_trait_and_never_share_an_item():
    items = load_trait_items()
    for key, theory in (("schwartz", SCHWARTZ), ("mft", MORAL_FOUNDATIONS),
                        ("big_five", BIG_FIVE)):
        for code in theory.codes:
            train = select_items(items, key, code, "train")
            test = select_items(items, key, code, "test")
            assert len(train) >= 3 and len(test) >= 3, (key, code)
            assert len({i.questionnaire for i in train}) == 1
            assert {i.questionnaire for i in train}.isdisjoint(i.questionnaire for i in test)
    assert len({i.text for i in items}) == len(items) == 130
    reversed_ = Counter(i.dimension for i in items if i.reverse)
    assert reversed_ == dict.fromkeys(BIG_FIVE.codes, 2)  # one per Big Five form and trait
    assert {i.points for i in items} == {5}
    tasks = load_trait_tasks()
    assert Counter(t.theory for t in tasks) == {"schwartz": 6, "mft": 6, "big_five": 6}
    assert len(load_distractors()) == 20


def test_a_user_csv_with_defaults(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("theory,dimension,text,split,reverse,points\n"
                    "schwartz,Security,I lock my doors.,train,no,7\n"
                    "big_five,o,I like art.,test,yes,\n")
    first, second = load_trait_items(path)
    assert (first.id, first.dimension, first.points, first.reverse) == ("mine-2", "SEC", 7,
                                                                        False)
    assert first.questionnaire == "mine"
    assert (second.dimension, second.reverse, second.points) == ("O", True, 5)


def test_every_bad_row_is_named_by_its_line(tmp_path):
    rows = [
        {"theory": "big_five", "dimension": "O", "text": "I like art.", "split": "train",
         "id": "a"},
        {"theory": "big_five", "dimension": "O", "split": "train"},
        {"theory": "astrology", "dimension": "O", "text": "x", "split": "train"},
        {"theory": "mft", "dimension": "liberty", "text": "x", "split": "train"},
        {"theory": "mft", "dimension": "care", "text": "x", "split": "dev"},
        {"theory": "mft", "dimension": "care", "text": "x", "split": "test", "reverse": "maybe"},
        {"theory": "mft", "dimension": "care", "text": "x", "split": "test", "points": 20},
        {"theory": "big_five", "dimension": "O", "text": "y", "split": "test", "id": "a"},
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    with pytest.raises(FileError) as caught:
        load_trait_items(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: 8 bad row(s): line 2: 'text' is required; ")
    for expected in ("line 3: unknown trait system 'astrology'",
                     "line 4: 'liberty' is not a dimension of Moral Foundations Theory",
                     "line 5: 'split' must be train (optimisation) or test",
                     "line 6: 'reverse' must be true or false, got 'maybe'",
                     "line 7: 'points' must be between 2 and 11, got 20",
                     "line 8: duplicate id 'a' (first on line 1)",
                     "line 9: not valid JSON"):
        assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize("content,suffix,message", [
    ("", ".jsonl", "no items"),
    ("x", ".txt", "expected a .jsonl or .csv item file"),
])
def test_unusable_item_files(tmp_path, content, suffix, message):
    path = tmp_path / f"f{suffix}"
    path.write_text(content)
    with pytest.raises(FileError, match=message):
        load_trait_items(path)
    with pytest.raises(FileError, match="item file not found"):
        load_trait_items(tmp_path / "missing.jsonl")


def test_seed_lines_in_the_authors_csv_schema(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("dimension,defination,sentence\n"
                    "Openness,curiosity,\"I read widely, e.g.: essays\"\n"
                    "O,curiosity,I read widely,  e.g.: essays\n"
                    "X,?,nope\n")
    with pytest.raises(FileError, match="1 bad row.s.: line 4: 'X' is not a dimension"):
        load_seed_lines(path, "big_five")
    path.write_text("dimension,sentence\nOpenness,\"I read widely, e.g.: essays\"\n"
                    "O,\"I read  widely, e.g.: essays\"\nC,I plan\n")
    assert load_seed_lines(path, "big_five") == {"O": ["I read widely, e.g.: essays"],
                                                 "C": ["I plan"]}


def test_task_file_rows(tmp_path):
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps({"theory": "mft", "prompt": "What now?"}) + "\n"
                    + json.dumps({"theory": "tarot", "prompt": "x"}) + "\n")
    with pytest.raises(FileError, match="line 2: unknown trait system 'tarot'"):
        load_trait_tasks(path)
