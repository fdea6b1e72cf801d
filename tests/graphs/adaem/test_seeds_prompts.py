"""Seed topics (packaged, JSONL, Touché23-ValueEval TSV) and prompt templates."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from valuegraph.graphs.adaem import prompts as adaem_prompts
from valuegraph.graphs.adaem.prompts import VARIABLES
from valuegraph.graphs.adaem.seeds import (
    CATEGORIES,
    SeedError,
    conclusion_to_question,
    load_seeds,
)
from valuegraph.tools.templates import TemplateError as PromptError
from valuegraph.tools.templates import Templates


def test_packaged_seeds_cover_the_nine_categories():
    topics = load_seeds()
    assert len(topics) >= 40
    counts = Counter(t.category for t in topics)
    assert set(counts) == set(CATEGORIES) and min(counts.values()) >= 4
    assert len({t.topic_id for t in topics}) == len(topics)
    assert all(t.questions and all(q.endswith("?") for q in t.questions) for t in topics)
    assert len({q for t in topics for q in t.questions}) == sum(len(t.questions) for t in topics)


def write_lines(path, lines):
    path.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines) +
                    "\n")
    return path


def test_jsonl_seeds_load_with_defaults(tmp_path):
    path = write_lines(tmp_path / "s.jsonl", [
        {"topic": "Zoos should close.", "questions": ["Should zoos close?"]},
        "",
        {"topic": "Tax meat.", "questions": [" Should meat be taxed? "], "category": "Food",
         "topic_id": "meat"},
    ])
    topics = load_seeds(path)
    assert [(t.topic_id, t.category, t.questions) for t in topics] == [
        ("t0001", "Uncategorised", ("Should zoos close?",)),
        ("meat", "Food", ("Should meat be taxed?",))]


@pytest.mark.parametrize("lines,message", [
    ([{"topic": "ok topic", "questions": ["Fine?"]}, "{not json"], r"s\.jsonl:2: not valid JSON"),
    ([{"topic": "ok topic"}], r"s\.jsonl:1: questions: Field required"),
    ([{"topic": "ok topic", "questions": ["No question mark"]}],
     r"s\.jsonl:1: questions: question 1 must be a yes/no question ending with '\?'"),
    ([{"topic": "ok topic", "questions": ["A?"], "colour": "red"}],
     r"s\.jsonl:1: colour: unknown field; allowed: topic, questions, category, topic_id"),
    ([{"topic": "one", "questions": ["A?"], "topic_id": "x"},
      {"topic": "two", "questions": ["B?"], "topic_id": "x"}],
     r"s\.jsonl:2: topic_id 'x' already used on line 1"),
    ([[1, 2]], r"s\.jsonl:1: expected a JSON object"),
    ([""], r"no topics found"),
])
def test_jsonl_seed_errors_name_the_line(tmp_path, lines, message):
    path = write_lines(tmp_path / "s.jsonl", lines)
    with pytest.raises(SeedError, match=message):
        load_seeds(path)


def test_touche_tsv_groups_conclusions(tmp_path):
    path = tmp_path / "arguments-training.tsv"
    path.write_text(
        "Argument ID\tConclusion\tStance\tPremise\n"
        "A01001\tWe should ban human cloning\tin favor of\tcloning is unsafe\n"
        "A01002\tWe should ban human cloning\tagainst\tscience must be free\n"
        "A02001\tPayday loans should be banned\tin favor of\tthey trap the poor\n"
        "A03001\tEntrapment is acceptable\tagainst\tit tricks people\n")
    topics = load_seeds(path)
    assert [(t.topic_id, t.topic, t.questions[0]) for t in topics] == [
        ("A01001", "We should ban human cloning", "Should we ban human cloning?"),
        # a subject word the rule does not know keeps its capital (it may be a name)
        ("A02001", "Payday loans should be banned", "Should Payday loans be banned?"),
        ("A03001", "Entrapment is acceptable", "Do you agree that entrapment is acceptable?"),
    ]


def test_touche_tsv_errors(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("ID\tText\nA1\tx\n")
    with pytest.raises(SeedError, match=r"bad\.tsv:1: missing column\(s\) Argument ID, "
                                        r"Conclusion"):
        load_seeds(path)
    path.write_text("Argument ID\tConclusion\tStance\tPremise\nA1\tWe should\tpro\n")
    with pytest.raises(SeedError, match=r"bad\.tsv:2: 3 fields, the header has 4"):
        load_seeds(path)
    with pytest.raises(SeedError, match="does not exist"):
        load_seeds(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("conclusion,question", [
    ("We should abolish the death penalty.", "Should we abolish the death penalty?"),
    ("Germany should not exit nuclear power", "Should Germany not exit nuclear power?"),
    ("The minimum wage should rise", "Should the minimum wage rise?"),
    ("Homeschooling is harmful", "Do you agree that homeschooling is harmful?"),
])
def test_conclusion_to_question(conclusion, question):
    assert conclusion_to_question(conclusion) == question


def test_every_template_renders_with_its_declared_variables():
    prompts = Prompts()
    for name, variables in VARIABLES.items():
        values = {v: 1.5 if v == "score" else f"<{v}>" for v in variables}
        text = prompts.render(name, **values)
        assert "{" not in text.replace("{'", "")
        for v in variables:
            assert (f"<{v}>" in text) or v == "score"


def test_prompt_overrides_by_text_and_path(tmp_path):
    path = tmp_path / "opinion.txt"
    path.write_text("Q: {question} ({points} points, {words} words)")
    prompts = Prompts({"OPINION": str(path), "SAFETY": "Unsafe? {question}"})
    assert prompts.render("OPINION", question="Why?", points=3, words=9) == \
        "Q: Why? (3 points, 9 words)"
    assert prompts.render("SAFETY", question="X") == "Unsafe? X"
    with pytest.raises(PromptError, match="unknown prompt 'NOPE'"):
        Prompts({"NOPE": "x"})
    with pytest.raises(PromptError, match=r"unknown placeholder\(s\) \['topic'\]"):
        Prompts({"SAFETY": "{topic}"})
    with pytest.raises(PromptError, match="needs"):
        prompts.render("SAFETY")


def Prompts(overrides=None):  # noqa: N802 - the loop's template set
    return Templates.from_module(adaem_prompts, overrides)
