"""`valuegraph models`: a real generation and a log-likelihood from every configured backend."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from valuegraph.cli.common import ConfigOpt, SetOpt, check_models, fail, load_config, out
from valuegraph.config import ConfigError, RunConfig
from valuegraph.tools.specs import SpecError

CONTINUATIONS = (" Paris", " Berlin")
QUESTION = "What is the capital of France? Answer in one word."


async def check_backends(cfg: RunConfig, specs: list[str], prompt: str, out: Console) -> bool:
    """Probe each spec and print what it did. Returns False if any backend failed to generate."""
    from valuegraph.tools.pool import ModelPool
    from valuegraph.tools.types import NotSupportedError

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


def models(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    model: Annotated[list[str] | None, typer.Option("--model", "-m",
                                                     help="Extra spec to check.")] = None,
    prompt: str = "The capital of France is",
) -> None:
    """List the configured backends and check each: a real generation and a log-likelihood."""
    from valuegraph.tools.specs import parse_spec

    try:
        cfg = load_config(config, set_)
        check_models(cfg)
        specs = sorted(set(cfg.models.values()) | set(model or []))
        for spec in specs:
            parse_spec(spec, cfg.api_bases.get(spec))
    except (ConfigError, SpecError) as exc:
        raise fail(str(exc)) from None
    ok = asyncio.run(check_backends(cfg, specs, prompt, out))
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    app.command()(models)
