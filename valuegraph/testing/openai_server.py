"""A local OpenAI-compatible chat server for tests and benchmarks.

It answers ``POST /v1/chat/completions`` instantly (or slowly), and misbehaves on demand:
HTTP errors, timeouts and malformed bodies, either for the next N requests (``POST /admin``)
or at random rates (``--fault-rates``). ``GET /admin`` returns counters, so tests can assert how
many requests really reached the server. With ``--echo-auth`` (or ``{"echo_auth": true}`` to
``POST /admin``) it plays a careless server that echoes the request's ``Authorization`` header
at the end of every reply and in every error body (secret-scrubbing tests).

    python -m valuegraph.testing.openai_server --port 0      # prints "PORT <n>" when ready

Replies are deterministic: a rule whose regex matches the last user message gives its text
(by sample index, or with ``"pick": "hash"`` by a digest of the messages, model and seed);
otherwise the reply is ``"reply-<digest> (sample <i>)"`` built from the messages.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import re
import sys
import time
from typing import Any

from aiohttp import web


class ServerState:
    def __init__(self, rules: list[dict[str, Any]], fault_rates: dict[str, float], seed: int,
                 echo_auth: bool = False):
        self.echo_auth = echo_auth
        self.rules = [(re.compile(r["match"], re.S), r) for r in rules]
        self.fault_rates = fault_rates
        self.rng = random.Random(seed)
        self.plan: list[str] = []  # faults for the next requests: "429", "500", "timeout", ...
        self.delay = 0.0
        self.requests = 0
        self.by_outcome: dict[str, int] = {}
        self.prompts: list[str] = []
        self.answered: dict[str, int] = {}  # body digest -> times answered successfully
        self.received: dict[str, int] = {}  # body digest -> times received
        self.sampling: list[dict[str, Any]] = []  # the last requests' fields besides messages

    def next_fault(self) -> str | None:
        if self.plan:
            return self.plan.pop(0)
        roll = self.rng.random()
        for fault, rate in self.fault_rates.items():
            if roll < rate:
                return fault
            roll -= rate
        return None

    def count(self, outcome: str) -> None:
        self.by_outcome[outcome] = self.by_outcome.get(outcome, 0) + 1


def _reply_for(state: ServerState, messages: list[dict[str, Any]], index: int,
               salt: str = "") -> tuple[str, Any]:
    last = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            last = content if isinstance(content, str) else json.dumps(content)
            break
    digest = hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()[:12]
    for pattern, rule in state.rules:
        if pattern.search(last):
            replies = rule.get("replies") or [rule.get("reply", "")]
            # "pick": "hash" chooses by the messages, model and seed (varied but deterministic)
            pick = index
            if rule.get("pick") == "hash":
                pick += int(hashlib.sha256(f"{digest}|{salt}".encode()).hexdigest()[:12], 16)
            return replies[pick % len(replies)], rule
    return f"reply-{digest} (sample {index})", None


def _logprobs_block(text: str, first_token_top: dict[str, float] | None) -> dict[str, Any]:
    token = text.split()[0] if text.split() else text
    top = first_token_top or {token: -0.01}
    return {"content": [{
        "token": token, "logprob": top.get(token, -0.01), "bytes": None,
        "top_logprobs": [{"token": t, "logprob": lp, "bytes": None} for t, lp in top.items()],
    }]}


async def chat(request: web.Request) -> web.StreamResponse:
    state: ServerState = request.app["state"]
    state.requests += 1
    body = await request.json()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    state.received[digest] = state.received.get(digest, 0) + 1
    messages = body.get("messages") or []
    fault = state.next_fault()
    echo = f" [Authorization: {request.headers.get('Authorization', '')}]" \
        if state.echo_auth else ""
    if state.delay:
        await asyncio.sleep(state.delay)
    if fault in ("429", "500", "502", "503", "400", "401"):
        state.count(fault)
        return web.json_response({"error": {"message": f"injected {fault}{echo}",
                                            "type": "injected", "code": fault}},
                                 status=int(fault))
    if fault == "timeout":
        state.count("timeout")
        await asyncio.sleep(float(request.app["timeout_sleep"]))
        return web.json_response({"error": {"message": f"too late{echo}"}}, status=504)
    if fault == "malformed":
        state.count("malformed")
        return web.Response(text='{"id": "x", "choices": [' + echo,
                            content_type="application/json")
    n = int(body.get("n") or 1)
    choices = []
    completion_tokens = 0
    for i in range(n):
        text, rule = _reply_for(state, messages, i, f"{body.get('model')}|{body.get('seed')}")
        text += echo
        completion_tokens += len(text.split())
        # a rule's "finish_reason" (e.g. "length": cut at max_tokens) applies to its replies
        choice: dict[str, Any] = {"index": i,
                                  "finish_reason": (rule or {}).get("finish_reason", "stop"),
                                  "message": {"role": "assistant", "content": text}}
        if body.get("logprobs"):
            choice["logprobs"] = _logprobs_block(text, (rule or {}).get("logprobs"))
        choices.append(choice)
    state.count("ok")
    state.sampling = [*state.sampling[-19:],
                      {k: v for k, v in body.items() if k != "messages"}]
    state.prompts.append(json.dumps(messages)[-200:])
    state.answered[digest] = state.answered.get(digest, 0) + 1
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return web.json_response({
        "id": f"chatcmpl-{state.requests}", "object": "chat.completion",
        "created": int(time.time()), "model": body.get("model", "test"), "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


async def admin_get(request: web.Request) -> web.Response:
    state: ServerState = request.app["state"]
    return web.json_response({
        "requests": state.requests, "by_outcome": state.by_outcome,
        "echo_auth": state.echo_auth,
        "pending_faults": len(state.plan), "delay": state.delay,
        "distinct_answered": len(state.answered),
        # one digest of every body answered (with repeats): equal for two clients that sent
        # the same requests, whatever their order
        "bodies_digest": hashlib.sha256(json.dumps(sorted(state.answered.items())).encode()
                                        ).hexdigest()[:16],
        # identical request bodies answered more than once: a completed call that was repeated
        "repeated": sum(c - 1 for c in state.answered.values()),
        # identical request bodies received more than once (retries, re-sent requests)
        "received_again": sum(c - 1 for c in state.received.values()),
        "sampling": state.sampling,  # the last 20 requests' fields besides messages
    })


async def admin_post(request: web.Request) -> web.Response:
    """Body: {"faults": ["429", "500", "timeout", "malformed"], "delay": 0.2, "reset": true,
    "fault_rates": {...}, "rules": [...], "echo_auth": true}."""
    state: ServerState = request.app["state"]
    body = await request.json()
    if body.get("reset"):
        state.requests, state.by_outcome, state.prompts, state.answered = 0, {}, [], {}
        state.received = {}
        state.sampling = []
    state.plan.extend(str(f) for f in body.get("faults", []))
    if "delay" in body:
        state.delay = float(body["delay"])
    if "fault_rates" in body:
        state.fault_rates = {str(k): float(v) for k, v in body["fault_rates"].items()}
    if "rules" in body:
        state.rules = [(re.compile(r["match"], re.S), r) for r in body["rules"]]
    if "echo_auth" in body:
        state.echo_auth = bool(body["echo_auth"])
    return await admin_get(request)


async def models(request: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "test", "object": "model"}]})


def make_app(rules: list[dict[str, Any]] | None = None, fault_rates: dict[str, float] | None = None,
             seed: int = 0, timeout_sleep: float = 30.0, echo_auth: bool = False
             ) -> web.Application:
    app = web.Application(client_max_size=64 * 2**20)
    app["state"] = ServerState(rules or [], fault_rates or {}, seed, echo_auth)
    app["timeout_sleep"] = timeout_sleep
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/admin", admin_get)
    app.router.add_post("/admin", admin_post)
    return app


async def serve(port: int, **kwargs: Any) -> None:
    runner = web.AppRunner(make_app(**kwargs), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {bound}", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rules", help="JSON file: list of {match, reply|replies, logprobs}")
    parser.add_argument("--fault-rates", default="{}",
                        help='JSON: {"429": 0.1, "500": 0.05, "timeout": 0.05, "malformed": 0.05}')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout-sleep", type=float, default=30.0)
    parser.add_argument("--echo-auth", action="store_true",
                        help="Echo the Authorization header in every reply and error body.")
    args = parser.parse_args(argv)
    rules = json.load(open(args.rules)) if args.rules else []
    try:
        asyncio.run(serve(args.port, rules=rules, fault_rates=json.loads(args.fault_rates),
                          seed=args.seed, timeout_sleep=args.timeout_sleep,
                          echo_auth=args.echo_auth))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
