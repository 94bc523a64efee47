"""Fixtures that start a real OpenID provider (oidc-provider on Node.js) on 127.0.0.1.

Missing Node.js or a provider that does not start is a test error, never a skip. The same goes
for the Redis and DynamoDB (MiniStack) fixtures at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers.ministack import MiniStack
from tests.servers.oidc import OidcProvider
from tests.servers.redis_server import RedisServer


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One provider for the whole session, holding a key for every algorithm.

    Shared: tests must not rotate, retire or stop it (use ``fresh_oidc_provider`` for that).
    """
    with OidcProvider() as provider:
        yield provider


@pytest.fixture
def oidc_provider_factory() -> Iterator[Callable[..., OidcProvider]]:
    """Start providers with ``OidcProvider`` keyword arguments; all are closed after the test.

    ``algorithms=("RS256", "ES256")`` starts faster than the default (every algorithm).
    """
    started: list[OidcProvider] = []

    def make(**kwargs: Any) -> OidcProvider:
        provider = OidcProvider(**kwargs)
        started.append(provider)
        provider.start()
        return provider

    yield make
    for provider in reversed(started):
        provider.close()


@pytest.fixture
def fresh_oidc_provider(oidc_provider_factory: Callable[..., OidcProvider]) -> OidcProvider:
    """A provider of this test's own (every algorithm), free to rotate, retire or stop."""
    return oidc_provider_factory()


# --- Redis ---------------------------------------------------------------------------------------
# A real redis-server on 127.0.0.1 (tests/servers/redis_server.py). No binary is an error, never
# a skip.
@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis for the session; tests keep apart by their own ``redis_namespace``.

    Shared: tests must not stop, kill or pause it (use ``redis_server_factory`` for that).
    """
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[[], RedisServer]]:
    """Start Redis servers of this test's own, free to kill and restart; closed after it."""
    started: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer()
        started.append(server)
        return server.start()

    yield make
    for server in reversed(started):
        server.close()


@pytest.fixture
def redis_namespace() -> str:
    """A key prefix of this test's own in the shared Redis."""
    return f"test-{uuid.uuid4().hex[:12]}"


# --- DynamoDB ------------------------------------------------------------------------------------
# DynamoDB as MiniStack serves it, on 127.0.0.1 (tests/servers/ministack.py).
@pytest.fixture(scope="session")
def dynamodb_server() -> Iterator[MiniStack]:
    """One emulator for the session; tests keep apart by their own ``dynamodb_table``.

    Shared: tests must not stop it (start a ``MiniStack`` of their own for that).
    """
    with MiniStack() as server:
        yield server


@pytest.fixture
def dynamodb_table(dynamodb_server: MiniStack) -> str:
    """A table of this test's own, made as the DynamoDB guide says (``pk``, TTL on expires_at)."""
    from cognito_jwt.stores._dynamodb import create_table

    name = f"test-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_server.client("dynamodb"), name)
    return name
