"""HTTP for discovery documents, JWKS and token endpoints: one policy, two carriers.

The policy is written once, here: the URL check (https, or loopback http), redirects (refused by
default, at most 3, each target checked), the size cap on the decoded body, one deadline for
the whole exchange (connect to last byte, headers included), retries after a failed connection
only (``HttpFetcher._attempts``, a plan run by :func:`run_plan` or :func:`run_plan_async`), and
the error mapping (every failure is a :class:`KeySetUnavailableError`, or a
:class:`TokenEndpointUnavailableError` for a POST; never an exception of the carrier: each
carrier describes its failures as a ``_TransportError``).

What carries the bytes:

* the sync face, without a client of the caller's: the standard library (``http.client``), one
  connection per origin kept alive for the requests of one fetch (discovery, then the JWKS) and
  closed when it ends. A Lambda cold start pays no ``httpx`` import (≈ 100-150 ms of CPU with
  ``httpcore``, more when its optional command line finds ``click`` installed) and no watchdog
  thread: each read waits at most for the time left before the deadline;
* the async face, a ``client=`` / ``async_client=`` of the caller's, and the sync face when the
  environment names a proxy (``HTTPS_PROXY`` ...: httpx honours it, ``http.client`` would
  not): ``httpx``, imported on first use. Its timeouts bound each socket operation, so a sync
  request runs under a watchdog that shuts its sockets at the deadline; the async face bounds
  the exchange with ``wait_for``.

The TLS context of the connections we open is built once per process, when an https URL is
first fetched (:func:`tls_context`). No connection outlives the fetch that opened it, so a
process restored from a snapshot (Lambda SnapStart) shares none with its siblings; see
:func:`after_restore`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from ._discovery import metadata_plan
from ._errors import (
    ConfigurationError,
    JwtError,
    KeySetUnavailableError,
    TokenEndpointUnavailableError,
    bounded_repr,
)
from ._options import FetchOptions
from ._plan import run_plan, run_plan_async
from ._url_policy import check_url
from ._version import __version__

if TYPE_CHECKING:
    import http.client
    import ssl
    from dataclasses import dataclass, field

    import httpx
else:
    from ._record import dataclass, field

__all__ = [
    "Fetched",
    "HttpFetcher",
    "Posted",
    "after_restore",
    "fetch_metadata",
    "fetch_metadata_async",
    "tls_context",
]

T = TypeVar("T")

_MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\s*(?:,|$)", re.IGNORECASE)
_CHUNK = 64 * 1024


FormFields = dict[str, str | list[str]]
"""Form fields to POST; a list value repeats the field (``resource`` in RFC 8707)."""


# === TLS: one context per process, built on first https use ======================================
_TLS_CONTEXT: ssl.SSLContext | None = None
_TLS_LOCK = threading.Lock()


def tls_context() -> ssl.SSLContext:
    """The TLS context of every connection the library opens (built once, on first use).

    It trusts the roots named by ``SSL_CERT_FILE`` (else ``SSL_CERT_DIR``) when set, as
    ``httpx`` and OpenSSL do, and certifi's bundle otherwise. Loading the roots costs ~15 ms of
    CPU: a process that fetches only plain-http (loopback) URLs never pays it.

    Raises:
        KeySetUnavailableError: The roots could not be loaded (a wrong ``SSL_CERT_FILE``).
    """
    global _TLS_CONTEXT  # noqa: PLW0603 - a lazily built, immutable-after-creation singleton
    context = _TLS_CONTEXT
    if context is None:
        with _TLS_LOCK:
            if _TLS_CONTEXT is None:
                _TLS_CONTEXT = _load_tls_context()
            context = _TLS_CONTEXT
    return context


def _load_tls_context() -> ssl.SSLContext:
    import ssl

    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = None if cafile else os.environ.get("SSL_CERT_DIR") or None
    try:
        if cafile or capath:
            return ssl.create_default_context(cafile=cafile, capath=capath)
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except (OSError, ValueError) as exc:
        where = f"SSL_CERT_FILE={cafile}" if cafile else f"SSL_CERT_DIR={capath}"
        raise KeySetUnavailableError(
            f"the TLS trust roots could not be loaded ({where}): {type(exc).__name__}"
        ) from None


# === Snapshots (Lambda SnapStart) ================================================================
_GENERATION = 0  # bumped by after_restore: a connection opened before it is never reused
_OPEN: set[_Connections] = set()  # sessions of the sync face holding connections now
_OPEN_LOCK = threading.Lock()
# Clients of the stores (boto3, redis) whose connection pools after_restore empties, each with
# the function that empties it; weakly held, so a store that is gone is forgotten.
_POOLS: weakref.WeakKeyDictionary[Any, Callable[[Any], object]] = weakref.WeakKeyDictionary()


def drop_pool_on_restore(client: Any, drop: Callable[[Any], object]) -> None:
    """Have :func:`after_restore` call ``drop(client)``, emptying its connection pool.

    A client that can't be weakly held is left alone: it is then the caller's to renew.
    """
    with _OPEN_LOCK, contextlib.suppress(TypeError):
        _POOLS[client] = drop


def after_restore() -> None:
    """Make this process safe to run as one of many copies restored from one snapshot.

    Register it with the runtime's hook, once, at init::

        from snapshot_restore_py import register_after_restore
        import cognito_jwt

        register_after_restore(cognito_jwt.after_restore)

    It closes every connection the library holds (normally none: no connection outlives the
    fetch that opened it) so that no two copies share a TLS session, and mixes fresh entropy
    from the operating system into the random generator of the ``ssl`` module's OpenSSL, which
    was copied with the snapshot. Key sets need nothing: their age is computed from the clock
    when they are used, so keys hydrated at init and restored days later are refreshed then;
    ``jti`` values come from :mod:`secrets` (the operating system's generator), unique in
    every copy. The connection pools of the stores' clients (``DynamoDBStore``,
    ``DynamoDBDenyList``, and the blocking client of ``RedisStore``/``RedisDenyList``) are
    emptied, so their first request after a restore opens a new connection instead of failing
    on one the snapshot copied (and counting as an outage). An HTTP ``client=`` of your own
    keeps its pool: create it after restore.
    """
    global _GENERATION  # noqa: PLW0603 - a process-wide counter
    with _OPEN_LOCK:
        _GENERATION += 1
        sessions = list(_OPEN)
        pools = list(_POOLS.items())
    for session in sessions:
        session.close_idle()
    for client, drop in pools:
        with contextlib.suppress(Exception):  # a pool that can't close now reconnects later
            drop(client)
    ssl_module = sys.modules.get("ssl")
    if ssl_module is not None:
        ssl_module.RAND_add(os.urandom(64), 64.0)


# === What the policy reads from an answer, whatever carried it ===================================
class _Answer(Protocol):
    """A response whose headers have arrived; its body is read by :meth:`chunks`."""

    @property
    def status(self) -> int: ...

    @property
    def url(self) -> str: ...

    def header(self, name: str) -> str | None: ...

    def chunks(self) -> Iterator[bytes]: ...


class _TransportError(Exception):
    """A carrier's failure, described for a message (never the carrier's own exception).

    ``connect``: no connection could be made (retried); ``deadline``: the exchange's deadline
    passed (the watchdog fired, or the time left ran out).
    """

    def __init__(self, description: str, *, connect: bool = False, deadline: bool = False):
        super().__init__(description)
        self.description = description
        self.connect = connect
        self.deadline = deadline


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


def _merged(base: Mapping[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """*base* with *extra* over it; names compare case-insensitively (a later one wins)."""
    names: dict[str, str] = {}
    merged: dict[str, str] = {}
    for source in (base, extra or {}):
        for name, value in source.items():
            old = names.pop(name.lower(), None)
            if old is not None:
                del merged[old]
            names[name.lower()] = name
            merged[name] = value
    return merged


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

    def check_headers(self, answer: _Answer) -> None:
        declared = answer.header("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise self.error(
                f"{self.what}: response of {declared} bytes exceeds the limit of {self.max_bytes}"
            )

    def result(self, answer: _Answer) -> Fetched:
        return Fetched(
            answer.url,  # after redirects: where the document really came from
            bytes(self.received),
            cache_max_age(answer.header("cache-control")),
        )

    def add(self, chunk: bytes) -> None:
        self.received += chunk
        if len(self.received) > self.max_bytes:
            raise self.error(f"{self.what}: response exceeds the limit of {self.max_bytes} bytes")
        if self.monotonic() > self.deadline:
            raise self.error(f"{self.what}: timed out (response too slow)")


# === Carrier 1: the standard library (the sync face's own connections) ===========================
class _DeadlineIO(io.RawIOBase):
    """A socket's reads, each allowed only the time left before the owner's deadline."""

    def __init__(self, sock: socket.socket, owner: _Connections) -> None:
        self._sock = sock
        # The socket's own unbuffered reader: it keeps the socket open until it is closed,
        # as http.client expects of what ``makefile`` returns.
        self._raw = sock.makefile("rb", buffering=0)
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._owner.time_left())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` reads from: a buffered :class:`_DeadlineIO`."""

    def __init__(self, sock: socket.socket, owner: _Connections) -> None:
        self._sock = sock
        self._owner = owner

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineIO(self._sock, self._owner))


class _StdlibAnswer:
    __slots__ = ("_response", "url")

    def __init__(self, response: http.client.HTTPResponse, url: str) -> None:
        self._response = response
        self.url = url

    @property
    def status(self) -> int:
        return self._response.status

    def header(self, name: str) -> str | None:
        return self._response.getheader(name)

    def chunks(self) -> Iterator[bytes]:
        response = self._response
        while chunk := response.read1(_CHUNK):
            yield chunk
        if response.length:  # the connection ended before the Content-Length promised
            import http.client

            raise http.client.IncompleteRead(b"", response.length)


class _Connections:
    """The connections of one sync fetch: one per origin, kept alive between its requests.

    Used by one thread at a time (a fetch is sequential). :meth:`deadline` bounds a whole
    exchange (redirects included): connecting waits at most ``connect_timeout`` (and the time
    left), and every write and read at most the time left, so no watchdog thread is needed.
    """

    def __init__(self, options: FetchOptions) -> None:
        self._options = options
        self._idle: dict[tuple[str, str, int], tuple[int, http.client.HTTPConnection]] = {}
        self._deadline = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> _Connections:
        with _OPEN_LOCK:
            _OPEN.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with _OPEN_LOCK:
            _OPEN.discard(self)
        self.close_idle()

    def close_idle(self) -> None:
        """Close the connections kept for reuse (at the end of the fetch, or after restore)."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for _, connection in idle:
            connection.close()

    def prepare(self, url: str) -> None:
        """Import ``http.client`` and build the TLS context before a deadline starts."""
        import http.client  # noqa: F401 - imported now, not on the deadline's time

        if url.lower().startswith("https:"):
            tls_context()

    def time_left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    @contextlib.contextmanager
    def deadline(self) -> Iterator[_Connections]:
        self._deadline = time.monotonic() + self._options.timeout
        yield self

    @contextlib.contextmanager
    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Iterator[_Answer]:
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise _TransportError("InvalidURL") from None
        key = (parts.scheme, parts.hostname or "", port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # Ours, not the caller's: this carrier decodes no content-encoding (a server that
        # compresses anyway is refused below).
        sent = {**_merged(headers, {"Accept-Encoding": "identity"}), "Connection": "keep-alive"}
        opened_in, connection, response = self._send(key, method, target, sent, body)
        kept = False
        try:
            encoding = (response.getheader("content-encoding") or "identity").strip().lower()
            if encoding != "identity":
                raise _TransportError(f"unsupported Content-Encoding {bounded_repr(encoding)}")
            yield _StdlibAnswer(response, url)
            # Reused only when the body was read to its end and the server keeps it open.
            finished = response.isclosed() or response.length == 0
            # ... and never across a restore (see after_restore).
            kept = finished and not response.will_close and opened_in == _GENERATION
        except TimeoutError:
            raise _TransportError("timed out", deadline=True) from None
        except (OSError, ValueError, _http_exception()) as exc:
            raise _TransportError(type(exc).__name__) from None
        finally:
            response.close()
            if kept:
                with self._lock:
                    self._idle[key] = (opened_in, connection)
            else:
                connection.close()

    def _send(
        self,
        key: tuple[str, str, int],
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> tuple[int, http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send the request on a kept connection, or on a new one.

        Returns the generation the connection was opened in, the connection, and the response
        (its headers read).
        """
        with self._lock:
            opened_in, connection = self._idle.pop(key, (_GENERATION, None))
        if connection is not None and (opened_in != _GENERATION or _unclean(connection)):
            # opened before a snapshot was restored, or bytes nobody asked for wait on it (a
            # body longer than declared, an unsolicited answer): never reused
            connection.close()
            connection = None
        while True:
            reused = connection is not None
            if connection is None:
                opened_in = _GENERATION
                connection = self._connect(*key)
            try:
                assert connection.sock is not None  # noqa: S101 - connected above
                connection.sock.settimeout(self.time_left())
                connection.request(method, target, body=body, headers=dict(headers))
                return opened_in, connection, connection.getresponse()
            except TimeoutError:
                connection.close()
                raise _TransportError("timed out", deadline=True) from None
            except (OSError, ValueError, _http_exception()) as exc:
                connection.close()
                # A kept connection the server closed meanwhile: once more, on a new one.
                if reused and isinstance(exc, ConnectionError | _remote_disconnected()):
                    connection = None
                    continue
                raise _TransportError(type(exc).__name__) from None

    def _open_socket(self, host: str, port: int) -> socket.socket:
        """A TCP connection to one of *host*'s addresses, each tried within what is left.

        ``socket.create_connection`` gives every address the whole connect timeout, so a name
        with several unreachable addresses could outlast the deadline. Here each address waits
        at most ``connect_timeout`` and the time left. (Resolving the name is not bounded: the
        system's resolver has no timeout to give.)
        """
        failure: OSError | None = None
        for family, kind, proto, _, address in socket.getaddrinfo(
            _ascii_host(host), port, 0, socket.SOCK_STREAM
        ):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(min(self._options.connect_timeout, self.time_left()))
                sock.connect(address)
            except OSError as exc:  # TimeoutError included: the next address, if time is left
                sock.close()
                failure = exc
                continue
            return sock
        raise failure or OSError(f"no address for {host!r}")

    def _connect(self, scheme: str, host: str, port: int) -> http.client.HTTPConnection:
        import http.client

        try:
            wait = min(self._options.connect_timeout, self.time_left())
        except TimeoutError:
            raise _TransportError("timed out", deadline=True) from None
        connection: http.client.HTTPConnection
        if scheme == "https":
            connection = _https_class()(host, port, timeout=wait, context=tls_context())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=wait)
        owner = self

        def response(sock: socket.socket, **kwargs: Any) -> http.client.HTTPResponse:
            return _response_class()(_DeadlineSocket(sock, owner), **kwargs)  # type: ignore[arg-type]

        def open_socket(address: tuple[str, int], *_: Any) -> socket.socket:
            sock = owner._open_socket(*address)
            try:  # the TLS handshake that follows waits only for the time left
                sock.settimeout(owner.time_left())
            except TimeoutError:
                sock.close()
                raise
            return sock

        connection.response_class = response  # type: ignore[assignment]
        connection._create_connection = open_socket  # type: ignore[attr-defined]  # noqa: SLF001
        try:
            # TCP within *wait*, then the TLS handshake within the time left (CPython bounds
            # a handshake as a whole by the socket's timeout, however the bytes trickle)
            connection.connect()
        except TimeoutError:
            connection.close()
            raise _TransportError("timed out", connect=True) from None
        except OSError:  # refused, unreachable, no such name, a certificate refused ...
            connection.close()
            raise _TransportError("connection failed", connect=True) from None
        return connection


def _unclean(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle connection has something to read (so it must not be reused).

    Either the server closed it, or bytes came after the last answer, which the next request
    would take for its own answer.
    """
    import select

    sock = connection.sock
    if sock is None:
        return True
    if getattr(sock, "pending", lambda: 0)():  # TLS bytes already decrypted
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


@contextlib.contextmanager
def _as_post_failure() -> Iterator[None]:
    """Setting up a POST's carrier fails as a POST does (the TLS roots could not be loaded)."""
    try:
        yield
    except KeySetUnavailableError as exc:
        raise TokenEndpointUnavailableError(str(exc)) from None


def _origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port of *url* (the default port made explicit)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or ""), port or (443 if scheme == "https" else 80)


def _ascii_host(host: str) -> str | bytes:
    """An ASCII host name as bytes, which ``getaddrinfo`` and ``ssl`` take as they are.

    Given ``str``, both encode it with the ``idna`` codec, whose first use imports
    ``encodings.idna``, ``stringprep`` and ``unicodedata`` (about 1.5 ms of a cold start). For an
    ASCII name that codec returns the same bytes; a name with a label it would refuse (empty,
    or longer than 63) is refused by the resolver instead, which the caller reports alike (a
    connection failure). A non-ASCII name stays ``str``: the codec turns it into its ``xn--``
    form, as before.
    """
    return host.encode("ascii") if host.isascii() else host


_HTTPS_CLASS: type[http.client.HTTPSConnection] | None = None


def _https_class() -> type[http.client.HTTPSConnection]:
    """``HTTPSConnection`` that hands ``ssl`` the host name as :func:`_ascii_host` gives it.

    The same context, the same TLS handshake, the same name checked against the certificate
    (``ssl`` decodes ASCII bytes to the same ``str``): only the ``idna`` codec is not loaded.
    No tunnel is ever set here (the library opens direct connections only).
    """
    global _HTTPS_CLASS  # noqa: PLW0603 - built once, on the first https connection
    if _HTTPS_CLASS is None:
        import http.client

        class _Https(http.client.HTTPSConnection):
            def connect(self) -> None:
                http.client.HTTPConnection.connect(self)  # TCP, through _create_connection
                self.sock = tls_context().wrap_socket(
                    self.sock, server_hostname=_ascii_host(self.host)
                )

        _HTTPS_CLASS = _Https
    return _HTTPS_CLASS


_MAX_INTERIM = 10
_RESPONSE_CLASS: type[http.client.HTTPResponse] | None = None


def _response_class() -> type[http.client.HTTPResponse]:
    """``HTTPResponse`` that skips interim (1xx) answers before the final one, as httpx does.

    ``http.client`` skips ``100 Continue`` only: a ``103 Early Hints`` would pass for the
    answer. ``101 Switching Protocols`` is final (we never ask to switch: it is refused as a
    status). At most ``_MAX_INTERIM`` interim answers, each head within http.client's limits.
    """
    global _RESPONSE_CLASS  # noqa: PLW0603 - built once, on the first own connection
    if _RESPONSE_CLASS is None:
        import http.client

        class _Response(http.client.HTTPResponse):
            def _read_status(self) -> tuple[str, int, str]:
                for _ in range(_MAX_INTERIM):
                    version, status, reason = super()._read_status()  # type: ignore[misc]
                    if not 102 <= status < 200:  # 100: begin() skips it; 101 is final
                        return version, status, reason
                    http.client.parse_headers(self.fp)
                raise http.client.HTTPException("too many interim answers")

        _RESPONSE_CLASS = _Response
    return _RESPONSE_CLASS


def _http_exception() -> type[Exception]:
    import http.client

    return http.client.HTTPException


def _remote_disconnected() -> type[Exception]:
    import http.client

    return http.client.RemoteDisconnected


# === Carrier 2: httpx (the async face, and clients of the caller's) ==============================
class _HttpxAnswer:
    __slots__ = ("_response",)

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def url(self) -> str:
        return str(self._response.url)

    def header(self, name: str) -> str | None:
        value: str | None = self._response.headers.get(name)
        return value

    def chunks(self) -> Iterator[bytes]:
        return self._response.iter_bytes()

    def async_chunks(self) -> AsyncIterator[bytes]:
        return self._response.aiter_bytes()


def _describe(exc: Exception) -> _TransportError:
    """An httpx exception as a :class:`_TransportError`."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return _TransportError("timed out", connect=True)
    if isinstance(exc, httpx.ConnectError):
        return _TransportError("connection failed", connect=True)
    if isinstance(exc, httpx.TimeoutException):
        return _TransportError("timed out")
    return _TransportError(type(exc).__name__)


def _httpx_errors() -> tuple[type[Exception], ...]:
    import httpx

    return (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError)


async def _within(exchange: Awaitable[T], timeout: float) -> T:
    """One async attempt: the whole exchange, headers included, under one deadline.

    A passed deadline or an httpx failure becomes a :class:`_TransportError` for the retry plan
    (:meth:`HttpFetcher._attempts`), as the sync carriers' failures do.
    """
    import asyncio

    try:
        return await asyncio.wait_for(exchange, timeout)
    except asyncio.TimeoutError:
        raise _TransportError("timed out", deadline=True) from None
    except _httpx_errors() as exc:
        raise _describe(exc) from None


class _Watchdog:
    """Cuts the connections a sync httpx request opened once its deadline passes.

    httpx times each socket read, not the whole exchange: response headers sent a byte at a
    time would never time out. The watchdog learns each socket the request connects (httpx's
    ``trace`` extension) and shuts it down at the deadline, which wakes the blocked read. Only
    a ``client=`` of the caller's needs it (our own connections bound each read). One that
    reuses a pooled connection opens none, so its headers are bounded only by its own read
    timeout (the body is always on the deadline).
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


class _HttpxSync:
    """A sync ``httpx.Client`` of the caller's, under a watchdog per exchange."""

    def __init__(self, client: httpx.Client, fetcher: HttpFetcher) -> None:
        self._client = client
        self._fetcher = fetcher
        self._watchdog: _Watchdog | None = None

    def prepare(self, url: str) -> None:
        """Nothing to prepare: the caller's client is ready."""

    @contextlib.contextmanager
    def deadline(self) -> Iterator[_HttpxSync]:
        with _Watchdog(self._fetcher.options.timeout) as watchdog:
            self._watchdog = watchdog
            yield self

    @contextlib.contextmanager
    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Iterator[_Answer]:
        watchdog = self._watchdog
        assert watchdog is not None  # noqa: S101 - inside deadline()
        try:
            with self._client.stream(
                method, url, headers=dict(headers), content=body,
                timeout=self._fetcher.httpx_timeout(), follow_redirects=False,
                extensions={"trace": watchdog.trace},
            ) as response:  # fmt: skip
                yield _HttpxAnswer(response)
        except _httpx_errors() as exc:
            if watchdog.fired:
                raise _TransportError("timed out", deadline=True) from None
            raise _describe(exc) from None


class _Carrier(Protocol):
    def prepare(self, url: str) -> None: ...

    def deadline(self) -> contextlib.AbstractContextManager[Any]: ...

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> contextlib.AbstractContextManager[_Answer]: ...


class _AsyncClients:
    """The httpx clients of one async fetch, made on first use: TLS roots only for https."""

    def __init__(self, fetcher: HttpFetcher) -> None:
        self._fetcher = fetcher
        self._clients: dict[bool, httpx.AsyncClient] = {}

    def client_for(self, url: str) -> httpx.AsyncClient:
        tls = url.lower().startswith("https:")
        client = self._clients.get(tls)
        if client is None:
            import httpx

            self._clients[tls] = client = httpx.AsyncClient(
                timeout=self._fetcher.httpx_timeout(),
                follow_redirects=False,
                verify=tls_context() if tls else _refuse_tls_context(),
            )
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


def _refuse_tls_context() -> ssl.SSLContext:
    """For a client opened for plain http: trusts nothing, so https through it fails closed."""
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


def _proxy_configured() -> bool:
    """Whether the environment names a proxy (httpx honours those; ``http.client`` doesn't)."""
    return any(os.environ.get(name) or os.environ.get(name.lower()) for name in _PROXY_VARIABLES)


@contextlib.contextmanager
def _own_httpx_client(fetcher: HttpFetcher) -> Iterator[_HttpxSync]:
    """A client of our own for one fetch behind a proxy, as the environment configures it.

    No keep-alive: every request opens its connection, so the watchdog always sees it.
    """
    import httpx

    with httpx.Client(
        timeout=fetcher.httpx_timeout(),
        follow_redirects=False,
        verify=tls_context(),
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        yield _HttpxSync(client, fetcher)


# === The policy ==================================================================================
class HttpFetcher:
    """GETs JSON documents and POSTs forms with timeouts, a size cap, retries and the URL policy.

    Without a user-supplied client, each fetch (discovery and JWKS together) gets connections
    of its own, closed when it ends: key sets are fetched about once an hour, and a connection
    that outlived its fetch would be copied into every process restored from a snapshot.

    Args:
        options: Limits, headers and optional user-supplied clients.
        monotonic: Clock for the total-time limit on the body (injected by tests).
    """

    def __init__(self, options: FetchOptions, monotonic: Callable[[], float] = time.monotonic):
        self.options = options
        self._monotonic = monotonic
        # Names merge case-insensitively: a user's "user-agent" replaces ours.
        self._headers = _merged(
            {"User-Agent": f"cognito-jwt/{__version__}", "Accept": "application/json"},
            options.headers,
        )

    def httpx_timeout(self) -> httpx.Timeout:
        """The timeouts of an httpx request (each socket operation; see :class:`_Watchdog`)."""
        import httpx

        return httpx.Timeout(self.options.timeout, connect=self.options.connect_timeout)

    def _check(self, url: str, error: type[JwtError] = KeySetUnavailableError) -> None:
        """The URL policy (:func:`check_url`), and no credentials in the URL.

        A ``user:password@`` part is refused, without the URL in the message: it would be in
        every message and log line naming the URL (and ``http.client`` would not send it).
        Credentials go in ``FetchOptions(headers=...)``.
        """
        try:
            netloc = urlsplit(url).netloc
        except ValueError:
            netloc = url  # not a URL check_url accepts; no '@' may reach its message either
        if "@" in netloc:
            raise error(
                "a URL with credentials (user:password@host) is refused; send them in "
                "FetchOptions(headers=...)"
            )
        try:
            check_url(url, allow_insecure_http=self.options.allow_insecure_http)
        except ConfigurationError as exc:
            raise error(str(exc)) from None

    def _headers_for(self, first: str, url: str) -> dict[str, str]:
        """The request headers for *url*, redirected to from *first*.

        Headers of the caller's (``FetchOptions.headers``: an API key, ``Authorization``) stay
        with the origin (scheme, host, port) they were configured for: a redirect to another
        origin carries only ``User-Agent`` and ``Accept``.
        """
        if _origin(first) == _origin(url):
            return self._headers
        return {
            name: value
            for name, value in self._headers.items()
            if name.lower() in ("user-agent", "accept")
        }

    def _next_url(self, answer: _Answer, url: str, hops: int) -> str | None:
        """The redirect target to follow, ``None`` to stop; raises if not allowed."""
        location = answer.header("location")
        if answer.status not in _REDIRECTS or location is None:
            if answer.status != 200:
                raise KeySetUnavailableError(
                    f"GET {url} answered HTTP {answer.status}", status_code=answer.status
                )
            return None
        if not self.options.follow_redirects:
            raise KeySetUnavailableError(
                f"GET {url} answered HTTP {answer.status} (redirects are not followed; "
                "configure the final URL, or FetchOptions(follow_redirects=True))",
                status_code=answer.status,
            )
        if hops >= _MAX_REDIRECTS:
            raise KeySetUnavailableError(f"GET {url}: more than {_MAX_REDIRECTS} redirects")
        target = urljoin(url, location)
        self._check(target)
        return target

    def _attempts(self, what: str, error: type[JwtError]) -> Generator[None, T, T]:
        """The retry policy of a request, written once for every carrier and face (a plan).

        Each ``yield`` asks the driver for one attempt (:func:`run_plan` or
        :func:`run_plan_async` with the face's ``_once``), which sends back the answer or
        throws in the carrier's failure, described as a :class:`_TransportError` (httpx's
        exceptions through :func:`_describe`: the plan imports no carrier). A connection that
        could not be made is retried up to ``retries`` times (the request never left); a
        passed deadline or any other transport failure is *error* at once. A typed
        :class:`JwtError` (a refused answer, the size cap) passes through.
        """
        attempt = 0
        while True:
            try:
                return (yield None)
            except _TransportError as exc:  # noqa: PERF203 - retry loop
                if exc.deadline:
                    raise _timed_out(what, self.options.timeout, error) from None
                if not exc.connect or attempt >= self.options.retries:
                    raise error(f"{what}: {exc.description}") from None
                attempt += 1

    # Sync face ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Callable[[str], Fetched]]:
        """Yield a ``get(url)`` that shares connections for the requests of one fetch."""
        if self.options.client is not None:
            carrier = _HttpxSync(self.options.client, self)
            yield lambda url: self._get(carrier, url)
            return
        if _proxy_configured():
            with _own_httpx_client(self) as proxied:
                yield lambda url: self._get(proxied, url)
            return
        with _Connections(self.options) as own:
            yield lambda url: self._get(own, url)

    def get(self, url: str) -> Fetched:
        """GET *url* and return its body.

        Raises:
            KeySetUnavailableError: Refused URL, network failure, timeout, non-200 answer,
                body over the size cap.
        """
        with self.session() as get:
            return get(url)

    def _get(self, carrier: _Carrier, url: str) -> Fetched:
        self._check(url)
        carrier.prepare(url)
        plan: Generator[None, Fetched, Fetched] = self._attempts(
            f"GET {url}", KeySetUnavailableError
        )
        return run_plan(plan, lambda _: self._get_once(carrier, url))

    def _get_once(self, carrier: _Carrier, url: str) -> Fetched:
        limits = _Limits(url, self.options, self._monotonic)
        first = url
        with carrier.deadline():
            for hops in range(_MAX_REDIRECTS + 1):
                headers = self._headers_for(first, url)
                with carrier.request("GET", url, headers) as answer:
                    target = self._next_url(answer, url, hops)
                    if target is None:
                        limits.check_headers(answer)
                        for chunk in answer.chunks():
                            limits.add(chunk)
                        return limits.result(answer)
                url = target
        raise AssertionError("unreachable")  # pragma: no cover - _next_url bounds the hops

    # Async face ---------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def session_async(self) -> AsyncIterator[Callable[[str], Awaitable[Fetched]]]:
        """Like :meth:`session`, for the async face."""
        user = self.options.async_client
        if user is not None:
            yield lambda url: self._get_async(lambda _url: user, url)
            return
        own = _AsyncClients(self)
        try:
            yield lambda url: self._get_async(own.client_for, url)
        finally:
            await own.aclose()

    async def get_async(self, url: str) -> Fetched:
        """GET *url* like :meth:`get`, without blocking the event loop.

        Raises:
            KeySetUnavailableError: As :meth:`get`.
        """
        async with self.session_async() as get:
            return await get(url)

    async def _get_async(self, client_for: Callable[[str], httpx.AsyncClient], url: str) -> Fetched:
        self._check(url)
        client_for(url)  # made (httpx imported) before the deadline starts, not on its time
        plan: Generator[None, Fetched, Fetched] = self._attempts(
            f"GET {url}", KeySetUnavailableError
        )
        return await run_plan_async(
            plan, lambda _: _within(self._exchange_async(client_for, url), self.options.timeout)
        )

    async def _exchange_async(
        self, client_for: Callable[[str], httpx.AsyncClient], url: str
    ) -> Fetched:
        limits = _Limits(url, self.options, self._monotonic)
        first = url
        for hops in range(_MAX_REDIRECTS + 1):
            async with client_for(url).stream(
                "GET", url, headers=self._headers_for(first, url), timeout=self.httpx_timeout(),
                follow_redirects=False,
            ) as response:  # fmt: skip
                answer = _HttpxAnswer(response)
                target = self._next_url(answer, url, hops)
                if target is None:
                    limits.check_headers(answer)
                    async for chunk in answer.async_chunks():
                        limits.add(chunk)
                    return limits.result(answer)
            url = target
        raise AssertionError("unreachable")  # pragma: no cover - _next_url bounds the hops

    # POST (token, introspection and AWS JSON endpoints) ----------------------------------------
    # Never redirected (credentials would follow the redirect), retried only when the connection
    # could not be made (the request never left), and every failure is a
    # TokenEndpointUnavailableError. Field values are secrets: they never reach a message.
    def _post_check(self, url: str) -> None:
        self._check(url, TokenEndpointUnavailableError)

    def _posted(self, url: str, answer: _Answer, limits: _Limits) -> Posted:
        if answer.status in _REDIRECTS and answer.header("location") is not None:
            raise TokenEndpointUnavailableError(
                f"POST {url} answered HTTP {answer.status} (a redirect: the request is "
                "not repeated elsewhere; configure the final token endpoint URL)",
                status_code=answer.status,
            )
        return Posted(
            url,
            answer.status,
            (answer.header("content-type") or "").lower(),
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
        return self._post(url, *self._form_payload(fields, headers))

    def post_json(
        self, url: str, document: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """POST *document* as JSON to *url*, like :meth:`post_form` (an AWS JSON API call).

        *headers* may replace ``Content-Type`` (``application/x-amz-json-1.1``).

        Raises:
            TokenEndpointUnavailableError: As :meth:`post_form`.
        """
        return self._post(url, *self._json_payload(document, headers))

    def _form_payload(
        self, fields: FormFields, headers: Mapping[str, str] | None
    ) -> tuple[dict[str, str], bytes]:
        """The request headers (the caller's merged over ours) and the form-encoded body."""
        body = urlencode(fields, doseq=True).encode("ascii")
        content = {"Content-Type": "application/x-www-form-urlencoded"}
        return _merged(self._headers, _merged(content, headers)), body

    def _json_payload(
        self, document: Mapping[str, Any], headers: Mapping[str, str] | None
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(document, separators=(",", ":")).encode()
        content = {"Content-Type": "application/json"}
        return _merged(self._headers, _merged(content, headers)), body

    def _post(self, url: str, headers: dict[str, str], body: bytes) -> Posted:
        self._post_check(url)
        client = self.options.client
        if client is not None:
            return self._post_with(_HttpxSync(client, self), url, headers, body)
        with _as_post_failure():
            if _proxy_configured():
                with _own_httpx_client(self) as proxied:
                    return self._post_with(proxied, url, headers, body)
            with _Connections(self.options) as own:
                return self._post_with(own, url, headers, body)

    def _post_with(
        self, carrier: _Carrier, url: str, headers: dict[str, str], body: bytes
    ) -> Posted:
        with _as_post_failure():
            carrier.prepare(url)
        plan: Generator[None, Posted, Posted] = self._attempts(
            f"POST {url}", TokenEndpointUnavailableError
        )
        return run_plan(plan, lambda _: self._post_once(carrier, url, headers, body))

    def _post_once(
        self, carrier: _Carrier, url: str, headers: dict[str, str], body: bytes
    ) -> Posted:
        limits = _Limits(
            url, self.options, self._monotonic, method="POST", error=TokenEndpointUnavailableError
        )
        with carrier.deadline(), carrier.request("POST", url, headers, body) as answer:
            limits.check_headers(answer)
            for chunk in answer.chunks():
                limits.add(chunk)
            return self._posted(url, answer, limits)

    async def post_form_async(
        self, url: str, fields: FormFields, *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """Like :meth:`post_form`, without blocking the event loop."""
        return await self._post_async(url, *self._form_payload(fields, headers))

    async def post_json_async(
        self, url: str, document: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
    ) -> Posted:
        """Like :meth:`post_json`, without blocking the event loop."""
        return await self._post_async(url, *self._json_payload(document, headers))

    async def _post_async(self, url: str, headers: dict[str, str], body: bytes) -> Posted:
        self._post_check(url)
        user = self.options.async_client
        if user is not None:
            return await self._post_async_with(user, url, headers, body)
        own = _AsyncClients(self)
        try:
            with _as_post_failure():
                client = own.client_for(url)
            return await self._post_async_with(client, url, headers, body)
        finally:
            await own.aclose()

    async def _post_async_with(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes
    ) -> Posted:
        plan: Generator[None, Posted, Posted] = self._attempts(
            f"POST {url}", TokenEndpointUnavailableError
        )
        return await run_plan_async(
            plan,
            lambda _: _within(
                self._post_once_async(client, url, headers, body), self.options.timeout
            ),
        )

    async def _post_once_async(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes
    ) -> Posted:
        limits = _Limits(
            url, self.options, self._monotonic, method="POST", error=TokenEndpointUnavailableError
        )
        async with client.stream(
            "POST", url, headers=headers, content=body, timeout=self.httpx_timeout(),
            follow_redirects=False,
        ) as response:  # fmt: skip
            answer = _HttpxAnswer(response)
            limits.check_headers(answer)
            async for chunk in answer.async_chunks():
                limits.add(chunk)
            return self._posted(url, answer, limits)
