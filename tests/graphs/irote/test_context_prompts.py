"""IROTE's context (defaults, one-line errors) and prompts (every template renders)."""

from __future__ import annotations

import pytest

from valuegraph.config import ConfigError
from valuegraph.graphs.irote import prompts
from valuegraph.graphs.irote.context import Context
from valuegraph.graphs.irote.scoring import item_messages, parse_lines, render_lines
from valuegraph.tools.templates import Templates, placeholders
from valuegraph.values.trait_items import TraitItem


def test_defaults_are_the_authors_code():
    ctx = Context()
    assert (ctx.rounds, ctx.initial_sets, ctx.set_size, ctx.words_limit) == (4, 10, 5, 50)
    assert (ctx.optimization_beam, ctx.k_shot, ctx.summarization_beam, ctx.top_k) == (3, 3, 2, 3)
    assert ctx.distractor_turns == [0, 1, 10, 20] and ctx.line_orders == 2
    assert (ctx.dedup_threshold, ctx.item_temperature, ctx.judge_temperature) == (0.8, 0.01,
                                                                                  0.001)
    assert (ctx.optimizer_temperature, ctx.optimizer_top_p, ctx.optimizer_max_tokens) == (
        1.0, 0.95, 1024)


@pytest.mark.parametrize("settings,message", [
    ({"distractor_turns": [0, 25]}, "irote: distractor_turns: distractor turns must be between"),
    ({"distractor_turns": []}, "give at least one context handler"),
    ({"top_k": 0}, "irote: top_k: Input should be greater than or equal to 1 (got 0)"),
    ({"reward_method": "vote"}, "irote: reward_method: Input should be 'auto', 'loglik'"),
    ({"prompts": {"ITEM_PROMPT": "{nope}"}}, "unknown placeholder(s) ['nope']"),
    ({"temperature": 1}, "irote: unknown setting(s) ['temperature']"),
])
def test_bad_settings_are_one_line(settings, message):
    with pytest.raises(ConfigError) as caught:
        Context.from_settings(settings)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_every_template_renders_with_its_declared_variables():
    templates = Templates.from_module(prompts)
    for name, variables in prompts.VARIABLES.items():
        assert placeholders(getattr(prompts, name)) == set(variables), name
        text = templates.render(name, **{v: f"<{v}>" for v in variables})
        assert all(f"<{v}>" in text for v in variables)
    assert Context.field_names()  # the context builds its templates from the module
    assert Context().templates().render("REFLECTION_BLOCK", insights="1. x").startswith(
        "Given the following insights about me:\n1. x\nPlease make")


@pytest.mark.parametrize("reply,lines", [
    ("1. I plan, e.g.: lists\n2. I check twice\n\nThat is all.", ["I plan, e.g.: lists",
                                                                   "I check twice"]),
    ("Policy:\n- I plan ahead\n* I keep  notes\n", ["I plan ahead", "I keep notes"]),
    ("1. Same\n2. Same", ["Same"]),
    ("I plan ahead. Then I check twice! \"Done,\" I say.", ["I plan ahead.",
                                                          "Then I check twice!",
                                                          "\"Done,\" I say."]),
    ("", []),
])
def test_parse_lines(reply, lines):
    assert parse_lines(reply) == lines


def test_item_messages_put_the_preamble_first_and_the_item_last():
    templates = Templates.from_module(prompts)
    item = TraitItem("i", "big_five", "O", "I like art.", "train", points=7)
    history = [("Q1?", "A1."), ("Q2?", "A2.")]
    plain = item_messages(templates, "", item, history, 0)
    assert len(plain) == 1 and plain[0]["content"].startswith("How well does this statement")
    assert "from 1 to 7" in plain[0]["content"]
    chat = item_messages(templates, "PRE", item, history, 1)
    assert [m["content"][:6] for m in chat] == ["PRE\n\nQ", "A1.", "How we"]
    assert render_lines(["a", "b"]) == "1. a\n2. b"
