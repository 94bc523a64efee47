"""Starlette apps for benchmarks/bench_asgi.py: the same route, open and behind four kinds of auth.

* ``open_app``: no auth at all (what the server and Starlette cost);
* ``protected``: cognito-jwt's ``BearerAuthMiddleware`` around a ``JwtVerifier``;
* ``protected_cached``: the same with the verified-token cache on (``token_cache_size=1024``);
* ``pyjwt``: a hand-written middleware of the kind people write with PyJWT: ``PyJWKClient``
  (its key caches on) and ``jwt.decode`` with the same checks (``iss``, ``aud``, ``exp``
  required), a 401 with ``WWW-Authenticate: Bearer`` on any failure.

The issuer comes from ``$BENCH_ISSUER`` (a ``LocalIssuer`` in the benchmark process).
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cognito_jwt import JwtVerifier
from cognito_jwt.adapters.asgi import BearerAuthMiddleware

ISSUER = os.environ["BENCH_ISSUER"]
AUDIENCE = "api"


async def orders(request: Request) -> JSONResponse:
    claims = getattr(request.state, "claims", None)
    return JSONResponse({"orders": [], "sub": claims["sub"] if claims else None})


def _app() -> Starlette:
    return Starlette(routes=[Route("/orders", orders)])


class PyJwtMiddleware:
    """Bearer auth the way it is often written by hand with PyJWT."""

    def __init__(self, app: ASGIApp, *, jwks_uri: str, issuer: str, audience: str) -> None:
        import jwt

        self.app = app
        self.jwt = jwt
        self.client = jwt.PyJWKClient(jwks_uri, cache_jwk_set=True, cache_keys=True)
        self.issuer = issuer
        self.audience = audience

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Verify the bearer token, then call the app; a 401 for anything else."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        claims: dict[str, Any] | None = None
        if scheme.lower() == "bearer" and token:
            try:
                key = self.client.get_signing_key_from_jwt(token)
                claims = self.jwt.decode(
                    token,
                    key,
                    algorithms=["RS256"],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "iss", "aud"]},
                )
            except self.jwt.PyJWTError:
                claims = None
        if claims is None:
            response = JSONResponse(
                {"detail": "unauthorized"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["claims"] = claims
        await self.app(scope, receive, send)


open_app = _app()
verifier = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, store=None)
protected = BearerAuthMiddleware(_app(), verifier)
cached_verifier = JwtVerifier(issuer=ISSUER, audience=AUDIENCE, store=None, token_cache_size=1024)
protected_cached = BearerAuthMiddleware(_app(), cached_verifier)
pyjwt = PyJwtMiddleware(
    _app(), jwks_uri=f"{ISSUER}/.well-known/jwks.json", issuer=ISSUER, audience=AUDIENCE
)
