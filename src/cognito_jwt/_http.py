"""HTTP for discovery documents and JWKS: the only module that imports httpx.

The sync and async faces mirror each other line for line; what they share (URL policy,
redirect handling, size and time limits, error mapping) lives in plain functions. Every
failure becomes :class:`KeySetUnavailableError` (or its subclasses): never an httpx exception.
"""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

import certifi
import httpx

from ._discovery import check_url
from ._errors import ConfigurationError, KeySetUnavailableError
from ._options import FetchOptions
from ._version import __version__

__all__ = ["Fetched", "HttpFetcher", "HttpStatusError"]

_MAX_REDIRECTS = 3
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


_SSL_CONTEXT: ssl.SSLContext | None = None
_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client we create: building one costs milliseconds."""
    global _SSL_CONTEXT  # noqa: PLW0603 - a lazily built, immutable-after-creation singleton
    with _SSL_LOCK:
        if _SSL_CONTEXT is None:
            _SSL_CONTEXT = ssl.create_default_context(cafile=certifi.where())
        return _SSL_CONTEXT


class HttpStatusError(KeySetUnavailableError):
    """The server answered, but not with 200 (internal: lets discovery fall back on 404)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful GET: the body and the freshness the server declared.

    Attributes:
        url: The URL that answered (after redirects, if those are allowed).
        body: The response body, at most ``max_bytes``.
        max_age: ``Cache-Control: max-age`` in seconds; 0 for ``no-cache``/``no-store``;
            ``None`` when the server said nothing.
    """

    url: str
    body: bytes
    max_age: float | None


def cache_max_age(header: str | None) -> float | None:
    """Parse the freshness lifetime out of a ``Cache-Control`` header value."""
    if not header:
        return None
    if _NO_CACHE.search(header):
        return 0.0
    match = _MAX_AGE.search(header)
    return float(match.group(1)) if match else None


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed"
    return type(exc).__name__


class _Limits:
    """Size and total-time limits for one response body."""

    __slots__ = ("deadline", "max_bytes", "monotonic", "received", "url")

    def __init__(self, url: str, options: FetchOptions, monotonic: Callable[[], float]) -> None:
        self.url = url
        self.max_bytes = options.max_bytes
        self.monotonic = monotonic
        self.deadline = monotonic() + options.timeout
        self.received = bytearray()

    def check_headers(self, response: httpx.Response) -> None:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise KeySetUnavailableError(
                f"GET {self.url}: response of {declared} bytes exceeds the limit of "
                f"{self.max_bytes}"
            )

    def result(self, response: httpx.Response) -> Fetched:
        return Fetched(
            str(response.url),  # after redirects: where the document really came from
            bytes(self.received),
            cache_max_age(response.headers.get("cache-control")),
        )

    def add(self, chunk: bytes) -> None:
        self.received += chunk
        if len(self.received) > self.max_bytes:
            raise KeySetUnavailableError(
                f"GET {self.url}: response exceeds the limit of {self.max_bytes} bytes"
            )
        if self.monotonic() > self.deadline:
            raise KeySetUnavailableError(f"GET {self.url}: timed out (response too slow)")


class HttpFetcher:
    """GETs JSON documents with timeouts, a size cap, one retry and the URL policy.

    Without a user-supplied client, each fetch (discovery and JWKS together) gets a short-lived
    client of its own: key sets are fetched about once an hour, and a client that outlived an
    event loop would leak its connections.

    Args:
        options: Limits, headers and optional user-supplied clients.
        monotonic: Clock for the total-time limit (injected by tests).
    """

    def __init__(self, options: FetchOptions, monotonic: Callable[[], float] = time.monotonic):
        self.options = options
        self._monotonic = monotonic
        self._timeout = httpx.Timeout(options.timeout, connect=options.connect_timeout)
        # httpx.Headers merges case-insensitively: a user's "user-agent" replaces ours.
        self._headers = httpx.Headers(
            {"User-Agent": f"cognito-jwt/{__version__}", "Accept": "application/json"}
        )
        self._headers.update(options.headers)

    def _check(self, url: str) -> None:
        try:
            check_url(url, allow_insecure_http=self.options.allow_insecure_http)
        except ConfigurationError as exc:
            raise KeySetUnavailableError(str(exc)) from None

    def _next_url(self, response: httpx.Response, url: str, hops: int) -> str | None:
        """The redirect target to follow, ``None`` to stop; raises if not allowed."""
        if not response.is_redirect:
            if response.status_code != 200:
                raise HttpStatusError(
                    f"GET {url} answered HTTP {response.status_code}", response.status_code
                )
            return None
        if not self.options.follow_redirects:
            raise HttpStatusError(
                f"GET {url} answered HTTP {response.status_code} (redirects are not followed; "
                "configure the final URL, or FetchOptions(follow_redirects=True))",
                response.status_code,
            )
        if hops >= _MAX_REDIRECTS:
            raise KeySetUnavailableError(f"GET {url}: more than {_MAX_REDIRECTS} redirects")
        target = urljoin(url, str(response.headers.get("location", "")))
        self._check(target)
        return target

    def _client_options(self) -> dict[str, object]:
        return {"timeout": self._timeout, "follow_redirects": False, "verify": _ssl_context()}

    # Sync face ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[str], Fetched]]:
        """Yield a ``get(url)`` that shares one client for the requests of one fetch."""
        if self.options.client is not None:
            client = self.options.client
            yield lambda url: self._get(client, url)
            return
        with httpx.Client(**self._client_options()) as own:  # type: ignore[arg-type]
            yield lambda url: self._get(own, url)

    def get(self, url: str) -> Fetched:
        """GET *url* and return its body.

        Raises:
            KeySetUnavailableError: Refused URL, network failure, timeout, non-200 answer,
                body over the size cap.
        """
        with self.session() as get:
            return get(url)

    def _get(self, client: httpx.Client, url: str) -> Fetched:
        self._check(url)
        attempt = 0
        while True:
            try:
                return self._get_once(client, url)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # noqa: PERF203 - retry loop
                if attempt >= self.options.retries:
                    raise KeySetUnavailableError(f"GET {url}: {_describe(exc)}") from None
                attempt += 1
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise KeySetUnavailableError(f"GET {url}: {_describe(exc)}") from None

    def _get_once(self, client: httpx.Client, url: str) -> Fetched:
        limits = _Limits(url, self.options, self._monotonic)
        for hops in range(_MAX_REDIRECTS + 1):
            with client.stream(
                "GET", url, headers=self._headers, timeout=self._timeout, follow_redirects=False
            ) as response:
                target = self._next_url(response, url, hops)
                if target is None:
                    limits.check_headers(response)
                    for chunk in response.iter_bytes():
                        limits.add(chunk)
                    return limits.result(response)
            url = target
        raise AssertionError("unreachable")  # pragma: no cover - _next_url bounds the hops

    # Async face ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def session_async(self) -> AsyncIterator[Callable[[str], Awaitable[Fetched]]]:
        """Like :meth:`session`, for the async face."""
        if self.options.async_client is not None:
            client = self.options.async_client
            yield lambda url: self._get_async(client, url)
            return
        async with httpx.AsyncClient(**self._client_options()) as own:  # type: ignore[arg-type]
            yield lambda url: self._get_async(own, url)

    async def get_async(self, url: str) -> Fetched:
        """GET *url* like :meth:`get`, without blocking the event loop.

        Raises:
            KeySetUnavailableError: As :meth:`get`.
        """
        async with self.session_async() as get:
            return await get(url)

    async def _get_async(self, client: httpx.AsyncClient, url: str) -> Fetched:
        self._check(url)
        attempt = 0
        while True:
            try:
                return await self._get_once_async(client, url)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # noqa: PERF203 - retry loop
                if attempt >= self.options.retries:
                    raise KeySetUnavailableError(f"GET {url}: {_describe(exc)}") from None
                attempt += 1
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise KeySetUnavailableError(f"GET {url}: {_describe(exc)}") from None

    async def _get_once_async(self, client: httpx.AsyncClient, url: str) -> Fetched:
        limits = _Limits(url, self.options, self._monotonic)
        for hops in range(_MAX_REDIRECTS + 1):
            async with client.stream(
                "GET", url, headers=self._headers, timeout=self._timeout, follow_redirects=False
            ) as response:
                target = self._next_url(response, url, hops)
                if target is None:
                    limits.check_headers(response)
                    async for chunk in response.aiter_bytes():
                        limits.add(chunk)
                    return limits.result(response)
            url = target
        raise AssertionError("unreachable")  # pragma: no cover - _next_url bounds the hops
