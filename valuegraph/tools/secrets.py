"""Keep secrets from the environment out of logs, checkpoints and reports."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
REDACTED = "***"


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look like secrets (longest first)."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    return text


def redact(data: Any, secrets: list[str] | None = None) -> Any:
    """A copy of ``data`` with secret-named keys and secret values replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(data, Mapping):
        return {
            k: (REDACTED if SECRET_NAME.search(str(k)) and v else redact(v, secrets))
            for k, v in data.items()
        }
    if isinstance(data, (list, tuple)):
        return type(data)(redact(v, secrets) for v in data)
    if isinstance(data, str):
        return redact_text(data, secrets)
    return data


class RedactingFilter(logging.Filter):
    """A logging filter that masks secret values in every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        if secrets:
            record.msg = redact_text(record.getMessage(), secrets)
            record.args = None
        return True
