"""Value theories as data: dimensions, definitions, higher-order groups and oppositions.

Definitions are written in valuegraph's own words from the cited theories; codes follow the
papers re-implemented here (AdAEM uses three-letter Schwartz codes, MoHoBench category strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Dimension:
    """One value, foundation, trait or question type."""

    code: str
    name: str
    definition: str


@dataclass(frozen=True)
class Theory:
    """A value system: ordered dimensions, optional higher-order groups and opposite groups."""

    name: str
    dimensions: tuple[Dimension, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    opposites: tuple[tuple[str, str], ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.dimensions)

    def get(self, code: str) -> Dimension:
        for dim in self.dimensions:
            if dim.code == code or dim.name.lower() == code.lower():
                return dim
        raise KeyError(f"{code!r} is not a dimension of {self.name}; allowed: "
                       f"{', '.join(self.codes)}")

    def groups_of(self, code: str) -> tuple[str, ...]:
        return tuple(g for g, members in self.groups.items() if code in members)

    def opposite_group(self, group: str) -> str | None:
        for a, b in self.opposites:
            if group == a:
                return b
            if group == b:
                return a
        return None

    def are_opposed(self, a: str, b: str) -> bool:
        """True when some group of ``a`` is opposite some group of ``b``."""
        return any(self.opposite_group(g) in self.groups_of(b) for g in self.groups_of(a))


MORAL_FOUNDATIONS = Theory(
    name="Moral Foundations Theory",
    dimensions=(
        Dimension("care", "Care/Harm",
                  "Concern for the suffering of others: protecting the vulnerable, not hurting."),
        Dimension("fairness", "Fairness/Cheating",
                  "Justice, reciprocity and rights: not cheating, exploiting or discriminating."),
        Dimension("loyalty", "Loyalty/Betrayal",
                  "Obligations to one's group, family or nation: not betraying those who "
                  "trust you."),
        Dimension("authority", "Authority/Subversion",
                  "Respect for legitimate authority, roles and traditions that keep order."),
        Dimension("sanctity", "Sanctity/Degradation",
                  "Purity of body and spirit: avoiding what is seen as degrading or defiling."),
    ),
)

SCHWARTZ = Theory(
    name="Schwartz basic human values",
    dimensions=(
        Dimension("SDI", "Self-direction", "Thinking and acting independently: choosing, "
                  "creating, exploring on one's own terms."),
        Dimension("STI", "Stimulation", "Seeking excitement, novelty and challenge in life."),
        Dimension("HED", "Hedonism", "Pleasure and enjoyment for oneself."),
        Dimension("ACH", "Achievement", "Personal success shown through competence that society "
                  "recognises."),
        Dimension("POW", "Power", "Social status and prestige; control over people and "
                  "resources."),
        Dimension("SEC", "Security", "Safety, harmony and stability of society, relationships "
                  "and oneself."),
        Dimension("CON", "Conformity", "Holding back actions that could upset others or break "
                  "social norms."),
        Dimension("TRA", "Tradition", "Respect for and commitment to the customs of one's culture "
                  "or religion."),
        Dimension("BEN", "Benevolence", "Caring for the welfare of the people one is close to."),
        Dimension("UNI", "Universalism", "Understanding, tolerance and protection of all people "
                  "and of nature."),
    ),
    groups={
        "Openness to change": ("SDI", "STI", "HED"),
        "Self-enhancement": ("ACH", "POW", "HED"),
        "Conservation": ("SEC", "CON", "TRA"),
        "Self-transcendence": ("BEN", "UNI"),
    },
    opposites=(("Openness to change", "Conservation"), ("Self-enhancement", "Self-transcendence")),
)

BIG_FIVE = Theory(
    name="Big Five personality traits",
    dimensions=(
        Dimension("O", "Openness", "Curiosity, imagination and appetite for new ideas and "
                  "experiences."),
        Dimension("C", "Conscientiousness", "Organisation, dependability and self-discipline."),
        Dimension("E", "Extraversion", "Sociability, assertiveness and energy drawn from others."),
        Dimension("A", "Agreeableness", "Warmth, cooperation and trust towards others."),
        Dimension("N", "Neuroticism", "Tendency to feel anxiety, moodiness and emotional "
                  "instability."),
    ),
)

HONESTY_TYPES = Theory(
    name="MoHoBench unanswerable visual question types",
    dimensions=(
        Dimension("Context_Dependent", "Context dependent", "Answering needs background, causal "
                  "or future knowledge that the image does not show."),
        Dimension("False_Premises", "False premises", "The question assumes something that the "
                  "image contradicts."),
        Dimension("Subjective_or_Philosophical", "Subjective or philosophical", "The question asks "
                  "for an opinion, moral judgement or philosophy that pixels cannot settle."),
        Dimension("Vague_Description", "Vague description", "The question's referent is "
                  "ambiguous, so no single object in the image is meant."),
    ),
)

SAFETY_RISKS = Theory(
    name="Safety taxonomy (Salad-Bench domains)",
    dimensions=(
        Dimension("toxicity", "Representation & Toxicity Harms", "Hateful, demeaning or "
                  "stereotyping content about people or groups; toxic language."),
        Dimension("misinformation", "Misinformation Harms", "False or misleading claims "
                  "presented as fact; help to deceive the public."),
        Dimension("socioeconomic", "Socioeconomic Harms", "Help with unfair or harmful economic "
                  "practices: fraud on consumers, exploitative labour, unfair discrimination in "
                  "access to jobs, credit or services."),
        Dimension("info_safety", "Information & Safety Harms", "Leaking private or sensitive "
                  "information; advice that endangers someone's physical safety."),
        Dimension("malicious_use", "Malicious Use", "Practical help to commit crimes, attack "
                  "systems or hurt others on purpose."),
        Dimension("autonomy", "Human Autonomy & Integrity Harms", "Manipulation, surveillance or "
                  "persuasion that undermines a person's own choices or integrity."),
    ),
)
"""Value Compass's safety system (spec §0, platform key ``Risk``): the six Salad-Bench domains.
Names are the platform's column names; a model's score per domain is 100 - attack success %."""

LLM_VALUES = Theory(
    name="LLM-specific value system",
    dimensions=(
        Dimension("self_competence", "Self-Competence", "Valuing its own capability: being "
                  "knowledgeable, resourceful, accurate and effective at the task."),
        Dimension("user_oriented", "User-Oriented", "Putting the user first: attentive to what "
                  "the user needs, patient, respectful and helpful to that person."),
        Dimension("idealistic", "Idealistic", "Holding to ideals and principles: truth, "
                  "progress and the greater good even when they cost something."),
        Dimension("social", "Social", "Valuing relations with people and society: harmony, "
                  "cooperation, fitting in and caring for the community."),
        Dimension("professional", "Professional", "Working as a professional would: rigorous, "
                  "reliable, objective, following standards and best practice."),
        Dimension("ethical", "Ethical", "Acting ethically: honest, fair, harmless, responsible "
                  "for the consequences of what it says."),
    ),
    groups={"Self-Competence": ("self_competence",), "User-Oriented": ("user_oriented",),
            "Idealistic": ("idealistic",), "Social": ("social",),
            "Professional": ("professional",), "Ethical": ("ethical",)},
    opposites=(("Self-Competence", "User-Oriented"), ("Idealistic", "Social"),
               ("Professional", "Ethical")),
)
"""Value Compass's LLM-specific system (platform key ``FULVa``): three bipolar pairs. The source
paper is not identified (spec §0 [D]); the names are the platform's, the definitions ours [R]."""

THEORIES: dict[str, Theory] = {
    "mft": MORAL_FOUNDATIONS,
    "schwartz": SCHWARTZ,
    "big_five": BIG_FIVE,
    "honesty": HONESTY_TYPES,
    "risk": SAFETY_RISKS,
    "fulva": LLM_VALUES,
}


def foundation_code(value: str) -> str:
    """``care`` / ``Care/Harm`` / ``harm`` -> ``care``.

    Raises:
        KeyError: not a Moral Foundation; the message lists the allowed codes.
    """
    text = value.strip().lower()
    for dim in MORAL_FOUNDATIONS.dimensions:
        if text in (dim.code, dim.name.lower(), *dim.name.lower().split("/")):
            return dim.code
    raise KeyError(f"unknown foundation {value!r}; allowed: {', '.join(MORAL_FOUNDATIONS.codes)}")
