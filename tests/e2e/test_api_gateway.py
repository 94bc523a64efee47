"""API Gateway (emulated by MiniStack) calling the library's Lambda authorizer.

The authorizer is ``authorizer(CognitoVerifier(...))`` in a deployment package built from this
tree (``tests/e2e/package.py``), run by MiniStack's Lambda executor; the backend is a Lambda
that echoes what API Gateway hands it. Four front doors, all caching authorizer results
(TTL 300 s, keyed by the ``Authorization`` header):

* ``rest-token``: REST API, ``TOKEN`` authorizer;
* ``rest-request``: REST API, ``REQUEST`` authorizer (payload 1.0);
* ``http-simple``: HTTP API, payload 2.0, simple responses; the route is part of the cache key
  (``$context.routeKey``), since a simple answer holds no resources;
* ``http-iam``: HTTP API, payload 2.0, IAM policy responses, ``on_invalid="deny"``.

Routes: ``/me`` (any valid token), ``/admin`` (group ``admins``), ``/write`` (scope
``https://api.example.com/write``), given to the handler as ``authorizer(..., routes={...})``
(``tests/e2e/lambda_src/authorizer_app.py``): a policy answer allows exactly the routes the
caller may call, whichever route it was asked about; a simple answer checks ``routeKey``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e import aws
from tests.e2e.conftest import Deployment


@dataclass(frozen=True)
class Door:
    name: str
    attribute: str  # of Deployment
    prefix: str  # path prefix before the route
    bad_token_status: int  # what a refused token gets

    def get(self, deployment: Deployment, route: str, token: str | None) -> Any:
        return deployment.get(getattr(deployment, self.attribute), f"{self.prefix}/{route}", token)

    def context(self, response: Any) -> dict[str, Any]:
        """The authorizer context the backend saw."""
        authorizer = aws.body(response)["authorizer"]
        assert isinstance(authorizer, dict)
        found: dict[str, Any] = (
            authorizer["lambda"] if self.attribute.startswith("http") else authorizer
        )
        return found


DOORS = [
    # REST: the handler raises Exception("Unauthorized"), which API Gateway turns into 401.
    Door("rest-token", "rest", "/token", 401),
    Door("rest-request", "rest", "/request", 401),
    # HTTP API simple responses: {"isAuthorized": false} is API Gateway's 403.
    Door("http-simple", "http_simple", "", 403),
    # HTTP API IAM policies: on_invalid="deny", an explicit Deny, 403.
    Door("http-iam", "http_iam", "", 403),
]
door_param = pytest.mark.parametrize("door", DOORS, ids=lambda d: d.name)


def _forged(token: str) -> str:
    head, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admins"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{token.split('.')[2]}"


@door_param
def test_valid_token_reaches_the_backend_with_its_claims(
    door: Door, deployment: Deployment, pool: aws.Pool
) -> None:
    token = pool.tokens("alice")["AccessToken"]
    response = door.get(deployment, "me", token)
    assert response.status_code == 200, response.text
    context = door.context(response)
    assert context["iss"] == pool.issuer
    assert context["client_id"] == pool.client_id
    assert context["username"] == "alice"
    assert context["token_use"] == "access"
    assert json.loads(context["cognito:groups"]) == ["admins"]  # lists arrive as JSON text
    if door.attribute == "rest":
        # REST hands the backend the principalId next to the context.
        assert context["principalId"] == context["sub"]
    # The library ran from the deployment package, not from this working tree.
    assert "ministack-lambda-authz-" in context["cognito_jwt_file"]


@door_param
def test_no_token_is_401(door: Door, deployment: Deployment) -> None:
    # API Gateway answers itself: the identity source is missing, the function is not called.
    response = door.get(deployment, "me", None)
    assert response.status_code == 401, response.text


@door_param
@pytest.mark.parametrize("kind", ["forged", "id-token", "other-pool", "garbage"])
def test_bad_token_is_refused(
    door: Door, kind: str, deployment: Deployment, pool: aws.Pool, other_pool: aws.Pool
) -> None:
    tokens = pool.tokens("bob")
    if kind == "forged":
        token = _forged(tokens["AccessToken"])
    elif kind == "id-token":
        token = tokens["IdToken"]  # the authorizer takes access tokens only
    elif kind == "other-pool":
        token = other_pool.tokens("carol")["AccessToken"]
    else:
        token = "not-a-jwt"
    for route in ("me", "admin"):
        response = door.get(deployment, route, token)
        assert response.status_code == door.bad_token_status, (route, response.text)


@door_param
def test_user_outside_the_group_gets_403(
    door: Door, deployment: Deployment, pool: aws.Pool
) -> None:
    response = door.get(deployment, "admin", pool.tokens("bob")["AccessToken"])
    assert response.status_code == 403, response.text


@door_param
def test_missing_scope_gets_403(door: Door, deployment: Deployment, pool: aws.Pool) -> None:
    reader = pool.m2m_token([aws.READ_SCOPE])
    assert door.get(deployment, "write", reader).status_code == 403
    writer = pool.m2m_token([aws.READ_SCOPE, aws.WRITE_SCOPE])
    response = door.get(deployment, "write", writer)
    assert response.status_code == 200, response.text
    assert door.context(response)["client_id"] == pool.m2m_client_id


@door_param
def test_cached_allow_never_opens_a_route_the_user_may_not_call(
    door: Door, deployment: Deployment, pool: aws.Pool
) -> None:
    # Fresh tokens: nothing cached for them yet.
    bob = pool.tokens("bob")["AccessToken"]
    alice = pool.tokens("alice")["AccessToken"]

    # The cache is on: the same token on the same route is answered without a new invocation.
    first = door.context(door.get(deployment, "me", alice))
    again = door.context(door.get(deployment, "me", alice))
    assert (again["container"], str(again["invocation"])) == (
        first["container"],
        str(first["invocation"]),
    )

    # bob's Allow for /me is cached; /admin stays closed to him all the same.
    bob_me = door.get(deployment, "me", bob)
    assert bob_me.status_code == 200, bob_me.text
    response = door.get(deployment, "admin", bob)
    assert response.status_code == 403, response.text
    # ... and /me stays open, answered from the cache still: the refusal replaced nothing.
    bob_again = door.get(deployment, "me", bob)
    assert bob_again.status_code == 200, bob_again.text
    assert str(door.context(bob_again)["invocation"]) == str(door.context(bob_me)["invocation"])

    # alice's cached answer still lets her in where she may go.
    admin = door.get(deployment, "admin", alice)
    assert admin.status_code == 200, admin.text
    if door.attribute != "http_simple":
        # One policy, cached from /me, answered /admin: it lists every route she may use.
        assert str(door.context(admin)["invocation"]) == str(first["invocation"])
