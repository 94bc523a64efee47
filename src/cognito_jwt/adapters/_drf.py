"""Django REST Framework classes, loaded by ``cognito_jwt.adapters.django`` on first use.

Import them from ``cognito_jwt.adapters.django``; this module imports ``rest_framework`` (and
registers a drf-spectacular extension when drf-spectacular is installed).
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .. import Claims
from ._web import Decision, Rejection, _quote, decide, names
from .django import _NO_FACTS, _claims, _gate

__all__ = ["CognitoJwtAuthentication", "has_scope", "in_group"]

# The refusal of the last authentication attempt, kept on the DRF request for
# ``authenticate_header`` (DRF builds the 401's challenge from that method, after the fact).
_REFUSAL = "_cognito_jwt_rejection"


def _body(rejection: Rejection) -> dict[str, str]:
    body: dict[str, str] = json.loads(rejection.body)
    return body


def _header(rejection: Rejection, name: str) -> str | None:
    return next((v for k, v in rejection.headers if k.lower() == name.lower()), None)


class _TokenRefused(exceptions.AuthenticationFailed):
    """401: a bad token. DRF asks ``authenticate_header`` for the challenge."""


class _TokenForbidden(exceptions.PermissionDenied):
    """403 ``insufficient_scope``: DRF sends ``auth_header`` as ``WWW-Authenticate``."""


class _TokenServiceError(exceptions.APIException):
    """503 (keys unavailable; ``wait`` is sent as ``Retry-After``) or 500 (configuration)."""


def _exception(request: Request, rejection: Rejection) -> exceptions.APIException:
    """The DRF exception answering *request* with *rejection*'s status, headers and body."""
    body = _body(rejection)
    exc: exceptions.APIException
    if rejection.status == 401:
        setattr(request, _REFUSAL, rejection)  # for authenticate_header
        exc = _TokenRefused(body)
    elif rejection.status == 403:
        exc = _TokenForbidden(body)
        exc.auth_header = _header(rejection, "WWW-Authenticate")  # type: ignore[attr-defined]
    else:
        exc = _TokenServiceError(body)
        exc.status_code = rejection.status
        retry = _header(rejection, "Retry-After")
        exc.wait = int(retry) if retry is not None else None  # type: ignore[attr-defined]
    return exc


class CognitoJwtAuthentication(BaseAuthentication):
    """DRF authentication by bearer token, with the verifier of ``settings.COGNITO_JWT``.

    A request without a token is not authenticated by this class (DRF tries the next one,
    then answers 401 if a permission needs a user). A token that is sent must be valid: a bad
    one is answered 401 ``invalid_token``, keys that can't be had 503 with ``Retry-After``.
    On success ``request.auth`` is the :class:`~cognito_jwt.Claims` and ``request.user`` what
    :meth:`get_user` returns. Claims the ``BearerAuthMiddleware`` already verified are reused.

    The 401 challenge comes from :meth:`authenticate_header`, as DRF expects (DRF answers 403
    instead of 401 when the first authentication class has no challenge): list this class
    first in ``authentication_classes``.
    """

    def authenticate(self, request: Request) -> tuple[Any, Claims] | None:
        """The ``(user, claims)`` of the request's token; ``None`` when it carries none.

        Raises:
            rest_framework.exceptions.AuthenticationFailed: The token is refused (401).
            rest_framework.exceptions.APIException: Keys unavailable (503) or a
                configuration error (500); a requirement of ``"SCOPES"``/``"GROUPS"`` (403).
        """
        django_request = request._request  # noqa: SLF001 - DRF's documented wrapped request
        claims = _claims(django_request)  # verified by the middleware
        if claims is None:
            gate = _gate()
            decision = gate.decide(django_request, gate.direct)
            if isinstance(decision, Rejection):
                raise _exception(request, decision)
            claims = decision.claims
            if claims is None:
                return None
        return self.get_user(claims), claims

    def get_user(self, claims: Claims) -> Any:
        """The ``request.user`` for *claims*: the ``"USER"`` hook's answer.

        A :class:`~cognito_jwt.adapters.django.TokenUser` by default. Set
        ``COGNITO_JWT["USER"]``, or override this method, to map ``sub`` to your users.
        """
        return _gate().user(claims)

    def authenticate_header(self, request: Request) -> str:
        """The ``WWW-Authenticate`` challenge of a 401.

        ``Bearer realm="api"``, with ``error="invalid_token"`` and its description after a
        refused token (RFC 6750 §3).
        """
        refusal = getattr(request, _REFUSAL, None)
        if isinstance(refusal, Rejection):
            header = _header(refusal, "WWW-Authenticate")
            if header is not None:
                return header
        return f'Bearer realm="{_quote(_gate().realm)}"'


def _requirement(
    scopes: frozenset[str] | None, groups: frozenset[str] | None, label: str
) -> type[BasePermission]:
    class TokenRequirement(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            route = _gate().route(scopes, groups)
            claims = request.auth
            decision: Decision
            if isinstance(claims, Claims):
                decision = decide(route, _NO_FACTS, claims)
            elif request.successful_authenticator is None:
                decision = decide(route, _NO_FACTS)  # no credentials at all: 401
            else:  # signed in some other way (a session): no token, so no scope nor group
                decision = decide(route, _NO_FACTS, Claims({}))
            if isinstance(decision, Rejection):
                raise _exception(request, decision)
            return True

    TokenRequirement.__name__ = TokenRequirement.__qualname__ = label
    return TokenRequirement


def has_scope(*scopes: str) -> type[BasePermission]:
    """A DRF permission class: the token grants one of *scopes* (403 ``insufficient_scope``).

    ``permission_classes = [has_scope("orders/read", "orders/admin")]``. A request without a
    token is answered 401 (with ``CognitoJwtAuthentication`` listed first). The refusal is
    raised, with its RFC 6750 challenge, so ``&`` composes as expected while ``|`` and ``~``
    can only refuse more, never admit a request this class refused.

    Raises:
        ConfigurationError: No scope given, or one that is not a non-empty string.
    """
    wanted = names(scopes, "scopes")
    return _requirement(wanted, None, f"HasScope{sorted(wanted or ())}")


def in_group(*groups: str) -> type[BasePermission]:
    """A DRF permission class: the user is in one of *groups* (``cognito:groups``; 403).

    Raises:
        ConfigurationError: No group given, or one that is not a non-empty string.
    """
    wanted = names(groups, "groups")
    return _requirement(None, wanted, f"InGroup{sorted(wanted or ())}")


if find_spec("drf_spectacular") is not None:  # pragma: no branch - installed in the tests
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class CognitoJwtScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
        """drf-spectacular: ``CognitoJwtAuthentication`` is an HTTP bearer scheme (JWT)."""

        target_class = CognitoJwtAuthentication
        match_subclasses = True
        name = "cognitoJwt"

        def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
            return {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A JWT access token: `Authorization: Bearer <token>`.",
            }
