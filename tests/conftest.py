"""Shared fixtures: offline guard, environment, local servers, tiny models."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
}
os.environ.update(OFFLINE_ENV)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and the like
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded(real):  # noqa: ANN001, ANN202
    def connect(self: socket.socket, address: object):  # noqa: ANN202
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"offline test tried to reach {address!r}")
        return real(self, address)

    return connect


@pytest.fixture(autouse=True)
def offline_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Fail any connection to a non-loopback address unless the test is marked ``live``."""
    if request.node.get_closest_marker("live"):
        yield
        return
    monkeypatch.setattr(socket.socket, "connect", _guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded(_real_connect_ex))
    yield


@pytest.fixture(autouse=True)
def _clear_mocks():
    from valuegraph.tools.backends.mock_backend import clear_mocks

    yield
    clear_mocks()


@pytest.fixture
def server():
    """A fresh local OpenAI-compatible server for one test."""
    from valuegraph.testing.process import start_server

    srv = start_server(timeout_sleep=3.0)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama with a BPE tokenizer and a chat template, saved to disk."""
    from valuegraph.testing.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_vlm_dir(tiny_lm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random LLaVA (CLIP tower + 2-layer Llama) with a processor, saved to disk."""
    from valuegraph.testing.tiny_vlm import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"), tiny_lm_dir)
