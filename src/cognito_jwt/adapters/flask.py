"""Flask integration: the WSGI middleware around ``app.wsgi_app``, plus per-route requirements.

```python
from flask import Flask

from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.flask import init_app, require_claims, require_token

app = Flask(__name__)
verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789abcdefghij", token_use="access"
)
init_app(app, verifier, exclude_paths=("/health",))


@app.post("/orders")
@require_token(scopes=["orders/write"])
def create_order() -> dict[str, str | None]:
    return {"by": require_claims().sub}
```

:func:`init_app` wraps the application in
:class:`~cognito_jwt.adapters.wsgi.BearerAuthMiddleware`: requests are refused before Flask
routes them, so ``before_request`` hooks and views only ever see verified requests (or, with
``optional=True``, anonymous ones). :func:`require_token` adds a route's own scope or group
requirement, answered with the same RFC 6750 challenges and JSON bodies as the middleware.
:func:`require_claims` gives a protected view its claims as ``Claims`` (never ``None``);
:func:`current_claims` is for views that also serve anonymous requests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

import flask
from typing_extensions import ParamSpec, Unpack

from .. import Claims, ConfigurationError, Verifier
from ._web import (
    ALB_KEY,
    Admit,
    AlbIdentity,
    Decision,
    Rejection,
    RequestFacts,
    TokenSource,
    WebPolicy,
    decide,
)
from .wsgi import CLAIMS_KEY, MIDDLEWARE_KEY, BearerAuthMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "MiddlewareOptions",
    "current_alb_identity",
    "current_claims",
    "init_app",
    "rejection_response",
    "require_claims",
    "require_token",
]

P = ParamSpec("P")
R = TypeVar("R")

_EXTENSION = "cognito_jwt"


class MiddlewareOptions(TypedDict, total=False):
    """The options of :class:`~cognito_jwt.adapters.wsgi.BearerAuthMiddleware`."""

    realm: str
    exclude_paths: Iterable[str] | str
    optional: bool
    cookie: str | None
    header: str | None
    scopes: Iterable[str] | str | None
    groups: Iterable[str] | str | None
    token_source: TokenSource


def init_app(
    app: flask.Flask, verifier: Verifier, **options: Unpack[MiddlewareOptions]
) -> BearerAuthMiddleware:
    """Protect every route of *app* with *verifier*.

    Args:
        app: The Flask application; its ``wsgi_app`` is wrapped.
        verifier: Any verifier of this package.
        **options: :class:`~cognito_jwt.adapters.wsgi.BearerAuthMiddleware` options:
            ``realm``, ``exclude_paths``, ``optional``, ``cookie``, ``header``, ``scopes``,
            ``groups``, ``token_source`` (``"alb"`` behind an Application Load Balancer).

    Returns:
        The middleware (also kept in ``app.extensions["cognito_jwt"]``).
    """
    inner: WSGIApplication = app.wsgi_app
    middleware = BearerAuthMiddleware(inner, verifier, **options)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.extensions[_EXTENSION] = middleware
    return middleware


def current_claims() -> Claims | None:
    """The claims of the current request's token; ``None`` when it came without one.

    Must be called while handling a request.
    """
    claims = flask.request.environ.get(CLAIMS_KEY)
    return claims if isinstance(claims, Claims) else None


def current_alb_identity() -> AlbIdentity | None:
    """The verified load balancer user of the current request (``token_source="alb"``).

    ``None`` when the request carried no verified ``x-amzn-oidc-data``. Must be called while
    handling a request.
    """
    identity = flask.request.environ.get(ALB_KEY)
    return identity if isinstance(identity, AlbIdentity) else None


def rejection_response(rejection: Rejection) -> flask.Response:
    """A Flask response carrying *rejection* (status, RFC 6750 headers, JSON body)."""
    return flask.Response(
        rejection.body,
        status=rejection.status,
        headers=list(rejection.headers),
    )


_NO_MIDDLEWARE = (
    "no BearerAuthMiddleware saw this request: call init_app(app, verifier) (with "
    "optional=True to let anonymous requests reach the views) before using @require_token "
    "or require_claims()"
)


def _middleware() -> BearerAuthMiddleware | None:
    middleware = flask.request.environ.get(MIDDLEWARE_KEY)
    return middleware if isinstance(middleware, BearerAuthMiddleware) else None


def _route_answer(
    claims: Claims | None,
    scopes: Iterable[str] | str | None = None,
    groups: Iterable[str] | str | None = None,
) -> Rejection | None:
    """A view's answer under its requirements: ``None`` to run it, or the refusal.

    Without claims it is 401, or 500 when no middleware ran at all: without the middleware a
    token the client did send was never read, and answering "a bearer token is required"
    would hide the mistake, so it is a configuration error (logged).
    """
    middleware = _middleware()
    policy = WebPolicy.of(
        realm=middleware.realm if middleware is not None else "api", scopes=scopes, groups=groups
    )
    decision: Decision
    if middleware is None and claims is None:
        decision = decide(policy, _NO_FACTS, ConfigurationError(_NO_MIDDLEWARE))
    else:
        decision = decide(policy, _NO_FACTS, claims)  # no claims: no token was verified
    return None if isinstance(decision, Admit) else cast("Rejection", decision)


_NO_FACTS = RequestFacts()


def require_claims() -> Claims:
    """The claims of the current request's token, for views that need a user.

    Unlike :func:`current_claims` it never returns ``None``: a request without a verified
    token is answered with 401 (``flask.abort`` with the RFC 6750 answer), or 500 when the
    application never called :func:`init_app`. Must be called while handling a request.
    """
    claims = current_claims()
    if claims is None:
        flask.abort(rejection_response(cast("Rejection", _route_answer(None))))
    return claims


def require_token(
    scopes: Iterable[str] | str | None = None, groups: Iterable[str] | str | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | flask.Response]]:
    """Decorate a view that needs a verified token, with one of *scopes* and one of *groups*.

    Without a token (``optional=True``, or an excluded path) the answer is 401; a token
    missing the scope or group is 403 ``insufficient_scope``. Without :func:`init_app` (no
    middleware saw the request) it is a configuration error: 500, and an error logged to the
    ``cognito_jwt`` logger saying to call ``init_app``.

    Args:
        scopes: The token must grant one of these scopes (``None``: no scope requirement).
        groups: The user must be in one of these ``cognito:groups`` (``None``: none).

    Raises:
        ConfigurationError: *scopes* or *groups* is not names.
    """
    WebPolicy.of(scopes=scopes, groups=groups)  # check the names now, not at the first request

    def decorate(view: Callable[P, R]) -> Callable[P, R | flask.Response]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | flask.Response:
            refused = _route_answer(current_claims(), scopes, groups)
            if refused is not None:
                return rejection_response(refused)
            return view(*args, **kwargs)

        return wrapper

    return decorate
