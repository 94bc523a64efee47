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
from ._web import (
    PathRules,
    Rejection,
    check_requirements,
    cookie_value,
    names,
    rejection_for,
    request_token,
    text_option,
    unauthenticated,
)

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
# Set on a Django request by the middleware once it has looked at the token (found or not).
_CHECKED = "_cognito_jwt_checked"

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
    """The configuration, and the steps every Django entry point shares around one verify."""

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
        self.realm: str = options.get("REALM", "api")
        text_option(self.realm, "REALM")
        self.paths = PathRules.of(options.get("EXCLUDE_PATHS", ()))
        optional = options.get("OPTIONAL", True)
        if not isinstance(optional, bool):
            raise ConfigurationError(f"{SETTING}['OPTIONAL'] must be True or False")
        self.optional = optional
        self.cookie: str | None = options.get("COOKIE")
        self.header: str | None = options.get("HEADER")
        text_option(self.cookie, "COOKIE", optional=True)
        text_option(self.header, "HEADER", optional=True)
        self.scopes = names(options.get("SCOPES"), "SCOPES")
        self.groups = names(options.get("GROUPS"), "GROUPS")
        user = _resolve(options.get("USER", TokenUser), "USER")
        if not callable(user):
            raise ConfigurationError(f"{SETTING}['USER'] must be a callable taking the claims")
        self.user: Callable[[Claims], object] = user
        self._header_key = (
            "HTTP_" + self.header.upper().replace("-", "_") if self.header is not None else None
        )

    # Before the verification ------------------------------------------------------------------
    def passes_untouched(self, request: HttpRequest) -> bool:
        """A CORS preflight (browsers send no credentials on it), or an excluded path."""
        if request.method == "OPTIONS" and request.META.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            return True
        return self.paths.excluded(request.path_info or "/")

    def token(self, request: HttpRequest) -> str | Rejection | None:
        """The request's token, ``None`` when it sent none, or the answer to a malformed one."""

        def values(key: str | None) -> list[str]:
            value = request.META.get(key) if key is not None else None
            return [value] if isinstance(value, str) else []

        try:
            return request_token(
                values("HTTP_AUTHORIZATION"),
                header=values(self._header_key),
                header_name=self.header or "",
                cookie=cookie_value(values("HTTP_COOKIE"), self.cookie) if self.cookie else None,
            )
        except JwtError as exc:
            return rejection_for(exc, self.realm)

    # After it ---------------------------------------------------------------------------------
    def judge(
        self,
        outcome: Claims | JwtError,
        scopes: frozenset[str] | None = None,
        groups: frozenset[str] | None = None,
    ) -> Claims | Rejection:
        """The claims of a verified token meeting the requirements, or the refusal."""
        wanted = (self.scopes or frozenset()) | (scopes or frozenset())
        if isinstance(outcome, JwtError):
            return rejection_for(outcome, self.realm, wanted)
        for required_scopes, required_groups in ((self.scopes, self.groups), (scopes, groups)):
            error = check_requirements(outcome, scopes=required_scopes, groups=required_groups)
            if error is not None:
                return rejection_for(error, self.realm, required_scopes or ())
        return outcome

    # The two faces ----------------------------------------------------------------------------
    def verify(self, token: str) -> Claims | JwtError:
        """``verify`` (sync), the error returned rather than raised."""
        try:
            return self.verifier.verify(token)
        except JwtError as exc:
            return exc

    async def verify_async(self, token: str) -> Claims | JwtError:
        """``verify_async``, the error returned rather than raised."""
        try:
            return await cast("AsyncVerifier", self.verifier).verify_async(token)
        except JwtError as exc:
            return exc

    def authenticate(self, request: HttpRequest) -> Claims | Rejection | None:
        """Verify the request's token, if any (sync): claims, ``None`` (no token) or refusal."""
        token = self.token(request)
        if not isinstance(token, str):
            return token
        return self.judge(self.verify(token))

    async def authenticate_async(self, request: HttpRequest) -> Claims | Rejection | None:
        """:meth:`authenticate`, verifying with ``verify_async``."""
        token = self.token(request)
        if not isinstance(token, str):
            return token
        return self.judge(await self.verify_async(token))


_lock = threading.Lock()
_current: _Gate | None = None


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


def _admit(request: HttpRequest, result: Claims | Rejection | None) -> HttpResponse | None:
    """Record the middleware's *result* on *request*; the answer when it is a refusal."""
    if isinstance(result, Rejection):
        return rejection_response(result)
    request.claims = result  # type: ignore[attr-defined]
    setattr(request, _CHECKED, True)
    return None


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
        request.claims = None  # type: ignore[attr-defined]
        gate = _gate()
        if gate.passes_untouched(request):
            return self.get_response(request)
        refused = _admit(request, _required(gate, gate.authenticate(request)))
        return refused if refused is not None else self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        request.claims = None  # type: ignore[attr-defined]
        gate = _gate()
        if gate.passes_untouched(request):
            return await self.get_response(request)
        refused = _admit(request, _required(gate, await gate.authenticate_async(request)))
        return refused if refused is not None else await self.get_response(request)


def _required(gate: _Gate, result: Claims | Rejection | None) -> Claims | Rejection | None:
    """A request without a token is refused (401) unless ``"OPTIONAL"``."""
    if result is None and not gate.optional:
        return unauthenticated(gate.realm)
    return result


def _view_answer(
    gate: _Gate,
    result: Claims | Rejection | None,
    scopes: frozenset[str] | None,
    groups: frozenset[str] | None,
) -> Claims | HttpResponse:
    if result is None:
        return rejection_response(unauthenticated(gate.realm))
    if isinstance(result, Rejection):
        return rejection_response(result)
    judged = gate.judge(result, scopes, groups)
    return rejection_response(judged) if isinstance(judged, Rejection) else judged


def require_token(
    scopes: Iterable[str] | str | None = None, groups: Iterable[str] | str | None = None
) -> Callable[[V], V]:
    """Decorate a Django view (``def`` or ``async def``) that needs a verified token.

    The view runs only for a request whose token verified (``request.claims`` is then set),
    granting one of *scopes* and with its user in one of *groups*; otherwise the answer is
    401 (no token, or a bad one) or 403 ``insufficient_scope``. The middleware's result is
    used when it ran; otherwise (no middleware, or an excluded path) the decorator verifies
    the token itself, with the verifier of ``settings.COGNITO_JWT``.

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
                if getattr(request, _CHECKED, False):
                    result: Claims | Rejection | None = request.claims  # type: ignore[attr-defined]
                else:
                    result = await gate.authenticate_async(request)
                answer = _view_answer(gate, result, wanted_scopes, wanted_groups)
                if isinstance(answer, HttpResponse):
                    return answer
                _admit(request, answer)
                return await cast("Callable[..., Awaitable[Any]]", view)(request, *args, **kwargs)

            return cast("V", async_wrapper)

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            gate = _gate()
            if getattr(request, _CHECKED, False):
                result: Claims | Rejection | None = request.claims  # type: ignore[attr-defined]
            else:
                result = gate.authenticate(request)
            answer = _view_answer(gate, result, wanted_scopes, wanted_groups)
            if isinstance(answer, HttpResponse):
                return answer
            _admit(request, answer)
            return view(request, *args, **kwargs)

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
