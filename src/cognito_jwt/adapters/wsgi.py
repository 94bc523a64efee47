"""WSGI middleware (PEP 3333): every request carries a valid bearer token, or is answered for.

```python
from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.wsgi import BearerAuthMiddleware

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789abcdefghij", token_use="access"
)
application = BearerAuthMiddleware(application, verifier, exclude_paths=("/health",))
```

It works with any WSGI server and framework (Flask, Django, Pyramid, Bottle, a bare
callable) and imports none of them. For each request:

* CORS preflights (``OPTIONS`` with ``Access-Control-Request-Method``) and excluded paths go
  to the application untouched: browsers never send credentials on a preflight.
* The token is taken from the ``Authorization`` header (``Bearer <token>``, RFC 6750 §2.1),
  else from the configured header (the raw token), else from the configured cookie.
* A valid token puts its :class:`~cognito_jwt.Claims` in ``environ["cognito_jwt.claims"]``
  (:data:`CLAIMS_KEY`) and calls the application.
* With ``token_source="alb"`` (behind an Application Load Balancer, with an ``AlbVerifier``)
  the token is the ``x-amzn-oidc-data`` header, never ``Authorization``; the unsigned
  ``x-amzn-oidc-identity`` and ``x-amzn-oidc-accesstoken`` headers are taken out of
  ``environ`` and put back only once that token verified, with an
  :class:`~cognito_jwt.adapters.alb.AlbIdentity` in ``environ["cognito_jwt.alb"]``.
* Otherwise the middleware answers itself, following RFC 6750 §3: 401 without an error code
  in the challenge when there is no token; 401 ``invalid_token`` for a bad one; 403
  ``insufficient_scope`` for a valid token without a required scope or group; 503 (with
  ``Retry-After``) when the keys cannot be loaded. The body is JSON,
  ``{"error", "error_description", "code"}``, with a generic description per error class:
  the detailed reason (which names the expected issuer, audiences or groups) is logged to the
  ``cognito_jwt`` logger, never sent.

The token itself is never logged, and never written into a response.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from .. import Claims, JwtError, Verifier
from .._verifier import check_sync_use
from ._web import (
    ALB_KEY,
    Admit,
    Rejection,
    RequestFacts,
    TokenSource,
    Verify,
    WebPolicy,
    decide,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["CLAIMS_KEY", "MIDDLEWARE_KEY", "BearerAuthMiddleware", "Verifier", "respond"]

CLAIMS_KEY = "cognito_jwt.claims"
"""The ``environ`` key under which the claims of a verified token are put."""
MIDDLEWARE_KEY = "cognito_jwt.middleware"
"""The ``environ`` key of the middleware that saw the request (set on every request it sees)."""

# The unsigned ALB headers (identity, then access token), as WSGI names them.
_UNSIGNED = ("HTTP_X_AMZN_OIDC_IDENTITY", "HTTP_X_AMZN_OIDC_ACCESSTOKEN")


def respond(rejection: Rejection, start_response: StartResponse) -> list[bytes]:
    """Send *rejection* as a WSGI response: status line, headers and JSON body."""
    headers = [*rejection.headers, ("Content-Length", str(len(rejection.body)))]
    start_response(f"{rejection.status} {rejection.reason}", headers)
    return [rejection.body]


class BearerAuthMiddleware:
    """WSGI middleware that lets only requests with a valid bearer token reach *app*.

    Args:
        app: The WSGI application to protect.
        verifier: Any verifier of this package (``CognitoVerifier``, ``JwtVerifier`` ...).
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        exclude_paths: Paths served without a token, matched against ``PATH_INFO`` (the
            path within the application, after any ``SCRIPT_NAME`` mount point). An entry
            ending in ``/`` is a prefix (``"/public/"`` covers ``/public/a`` and
            ``/public/``, not ``/public``); any other entry matches only that exact path
            (``"/health"`` does not cover ``/health/`` or ``/healthz``). A path with ``.`` or
            ``..`` segments is never excluded.
        optional: Let requests without any token through, with no claims in ``environ``
            (views decide); a token that is sent must still be valid.
        cookie: Also accept the raw token from this cookie (when no ``Authorization``
            header or configured header carries one).
        header: Also accept the raw token from this request header (e.g. ``X-Access-Token``).
        scopes: Refuse (403) tokens granting none of these scopes.
        groups: Refuse (403) tokens whose user is in none of these ``cognito:groups``.
        token_source: ``"bearer"`` (the default, as above) or ``"alb"``: the token is the
            ``x-amzn-oidc-data`` header an Application Load Balancer adds, for an
            ``AlbVerifier`` (``cookie`` and ``header`` don't apply then).
    """

    def __init__(
        self,
        app: WSGIApplication,
        verifier: Verifier,
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
        check_sync_use(verifier, "the WSGI middleware")
        self._policy = policy
        self._paths = policy.paths
        self.scopes = policy.scopes
        self.groups = policy.groups
        self.app = app
        self.verifier = verifier
        self.realm = realm
        self.optional = optional
        self.cookie = cookie
        self.header = header
        self._header_key = (
            "HTTP_" + policy.token_header.upper().replace("-", "_")
            if policy.token_header is not None
            else None
        )

    # The WSGI entry point -----------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request: pass it to the application, or refuse it."""
        environ[MIDDLEWARE_KEY] = self
        policy = self._policy
        facts = self._facts(environ)
        decision = decide(policy, facts)
        if isinstance(decision, Verify):
            try:
                outcome: Claims | JwtError = self.verifier.verify(decision.token)
            except JwtError as exc:
                outcome = exc
            decision = decide(policy, facts, outcome)
        if isinstance(decision, Rejection):
            return respond(decision, start_response)
        if decision.claims is not None:
            if decision.alb is not None:  # verified: the unsigned headers may go back
                environ[ALB_KEY] = decision.alb
                for key, values in zip(
                    _UNSIGNED, (facts.identity, facts.access_token), strict=True
                ):
                    if values:
                        environ[key] = values[0]
            environ[CLAIMS_KEY] = decision.claims
        return self.app(environ, start_response)

    def authenticate(self, token: str) -> Claims | Rejection:
        """Verify *token* and the middleware's requirements: the claims, or the answer.

        Refusals are logged (``cognito_jwt`` logger) with their full reason. Behind a load
        balancer the unsigned headers are not looked at: this checks the token alone.
        """
        try:
            outcome: Claims | JwtError = self.verifier.verify(token)
        except JwtError as exc:
            outcome = exc
        decision = decide(self._policy, RequestFacts(), outcome)
        if isinstance(decision, Admit) and decision.claims is not None:
            return decision.claims
        return cast("Rejection", decision)  # with an outcome, decide admits or refuses

    # Helpers ------------------------------------------------------------------------------------
    def _facts(self, environ: WSGIEnvironment) -> RequestFacts:
        """The request's facts; behind a load balancer, the unsigned headers leave *environ*."""
        get = environ.get
        path = get("PATH_INFO") or "/"
        authorization = get("HTTP_AUTHORIZATION")
        facts = RequestFacts(
            get("REQUEST_METHOD") or "GET",
            path if isinstance(path, str) else "",
            (authorization,) if type(authorization) is str else (),
            _one(get(self._header_key)) if self._header_key is not None else (),
            _one(get("HTTP_COOKIE")) if self.cookie is not None else (),
            bool(get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")),
        )
        if self._policy.alb:
            facts.identity = _one(environ.pop(_UNSIGNED[0], None))
            facts.access_token = _one(environ.pop(_UNSIGNED[1], None))
        return facts


def _one(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else ()
