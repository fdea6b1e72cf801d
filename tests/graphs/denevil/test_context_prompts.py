"""Context validation and prompt templates."""

from __future__ import annotations

import string

import pytest

from valuegraph.graphs.denevil import prompts
from valuegraph.graphs.denevil.context import Context


def test_paper_defaults():
    ctx = Context()
    assert (ctx.rounds, ctx.threshold, ctx.samples) == (3, 0.5, 10)


@pytest.mark.parametrize("values,message", [
    ({"samples": 0}, "samples must be a whole number >= 1"),
    ({"samples": 3, "keep": 4}, "keep .* must be <= samples"),
    ({"threshold": 1.0}, "threshold"),
    ({"selection": "best"}, "selection must be one of top_m, weighted"),
    ({"accept": "maybe"}, "accept must be one of"),
    ({"patience": 0}, "patience"),
    ({"judge": " "}, "judge model spec is empty"),
])
def test_invalid_values_are_rejected_with_what_is_allowed(values, message):
    with pytest.raises(ValueError, match=message):
        Context(**values)


def test_unknown_keys_list_the_allowed_ones():
    with pytest.raises(ValueError, match="unknown DeNEVIL setting.*'round'.*allowed: attacker"):
        Context.from_mapping({"round": 2})


def test_every_field_has_a_description():
    import dataclasses

    for f in dataclasses.fields(Context):
        assert f.metadata.get("description"), f.name


@pytest.mark.parametrize("name", sorted(prompts.VARIABLES))
def test_every_template_renders_with_exactly_its_declared_variables(name):
    template = getattr(prompts, name)
    found = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    assert found == set(prompts.VARIABLES[name])
    text = prompts.render(template, **{v: f"<{v}>" for v in prompts.VARIABLES[name]})
    assert all(f"<{v}>" in text for v in prompts.VARIABLES[name])


def test_a_missing_variable_is_named():
    with pytest.raises(KeyError, match="needs the variable 'scenario'"):
        prompts.render(prompts.CONTINUE_PROMPT)


def test_override_by_string_or_path(tmp_path):
    assert prompts.resolve(None, "default") == "default"
    assert prompts.resolve("Go on: {scenario}", "default") == "Go on: {scenario}"
    path = tmp_path / "judge.txt"
    path.write_text("Judge {principle} / {scenario} / {continuation}")
    assert prompts.resolve(str(path), "default").startswith("Judge {principle}")
