"""``valuegraph serve``: start model servers from a config, keep them up, stop them on exit."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from valuegraph.cli.common import console, fail, out
from valuegraph.config import ConfigError


def _from_flags(engine: str | None, model: str | None, name: str | None, replicas: int | None,
                port: int | None) -> dict[str, Any]:
    if engine is None:
        raise ConfigError("give a servers config (-c servers.yaml) or at least --engine "
                          "(vllm, llama_cpp) for one server")
    server: dict[str, Any] = {"name": name or ("smollm2" if engine == "llama_cpp" else "model"),
                              "engine": engine}
    for key, value in (("model", model), ("replicas", replicas), ("port", port)):
        if value is not None:
            server[key] = value
    return {"servers": [server]}


def serve(
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help="Servers config (YAML/TOML; see docs/scale.md).")] = None,
    node: Annotated[str | None, typer.Option(
        help="This host's name in the servers' nodes (multi-host); default: this machine.")
    ] = None,
    engine: Annotated[str | None, typer.Option(
        help="Without -c: one server of this engine (vllm, llama_cpp).")] = None,
    model: Annotated[str | None, typer.Option(help="Without -c: the model.")] = None,
    name: Annotated[str | None, typer.Option(help="Without -c: the served model name.")] = None,
    replicas: Annotated[int | None, typer.Option(help="Without -c: replicas.")] = None,
    port: Annotated[int | None, typer.Option(help="Without -c: port of replica 0.")] = None,
    log_dir: Annotated[Path | None, typer.Option(help="Where server logs go.")] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Print each replica's command line and address; start nothing.")
    ] = False,
) -> None:
    """Start OpenAI-compatible model servers (vLLM replicas on GPUs, llama.cpp on CPU), restart
    them when they crash, and print the api_bases a run config uses; Ctrl-C stops them."""
    from valuegraph.tools.servers import Fleet, ServerError, load_servers

    try:
        if config is not None and any(v is not None for v in (engine, model, name, replicas,
                                                              port)):
            raise ConfigError("--engine, --model, --name, --replicas and --port are for a "
                              "server without -c; put them in the config file instead")
        source: Any = config if config is not None else _from_flags(engine, model, name,
                                                                    replicas, port)
        settings = load_servers(source)
        if log_dir is not None:
            settings = settings.model_copy(update={"log_dir": log_dir})
        fleet = Fleet(settings, node=node)
        if not dry_run:
            fleet.check()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    if dry_run:
        for replica in fleet.replicas:
            launch = replica.launch
            env = " ".join(f"{k}={v}" for k, v in sorted(launch.env.items()))
            out.print(f"{launch.server}[{launch.index}] {launch.base}: "
                      f"{(env + ' ') if env else ''}{' '.join(launch.argv)}", soft_wrap=True,
                      markup=False, highlight=False)
        _print_bases(fleet)
        return

    def stop_on_term(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_term)
    try:
        try:
            fleet.start()
        except ServerError as exc:
            console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(1) from None
        _print_bases(fleet)
        console.print(f"serving {len(fleet.replicas)} replica(s); logs in {fleet.log_dir}; "
                      "Ctrl-C stops them", markup=False, soft_wrap=True)
        while True:
            time.sleep(1.0)
            if fleet.replicas and len(fleet.failed()) == len(fleet.replicas):
                console.print("error: every replica failed and ran out of restarts; logs in "
                              f"{fleet.log_dir}", markup=False, soft_wrap=True)
                raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()


def _print_bases(fleet: Any) -> None:
    out.print("api_bases:", highlight=False)
    for spec, bases in fleet.api_bases().items():
        out.print(f"  {spec}: [{', '.join(bases)}]", markup=False, highlight=False,
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(serve)
