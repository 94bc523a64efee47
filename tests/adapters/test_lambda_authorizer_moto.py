"""The Lambda authorizer end to end: real Cognito-shaped tokens from moto's Cognito IdP.

moto serves the pool's JWKS on 127.0.0.1; the verifier fetches it through ``jwks_uri=`` while
the tokens carry the real Cognito issuer. Each case runs through every authorizer event type
(AWS's documented example events with the token put where API Gateway puts it).
"""

# ruff: noqa: F811 - pytest fixtures imported by name
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.lambda_authorizer import TokenSource, Unauthorized, authorizer
from tests.adapters.test_lambda_authorizer import (
    HTTP_STAGE,
    REST_REQUEST_STAGE,
    REST_TOKEN_STAGE,
    WEBSOCKET_STAGE,
    assert_context_types,
    assert_policy,
    http_v2_event,
    policy_allows,
    rest_request_event,
    token_event,
    websocket_event,
)
from tests.servers.moto_cognito import MotoCognito
from tests.servers.moto_fixtures import moto_cognito  # noqa: F401

# kind -> (event builder, authorizer() options, stage wildcard or None for simple answers)
KINDS: dict[str, tuple[Callable[[str], dict[str, Any]], dict[str, Any], str | None]] = {
    "rest_token": (lambda t: token_event(f"Bearer {t}"), {}, REST_TOKEN_STAGE),
    "rest_request": (lambda t: rest_request_event(f"Bearer {t}"), {}, REST_REQUEST_STAGE),
    "http_v2_simple": (lambda t: http_v2_event(f"Bearer {t}"), {}, None),
    "http_v2_iam": (lambda t: http_v2_event(f"Bearer {t}"), {"http_response": "iam"}, HTTP_STAGE),
    "websocket_query": (
        lambda t: websocket_event(query=t),
        {"token_source": TokenSource(query="token")},
        WEBSOCKET_STAGE,
    ),
}


def _verifier(moto: MotoCognito, **kwargs: Any) -> CognitoVerifier:
    options: dict[str, Any] = {
        "user_pool_id": moto.user_pool_id,
        "client_id": moto.client_id,
        "token_use": "access",
        "jwks_uri": moto.jwks_uri,
        "store": None,
    }
    options.update(kwargs)
    return CognitoVerifier(**options)


def _run(kind: str, verifier: CognitoVerifier, token: str, **options: Any) -> dict[str, Any] | None:
    """The handler's answer for *token* in a *kind* event; ``None`` when it raised 401."""
    build, kind_options, _ = KINDS[kind]
    handler = authorizer(verifier, **kind_options, **options)
    refused: Unauthorized | None = None
    try:
        return dict(handler(build(token), None))
    except Unauthorized as exc:
        refused = exc
    assert str(refused) == "Unauthorized"
    return None


def _assert_allow(kind: str, response: dict[str, Any] | None, moto: MotoCognito) -> None:
    assert response is not None
    stage = KINDS[kind][2]
    if stage is None:
        assert response["isAuthorized"] is True
        assert set(response) == {"isAuthorized", "context"}
    else:
        assert_policy(response, effect="Allow", principal=moto.user_sub, resources=[stage])
    context = response["context"]
    assert_context_types(context)
    assert context["sub"] == moto.user_sub
    assert context["cognito:groups"] == '["admins"]'
    assert context["iss"] == moto.issuer


def _assert_deny(kind: str, response: dict[str, Any] | None, moto: MotoCognito) -> None:
    stage = KINDS[kind][2]
    if stage is None:
        assert response == {"isAuthorized": False}
    else:
        assert response is not None
        assert_policy(response, effect="Deny", principal=moto.user_sub, resources=[stage])
        assert "context" not in response


def _assert_unauthorized(kind: str, response: dict[str, Any] | None) -> None:
    if KINDS[kind][2] is None:
        assert response == {"isAuthorized": False}
    else:
        assert response is None


@pytest.mark.parametrize("kind", list(KINDS))
def test_access_token_is_allowed(kind: str, moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    verifier = _verifier(moto_cognito)
    response = _run(kind, verifier, token)
    _assert_allow(kind, response, moto_cognito)
    assert response is not None
    assert response["context"]["token_use"] == "access"
    assert response["context"]["username"] == moto_cognito.username
    assert response["context"]["client_id"] == moto_cognito.client_id
    assert response["context"]["scope"] == "aws.cognito.signin.user.admin"
    assert verifier.stats.fetches == 1  # hydrated at creation, from the moto server


@pytest.mark.parametrize("kind", list(KINDS))
def test_id_token_is_allowed_by_an_id_verifier(kind: str, moto_cognito: MotoCognito) -> None:
    tokens = moto_cognito.tokens()
    response = _run(kind, _verifier(moto_cognito, token_use="id"), tokens["IdToken"])
    _assert_allow(kind, response, moto_cognito)
    assert response is not None
    assert response["context"]["email"] == moto_cognito.email
    assert response["context"]["aud"] == moto_cognito.client_id
    assert response["context"]["token_use"] == "id"
    # ... and each verifier refuses the other kind of token.
    _assert_unauthorized(kind, _run(kind, _verifier(moto_cognito), tokens["IdToken"]))
    id_verifier = _verifier(moto_cognito, token_use="id")
    _assert_unauthorized(kind, _run(kind, id_verifier, tokens["AccessToken"]))


@pytest.mark.parametrize("kind", list(KINDS))
def test_group_restricted_routes(kind: str, moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    verifier = _verifier(moto_cognito)
    _assert_allow(kind, _run(kind, verifier, token, groups=["admins"]), moto_cognito)
    _assert_deny(kind, _run(kind, verifier, token, groups=["auditors"]), moto_cognito)
    # The verifier's own groups= gives the same 403, with the user's principal.
    strict = _verifier(moto_cognito, groups=["auditors"])
    _assert_deny(kind, _run(kind, strict, token), moto_cognito)
    admins = _verifier(moto_cognito, groups=["admins"])
    _assert_allow(kind, _run(kind, admins, token), moto_cognito)


@pytest.mark.parametrize("kind", list(KINDS))
def test_scope_restricted_routes(kind: str, moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    verifier = _verifier(moto_cognito)
    allowed = _run(kind, verifier, token, scopes=["aws.cognito.signin.user.admin"])
    _assert_allow(kind, allowed, moto_cognito)
    _assert_deny(kind, _run(kind, verifier, token, scopes=["orders/write"]), moto_cognito)


@pytest.mark.parametrize("kind", list(KINDS))
def test_token_of_the_other_app_client_is_401(kind: str, moto_cognito: MotoCognito) -> None:
    other = moto_cognito.tokens("other")
    _assert_unauthorized(kind, _run(kind, _verifier(moto_cognito), other["AccessToken"]))
    id_verifier = _verifier(moto_cognito, token_use="id")
    _assert_unauthorized(kind, _run(kind, id_verifier, other["IdToken"]))
    # With on_invalid="deny" it is an explicit Deny for an anonymous principal instead.
    denied = _run(kind, _verifier(moto_cognito), other["AccessToken"], on_invalid="deny")
    if KINDS[kind][2] is None:
        assert denied == {"isAuthorized": False}
    else:
        assert denied is not None
        assert_policy(denied, effect="Deny", principal="anonymous", resources=[KINDS[kind][2]])


@pytest.mark.parametrize("kind", list(KINDS))
def test_expired_token_is_401(kind: str, moto_cognito: MotoCognito) -> None:
    tokens = moto_cognito.tokens()
    later = _verifier(moto_cognito, clock=lambda: time.time() + 7200)
    _assert_unauthorized(kind, _run(kind, later, tokens["AccessToken"]))
    later_id = _verifier(moto_cognito, token_use="id", clock=lambda: time.time() + 7200)
    _assert_unauthorized(kind, _run(kind, later_id, tokens["IdToken"]))
    # Still valid an hour short of that.
    sooner = _verifier(moto_cognito, clock=lambda: time.time() + 1800)
    _assert_allow(kind, _run(kind, sooner, tokens["AccessToken"]), moto_cognito)


@pytest.mark.parametrize("kind", ["rest_token", "rest_request", "websocket_query"])
def test_tampered_moto_token_is_401(kind: str, moto_cognito: MotoCognito) -> None:
    header, payload, signature = moto_cognito.tokens()["AccessToken"].split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    _assert_unauthorized(kind, _run(kind, _verifier(moto_cognito), forged))


def test_cached_policy_from_one_route_covers_the_stage(moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    api = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod"
    handler = authorizer(_verifier(moto_cognito))
    policy = handler(rest_request_event(f"Bearer {token}", method_arn=f"{api}/GET/orders"), None)
    assert policy["principalId"] == moto_cognito.user_sub
    assert policy_allows(policy, f"{api}/GET/orders")
    assert policy_allows(policy, f"{api}/POST/orders/1")
    assert not policy_allows(policy, f"{api.replace('/prod', '/dev')}/GET/orders")
    method = authorizer(_verifier(moto_cognito), resource="method")
    narrow = method(rest_request_event(f"Bearer {token}", method_arn=f"{api}/GET/orders"), None)
    assert policy_allows(narrow, f"{api}/GET/orders")
    assert not policy_allows(narrow, f"{api}/POST/orders/1")


def test_websocket_header_and_query(moto_cognito: MotoCognito) -> None:
    tokens = moto_cognito.tokens()
    other = moto_cognito.tokens("other")["AccessToken"]
    handler = authorizer(_verifier(moto_cognito), token_source=TokenSource(query="token"))
    # The header wins when both are present; the query string is used only without it.
    both = websocket_event(query=other, header=f"Bearer {tokens['AccessToken']}")
    assert handler(both, None)["principalId"] == moto_cognito.user_sub
    with pytest.raises(Unauthorized):
        handler(websocket_event(query=tokens["AccessToken"], header=f"Bearer {other}"), None)
