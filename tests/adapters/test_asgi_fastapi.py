"""The ASGI middleware and the FastAPI dependency under a real server: uvicorn on 127.0.0.1.

Each app runs in uvicorn in a background thread (port 0, lifespan on); requests go through
httpx and WebSocket handshakes through the ``websockets`` client. Tokens come from a
`LocalIssuer` (discovery and JWKS over HTTP) and from moto's Cognito IdP.
"""

# ruff: noqa: F811 - pytest fixtures imported by name
# No `from __future__ import annotations`: FastAPI reads the routes' Annotated[...] at runtime.
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from cognito_jwt import Claims, CognitoVerifier, JwtVerifier
from cognito_jwt.adapters.asgi import ASGIApp, BearerAuthMiddleware
from cognito_jwt.adapters.fastapi import require_token
from cognito_jwt.testing import LocalIssuer
from tests.servers.moto_cognito import MotoCognito
from tests.servers.moto_fixtures import moto_cognito  # noqa: F401

_START_TIMEOUT = 15.0
ORIGIN = "https://app.example.com"
MISSING_CHALLENGE = 'Bearer realm="api"'
MISSING_BODY = {
    "error": "invalid_request",
    "error_description": "a bearer token is required",
    "code": "ERR_TOKEN_MISSING",
}
BAD_SIGNATURE_CHALLENGE = (
    'Bearer realm="api", error="invalid_token", '
    'error_description="the token\'s signature is invalid"'
)


# --- A real server -------------------------------------------------------------------------------
class Running:
    """A uvicorn server running an app in a background thread."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, port: int) -> None:
        self.server = server
        self.thread = thread
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, trust_env=False, timeout=10)


@contextmanager
def serve(app: ASGIApp) -> Iterator[Running]:
    """Run *app* under uvicorn on a free loopback port until the block ends."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:  # bounded polling: uvicorn offers no start event
        if not thread.is_alive():
            raise RuntimeError("uvicorn stopped during startup")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {_START_TIMEOUT:.0f}s")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    running = Running(server, thread, port)
    try:
        yield running
    finally:
        running.http.close()
        server.should_exit = True
        thread.join(_START_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not stop"


def ws_connect(running: Running, path: str = "/ws", **headers: str) -> Any:
    return connect(
        running.ws_url + path,
        additional_headers=headers or None,
        proxy=None,
        open_timeout=10,
    )


def challenge(response: httpx.Response) -> str:
    return response.headers["www-authenticate"]


# --- Apps ---------------------------------------------------------------------------------------
def starlette_app(events: list[str]) -> Starlette:
    """Routes reading request.state (claims and the lifespan's state), behind CORS."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"db": "ready"}
        events.append("shutdown")

    async def me(request: Request) -> Response:
        claims: Claims = request.state.claims
        return JSONResponse(
            {
                "sub": claims.sub,
                "scopes": sorted(claims.scopes),
                "db": request.state.db,
                "same": request.scope["cognito_jwt.claims"] is claims,
            }
        )

    async def maybe(request: Request) -> Response:
        claims = getattr(request.state, "claims", None)
        return JSONResponse({"sub": None if claims is None else claims.sub})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        claims: Claims = websocket.state.claims
        await websocket.send_json({"sub": claims.sub, "user": claims.get("username")})
        await websocket.close()

    return Starlette(
        routes=[
            Route("/me", me),
            Route("/maybe", maybe),
            Route("/health", health),
            Route("/healthz", health),
            Route("/public/info", health),
            WebSocketRoute("/ws", socket),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[ORIGIN],
                allow_methods=["GET"],
                allow_headers=["Authorization"],
            )
        ],
    )


def fastapi_app(verifier: Any) -> FastAPI:
    """Routes protected by require_token dependencies."""
    app = FastAPI()
    signed_in = Annotated[Claims, Depends(require_token(verifier))]
    writer = Annotated[
        Claims, Depends(require_token(verifier, scopes=["orders/write", "orders/admin"]))
    ]
    admin = Annotated[Claims, Depends(require_token(verifier, groups=["admins"]))]
    auditor = Annotated[Claims, Depends(require_token(verifier, groups=["auditors"]))]
    anyone = Annotated[Claims | None, Depends(require_token(verifier, optional=True))]

    @app.get("/orders")
    async def orders(claims: signed_in) -> dict[str, Any]:
        return {"sub": claims.sub, "scopes": sorted(claims.scopes)}

    @app.post("/orders")
    async def create(claims: writer) -> dict[str, Any]:
        return {"created_by": claims.sub}

    @app.get("/admin")
    async def admins(claims: admin) -> dict[str, Any]:
        return {"admin": claims.sub, "groups": list(claims.groups)}

    @app.get("/auditors")
    async def auditors(claims: auditor) -> dict[str, Any]:
        return {"auditor": claims.sub}

    @app.get("/maybe")
    async def maybe(claims: anyone) -> dict[str, Any]:
        return {"sub": None if claims is None else claims.sub}

    @app.get("/open")
    async def open_route() -> dict[str, str]:
        return {"open": "yes"}

    return app


class CountingVerifier:
    """Counts verify_async calls of the wrapped verifier."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    async def verify_async(self, token: str | bytes) -> Claims:
        self.calls += 1
        claims: Claims = await self.inner.verify_async(token)
        return claims


# --- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> JwtVerifier:
    return JwtVerifier(issuer=issuer.issuer, audience="api", store=None)


@pytest.fixture(scope="module")
def token(issuer: LocalIssuer) -> str:
    return issuer.mint(
        {
            "sub": "alice",
            "aud": "api",
            "scope": "orders/read orders/write",
            "username": "alice",
            "cognito:groups": ["admins"],
        }
    )


@pytest.fixture(scope="module")
def reader_token(issuer: LocalIssuer) -> str:
    return issuer.mint({"sub": "bob", "aud": "api", "scope": "orders/read"})


@pytest.fixture(scope="module")
def lifespan_events() -> list[str]:
    return []


@pytest.fixture(scope="module")
def protected(verifier: JwtVerifier, lifespan_events: list[str]) -> Iterator[Running]:
    app = BearerAuthMiddleware(
        starlette_app(lifespan_events),
        verifier,
        exclude_paths=["/health", "/public/"],
        cookie="access_token",
        header="X-Access-Token",
    )
    with serve(app) as running:
        yield running
    assert lifespan_events == ["startup", "shutdown"]


@pytest.fixture(scope="module")
def optional_server(verifier: JwtVerifier) -> Iterator[Running]:
    with serve(BearerAuthMiddleware(starlette_app([]), verifier, optional=True)) as running:
        yield running


@pytest.fixture(scope="module")
def scoped_server(verifier: JwtVerifier) -> Iterator[Running]:
    app = BearerAuthMiddleware(
        starlette_app([]), verifier, realm="orders", scopes=["orders/write"], groups=["admins"]
    )
    with serve(app) as running:
        yield running


@pytest.fixture(scope="module")
def api(verifier: JwtVerifier) -> Iterator[Running]:
    with serve(fastapi_app(verifier)) as running:
        yield running


@pytest.fixture(scope="module")
def down() -> tuple[JwtVerifier, str]:
    """A verifier of an issuer that has stopped (nothing cached), and a token it signed."""
    gone = LocalIssuer().start()
    minted = gone.mint({"sub": "alice", "aud": "api"})
    gone.stop()
    return JwtVerifier(issuer=gone.issuer, audience="api", store=None), minted


# --- Middleware: success ------------------------------------------------------------------------
def test_valid_token_puts_claims_in_request_state(protected: Running, token: str) -> None:
    response = protected.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "sub": "alice",
        "scopes": ["orders/read", "orders/write"],
        "db": "ready",  # the lifespan's state survives next to the claims
        "same": True,
    }


def test_scheme_is_case_insensitive(protected: Running, token: str) -> None:
    response = protected.http.get("/me", headers={"authorization": f"bEaReR {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_token_from_cookie(protected: Running, token: str) -> None:
    response = protected.http.get("/me", headers={"Cookie": f"theme=dark; access_token={token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


@pytest.mark.parametrize("value", ["{token}", "Bearer {token}"])
def test_token_from_named_header(protected: Running, token: str, value: str) -> None:
    response = protected.http.get("/me", headers={"X-Access-Token": value.format(token=token)})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_authorization_header_wins_over_cookie(protected: Running, token: str) -> None:
    response = protected.http.get(
        "/me", headers={"Authorization": "Bearer abc", "Cookie": f"access_token={token}"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "ERR_MALFORMED_TOKEN"


def test_lifespan_passes_through(protected: Running, lifespan_events: list[str]) -> None:
    assert lifespan_events == ["startup"]


# --- Middleware: 401 ----------------------------------------------------------------------------
def test_missing_token_is_401_without_error_code(protected: Running) -> None:
    response = protected.http.get("/me")
    assert response.status_code == 401
    assert challenge(response) == MISSING_CHALLENGE
    assert response.headers["content-type"] == "application/json"
    assert response.json() == MISSING_BODY


def test_another_scheme_is_no_token(protected: Running, token: str) -> None:
    response = protected.http.get("/me", headers={"Authorization": "Basic YWxpY2U6c2VjcmV0"})
    assert response.status_code == 401
    assert challenge(response) == MISSING_CHALLENGE
    assert response.json() == MISSING_BODY


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer")],
        [("Authorization", "Bearer one two")],
        [("Authorization", "Bearer {token}"), ("Authorization", "Bearer {token}")],
    ],
    ids=["no-token", "two-words", "two-headers"],
)
def test_malformed_bearer_is_invalid_token(
    protected: Running, optional_server: Running, token: str, headers: list[tuple[str, str]]
) -> None:
    """The same policy as the WSGI middleware: a bearer credential that isn't exactly one
    token is a bad token (401 invalid_token), never "no token", even in optional mode."""
    sent = [(name, value.format(token=token)) for name, value in headers]
    for running in (protected, optional_server):
        response = running.http.get("/me", headers=sent)
        assert response.status_code == 401
        assert challenge(response) == (
            'Bearer realm="api", error="invalid_token", error_description="the token is malformed"'
        )
        assert response.json()["code"] == "ERR_MALFORMED_TOKEN"
        assert token not in response.text


def _bad_tokens(issuer: LocalIssuer, token: str) -> dict[str, str]:
    header, _payload, signature = token.split(".")
    forged = issuer.mint({"sub": "mallory", "aud": "api"}).split(".")[1]
    return {
        "malformed": "abc",
        "expired": issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-3600),
        "tampered": f"{header}.{forged}.{signature}",
        "wrong_audience": issuer.mint({"sub": "alice", "aud": "other"}),
    }


EXPECTED_401 = {
    "malformed": (
        "ERR_MALFORMED_TOKEN",
        re.escape(
            'Bearer realm="api", error="invalid_token", error_description="the token is malformed"'
        ),
    ),
    "expired": (
        "ERR_TOKEN_EXPIRED",
        re.escape(
            'Bearer realm="api", error="invalid_token", error_description="the token is expired"'
        ),
    ),
    "tampered": ("ERR_INVALID_SIGNATURE", re.escape(BAD_SIGNATURE_CHALLENGE)),
    "wrong_audience": (
        "ERR_AUDIENCE_MISMATCH",
        re.escape(
            'Bearer realm="api", error="invalid_token", '
            'error_description="the token was not issued for this API"'
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(EXPECTED_401))
def test_invalid_token_is_401_invalid_token(
    protected: Running, issuer: LocalIssuer, token: str, case: str
) -> None:
    bad = _bad_tokens(issuer, token)[case]
    code, pattern = EXPECTED_401[case]
    response = protected.http.get("/me", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert re.fullmatch(pattern, challenge(response)), challenge(response)
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["code"] == code
    assert set(body) == {"error", "error_description", "code"}
    # The token is never echoed, in the body or any header.
    assert bad not in response.text
    assert all(bad not in value for value in response.headers.values())


# --- Middleware: paths, CORS, 403, 503, optional ------------------------------------------------
def test_excluded_paths_need_no_token(protected: Running) -> None:
    assert protected.http.get("/health").text == "ok"
    assert protected.http.get("/public/info").status_code == 200
    # An exact entry is not a prefix.
    assert protected.http.get("/healthz").status_code == 401


def test_cors_preflight_passes(protected: Running) -> None:
    response = protected.http.options(
        "/me",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "www-authenticate" not in response.headers
    # A plain OPTIONS request is no preflight: it needs a token like any other.
    assert protected.http.options("/me", headers={"Origin": ORIGIN}).status_code == 401


def test_middleware_scopes_are_403_insufficient_scope(
    scoped_server: Running, reader_token: str
) -> None:
    response = scoped_server.http.get("/me", headers={"Authorization": f"Bearer {reader_token}"})
    assert response.status_code == 403
    assert challenge(response) == (
        'Bearer realm="orders", error="insufficient_scope", '
        'error_description="the token does not grant a required scope", scope="orders/write"'
    )
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "the token does not grant a required scope",
        "code": "ERR_SCOPE_MISSING",
    }


def test_middleware_groups_are_403(scoped_server: Running, issuer: LocalIssuer) -> None:
    writer = issuer.mint({"sub": "carol", "aud": "api", "scope": "orders/write"})
    response = scoped_server.http.get("/me", headers={"Authorization": f"Bearer {writer}"})
    assert response.status_code == 403
    assert response.json()["code"] == "ERR_GROUP_MISSING"
    assert challenge(response) == (
        'Bearer realm="orders", error="insufficient_scope", '
        'error_description="the user is not in a required group"'
    )  # the group's name is not told; scope= names scopes, for a missing scope only


def test_middleware_requirements_met(scoped_server: Running, token: str) -> None:
    response = scoped_server.http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


def test_issuer_down_is_503_with_retry_after(down: tuple[JwtVerifier, str]) -> None:
    verifier, minted = down
    with serve(BearerAuthMiddleware(starlette_app([]), verifier)) as running:
        response = running.http.get("/me", headers={"Authorization": f"Bearer {minted}"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"  # RefreshPolicy().backoff_initial
        assert "www-authenticate" not in response.headers
        body = response.json()
        assert body["error"] == "temporarily_unavailable"
        assert body["code"] == "ERR_JWKS_UNAVAILABLE"
        assert minted not in response.text
        # A WebSocket handshake is refused too (closed with 1011 before accept: HTTP 403).
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(running, Authorization=f"Bearer {minted}")
        assert refused.value.response.status_code == 403


def test_optional_mode(optional_server: Running, token: str) -> None:
    anonymous = optional_server.http.get("/maybe")
    assert anonymous.status_code == 200
    assert anonymous.json() == {"sub": None}
    signed_in = optional_server.http.get("/maybe", headers={"Authorization": f"Bearer {token}"})
    assert signed_in.json() == {"sub": "alice"}
    bad = optional_server.http.get("/maybe", headers={"Authorization": "Bearer abc"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "ERR_MALFORMED_TOKEN"


# --- Middleware: WebSocket ----------------------------------------------------------------------
def test_websocket_with_authorization_header(protected: Running, token: str) -> None:
    with ws_connect(protected, Authorization=f"Bearer {token}") as socket:
        assert json.loads(socket.recv(timeout=10)) == {"sub": "alice", "user": "alice"}


def test_websocket_with_cookie(protected: Running, token: str) -> None:
    with ws_connect(protected, Cookie=f"access_token={token}") as socket:
        assert json.loads(socket.recv(timeout=10))["sub"] == "alice"


@pytest.mark.parametrize("authorization", [None, "Bearer abc", "Bearer {tampered}"])
def test_websocket_refused_with_403(
    protected: Running, issuer: LocalIssuer, token: str, authorization: str | None
) -> None:
    headers = {}
    if authorization is not None:
        tampered = _bad_tokens(issuer, token)["tampered"]
        headers["Authorization"] = authorization.format(tampered=tampered)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(protected, **headers)
    assert refused.value.response.status_code == 403


# --- FastAPI dependency -------------------------------------------------------------------------
def test_fastapi_valid_token(api: Running, token: str) -> None:
    response = api.http.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "scopes": ["orders/read", "orders/write"]}


def test_fastapi_missing_token(api: Running) -> None:
    response = api.http.get("/orders")
    assert response.status_code == 401
    assert challenge(response) == MISSING_CHALLENGE
    assert response.json() == {"detail": MISSING_BODY}


def test_fastapi_two_words_is_a_malformed_token(api: Running, token: str) -> None:
    # HTTPBearer alone would accept "Bearer a b"; the shared RFC 6750 parsing refuses it.
    response = api.http.get("/orders", headers={"Authorization": f"Bearer {token} extra"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)
    assert response.json()["detail"]["code"] == "ERR_MALFORMED_TOKEN"


@pytest.mark.parametrize("case", sorted(EXPECTED_401))
def test_fastapi_invalid_token(api: Running, issuer: LocalIssuer, token: str, case: str) -> None:
    bad = _bad_tokens(issuer, token)[case]
    code, pattern = EXPECTED_401[case]
    response = api.http.get("/orders", headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert re.fullmatch(pattern, challenge(response)), challenge(response)
    assert response.json()["detail"]["code"] == code
    assert response.json()["detail"]["error"] == "invalid_token"
    assert bad not in response.text


def test_fastapi_scopes(api: Running, token: str, reader_token: str) -> None:
    allowed = api.http.post("/orders", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200
    assert allowed.json() == {"created_by": "alice"}
    refused = api.http.post("/orders", headers={"Authorization": f"Bearer {reader_token}"})
    assert refused.status_code == 403
    assert challenge(refused) == (
        'Bearer realm="api", error="insufficient_scope", error_description="the token does not '
        'grant a required scope", scope="orders/admin orders/write"'
    )
    assert refused.json() == {
        "detail": {
            "error": "insufficient_scope",
            "error_description": "the token does not grant a required scope",
            "code": "ERR_SCOPE_MISSING",
        }
    }


def test_fastapi_groups(api: Running, token: str, reader_token: str) -> None:
    allowed = api.http.get("/admin", headers={"Authorization": f"Bearer {token}"})
    assert allowed.json() == {"admin": "alice", "groups": ["admins"]}
    refused = api.http.get("/admin", headers={"Authorization": f"Bearer {reader_token}"})
    assert refused.status_code == 403
    assert challenge(refused) == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the user is not in a required group"'
    )
    assert refused.json()["detail"]["code"] == "ERR_GROUP_MISSING"


def test_fastapi_optional(api: Running, token: str) -> None:
    assert api.http.get("/maybe").json() == {"sub": None}
    signed_in = api.http.get("/maybe", headers={"Authorization": f"Bearer {token}"})
    assert signed_in.json() == {"sub": "alice"}
    bad = api.http.get("/maybe", headers={"Authorization": "Bearer abc"})
    assert bad.status_code == 401
    assert bad.json()["detail"]["code"] == "ERR_MALFORMED_TOKEN"


def test_fastapi_issuer_down_is_503(down: tuple[JwtVerifier, str]) -> None:
    verifier, minted = down
    with serve(fastapi_app(verifier)) as running:
        response = running.http.get("/orders", headers={"Authorization": f"Bearer {minted}"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"  # RefreshPolicy().backoff_initial
    assert response.json()["detail"]["code"] == "ERR_JWKS_UNAVAILABLE"


def test_openapi_declares_http_bearer(api: Running) -> None:
    document = api.http.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert list(schemes) == ["HTTPBearer"]
    assert schemes["HTTPBearer"]["type"] == "http"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["HTTPBearer"]["bearerFormat"] == "JWT"
    paths = document["paths"]
    assert paths["/orders"]["get"]["security"] == [{"HTTPBearer": []}]
    assert paths["/orders"]["post"]["security"] == [{"HTTPBearer": []}]
    assert paths["/admin"]["get"]["security"] == [{"HTTPBearer": []}]
    assert "security" not in paths["/open"]["get"]
    # The docs page (with its lock icons) is served.
    docs = api.http.get("/docs")
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


# --- moto: real Cognito-shaped tokens -----------------------------------------------------------
def _moto_verifier(moto: MotoCognito) -> CognitoVerifier:
    return CognitoVerifier(
        user_pool_id=moto.user_pool_id,
        client_id=moto.client_id,
        token_use="access",
        jwks_uri=moto.jwks_uri,
        store=None,
    )


@pytest.fixture(scope="module")
def moto_api(moto_cognito: MotoCognito) -> Iterator[Running]:
    with serve(fastapi_app(_moto_verifier(moto_cognito))) as running:
        yield running


@pytest.fixture(scope="module")
def counting(moto_cognito: MotoCognito) -> CountingVerifier:
    return CountingVerifier(_moto_verifier(moto_cognito))


@pytest.fixture(scope="module")
def moto_stack(counting: CountingVerifier) -> Iterator[Running]:
    """A FastAPI app (with a WebSocket route) behind the middleware, sharing one verifier."""
    app = fastapi_app(counting)

    @app.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        claims: Claims = websocket.state.claims
        await websocket.send_json({"sub": claims.sub, "user": claims.username})
        await websocket.close()

    with serve(BearerAuthMiddleware(app, counting, exclude_paths=["/openapi.json"])) as running:
        yield running


def test_moto_fastapi(moto_api: Running, moto_cognito: MotoCognito) -> None:
    access = moto_cognito.tokens()["AccessToken"]
    response = moto_api.http.get("/orders", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200
    assert response.json() == {
        "sub": moto_cognito.user_sub,
        "scopes": ["aws.cognito.signin.user.admin"],
    }
    admins = moto_api.http.get("/admin", headers={"Authorization": f"Bearer {access}"})
    assert admins.json() == {"admin": moto_cognito.user_sub, "groups": ["admins"]}
    auditors = moto_api.http.get("/auditors", headers={"Authorization": f"Bearer {access}"})
    assert auditors.status_code == 403
    assert auditors.json()["detail"]["code"] == "ERR_GROUP_MISSING"


def test_moto_id_token_is_refused(moto_api: Running, moto_cognito: MotoCognito) -> None:
    id_token = moto_cognito.tokens()["IdToken"]
    response = moto_api.http.get("/orders", headers={"Authorization": f"Bearer {id_token}"})
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "ERR_TOKEN_USE_MISMATCH"
    assert id_token not in response.text


def test_moto_dependency_reuses_middleware_claims(
    moto_stack: Running, moto_cognito: MotoCognito, counting: CountingVerifier
) -> None:
    access = moto_cognito.tokens()["AccessToken"]
    before = counting.calls
    response = moto_stack.http.get("/orders", headers={"Authorization": f"Bearer {access}"})
    assert response.status_code == 200
    assert response.json()["sub"] == moto_cognito.user_sub
    assert counting.calls == before + 1  # verified once, by the middleware
    refused = moto_stack.http.get("/orders")
    assert refused.status_code == 401
    assert refused.json() == MISSING_BODY  # the middleware's answer, not FastAPI's


def test_moto_websocket(moto_stack: Running, moto_cognito: MotoCognito) -> None:
    access = moto_cognito.tokens()["AccessToken"]
    with ws_connect(moto_stack, Authorization=f"Bearer {access}") as socket:
        assert json.loads(socket.recv(timeout=10)) == {
            "sub": moto_cognito.user_sub,
            "user": moto_cognito.username,
        }
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(moto_stack, Authorization=f"Bearer {moto_cognito.tokens()['IdToken']}")
    assert refused.value.response.status_code == 403


def test_core_and_middleware_import_no_framework() -> None:
    code = (
        "import sys, cognito_jwt, cognito_jwt.adapters.asgi; "
        "print(sorted(m for m in ('fastapi', 'starlette') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
