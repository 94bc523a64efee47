"""Every web adapter validates its options the same way (shared in adapters/_web.py)."""

from __future__ import annotations

from typing import Any

import pytest

from cognito_jwt import JwtVerifier
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.fastapi import require_token
from cognito_jwt.adapters.wsgi import BearerAuthMiddleware as WsgiMiddleware
from tests.helpers import all_jwks


def _app(*args: Any) -> None:  # pragma: no cover - never called
    return None


def _verifier() -> JwtVerifier:
    return JwtVerifier(issuer="https://login.example.com", audience=None, jwks=all_jwks())


BUILDERS = {
    "wsgi": lambda **kw: WsgiMiddleware(_app, _verifier(), **kw),
    "asgi": lambda **kw: AsgiMiddleware(_app, _verifier(), **kw),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"scopes": "orders/write"}, TypeError),
        ({"groups": "admins"}, TypeError),
        ({"exclude_paths": "/health"}, TypeError),
        ({"exclude_paths": ["health"]}, ValueError),
        ({"scopes": ["orders/write", 3]}, TypeError),
    ],
)
def test_middleware_options_are_checked_alike(
    build: Any, options: dict[str, Any], error: type
) -> None:
    with pytest.raises(error):
        build(**options)


@pytest.mark.parametrize("options", [{"scopes": "orders/write"}, {"groups": "admins"}])
def test_fastapi_requirements_are_checked_alike(options: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        require_token(_verifier(), **options)
