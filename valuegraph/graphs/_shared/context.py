"""Behaviour every loop's context dataclass shares (the fields stay in each loop's context)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar, Self


class ContextMixin:
    """Mixed into a loop's kw-only context dataclass, which must have an ``api_bases`` field."""

    loop_name: ClassVar[str] = ""
    api_bases: dict[str, str]

    def api_base(self, spec: str) -> str | None:
        return self.api_bases.get(spec)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Self:
        """Build from settings, rejecting unknown names with the list of allowed ones.

        Raises:
            ValueError: an unknown name or an invalid value.
        """
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            prefix = f"{cls.loop_name} " if cls.loop_name else ""
            raise ValueError(f"unknown {prefix}setting(s) {unknown}; allowed: "
                             f"{', '.join(cls.field_names())}")
        return cls(**values)
