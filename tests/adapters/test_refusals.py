"""Every refusal has one shape and tells the caller nothing about the configuration.

What a caller gets: the HTTP status, an OAuth error code, a generic sentence per error class and
the library's stable code. The detailed reason ("issuer X is not Y") names the expected issuer,
audiences, client ids or groups; it is logged (``cognito_jwt`` logger, without the token) and
never sent, in a body or in a header (hardening 2.6).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import flask
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

import cognito_jwt
from cognito_jwt import Claims, CognitoVerifier, JwtError, JwtVerifier, KeySetUnavailableError
from cognito_jwt.adapters import flask as flask_adapter
from cognito_jwt.adapters._web import RETRY_AFTER, describe
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.fastapi import require_token
from cognito_jwt.adapters.lambda_authorizer import authorizer
from tests.helpers import FIXED_NOW, SigningKey, access_claims, all_jwks, oidc_claims

# Configuration a refusal must not reveal.
SECRET_ISSUER = "https://idp.internal.example/tenant-42"
SECRET_AUDIENCE = "api://secret-audience-7"
SECRET_CLIENT = "secret-client-id-9"
SECRET_GROUP = "secret-group-admins"
SECRETS = (SECRET_ISSUER, "tenant-42", SECRET_AUDIENCE, SECRET_CLIENT, SECRET_GROUP)

ERROR_CLASSES = sorted(
    (
        obj
        for obj in vars(cognito_jwt).values()
        if isinstance(obj, type) and issubclass(obj, JwtError)
    ),
    key=lambda cls: cls.__name__,
)
SHAPE = {"error", "error_description", "code"}
OAUTH_ERRORS = {
    "invalid_token",
    "insufficient_scope",
    "invalid_request",
    "temporarily_unavailable",
    "server_error",
}


class Raising:
    """A verifier that refuses every token with *error*, whose message names the secrets."""

    def __init__(self, error: type[JwtError]) -> None:
        self.error = error

    def _raise(self) -> Claims:
        message = (
            f"expected {SECRET_ISSUER} for {SECRET_AUDIENCE} / {SECRET_CLIENT} in {SECRET_GROUP}"
        )
        raise self.error(message)

    def verify(self, token: str | bytes) -> Claims:
        return self._raise()

    async def verify_async(self, token: str | bytes) -> Claims:
        return self._raise()


TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # never looked at by Raising


def _flask_client(verifier: Any, **options: Any) -> Any:
    app = flask.Flask(__name__)
    flask_adapter.init_app(app, verifier, **options)

    @app.get("/")
    def home() -> str:
        return "ok"

    return app.test_client()


def _fastapi_client(verifier: Any, **options: Any) -> TestClient:
    app = FastAPI()

    @app.get("/")
    async def home(claims: Claims = Depends(require_token(verifier, **options))) -> dict[str, str]:  # noqa: B008
        return {}

    return TestClient(app)


def _asgi_client(verifier: Any, **options: Any) -> TestClient:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return TestClient(AsgiMiddleware(app, verifier, **options))


CLIENTS: dict[str, Callable[..., Any]] = {
    "wsgi-flask": _flask_client,
    "asgi": _asgi_client,
    "fastapi": _fastapi_client,
}


def _answer(
    client: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = client.get("/", headers=headers or {})
    body = response.get_json() if isinstance(response, flask.Response) else response.json()
    body = body.get("detail", body) if isinstance(body, dict) else body
    return response.status_code, {k.lower(): v for k, v in response.headers.items()}, body


def _assert_says_nothing(status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
    assert set(body) == SHAPE, body
    assert body["error"] in OAUTH_ERRORS
    assert body["code"].startswith("ERR_")
    everything = json.dumps(body) + json.dumps(headers)
    for secret in SECRETS:
        assert secret not in everything, (secret, everything)
    assert TOKEN not in everything


@pytest.mark.parametrize("kind", CLIENTS, ids=str)
@pytest.mark.parametrize("error", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_no_error_class_reveals_the_configuration(
    kind: str, error: type[JwtError], caplog: pytest.LogCaptureFixture
) -> None:
    client = CLIENTS[kind](Raising(error))
    with caplog.at_level(logging.INFO, logger="cognito_jwt"):
        status, headers, body = _answer(client, {"Authorization": f"Bearer {TOKEN}"})
    _assert_says_nothing(status, headers, body)
    assert body["code"] == error.code
    assert body["error_description"] == describe(error("x"))
    if issubclass(error, KeySetUnavailableError):
        told = getattr(error("x"), "retry_after", RETRY_AFTER)  # the error's own, if it knows
        assert (status, body["error"], headers["retry-after"]) == (
            503,
            "temporarily_unavailable",
            str(math.ceil(told)),
        )
    elif issubclass(error, cognito_jwt.ConfigurationError):
        assert (status, body["error"]) == (500, "server_error")
    elif issubclass(error, cognito_jwt.InsufficientScopeError | cognito_jwt.MissingGroupError):
        assert (status, body["error"]) == (403, "insufficient_scope")
    else:
        assert (status, body["error"]) == (401, "invalid_token")
        assert headers["www-authenticate"] == (
            f'Bearer realm="api", error="invalid_token", error_description="{describe(error("x"))}"'
        )
    # The full reason is in the log, for the operator; the token is not.
    assert SECRET_ISSUER in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", CLIENTS, ids=str)
def test_no_token_has_the_same_shape(kind: str) -> None:
    status, headers, body = _answer(CLIENTS[kind](Raising(JwtError)))
    _assert_says_nothing(status, headers, body)
    assert status == 401
    assert body == {
        "error": "invalid_request",
        "error_description": "a bearer token is required",
        "code": "ERR_TOKEN_MISSING",
    }
    assert headers["www-authenticate"] == 'Bearer realm="api"'  # RFC 6750 §3.1: no error code


# --- Real verifiers: the messages that used to reach the caller ---------------------------------
@pytest.fixture
def secret_verifiers() -> dict[str, Any]:
    jwks = all_jwks()
    clock = {"clock": lambda: float(FIXED_NOW)}
    return {
        "oidc": JwtVerifier(issuer=SECRET_ISSUER, audience=SECRET_AUDIENCE, jwks=jwks, **clock),
        "cognito": CognitoVerifier(
            user_pool_id="eu-west-1_TestPool1",
            client_id=SECRET_CLIENT,
            token_use="access",
            groups=SECRET_GROUP,
            jwks=jwks,
            **clock,
        ),
    }


def _refused_tokens(keys: dict[str, SigningKey]) -> list[tuple[str, str]]:
    sign = keys["RS256"].sign
    return [
        ("oidc", sign(oidc_claims(iss="https://attacker.example"))),
        ("oidc", sign(oidc_claims(iss=SECRET_ISSUER, aud="other"))),
        ("oidc", sign(oidc_claims(iss=SECRET_ISSUER, aud=SECRET_AUDIENCE, exp=FIXED_NOW - 1))),
        ("cognito", sign(access_claims(client_id="someone-else"))),
        ("cognito", sign(access_claims(token_use="id"))),
        ("cognito", sign(access_claims(client_id=SECRET_CLIENT))),  # in admins and staff only
    ]


@pytest.mark.parametrize("kind", CLIENTS, ids=str)
def test_real_refusals_reveal_nothing(
    kind: str, keys: dict[str, SigningKey], secret_verifiers: dict[str, Any]
) -> None:
    codes = []
    for which, token in _refused_tokens(keys):
        status, headers, body = _answer(
            CLIENTS[kind](secret_verifiers[which]), {"Authorization": f"Bearer {token}"}
        )
        _assert_says_nothing(status, headers, body)
        assert token not in json.dumps(body)
        codes.append(body["code"])
    assert codes == [
        "ERR_ISSUER_MISMATCH",
        "ERR_AUDIENCE_MISMATCH",
        "ERR_TOKEN_EXPIRED",
        "ERR_AUDIENCE_MISMATCH",
        "ERR_TOKEN_USE_MISMATCH",
        "ERR_GROUP_MISSING",
    ]


@pytest.mark.parametrize("kind", ["wsgi-flask", "asgi", "fastapi"])
def test_adapter_groups_are_not_named_either(kind: str, keys: dict[str, SigningKey]) -> None:
    verifier = JwtVerifier(issuer=None, audience=None, jwks=all_jwks(), clock=lambda: FIXED_NOW)
    token = keys["RS256"].sign(oidc_claims(**{"cognito:groups": ["users"]}))
    client = CLIENTS[kind](verifier, groups=[SECRET_GROUP])
    status, headers, body = _answer(client, {"Authorization": f"Bearer {token}"})
    assert status == 403
    _assert_says_nothing(status, headers, body)


def test_flask_route_requirements_say_nothing_either(keys: dict[str, SigningKey]) -> None:
    verifier = JwtVerifier(issuer=None, audience=None, jwks=all_jwks(), clock=lambda: FIXED_NOW)
    app = flask.Flask(__name__)
    flask_adapter.init_app(app, verifier)

    @app.get("/")
    @flask_adapter.require_token(groups=[SECRET_GROUP])
    def home() -> str:
        return "ok"

    token = keys["RS256"].sign(oidc_claims())
    response = app.test_client().get("/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    _assert_says_nothing(response.status_code, dict(response.headers), response.get_json())


def test_the_wsgi_middleware_answers_503_with_the_policy_back_off() -> None:
    assert cognito_jwt.RefreshPolicy().backoff_initial == RETRY_AFTER


def test_a_key_set_error_that_knows_its_retry_time_is_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Retrying:
        def verify(self, token: str | bytes) -> Claims:
            error = KeySetUnavailableError("down")
            error.retry_after = 42.2  # type: ignore[attr-defined]
            raise error

    status, headers, _ = _answer(_flask_client(Retrying()), {"Authorization": f"Bearer {TOKEN}"})
    assert (status, headers["retry-after"]) == (503, "43")


# --- One decision: the same refusal, the same log line, whatever the adapter (issue 20.4) -------
def _lambda_answer(verifier: Any, headers: dict[str, str]) -> str:
    handler = authorizer(verifier, hydrate=False, on_invalid="deny")
    event = {
        "type": "TOKEN",
        "authorizationToken": headers.get("Authorization", ""),
        "methodArn": ARN,
    }
    try:
        answer = handler(event, None)
    except JwtError as exc:
        return f"raised {exc.code}"
    return answer["policyDocument"]["Statement"][0]["Effect"]


ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/orders"
LOGGED = {
    None: ("refused with 401 (ERR_TOKEN_MISSING): a bearer token is required", logging.INFO),
    cognito_jwt.ExpiredTokenError: ("refused with 401 (ERR_TOKEN_EXPIRED): ", logging.INFO),
    cognito_jwt.MissingGroupError: ("refused with 403 (ERR_GROUP_MISSING): ", logging.INFO),
    KeySetUnavailableError: ("refused with 503 (ERR_JWKS_UNAVAILABLE): ", logging.WARNING),
    cognito_jwt.ConfigurationError: ("refused with 500 (ERR_CONFIGURATION): ", logging.ERROR),
}


@pytest.mark.parametrize("kind", [*CLIENTS, "lambda"], ids=str)
@pytest.mark.parametrize("error", LOGGED, ids=lambda e: getattr(e, "__name__", "no-token"))
def test_every_adapter_logs_a_refusal_the_same_way(
    kind: str, error: type[JwtError] | None, caplog: pytest.LogCaptureFixture
) -> None:
    verifier = Raising(error or JwtError)
    headers = {} if error is None else {"Authorization": f"Bearer {TOKEN}"}
    with caplog.at_level(logging.DEBUG, logger="cognito_jwt"):
        if kind == "lambda":
            _lambda_answer(verifier, headers)
        else:
            _answer(CLIENTS[kind](verifier), headers)
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused with")]
    line, level = LOGGED[error]
    assert [(r.getMessage()[: len(line)], r.levelno) for r in refusals] == [(line, level)]
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("kind", CLIENTS, ids=str)
def test_a_scope_the_verifier_wanted_is_not_answered_with_the_adapter_scopes(kind: str) -> None:
    # The verifier's scopes= refused the token; the adapter's own scopes= are other scopes.
    # Naming those in the challenge would send the client after the wrong scope.
    client = CLIENTS[kind](Raising(cognito_jwt.InsufficientScopeError), scopes=["orders/read"])
    status, headers, body = _answer(client, {"Authorization": f"Bearer {TOKEN}"})
    assert (status, body["code"]) == (403, "ERR_SCOPE_MISSING")
    assert "scope=" not in headers["www-authenticate"]
