"""Every adapter validates its options the same way (one normaliser, ``_normalise.py``).

A ``str`` is one value (``groups="admins"`` is the group ``admins``, never the set of its
letters); any other non-iterable, a non-string or empty member is a ``ConfigurationError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flask
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from cognito_jwt import (
    Claims,
    CognitoVerifier,
    ConfigurationError,
    JwtVerifier,
    MultiIssuerVerifier,
)
from cognito_jwt.adapters import flask as flask_adapter
from cognito_jwt.adapters.asgi import FASTAPI_DOCS_PATHS
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.fastapi import require_token
from cognito_jwt.adapters.lambda_authorizer import TokenSource, authorizer
from cognito_jwt.adapters.wsgi import BearerAuthMiddleware as WsgiMiddleware
from cognito_jwt.testing import LocalIssuer
from tests.helpers import SigningKey, access_claims, all_jwks


def _app(*args: Any) -> None:  # pragma: no cover - never called
    return None


def _verifier() -> JwtVerifier:
    return JwtVerifier(issuer="https://login.example.com", audience=None, jwks=all_jwks())


def _flask(**options: Any) -> Any:
    return flask_adapter.require_token(**options)


BUILDERS: dict[str, Callable[..., Any]] = {
    "wsgi": lambda **kw: WsgiMiddleware(_app, _verifier(), **kw),
    "asgi": lambda **kw: AsgiMiddleware(_app, _verifier(), **kw),  # type: ignore[arg-type]
    "fastapi": lambda **kw: require_token(_verifier(), **kw),
    "flask": _flask,
    "lambda": lambda **kw: authorizer(_verifier(), hydrate=False, **kw),
}

BAD_NAMES = [5, b"admins", ["admins", 3], ["admins", ""], [""], "", [], [None], object()]


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
@pytest.mark.parametrize("option", ["scopes", "groups"])
@pytest.mark.parametrize("value", BAD_NAMES, ids=repr)
def test_bad_names_are_configuration_errors(build: Any, option: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=option):
        build(**{option: value})


@pytest.mark.parametrize("build", [BUILDERS["wsgi"], BUILDERS["asgi"]], ids=["wsgi", "asgi"])
@pytest.mark.parametrize("value", [5, b"/health", ["/health", 3], ["health"], [""]], ids=repr)
def test_bad_exclude_paths_are_configuration_errors(build: Any, value: object) -> None:
    with pytest.raises(ConfigurationError, match="exclude_paths"):
        build(exclude_paths=value)


@pytest.mark.parametrize("build", [BUILDERS["wsgi"], BUILDERS["asgi"]], ids=["wsgi", "asgi"])
def test_one_string_is_one_value_in_the_middleware(build: Any) -> None:
    middleware = build(scopes="orders/write", groups="admins", exclude_paths="/health")
    assert middleware.scopes == frozenset({"orders/write"})
    assert middleware.groups == frozenset({"admins"})
    assert middleware._paths.excluded("/health")
    assert not middleware._paths.excluded("/h")


@pytest.mark.parametrize("option", ["token_source", "realm", "cookie", "header"], ids=str)
@pytest.mark.parametrize("build", [BUILDERS["wsgi"], BUILDERS["asgi"]], ids=["wsgi", "asgi"])
def test_other_bad_middleware_settings_are_configuration_errors(build: Any, option: str) -> None:
    value: object = "cookie" if option == "token_source" else 5
    with pytest.raises(ConfigurationError):
        build(**{option: value})


# --- One string is one value: the reproduction, for every entry point ------------------
@pytest.fixture
def in_group_a(keys: dict[str, SigningKey]) -> str:
    """A valid token whose user is in the groups "a" and "s" only, with the scope "o"."""
    return keys["RS256"].sign(access_claims(**{"cognito:groups": ["a", "s"], "scope": "o"}))


@pytest.fixture
def in_admins(keys: dict[str, SigningKey]) -> str:
    """A valid token whose user is in the group "admins", with the scope "orders"."""
    return keys["RS256"].sign(access_claims(**{"cognito:groups": ["admins"], "scope": "orders"}))


def _event(token: str) -> dict[str, Any]:
    return {
        "type": "TOKEN",
        "authorizationToken": f"Bearer {token}",
        "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/orders",
    }


def _statement_effect(response: Any) -> str:
    effect: str = response["policyDocument"]["Statement"][0]["Effect"]
    return effect


@pytest.mark.parametrize(("option", "value"), [("groups", "admins"), ("scopes", "orders")])
def test_lambda_authorizer_takes_one_string_as_one_name(
    option: str,
    value: str,
    in_group_a: str,
    in_admins: str,
    make_cognito: Callable[..., CognitoVerifier],
) -> None:
    handler = authorizer(make_cognito(), hydrate=False, **{option: value})
    assert _statement_effect(handler(_event(in_group_a), None)) == "Deny"
    assert _statement_effect(handler(_event(in_admins), None)) == "Allow"


@pytest.mark.parametrize(("option", "value"), [("groups", "admins"), ("scopes", "orders")])
def test_fastapi_takes_one_string_as_one_name(
    option: str,
    value: str,
    in_group_a: str,
    in_admins: str,
    make_cognito: Callable[..., CognitoVerifier],
) -> None:
    app = FastAPI()
    dependency = require_token(make_cognito(), **{option: value})

    @app.get("/")
    async def home(claims: Claims = Depends(dependency)) -> dict[str, str]:  # noqa: B008
        return {"sub": str(claims.sub)}

    with TestClient(app) as client:
        assert client.get("/", headers={"Authorization": f"Bearer {in_group_a}"}).status_code == 403
        assert client.get("/", headers={"Authorization": f"Bearer {in_admins}"}).status_code == 200


@pytest.mark.parametrize(("option", "value"), [("groups", "admins"), ("scopes", "orders")])
def test_flask_takes_one_string_as_one_name(
    option: str,
    value: str,
    in_group_a: str,
    in_admins: str,
    make_cognito: Callable[..., CognitoVerifier],
) -> None:
    app = flask.Flask(__name__)
    flask_adapter.init_app(app, make_cognito())

    @app.get("/")
    @flask_adapter.require_token(**{option: value})
    def home() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/", headers={"Authorization": f"Bearer {in_group_a}"}).status_code == 403
    assert client.get("/", headers={"Authorization": f"Bearer {in_admins}"}).status_code == 200


@pytest.mark.parametrize("value", ["all", ("sub",), "sub"], ids=["all", "tuple", "one-string"])
def test_lambda_context_claims_one_string_is_one_claim(
    value: Any, in_admins: str, make_cognito: Callable[..., CognitoVerifier]
) -> None:
    handler = authorizer(make_cognito(), hydrate=False, context_claims=value)
    context = handler(_event(in_admins), None)["context"]
    if value == "all":
        assert "username" in context
    else:
        assert context == {"sub": access_claims()["sub"]}


@pytest.mark.parametrize("value", [5, [1], [""], b"sub"], ids=repr)
def test_lambda_bad_context_claims_are_configuration_errors(value: object) -> None:
    with pytest.raises(ConfigurationError, match="context_claims"):
        authorizer(_verifier(), hydrate=False, context_claims=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"resource": "route"},
        {"http_response": "policy"},
        {"on_invalid": "ignore"},
        {"principal_claim": ""},
        {"principal_claim": 5},
        {"token_source": "authorization"},
    ],
    ids=repr,
)
def test_lambda_bad_settings_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        authorizer(_verifier(), hydrate=False, **options)


# --- An async custom_check is awaited by the async adapters (hardening 2.3) -------------------
@pytest.mark.parametrize("allowed", [True, False])
def test_async_adapters_await_an_async_custom_check(
    allowed: bool, in_admins: str, make_cognito: Callable[..., CognitoVerifier]
) -> None:
    async def check(claims: Claims) -> bool:
        return allowed

    verifier = make_cognito(custom_check=check)
    app = FastAPI()

    @app.get("/dependency")
    async def guarded(claims: Claims = Depends(require_token(verifier))) -> dict[str, str]:  # noqa: B008
        return {"sub": str(claims.sub)}

    @app.get("/middleware")
    async def plain() -> dict[str, str]:
        return {}

    wrapped = AsgiMiddleware(app, verifier, exclude_paths=["/dependency"])
    with TestClient(wrapped) as client:
        for path in ("/dependency", "/middleware"):
            response = client.get(path, headers={"Authorization": f"Bearer {in_admins}"})
            assert response.status_code == (200 if allowed else 401), path


async def _async_check(claims: Claims) -> bool:  # pragma: no cover - never awaited here
    return True


def _sneaky_check(claims: Claims) -> Any:
    """Looks sync, returns a coroutine: only found out when it is called."""
    return _async_check(claims)


SYNC_ADAPTERS: dict[str, Callable[[Any], Any]] = {
    "wsgi": lambda v: WsgiMiddleware(_app, v),
    "flask": lambda v: flask_adapter.init_app(flask.Flask(__name__), v),
    "lambda": lambda v: authorizer(v, hydrate=False),
}


@pytest.mark.parametrize("build", SYNC_ADAPTERS.values(), ids=SYNC_ADAPTERS.keys())
@pytest.mark.parametrize("multi", [False, True], ids=["verifier", "multi"])
def test_sync_adapters_refuse_an_async_custom_check_when_built(
    build: Any, multi: bool, make_cognito: Callable[..., CognitoVerifier]
) -> None:
    verifier: Any = make_cognito(custom_check=_async_check)
    if multi:
        verifier = MultiIssuerVerifier([verifier, _verifier()])
    with pytest.raises(ConfigurationError, match="async"):
        build(verifier)


def test_lambda_authorizer_fails_loudly_on_a_check_found_async_when_called(
    in_admins: str, make_cognito: Callable[..., CognitoVerifier], caplog: pytest.LogCaptureFixture
) -> None:
    handler = authorizer(make_cognito(custom_check=_sneaky_check), hydrate=False)
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"), pytest.raises(ConfigurationError):
        handler(_event(in_admins), None)  # a 500, not a 401 that hides the bug
    assert "refused with 500 (ERR_CONFIGURATION)" in caplog.text  # as every web adapter logs it
    assert "fix the configuration" in caplog.text
    assert in_admins not in caplog.text


def test_wsgi_answers_500_for_a_check_found_async_when_called(
    in_admins: str, make_cognito: Callable[..., CognitoVerifier], caplog: pytest.LogCaptureFixture
) -> None:
    app = flask.Flask(__name__)
    flask_adapter.init_app(app, make_cognito(custom_check=_sneaky_check))
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"):
        response = app.test_client().get("/", headers={"Authorization": f"Bearer {in_admins}"})
    assert response.status_code == 500
    assert response.get_json()["code"] == "ERR_CONFIGURATION"
    assert "verify_async" in caplog.text


def test_lambda_authorizer_logs_the_full_reason(
    keys: dict[str, SigningKey],
    make_cognito: Callable[..., CognitoVerifier],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = keys["RS256"].sign(access_claims(client_id="someone-else"))
    handler = authorizer(make_cognito(), hydrate=False, on_invalid="deny")
    with caplog.at_level(logging.INFO, logger="cognito_jwt"):
        assert _statement_effect(handler(_event(token), None)) == "Deny"
    assert "ERR_AUDIENCE_MISMATCH" in caplog.text
    assert "someone-else" in caplog.text
    assert token not in caplog.text


# --- FastAPI's docs behind the ASGI middleware (hardening 4b) ----------------------------------
def _docs_app(**options: Any) -> TestClient:
    api = FastAPI()

    @api.get("/orders")
    async def orders() -> dict[str, str]:
        return {}

    return TestClient(AsgiMiddleware(api, _verifier(), **options))


def test_fastapi_docs_are_locked_by_default() -> None:
    client = _docs_app()
    for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect", "/orders"):
        assert client.get(path).status_code == 401, path


def test_fastapi_docs_paths_open_the_docs_and_nothing_else() -> None:
    client = _docs_app(exclude_paths=FASTAPI_DOCS_PATHS)
    for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(path).status_code == 200, path
    for path in ("/orders", "/docs/", "/docs/x", "/openapi.json/", "/docs/../orders"):
        assert client.get(path).status_code in (401, 404), path
    assert client.get("/orders").status_code == 401


@pytest.mark.parametrize(
    "options",
    [{"header": ""}, {"header": 5}, {"query": b"token"}, {"header": None}, {"allow_bare": "yes"}],
    ids=repr,
)
def test_lambda_token_source_is_checked(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="TokenSource"):
        TokenSource(**options)


def test_local_issuer_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="algorithm"):
        LocalIssuer(algorithm="HS256")
    issuer = LocalIssuer()
    with pytest.raises(ConfigurationError):
        issuer.fail(200)
    with pytest.raises(ConfigurationError):
        issuer.slow(-1)
