"""CognitoRevocationCheck and IntrospectionCheck against endpoints on httpx.MockTransport."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from cognito_jwt import (
    Claims,
    ClientAssertionSigner,
    CognitoRevocationCheck,
    ConfigurationError,
    FetchOptions,
    IntrospectionCheck,
    JwtError,
    KeySetUnavailableError,
    RevocationUnavailableError,
    TokenRevokedError,
)
from cognito_jwt._b64 import b64url_decode
from tests.helpers import FIXED_NOW, REGION, access_claims, all_keys, id_claims

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzZWNyZXQiOiJ0b2tlbiJ9.c2lnbmF0dXJlLXZhbHVl"
OTHER = "eyJhbGciOiJSUzI1NiJ9.eyJvdGhlciI6InRva2VuIn0.c2lnbmF0dXJlLXR3bw"
INTROSPECT = "https://auth.example.com/oauth2/introspect"
SECRET = "s3cr3t:with/odd chars"
CLAIMS = Claims(access_claims())
USER = {"Username": "alice", "UserAttributes": []}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Endpoint:
    """A MockTransport endpoint whose answer the test sets; it records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda _: httpx.Response(
            200, json={"Username": "alice", "UserAttributes": []}
        )

    def reply(self, status: int, body: Any = None, **kwargs: Any) -> None:
        if body is not None:
            kwargs["json"] = body
        self.answer = lambda _: httpx.Response(status, **kwargs)

    def fail(self, exc: Exception) -> None:
        def raise_(request: httpx.Request) -> httpx.Response:
            raise exc

        self.answer = raise_

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    def fetch(self) -> FetchOptions:
        transport = httpx.MockTransport(self._handle)
        return FetchOptions(
            client=httpx.Client(transport=transport),
            async_client=httpx.AsyncClient(transport=transport),
            retries=0,
        )

    @property
    def calls(self) -> int:
        return len(self.requests)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def endpoint() -> Endpoint:
    return Endpoint()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def ask(check: Any, mode: str, claims: Claims = CLAIMS, token: str | None = TOKEN) -> bool:
    if mode == "sync":
        return bool(check.is_revoked(claims, token))
    return bool(asyncio.run(check.is_revoked_async(claims, token)))


def cognito(endpoint: Endpoint, clock: Clock, **kwargs: Any) -> CognitoRevocationCheck:
    kwargs.setdefault("region", REGION)
    return CognitoRevocationCheck(fetch=endpoint.fetch(), clock=clock, **kwargs)


def aws_error(name: str, message: str) -> dict[str, str]:
    return {"__type": f"com.amazonaws.cognito.identity.idp.model#{name}", "message": message}


# === Cognito GetUser ==============================================================================
def test_cognito_request_is_get_user(endpoint: Endpoint, clock: Clock, mode: str) -> None:
    assert ask(cognito(endpoint, clock), mode) is False
    (request,) = endpoint.requests
    assert request.method == "POST"
    assert str(request.url) == f"https://cognito-idp.{REGION}.amazonaws.com/"
    assert request.headers["x-amz-target"] == "AWSCognitoIdentityProviderService.GetUser"
    assert request.headers["content-type"] == "application/x-amz-json-1.1"
    assert "authorization" not in request.headers  # no IAM signature
    assert json.loads(request.content) == {"AccessToken": TOKEN}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("NotAuthorizedException", "Access Token has been revoked"),
        ("NotAuthorizedException", "Access Token has expired"),
        ("NotAuthorizedException", "Invalid Access Token"),
        ("UserNotFoundException", "User does not exist."),
        ("PasswordResetRequiredException", "Password reset required for the user"),
    ],
)
def test_cognito_refusals_are_revoked(
    endpoint: Endpoint, clock: Clock, mode: str, name: str, message: str
) -> None:
    endpoint.reply(400, aws_error(name, message))
    assert ask(cognito(endpoint, clock), mode) is True


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, aws_error("TooManyRequestsException", "Rate exceeded")),
        (400, aws_error("LimitExceededException", "limit")),
        (400, aws_error("ResourceNotFoundException", "no such pool")),
        (400, {"unexpected": True}),
        (500, aws_error("InternalErrorException", "oops")),
        (503, None),
        (302, None),
        (200, {}),
        (200, None),
    ],
)
def test_cognito_cannot_decide_fails_closed(
    endpoint: Endpoint, clock: Clock, mode: str, status: int, body: Any
) -> None:
    endpoint.reply(status, body)
    with pytest.raises(KeySetUnavailableError, match="cannot decide"):
        ask(cognito(endpoint, clock), mode)


@pytest.mark.parametrize(
    "exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")], ids=["connect", "timeout"]
)
def test_network_failures_cannot_decide(
    endpoint: Endpoint, clock: Clock, mode: str, exc: Exception
) -> None:
    endpoint.fail(exc)
    with pytest.raises(KeySetUnavailableError):
        ask(cognito(endpoint, clock), mode)


def test_id_tokens_are_not_checked(endpoint: Endpoint, clock: Clock, mode: str) -> None:
    endpoint.reply(400, aws_error("NotAuthorizedException", "Access Token has been revoked"))
    assert ask(cognito(endpoint, clock), mode, Claims(id_claims())) is False
    assert endpoint.calls == 0


@pytest.mark.parametrize(
    ("iss", "url"),
    [
        (
            "https://cognito-idp.ap-south-2.amazonaws.com/ap-south-2_Abc",
            "https://cognito-idp.ap-south-2.amazonaws.com/",
        ),
        (
            "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc",
            "https://cognito-idp.us-east-1.amazonaws.com/",
        ),
        (
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_Abc",
            "https://cognito-idp.cn-north-1.amazonaws.com.cn/",
        ),
    ],
)
def test_region_defaults_from_the_issuer(
    endpoint: Endpoint, clock: Clock, iss: str, url: str
) -> None:
    check = cognito(endpoint, clock, region=None)
    check.is_revoked(Claims(access_claims(iss=iss)), TOKEN)
    assert str(endpoint.requests[-1].url) == url


def test_region_from_a_non_cognito_issuer_is_a_configuration_error(
    endpoint: Endpoint, clock: Clock, mode: str
) -> None:
    claims = Claims(access_claims(iss="https://evil.example.com/eu-west-1_Abc"))
    with pytest.raises(ConfigurationError, match="region="):
        ask(cognito(endpoint, clock, region=None), mode, claims)
    assert endpoint.calls == 0


def test_endpoint_url_replaces_the_region(endpoint: Endpoint, clock: Clock) -> None:
    check = cognito(endpoint, clock, endpoint_url="http://127.0.0.1:4566")
    check.is_revoked(CLAIMS, TOKEN)
    assert str(endpoint.requests[-1].url) == "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region": "eu-west-1.evil.com"},
        {"endpoint_url": "http://cognito.example.com/"},
        {"cache_ttl": -1},
        {"cache_ttl": True},
        {"cache_size": 0},
        {"failure_threshold": 0},
        {"cool_off": 0},
        {"on_error": "ignore"},
        {"fetch": {"timeout": 1}},
    ],
)
def test_cognito_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CognitoRevocationCheck(**kwargs)


def test_the_token_is_required(endpoint: Endpoint, clock: Clock, mode: str) -> None:
    with pytest.raises(ConfigurationError, match="needs the token"):
        ask(cognito(endpoint, clock), mode, token=None)


# === Cache ========================================================================================
def test_answers_are_cached_per_token_for_cache_ttl(
    endpoint: Endpoint, clock: Clock, mode: str
) -> None:
    check = cognito(endpoint, clock, cache_ttl=60)
    assert ask(check, mode) is False
    assert ask(check, mode) is False
    assert endpoint.calls == 1
    endpoint.reply(400, aws_error("NotAuthorizedException", "Access Token has been revoked"))
    assert ask(check, mode, token=OTHER) is True  # another token: asked
    assert ask(check, mode, token=OTHER) is True  # revoked answers are cached too
    assert endpoint.calls == 2
    clock.now += 59.9
    assert ask(check, mode) is False  # still cached
    clock.now += 0.1
    assert ask(check, mode) is True  # expired: asked again, now revoked
    assert endpoint.calls == 3


def test_cache_ttl_zero_asks_every_time(endpoint: Endpoint, clock: Clock, mode: str) -> None:
    check = cognito(endpoint, clock, cache_ttl=0)
    for _ in range(3):
        ask(check, mode)
    assert endpoint.calls == 3


def test_cache_is_bounded_and_keyed_by_a_hash(endpoint: Endpoint, clock: Clock) -> None:
    check = cognito(endpoint, clock, cache_size=2)
    for i in range(5):
        check.is_revoked(CLAIMS, f"{TOKEN}{i}")
    cache = check._cache
    assert len(cache) == 2
    assert all(isinstance(key, bytes) and len(key) == 16 for key in cache._entries)
    check.is_revoked(CLAIMS, f"{TOKEN}4")  # most recent: still cached
    assert endpoint.calls == 5
    check.is_revoked(CLAIMS, f"{TOKEN}0")  # evicted: asked again
    assert endpoint.calls == 6


def test_failures_are_not_cached(endpoint: Endpoint, clock: Clock) -> None:
    check = cognito(endpoint, clock)
    endpoint.reply(500, None)
    with pytest.raises(KeySetUnavailableError):
        check.is_revoked(CLAIMS, TOKEN)
    endpoint.reply(200, USER)
    assert check.is_revoked(CLAIMS, TOKEN) is False
    assert endpoint.calls == 2


# === Circuit breaker and fail modes ===============================================================
def test_breaker_opens_after_consecutive_failures_then_probes(
    endpoint: Endpoint, clock: Clock, mode: str
) -> None:
    check = cognito(endpoint, clock, failure_threshold=3, cool_off=30, cache_ttl=0)
    endpoint.reply(503, None)
    for _ in range(3):
        with pytest.raises(KeySetUnavailableError, match="HTTP 503"):
            ask(check, mode)
    assert endpoint.calls == 3
    with pytest.raises(KeySetUnavailableError, match="circuit breaker is open"):
        ask(check, mode)
    assert endpoint.calls == 3  # open: no call
    clock.now += 30
    with pytest.raises(KeySetUnavailableError, match="HTTP 503"):
        ask(check, mode)  # one probe, which fails: open again
    assert endpoint.calls == 4
    with pytest.raises(KeySetUnavailableError, match="circuit breaker"):
        ask(check, mode)
    clock.now += 30
    endpoint.reply(200, USER)
    assert ask(check, mode) is False  # the probe succeeds: closed
    assert ask(check, mode) is False
    assert endpoint.calls == 6


def test_a_success_resets_the_failure_count(endpoint: Endpoint, clock: Clock) -> None:
    check = cognito(endpoint, clock, failure_threshold=2, cache_ttl=0)
    for status in (503, 200, 503, 200):
        endpoint.reply(status, USER)
        with contextlib.suppress(KeySetUnavailableError):
            check.is_revoked(CLAIMS, TOKEN)
    assert endpoint.calls == 4  # never two failures in a row: never open


def test_fail_open_answers_not_revoked_and_logs_once_per_outage(
    endpoint: Endpoint, clock: Clock, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    check = cognito(endpoint, clock, on_error="open", failure_threshold=2, cache_ttl=0)
    assert check.on_error == "open"
    endpoint.fail(httpx.ConnectError("refused"))
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        for _ in range(4):
            assert ask(check, mode) is False
        assert endpoint.calls == 2  # the breaker opened after two
        warnings = [r for r in caplog.records if "cannot decide" in r.getMessage()]
        assert len(warnings) == 1
        assert "on_error='open'" in warnings[0].getMessage()
        clock.now += 30
        endpoint.reply(200, USER)
        assert ask(check, mode) is False
        assert any("answers again" in r.getMessage() for r in caplog.records)
        endpoint.fail(httpx.ConnectError("refused"))
        ask(check, mode)
        warnings = [r for r in caplog.records if "cannot decide" in r.getMessage()]
        assert len(warnings) == 2  # a new outage is logged again


def test_fail_open_still_honours_a_revoked_answer(endpoint: Endpoint, clock: Clock) -> None:
    check = cognito(endpoint, clock, on_error="open")
    endpoint.reply(400, aws_error("NotAuthorizedException", "Access Token has been revoked"))
    assert check.is_revoked(CLAIMS, TOKEN) is True


# === The token never leaks ========================================================================
def test_token_never_in_errors_or_logs(
    endpoint: Endpoint, clock: Clock, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    parts = [TOKEN, *TOKEN.split(".")]
    outputs: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for check in (
            cognito(endpoint, clock, cache_ttl=0),
            cognito(endpoint, clock, cache_ttl=0, on_error="open"),
            IntrospectionCheck(INTROSPECT, "api", client_secret=SECRET, fetch=endpoint.fetch()),
        ):
            outputs.append(repr(check))
            answers: list[Callable[[], None]] = [
                lambda: endpoint.reply(400, aws_error("NotAuthorizedException", TOKEN)),
                lambda: endpoint.reply(500, {"message": TOKEN}),
                lambda: endpoint.fail(httpx.ConnectError(TOKEN)),
            ]
            for answer in answers:
                answer()
                try:
                    ask(check, mode)
                except JwtError as exc:
                    outputs.extend((str(exc), repr(exc), repr(exc.__cause__)))
    outputs.extend(r.getMessage() for r in caplog.records)
    assert outputs
    for text in outputs:
        for part in parts:
            assert part not in text
        assert SECRET not in text
        assert base64.b64encode(SECRET.encode()).decode() not in text


# === Introspection ================================================================================
def introspection(endpoint: Endpoint, clock: Clock, **kwargs: Any) -> IntrospectionCheck:
    if "assertion_signer" not in kwargs:
        kwargs.setdefault("client_secret", SECRET)
    return IntrospectionCheck(
        INTROSPECT, kwargs.pop("client_id", "api"), fetch=endpoint.fetch(), clock=clock, **kwargs
    )


def form_of(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode("ascii"), keep_blank_values=True)


def test_introspection_with_client_secret_basic(
    endpoint: Endpoint, clock: Clock, mode: str
) -> None:
    endpoint.reply(200, {"active": True, "sub": "alice"})
    assert ask(introspection(endpoint, clock), mode) is False
    (request,) = endpoint.requests
    assert str(request.url) == INTROSPECT
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {"token": [TOKEN], "token_type_hint": ["access_token"]}
    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "api:s3cr3t%3Awith%2Fodd%20chars"


def test_introspection_with_private_key_jwt(endpoint: Endpoint, clock: Clock, mode: str) -> None:
    signer = ClientAssertionSigner(
        client_id="api", key=all_keys()["ES256"].private, clock=lambda: float(FIXED_NOW)
    )
    endpoint.reply(200, {"active": False})
    check = introspection(endpoint, clock, assertion_signer=signer, token_type_hint=None)
    assert ask(check, mode) is True
    (request,) = endpoint.requests
    assert "authorization" not in request.headers
    form = form_of(request)
    assert form["token"] == [TOKEN]
    assert "token_type_hint" not in form
    assert form["client_id"] == ["api"]
    assert form["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    payload = json.loads(b64url_decode(form["client_assertion"][0].split(".")[1]))
    assert payload["aud"] == INTROSPECT
    assert payload["iss"] == payload["sub"] == "api"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"active": "true"}),
        (200, {"sub": "alice"}),
        (200, [1, 2]),
        (401, {"error": "invalid_client"}),
        (400, {"error": "unsupported_token_type"}),
        (500, None),
    ],
)
def test_introspection_cannot_decide(
    endpoint: Endpoint, clock: Clock, mode: str, status: int, body: Any
) -> None:
    endpoint.reply(status, body)
    with pytest.raises(KeySetUnavailableError, match="cannot decide"):
        ask(introspection(endpoint, clock), mode)


def test_introspection_caches_and_breaks_like_cognito(
    endpoint: Endpoint, clock: Clock, mode: str
) -> None:
    endpoint.reply(200, {"active": True})
    check = introspection(endpoint, clock, failure_threshold=1, cool_off=10)
    ask(check, mode)
    ask(check, mode)
    assert endpoint.calls == 1
    endpoint.reply(503, None)
    with pytest.raises(KeySetUnavailableError):
        ask(check, mode, token=OTHER)
    with pytest.raises(KeySetUnavailableError, match="circuit breaker"):
        ask(check, mode, token=OTHER)
    assert endpoint.calls == 2
    assert ask(check, mode) is False  # a cached answer needs no call, breaker or not


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"client_secret": SECRET, "assertion_signer": "x"},
        {"client_secret": ""},
        {"assertion_signer": "not a signer"},
        {"client_secret": SECRET, "client_id": ""},
        {"client_secret": SECRET, "token_type_hint": 3},
    ],
)
def test_introspection_bad_options(kwargs: dict[str, Any]) -> None:
    client_id = kwargs.pop("client_id", "api")
    with pytest.raises(ConfigurationError):
        IntrospectionCheck(INTROSPECT, client_id, **kwargs)


def test_introspection_signer_must_match_the_client() -> None:
    signer = ClientAssertionSigner(client_id="other", key=all_keys()["ES256"].private)
    with pytest.raises(ConfigurationError, match="another client_id"):
        IntrospectionCheck(INTROSPECT, "api", assertion_signer=signer)


def test_introspection_endpoint_url_policy() -> None:
    with pytest.raises(ConfigurationError):
        IntrospectionCheck("http://auth.example.com/introspect", "api", client_secret=SECRET)


# === Through a verifier: revocation= ============================================================
def test_through_a_verifier(
    make_cognito: Callable[..., Any], endpoint: Endpoint, clock: Clock
) -> None:
    from tests.helpers import all_keys as keys

    token = keys()["RS256"].sign(access_claims())
    assert make_cognito(revocation=cognito(endpoint, clock)).verify(token)["username"] == "alice"
    endpoint.reply(400, aws_error("NotAuthorizedException", "Access Token has been revoked"))
    with pytest.raises(TokenRevokedError):
        make_cognito(revocation=cognito(endpoint, clock)).verify(token)
    with pytest.raises(TokenRevokedError):
        asyncio.run(make_cognito(revocation=cognito(endpoint, clock)).verify_async(token))
    endpoint.reply(503, aws_error("InternalErrorException", "down"))
    with pytest.raises(RevocationUnavailableError):  # fail closed: 503, not 401
        make_cognito(revocation=cognito(endpoint, clock)).verify(token)
