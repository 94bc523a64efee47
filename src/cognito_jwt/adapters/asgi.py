"""ASGI middleware: verify the bearer token of HTTP requests and WebSocket handshakes.

```python
from starlette.applications import Starlette

from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.asgi import BearerAuthMiddleware

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789abcdefghij", token_use="access"
)
app = BearerAuthMiddleware(Starlette(routes=[...]), verifier, exclude_paths=["/health"])
```

Plain ASGI 3, no framework imported: it wraps Starlette, FastAPI, Quart, Django (ASGI) or
any other ASGI application.

* ``http`` and ``websocket`` connections are checked; ``lifespan`` (and any other scope type)
  passes through untouched.
* The token comes from exactly one ``Authorization: Bearer <token>`` header (RFC 6750 §2.1)
  or, when configured and no ``Authorization`` header was sent, from a cookie or another header.
* Verification is ``await verifier.verify_async(token)``: key fetches never block the loop.
* On success the claims are put in ``scope["state"]["claims"]`` (Starlette and FastAPI:
  ``request.state.claims``, ``websocket.state.claims``) and in ``scope["cognito_jwt.claims"]``.
* With ``token_source="alb"`` (behind an Application Load Balancer, with an ``AlbVerifier``)
  the token is the ``x-amzn-oidc-data`` header, never ``Authorization``; the unsigned
  ``x-amzn-oidc-identity`` and ``x-amzn-oidc-accesstoken`` headers are removed from the scope
  and put back only once that token verified, with an
  :class:`~cognito_jwt.adapters.alb.AlbIdentity` in ``scope["state"]["alb"]`` and
  ``scope["cognito_jwt.alb"]``.
* On failure an HTTP request gets the RFC 6750 answer: 401 (missing or invalid token), 403
  (``insufficient_scope``) or 503 (keys unavailable, with ``Retry-After``), each with a JSON
  body ``{"error", "error_description", "code"}`` that never contains the token, nor the
  detailed reason (it names the expected issuer and audiences): that is logged to the
  ``cognito_jwt`` logger. A WebSocket handshake is refused before it is accepted:
  ``websocket.close`` with code 1008 (policy violation), or 1011 when keys are unavailable;
  servers such as uvicorn answer that handshake with HTTP 403.
* CORS preflight requests (``OPTIONS`` with ``Access-Control-Request-Method``) pass, since
  browsers never send credentials on them; put a CORS middleware inside this one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from .. import AsyncVerifier, JwtError
from ._web import (
    ALB_KEY,
    DATA_HEADER,
    IDENTITY_HEADER,
    MISSING_ALB,
    TOKEN_HEADER,
    PathRules,
    Rejection,
    TokenSource,
    alb_identity,
    alb_mode,
    check_requirements,
    cookie_value,
    data_token,
    names,
    rejection_for,
    request_token,
    text_option,
    unauthenticated,
)

__all__ = [
    "FASTAPI_DOCS_PATHS",
    "ASGIApp",
    "AsyncVerifier",
    "BearerAuthMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
]

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Message = MutableMapping[str, Any]
"""An ASGI event message."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
"""An ASGI 3 application."""

CLAIMS_KEY = "cognito_jwt.claims"

FASTAPI_DOCS_PATHS: tuple[str, ...] = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
"""FastAPI's interactive docs and OpenAPI document at their default URLs, as exact paths.

The middleware protects every path, these too: add them to ``exclude_paths`` to serve the
docs without a token (``exclude_paths=["/health", *FASTAPI_DOCS_PATHS]``). Nothing else is
opened: the API's routes still need a token. If the app sets ``docs_url``, ``redoc_url`` or
``openapi_url`` itself, list those paths instead.
"""
_UNSIGNED = frozenset({IDENTITY_HEADER.encode(), TOKEN_HEADER.encode()})

# WebSocket close codes (RFC 6455 §7.4.1).
_POLICY_VIOLATION = 1008
_INTERNAL_ERROR = 1011


def _header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of header *name* (lowercase bytes), matched case-insensitively."""
    return [
        value.decode("latin-1")
        for key, value in scope.get("headers") or ()
        if bytes(key).lower() == name
    ]


class BearerAuthMiddleware:
    """ASGI middleware that admits only requests carrying a valid bearer token.

    Args:
        app: The ASGI application to protect.
        verifier: Any verifier of this package (``CognitoVerifier``, ``JwtVerifier``,
            ``MultiIssuerVerifier``); only ``verify_async`` is used.
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        exclude_paths: Paths served without a token: an exact path (``"/health"``), or a
            prefix when it ends with ``/`` (``"/public/"``). None by default, FastAPI's docs
            included: add :data:`FASTAPI_DOCS_PATHS` to serve them openly.
        optional: Let requests without a token through, with no claims; a token that is sent
            must still be valid.
        cookie: A cookie carrying the bare token, read when no ``Authorization`` header was
            sent (browsers can't set headers on WebSocket connections, but send cookies).
        header: Another header carrying the token (``Bearer <token>`` or the bare token), read
            when no ``Authorization`` header was sent.
        scopes: Refuse (403) tokens granting none of these scopes.
        groups: Refuse (403) users in none of these ``cognito:groups``.
        token_source: ``"bearer"`` (the default, as above) or ``"alb"``: the token is the
            ``x-amzn-oidc-data`` header an Application Load Balancer adds, for an
            ``AlbVerifier`` (``cookie`` and ``header`` don't apply then).
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: AsyncVerifier,
        *,
        realm: str = "api",
        exclude_paths: Iterable[str] | str = (),
        optional: bool = False,
        cookie: str | None = None,
        header: str | None = None,
        scopes: Iterable[str] | str | None = None,
        groups: Iterable[str] | str | None = None,
        token_source: TokenSource = "bearer",  # noqa: S107 - not a secret
    ) -> None:
        self._alb = alb_mode(token_source, cookie=cookie, header=header)
        text_option(realm, "realm")
        self.app = app
        self.verifier = verifier
        self.realm = realm
        self._paths = PathRules.of(exclude_paths)
        self.optional = optional
        self.cookie = cookie
        self.header = header.lower().encode("latin-1") if header else None
        self.scopes = names(scopes, "scopes")
        self.groups = names(groups, "groups")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope.get("type")
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        if self._alb:  # the unsigned ALB headers only come back with verified claims
            scope["headers"] = [(k, v) for k, v in headers if bytes(k).lower() not in _UNSIGNED]
        if self._excluded(scope) or (kind == "http" and _is_preflight(scope)):
            await self.app(scope, receive, send)
            return
        try:
            token = self.token(scope)
        except JwtError as exc:
            await self._reject(scope, receive, send, rejection_for(exc, self.realm))
            return
        if token is None:
            if self.optional:
                await self.app(scope, receive, send)
                return
            missing = MISSING_ALB if self._alb else "a bearer token is required"
            await self._reject(scope, receive, send, unauthenticated(self.realm, missing))
            return
        try:
            claims = await self.verifier.verify_async(token)
            error = check_requirements(claims, scopes=self.scopes, groups=self.groups)
            if self._alb and error is None:
                sent = {"headers": headers}
                identity = alb_identity(
                    claims,
                    _header_values(sent, IDENTITY_HEADER.encode()),
                    _header_values(sent, TOKEN_HEADER.encode()),
                )
                scope["headers"] = headers
                scope.setdefault("state", {})["alb"] = scope[ALB_KEY] = identity
        except JwtError as exc:
            error = exc
        if error is not None:
            answer = rejection_for(error, self.realm, self.scopes or ())
            await self._reject(scope, receive, send, answer)
            return
        scope.setdefault("state", {})["claims"] = claims
        scope[CLAIMS_KEY] = claims
        await self.app(scope, receive, send)

    def token(self, scope: Scope) -> str | None:
        """The token of a connection, or ``None`` when it sent none (see ``request_token``).

        Raises:
            MalformedTokenError: A bearer credential that is not exactly one token.
        """
        if self._alb:
            return data_token(_header_values(scope, DATA_HEADER.encode()))
        return request_token(
            _header_values(scope, b"authorization"),
            header=_header_values(scope, self.header) if self.header is not None else (),
            header_name=self.header.decode("latin-1") if self.header is not None else "",
            cookie=cookie_value(_header_values(scope, b"cookie"), self.cookie)
            if self.cookie is not None
            else None,
        )

    def _excluded(self, scope: Scope) -> bool:
        path = scope.get("path", "")
        return isinstance(path, str) and self._paths.excluded(path)

    async def _reject(self, scope: Scope, receive: Receive, send: Send, answer: Rejection) -> None:
        if scope["type"] == "websocket":
            # Refuse before accepting: take the connect event, then close (servers answer 403).
            message = await receive()
            if message.get("type") != "websocket.connect":
                return
            code = _INTERNAL_ERROR if answer.status >= 500 else _POLICY_VIOLATION
            await send({"type": "websocket.close", "code": code, "reason": answer.error})
            return
        headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        headers.append((b"content-length", str(len(answer.body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


def _is_preflight(scope: Scope) -> bool:
    return scope.get("method") == "OPTIONS" and bool(
        _header_values(scope, b"access-control-request-method")
    )
