"""Roles reusable by every graph: Attacker, Target, Judge, Optimizer."""

from valuegraph.agents.judge import Judge, Verdict, parse_yes_no
from valuegraph.agents.roles import Attacker, Optimizer, Role, Target

__all__ = ["Attacker", "Judge", "Optimizer", "Role", "Target", "Verdict", "parse_yes_no"]
