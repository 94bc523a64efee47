"""The one web decision, ``decide()``, as a pure function of a request's facts and an outcome.

Every web adapter (WSGI, ASGI, Flask, FastAPI, the Lambda authorizer, Django) gathers the facts,
runs the one verify call ``decide`` asks for and carries out its answer; these tests pin the
decision itself, without any adapter.
"""

from __future__ import annotations

import json
import logging

import pytest

from cognito_jwt import (
    ClaimError,
    Claims,
    ConfigurationError,
    ExpiredTokenError,
    InsufficientScopeError,
    KeySetUnavailableError,
    MissingGroupError,
)
from cognito_jwt.adapters._web import (
    DATA_HEADER,
    PASS,
    Admit,
    AlbIdentity,
    Rejection,
    RequestFacts,
    Verify,
    WebPolicy,
    decide,
)

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
CLAIMS = Claims({"sub": "alice", "scope": "orders/read", "cognito:groups": ["staff"]})


def facts(*authorization: str, **more: object) -> RequestFacts:
    return RequestFacts(authorization=authorization, **more)  # type: ignore[arg-type]


def challenge(answer: Rejection) -> str:
    return dict(answer.headers)["WWW-Authenticate"]


def test_a_bearer_token_is_to_be_verified() -> None:
    decision = decide(WebPolicy.of(), facts(f"Bearer {TOKEN}"))
    assert decision == Verify(TOKEN)
    assert TOKEN not in repr(decision)  # a token never reaches a log through a repr


def test_valid_claims_are_admitted_with_them() -> None:
    assert decide(WebPolicy.of(), facts(f"Bearer {TOKEN}"), CLAIMS) == Admit(CLAIMS)


@pytest.mark.parametrize(
    "request_facts",
    [
        RequestFacts(method="OPTIONS", path="/orders", preflight=True),
        RequestFacts(path="/health"),
        RequestFacts(path="/public/a", authorization=("Bearer a b",)),
    ],
    ids=["preflight", "excluded", "excluded-prefix-malformed"],
)
def test_preflights_and_excluded_paths_pass_without_a_token(request_facts: RequestFacts) -> None:
    policy = WebPolicy.of(exclude_paths=["/health", "/public/"])
    assert decide(policy, request_facts) is PASS


def test_a_get_with_the_preflight_header_is_no_preflight() -> None:
    answer = decide(WebPolicy.of(), RequestFacts(method="GET", preflight=True))
    assert isinstance(answer, Rejection)
    assert answer.status == 401


def test_no_token_is_401_without_an_error_code_unless_optional() -> None:
    answer = decide(WebPolicy.of(realm="orders"), RequestFacts())
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.code, challenge(answer)) == (
        401,
        "ERR_TOKEN_MISSING",
        'Bearer realm="orders"',
    )
    assert decide(WebPolicy.of(optional=True), RequestFacts()) is PASS


@pytest.mark.parametrize(
    "values",
    [("Bearer",), ("Bearer a b",), ("Bearer a,b",), (f"Bearer {TOKEN}", f"Bearer {TOKEN}")],
    ids=["no-token", "two-words", "comma", "two-headers"],
)
def test_a_malformed_bearer_credential_is_401_even_when_optional(values: tuple[str, ...]) -> None:
    answer = decide(WebPolicy.of(optional=True), facts(*values))
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.error, answer.code) == (
        401,
        "invalid_token",
        "ERR_MALFORMED_TOKEN",
    )


def test_another_scheme_falls_back_to_the_header_then_the_cookie() -> None:
    policy = WebPolicy.of(header="X-Token", cookie="session")
    assert decide(policy, facts("Basic dXNlcjpwYXNz", token_header=("tok.en.a",))) == Verify(
        "tok.en.a"
    )
    assert decide(policy, facts(cookie=("a=1; session=tok.en.b",))) == Verify("tok.en.b")
    assert policy.token_header == "x-token"


@pytest.mark.parametrize(
    ("error", "status", "oauth"),
    [
        (ExpiredTokenError("expired at 12:00"), 401, "invalid_token"),
        (KeySetUnavailableError("down"), 503, "temporarily_unavailable"),
        (ConfigurationError("async custom_check"), 500, "server_error"),
        (MissingGroupError("needs secret-group"), 403, "insufficient_scope"),
    ],
)
def test_a_verifier_error_is_answered_by_its_class(
    error: Exception, status: int, oauth: str
) -> None:
    answer = decide(WebPolicy.of(), facts(f"Bearer {TOKEN}"), error)  # type: ignore[arg-type]
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.error) == (status, oauth)
    assert set(json.loads(answer.body)) == {"error", "error_description", "code"}


def test_the_adapter_scopes_are_named_in_its_own_403() -> None:
    policy = WebPolicy.of(scopes=["orders/write", "orders/admin"])
    answer = decide(policy, facts(f"Bearer {TOKEN}"), CLAIMS)
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.code) == (403, "ERR_SCOPE_MISSING")
    assert challenge(answer).endswith(', scope="orders/admin orders/write"')


def test_a_verifier_scope_refusal_names_no_scope() -> None:
    # The adapter's scopes are not the ones the verifier wanted: naming them would mislead.
    policy = WebPolicy.of(scopes=["orders/read"])
    refused = InsufficientScopeError("one of the scopes admin/all is required")
    answer = decide(policy, facts(f"Bearer {TOKEN}"), refused)
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.code) == (403, "ERR_SCOPE_MISSING")
    assert "scope=" not in challenge(answer)


def test_a_missing_group_names_neither_groups_nor_scopes() -> None:
    policy = WebPolicy.of(scopes=["orders/read"], groups=["secret-admins"])
    answer = decide(policy, facts(f"Bearer {TOKEN}"), CLAIMS)
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.code) == (403, "ERR_GROUP_MISSING")
    assert "scope=" not in challenge(answer)
    assert "secret-admins" not in challenge(answer) + answer.body.decode()


def test_behind_a_load_balancer_the_data_header_is_the_token() -> None:
    policy = WebPolicy.of(token_source="alb")
    assert policy.token_header == DATA_HEADER
    request = RequestFacts(
        authorization=("Bearer ignored.by.alb",),
        token_header=(TOKEN,),
        identity=("alice",),
        access_token=("opaque",),
    )
    assert decide(policy, request) == Verify(TOKEN)
    assert decide(policy, request, CLAIMS) == Admit(CLAIMS, AlbIdentity(CLAIMS, "alice", "opaque"))
    missing = decide(policy, RequestFacts(authorization=("Bearer x.y.z",)))
    assert isinstance(missing, Rejection)
    assert json.loads(missing.body)["error_description"].startswith("the load balancer's")


def test_an_identity_header_that_is_not_the_verified_sub_is_refused() -> None:
    policy = WebPolicy.of(token_source="alb")
    answer = decide(policy, RequestFacts(token_header=(TOKEN,), identity=("mallory",)), CLAIMS)
    assert isinstance(answer, Rejection)
    assert (answer.status, answer.code) == (401, ClaimError.code)


def test_every_refusal_is_logged_once_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    policy = WebPolicy.of(groups=["admins"])
    outcomes: list[tuple[RequestFacts, object, str]] = [
        (RequestFacts(), None, "refused with 401 (ERR_TOKEN_MISSING): a bearer token is required"),
        (facts(f"Bearer {TOKEN} x"), None, "refused with 401 (ERR_MALFORMED_TOKEN): "),
        (facts(f"Bearer {TOKEN}"), ExpiredTokenError("expired"), "refused with 401 (ERR_TOKEN"),
        (facts(f"Bearer {TOKEN}"), CLAIMS, "refused with 403 (ERR_GROUP_MISSING): "),
        (facts(f"Bearer {TOKEN}"), KeySetUnavailableError("down"), "refused with 503 ("),
        (facts(f"Bearer {TOKEN}"), ConfigurationError("bad"), "refused with 500 ("),
    ]
    for request, outcome, line in outcomes:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="cognito_jwt"):
            answer = decide(policy, request, outcome)  # type: ignore[call-overload]
        assert isinstance(answer, Rejection)
        assert len(caplog.records) == 1, caplog.text
        assert caplog.records[0].getMessage().startswith(line), caplog.text
        assert TOKEN not in caplog.text
    # Admissions log nothing.
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="cognito_jwt"):
        decide(WebPolicy.of(), facts(f"Bearer {TOKEN}"))
        decide(WebPolicy.of(), facts(f"Bearer {TOKEN}"), CLAIMS)
    assert caplog.records == []


def test_the_same_facts_get_the_same_answer() -> None:
    policy = WebPolicy.of(scopes="orders/write")
    request = facts(f"Bearer {TOKEN}")
    assert decide(policy, request, CLAIMS) == decide(policy, request, CLAIMS)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_optional_must_be_a_bool(value: object) -> None:
    # optional="no" is truthy: it would have let anonymous requests in.
    with pytest.raises(ConfigurationError, match="optional"):
        WebPolicy.of(optional=value)  # type: ignore[arg-type]
