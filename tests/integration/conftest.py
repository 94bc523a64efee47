"""Fixtures that start a real OpenID provider (oidc-provider on Node.js) on 127.0.0.1.

Missing Node.js or a provider that does not start is a test error, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.servers.oidc import OidcProvider


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
