"""The pool's HTTP/1.1 client against raw loopback servers that misbehave in scripted ways."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from valuegraph.tools.backends.http1 import Http1Client, HTTPConnectionError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]
"""Answers one request (connection number given); returns False to close the connection."""


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


async def serve(handler: Handler) -> tuple[asyncio.Server, str, list[bytes]]:
    """A server that records every request and lets ``handler`` answer it."""
    seen: list[bytes] = []
    connections = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        try:
            while True:
                seen.append(await read_request(reader))
                if not await handler(reader, writer, number):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/chat/completions", seen


def ok(body: bytes = b'{"ok": true}', extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra
            + b"Content-Length: %d\r\n\r\n" % len(body) + body)


async def test_keeps_connections_alive_and_sends_the_body_with_headers():
    async def answer(reader, writer, number):
        writer.write(ok(b'{"n": %d}' % number))
        await writer.drain()
        return True

    server, url, seen = await serve(answer)
    client = Http1Client(url, {"Authorization": "Bearer k"})
    replies = [await client.post(b'{"i": %d}' % i) for i in range(3)]
    # one connection served all three requests, in order
    assert replies == [(200, b'{"n": 1}')] * 3
    assert len(seen) == 3 and seen[2].endswith(b'{"i": 2}')
    head = seen[0].split(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
    assert "Authorization: Bearer k" in head and "Content-Length: 8" in head
    # concurrent requests open as many connections as are in flight, then reuse them
    replies = await asyncio.gather(*(client.post(b"{}") for _ in range(4)))
    assert sorted(set(r[1] for r in replies)) == [b'{"n": %d}' % i for i in (1, 2, 3, 4)]
    assert len(client._idle) == 4
    await client.aclose()
    server.close()


async def test_chunked_and_error_statuses_are_read_whole():
    async def answer(reader, writer, number):
        if number == 1:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 4\r\n\r\nslow")
        await writer.drain()
        return number == 1

    server, url, _ = await serve(answer)
    client = Http1Client(url)
    assert await client.post(b"{}") == (200, b'{"a": 1}')
    await client.aclose()  # the next request opens connection 2
    assert await client.post(b"{}") == (429, b"slow")
    server.close()


async def test_a_kept_alive_connection_the_server_closed_is_replaced_silently():
    async def answer(reader, writer, number):
        writer.write(ok(b'{"n": %d}' % number))
        await writer.drain()
        return False  # keep-alive promised, then the server hangs up (an idle timeout)

    server, url, seen = await serve(answer)
    client = Http1Client(url)
    assert await client.post(b"{}") == (200, b'{"n": 1}')
    await asyncio.sleep(0.05)  # the close reaches the client
    assert await client.post(b"{}") == (200, b'{"n": 2}')
    assert len(seen) == 2
    server.close()


async def test_a_request_dropped_on_a_reused_connection_is_sent_again_on_a_new_one():
    answered: dict[int, int] = {}

    async def answer(reader, writer, number):
        answered[number] = answered.get(number, 0) + 1
        if answered[number] == 2:
            return False  # reads the second request, then hangs up without an answer
        writer.write(ok(b'{"n": %d}' % number))
        await writer.drain()
        return True

    server, url, seen = await serve(answer)
    client = Http1Client(url)
    assert await client.post(b"{}") == (200, b'{"n": 1}')
    assert await client.post(b'{"again": 1}') == (200, b'{"n": 2}')
    assert len(seen) == 3 and seen[1] == seen[2]  # the same request, twice
    server.close()


async def test_a_response_cut_short_on_a_new_connection_is_an_error():
    async def answer(reader, writer, number):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"partial")
        await writer.drain()
        return False

    server, url, seen = await serve(answer)
    with pytest.raises(HTTPConnectionError, match="closed before the response ended"):
        await Http1Client(url).post(b"{}")
    assert len(seen) == 1  # a fresh connection is not retried: the server may have acted
    server.close()


async def test_timeout_malformed_reply_and_refused_connection():
    async def silent(reader, writer, number):
        await asyncio.sleep(5)
        return False

    server, url, _ = await serve(silent)
    with pytest.raises(TimeoutError, match="no response within 0.2s"):
        await Http1Client(url, timeout=0.2).post(b"{}")
    server.close()

    async def garbage(reader, writer, number):
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        return True

    server, url, _ = await serve(garbage)
    with pytest.raises(HTTPConnectionError, match="malformed HTTP response"):
        await Http1Client(url).post(b"{}")
    server.close()
    await server.wait_closed()
    with pytest.raises(HTTPConnectionError, match="cannot connect"):
        await Http1Client(url).post(b"{}")


def test_rejects_urls_it_cannot_serve():
    with pytest.raises(ValueError, match="http:// or https://"):
        Http1Client("ftp://host/x")
    client = Http1Client("https://api.example.org/v1/chat/completions?x=1")
    assert (client.host, client.port, client.ssl is not None) == ("api.example.org", 443, True)
    assert client._head.startswith(b"POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
                                   b"Host: api.example.org\r\n")
