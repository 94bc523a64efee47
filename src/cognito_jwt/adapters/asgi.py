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

from .. import AsyncVerifier, Claims, JwtError
from ._web import (
    ALB_KEY,
    IDENTITY_HEADER,
    TOKEN_HEADER,
    Rejection,
    RequestFacts,
    TokenSource,
    Verify,
    WebPolicy,
    decide,
    read_token,
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

# WebSocket close codes (RFC 6455 §7.4.1).
_POLICY_VIOLATION = 1008
_INTERNAL_ERROR = 1011

# What the one scan of the headers looks for: each header a bit of what it is.
_AUTHORIZATION, _TOKEN_HEADER, _COOKIE, _PREFLIGHT, _IDENTITY, _ACCESS_TOKEN = 1, 2, 4, 8, 16, 32
_UNSIGNED = _IDENTITY | _ACCESS_TOKEN

Headers = list[tuple[bytes, bytes]]


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
        policy = WebPolicy.of(
            realm=realm,
            exclude_paths=exclude_paths,
            optional=optional,
            cookie=cookie,
            header=header,
            scopes=scopes,
            groups=groups,
            token_source=token_source,
        )
        self._policy = policy
        self.app = app
        self.verifier = verifier
        self.realm = realm
        self._paths = policy.paths
        self.optional = optional
        self.cookie = cookie
        self.header = header.lower().encode("latin-1") if header else None
        self.scopes = policy.scopes
        self.groups = policy.groups
        # The headers to find, lowercase, each with its bits (a name may have two).
        wanted: dict[bytes, int] = {b"access-control-request-method": _PREFLIGHT}
        if policy.alb:
            wanted[IDENTITY_HEADER.encode()] = _IDENTITY
            wanted[TOKEN_HEADER.encode()] = _ACCESS_TOKEN
        else:
            wanted[b"authorization"] = _AUTHORIZATION
        if policy.cookie is not None:
            wanted[b"cookie"] = wanted.get(b"cookie", 0) | _COOKIE
        if policy.token_header is not None:
            name = policy.token_header.encode("latin-1")
            wanted[name] = wanted.get(name, 0) | _TOKEN_HEADER
        self._wanted = wanted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        kind = scope.get("type")
        if kind != "http" and kind != "websocket":  # noqa: PLR1714 - faster than a tuple
            await self.app(scope, receive, send)
            return
        sent = scope.get("headers") or ()
        facts, kept = self._facts(scope, sent)
        if kept is not None:  # the unsigned ALB headers only come back with verified claims
            scope["headers"] = kept
        policy = self._policy
        decision = decide(policy, facts)
        if isinstance(decision, Verify):
            try:
                outcome: Claims | JwtError = await self.verifier.verify_async(decision.token)
            except JwtError as exc:
                outcome = exc
            decision = decide(policy, facts, outcome)
        if isinstance(decision, Rejection):
            await self._reject(scope, receive, send, decision)
            return
        claims = decision.claims
        if claims is not None:
            state = scope.get("state")
            if state is None:
                state = scope["state"] = {}
            if decision.alb is not None:
                scope["headers"] = sent
                state["alb"] = scope[ALB_KEY] = decision.alb
            state["claims"] = scope[CLAIMS_KEY] = claims
        await self.app(scope, receive, send)

    def token(self, scope: Scope) -> str | None:
        """The token of a connection, or ``None`` when it sent none (see ``request_token``).

        Raises:
            MalformedTokenError: A bearer credential that is not exactly one token.
        """
        return read_token(self._policy, self._facts(scope, scope.get("headers") or ())[0])

    def _facts(self, scope: Scope, headers: Iterable[Any]) -> tuple[RequestFacts, Headers | None]:
        """The request's facts, in one scan of its headers; the headers to keep (ALB mode)."""
        try:
            return self._scan(scope, headers)
        except (TypeError, AttributeError):  # names or values not bytes: make them bytes
            return self._scan(scope, [(bytes(k), bytes(v)) for k, v in headers])

    def _scan(self, scope: Scope, headers: Iterable[Any]) -> tuple[RequestFacts, Headers | None]:
        wanted = self._wanted
        kept: Headers | None = [] if self._policy.alb else None
        authorization: tuple[str, ...] = ()
        extra: tuple[str, ...] = ()
        cookie: tuple[str, ...] = ()
        identity: tuple[str, ...] = ()
        access_token: tuple[str, ...] = ()
        preflight = False
        for key, value in headers:
            bits = wanted.get(key)
            # Names are lowercase (bar odd servers): lower() only those that are not.
            if bits is None and (key.islower() or (bits := wanted.get(key.lower())) is None):
                if kept is not None:
                    kept.append((key, value))
                continue
            if kept is not None and not bits & _UNSIGNED:
                kept.append((key, value))
            text = value.decode("latin-1")
            if bits & _AUTHORIZATION:
                authorization = (*authorization, text)
            if bits & _TOKEN_HEADER:
                extra = (*extra, text)
            if bits & _COOKIE:
                cookie = (*cookie, text)
            if bits & _PREFLIGHT:
                preflight = preflight or bool(text)
            if bits & _IDENTITY:
                identity = (*identity, text)
            if bits & _ACCESS_TOKEN:
                access_token = (*access_token, text)
        path = scope.get("path", "")
        facts = RequestFacts(
            scope.get("method") or "GET",
            path if isinstance(path, str) else "",
            authorization,
            extra,
            cookie,
            preflight,
            identity,
            access_token,
        )
        return facts, kept

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
