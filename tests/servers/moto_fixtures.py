"""Pytest fixtures around `MotoCognito`; import them into a conftest (or a test module).

``from tests.servers.moto_fixtures import moto_cognito  # noqa: F401``

If moto cannot start, the fixture raises, so every test that uses it errors: it never skips.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.moto_cognito import MotoCognito

__all__ = ["moto_cognito"]


@pytest.fixture(scope="session")
def moto_cognito() -> Iterator[MotoCognito]:
    """A started moto Cognito IdP on 127.0.0.1 with a pool, two clients, a group and a user."""
    server = MotoCognito()
    server.start()
    try:
        yield server
    finally:
        server.stop()
