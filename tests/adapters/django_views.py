"""The Django project of tests/adapters/test_django.py: plain, decorated and DRF views.

Imported as ``ROOT_URLCONF``; configures Django (tests/django_setup.py) first, since DRF
reads its settings when its views are defined.
"""

from __future__ import annotations

from typing import Any

from tests.django_setup import setup

setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from drf_spectacular.views import SpectacularAPIView  # noqa: E402
from rest_framework.authentication import BaseAuthentication  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from cognito_jwt import Claims  # noqa: E402
from cognito_jwt.adapters.django import (  # noqa: E402
    CognitoJwtAuthentication,
    TokenUser,
    has_scope,
    in_group,
    require_token,
)


def _who(request: HttpRequest) -> dict[str, Any]:
    claims = request.claims  # type: ignore[attr-defined]
    return {"sub": claims.sub if isinstance(claims, Claims) else None}


def me(request: HttpRequest) -> JsonResponse:
    """Undecorated: anonymous requests reach it with request.claims None."""
    return JsonResponse({**_who(request), "has_claims": hasattr(request, "claims")})


async def me_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**_who(request), "view": "async"})


@require_token()
def orders(request: HttpRequest) -> JsonResponse:
    claims: Claims = request.claims  # type: ignore[attr-defined]
    return JsonResponse({"sub": claims.sub, "scopes": sorted(claims.scopes)})


@require_token(scopes=["orders/write", "orders/admin"])
def create_order(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**_who(request), "created": True}, status=201)


@require_token(groups="admins")
async def admin(request: HttpRequest) -> JsonResponse:
    claims: Claims = request.claims  # type: ignore[attr-defined]
    return JsonResponse({**_who(request), "groups": list(claims.groups), "view": "async"})


@require_token(scopes="orders/read")
async def orders_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse({**_who(request), "view": "async"})


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, **_who(request)})


class OrdersApi(APIView):
    """DRF: CognitoJwtAuthentication (the default of tests/django_setup.py) + a scope."""

    permission_classes = [has_scope("orders/read")]  # noqa: RUF012 - DRF's idiom

    def get(self, request: Request) -> Response:
        claims = request.auth
        assert isinstance(claims, Claims)
        return Response(
            {
                "user": str(request.user),
                "user_type": type(request.user).__name__,
                "sub": claims.sub,
                "authenticator": type(request.successful_authenticator).__name__,
            }
        )


class AdminApi(APIView):
    authentication_classes = [CognitoJwtAuthentication]  # noqa: RUF012
    permission_classes = [has_scope("orders/read") & in_group("admins")]  # noqa: RUF012

    def get(self, request: Request) -> Response:
        return Response({"admin": str(request.user)})


class EveryoneIsOlga(BaseAuthentication):
    """Stands for a session login: a user without any token."""

    def authenticate(self, request: Request) -> tuple[Any, None]:
        return TokenUser(Claims({"sub": "olga"})), None


class SessionOrTokenApi(APIView):
    authentication_classes = [CognitoJwtAuthentication, EveryoneIsOlga]  # noqa: RUF012
    permission_classes = [has_scope("orders/read")]  # noqa: RUF012

    def get(self, request: Request) -> Response:
        return Response({"user": str(request.user)})


class OpenApi(APIView):
    """No permission: anonymous requests pass, a sent token must be valid."""

    permission_classes: list[Any] = []  # noqa: RUF012

    def get(self, request: Request) -> Response:
        return Response({"user": None if request.auth is None else str(request.user)})


urlpatterns = [
    path("me", me),
    path("me/async", me_async),
    path("orders", orders),
    path("orders/create", create_order),
    path("orders/async", orders_async),
    path("admin", admin),
    path("health", health),
    path("api/orders", OrdersApi.as_view()),
    path("api/admin", AdminApi.as_view()),
    path("api/open", OpenApi.as_view()),
    path("api/session", SessionOrTokenApi.as_view()),
    path("api/schema", SpectacularAPIView.as_view()),
]
