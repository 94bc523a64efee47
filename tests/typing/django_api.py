"""Type-checked with mypy --strict, never run: the Django adapter as the guide writes it."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cognito_jwt import Claims
from cognito_jwt.adapters.django import (
    BearerAuthMiddleware,
    CognitoJwtAuthentication,
    TokenUser,
    has_scope,
    in_group,
    rejection_response,
    require_token,
)


@require_token(scopes=["orders/read"])
def list_orders(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@require_token(groups="admins")
async def admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


response: JsonResponse = list_orders(HttpRequest())
readers: type[BasePermission] = has_scope("orders/read", "orders/admin")
admins: type[BasePermission] = in_group("admins")
middleware_class: type[BearerAuthMiddleware] = BearerAuthMiddleware
user = TokenUser(Claims({"sub": "s"}))
name: str = user.get_username()
_ = rejection_response


class Orders(APIView):
    authentication_classes = [CognitoJwtAuthentication]  # noqa: RUF012
    permission_classes = [has_scope("orders/read") & in_group("admins")]  # noqa: RUF012

    def get(self, request: Request) -> Response:
        claims = request.auth
        assert isinstance(claims, Claims)
        return Response({"sub": claims.sub})
