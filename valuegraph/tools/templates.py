"""Prompt templates: UPPER_CASE strings with ``{named}`` placeholders, overridable per run.

A module of templates declares ``VARIABLES`` (template name -> its placeholders); a
:class:`Templates` set built from it applies a run's overrides (name -> replacement text, or the
path of a UTF-8 file holding it) once, checks their placeholders, and renders by name. Every
loop and every shared judge uses this one mechanism.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from valuegraph.tools.files import FileError, read_text

MAX_PATH = 4096


class TemplateError(ValueError):
    """An override names an unknown template, uses undeclared placeholders, or a file that
    cannot be read; or a render misses a variable."""


def placeholders(template: str) -> set[str]:
    """The ``{names}`` a template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def resolve_text(value: str) -> str:
    """An override's text: the file it names when ``value`` is an existing path, else itself.

    Raises:
        TemplateError: the path names a file that cannot be read as UTF-8 text.
    """
    if "\n" in value or len(value) >= MAX_PATH:
        return value
    path = Path(value).expanduser()
    try:
        exists = path.exists()
    except OSError:  # a name too long for the file system is text
        return value
    if not exists:
        return value
    try:
        return read_text(path, "prompt file")
    except FileError as exc:
        raise TemplateError(str(exc)) from None


class Templates:
    """The templates of one run: defaults with overrides applied and checked.

    Args:
        defaults: Template name -> default text.
        variables: Template name -> the placeholders it may use (and must be given).
        overrides: Template name -> replacement text or a file path.
    """

    def __init__(self, defaults: Mapping[str, str], variables: Mapping[str, tuple[str, ...]],
                 overrides: Mapping[str, str] | None = None):
        self.variables = dict(variables)
        self.templates = {name: defaults[name] for name in self.variables}
        for name, value in (overrides or {}).items():
            if name not in self.variables:
                raise TemplateError(f"unknown prompt {name!r}; allowed: "
                                    f"{', '.join(self.variables)}")
            if not isinstance(value, str) or not value.strip():
                raise TemplateError(f"prompt {name} must be a non-empty text or file path")
            text = resolve_text(value)
            unknown = placeholders(text) - set(self.variables[name])
            if unknown:
                raise TemplateError(
                    f"prompt {name} uses unknown placeholder(s) {sorted(unknown)}; allowed: "
                    f"{', '.join(self.variables[name]) or '(none)'}")
            self.templates[name] = text

    @classmethod
    def from_module(cls, module: ModuleType,
                    overrides: Mapping[str, str] | None = None) -> Templates:
        """The templates a ``prompts`` module declares in its ``VARIABLES``."""
        variables = module.VARIABLES
        return cls({name: getattr(module, name) for name in variables}, variables, overrides)

    def __getitem__(self, name: str) -> str:
        return self.templates[name]

    def render(self, name: str, **values: object) -> str:
        """Fill template ``name``.

        Raises:
            TemplateError: a declared placeholder was not given.
        """
        missing = placeholders(self.templates[name]) - set(values)
        if missing:
            raise TemplateError(f"prompt {name} needs {sorted(missing)}; given: "
                                f"{', '.join(sorted(values)) or '(none)'}")
        return self.templates[name].format(**values)
