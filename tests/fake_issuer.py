"""A controllable fake issuer on ``httpx.MockTransport``, a mutable clock and a sync/async runner.

Nothing here touches the network or sleeps: the issuer answers from memory, blocks on events the
test controls, and "slow" bodies advance an injected monotonic clock instead of taking time.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx

from cognito_jwt import FetchOptions
from tests.helpers import (
    FIXED_NOW,
    OIDC_ISSUER,
    SigningKey,
    _signing_key,
    access_claims,
    jwks_of,
    oidc_claims,
    rsa_private,
)


@cache
def key_a() -> SigningKey:
    """The issuer's first RSA key (kid ``rsa-a``)."""
    return _signing_key("RS256", rsa_private(2048, 0), "rsa-a")


@cache
def key_b() -> SigningKey:
    """The key it rotates to (kid ``rsa-b``)."""
    return _signing_key("RS256", rsa_private(2048, 1), "rsa-b")


WAIT = 10.0  # upper bound for every wait on an event, join or task: never reached when all is well

FAILURE_MODES = (
    "500",
    "404",
    "timeout",
    "connect_timeout",
    "connect",
    "html",
    "notjson",
    "nokeys",
    "huge",
    "trickle",
    "redirect",
    "gzip_bomb",
)


class FakeClock:
    """A clock that only moves when told to: ``clock()`` returns ``clock.now``."""

    def __init__(self, now: float = FIXED_NOW) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeIssuer:
    """An OIDC issuer (discovery document + JWKS) served by ``httpx.MockTransport``.

    Args:
        issuer: The issuer string the metadata names (and tokens carry).
        base: Origin that serves the JWKS (default: the issuer's origin).
        keys: The keys published at first.
        cache_control: ``Cache-Control`` sent with the JWKS, if any.
    """

    def __init__(
        self,
        issuer: str = OIDC_ISSUER,
        *,
        base: str | None = None,
        keys: tuple[SigningKey, ...] = (),
        cache_control: str | None = None,
    ) -> None:
        self.issuer = issuer
        issuer_parts = urlsplit(issuer)
        origin = urlsplit(base or issuer)
        self.origin = f"{origin.scheme}://{origin.netloc}"
        self.jwks_path = "/jwks"
        self.jwks_uri = self.origin + self.jwks_path
        issuer_path = issuer_parts.path.rstrip("/")
        self.oidc_path = issuer_path + "/.well-known/openid-configuration"
        self.oauth_path = "/.well-known/oauth-authorization-server" + issuer_path
        self.document: Mapping[str, Any] = jwks_of(*keys)
        self.cache_control = cache_control
        self.metadata: dict[str, Any] = {"issuer": issuer, "jwks_uri": self.jwks_uri}
        self.metadata_at: set[str] = {self.oidc_path}
        self.extra: dict[str, Callable[[httpx.Request, bool], httpx.Response]] = {}
        # failure modes: path -> mode; "*" applies to every path
        self.failures: dict[str, str] = {}
        self.redirect_to = self.origin + "/elsewhere"
        self.huge_size = 8 * 1024 * 1024
        self.chunk_size = 64 * 1024
        self.chunks_sent = 0
        self.monotonic = FakeClock(0.0)
        self.trickle_step = 1.0
        # bookkeeping
        self._lock = threading.Lock()
        self.hits: collections.Counter[str] = collections.Counter()
        self.requests: list[httpx.Request] = []
        # blocking (sync handler): the request for `block_path` waits for `gate`
        self.block_path: str | None = None
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.blocked = 0
        # blocking (async handler)
        self.async_block_path: str | None = None
        self.async_gate: asyncio.Event | None = None
        self.async_entered: asyncio.Event | None = None

    # Control ----------------------------------------------------------------------------------
    def rotate(self, *keys: SigningKey) -> None:
        """Publish exactly *keys* from now on."""
        self.document = jwks_of(*keys)

    def fail(self, mode: str, path: str = "*") -> None:
        """Answer requests for *path* (default every path) with failure *mode*."""
        assert mode in FAILURE_MODES, mode
        self.failures[path] = mode

    def recover(self) -> None:
        self.failures.clear()

    def block(self, path: str | None = None) -> None:
        """Make sync requests for *path* (default the JWKS) wait until :meth:`release`."""
        self.gate.clear()
        self.entered.clear()
        self.block_path = path or self.jwks_path

    def release(self) -> None:
        self.gate.set()

    def block_async(self, path: str | None = None) -> None:
        """Make async requests for *path* wait on an ``asyncio.Event`` (call inside the loop)."""
        self.async_gate = asyncio.Event()
        self.async_entered = asyncio.Event()
        self.async_block_path = path or self.jwks_path

    def count(self, path: str | None = None) -> int:
        """Requests received for *path* (default the JWKS)."""
        with self._lock:
            return self.hits[path or self.jwks_path]

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    # Clients ----------------------------------------------------------------------------------
    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self._sync_handler))

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self._async_handler))

    def fetch_options(self, **kwargs: Any) -> FetchOptions:
        return FetchOptions(client=self.client(), async_client=self.async_client(), **kwargs)

    # Handlers ---------------------------------------------------------------------------------
    def _record(self, request: httpx.Request) -> None:
        with self._lock:
            self.hits[request.url.path] += 1
            self.requests.append(request)

    def _sync_handler(self, request: httpx.Request) -> httpx.Response:
        self._record(request)
        document = self.document  # what was published when the request arrived
        if self.block_path == request.url.path:
            with self._lock:
                self.blocked += 1
            self.entered.set()
            if not self.gate.wait(WAIT):
                raise httpx.ReadTimeout("test gate never opened", request=request)
        return self._respond(request, document, is_async=False)

    async def _async_handler(self, request: httpx.Request) -> httpx.Response:
        self._record(request)
        document = self.document
        if self.async_block_path == request.url.path:
            assert self.async_gate is not None
            assert self.async_entered is not None
            self.async_entered.set()
            await asyncio.wait_for(self.async_gate.wait(), WAIT)
        return self._respond(request, document, is_async=True)

    def _respond(
        self, request: httpx.Request, document: Mapping[str, Any], *, is_async: bool
    ) -> httpx.Response:
        path = request.url.path
        mode = self.failures.get(path) or self.failures.get("*")
        if mode is not None:
            return self._failure(request, mode, is_async=is_async)
        if path in self.extra:
            return self.extra[path](request, is_async)
        if path in self.metadata_at:
            return httpx.Response(200, json=self.metadata)
        if path == self.jwks_path:
            headers = {"cache-control": self.cache_control} if self.cache_control else {}
            return httpx.Response(200, json=document, headers=headers)
        return httpx.Response(404, text="not found")

    def _failure(self, request: httpx.Request, mode: str, *, is_async: bool) -> httpx.Response:
        # a dispatch table would hide the raises; one branch per mode reads best here
        if mode in ("500", "404"):
            return httpx.Response(int(mode), text="nope")
        if mode == "timeout":
            raise httpx.ReadTimeout("read timed out", request=request)
        if mode == "connect_timeout":
            raise httpx.ConnectTimeout("connect timed out", request=request)
        if mode == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if mode == "html":
            return httpx.Response(200, html="<html><body>Service Unavailable</body></html>")
        if mode == "notjson":
            return httpx.Response(200, content=b'{"keys": [', headers={"content-type": "json"})
        if mode == "nokeys":
            return httpx.Response(200, json={"keys": []})
        if mode == "redirect":
            return httpx.Response(302, headers={"location": self.redirect_to})
        if mode == "gzip_bomb":
            body = gzip.compress(b" " * self.huge_size)
            return httpx.Response(200, content=body, headers={"content-encoding": "gzip"})
        if mode == "huge":
            count = self.huge_size // self.chunk_size
            chunk = b" " * self.chunk_size
            return httpx.Response(200, content=self.stream([chunk] * count, is_async=is_async))
        assert mode == "trickle"
        chunks = [b" "] * 100
        return httpx.Response(
            200,
            content=self.stream(chunks, is_async=is_async, step=self.trickle_step),
        )

    def stream(
        self, chunks: list[bytes], *, is_async: bool, step: float = 0.0
    ) -> Iterator[bytes] | AsyncIterator[bytes]:
        """A streamed body that counts the chunks it hands out and advances ``monotonic``."""

        def sync_gen() -> Iterator[bytes]:
            for chunk in chunks:
                self.chunks_sent += 1
                self.monotonic.advance(step)
                yield chunk

        async def async_gen() -> AsyncIterator[bytes]:
            for chunk in chunks:
                self.chunks_sent += 1
                self.monotonic.advance(step)
                yield chunk

        return async_gen() if is_async else sync_gen()


# Tokens ---------------------------------------------------------------------------------------
def oidc_token(key: SigningKey, now: float, **overrides: Any) -> str:
    """A generic OIDC token for ``OIDC_ISSUER`` valid at *now*."""
    claims = oidc_claims(iat=int(now) - 10, exp=int(now) + 600)
    claims.update(overrides)
    return key.sign(claims)


def cognito_token(key: SigningKey, now: float, **overrides: Any) -> str:
    """A Cognito access token for the test pool valid at *now*."""
    claims = access_claims(iat=int(now) - 60, auth_time=int(now) - 60, exp=int(now) + 3600)
    claims.update(overrides)
    return key.sign(claims)


# Sync / async runner ---------------------------------------------------------------------------
class Runner:
    """Drives a verifier through its sync or its async face with one event loop per test.

    The async face keeps one loop for the whole test, so background refresh tasks started by one
    verification are still there to be awaited (``settle``) afterwards.
    """

    def __init__(self, mode: str) -> None:
        assert mode in ("sync", "async")
        self.mode = mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None

    @property
    def is_async(self) -> bool:
        return self.loop is not None

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        assert self.loop is not None
        return self.loop.run_until_complete(asyncio.wait_for(coro, WAIT))

    def verify(self, verifier: Any, token: str) -> Any:
        if self.loop is None:
            return verifier.verify(token)
        return self.run(verifier.verify_async(token))

    def refresh(self, verifier: Any) -> None:
        if self.loop is None:
            verifier.refresh()
        else:
            self.run(verifier.refresh_async())

    def hydrate(self, verifier: Any) -> None:
        if self.loop is None:
            verifier.hydrate()
        else:
            self.run(verifier.hydrate_async())

    def settle(self, verifier: Any) -> None:
        """Wait for the background refresh a verification may have started."""
        source = verifier._keys
        if self.loop is None:
            source.join_background(WAIT)
            assert source._flights.background is None or not source._flights.background.is_alive()
        else:
            self.run(drain(source))

    def close(self) -> None:
        if self.loop is None:
            return
        loop = self.loop
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def drain(source: Any) -> None:
    """Await every background task and shared fetch of a RemoteKeySource on this loop."""
    for _ in range(10):
        tasks = [*source._flights.tasks, *source._flights.by_loop.values()]
        pending = [t for t in tasks if not t.done()]
        if not pending:
            return
        await asyncio.gather(*pending, return_exceptions=True)
    raise AssertionError("background tasks kept appearing")
