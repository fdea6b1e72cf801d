"""Context validation and prompt templates of the DeNEVIL loop (the kit's mechanisms)."""

from __future__ import annotations

import string

import pytest
from pydantic import ValidationError

from valuegraph.config import ConfigError
from valuegraph.graphs.denevil import prompts
from valuegraph.graphs.denevil.context import Context
from valuegraph.tools.templates import TemplateError, Templates


def test_paper_defaults():
    ctx = Context()
    assert (ctx.rounds, ctx.threshold, ctx.samples) == (3, 0.5, 10)


@pytest.mark.parametrize("values,message", [
    ({"samples": 0}, "samples: Input should be greater than or equal to 1"),
    ({"samples": 3, "keep": 4}, r"keep \(M=4\) must be <= samples \(K=3\)"),
    ({"threshold": 1.0}, "threshold: Input should be less than 1"),
    ({"selection": "best"}, "selection: Input should be 'top_m' or 'weighted'"),
    ({"accept": "maybe"}, "accept: Input should be 'no_drop' or 'always'"),
    ({"patience": 0}, "patience: Input should be greater than or equal to 1"),
    ({"judge": ""}, "judge: String should have at least 1 character"),
    ({"rounds": "three"}, "rounds: Input should be a valid integer"),
])
def test_invalid_values_are_rejected_with_what_is_allowed(values, message):
    with pytest.raises(ConfigError, match=f"^denevil: {message}"):
        Context.from_settings(values)
    with pytest.raises(ValidationError):  # Studio and ainvoke build contexts directly
        Context(**values)


def test_unknown_keys_list_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"denevil: unknown setting\(s\) \['round'\]; "
                                          "allowed: api_bases, seed"):
        Context.from_settings({"round": 2})


def test_every_field_has_a_description_in_the_studio_schema():
    from langgraph.graph import StateGraph

    from valuegraph.graphs.denevil.graph import build_graph

    assert isinstance(build_graph(), StateGraph)
    schema = build_graph().compile().get_context_jsonschema()
    fields = set(Context.field_names())
    assert set(schema["properties"]) == fields and "resources" not in schema["properties"]
    for name in fields:
        assert schema["properties"][name].get("description"), name


@pytest.mark.parametrize("name", sorted(prompts.VARIABLES))
def test_every_template_renders_with_exactly_its_declared_variables(name):
    template = getattr(prompts, name)
    found = {field for _, field, _, _ in string.Formatter().parse(template) if field}
    assert found == set(prompts.VARIABLES[name])
    text = Templates.from_module(prompts).render(
        name, **{v: f"<{v}>" for v in prompts.VARIABLES[name]})
    assert all(f"<{v}>" in text for v in prompts.VARIABLES[name])


def test_a_missing_variable_is_named():
    with pytest.raises(TemplateError, match=r"prompt CONTINUE_PROMPT needs \['scenario'\]"):
        Templates.from_module(prompts).render("CONTINUE_PROMPT")


def test_override_by_string_or_path(tmp_path):
    path = tmp_path / "judge.txt"
    path.write_text("Judge {principle} / {scenario} / {continuation}")
    ctx = Context(prompts={"CONTINUE_PROMPT": "Go on: {scenario}", "JUDGE_PROMPT": str(path)})
    templates = ctx.templates()
    assert templates.render("CONTINUE_PROMPT", scenario="x") == "Go on: x"
    assert templates["JUDGE_PROMPT"].startswith("Judge {principle}")
    assert templates["REWRITE_PROMPT"] == prompts.REWRITE_PROMPT


@pytest.mark.parametrize("overrides,message", [
    ({"NOPE": "x"}, "unknown prompt 'NOPE'"),
    ({"CONTINUE_PROMPT": "{story}"}, r"unknown placeholder\(s\) \['story'\]"),
    ({"CONTINUE_PROMPT": ""}, "must be a non-empty text"),
])
def test_bad_overrides_are_refused_when_the_context_is_built(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Context.from_settings({"prompts": overrides})


def test_a_non_utf8_prompt_file_is_one_clear_error(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes(b"Continue \xff\xfe {scenario}")
    with pytest.raises(ConfigError, match=r"p.txt: prompt file is not UTF-8 text"):
        Context.from_settings({"prompts": {"CONTINUE_PROMPT": str(path)}})
