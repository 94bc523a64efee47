"""The Powertools recipe (docs/guides/powertools.md), beyond the happy paths its samples show.

The page's samples run here as they run in tests/test_docs.py (same names, same order); then
the handlers they define get the refusals a real API sees: no token, a forged token, a token
without the route's scope, and a key set that cannot be fetched. The events are AWS's
documented shapes (tests/adapters/events/), the verifier a real one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cognito_jwt import CognitoVerifier, FetchOptions, KeySetUnavailableError
from tests.helpers import all_keys
from tests.test_docs import CLIENT, FENCE, POOL, ROOT, _namespace

from .test_lambda_authorizer import closed_port

PAGE = ROOT / "docs" / "guides" / "powertools.md"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    namespace = _namespace()
    for number, block in enumerate(FENCE.findall(PAGE.read_text(encoding="utf-8")), 1):
        exec(compile(block, f"powertools.md[sample {number}]", "exec"), namespace)  # noqa: S102
    return namespace


def token(**overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "0d1f-user",
        "iss": ISSUER,
        "iat": now,
        "exp": now + 3600,
        "token_use": "access",
        "client_id": CLIENT,
        "scope": "orders/read",
        "username": "alice",
        **overrides,
    }
    return all_keys()["RS256"].sign(claims)


def with_authorization(event: dict[str, Any], value: str | None) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for name in ("Authorization", "authorization"):
        event["headers"].pop(name, None)
        event.get("multiValueHeaders", {}).pop(name, None)
    if value is not None:
        event["headers"]["Authorization"] = value
        if "multiValueHeaders" in event:
            event["multiValueHeaders"]["Authorization"] = [value]
    return event


def outage_verifier() -> CognitoVerifier:
    return CognitoVerifier(
        user_pool_id=POOL,
        client_id=CLIENT,
        token_use="access",
        jwks_uri=f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json",
        store=None,
        fetch=FetchOptions(retries=0, connect_timeout=1.0, timeout=2.0),
    )


@pytest.fixture
def outage(page: dict[str, Any]) -> Iterator[None]:
    """The page's handlers see a verifier whose keys cannot be fetched."""
    saved = page["verifier"]
    page["verifier"] = outage_verifier()
    try:
        yield
    finally:
        page["verifier"] = saved


# --- the authorizers ----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [None, "", "Bearer", "Basic dXNlcjpwYXNz", f"Bearer {'x' * 40}"])
def test_rest_authorizer_answers_401_without_a_valid_token(
    page: dict[str, Any], value: str | None
) -> None:
    event = with_authorization(page["request_event"], value)
    with pytest.raises(Exception) as info:  # noqa: PT011 - API Gateway's contract
        page["rest_authorizer"](event, None)
    assert type(info.value) is Exception
    assert str(info.value) == "Unauthorized"


def test_rest_authorizer_policy_covers_the_stage(page: dict[str, Any]) -> None:
    answer = page["rest_authorizer"](page["request_event"], None)
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    stage = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*/*"
    assert statement["Resource"] == [stage]
    assert answer["principalId"] == "0d1f-user"
    assert page["access_token"] not in repr(answer)


def test_rest_authorizer_lets_a_key_outage_through(page: dict[str, Any], outage: None) -> None:
    with pytest.raises(KeySetUnavailableError):
        page["rest_authorizer"](page["request_event"], None)


def test_http_authorizer_refuses_a_forged_token(page: dict[str, Any]) -> None:
    forged = token()[:-4] + "AAAA"
    event = copy.deepcopy(page["http_event"])
    event["headers"]["authorization"] = f"Bearer {forged}"
    assert page["http_authorizer"](event, None) == {"isAuthorized": False}


# --- the event handler middleware ---------------------------------------------------------------
def test_no_token_is_401_with_a_challenge(page: dict[str, Any]) -> None:
    response = page["lambda_handler"](with_authorization(page["rest_proxy_event"], None), None)
    assert response["statusCode"] == 401
    assert response["multiValueHeaders"]["WWW-Authenticate"] == ['Bearer realm="api"']


def test_expired_token_is_401_invalid_token(page: dict[str, Any]) -> None:
    expired = token(exp=int(time.time()) - 60)
    response = page["lambda_handler"](
        with_authorization(page["rest_proxy_event"], f"Bearer {expired}"), None
    )
    assert response["statusCode"] == 401
    assert 'error="invalid_token"' in response["multiValueHeaders"]["WWW-Authenticate"][0]
    assert expired not in str(response)


def test_missing_scope_is_403_insufficient_scope(page: dict[str, Any]) -> None:
    reader = token(scope="orders/read")  # the HTTP API route wants orders/write
    event = copy.deepcopy(page["http_proxy_event"])
    event["headers"]["authorization"] = f"Bearer {reader}"
    response = page["http_app"].resolve(event, None)
    assert response["statusCode"] == 403
    challenge = response["headers"]["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="orders/write"' in challenge


def test_key_outage_is_503(page: dict[str, Any], outage: None) -> None:
    response = page["lambda_handler"](page["rest_proxy_event"], None)
    assert response["statusCode"] == 503
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]


def test_claims_do_not_leak_between_requests(page: dict[str, Any]) -> None:
    assert page["lambda_handler"](page["rest_proxy_event"], None)["statusCode"] == 200
    assert "claims" not in page["app"].context
    refused = page["lambda_handler"](with_authorization(page["rest_proxy_event"], None), None)
    assert refused["statusCode"] == 401
