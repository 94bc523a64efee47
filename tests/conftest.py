from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from cognito_jwt import CognitoVerifier, JwtVerifier

from .helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    OIDC_ISSUER,
    POOL_ID,
    SigningKey,
    all_jwks,
    all_keys,
)

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


# --- Network guard: tests never leave the machine ----------------------------------------------
_real_connect = socket.socket.connect


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host == "localhost":
            return True
        try:
            ip = ipaddress.ip_address(host)
            mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
            return ip.is_loopback or (mapped is not None and mapped.is_loopback)
        except ValueError:
            return False
    return True  # AF_UNIX paths


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        raise OSError(f"tests must not reach the network (tried {address!r})")
    _real_connect(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    # A verifier built with the default store writes here, never to the user's cache directory.
    os.environ["COGNITO_JWT_CACHE_DIR"] = tempfile.mkdtemp(prefix="cognito-jwt-tests-")


# --- Keys, clock and verifiers -------------------------------------------------------------------
@pytest.fixture(scope="session")
def keys() -> dict[str, SigningKey]:
    """One signing key per supported algorithm."""
    return all_keys()


@pytest.fixture(scope="session")
def jwks() -> dict[str, Any]:
    """The public JWKS of every key in ``keys``."""
    return all_jwks()


@pytest.fixture
def clock() -> Callable[[], float]:
    return lambda: float(FIXED_NOW)


@pytest.fixture
def make_cognito(jwks: dict[str, Any]) -> Callable[..., CognitoVerifier]:
    """Build a CognitoVerifier for the test pool with the fixed clock; kwargs override."""

    def make(**kwargs: Any) -> CognitoVerifier:
        options: dict[str, Any] = {
            "user_pool_id": POOL_ID,
            "client_id": CLIENT_ID,
            "token_use": "access",
            "jwks": jwks,
            "clock": lambda: float(FIXED_NOW),
        }
        options.update(kwargs)
        return CognitoVerifier(**options)

    return make


@pytest.fixture
def make_oidc(jwks: dict[str, Any]) -> Callable[..., JwtVerifier]:
    """Build a JwtVerifier for the test OIDC issuer with every algorithm and the fixed clock."""

    def make(**kwargs: Any) -> JwtVerifier:
        options: dict[str, Any] = {
            "issuer": OIDC_ISSUER,
            "audience": AUDIENCE,
            "jwks": jwks,
            "clock": lambda: float(FIXED_NOW),
        }
        options.update(kwargs)
        return JwtVerifier(**options)

    return make
