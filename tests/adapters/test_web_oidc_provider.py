"""Flask (werkzeug) and FastAPI (uvicorn) apps trusting tokens from the real oidc-provider."""

# ruff: noqa: F811 - pytest fixtures imported by name
from __future__ import annotations

import pytest

from cognito_jwt import JwtVerifier
from tests.adapters.test_asgi_fastapi import fastapi_app, serve
from tests.adapters.test_wsgi_flask import auth, make_app
from tests.adapters.test_wsgi_flask import serve as wsgi_serve  # noqa: F401
from tests.integration.conftest import oidc_provider  # noqa: F401
from tests.servers.oidc import OidcProvider

API = "api://orders"


def _verifier(provider: OidcProvider) -> JwtVerifier:
    return JwtVerifier(issuer=provider.issuer, audience=API, store=None)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_flask_app_with_provider_tokens(
    wsgi_serve: object, oidc_provider: OidcProvider, alg: str
) -> None:
    client = wsgi_serve(make_app(_verifier(oidc_provider)))  # type: ignore[operator]
    reader = oidc_provider.token(alg, scope="orders:read", audience=API)
    response = client.get("/orders", headers=auth(reader))
    assert response.status_code == 200
    assert response.json()["sub"] == "test-client"
    # The route needs orders/write or orders/admin: a valid token without them is 403.
    refused = client.post("/orders", headers=auth(reader))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    writer = oidc_provider.token(alg, scope="orders/write", audience=API)
    assert client.post("/orders", headers=auth(writer)).status_code == 201
    other = oidc_provider.token(alg, scope="orders:read")  # audience urn:test:<alg>
    wrong = client.get("/orders", headers=auth(other))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "ERR_AUDIENCE_MISMATCH"


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES384"])
def test_fastapi_app_with_provider_tokens(oidc_provider: OidcProvider, alg: str) -> None:
    with serve(fastapi_app(_verifier(oidc_provider))) as running:
        reader = oidc_provider.token(alg, scope="orders:read", audience=API)
        ok = running.http.get("/orders", headers=auth(reader))
        assert ok.status_code == 200
        assert ok.json()["scopes"] == ["orders:read"]
        refused = running.http.post("/orders", headers=auth(reader))
        assert refused.status_code == 403
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
        tampered = reader[:-4] + ("AAAA" if not reader.endswith("AAAA") else "BBBB")
        bad = running.http.get("/orders", headers=auth(tampered))
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]
        assert tampered not in bad.text
