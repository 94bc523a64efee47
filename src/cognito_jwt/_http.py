"""HTTP for discovery documents and JWKS: the only module that imports httpx.

The sync and async faces mirror each other line for line; what they share (URL policy,
redirect handling, size and time limits, error mapping) lives in plain functions. Every
failure becomes :class:`KeySetUnavailableError` (or its subclasses): never an httpx exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

import certifi
import httpx

from ._discovery import metadata_plan
from ._errors import (
    ConfigurationError,
    JwtError,
    KeySetUnavailableError,
    TokenEndpointUnavailableError,
)
from ._options import FetchOptions
from ._plan import run_plan, run_plan_async
from ._url_policy import check_url
from ._version import __version__

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:
    from ._record import dataclass, field

__all__ = ["Fetched", "HttpFetcher", "Posted", "fetch_metadata", "fetch_metadata_async"]

T = TypeVar("T")

_MAX_REDIRECTS = 3
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)


FormFields = dict[str, str | list[str]]
"""Form fields to POST; a list value repeats the field (``resource`` in RFC 8707)."""

_NO_KEEPALIVE = httpx.Limits(max_keepalive_connections=0)

_SSL_CONTEXT: ssl.SSLContext | None = None
_SSL_LOCK = threading.Lock()


def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client we create: building one costs milliseconds."""
    global _SSL_CONTEXT  # noqa: PLW0603 - a lazily built, immutable-after-creation singleton
    with _SSL_LOCK:
        if _SSL_CONTEXT is None:
            _SSL_CONTEXT = ssl.create_default_context(cafile=certifi.where())
        return _SSL_CONTEXT


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


@dataclass(frozen=True, slots=True)
class Posted:
    """The answer to a form POST, whatever its status (the caller interprets OAuth errors).

    Attributes:
        url: The URL posted to.
        status: The HTTP status code.
        content_type: The ``Content-Type`` header, lower-cased, parameters included.
        body: The response body, at most ``max_bytes``.
    """

    url: str
    status: int
    content_type: str
    body: bytes = field(repr=False)


def fetch_metadata(get: Callable[[str], Fetched], issuer: str) -> Fetched:
    """GET *issuer*'s metadata document, falling back to RFC 8414 (see ``metadata_plan``).

    Raises:
        KeySetUnavailableError: The fetch failed; a :class:`DiscoveryError` when neither
            metadata URL exists (4xx at both).
    """
    plan: Generator[str, Fetched, Fetched] = metadata_plan(issuer)
    return run_plan(plan, get)


async def fetch_metadata_async(get: Callable[[str], Awaitable[Fetched]], issuer: str) -> Fetched:
    """Like :func:`fetch_metadata`, with an async ``get`` (the same plan)."""
    plan: Generator[str, Fetched, Fetched] = metadata_plan(issuer)
    return await run_plan_async(plan, get)


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


class _Watchdog:
    """Cuts the connections a sync request opened once its deadline passes.

    httpx times each socket read, not the whole exchange: response headers sent a byte at a
    time would never time out. The watchdog learns each socket the request connects (httpx's
    ``trace`` extension) and shuts it down at the deadline, which wakes the blocked read. The
    async face needs none of this: it bounds the whole exchange with ``asyncio.wait_for``.
    A ``client=`` of the caller's that reuses a pooled connection opens none, so its headers
    are bounded only by its own read timeout (the body is always on the deadline).
    """

    __slots__ = ("_lock", "_sockets", "_timer", "fired")

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.name = "cognito-jwt-deadline"

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self._timer.join()  # returns at once after cancel: no timer thread outlives a request

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """Hook for httpx ``trace``: remember the socket of each connection the request opens."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.fired
        if late:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _timed_out(
    what: str, timeout: float, error: type[JwtError] = KeySetUnavailableError
) -> JwtError:
    return error(f"{what}: timed out (no complete answer within {timeout:g} s)")


class _Limits:
    """Size and total-time limits for one response body."""

    __slots__ = ("deadline", "error", "max_bytes", "monotonic", "received", "what")

    def __init__(
        self,
        url: str,
        options: FetchOptions,
        monotonic: Callable[[], float],
        *,
        method: str = "GET",
        error: type[JwtError] = KeySetUnavailableError,
    ) -> None:
        self.what = f"{method} {url}"
        self.error = error
        self.max_bytes = options.max_bytes
        self.monotonic = monotonic
        self.deadline = monotonic() + options.timeout
        self.received = bytearray()

    def check_headers(self, response: httpx.Response) -> None:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise self.error(
                f"{self.what}: response of {declared} bytes exceeds the limit of {self.max_bytes}"
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
            raise self.error(f"{self.what}: response exceeds the limit of {self.max_bytes} bytes")
        if self.monotonic() > self.deadline:
            raise self.error(f"{self.what}: timed out (response too slow)")


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
                raise KeySetUnavailableError(
                    f"GET {url} answered HTTP {response.status_code}",
                    status_code=response.status_code,
                )
            return None
        if not self.options.follow_redirects:
            raise KeySetUnavailableError(
                f"GET {url} answered HTTP {response.status_code} (redirects are not followed; "
                "configure the final URL, or FetchOptions(follow_redirects=True))",
                status_code=response.status_code,
            )
        if hops >= _MAX_REDIRECTS:
            raise KeySetUnavailableError(f"GET {url}: more than {_MAX_REDIRECTS} redirects")
        target = urljoin(url, str(response.headers.get("location", "")))
        self._check(target)
        return target

    def _client_options(self) -> dict[str, object]:
        return {"timeout": self._timeout, "follow_redirects": False, "verify": _ssl_context()}

    def _attempts(self, what: str, error: type[JwtError]) -> Generator[None, T, T]:
        """The retry policy of a request, written once for both faces (a plan).

        Each ``yield`` asks the driver for one attempt (:func:`run_plan` or
        :func:`run_plan_async` with the face's ``_once``), which sends back the answer or throws
        in the httpx error. A connection that could not be made is retried up to
        ``retries`` times (the request never left); any other transport failure is *error*
        at once. A timeout is already typed by the attempt and passes through.
        """
        attempt = 0
        while True:
            try:
                return (yield None)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # noqa: PERF203 - retries
                if attempt >= self.options.retries:
                    raise error(f"{what}: {_describe(exc)}") from None
                attempt += 1
            except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
                raise error(f"{what}: {_describe(exc)}") from None

    # Sync face ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[str], Fetched]]:
        """Yield a ``get(url)`` that shares one client for the requests of one fetch."""
        if self.options.client is not None:
            client = self.options.client
            yield lambda url: self._get(client, url)
            return
        # No keep-alive: every request opens its connection, so the watchdog always sees it.
        with httpx.Client(**self._client_options(), limits=_NO_KEEPALIVE) as own:  # type: ignore[arg-type]
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
        plan: Generator[None, Fetched, Fetched] = self._attempts(
            f"GET {url}", KeySetUnavailableError
        )
        return run_plan(plan, lambda _: self._get_once(client, url))

    def _get_once(self, client: httpx.Client, url: str) -> Fetched:
        limits = _Limits(url, self.options, self._monotonic)
        with _Watchdog(self.options.timeout) as watchdog:
            try:
                for hops in range(_MAX_REDIRECTS + 1):
                    with client.stream(
                        "GET", url, headers=self._headers, timeout=self._timeout,
                        follow_redirects=False, extensions={"trace": watchdog.trace},
                    ) as response:  # fmt: skip
                        target = self._next_url(response, url, hops)
                        if target is None:
                            limits.check_headers(response)
                            for chunk in response.iter_bytes():
                                limits.add(chunk)
                            return limits.result(response)
                    url = target
            except (httpx.HTTPError, httpx.StreamError):
                if watchdog.fired:
                    raise _timed_out(f"GET {url}", self.options.timeout) from None
                raise
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
        plan: Generator[None, Fetched, Fetched] = self._attempts(
            f"GET {url}", KeySetUnavailableError
        )
        return await run_plan_async(plan, lambda _: self._get_once_async(client, url))

    async def _get_once_async(self, client: httpx.AsyncClient, url: str) -> Fetched:
        # The whole exchange, headers included, under one deadline (see _Watchdog).
        try:
            return await asyncio.wait_for(self._exchange_async(client, url), self.options.timeout)
        except asyncio.TimeoutError:
            raise _timed_out(f"GET {url}", self.options.timeout) from None

    async def _exchange_async(self, client: httpx.AsyncClient, url: str) -> Fetched:
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

    # POST (token, introspection and AWS JSON endpoints) ----------------------------------------
    # Never redirected (credentials would follow the redirect), retried only when the connection
    # could not be made (the request never left), and every failure is a
    # TokenEndpointUnavailableError. Field values are secrets: they never reach a message.
    def _post_check(self, url: str) -> None:
        try:
            check_url(url, allow_insecure_http=self.options.allow_insecure_http)
        except ConfigurationError as exc:
            raise TokenEndpointUnavailableError(str(exc)) from None

    def _posted(self, url: str, response: httpx.Response, limits: _Limits) -> Posted:
        if response.is_redirect:
            raise TokenEndpointUnavailableError(
                f"POST {url} answered HTTP {response.status_code} (a redirect: the request is "
                "not repeated elsewhere; configure the final token endpoint URL)",
                status_code=response.status_code,
            )
        return Posted(
            url,
            response.status_code,
            str(response.headers.get("content-type", "")).lower(),
            bytes(limits.received),
        )

    def post_form(
        self, url: str, fields: FormFields, *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """POST *fields* form-encoded to *url* and return the answer, whatever its status.

        *headers* are added to the request (e.g. ``Authorization`` for ``client_secret_basic``);
        like the fields, their values never reach a message.

        Raises:
            TokenEndpointUnavailableError: Refused URL, network failure, timeout, a redirect,
                body over the size cap.
        """
        return self._post_payload(url, self._payload(headers, data=fields))

    def post_json(
        self, url: str, document: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """POST *document* as JSON to *url*, like :meth:`post_form` (an AWS JSON API call).

        *headers* may replace ``Content-Type`` (``application/x-amz-json-1.1``).

        Raises:
            TokenEndpointUnavailableError: As :meth:`post_form`.
        """
        return self._post_payload(url, self._json_payload(document, headers))

    def _payload(self, headers: Mapping[str, str] | None, **body: Any) -> dict[str, Any]:
        """The request arguments: the body and our headers, the caller's merged over ours."""
        merged = httpx.Headers(self._headers)
        if headers:
            merged.update(headers)
        return {**body, "headers": merged}

    def _json_payload(
        self, document: Mapping[str, Any], headers: Mapping[str, str] | None
    ) -> dict[str, Any]:
        content = json.dumps(document, separators=(",", ":")).encode()
        return self._payload(
            {"Content-Type": "application/json", **(headers or {})}, content=content
        )

    def _post_payload(self, url: str, payload: dict[str, Any]) -> Posted:
        self._post_check(url)
        client = self.options.client
        if client is not None:
            return self._post(client, url, payload)
        with httpx.Client(**self._client_options()) as own:  # type: ignore[arg-type]
            return self._post(own, url, payload)

    def _post(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> Posted:
        plan: Generator[None, Posted, Posted] = self._attempts(
            f"POST {url}", TokenEndpointUnavailableError
        )
        return run_plan(plan, lambda _: self._post_once(client, url, payload))

    def _post_once(self, client: httpx.Client, url: str, payload: dict[str, Any]) -> Posted:
        limits = _Limits(
            url, self.options, self._monotonic, method="POST", error=TokenEndpointUnavailableError
        )
        watchdog = _Watchdog(self.options.timeout)
        try:
            with watchdog, client.stream(
                "POST", url, **payload, timeout=self._timeout,
                follow_redirects=False, extensions={"trace": watchdog.trace},
            ) as response:  # fmt: skip
                limits.check_headers(response)
                for chunk in response.iter_bytes():
                    limits.add(chunk)
                return self._posted(url, response, limits)
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError):
            if watchdog.fired:
                raise _timed_out(
                    f"POST {url}", self.options.timeout, TokenEndpointUnavailableError
                ) from None
            raise

    async def post_form_async(
        self, url: str, fields: FormFields, *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """Like :meth:`post_form`, without blocking the event loop."""
        return await self._post_payload_async(url, self._payload(headers, data=fields))

    async def post_json_async(
        self, url: str, document: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """Like :meth:`post_json`, without blocking the event loop."""
        return await self._post_payload_async(url, self._json_payload(document, headers))

    async def _post_payload_async(self, url: str, payload: dict[str, Any]) -> Posted:
        self._post_check(url)
        client = self.options.async_client
        if client is not None:
            return await self._post_async(client, url, payload)
        async with httpx.AsyncClient(**self._client_options()) as own:  # type: ignore[arg-type]
            return await self._post_async(own, url, payload)

    async def _post_async(
        self, client: httpx.AsyncClient, url: str, payload: dict[str, Any]
    ) -> Posted:
        plan: Generator[None, Posted, Posted] = self._attempts(
            f"POST {url}", TokenEndpointUnavailableError
        )
        return await run_plan_async(plan, lambda _: self._post_timed_async(client, url, payload))

    async def _post_timed_async(
        self, client: httpx.AsyncClient, url: str, payload: dict[str, Any]
    ) -> Posted:
        # The whole exchange, headers included, under one deadline (see _Watchdog).
        try:
            return await asyncio.wait_for(
                self._post_once_async(client, url, payload), self.options.timeout
            )
        except asyncio.TimeoutError:
            raise _timed_out(
                f"POST {url}", self.options.timeout, TokenEndpointUnavailableError
            ) from None

    async def _post_once_async(
        self, client: httpx.AsyncClient, url: str, payload: dict[str, Any]
    ) -> Posted:
        limits = _Limits(
            url, self.options, self._monotonic, method="POST", error=TokenEndpointUnavailableError
        )
        async with client.stream(
            "POST", url, **payload, timeout=self._timeout, follow_redirects=False
        ) as response:
            limits.check_headers(response)
            async for chunk in response.aiter_bytes():
                limits.add(chunk)
            return self._posted(url, response, limits)
