"""Django integration: a middleware for sync and async Django, a view decorator, and DRF classes.

```python
# settings.py
MIDDLEWARE = [
    # ... Django's own middleware ...
    "cognito_jwt.adapters.django.BearerAuthMiddleware",
]
COGNITO_JWT = {
    "COGNITO": {
        "user_pool_id": "eu-west-1_AbCdEf123",
        "client_id": "1example23456789abcdefghij",
        "token_use": "access",
    },
}

# views.py
from django.http import JsonResponse

from cognito_jwt.adapters.django import require_token


@require_token(scopes=["orders/read"])
def list_orders(request):
    return JsonResponse({"user": request.claims.sub})
```

* :class:`BearerAuthMiddleware` verifies the bearer token of a request *when one is sent*
  and puts its :class:`~cognito_jwt.Claims` in ``request.claims`` (``None`` for a request
  without a token), as Django's ``AuthenticationMiddleware`` does for ``request.user``. A
  token that is sent must be valid: a bad one is answered 401 before any view runs. With
  ``"OPTIONAL": False`` every request needs a token. It is sync and async capable: under ASGI
  it verifies with ``verify_async``, so fetching keys never blocks the event loop.
* :func:`require_token` protects one view (``def`` or ``async def``): 401 without a verified
  token, 403 ``insufficient_scope`` without one of ``scopes=`` / ``groups=``. It uses the
  middleware's result, or verifies the token itself when no middleware did.
* Django REST Framework: ``CognitoJwtAuthentication`` (``request.auth`` is the claims,
  ``request.user`` what the ``"USER"`` hook maps them to, a :class:`TokenUser` by default),
  and ``has_scope(...)`` / ``in_group(...)`` permission classes. They are loaded on first use
  (``rest_framework`` is imported only then), and drf-spectacular, when installed, documents
  the scheme as HTTP bearer (JWT).

Refusals follow the policy of every adapter of this package (RFC 6750): 401 with
``WWW-Authenticate: Bearer realm="api"`` (no error code) without a token, 401
``error="invalid_token"`` for a bad one, 403 ``error="insufficient_scope"``, 503 with
``Retry-After`` when the keys can't be had, and a JSON body ``{"error", "error_description",
"code"}`` with a generic description. The detailed reason (which names the expected issuer,
audiences or groups) goes to the ``cognito_jwt`` logger; the token is never logged nor sent.

Configuration is one dict, ``settings.COGNITO_JWT``, read when first needed (and again after
``override_settings``): exactly one of ``"VERIFIER"`` (a verifier object built in code, or the
dotted path of one), ``"COGNITO"`` (keyword arguments of :class:`~cognito_jwt.CognitoVerifier`)
or ``"OIDC"`` (of :class:`~cognito_jwt.JwtVerifier`); and optionally ``"REALM"``,
``"EXCLUDE_PATHS"``, ``"OPTIONAL"``, ``"COOKIE"``, ``"HEADER"``, ``"SCOPES"``, ``"GROUPS"`` (as
the WSGI middleware's options) and ``"USER"`` (a callable, or its dotted path, mapping claims
to the DRF ``request.user``). An unknown key is a configuration error, so a typo can't
silently switch a check off.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse

from .. import AsyncVerifier, Claims, CognitoVerifier, ConfigurationError, JwtError, JwtVerifier
from .._verifier import check_sync_use
from ._web import Admit, Rejection, RequestFacts, Verify, WebPolicy, decide, names

if TYPE_CHECKING:
    from .. import Verifier

__all__ = [
    "SETTING",
    "BearerAuthMiddleware",
    "CognitoJwtAuthentication",
    "TokenUser",
    "has_scope",
    "in_group",
    "rejection_response",
    "require_token",
]

SETTING = "COGNITO_JWT"
"""The name of the Django setting holding this adapter's configuration (one dict)."""

_KEYS = frozenset(
    {
        "VERIFIER",
        "COGNITO",
        "OIDC",
        "REALM",
        "EXCLUDE_PATHS",
        "OPTIONAL",
        "COOKIE",
        "HEADER",
        "SCOPES",
        "GROUPS",
        "USER",
    }
)

V = TypeVar("V", bound=Callable[..., Any])


class TokenUser:
    """The default DRF ``request.user`` of a verified token: a user known only by its claims.

    It quacks like Django's ``User`` where authorisation code looks (``is_authenticated``,
    ``is_anonymous``, ``pk``, ``username``) without a database row. Map claims to your own
    user model with the ``"USER"`` hook instead when you have one.

    Attributes:
        claims: The verified claims.
        pk: The ``sub`` claim (``id`` is the same).
        username: ``username`` (Cognito access tokens), ``cognito:username`` (ID tokens), or
            the ``sub``.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, claims: Claims) -> None:
        self.claims = claims
        self.pk = self.id = claims.sub
        self.username = claims.username or claims.get("cognito:username") or claims.sub or ""

    def get_username(self) -> str:
        """The user name, as Django's ``User.get_username``."""
        return str(self.username)

    def __str__(self) -> str:
        return self.get_username()

    def __repr__(self) -> str:
        return f"TokenUser(sub={self.pk!r})"


def _resolve(value: object, what: str) -> object:
    """*value*, or the object its dotted path names (Django's ``import_string``)."""
    if not isinstance(value, str):
        return value
    from django.utils.module_loading import import_string

    try:
        return import_string(value)
    except ImportError as exc:
        raise ConfigurationError(f"{SETTING}[{what!r}]: cannot import {value!r}: {exc}") from None


def _verifier(options: Mapping[str, Any]) -> Verifier:
    given = [key for key in ("VERIFIER", "COGNITO", "OIDC") if key in options]
    if len(given) != 1:
        raise ConfigurationError(
            f"settings.{SETTING} must have exactly one of 'VERIFIER', 'COGNITO' or 'OIDC', "
            f"found {given or 'none'}"
        )
    key = given[0]
    if key == "VERIFIER":
        verifier = _resolve(options[key], key)
        if not callable(getattr(verifier, "verify", None)) or not callable(
            getattr(verifier, "verify_async", None)
        ):
            raise ConfigurationError(
                f"{SETTING}['VERIFIER'] must be a verifier (verify and verify_async), "
                f"got {type(verifier).__name__}"
            )
        return cast("Verifier", verifier)
    arguments = options[key]
    if not isinstance(arguments, Mapping):
        raise ConfigurationError(f"{SETTING}[{key!r}] must be a dict of keyword arguments")
    factory = CognitoVerifier if key == "COGNITO" else JwtVerifier
    try:
        return factory(**arguments)
    except TypeError as exc:  # an unknown keyword
        raise ConfigurationError(f"{SETTING}[{key!r}]: {exc}") from None


class _Gate:
    """``settings.COGNITO_JWT``, and the one verify call every Django entry point makes.

    Every answer is :func:`~cognito_jwt.adapters._web.decide`'s. Two policies: the
    middleware's (``"EXCLUDE_PATHS"``, ``"OPTIONAL"``), and the direct one of the decorator
    and DRF, which read the request's token whatever its path and let a request without one
    through to their own answer. Both carry ``"SCOPES"``/``"GROUPS"``.
    """

    def __init__(self, options: object) -> None:
        if not isinstance(options, Mapping):
            raise ConfigurationError(
                f"settings.{SETTING} must be a dict, got {type(options).__name__}"
            )
        unknown = sorted(str(key) for key in options if key not in _KEYS)
        if unknown:
            raise ConfigurationError(
                f"settings.{SETTING} has unknown keys {unknown}; known: {sorted(_KEYS)}"
            )
        self.verifier = _verifier(options)
        optional = options.get("OPTIONAL", True)
        if not isinstance(optional, bool):
            raise ConfigurationError(f"{SETTING}['OPTIONAL'] must be True or False")
        common: dict[str, Any] = {
            "realm": options.get("REALM", "api"),
            "cookie": options.get("COOKIE"),
            "header": options.get("HEADER"),
            "scopes": options.get("SCOPES"),
            "groups": options.get("GROUPS"),
        }
        try:
            self.policy = WebPolicy.of(
                **common, exclude_paths=options.get("EXCLUDE_PATHS", ()), optional=optional
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"settings.{SETTING}: {exc}") from None
        self.direct = WebPolicy.of(**common, optional=True)
        user = _resolve(options.get("USER", TokenUser), "USER")
        if not callable(user):
            raise ConfigurationError(f"{SETTING}['USER'] must be a callable taking the claims")
        self.user: Callable[[Claims], object] = user
        header = self.policy.token_header
        self._header_key = "HTTP_" + header.upper().replace("-", "_") if header else None
        self._routes: dict[tuple[frozenset[str] | None, frozenset[str] | None], WebPolicy] = {}

    @property
    def realm(self) -> str:
        """The ``realm`` of the challenges."""
        return self.policy.realm

    def facts(self, request: HttpRequest) -> RequestFacts:
        """What :func:`decide` reads of a Django request."""
        meta = request.META

        def values(key: str | None) -> tuple[str, ...]:
            value = meta.get(key) if key is not None else None
            return (value,) if isinstance(value, str) else ()

        return RequestFacts(
            request.method or "GET",
            request.path_info or "/",
            values("HTTP_AUTHORIZATION"),
            values(self._header_key),
            values("HTTP_COOKIE") if self.policy.cookie is not None else (),
            bool(meta.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")),
        )

    def route(self, scopes: frozenset[str] | None, groups: frozenset[str] | None) -> WebPolicy:
        """The policy of a view's own requirements (the decorator's, a DRF permission's)."""
        key = (scopes, groups)
        policy = self._routes.get(key)
        if policy is None:
            policy = self._routes[key] = WebPolicy.of(
                realm=self.realm, scopes=scopes, groups=groups
            )
        return policy

    # The two faces of the one verify call -----------------------------------------------------
    def decide(self, request: HttpRequest, policy: WebPolicy) -> Admit | Rejection:
        """Decide *request* under *policy*, verifying its token with ``verify`` (sync)."""
        facts = self.facts(request)
        decision = decide(policy, facts)
        if not isinstance(decision, Verify):
            return decision
        try:
            outcome: Claims | JwtError = self.verifier.verify(decision.token)
        except JwtError as exc:
            outcome = exc
        return decide(policy, facts, outcome)

    async def decide_async(self, request: HttpRequest, policy: WebPolicy) -> Admit | Rejection:
        """:meth:`decide`, verifying with ``verify_async``: the event loop never blocks."""
        facts = self.facts(request)
        decision = decide(policy, facts)
        if not isinstance(decision, Verify):
            return decision
        try:
            verifier = cast("AsyncVerifier", self.verifier)
            outcome: Claims | JwtError = await verifier.verify_async(decision.token)
        except JwtError as exc:
            outcome = exc
        return decide(policy, facts, outcome)


_lock = threading.Lock()
_current: _Gate | None = None
_NO_FACTS = RequestFacts()


def _gate() -> _Gate:
    """The configuration of ``settings.COGNITO_JWT``, built once (one verifier per process).

    Raises:
        ConfigurationError: The setting is missing or wrong.
    """
    global _current  # noqa: PLW0603 - one verifier (one key cache) per process
    gate = _current
    if gate is not None:
        return gate
    from django.conf import settings

    with _lock:
        if _current is None:
            if not hasattr(settings, SETTING):
                raise ConfigurationError(
                    f"settings.{SETTING} is not set: give it a dict with 'COGNITO', 'OIDC' or "
                    "'VERIFIER' (see cognito_jwt.adapters.django)"
                )
            _current = _Gate(getattr(settings, SETTING))
        return _current


def _forget(*, setting: str, **_: object) -> None:
    """``setting_changed`` receiver: ``override_settings(COGNITO_JWT=...)`` takes effect."""
    global _current  # noqa: PLW0603
    if setting == SETTING:
        with _lock:
            _current = None


setting_changed.connect(_forget, dispatch_uid="cognito_jwt.adapters.django")


def rejection_response(rejection: Rejection) -> HttpResponse:
    """A Django response carrying *rejection*: status, RFC 6750 headers and JSON body."""
    return HttpResponse(rejection.body, status=rejection.status, headers=dict(rejection.headers))


def _claims(request: HttpRequest) -> Claims | None:
    """The claims the middleware (or the decorator) verified for *request*, if any."""
    claims = getattr(request, "claims", None)
    return claims if isinstance(claims, Claims) else None


class BearerAuthMiddleware:
    """Django middleware: verify the request's bearer token, if any, into ``request.claims``.

    Configured by ``settings.COGNITO_JWT`` (see the module's documentation). Every request
    gets ``request.claims``: the verified :class:`~cognito_jwt.Claims`, or ``None`` when it
    carried no token (or its path is excluded). A token that is sent and refused is answered
    here (401/403/503); with ``"OPTIONAL": False`` a request without a token is answered 401.
    CORS preflights and ``"EXCLUDE_PATHS"`` pass untouched.

    Sync and async capable: in an async stack (ASGI) the token is verified with
    ``verify_async``; in a sync one (WSGI) with ``verify``.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        else:
            check_sync_use(self.gate.verifier, "the Django middleware in a sync (WSGI) stack")

    @property
    def gate(self) -> _Gate:
        """The configuration in force (``settings.COGNITO_JWT``; read again after a change)."""
        return _gate()

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request."""
        if self._async:
            return self._acall(request)
        gate = _gate()
        decision = gate.decide(request, gate.policy)
        if isinstance(decision, Rejection):
            return rejection_response(decision)
        request.claims = decision.claims  # type: ignore[attr-defined]
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        gate = _gate()
        decision = await gate.decide_async(request, gate.policy)
        if isinstance(decision, Rejection):
            return rejection_response(decision)
        request.claims = decision.claims  # type: ignore[attr-defined]
        return await self.get_response(request)


def _for_view(
    gate: _Gate, request: HttpRequest, found: Admit | Rejection | None, route: WebPolicy
) -> HttpResponse | None:
    """The view's answer under its own requirements (*route*): ``None`` to run the view.

    *found* is the direct decision on the request's token (``None``: the middleware's claims
    are used): a refusal stands; no claims is 401; claims are checked against *route*.
    """
    if isinstance(found, Rejection):
        return rejection_response(found)
    claims = _claims(request) if found is None else found.claims
    decision = decide(route, _NO_FACTS) if claims is None else decide(route, _NO_FACTS, claims)
    if isinstance(decision, Rejection):
        return rejection_response(decision)
    request.claims = claims  # type: ignore[attr-defined]
    return None


def require_token(
    scopes: Iterable[str] | str | None = None, groups: Iterable[str] | str | None = None
) -> Callable[[V], V]:
    """Decorate a Django view (``def`` or ``async def``) that needs a verified token.

    The view runs only for a request whose token verified (``request.claims`` is then set),
    granting one of *scopes* and with its user in one of *groups*; otherwise the answer is
    401 (no token, or a bad one) or 403 ``insufficient_scope``. The middleware's claims are
    used when it verified the token; otherwise (no middleware, or an excluded path) the
    decorator verifies the token itself, with the verifier of ``settings.COGNITO_JWT``.

    Args:
        scopes: The token must grant one of these scopes (``None``: no scope requirement).
        groups: The user must be in one of these ``cognito:groups`` (``None``: none).

    Raises:
        ConfigurationError: *scopes* or *groups* is not names.
    """
    wanted_scopes = names(scopes, "scopes")
    wanted_groups = names(groups, "groups")

    def decorate(view: V) -> V:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                gate = _gate()
                found = None
                if _claims(request) is None:
                    found = await gate.decide_async(request, gate.direct)
                refused = _for_view(gate, request, found, gate.route(wanted_scopes, wanted_groups))
                if refused is not None:
                    return refused
                return await cast("Callable[..., Awaitable[Any]]", view)(request, *args, **kwargs)

            return cast("V", async_wrapper)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            gate = _gate()
            found = None if _claims(request) is not None else gate.decide(request, gate.direct)
            refused = _for_view(gate, request, found, gate.route(wanted_scopes, wanted_groups))
            return refused if refused is not None else view(request, *args, **kwargs)

        return cast("V", wrapper)

    return decorate


_DRF_NAMES = frozenset({"CognitoJwtAuthentication", "has_scope", "in_group"})


def __getattr__(name: str) -> object:
    """Load the Django REST Framework names (and ``rest_framework``) on first use."""
    if name in _DRF_NAMES:
        from . import _drf

        return getattr(_drf, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from ._drf import CognitoJwtAuthentication, has_scope, in_group
