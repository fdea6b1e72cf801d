"""The lean path does not import litellm: parsing an `openai/` spec with a server address, and
a pool's first request to it (litellm takes seconds to import)."""

from __future__ import annotations

import subprocess
import sys

from valuegraph.tools.specs import COMMON_LITELLM_PROVIDERS, known_litellm_providers


def test_providers_known_without_litellm_are_litellm_providers():
    assert COMMON_LITELLM_PROVIDERS <= known_litellm_providers()


def test_parse_spec_and_first_request_to_a_server_do_not_import_litellm(server):
    code = f"""
import asyncio, sys
from valuegraph.tools.specs import parse_spec
from valuegraph.tools.pool import ModelPool
assert parse_spec("openai/x", "{server.api_base}").self_hosted
assert parse_spec("anthropic/claude").provider == "anthropic"
pool = ModelPool(None, api_bases={{"openai/x": "{server.api_base}"}})
async def main():
    reply = await pool.generate("openai/x", [{{"role": "user", "content": "hi"}}])
    await pool.aclose()
    return reply[0].text
print(asyncio.run(main()), "litellm" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    imported = done.stdout.split()[-1]
    assert done.stdout.startswith("reply-") and imported == "False", done.stdout
