"""A small keep-alive HTTP/1.1 POST client for self-hosted OpenAI-compatible servers.

Against a server that answers at once, the HTTP client is a large share of a graph step's CPU:
aiohttp spends about 0.4 ms per request (timeouts, tracing hooks, cookie handling, header
merging, stream readers); this client about 0.17 ms (``bench/denevil_throughput.py``,
``bench/pool_overhead.py``). A chat-completions call needs one
thing: POST a JSON body to one URL and read the status and body. This client does that over
pooled keep-alive connections (plain TCP or TLS) and leaves the HTTP parsing to ``httptools``
(the C parser uvicorn uses): responses with Content-Length, chunked or read-to-close bodies.
Redirects, proxies, cookies and compression are not supported; none is needed to talk to vLLM,
llama.cpp or another OpenAI-compatible server.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools


class HTTPConnectionError(ConnectionError):
    """The connection failed or closed before a whole response arrived."""


class _Connection(asyncio.Protocol):
    """One TCP connection: sends a request, parses the response, then waits for the next."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self._status = 0
        self.keep_alive = True

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(HTTPConnectionError(f"malformed HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            if self._status and not self.keep_alive and exc is None:
                self._finish()  # a body delimited by the end of the connection
            else:
                self._fail(HTTPConnectionError(
                    f"connection closed before the response ended ({exc or 'by the server'})"))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._finish()

    # -- requests ----------------------------------------------------------------------------

    def send(self, request: bytes, waiter: asyncio.Future[tuple[int, bytes]]) -> None:
        self._waiter, self._status, self._body = waiter, 0, []
        assert self.transport is not None
        self.transport.write(request)

    def _finish(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self._status, b"".join(self._body)))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http1Client:
    """POSTs bodies to one URL over pooled keep-alive connections of the running event loop.

    Args:
        url: ``http://`` or ``https://`` URL of the endpoint.
        headers: Extra request headers (e.g. ``Authorization``).
        timeout: Seconds from sending a request to the end of its response.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None, *,
                 timeout: float = 120.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self.timeout = timeout
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        host = self.host if parts.port is None else f"{self.host}:{self.port}"
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
                 "Accept: application/json", "Connection: keep-alive",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port,
                                                   ssl=self.ssl)
        except OSError as exc:
            raise HTTPConnectionError(f"cannot connect to {self.host}:{self.port}: "
                                      f"{exc.strerror or exc}") from exc
        return conn

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """Send ``body``; return the status and the response body.

        Raises:
            TimeoutError: no whole response within ``timeout`` seconds.
            HTTPConnectionError: the connection failed or broke.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # connections belong to one loop
            self._idle, self._loop = [], loop
        request = self._head + b"%d\r\n\r\n" % len(body) + body
        while True:
            conn = None
            while self._idle and conn is None:
                candidate = self._idle.pop()
                conn = None if candidate.closed else candidate
            reused = conn is not None
            if conn is None:
                conn = await self._connect(loop)
            try:
                return await self._exchange(loop, conn, request)
            except HTTPConnectionError:
                # A kept-alive connection the server had closed: try once more on a new one.
                if not reused:
                    raise

    async def _exchange(self, loop: asyncio.AbstractEventLoop, conn: _Connection,
                        request: bytes) -> tuple[int, bytes]:
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        timer = loop.call_later(self.timeout, _expire, conn, waiter, self.timeout)
        try:
            conn.send(request, waiter)
            status, data = await waiter
        except BaseException:
            conn.close()  # cancelled, timed out or broken: the connection's state is unknown
            raise
        finally:
            timer.cancel()
        if conn.keep_alive and not conn.closed:
            self._idle.append(conn)
        else:
            conn.close()
        return status, data

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _expire(conn: _Connection, waiter: asyncio.Future[tuple[int, bytes]], after: float) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError(f"no response within {after}s"))
    conn.close()
