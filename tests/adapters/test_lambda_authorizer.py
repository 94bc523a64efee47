"""The API Gateway Lambda authorizer adapter, against AWS's documented example events.

Tokens are minted locally and verified by a CognitoVerifier with an in-memory key set and the
fixed clock of tests/helpers.py; the events are the examples of the API Gateway developer guide
(tests/adapters/events/), with the token put where API Gateway puts it.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from cognito_jwt import (
    Claims,
    CognitoVerifier,
    ConfigurationError,
    FetchOptions,
    KeySetUnavailableError,
)
from cognito_jwt._b64 import b64url_encode
from cognito_jwt.adapters import lambda_authorizer
from cognito_jwt.adapters.lambda_authorizer import (
    ApiArn,
    AuthorizerRequest,
    Decision,
    Route,
    TokenSource,
    Unauthorized,
    authorizer,
    deny_all,
    extract_token,
    flatten_context,
    parse_api_arn,
    parse_request,
)
from tests.helpers import (
    CLIENT_ID,
    FIXED_NOW,
    POOL_ID,
    SigningKey,
    access_claims,
    id_claims,
    raw_token,
)

EVENTS = Path(__file__).parent / "events"
SUB = access_claims()["sub"]
CONTEXT_LIMIT = 6 * 1024

# The stage wildcard each fixture's ARN must produce.
REST_TOKEN_STAGE = "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*"
REST_REQUEST_STAGE = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test/*"
HTTP_STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*"
WEBSOCKET_STAGE = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/*"


# --- Event builders -------------------------------------------------------------------------------
def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of one of AWS's example events."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(event)


def token_event(value: str, method_arn: str | None = None) -> dict[str, Any]:
    """REST TOKEN: the token source header's value is ``authorizationToken``."""
    event = load_event("rest_token")
    event["authorizationToken"] = value
    if method_arn is not None:
        event["methodArn"] = method_arn
    return event


def rest_request_event(
    value: str | None, name: str = "Authorization", method_arn: str | None = None
) -> dict[str, Any]:
    """REST REQUEST (payload 1.0): the header in ``headers`` and ``multiValueHeaders``."""
    event = load_event("rest_request")
    if value is not None:
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    if method_arn is not None:
        event["methodArn"] = method_arn
    return event


def http_v1_event(value: str | None, name: str = "Authorization") -> dict[str, Any]:
    """HTTP API payload 1.0: ``headers`` only, ``identitySource`` a comma-joined string."""
    event = load_event("http_v1_request")
    if value is not None:
        event["headers"][name] = value
        event["identitySource"] = value
    return event


def http_v2_event(
    value: str | None, name: str = "authorization", route_arn: str | None = None
) -> dict[str, Any]:
    """HTTP API payload 2.0: lowercase header names, ``identitySource`` a list."""
    event = load_event("http_v2_request")
    if value is not None:
        event["headers"][name] = value
        event["identitySource"] = [value]
    if route_arn is not None:
        event["routeArn"] = route_arn
    return event


def websocket_event(
    *, query: str | None = None, header: str | None = None, method_arn: str | None = None
) -> dict[str, Any]:
    """WebSocket $connect: a ``token`` query parameter and/or an Authorization header."""
    event = load_event("websocket_connect")
    if query is not None:
        event["queryStringParameters"]["token"] = query
        event["multiValueQueryStringParameters"]["token"] = [query]
    if header is not None:
        event["headers"]["Authorization"] = header
        event["multiValueHeaders"]["Authorization"] = [header]
    if method_arn is not None:
        event["methodArn"] = method_arn
    return event


# Event kinds as (builder(token) -> event, expected stage wildcard). Policy answers only.
POLICY_KINDS: dict[str, tuple[Callable[[str], dict[str, Any]], str]] = {
    "rest_token": (lambda t: token_event(f"Bearer {t}"), REST_TOKEN_STAGE),
    "rest_request": (lambda t: rest_request_event(f"Bearer {t}"), REST_REQUEST_STAGE),
    "http_v1": (lambda t: http_v1_event(f"Bearer {t}"), HTTP_STAGE),
    "http_v2_iam": (lambda t: http_v2_event(f"Bearer {t}"), HTTP_STAGE),
    "websocket_query": (lambda t: websocket_event(query=t), WEBSOCKET_STAGE),
    "websocket_header": (lambda t: websocket_event(header=f"Bearer {t}"), WEBSOCKET_STAGE),
}


# The same kinds of event with no token where the kind's handler looks for one.
MISSING: dict[str, Callable[[], dict[str, Any]]] = {
    "rest_token": lambda: token_event(""),
    "rest_request": lambda: rest_request_event(None),
    "http_v1": lambda: http_v1_event(None),
    "http_v2_iam": lambda: http_v2_event(None),
    "websocket_query": websocket_event,
    "websocket_header": websocket_event,
}


def handler_options(kind: str) -> dict[str, Any]:
    """The authorizer() options a kind of event needs (HTTP IAM answers, WebSocket query)."""
    if kind == "http_v2_iam":
        return {"http_response": "iam"}
    if kind.startswith("websocket"):
        return {"token_source": TokenSource(query="token")}
    return {}


# --- A tiny IAM matcher for execute-api ARNs ------------------------------------------------------
def _arn_pattern(resource: str) -> re.Pattern[str]:
    # In IAM resource ARNs `*` matches any run of characters (slashes included), `?` one.
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource)
    return re.compile("".join(parts))


def policy_allows(response: Mapping[str, Any], arn: str) -> bool:
    """Whether an authorizer's policy lets *arn* through: an Allow matches and no Deny does."""
    allowed = False
    for statement in response["policyDocument"]["Statement"]:
        if statement["Action"] not in ("execute-api:Invoke", "execute-api:*", "*"):
            continue
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if any(_arn_pattern(r).fullmatch(arn) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


# --- Shared checks --------------------------------------------------------------------------------
def assert_policy(
    response: Mapping[str, Any],
    *,
    effect: str,
    principal: str,
    resources: list[str],
) -> None:
    """A structurally valid single-statement policy answer."""
    assert response["principalId"] == principal
    assert isinstance(response["principalId"], str)
    document = response["policyDocument"]
    assert document["Version"] == "2012-10-17"
    assert document["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
    ]
    assert set(response) <= {"principalId", "policyDocument", "context", "usageIdentifierKey"}


def assert_unauthorized(handler: Callable[..., Any], event: Any) -> None:
    """The handler raises exactly what API Gateway turns into 401."""
    with pytest.raises(Unauthorized) as info:
        handler(event, None)
    assert str(info.value) == "Unauthorized"
    assert isinstance(info.value, Unauthorized)
    assert info.value.args == ("Unauthorized",)


def assert_context_types(context: Mapping[str, Any]) -> None:
    for key, value in context.items():
        assert isinstance(key, str)
        assert isinstance(value, str | int | float | bool), (key, value)


# --- Fixtures -------------------------------------------------------------------------------------
@pytest.fixture
def token(keys: dict[str, SigningKey]) -> str:
    """A valid access token (valid at FIXED_NOW) for the test pool."""
    return keys["RS256"].sign(access_claims())


@pytest.fixture
def make_handler(make_cognito: Callable[..., CognitoVerifier]) -> Callable[..., Any]:
    """authorizer() over a test-pool verifier; ``verifier_options`` go to the verifier."""

    def make(verifier_options: Mapping[str, Any] | None = None, **options: Any) -> Any:
        return authorizer(make_cognito(**(verifier_options or {})), **options)

    return make


class StubVerifier:
    """A verifier that counts calls and answers with fixed claims (or raises)."""

    def __init__(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        verify_error: BaseException | None = None,
        hydrate_error: BaseException | None = None,
    ) -> None:
        self.claims = Claims(claims if claims is not None else access_claims())
        self.verify_error = verify_error
        self.hydrate_error = hydrate_error
        self.verified: list[str | bytes] = []
        self.hydrations = 0

    def verify(self, token: str | bytes) -> Claims:
        self.verified.append(token)
        if self.verify_error is not None:
            raise self.verify_error
        return self.claims

    def hydrate(self) -> None:
        self.hydrations += 1
        if self.hydrate_error is not None:
            raise self.hydrate_error


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def unreachable_verifier() -> CognitoVerifier:
    """A verifier whose key set lives on a closed loopback port, with no store."""
    return CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=CLIENT_ID,
        token_use="access",
        jwks_uri=f"http://127.0.0.1:{closed_port()}/.well-known/jwks.json",
        store=None,
        clock=lambda: float(FIXED_NOW),
        fetch=FetchOptions(retries=0, connect_timeout=1.0, timeout=2.0),
    )


# ==================================================================================================
# Event recognition and ARN parsing
# ==================================================================================================
@pytest.mark.parametrize(
    ("name", "kind", "fields"),
    [
        (
            "rest_token",
            "token",
            ("aws", "us-west-2", "123456789012", "ymy8tbxw7b", "*", "GET/"),
        ),
        (
            "rest_request",
            "request",
            ("aws", "us-east-1", "123456789012", "s4x3opwd6i", "test", "GET/request"),
        ),
        (
            "http_v1_request",
            "request",
            ("aws", "us-east-1", "123456789012", "abcdef123", "test", "GET/request"),
        ),
        (
            "http_v2_request",
            "http",
            ("aws", "us-east-1", "123456789012", "abcdef123", "test", "GET/request"),
        ),
        (
            "websocket_connect",
            "websocket",
            ("aws", "us-east-1", "123456789012", "abcdef123", "default", "$connect"),
        ),
    ],
)
def test_every_documented_event_is_recognised(
    name: str, kind: str, fields: tuple[str, ...]
) -> None:
    event = load_event(name)
    request = parse_request(event)
    assert request.kind == kind
    assert request.arn == ApiArn(*fields)
    assert str(request.arn) == event.get("routeArn", event.get("methodArn"))
    assert request.event is event


def test_request_fields_are_normalised() -> None:
    request = parse_request(load_event("rest_request"))
    # Header names lowercased, values kept; query and stage variables kept case-sensitive.
    assert request.headers["x-amz-date"] == "20170718T062915Z"
    assert request.headers["cache-control"] == "no-cache"
    assert "X-AMZ-Date" not in request.headers
    assert dict(request.query) == {"QueryString1": "queryValue1"}
    assert dict(request.stage_variables) == {"StageVar1": "stageValue1"}
    assert dict(request.path_parameters) == {}

    http = parse_request(load_event("http_v2_request"))
    assert dict(http.headers) == {"header1": "value1", "header2": "value2"}
    assert dict(http.path_parameters) == {"parameter1": "value1"}
    assert http.query["parameter1"] == "value1,value2"

    token = parse_request(load_event("rest_token"))
    assert dict(token.headers) == {}
    assert dict(token.query) == {}


@pytest.mark.parametrize(
    ("arn", "partition", "region", "stage", "route", "wildcard"),
    [
        (
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/GET/orders/1",
            "aws",
            "eu-west-1",
            "prod",
            "GET/orders/1",
            "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/prod/*",
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3/prod/POST/orders",
            "aws-us-gov",
            "us-gov-west-1",
            "prod",
            "POST/orders",
            "arn:aws-us-gov:execute-api:us-gov-west-1:123456789012:a1b2c3/prod/*",
        ),
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/beta/DELETE/orders/7",
            "aws-cn",
            "cn-north-1",
            "beta",
            "DELETE/orders/7",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/beta/*",
        ),
        (
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/GET/",
            "aws",
            "us-west-2",
            "*",
            "GET/",
            "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/*/*",
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/$connect",
            "aws",
            "us-east-1",
            "default",
            "$connect",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default/*",
        ),
        (
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/items",
            "aws",
            "us-east-1",
            "$default",
            "GET/items",
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/*",
        ),
    ],
)
def test_arn_parsing(
    arn: str, partition: str, region: str, stage: str, route: str, wildcard: str
) -> None:
    parsed = parse_api_arn(arn)
    assert parsed.partition == partition
    assert parsed.region == region
    assert parsed.account == "123456789012"
    assert parsed.stage == stage
    assert parsed.route == route
    assert parsed.stage_wildcard == wildcard
    assert str(parsed) == arn
    assert parsed.resource("GET/orders/*") == wildcard[:-1] + "GET/orders/*"


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "not an arn",
        "arn:aws:lambda:us-east-1:123456789012:function:authorizer",
        "arn:aws:execute-api:us-east-1:12345:abcdef123/test/GET/",  # short account id
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123",  # no stage
        "arn:aws:execute-api:us-east-1:123456789012:abcdef123/",  # empty stage
        "arn:azure:execute-api:us-east-1:123456789012:abcdef123/test/GET/",
        "arn:aws:execute-api::123456789012:abcdef123/test/GET/",  # no region
        " arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/",
        None,
        123,
    ],
)
def test_invalid_arns_raise_value_error(arn: Any) -> None:
    with pytest.raises(ValueError, match="not an execute-api ARN"):
        parse_api_arn(arn)


_VALID_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/request"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(None, id="none"),
        pytest.param([], id="list"),
        pytest.param("Bearer abc", id="string"),
        pytest.param({}, id="empty-dict"),
        pytest.param({"type": "WHATEVER", "methodArn": _VALID_ARN}, id="unknown-type"),
        pytest.param({"authorizationToken": "Bearer abc", "methodArn": _VALID_ARN}, id="no-type"),
        pytest.param({"type": "TOKEN", "authorizationToken": "Bearer abc"}, id="token-no-arn"),
        pytest.param(
            {"type": "TOKEN", "authorizationToken": "Bearer abc", "methodArn": "arn:aws:s3:::b"},
            id="token-bad-arn",
        ),
        pytest.param(
            {"type": "REQUEST", "headers": {"Authorization": "Bearer abc"}}, id="request-no-arn"
        ),
        pytest.param(
            {
                "version": "2.0",
                "type": "REQUEST",
                "methodArn": _VALID_ARN,  # HTTP 2.0 events carry routeArn
                "headers": {"authorization": "Bearer abc"},
            },
            id="http-v2-no-route-arn",
        ),
        pytest.param(
            {"requestContext": {"eventType": "MESSAGE", "routeKey": "sendMessage"}},
            id="websocket-message",
        ),
    ],
)
def test_unusable_events_are_401(event: Any, caplog: pytest.LogCaptureFixture) -> None:
    stub = StubVerifier()
    handler = authorizer(stub)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert_unauthorized(handler, event)
    assert stub.verified == []
    assert "unusable event" in caplog.text


def test_parse_request_refuses_non_mappings() -> None:
    with pytest.raises(ValueError, match="not a JSON object"):
        parse_request([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not an API Gateway authorizer event"):
        parse_request({"type": "COGNITO"})


# ==================================================================================================
# Token extraction
# ==================================================================================================
def _extract(event: dict[str, Any], source: TokenSource | None = None) -> str | None:
    return extract_token(parse_request(event), source or TokenSource())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi", "abc.def.ghi"),
        ("Bearer\tabc.def.ghi", "abc.def.ghi"),
        ("  Bearer abc.def.ghi  ", "abc.def.ghi"),
        ("abc.def.ghi", "abc.def.ghi"),  # bare: allowed by default
        ("Basic abc", None),
        ("Bearer abc def", None),
        ("Bearer abc, Bearer def", None),
        ("Bearer", None),
        ("bearer ", None),
        ("", None),
        ("   ", None),
        ("\t", None),
    ],
)
def test_header_values(value: str, expected: str | None) -> None:
    assert _extract(rest_request_event(value)) == expected
    assert _extract(http_v1_event(value)) == expected
    assert _extract(websocket_event(header=value)) == expected
    if "," not in value:
        assert _extract(http_v2_event(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER   abc.def.ghi", "abc.def.ghi"),
        ("abc.def.ghi", "abc.def.ghi"),
        ("Basic abc", None),
        ("", None),
        ("   ", None),
    ],
)
def test_token_event_values(value: str, expected: str | None) -> None:
    assert _extract(token_event(value)) == expected


def test_token_event_without_authorization_token() -> None:
    event = load_event("rest_token")
    del event["authorizationToken"]
    assert _extract(event) is None
    event["authorizationToken"] = 42
    assert _extract(event) is None


def test_bare_tokens_are_refused_with_allow_bare_false() -> None:
    strict = TokenSource(allow_bare=False)
    assert _extract(rest_request_event("abc.def.ghi"), strict) is None
    assert _extract(http_v2_event("abc.def.ghi"), strict) is None
    assert _extract(rest_request_event("Bearer abc.def.ghi"), strict) == "abc.def.ghi"
    assert _extract(http_v2_event("bearer abc.def.ghi"), strict) == "abc.def.ghi"


def test_missing_header_is_no_token() -> None:
    assert _extract(rest_request_event(None)) is None
    assert _extract(http_v1_event(None)) is None
    assert _extract(http_v2_event(None)) is None
    assert _extract(websocket_event()) is None


def test_lowercase_authorization_header_in_a_rest_request_event() -> None:
    event = load_event("rest_request")
    event["headers"]["authorization"] = "Bearer abc.def.ghi"
    assert _extract(event) == "abc.def.ghi"
    event["multiValueHeaders"]["authorization"] = ["Bearer abc.def.ghi"]
    assert _extract(event) == "abc.def.ghi"


def test_header_names_are_case_insensitive() -> None:
    assert _extract(http_v2_event("Bearer a.b.c", name="Authorization")) == "a.b.c"
    assert _extract(rest_request_event("Bearer a.b.c", name="AUTHORIZATION")) == "a.b.c"
    custom = TokenSource(header="X-Api-Token")
    assert _extract(rest_request_event("Bearer a.b.c", name="x-api-token"), custom) == "a.b.c"
    assert _extract(http_v2_event("a.b.c", name="x-api-token"), custom) == "a.b.c"
    # The custom header is the only one looked at.
    assert _extract(rest_request_event("Bearer a.b.c"), custom) is None


def test_two_authorization_values_are_ambiguous() -> None:
    event = rest_request_event("Bearer first.token.x")
    event["multiValueHeaders"]["Authorization"] = ["Bearer first.token.x", "Bearer second.token.y"]
    assert _extract(event) is None
    # The same, with the two values under differently cased names.
    event = rest_request_event("Bearer first.token.x")
    event["multiValueHeaders"]["authorization"] = ["Bearer second.token.y"]
    assert _extract(event) is None
    # WebSocket events carry multiValueHeaders too.
    event = websocket_event(header="Bearer first.token.x")
    event["multiValueHeaders"]["Authorization"].append("Bearer second.token.y")
    assert _extract(event) is None


def test_comma_joined_http_v2_header_is_ambiguous() -> None:
    assert _extract(http_v2_event("Bearer first.token.x,Bearer second.token.y")) is None
    assert _extract(http_v2_event("first.token.x,second.token.y")) is None


def test_websocket_query_parameter() -> None:
    source = TokenSource(query="token")
    assert _extract(websocket_event(query="abc.def.ghi"), source) == "abc.def.ghi"
    assert _extract(websocket_event(query="Bearer abc.def.ghi"), source) == "abc.def.ghi"
    assert _extract(websocket_event(query=""), source) is None
    assert _extract(websocket_event(), source) is None
    # Without query= in the source, the query string is not looked at.
    assert _extract(websocket_event(query="abc.def.ghi")) is None
    # Query string names are case-sensitive.
    assert _extract(websocket_event(query="abc.def.ghi"), TokenSource(query="Token")) is None


def test_query_is_used_only_when_the_header_is_absent() -> None:
    source = TokenSource(query="token")
    both = websocket_event(query="from.query.x", header="Bearer from.header.y")
    assert _extract(both, source) == "from.header.y"
    assert _extract(websocket_event(query="from.query.x"), source) == "from.query.x"
    # A header that is present but unusable does not fall back to the query string.
    bad_header = websocket_event(query="from.query.x", header="Basic abc")
    assert _extract(bad_header, source) is None
    # header=None: the query string only.
    query_only = TokenSource(header=None, query="token")
    assert _extract(both, query_only) == "from.query.x"
    # The same for REST REQUEST and HTTP v2 events.
    rest = rest_request_event(None)
    rest["queryStringParameters"]["token"] = "from.query.x"
    assert _extract(rest, source) == "from.query.x"
    http = http_v2_event(None)
    http["queryStringParameters"]["token"] = "from.query.x"
    assert _extract(http, source) == "from.query.x"


def test_repeated_query_parameter_is_ambiguous() -> None:
    event = websocket_event(query="first.token.x")
    event["multiValueQueryStringParameters"]["token"] = ["first.token.x", "second.token.y"]
    assert _extract(event, TokenSource(query="token")) is None


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(token_event(""), id="token-empty"),
        pytest.param(token_event("Basic dXNlcjpwYXNz"), id="token-basic"),
        pytest.param(rest_request_event(None), id="request-missing"),
        pytest.param(rest_request_event("   "), id="request-whitespace"),
        pytest.param(http_v1_event(None), id="http-v1-missing"),
        pytest.param(websocket_event(), id="websocket-missing"),
    ],
)
def test_no_token_is_401_without_calling_the_verifier(event: dict[str, Any]) -> None:
    stub = StubVerifier()
    assert_unauthorized(authorizer(stub, token_source=TokenSource(query="token")), event)
    assert stub.verified == []


def test_ambiguous_tokens_are_401_through_the_handler(token: str, make_handler: Any) -> None:
    handler = make_handler()
    event = rest_request_event(f"Bearer {token}")
    event["multiValueHeaders"]["Authorization"].append(f"Bearer {token}")
    assert_unauthorized(handler, event)
    simple = make_handler()(http_v2_event(f"Bearer {token},Bearer {token}"), None)
    assert simple == {"isAuthorized": False}
    strict = make_handler(token_source=TokenSource(allow_bare=False))
    assert_unauthorized(strict, rest_request_event(token))
    assert strict(rest_request_event(f"Bearer {token}"), None)["principalId"] == SUB


def _odd_header_events() -> list[Any]:
    """Events whose headers test the handler's own reading of the token (see the test below)."""
    good, other = "Bearer first.token.x", "Bearer second.token.y"

    def rest(headers: dict[Any, Any], multi: Any = None) -> dict[str, Any]:
        event = rest_request_event(None)
        event["headers"].update(headers)
        if multi is not None:
            event["multiValueHeaders"] = multi
        return event

    def http(headers: Any) -> dict[str, Any]:
        event = http_v2_event(None)
        event["headers"] = headers
        return event

    cases = {
        "one": rest({"Authorization": good}, {"Authorization": [good]}),
        "upper": rest({"AUTHORIZATION": good}, {"AUTHORIZATION": [good]}),
        "multi-two-values": rest({"Authorization": good}, {"Authorization": [good, other]}),
        "multi-cased-twice": rest(
            {"Authorization": good}, {"Authorization": [good], "authorization": [other]}
        ),
        "multi-adjacent-twice": rest(
            {"Authorization": good}, {"authorization": [good], "AUTHORIZATION": [other]}
        ),
        "multi-not-lists": rest({"Authorization": good}, {"Authorization": good}),
        "multi-empty-list": rest({"Authorization": good}, {"Authorization": []}),
        "multi-not-a-dict": rest({"Authorization": good}, ["Authorization"]),
        "multi-int-name": rest({"Authorization": good}, {1: [good], "Authorization": [good]}),
        "multi-newline-name": rest(
            {"Authorization": good}, {"x\nauthorization": [good], "Authorization": [good]}
        ),
        "multi-missing-header-present": rest({"Authorization": good}, {}),
        "headers-cased-twice": http({"Authorization": good, "authorization": other}),
        "headers-cased-twice-one-str": http({"Authorization": good, "authorization": 7}),
        "headers-cased-twice-str-last": http({"authorization": 7, "AUTHORIZATION": good}),
        "headers-not-str": http({"authorization": ["Bearer a.b.c"]}),
        "headers-int-name": http({1: "x", "authorization": good}),
        "headers-newline-name": http({"x\nauthorization": other, "authorization": good}),
        "headers-newline-before": http({"Authorization\nx": other, "authorization": good}),
        "headers-newline-only": http({"x\nAuthorization\ny": good}),
        "multi-newline-only": rest({"Authorization": good}, {"Authorization\nx": [good, other]}),
        "headers-non-ascii-name": http({"authorizatİon": other, "authorization": good}),
        "headers-kelvin": http({"x-api-\u212aey": good}),
        "headers-empty-name": http({"": other, "authorization": good}),
        "headers-empty": http({}),
        "headers-not-a-dict": http([("authorization", good)]),
        "headers-comma": http({"authorization": f"{good},{other}"}),
        "websocket-twice": websocket_event(header=good),
    }
    cases["websocket-twice"]["multiValueHeaders"]["authorization"] = [other]
    return [pytest.param(event, id=name) for name, event in cases.items()]


@pytest.mark.parametrize("event", _odd_header_events())
@pytest.mark.parametrize(
    "source",
    [TokenSource(), TokenSource(header="X-Api-Key"), TokenSource(query="token")],
    ids=["authorization", "x-api-key", "query"],
)
def test_the_handler_takes_the_token_extract_token_takes(
    event: dict[str, Any], source: TokenSource
) -> None:
    """The handler reads the token from the event itself: the same token, or none, every time."""
    expected = extract_token(parse_request(event), source)
    stub = StubVerifier()
    handler = authorizer(stub, token_source=source, on_invalid="deny", hydrate=False)
    handler(event, None)
    handler(copy.deepcopy(event), None)  # the same header names again: remembered
    assert stub.verified == ([] if expected is None else [expected, expected])


def test_remembered_header_names_are_bounded_and_right_for_new_values() -> None:
    stub = StubVerifier()
    handler = authorizer(stub, on_invalid="deny", hydrate=False)
    for n in range(300):  # a client inventing header names: the memory stays small
        event = rest_request_event(f"Bearer token.number.{n}")
        event["headers"][f"X-Made-Up-{n}"] = "x"
        event["multiValueHeaders"][f"X-Made-Up-{n}"] = ["x"]
        handler(event, None)
    assert len(lambda_authorizer._MATCHES) <= 64  # the bound is the point
    assert stub.verified == [f"token.number.{n}" for n in range(300)]
    twice = rest_request_event("Bearer token.number.0")  # names seen before, values not
    twice["multiValueHeaders"]["Authorization"].append("Bearer second.token.y")
    handler(twice, None)
    assert len(stub.verified) == 300


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda t: rest_request_event(f"Bearer {t}"), id="rest"),
        pytest.param(lambda t: http_v2_event(f"Bearer {t}"), id="http-v2"),
        pytest.param(lambda t: http_v1_event(f"Bearer {t}"), id="http-v1"),
        pytest.param(lambda t: websocket_event(header=f"Bearer {t}"), id="websocket"),
    ],
)
def test_the_request_record_is_built_only_for_an_authorize_callback(
    event: Callable[[str], dict[str, Any]],
    token: str,
    make_handler: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lowering every header name is left to an ``authorize`` callback, which gets the record."""
    seen: list[AuthorizerRequest] = []

    def authorize(claims: Claims, request: AuthorizerRequest) -> bool:
        seen.append(request)
        return True

    options: dict[str, Any] = {"http_response": "iam"}
    assert make_handler(authorize=authorize, **options)(event(token), None)["principalId"] == SUB
    assert seen == [parse_request(seen[0].event)]
    assert seen[0].headers["authorization"] == f"Bearer {token}"

    def refuse(*args: object) -> None:
        raise AssertionError("an AuthorizerRequest was built")

    monkeypatch.setattr(lambda_authorizer, "AuthorizerRequest", refuse)
    assert make_handler(**options)(event(token), None)["principalId"] == SUB


# ==================================================================================================
# Outcomes
# ==================================================================================================
@pytest.mark.parametrize("kind", list(POLICY_KINDS))
def test_valid_token_gets_a_stage_wide_allow(kind: str, token: str, make_handler: Any) -> None:
    build, stage = POLICY_KINDS[kind]
    response = make_handler(**handler_options(kind))(build(token), None)
    assert_policy(response, effect="Allow", principal=SUB, resources=[stage])
    context = response["context"]
    assert_context_types(context)
    assert context["sub"] == SUB
    assert context["username"] == "alice"
    assert context["scope"] == "orders/read orders/write"
    assert context["cognito:groups"] == '["admins","staff"]'
    assert context["exp"] == FIXED_NOW + 3600
    assert context["client_id"] == CLIENT_ID
    assert set(context) == set(access_claims())
    assert "usageIdentifierKey" not in response


def test_http_v2_simple_allow(token: str, make_handler: Any) -> None:
    response = make_handler()(http_v2_event(f"Bearer {token}"), None)
    assert set(response) == {"isAuthorized", "context"}
    assert response["isAuthorized"] is True
    assert response["context"]["sub"] == SUB
    assert response["context"]["cognito:groups"] == '["admins","staff"]'
    assert_context_types(response["context"])


@pytest.mark.parametrize(
    ("method_arn", "wildcard"),
    [
        (
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod/GET/orders",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3/prod/*",
        ),
        (
            "arn:aws-us-gov:execute-api:us-gov-east-1:210987654321:zz99/v1/PUT/orders/9",
            "arn:aws-us-gov:execute-api:us-gov-east-1:210987654321:zz99/v1/*",
        ),
    ],
)
def test_policy_resource_follows_the_incoming_partition(
    method_arn: str, wildcard: str, token: str, make_handler: Any
) -> None:
    handler = make_handler()
    response = handler(token_event(f"Bearer {token}", method_arn=method_arn), None)
    assert_policy(response, effect="Allow", principal=SUB, resources=[wildcard])
    response = handler(rest_request_event(f"Bearer {token}", method_arn=method_arn), None)
    assert_policy(response, effect="Allow", principal=SUB, resources=[wildcard])


def test_principal_claim(keys: dict[str, SigningKey], make_handler: Any) -> None:
    token = keys["RS256"].sign(access_claims())
    response = make_handler(principal_claim="username")(token_event(token), None)
    assert response["principalId"] == "alice"
    id_token = keys["RS256"].sign(id_claims())
    by_email = make_handler({"token_use": "id"}, principal_claim="email")
    assert by_email(token_event(id_token), None)["principalId"] == "alice@example.com"


def _invalid_tokens(keys: dict[str, SigningKey]) -> dict[str, str]:
    good = keys["RS256"].sign(access_claims())
    header, payload, signature = good.split(".")
    forged = b64url_encode(json.dumps(access_claims(sub="someone-else")).encode())
    return {
        "expired": keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1)),
        "not-yet-valid": keys["RS256"].sign(access_claims(iat=FIXED_NOW + 600)),
        "tampered-payload": f"{header}.{forged}.{signature}",
        "tampered-signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "alg-none": raw_token({"alg": "none", "typ": "JWT"}, access_claims()),
        "alg-none-with-kid": raw_token({"alg": "none", "kid": "rsa-rs256"}, access_claims()),
        "hs256": raw_token({"alg": "HS256", "kid": "rsa-rs256"}, access_claims(), b"x" * 32),
        "wrong-issuer": keys["RS256"].sign(access_claims(iss="https://evil.example.com")),
        "other-client": keys["RS256"].sign(access_claims(client_id="another-app")),
        "id-token": keys["RS256"].sign(id_claims()),
        "unknown-kid": keys["RS256"].sign(access_claims(), kid="nope"),
        "garbage": "not-a-jwt",
        "two-segments": f"{header}.{payload}",
    }


INVALID_NAMES = [
    "expired",
    "not-yet-valid",
    "tampered-payload",
    "tampered-signature",
    "alg-none",
    "alg-none-with-kid",
    "hs256",
    "wrong-issuer",
    "other-client",
    "id-token",
    "unknown-kid",
    "garbage",
    "two-segments",
]


@pytest.mark.parametrize("name", INVALID_NAMES)
@pytest.mark.parametrize("kind", list(POLICY_KINDS))
def test_invalid_tokens_are_401(
    name: str, kind: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    bad = _invalid_tokens(keys)[name]
    build, _ = POLICY_KINDS[kind]
    assert_unauthorized(make_handler(**handler_options(kind)), build(bad))


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_tokens_in_http_simple_mode(
    name: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    bad = _invalid_tokens(keys)[name]
    assert make_handler()(http_v2_event(f"Bearer {bad}"), None) == {"isAuthorized": False}
    assert make_handler()(http_v2_event(None), None) == {"isAuthorized": False}


@pytest.mark.parametrize("kind", list(POLICY_KINDS))
def test_on_invalid_deny_answers_an_explicit_deny(
    kind: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    build, stage = POLICY_KINDS[kind]
    handler = make_handler(on_invalid="deny", **handler_options(kind))
    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1))
    response = handler(build(expired), None)
    assert_policy(response, effect="Deny", principal="anonymous", resources=[stage])
    assert "context" not in response
    # No token at all: the same explicit Deny.
    missing = handler(MISSING[kind](), None)
    assert_policy(missing, effect="Deny", principal="anonymous", resources=[stage])


def test_on_invalid_deny_in_http_simple_mode(
    keys: dict[str, SigningKey], make_handler: Any
) -> None:
    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1))
    handler = make_handler(on_invalid="deny")
    assert handler(http_v2_event(f"Bearer {expired}"), None) == {"isAuthorized": False}


def test_on_invalid_deny_still_raises_on_unusable_events(make_handler: Any) -> None:
    assert_unauthorized(make_handler(on_invalid="deny"), {"type": "TOKEN"})


@pytest.mark.parametrize(
    ("options", "allowed"),
    [
        ({"groups": ["admins"]}, True),
        ({"groups": ["auditors", "staff"]}, True),
        ({"groups": ["auditors"]}, False),
        ({"scopes": ["orders/read"]}, True),
        ({"scopes": ["orders/admin", "orders/write"]}, True),
        ({"scopes": ["orders/admin"]}, False),
        ({"groups": ["admins"], "scopes": ["orders/admin"]}, False),
        ({"groups": ["auditors"], "scopes": ["orders/read"]}, False),
    ],
)
def test_adapter_groups_and_scopes(
    options: dict[str, Any], allowed: bool, token: str, make_handler: Any
) -> None:
    response = make_handler(**options)(rest_request_event(f"Bearer {token}"), None)
    if allowed:
        assert_policy(response, effect="Allow", principal=SUB, resources=[REST_REQUEST_STAGE])
        assert response["context"]["sub"] == SUB
    else:
        assert_policy(response, effect="Deny", principal=SUB, resources=[REST_REQUEST_STAGE])
        assert "context" not in response
    simple = make_handler(**options)(http_v2_event(f"Bearer {token}"), None)
    assert simple["isAuthorized"] is allowed
    if not allowed:
        assert simple == {"isAuthorized": False}


@pytest.mark.parametrize(
    "verifier_options", [{"groups": ["auditors"]}, {"scopes": ["orders/admin"]}]
)
@pytest.mark.parametrize("kind", list(POLICY_KINDS))
def test_verifier_groups_and_scopes_are_403(
    kind: str, verifier_options: dict[str, Any], token: str, make_handler: Any
) -> None:
    build, stage = POLICY_KINDS[kind]
    handler = make_handler(verifier_options, **handler_options(kind))
    response = handler(build(token), None)
    assert_policy(response, effect="Deny", principal=SUB, resources=[stage])
    assert "context" not in response
    by_name = make_handler(verifier_options, principal_claim="username", **handler_options(kind))
    assert by_name(build(token), None)["principalId"] == "alice"


def test_verifier_groups_in_http_simple_mode(token: str, make_handler: Any) -> None:
    handler = make_handler({"groups": ["auditors"]})
    assert handler(http_v2_event(f"Bearer {token}"), None) == {"isAuthorized": False}


@pytest.mark.parametrize(("result", "allowed"), [(True, True), (None, True), (False, False)])
def test_authorize_callback_booleans(
    result: bool | None, allowed: bool, token: str, make_handler: Any
) -> None:
    seen: list[tuple[Claims, AuthorizerRequest]] = []

    def authorize(claims: Claims, request: AuthorizerRequest) -> bool | None:
        seen.append((claims, request))
        return result

    handler = make_handler(authorize=authorize)
    response = handler(rest_request_event(f"Bearer {token}"), None)
    effect = "Allow" if allowed else "Deny"
    assert_policy(response, effect=effect, principal=SUB, resources=[REST_REQUEST_STAGE])
    assert ("context" in response) is allowed
    assert len(seen) == 1
    claims, request = seen[0]
    assert claims.sub == SUB
    assert request.kind == "request"
    assert request.arn.route == "GET/request"
    assert request.headers["authorization"] == f"Bearer {token}"


def test_authorize_is_not_called_for_refused_tokens(
    keys: dict[str, SigningKey], make_handler: Any
) -> None:
    calls: list[Claims] = []

    def authorize(claims: Claims, request: AuthorizerRequest) -> bool:
        calls.append(claims)
        return True

    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1))
    assert_unauthorized(make_handler(authorize=authorize), token_event(expired))
    good = keys["RS256"].sign(access_claims())
    denied = make_handler(authorize=authorize, groups=["auditors"])(token_event(good), None)
    assert denied["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert calls == []


def test_authorize_decision_allow_with_everything(token: str, make_handler: Any) -> None:
    api = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test"
    decision = Decision(
        allow=True,
        resources=[f"{api}/GET/orders/*", f"{api}/POST/orders"],
        deny_resources=[f"{api}/DELETE/*"],
        context={"tenant": "acme", "roles": ["reader", "writer"], "sub": "tenant-user-1"},
        principal_id="acme|alice",
        usage_identifier_key="usage-plan-key-123",
    )
    handler = make_handler(authorize=lambda claims, request: decision)
    response = handler(rest_request_event(f"Bearer {token}"), None)
    assert response["principalId"] == "acme|alice"
    assert response["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": [f"{api}/GET/orders/*", f"{api}/POST/orders"],
            },
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [f"{api}/DELETE/*"]},
        ],
    }
    assert response["usageIdentifierKey"] == "usage-plan-key-123"
    context = response["context"]
    assert context["tenant"] == "acme"
    assert context["roles"] == '["reader","writer"]'
    assert context["sub"] == "tenant-user-1"  # the callback's context wins over the claims
    assert context["username"] == "alice"
    assert_context_types(context)
    assert policy_allows(response, f"{api}/GET/orders/42")
    assert not policy_allows(response, f"{api}/DELETE/orders/42")
    assert not policy_allows(response, f"{api}/PUT/orders/42")


def test_authorize_decision_deny(token: str, make_handler: Any) -> None:
    decision = Decision(allow=False, principal_id="blocked-user", context={"why": "suspended"})
    handler = make_handler(authorize=lambda claims, request: decision)
    response = handler(token_event(f"Bearer {token}"), None)
    assert_policy(response, effect="Deny", principal="blocked-user", resources=[REST_TOKEN_STAGE])
    assert "context" not in response
    simple = make_handler(authorize=lambda claims, request: decision)
    assert simple(http_v2_event(f"Bearer {token}"), None) == {"isAuthorized": False}


def test_authorize_decision_in_http_simple_mode(token: str, make_handler: Any) -> None:
    decision = Decision(allow=True, context={"tenant": "acme"})
    handler = make_handler(authorize=lambda claims, request: decision, context_claims=["sub"])
    response = handler(http_v2_event(f"Bearer {token}"), None)
    assert response == {"isAuthorized": True, "context": {"sub": SUB, "tenant": "acme"}}


def test_authorize_decision_default_resources(token: str, make_handler: Any) -> None:
    handler = make_handler(authorize=lambda claims, request: Decision(allow=True))
    response = handler(rest_request_event(f"Bearer {token}"), None)
    assert_policy(response, effect="Allow", principal=SUB, resources=[REST_REQUEST_STAGE])
    method = make_handler(authorize=lambda claims, request: Decision(allow=True), resource="method")
    response = method(rest_request_event(f"Bearer {token}"), None)
    assert response["policyDocument"]["Statement"][0]["Resource"] == [
        load_event("rest_request")["methodArn"]
    ]


def test_resource_method_names_the_exact_method_arn(token: str, make_handler: Any) -> None:
    handler = make_handler(resource="method", token_source=TokenSource(query="token"))
    for event in (
        token_event(f"Bearer {token}"),
        rest_request_event(f"Bearer {token}"),
        http_v1_event(f"Bearer {token}"),
        websocket_event(query=token),
    ):
        response = handler(event, None)
        assert_policy(response, effect="Allow", principal=SUB, resources=[event["methodArn"]])


def test_http_v2_iam_uses_the_route_arn(token: str, make_handler: Any) -> None:
    route = "arn:aws:execute-api:eu-west-1:123456789012:api1/$default/POST/orders"
    event = http_v2_event(f"Bearer {token}", route_arn=route)
    response = make_handler(http_response="iam")(event, None)
    wildcard = "arn:aws:execute-api:eu-west-1:123456789012:api1/$default/*"
    assert_policy(response, effect="Allow", principal=SUB, resources=[wildcard])
    method = make_handler(http_response="iam", resource="method")(event, None)
    assert_policy(method, effect="Allow", principal=SUB, resources=[route])


def test_deny_all() -> None:
    response = deny_all("user-1", "arn:aws-cn:execute-api:cn-north-1:123456789012:a1/prod/GET/x")
    assert_policy(
        response,
        effect="Deny",
        principal="user-1",
        resources=["arn:aws-cn:execute-api:cn-north-1:123456789012:a1/prod/*"],
    )
    assert deny_all("u", parse_api_arn(_VALID_ARN)) == deny_all("u", _VALID_ARN)


@pytest.mark.parametrize(
    "options",
    [{"resource": "route"}, {"http_response": "policy"}, {"on_invalid": "ignore"}],
)
def test_invalid_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        authorizer(StubVerifier(), **options)


@pytest.mark.parametrize("on_invalid", ["unauthorized", "deny"])
@pytest.mark.parametrize("kind", [*POLICY_KINDS, "http_v2_simple"])
def test_key_set_outage_is_a_500(
    kind: str, on_invalid: str, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    if kind == "http_v2_simple":
        event, options = http_v2_event(f"Bearer {token}"), {}
    else:
        event, options = POLICY_KINDS[kind][0](token), handler_options(kind)
    handler = authorizer(unreachable_verifier(), hydrate=False, on_invalid=on_invalid, **options)
    with (
        caplog.at_level(logging.WARNING, logger="cognito_jwt"),
        pytest.raises(KeySetUnavailableError) as info,
    ):
        handler(event, None)
    assert not isinstance(info.value, Unauthorized)
    assert str(info.value) != "Unauthorized"
    assert str(info.value) != ""
    # Logged like a 503 of every web adapter (one line, WARNING), then raised: a 500 to retry.
    assert f"refused with 503 ({info.value.code}): " in caplog.text


def test_key_set_outage_from_a_stub_verifier_is_reraised() -> None:
    outage = KeySetUnavailableError("jwks endpoint answered 503")
    handler = authorizer(StubVerifier(verify_error=outage), hydrate=False)
    with pytest.raises(KeySetUnavailableError) as info:
        handler(token_event("Bearer a.b.c"), None)
    assert info.value is outage
    assert str(info.value) == "jwks endpoint answered 503"


# ==================================================================================================
# Caching: the policy for one route must hold for the routes the cache will reuse it on
# ==================================================================================================
def test_the_matcher() -> None:
    policy = deny_all("x", "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/a")
    assert (
        policy_allows(policy, "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/a") is False
    )
    allow = {
        "policyDocument": {
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:*:*:api/test/GET/orders/*"],
                }
            ]
        }
    }
    assert policy_allows(
        allow, "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/orders/1/x"
    )
    assert not policy_allows(
        allow, "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/orders"
    )
    assert not policy_allows(
        allow, "arn:aws:execute-api:us-east-1:123456789012:api/test/GET/items/1"
    )


_ORDERS = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test"


def test_cached_allow_covers_every_route_of_the_stage(token: str, make_handler: Any) -> None:
    first = rest_request_event(f"Bearer {token}", method_arn=f"{_ORDERS}/GET/orders")
    policy = make_handler()(first, None)
    for route in ("GET/orders", "POST/orders/1", "DELETE/orders/1/items/2", "OPTIONS/"):
        assert policy_allows(policy, f"{_ORDERS}/{route}"), route
    # ... and nothing outside the stage or the API.
    assert not policy_allows(policy, f"{_ORDERS.replace('/test', '/prod')}/GET/orders")
    assert not policy_allows(policy, f"{_ORDERS.replace('s4x3opwd6i', 'otherapi1')}/GET/orders")
    assert not policy_allows(policy, f"{_ORDERS.replace('us-east-1', 'eu-west-1')}/GET/orders")

    # TOKEN authorizers (cached by the token) and HTTP IAM answers: the same.
    policy = make_handler()(
        token_event(f"Bearer {token}", method_arn=f"{_ORDERS}/GET/orders"), None
    )
    assert policy_allows(policy, f"{_ORDERS}/POST/orders/1")
    http = http_v2_event(f"Bearer {token}", route_arn=f"{_ORDERS}/GET/orders")
    policy = make_handler(http_response="iam")(http, None)
    assert policy_allows(policy, f"{_ORDERS}/POST/orders/1")


def test_websocket_allow_covers_connect_and_other_routes(token: str, make_handler: Any) -> None:
    handler = make_handler(token_source=TokenSource(query="token"))
    policy = handler(websocket_event(query=token), None)
    ws = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default"
    for route in ("$connect", "$disconnect", "$default", "sendMessage"):
        assert policy_allows(policy, f"{ws}/{route}"), route
    assert not policy_allows(policy, f"{ws.replace('/default', '/prod')}/$connect")


def test_resource_method_policy_does_not_survive_caching(token: str, make_handler: Any) -> None:
    """The documented pitfall: a method-only policy, cached, denies the stage's other routes."""
    first = rest_request_event(f"Bearer {token}", method_arn=f"{_ORDERS}/GET/orders")
    policy = make_handler(resource="method")(first, None)
    assert policy_allows(policy, f"{_ORDERS}/GET/orders")
    assert not policy_allows(policy, f"{_ORDERS}/POST/orders/1")
    assert not policy_allows(policy, f"{_ORDERS}/GET/orders/1")
    ws = make_handler(resource="method", token_source=TokenSource(query="token"))
    ws_policy = ws(websocket_event(query=token), None)
    ws_stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default"
    assert policy_allows(ws_policy, f"{ws_stage}/$connect")
    assert not policy_allows(ws_policy, f"{ws_stage}/sendMessage")


def test_deny_from_groups_covers_every_route(token: str, make_handler: Any) -> None:
    first = rest_request_event(f"Bearer {token}", method_arn=f"{_ORDERS}/GET/orders")
    policy = make_handler(groups=["auditors"])(first, None)
    assert not policy_allows(policy, f"{_ORDERS}/GET/orders")
    assert not policy_allows(policy, f"{_ORDERS}/POST/orders/1")


# ==================================================================================================
# Per-route rules (routes=): a policy that is a function of the caller alone
# ==================================================================================================
_API = "arn:aws:execute-api:us-east-1:123456789012:s4x3opwd6i/test"
ROUTES = {
    "GET /me": Route(),
    "GET /admin": Route(groups="admins"),
    "POST /orders": Route(scopes=["orders/write"]),
    "GET /orders/{id}": Route(scopes="orders/read"),
    "DELETE /orders/{id}": Route(groups=["admins"], scopes=["orders/admin"]),
}
# What each caller may call, as ARN routes (path parameters are IAM wildcards).
ADMIN_ROUTES = ["GET/me", "GET/admin", "POST/orders", "GET/orders/*"]
READER_ROUTES = ["GET/me", "GET/orders/*"]


def _reader(keys: dict[str, SigningKey]) -> str:
    """bob: no group, read scope only."""
    return keys["RS256"].sign(
        access_claims(username="bob", scope="orders/read", **{"cognito:groups": None})
    )


def _policy_event(kind: str, token: str, route: str) -> dict[str, Any]:
    """An event of *kind* asking about ``{_API}/{route}``."""
    arn = f"{_API}/{route}"
    if kind == "rest_token":
        return token_event(f"Bearer {token}", method_arn=arn)
    if kind == "rest_request":
        return rest_request_event(f"Bearer {token}", method_arn=arn)
    if kind == "http_v1":
        event = http_v1_event(f"Bearer {token}")
        event["methodArn"] = arn
        return event
    return http_v2_event(f"Bearer {token}", route_arn=arn)


ROUTE_POLICY_KINDS = ["rest_token", "rest_request", "http_v1", "http_v2_iam"]


@pytest.mark.parametrize("kind", ROUTE_POLICY_KINDS)
def test_routes_allow_exactly_the_callers_routes(
    kind: str, token: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    handler = make_handler(routes=ROUTES, **handler_options(kind))
    for caller, expected in ((token, ADMIN_ROUTES), (_reader(keys), READER_ROUTES)):
        response = handler(_policy_event(kind, caller, "GET/me"), None)
        assert_policy(
            response,
            effect="Allow",
            principal=SUB,
            resources=[f"{_API}/{route}" for route in expected],
        )
        assert response["context"]["sub"] == SUB


@pytest.mark.parametrize("kind", ROUTE_POLICY_KINDS)
def test_routes_policy_cached_from_one_route_never_opens_another(
    kind: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    """The bug this option fixes: bob's Allow for /me, cached by token, must not open /admin."""
    handler = make_handler(routes=ROUTES, **handler_options(kind))
    bob = _reader(keys)
    answers = [handler(_policy_event(kind, bob, r), None) for r in ("GET/me", "GET/admin")]
    # The same answer whatever route was asked about: what API Gateway caches is right for all.
    assert answers[0]["policyDocument"] == answers[1]["policyDocument"]
    cached = answers[0]
    assert policy_allows(cached, f"{_API}/GET/me")
    assert policy_allows(cached, f"{_API}/GET/orders/42")
    for closed in ("GET/admin", "POST/orders", "DELETE/orders/42", "GET/unknown", "POST/me"):
        assert not policy_allows(cached, f"{_API}/{closed}"), closed
    # Nothing outside the API and stage either.
    assert not policy_allows(cached, f"{_API.replace('/test', '/prod')}/GET/me")


def test_routes_deny_what_a_wildcard_would_open(token: str, make_handler: Any) -> None:
    """``GET/orders/*`` matches ``GET/orders/1/refund`` too: a stricter route is denied."""
    routes = {
        "GET /orders/{id}": Route(),
        "GET /orders/{id}/refund": Route(groups="finance"),
        "GET /files/{proxy+}": Route(),
        "GET /files/private/{name}": Route(groups="admins"),
    }
    response = make_handler(routes=routes)(rest_request_event(f"Bearer {token}"), None)
    statements = response["policyDocument"]["Statement"]
    assert statements == [
        {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [
                f"{_ORDERS}/GET/orders/*",
                f"{_ORDERS}/GET/files/*",
                f"{_ORDERS}/GET/files/private/*",
            ],
        },
        {
            "Action": "execute-api:Invoke",
            "Effect": "Deny",
            "Resource": [f"{_ORDERS}/GET/orders/*/refund"],
        },
    ]
    assert policy_allows(response, f"{_ORDERS}/GET/orders/1")
    assert not policy_allows(response, f"{_ORDERS}/GET/orders/1/refund")
    assert policy_allows(response, f"{_ORDERS}/GET/files/private/x")  # alice is an admin


def test_routes_any_method_root_and_default(token: str, make_handler: Any) -> None:
    routes = {"ANY /": Route(), "GET /{proxy+}": Route(groups="admins")}
    response = make_handler(routes=routes)(rest_request_event(f"Bearer {token}"), None)
    assert response["policyDocument"]["Statement"][0]["Resource"] == [
        f"{_ORDERS}/*/",
        f"{_ORDERS}/GET/*",
    ]
    catch_all = {"$default": Route(), "GET /admin": Route(groups="auditors")}
    http = make_handler(routes=catch_all, http_response="iam")
    response = http(http_v2_event(f"Bearer {token}", route_arn=f"{_ORDERS}/GET/x"), None)
    assert policy_allows(response, f"{_ORDERS}/POST/anything/at/all")
    assert not policy_allows(response, f"{_ORDERS}/GET/admin")  # explicitly denied


def test_routes_websocket_connect(token: str, make_handler: Any) -> None:
    handler = make_handler(routes={"$connect": Route()}, token_source=TokenSource(query="token"))
    response = handler(websocket_event(query=token), None)
    stage = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/default"
    assert_policy(response, effect="Allow", principal=SUB, resources=[f"{stage}/$connect"])


@pytest.mark.parametrize("kind", ROUTE_POLICY_KINDS)
def test_routes_with_nothing_allowed_deny_the_stage(
    kind: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    handler = make_handler(routes={"GET /admin": Route(groups="admins")}, **handler_options(kind))
    response = handler(_policy_event(kind, _reader(keys), "GET/admin"), None)
    assert_policy(response, effect="Deny", principal=SUB, resources=[f"{_API}/*"])
    assert "context" not in response


def test_routes_keep_the_global_rules(token: str, make_handler: Any) -> None:
    handler = make_handler(routes=ROUTES, groups="auditors")
    response = handler(rest_request_event(f"Bearer {token}"), None)
    assert_policy(response, effect="Deny", principal=SUB, resources=[REST_REQUEST_STAGE])
    refused = make_handler(routes=ROUTES, authorize=lambda claims, request: False)
    response = refused(rest_request_event(f"Bearer {token}"), None)
    assert_policy(response, effect="Deny", principal=SUB, resources=[REST_REQUEST_STAGE])


def test_routes_with_a_decision(token: str, make_handler: Any) -> None:
    decision = Decision(
        allow=True,
        context={"tenant": "acme"},
        deny_resources=[f"{_ORDERS}/GET/orders/0"],
        usage_identifier_key="key-1",
        principal_id="tenant-user",
    )
    handler = make_handler(routes=ROUTES, authorize=lambda claims, request: decision)
    response = handler(rest_request_event(f"Bearer {token}"), None)
    assert response["principalId"] == "tenant-user"
    assert response["context"]["tenant"] == "acme"
    assert response["usageIdentifierKey"] == "key-1"
    assert policy_allows(response, f"{_ORDERS}/GET/orders/1")
    assert not policy_allows(response, f"{_ORDERS}/GET/orders/0")
    # The rules compute the resources: a Decision that sets them too is a mistake (a 500).
    with_resources = Decision(allow=True, resources=[f"{_ORDERS}/*"])
    clash = make_handler(routes=ROUTES, authorize=lambda claims, request: with_resources)
    with pytest.raises(ConfigurationError, match="may not set resources"):
        clash(rest_request_event(f"Bearer {token}"), None)


def _route_event(token: str, route_key: str | None, path: str) -> dict[str, Any]:
    event = http_v2_event(f"Bearer {token}", route_arn=f"{_API}/{path}")
    if route_key is None:
        del event["routeKey"]
    else:
        event["routeKey"] = route_key
    return event


def test_routes_in_http_simple_mode_check_the_route_key(
    token: str, keys: dict[str, SigningKey], make_handler: Any
) -> None:
    handler = make_handler(routes=ROUTES, context_claims=["username"])
    bob = _reader(keys)
    allowed = {"isAuthorized": True, "context": {"username": "bob"}}
    assert handler(_route_event(bob, "GET /me", "GET/me"), None) == allowed
    assert handler(_route_event(bob, "GET /orders/{id}", "GET/orders/7"), None) == allowed
    for key, path in (
        ("GET /admin", "GET/admin"),  # not his
        ("POST /orders", "POST/orders"),  # not his
        ("GET /unknown", "GET/unknown"),  # not in the rules
        ("$default", "GET/me"),  # the catch-all is not a rule here
        (None, "GET/me"),  # no route key: nothing to check against
    ):
        assert handler(_route_event(bob, key, path), None) == {"isAuthorized": False}, key
    assert handler(_route_event(token, "GET /admin", "GET/admin"), None)["isAuthorized"] is True


@pytest.mark.parametrize(
    "routes",
    [
        {},
        {"get /me": Route()},
        {"GET me": Route()},
        {"GET /a//b": Route()},
        {"GET /a/*": Route()},  # a wildcard would be silently wider than a route
        {"GET  /a": Route()},
        {"GET /a/{x": Route()},
        {"$disconnect": Route()},
        {"GET /me": {"groups": ["admins"]}},
        {"GET /me": None},
        [("GET /me", Route())],
    ],
    ids=repr,
)
def test_unusable_routes_are_refused(routes: Any) -> None:
    with pytest.raises(ConfigurationError, match="routes"):
        authorizer(StubVerifier(), routes=routes, hydrate=False)


def test_routes_refuse_resource_method() -> None:
    with pytest.raises(ConfigurationError, match="resource"):
        authorizer(StubVerifier(), routes=ROUTES, resource="method", hydrate=False)


@pytest.mark.parametrize("options", [{"groups": 3}, {"scopes": ["a", ""]}, {"groups": []}])
def test_unusable_route_records_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="Route"):
        Route(**options)


def test_route_records_normalise_their_names() -> None:
    assert Route(groups="admins") == Route(groups=["admins", "admins"])
    assert Route(groups="admins").groups == frozenset({"admins"})
    assert Route().groups is None


# --- Decision: resources are the routes to allow, and only that ---------------------------------
def test_a_refusal_with_resources_is_refused() -> None:
    """The trap: ``Decision(allow=False, resources=[...])`` denied exactly those routes."""
    with pytest.raises(ConfigurationError, match="allow=False"):
        Decision(allow=False, resources=[f"{_ORDERS}/GET/me"])


def test_decision_resources_are_normalised() -> None:
    one = Decision(allow=True, resources=f"{_ORDERS}/GET/me")  # one string is one ARN
    assert one.resources == (f"{_ORDERS}/GET/me",)
    assert Decision(allow=True, deny_resources=f"{_ORDERS}/GET/x").deny_resources == (
        f"{_ORDERS}/GET/x",
    )
    unusable: list[Any] = [[], [""], [3]]
    for bad in unusable:
        with pytest.raises(ConfigurationError, match=r"Decision\.resources"):
            Decision(allow=True, resources=bad)
    with pytest.raises(ConfigurationError, match=r"Decision\.allow"):
        Decision(allow="yes")  # type: ignore[arg-type]


# ==================================================================================================
# Context
# ==================================================================================================
def test_flatten_context_types() -> None:
    flat = flatten_context(
        {
            "s": "text",
            "i": 7,
            "f": 1.5,
            "b": False,
            "list": ["admins", "staff"],
            "dict": {"k": 1, "n": [True, None]},
            "empty": [],
            "none": None,
            "unicode": ["é"],
        }
    )
    assert flat == {
        "s": "text",
        "i": 7,
        "f": 1.5,
        "b": False,
        "list": '["admins","staff"]',
        "dict": '{"k":1,"n":[true,null]}',
        "empty": "[]",
        "unicode": '["é"]',
    }
    assert_context_types(flat)
    assert flat["b"] is False


def test_context_claims_selection(keys: dict[str, SigningKey], make_handler: Any) -> None:
    id_token = keys["RS256"].sign(id_claims())
    handler = make_handler({"token_use": "id"}, context_claims=["sub", "email"])
    response = handler(token_event(id_token), None)
    assert response["context"] == {"sub": SUB, "email": "alice@example.com"}
    # Absent claims are left out, not sent as null.
    access = keys["RS256"].sign(access_claims())
    response = make_handler(context_claims=["sub", "email"])(token_event(access), None)
    assert response["context"] == {"sub": SUB}
    response = make_handler(context_claims=["cognito:groups"])(token_event(access), None)
    assert response["context"] == {"cognito:groups": '["admins","staff"]'}


def test_context_claims_none_sends_no_context(token: str, make_handler: Any) -> None:
    handler = make_handler(context_claims=None)
    response = handler(rest_request_event(f"Bearer {token}"), None)
    assert_policy(response, effect="Allow", principal=SUB, resources=[REST_REQUEST_STAGE])
    assert "context" not in response
    assert handler(http_v2_event(f"Bearer {token}"), None) == {"isAuthorized": True}


def _answer_or_none(handler: Callable[..., Any], event: dict[str, Any]) -> Any:
    try:
        return handler(event, None)
    except Unauthorized:
        return None


def test_the_raw_token_never_appears_in_a_response(
    keys: dict[str, SigningKey], make_handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    good = keys["RS256"].sign(access_claims())
    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1))
    responses: list[Any] = []
    with caplog.at_level(logging.DEBUG, logger="cognito_jwt"):
        for token in (good, expired):
            for options in (
                {},
                {"on_invalid": "deny"},
                {"groups": ["auditors"]},
                {"http_response": "iam"},
            ):
                handler = make_handler(**options)
                events = (
                    token_event(f"Bearer {token}"),
                    rest_request_event(f"Bearer {token}"),
                    http_v2_event(f"Bearer {token}"),
                )
                responses.extend(_answer_or_none(handler, event) for event in events)
    # Valid: 4 handlers x 3 answers; expired: 1 + 3 (deny) + 1 + 0 answers, the rest 401s.
    assert len([r for r in responses if r is not None]) == 17
    assert sum(1 for r in responses if r and r.get("isAuthorized") is True) == 2
    for token in (good, expired):
        signature = token.split(".")[2]
        for response in responses:
            text = json.dumps(response)
            assert token not in text
            assert signature not in text
        assert token not in caplog.text
        assert signature not in caplog.text


def test_oversized_context_is_cut_and_logged(
    keys: dict[str, SigningKey], make_handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    big = {f"big{i}": "x" * 1000 for i in range(10)}
    token = keys["RS256"].sign(access_claims(**big))
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        response = make_handler()(token_event(f"Bearer {token}"), None)
    context = response["context"]
    assert len(json.dumps(context).encode()) <= CONTEXT_LIMIT
    assert len(json.dumps(context, ensure_ascii=False, separators=(",", ":"))) <= CONTEXT_LIMIT
    # Entries are kept in order: every standard claim first, then as many big ones as fit.
    assert context["sub"] == SUB
    assert context["cognito:groups"] == '["admins","staff"]'
    kept = [k for k in context if k.startswith("big")]
    assert kept == [f"big{i}" for i in range(len(kept))]
    assert 4 <= len(kept) < 10
    assert "authorizer context over 6144 bytes" in caplog.text
    assert f"'big{len(kept)}'" in caplog.text
    assert_policy(response, effect="Allow", principal=SUB, resources=[REST_TOKEN_STAGE])


def test_oversized_context_of_many_small_claims_is_cut_under_the_limit(
    keys: dict[str, SigningKey], make_handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    many = {f"c{i:04d}": i for i in range(1500)}
    token = keys["RS256"].sign(access_claims(**many))
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        response = make_handler()(token_event(f"Bearer {token}"), None)
    context = response["context"]
    assert "authorizer context over 6144 bytes" in caplog.text
    assert 300 < len(context) < 1500
    # The answer API Gateway gets is the function's JSON output, ", " and ": " separators.
    assert len(json.dumps(context).encode()) <= CONTEXT_LIMIT


def test_flatten_context_cuts_big_integers_too() -> None:
    """Numbers count by their JSON length: a Python int has no 32-character bound."""
    big = 10**3000  # 3001 digits; json.loads reads such claims without complaint
    flat = flatten_context({"sub": SUB, "a": big, "b": big, "c": big})
    assert len(json.dumps(flat).encode()) <= CONTEXT_LIMIT
    # sub + a + b serialise to about 6,060 bytes (under 6,144); c would push it over.
    assert list(flat) == ["sub", "a", "b"]


def test_oversized_context_of_big_integer_claims_is_cut(
    keys: dict[str, SigningKey], make_handler: Any
) -> None:
    big = 10**3000
    token = keys["RS256"].sign(access_claims(a=big, b=big, c=big))
    response = make_handler(context_claims=["sub", "a", "b", "c"])(token_event(token), None)
    assert len(json.dumps(response["context"]).encode()) <= CONTEXT_LIMIT
    assert response["context"]["sub"] == SUB


def test_flatten_context_stays_under_a_small_limit() -> None:
    values = {f"k{i}": i for i in range(100)}
    for limit in (20, 50, 100, 200, 400):
        flat = flatten_context(values, limit=limit)
        assert list(flat) == [f"k{i}" for i in range(len(flat))]
        assert len(json.dumps(flat)) <= limit, (limit, len(json.dumps(flat)))


# ==================================================================================================
# Hydration at creation
# ==================================================================================================
def test_hydrate_is_called_once_at_creation(token: str) -> None:
    stub = StubVerifier()
    handler = authorizer(stub)
    assert stub.hydrations == 1
    assert stub.verified == []
    handler(token_event(f"Bearer {token}"), None)
    handler(rest_request_event(f"Bearer {token}"), None)
    assert stub.hydrations == 1
    assert stub.verified == [token, token]


def test_hydrate_false_skips_it() -> None:
    stub = StubVerifier()
    authorizer(stub, hydrate=False)
    assert stub.hydrations == 0


def test_hydrate_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    stub = StubVerifier(hydrate_error=KeySetUnavailableError("issuer down"))
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        handler = authorizer(stub)
    assert stub.hydrations == 1
    assert "could not load keys at init" in caplog.text
    assert "ERR_JWKS_UNAVAILABLE" in caplog.text
    # The handler works once keys can be had.
    stub.hydrate_error = None
    response = handler(token_event("Bearer a.b.c"), None)
    assert response["principalId"] == SUB


def test_hydrate_with_a_real_unreachable_verifier(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        handler = authorizer(unreachable_verifier())
    assert "could not load keys at init (ERR_JWKS_UNAVAILABLE); will retry" in caplog.text
    with pytest.raises(KeySetUnavailableError) as info:
        handler(token_event(f"Bearer {token}"), None)
    assert str(info.value) != "Unauthorized"


def test_hydrate_errors_other_than_an_outage_propagate() -> None:
    stub = StubVerifier(hydrate_error=RuntimeError("bug in a custom verifier"))
    with pytest.raises(RuntimeError, match="bug in a custom verifier"):
        authorizer(stub)


def test_hydrate_with_in_memory_keys(make_cognito: Callable[..., CognitoVerifier]) -> None:
    verifier = make_cognito()
    handler = authorizer(verifier)
    assert handler.verifier is verifier


def test_a_group_deny_names_the_principal_as_before_the_web_decision() -> None:
    # groups= is checked by the web decision now; the Deny's principal is what it was.
    event = token_event("Bearer a.b.c")
    stage = parse_api_arn(event["methodArn"]).stage_wildcard
    named = authorizer(StubVerifier(), groups="auditors", hydrate=False)
    response = named(event, None)
    assert_policy(response, effect="Deny", principal=access_claims()["sub"], resources=[stage])
    nameless = authorizer(StubVerifier(access_claims(sub=None)), groups="auditors", hydrate=False)
    response = nameless(event, None)
    assert_policy(response, effect="Deny", principal="unknown", resources=[stage])


def test_authorize_gets_the_full_request_of_a_token_event() -> None:
    # The handler reads a TOKEN event lightly; an authorize callback still gets the record.
    seen: list[AuthorizerRequest] = []

    def authorize(claims: Claims, request: AuthorizerRequest) -> bool:
        seen.append(request)
        return True

    event = token_event("Bearer a.b.c")
    handler = authorizer(StubVerifier(), authorize=authorize, hydrate=False)
    handler(event, None)
    assert seen == [parse_request(event)]
    assert isinstance(seen[0], AuthorizerRequest)
    assert (seen[0].kind, seen[0].headers, seen[0].event) == ("token", {}, event)
