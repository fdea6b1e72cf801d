"""`valuegraph models`: a real generation and a log-likelihood from every configured backend."""

from __future__ import annotations

import time

from rich.console import Console
from rich.markup import escape

from valuegraph.config import RunConfig
from valuegraph.tools.pool import ModelPool
from valuegraph.tools.types import NotSupportedError

CONTINUATIONS = (" Paris", " Berlin")
QUESTION = "What is the capital of France? Answer in one word."


async def check_backends(cfg: RunConfig, specs: list[str], prompt: str, out: Console) -> bool:
    """Probe each spec and print what it did. Returns False if any backend failed to generate."""
    pool = ModelPool(None, api_bases=cfg.api_bases, max_attempts=2)
    roles = {spec: [r for r, s in cfg.models.items() if s == spec] for spec in specs}
    ok = True
    for spec in specs:
        started = time.monotonic()
        try:
            reply = (await pool.generate(spec, [{"role": "user", "content": QUESTION}],
                                         temperature=0.0, max_tokens=24, seed=0))[0].text
            generation = reply.strip().replace("\n", " ") or "(empty)"
        except Exception as exc:  # noqa: BLE001 - reported in the table
            generation, ok = f"FAILED: {type(exc).__name__}: {exc}"[:200], False
        try:
            scores = await pool.loglik(spec, prompt, list(CONTINUATIONS))
            loglik = "  ".join(f"{c.strip()}={s:.2f}" for c, s in zip(CONTINUATIONS, scores,
                                                                      strict=True))
        except NotSupportedError:
            loglik = "not supported by this backend"
        except Exception as exc:  # noqa: BLE001 - reported in the table
            loglik = f"FAILED: {type(exc).__name__}: {exc}"[:200]
        seconds = time.monotonic() - started
        out.print(f"[bold]{escape(spec)}[/bold] ({', '.join(roles.get(spec, [])) or 'extra'}) "
                  f"{seconds:.1f}s", soft_wrap=True)
        out.print(f"  generation  {QUESTION!r} -> {escape(generation)!r}", soft_wrap=True)
        out.print(f"  loglik      {prompt!r} + {escape(loglik)}", soft_wrap=True)
    await pool.aclose()
    return ok
