"""Flask helpers without their middleware; the non-optional claims accessor (hardening 4a, 4c)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import flask
import pytest

from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.flask import current_claims, init_app, require_claims, require_token
from tests.helpers import SigningKey, access_claims


def _app(verifier: CognitoVerifier | None, **options: Any) -> flask.Flask:
    app = flask.Flask(__name__)
    if verifier is not None:
        init_app(app, verifier, **options)

    @app.get("/decorated")
    @require_token()
    def decorated() -> dict[str, Any]:
        return {"sub": require_claims().sub}

    @app.get("/accessor")
    def accessor() -> dict[str, Any]:
        return {"sub": require_claims().sub}

    @app.get("/maybe")
    def maybe() -> dict[str, Any]:
        claims = current_claims()
        return {"sub": claims.sub if claims else None}

    return app


@pytest.fixture
def token(keys: dict[str, SigningKey]) -> str:
    return keys["RS256"].sign(access_claims())


@pytest.mark.parametrize("path", ["/decorated", "/accessor"])
def test_without_init_app_a_sent_token_is_a_configuration_error(
    path: str, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = _app(None).test_client()
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "server_error",
        "error_description": "the server is misconfigured",
        "code": "ERR_CONFIGURATION",
    }
    assert "init_app(app, verifier)" in caplog.text  # says what to do
    assert token not in caplog.text
    assert "a bearer token is required" not in response.get_data(as_text=True)


def test_require_claims_returns_the_claims_of_a_verified_request(
    token: str, make_cognito: Callable[..., CognitoVerifier]
) -> None:
    client = _app(make_cognito()).test_client()
    for path in ("/decorated", "/accessor", "/maybe"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, path
        assert response.get_json() == {"sub": access_claims()["sub"]}


def test_require_claims_answers_401_for_an_anonymous_request(
    make_cognito: Callable[..., CognitoVerifier],
) -> None:
    client = _app(make_cognito(), optional=True, realm="shop").test_client()
    assert client.get("/maybe").get_json() == {"sub": None}
    for path in ("/decorated", "/accessor"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="shop"'
        assert response.get_json()["code"] == "ERR_TOKEN_MISSING"
