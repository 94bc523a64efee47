"""Behind an Application Load Balancer: Flask under werkzeug and FastAPI under uvicorn, over HTTP.

The load balancer is `LocalLoadBalancer` (its key endpoint on 127.0.0.1 and its request
headers); the apps use the middleware with `token_source="alb"`. `AlbVerifier` is imported
from `cognito_jwt._alb` until `cognito_jwt` exports it.
"""

# ruff: noqa: F811 - pytest fixtures imported by name
# No `from __future__ import annotations`: FastAPI reads the routes' Annotated[...] at runtime.

from collections.abc import Iterator
from typing import Annotated, Any

import flask
import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from cognito_jwt import Claims
from cognito_jwt._alb import AlbVerifier
from cognito_jwt.adapters.alb import AlbIdentity
from cognito_jwt.adapters.asgi import BearerAuthMiddleware
from cognito_jwt.adapters.fastapi import require_token
from cognito_jwt.adapters.flask import current_alb_identity, current_claims, init_app
from cognito_jwt.testing import LocalLoadBalancer
from tests.adapters.test_asgi_fastapi import serve as serve_asgi
from tests.adapters.test_wsgi_flask import Serve, serve  # noqa: F401

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
CLIENT = "1example23456789abcdefghij"
USER = {"sub": "0d1f-user", "email": "alice@example.com"}
MISSING = "the load balancer's x-amzn-oidc-data header is required"


@pytest.fixture
def alb() -> Iterator[LocalLoadBalancer]:
    with LocalLoadBalancer(alb_arn=ARN, issuer=ISSUER, client_id=CLIENT) as local:
        yield local


@pytest.fixture
def verifier(alb: LocalLoadBalancer) -> AlbVerifier:
    return alb.verifier(store=None)


def seen(request_headers: Any, user: AlbIdentity | None, claims: Claims | None) -> dict[str, Any]:
    """What a view sees of the request."""
    return {
        "sub": claims.sub if claims else None,
        "email": claims.get("email") if claims else None,
        "identity": user.identity if user else None,
        "access_token": user.access_token if user else None,
        "raw_identity": request_headers.get("x-amzn-oidc-identity"),
        "raw_access_token": request_headers.get("x-amzn-oidc-accesstoken"),
    }


VERIFIED = {
    "sub": "0d1f-user",
    "email": "alice@example.com",
    "identity": "0d1f-user",
    "access_token": "local-access-token",
    "raw_identity": "0d1f-user",
    "raw_access_token": "local-access-token",
}
ANONYMOUS = dict.fromkeys(VERIFIED)


# --- Flask under werkzeug ------------------------------------------------------------------------
def flask_app(verifier: AlbVerifier, **options: Any) -> flask.Flask:
    app = flask.Flask("shop")

    @app.get("/me")
    @app.get("/health")
    def me() -> dict[str, Any]:
        return seen(flask.request.headers, current_alb_identity(), current_claims())

    init_app(app, verifier, token_source="alb", exclude_paths=["/health"], **options)
    return app


def test_flask_sees_the_verified_user_and_then_the_unsigned_headers(
    alb: LocalLoadBalancer, verifier: AlbVerifier, serve: Serve
) -> None:
    client = serve(flask_app(verifier))
    response = client.get("/me", headers=alb.headers(USER))
    assert response.status_code == 200, response.text
    assert response.json() == VERIFIED
    assert sum(alb.requests.values()) == 1


def test_flask_refuses_requests_the_load_balancer_did_not_sign(
    alb: LocalLoadBalancer, verifier: AlbVerifier, serve: Serve
) -> None:
    client = serve(flask_app(verifier))
    missing = client.get("/me", headers={"x-amzn-oidc-identity": "0d1f-user"})
    assert missing.status_code == 401
    assert missing.json()["error_description"] == MISSING
    # A bearer token is not what this app reads, even a valid ALB token.
    bearer = client.get("/me", headers={"Authorization": f"Bearer {alb.mint(USER)}"})
    assert bearer.status_code == 401
    assert bearer.json()["code"] == "ERR_TOKEN_MISSING"
    other_lb = alb.headers(USER, header={"signer": ARN.replace("shop", "other")})
    assert client.get("/me", headers=other_lb).json()["code"] == "ERR_ISSUER_MISMATCH"
    spoofed = {**alb.headers(USER), "x-amzn-oidc-identity": "admin"}
    refused = client.get("/me", headers=spoofed)
    assert refused.status_code == 401
    assert refused.json()["code"] == "ERR_CLAIM_INVALID"
    forged = alb.headers(USER, kid=alb.kids[0], signing_kid=alb.rotate())
    assert client.get("/me", headers=forged).json()["code"] == "ERR_INVALID_SIGNATURE"


def test_flask_never_shows_unsigned_headers_of_unverified_requests(
    alb: LocalLoadBalancer, verifier: AlbVerifier, serve: Serve
) -> None:
    spoof = {"x-amzn-oidc-identity": "admin", "x-amzn-oidc-accesstoken": "stolen"}
    client = serve(flask_app(verifier))
    assert client.get("/health", headers=spoof).json() == ANONYMOUS
    optional = serve(flask_app(verifier, optional=True))
    assert optional.get("/me", headers=spoof).json() == ANONYMOUS
    assert optional.get("/me", headers=alb.headers(USER)).json() == VERIFIED


def test_flask_answers_503_when_the_keys_cannot_be_had(
    alb: LocalLoadBalancer, verifier: AlbVerifier, serve: Serve
) -> None:
    alb.available = False
    response = serve(flask_app(verifier)).get("/me", headers=alb.headers(USER))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"  # RefreshPolicy().backoff_initial


# --- FastAPI under uvicorn -----------------------------------------------------------------------
def fastapi_app(verifier: AlbVerifier) -> Any:
    app = FastAPI()
    signed_in = Annotated[Claims, Depends(require_token(verifier))]

    @app.get("/me")
    @app.get("/health")
    async def me(request: Request) -> dict[str, Any]:
        state = request.scope.get("state", {})
        return seen(request.headers, state.get("alb"), state.get("claims"))

    @app.get("/orders")
    async def orders(claims: signed_in) -> dict[str, Any]:
        return {"by": claims.sub}

    return BearerAuthMiddleware(app, verifier, token_source="alb", exclude_paths=["/health"])


def test_fastapi_behind_the_load_balancer(alb: LocalLoadBalancer, verifier: AlbVerifier) -> None:
    with serve_asgi(fastapi_app(verifier)) as running:
        http: httpx.Client = running.http
        assert http.get("/me", headers=alb.headers(USER)).json() == VERIFIED
        # The dependency reuses the claims the middleware verified.
        assert http.get("/orders", headers=alb.headers(USER)).json() == {"by": "0d1f-user"}
        spoof = {"x-amzn-oidc-identity": "admin", "x-amzn-oidc-accesstoken": "stolen"}
        assert http.get("/health", headers=spoof).json() == ANONYMOUS
        missing = http.get("/me", headers=spoof)
        assert missing.status_code == 401
        assert missing.json()["error_description"] == MISSING
        mismatch = http.get("/me", headers={**alb.headers(USER), **spoof})
        assert mismatch.status_code == 401
        assert mismatch.json()["code"] == "ERR_CLAIM_INVALID"
        expired = http.get("/me", headers=alb.headers(USER, lifetime=-10))
        assert expired.json()["code"] == "ERR_TOKEN_EXPIRED"
    assert sum(alb.requests.values()) == 1
