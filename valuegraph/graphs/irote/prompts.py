"""Prompt templates of the IROTE loop and of ``bench traits``.

``REFLECTION_BLOCK`` is the authors' wrapper (spec §1.2), put in front of the task text in the
user turn. The other prompts follow the code's structure (seed lines "<reflection>, e.g.:
<action comparison>", a two-turn optimise step, a summarise step, three judge rating variants)
in our own words. Each template has named ``{placeholders}`` (listed in ``VARIABLES``) and can be
overridden per run (context ``prompts``: template name -> text or the path of a text file).
"""

from __future__ import annotations

REFLECTION_BLOCK = """\
Given the following insights about me:
{insights}
Please make the following responses strictly align with these insights."""

ITEM_PROMPT = """\
How well does this statement describe you?
"{statement}"
Answer with one number from 1 to {points}, where 1 means strongly disagree and {points} means \
strongly agree. Reply with the number only."""

SEED_PROMPT = """\
Trait: {trait} ({definition})

Write {count} different first-person reflections of a person who strongly shows this trait. \
Each reflection is one line of at most {words} words in the form
"<what I believe or notice about myself>, e.g.: <a concrete thing I do, compared with what \
someone without the trait would do>".
Cover different situations (work, friends, family, money, free time). Reply with a numbered \
list (1. ... 2. ...) and nothing else."""

OPTIMIZE_PROMPT = """\
You improve policies: short numbered lists of first-person insights that make an AI assistant \
behave like a person with the trait {trait} ({definition}).

[POLICY]
{policy}
[SCORE] {score} (max 10: how strongly the assistant showed the trait in a questionnaire)

Write a better policy: at most {words} words in total, as a numbered list of insights, each in \
the form "<insight>, e.g.: <a concrete action compared with an alternative>"."""

COT_SUFFIX = """

First think step by step about why the policy got this score and what would make it \
stronger."""

COT_FOLLOW_UP = """\
Now write the improved policy: a numbered list (1. ... 2. ...) of at most {words} words in \
total, and nothing else."""

DIRECT_SUFFIX = """
Reply with the numbered list (1. ... 2. ...) and nothing else."""

SUMMARIZE_PROMPT = """\
Here are insights that make an AI assistant behave like a person with the trait {trait} \
({definition}):
{corpus}

Compress them into one policy of at most {words} words: a numbered list of the few insights \
that explain all of the above, each in the form "<insight>, e.g.: <a concrete action compared \
with an alternative>". Reply with the numbered list (1. ... 2. ...) and nothing else."""

CONDITIONAL_PROMPT = """\
Here are some insights a person wrote about themselves:
{condition}

Write insights of the same person."""

RATE_DIRECT = """\
{texts}

On a scale from 0 to 10, how probable is Text A, given Text B? Reply with the number only."""

RATE_ENTAIL = """\
{texts}

On a scale from 0 to 10, how strongly does Text B entail Text A? Reply with the number only."""

RATE_GENERATE = """\
{texts}

On a scale from 0 to 10, how likely is it that the author of Text B would also write Text A? \
Reply with the number only."""

RATE_TEXTS = """\
Text A:
{target}

Text B:
{condition}"""

RATE_TEXTS_SWAPPED = """\
Text B:
{condition}

Text A:
{target}"""

PERSONA_PROMPT = """\
You are a person with a strong sense of {trait}: {definition} \
Answer everything as this person would."""

TASK_JUDGE_PROMPT = """\
Trait: {trait} ({definition})

Task given to an AI assistant:
{task}

The assistant's response:
{response}

Does the response show the trait {trait}? Answer with one word, Yes or No."""

VARIABLES: dict[str, tuple[str, ...]] = {
    "REFLECTION_BLOCK": ("insights",),
    "ITEM_PROMPT": ("statement", "points"),
    "SEED_PROMPT": ("trait", "definition", "count", "words"),
    "OPTIMIZE_PROMPT": ("trait", "definition", "policy", "score", "words"),
    "COT_SUFFIX": (),
    "COT_FOLLOW_UP": ("words",),
    "DIRECT_SUFFIX": (),
    "SUMMARIZE_PROMPT": ("trait", "definition", "corpus", "words"),
    "CONDITIONAL_PROMPT": ("condition",),
    "RATE_DIRECT": ("texts",),
    "RATE_ENTAIL": ("texts",),
    "RATE_GENERATE": ("texts",),
    "RATE_TEXTS": ("target", "condition"),
    "RATE_TEXTS_SWAPPED": ("target", "condition"),
    "PERSONA_PROMPT": ("trait", "definition"),
    "TASK_JUDGE_PROMPT": ("trait", "definition", "task", "response"),
}
"""The placeholders of every template (a test renders each with exactly these)."""

RATE_VARIANTS = ("RATE_DIRECT", "RATE_ENTAIL", "RATE_GENERATE")
"""The judge's three ways of rating p(A | B); each is asked with the texts in both orders."""
