"""Keep secrets from the environment out of logs, caches, checkpoints, records and reports.

Secrets are recognised by *value*: the values of environment variables whose names say they are
secrets (``OPENAI_API_KEY``, ``HF_TOKEN``, ...) are replaced by ``***`` wherever they appear,
including inside a reply from a server that echoes its ``Authorization`` header. Keys are
masked only when they *are* a credential field (``api_key``, ``authorization``, ``password``,
...); a setting such as ``target_max_tokens`` or a token count is data, not a secret.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

SECRET_ENV_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
SECRET_KEYS = frozenset({
    "api_key", "apikey", "authorization", "proxy-authorization", "password", "passwd",
    "secret", "client_secret", "access_token", "refresh_token", "auth_token", "bearer_token",
    "api_token", "hf_token", "x-api-key", "credentials",
})
"""Mapping keys (lower case) whose values are credentials whatever they hold."""
REDACTED = "***"
MIN_SECRET = 6
"""Shorter values are not masked (they would mask ordinary words)."""


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names look like secrets (longest first)."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if SECRET_ENV_NAME.search(k) and len(v) >= MIN_SECRET}
    return sorted(values, key=len, reverse=True)


def is_secret_key(key: object) -> bool:
    text = str(key).lower()
    return text in SECRET_KEYS or text.endswith(("_api_key", "-api-key"))


def redact_text(text: str, secrets: list[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact(data: Any, secrets: list[str] | None = None) -> Any:
    """A copy of ``data`` with secret values, and the values of credential keys, masked."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(data, Mapping):
        return {k: (REDACTED if is_secret_key(k) and v else redact(v, secrets))
                for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(redact(v, secrets) for v in data)
    if isinstance(data, str):
        return redact_text(data, secrets) if secrets else data
    return data


class RedactingFilter(logging.Filter):
    """A logging filter that masks secret values in every record it passes, its traceback
    included (an exception's cause may hold a server's reply that echoed the key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        if secrets:
            record.msg = redact_text(record.getMessage(), secrets)
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact_text(record.exc_text, secrets)
            if record.stack_info:
                record.stack_info = redact_text(record.stack_info, secrets)
        return True
