"""The one web decision, ``decide()``, as a pure function of a request's facts and an outcome.

Every web adapter (WSGI, ASGI, Flask, FastAPI, the Lambda authorizer, Django) gathers the facts,
runs the one verify call ``decide`` asks for and carries out its answer; these tests pin the
decision itself, without any adapter.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cognito_jwt import (
    ClaimError,
    Claims,
    ConfigurationError,
    ExpiredTokenError,
    InsufficientScopeError,
    KeySetUnavailableError,
    MalformedTokenError,
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
    refusal,
    request_token,
)
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.lambda_authorizer import _from_value, flatten_context

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
    "policy",
    [
        WebPolicy.of(),
        WebPolicy.of(scopes="orders/read"),
        WebPolicy.of(scopes="orders/write", realm="orders"),
        WebPolicy.of(groups="staff"),
        WebPolicy.of(groups=["admins"]),
    ],
)
@pytest.mark.parametrize(
    "outcome",
    [
        CLAIMS,
        Claims({"sub": "bob"}),
        ExpiredTokenError("expired"),
        MalformedTokenError("garbage"),
        InsufficientScopeError("no scope"),
        MissingGroupError("no group"),
        KeySetUnavailableError("issuer down"),
    ],
    ids=repr,
)
def test_refusal_is_the_second_call_without_the_admission(
    policy: WebPolicy, outcome: Claims | Exception
) -> None:
    """What the Lambda authorizer asks instead of decide(): the same refusal, or None."""
    answer = decide(policy, RequestFacts(), outcome)  # type: ignore[arg-type]
    expected = None if isinstance(answer, Admit) else answer
    assert refusal(policy, outcome) == expected  # type: ignore[arg-type]


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


# --- The fast paths read exactly what the plain rules read ----------------------------------------
def _request_token_by_split(
    authorization: Sequence[str], header: Sequence[str] = (), cookie: str | None = None
) -> str | None:
    """The rules as first written, with split(): the reference for the fast path."""
    values = [v for v in authorization if v.strip()]
    if [v for v in values if v.split()[0].lower() == "bearer"]:
        parts = values[0].split() if len(values) == 1 else []
        if len(parts) != 2 or parts[0].lower() != "bearer" or "," in parts[1]:
            raise MalformedTokenError("malformed")
        return parts[1]
    values = [v for v in header if v.strip()]
    if values:
        parts = values[0].split()
        if len(values) == 1 and parts[0].lower() == "bearer" and len(parts) == 2:
            return parts[1]
        if len(values) == 1 and len(parts) == 1 and "," not in parts[0]:
            return parts[0]
        raise MalformedTokenError("malformed")
    return cookie


# Spaces of every kind split() knows (ASCII and not), commas, and the scheme in any case.
_PIECES = st.sampled_from(
    ["Bearer", "bearer", "BEARER", "Basic", "a.b.c", "tok", ",", " ", "  ", "\t", "\n", "\r",
     "\x0b", "\x0c", "\x1c", "\x1f", "\xa0", "\u2003", "\x85", "é", "="]
)  # fmt: skip
_VALUES = st.lists(_PIECES, max_size=6).map("".join)


def _outcome(read: Callable[[], str | None]) -> str | type[Exception] | None:
    try:
        return read()
    except MalformedTokenError:
        return MalformedTokenError


@settings(max_examples=200, deadline=None)
@given(st.lists(_VALUES, max_size=2), st.lists(_VALUES, max_size=2))
def test_the_token_read_without_split_is_the_token_split_reads(
    authorization: list[str], header: list[str]
) -> None:
    fast = _outcome(lambda: request_token(authorization, header=header, cookie="c"))
    assert fast == _outcome(lambda: _request_token_by_split(authorization, header, "c"))


@settings(max_examples=200, deadline=None)
@given(_VALUES, st.booleans())
def test_the_authorizer_reads_a_header_value_as_split_does(value: str, bare: bool) -> None:
    parts = value.split()
    expected = (
        parts[1]
        if len(parts) == 2 and parts[0].lower() == "bearer"
        else parts[0]
        if len(parts) == 1 and bare and parts[0].lower() != "bearer"
        else None
    )
    assert _from_value(value, allow_bare=bare) == expected


def _flatten_with_json(values: dict[str, Any], limit: int) -> dict[str, Any]:
    """The context as first written (json.dumps each value, then the whole map)."""
    context = {
        key: value
        if type(value) in {str, int, float, bool}
        else json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        for key, value in values.items()
        if value is not None
    }
    if len(json.dumps(context).encode()) <= limit:
        return context
    kept: dict[str, Any] = {}
    size = 2
    for key, flat in context.items():
        entry = len(json.dumps({key: flat}).encode())
        if size + entry > limit:
            break
        kept[key] = flat
        size += entry
    return kept


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _JSON, max_size=8), st.integers(2, 400))
def test_the_context_is_what_json_makes_of_the_claims(values: dict[str, Any], limit: int) -> None:
    assert flatten_context(values, limit) == _flatten_with_json(values, limit)
    assert flatten_context(Claims(values), limit) == _flatten_with_json(values, limit)


# --- The ASGI middleware's one scan of the headers ------------------------------------------------
class _Stub:
    def __init__(self) -> None:
        self.tokens: list[str | bytes] = []

    async def verify_async(self, token: str | bytes) -> Claims:
        self.tokens.append(token)
        return CLAIMS


def _call(verifier: Any, headers: list[tuple[Any, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """The scope the application saw (empty if not called), and what was sent."""
    seen: dict[str, Any] = {}
    sent: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(AsgiMiddleware(app, verifier)(scope, None, send))  # type: ignore[arg-type]
    return seen, sent


@pytest.mark.parametrize("name", [b"authorization", b"Authorization", b"AUTHORIZATION"])
@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_asgi_finds_a_header_whatever_its_case_and_bytes_type(name: bytes, kind: type) -> None:
    stub = _Stub()
    headers = [(kind(b"Accept"), kind(b"*/*")), (kind(name), kind(f"Bearer {TOKEN}".encode()))]
    seen, _ = _call(stub, headers)
    assert stub.tokens == [TOKEN]
    assert seen["cognito_jwt.claims"] is CLAIMS


def test_asgi_two_authorization_headers_in_any_case_are_refused() -> None:
    stub = _Stub()
    headers = [(b"authorization", f"Bearer {TOKEN}".encode()), (b"Authorization", b"Bearer x")]
    seen, sent = _call(stub, headers)
    assert (stub.tokens, seen, sent[0]["status"]) == ([], {}, 401)


class _Refusing(_Stub):
    async def verify_async(self, token: str | bytes) -> Claims:
        raise ExpiredTokenError("expired")


@pytest.mark.parametrize("identity", [b"x-amzn-oidc-identity", b"X-Amzn-Oidc-Identity"])
def test_asgi_unsigned_alb_headers_come_back_only_with_verified_claims(identity: bytes) -> None:
    sent: list[Any] = []
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def send(message: Any) -> None:
        sent.append(message)

    def run(verifier: Any) -> dict[str, Any]:
        headers = [(b"X-Amzn-Oidc-Data", TOKEN.encode()), (identity, b"alice"), (b"a", b"b")]
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
        middleware = AsgiMiddleware(app, verifier, token_source="alb")
        asyncio.run(middleware(scope, None, send))  # type: ignore[arg-type]
        return scope

    refused = run(_Refusing())
    assert sent[0]["status"] == 401
    assert refused["headers"] == [(b"X-Amzn-Oidc-Data", TOKEN.encode()), (b"a", b"b")]
    admitted = run(_Stub())  # CLAIMS: sub alice
    assert (identity, b"alice") in admitted["headers"]
    assert seen["cognito_jwt.alb"].identity == "alice"


def test_the_adapters_take_the_public_verifier_protocols() -> None:
    import cognito_jwt
    from cognito_jwt.adapters import asgi, lambda_authorizer, wsgi

    assert asgi.AsyncVerifier is cognito_jwt.AsyncVerifier
    assert wsgi.Verifier is cognito_jwt.Verifier
    # The authorizer's own protocol only adds hydrate() to the public one.
    assert cognito_jwt.Verifier in lambda_authorizer.Verifier.__mro__
    assert "verify" not in vars(lambda_authorizer.Verifier)
