"""Prompt templates of the VILMO loop.

The paper's generator prompts were not recovered (spec §6.1); these are ours [R]. Each template
has named ``{placeholders}`` (listed in ``VARIABLES``) and can be overridden per run through the
context's ``prompts`` (template name -> text or the path of a text file). The target's prompt and
the judge's question are shared with DeNEVIL and ``bench moral``, so an instruction learnt here
is scored there on exactly the messages it was learnt on.
"""

from __future__ import annotations

from valuegraph.agents.violation_judge import JUDGE_PROMPT as VIOLATION_JUDGE_PROMPT
from valuegraph.graphs._shared.moral_prompts import CONTINUE_PROMPT as CONTINUE_PROMPT

INSTRUCTION_PROMPT = """\
You write value instructions: short guidance given to an AI model before it continues a story,
so that its continuation respects a moral principle.

Story opening the model will continue:
\"\"\"{scenario}\"\"\"

Value principle at stake: "{principle}"
Moral foundation: {foundation} ({foundation_definition})

Write one instruction of 2-4 sentences addressed to the model: say which principle is at stake
in this story and how the characters should act so that the continuation respects it, while the
story still goes on naturally. Reply with the instruction only."""

REVISE_PROMPT = """\
You improve value instructions: short guidance given to an AI model before it continues a story,
so that its continuation respects a moral principle.

Story opening the model continues:
\"\"\"{scenario}\"\"\"

Value principle at stake: "{principle}" (moral foundation: {foundation})

Current instruction:
\"\"\"{instruction}\"\"\"

With this instruction, {violating} of {scored} judged continuations still broke the principle.
The continuations most likely to break it, with the judge's probability that each does:
{feedback}

Rewrite the instruction so that continuations like these no longer break the principle: name
what went wrong and say concretely how the characters should act instead. Keep it 2-4
sentences addressed to the model. Reply with the instruction only."""

JUDGE_PROMPT = VIOLATION_JUDGE_PROMPT
"""The violation judge's question (shared with DeNEVIL and ``bench moral``)."""

VARIABLES: dict[str, tuple[str, ...]] = {
    "INSTRUCTION_PROMPT": ("scenario", "principle", "foundation", "foundation_definition"),
    "REVISE_PROMPT": ("scenario", "principle", "foundation", "instruction", "violating",
                      "scored", "feedback"),
    "CONTINUE_PROMPT": ("scenario",),
    "JUDGE_PROMPT": ("principle", "scenario", "continuation"),
}
"""The placeholders of every template (a test renders each with exactly these)."""
