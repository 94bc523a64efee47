"""The Django adapter and the DRF classes, under real servers and DRF's test client.

Django's ASGI application runs under uvicorn and its WSGI application under waitress, each on
127.0.0.1 in a background thread; tokens come from a `LocalIssuer` whose key set the verifier
fetches over loopback HTTP with no store, so every test starts with a cold cache. The views
are tests/adapters/django_views.py; each test sets ``COGNITO_JWT`` with ``override_settings``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.django_setup import setup

setup()

import uvicorn  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import override_settings  # noqa: E402
from drf_spectacular.generators import SchemaGenerator  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from waitress.server import create_server  # noqa: E402

from cognito_jwt import Claims, ConfigurationError, JwtVerifier  # noqa: E402
from cognito_jwt.adapters import django as adapter  # noqa: E402
from cognito_jwt.adapters.django import TokenUser, require_token  # noqa: E402
from cognito_jwt.testing import LocalIssuer  # noqa: E402

MIDDLEWARE = ["cognito_jwt.adapters.django.BearerAuthMiddleware"]
MISSING = 'Bearer realm="api"'
MISSING_BODY = {
    "error": "invalid_request",
    "error_description": "a bearer token is required",
    "code": "ERR_TOKEN_MISSING",
}
_START_TIMEOUT = 15.0


def invalid(description: str) -> str:
    return f'Bearer realm="api", error="invalid_token", error_description="{description}"'


INSUFFICIENT = (
    'Bearer realm="api", error="insufficient_scope", '
    'error_description="the token does not grant a required scope"'
)
NOT_IN_GROUP = (
    'Bearer realm="api", error="insufficient_scope", '
    'error_description="the user is not in a required group"'
)


# --- Servers -------------------------------------------------------------------------------------
@contextmanager
def uvicorn_server() -> Iterator[httpx.Client]:
    """Django's ASGI application under uvicorn on a free loopback port."""
    config = uvicorn.Config(
        get_asgi_application(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-django", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:  # bounded polling: uvicorn offers no start event
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30)
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(_START_TIMEOUT)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def waitress_server() -> Iterator[httpx.Client]:
    """Django's WSGI application under waitress on a free loopback port."""
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="waitress-django", daemon=True)
    thread.start()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{server.effective_port}", trust_env=False, timeout=30
    )
    try:
        yield client
    finally:
        client.close()

        def close_all() -> None:  # runs in the server's loop: closing every channel ends it
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(close_all)
        thread.join(_START_TIMEOUT)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "waitress did not stop"


SERVERS = {"asgi-uvicorn": uvicorn_server, "wsgi-waitress": waitress_server}


# --- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


def oidc(issuer: LocalIssuer, **options: Any) -> dict[str, Any]:
    """A COGNITO_JWT setting verifying *issuer*'s tokens for audience ``api``, cold cache."""
    return {"OIDC": {"issuer": issuer.issuer, "audience": "api", "store": None}, **options}


Serve = Callable[..., httpx.Client]


@pytest.fixture(params=sorted(SERVERS))
def serve(request: pytest.FixtureRequest, issuer: LocalIssuer) -> Iterator[Serve]:
    """Start the project under the parametrized server with the given settings."""
    with_server = SERVERS[request.param]
    stack: list[Any] = []

    def start(
        config: dict[str, Any] | None = None, middleware: list[str] | None = None
    ) -> httpx.Client:
        overrides = override_settings(
            COGNITO_JWT=config if config is not None else oidc(issuer),
            MIDDLEWARE=MIDDLEWARE if middleware is None else middleware,
        )
        overrides.enable()
        stack.append(overrides)
        running = with_server()
        stack.append(running)
        return running.__enter__()

    yield start
    for item in reversed(stack):
        if isinstance(item, override_settings):
            item.disable()
        else:
            item.__exit__(None, None, None)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(
    response: httpx.Response, status: int, challenge: str | None, code: str, token: str | None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("www-authenticate") == challenge
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description", "code"}
    assert body["code"] == code
    if token:
        assert token not in response.text
        assert token not in json.dumps(dict(response.headers))
    return body


# --- Under real servers (uvicorn/ASGI and waitress/WSGI) -----------------------------------------
def test_valid_token_reaches_sync_async_and_drf_views(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve()
    fetched = issuer.requests["/.well-known/jwks.json"]
    token = issuer.mint(
        {"sub": "alice", "aud": "api", "scope": "orders/read", "cognito:groups": ["admins"]}
    )
    assert client.get("/me", headers=auth(token)).json() == {"sub": "alice", "has_claims": True}
    assert client.get("/me/async", headers=auth(token)).json() == {"sub": "alice", "view": "async"}
    assert client.get("/orders", headers=auth(token)).json() == {
        "sub": "alice",
        "scopes": ["orders/read"],
    }
    assert client.get("/orders/async", headers=auth(token)).json()["view"] == "async"
    response = client.get("/admin", headers=auth(token))
    assert response.json() == {"sub": "alice", "groups": ["admins"], "view": "async"}
    assert client.get("/api/orders", headers=auth(token)).json() == {
        "user": "alice",
        "user_type": "TokenUser",
        "sub": "alice",
        "authenticator": "CognitoJwtAuthentication",
    }
    assert client.get("/api/admin", headers=auth(token)).json() == {"admin": "alice"}
    # Once fetched, the key set serves every request after: one fetch in all.
    assert issuer.requests["/.well-known/jwks.json"] == fetched + 1


def test_no_token(serve: Serve) -> None:
    client = serve()
    # The middleware lets anonymous requests through (OPTIONAL defaults to True) ...
    assert client.get("/me").json() == {"sub": None, "has_claims": True}
    assert client.get("/me/async").json() == {"sub": None, "view": "async"}
    # ... and the decorator and the DRF permission answer them 401.
    for path in ("/orders", "/orders/async", "/admin", "/api/orders"):
        body = assert_refused(client.get(path), 401, MISSING, "ERR_TOKEN_MISSING", None)
        assert body == MISSING_BODY
    # Another scheme is no bearer token.
    response = client.get("/orders", headers={"Authorization": "Basic YTpi"})
    assert_refused(response, 401, MISSING, "ERR_TOKEN_MISSING", None)


def test_required_everywhere(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve(oidc(issuer, OPTIONAL=False, EXCLUDE_PATHS=["/health"]))
    assert_refused(client.get("/me"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    assert_refused(client.get("/me/async"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    assert client.get("/health").json() == {"ok": True, "sub": None}
    # A CORS preflight passes: browsers never send credentials on it.
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    assert client.options("/health/x", headers=preflight).status_code == 404


@pytest.mark.parametrize(
    "header",
    ["Bearer {t} {t}", "Bearer", "Bearer not-a-jwt"],
    ids=["two-tokens", "scheme-only", "not-a-jwt"],
)
def test_malformed_token_is_401(serve: Serve, issuer: LocalIssuer, header: str) -> None:
    client = serve()
    token = issuer.mint({"sub": "alice", "aud": "api"})
    for path in ("/me", "/me/async", "/api/open"):
        response = client.get(path, headers={"Authorization": header.format(t=token)})
        challenge = invalid("the token is malformed")
        assert_refused(response, 401, challenge, "ERR_MALFORMED_TOKEN", token)


def test_expired_token_is_401(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve()
    expired = issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-120)
    for path in ("/me", "/orders/async", "/api/orders"):
        response = client.get(path, headers=auth(expired))
        assert_refused(response, 401, invalid("the token is expired"), "ERR_TOKEN_EXPIRED", expired)


def test_wrong_audience_is_401(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve()
    token = issuer.mint({"sub": "alice", "aud": "another-api"})
    for path in ("/me", "/me/async"):
        body = assert_refused(
            client.get(path, headers=auth(token)),
            401,
            invalid("the token was not issued for this API"),
            "ERR_AUDIENCE_MISMATCH",
            token,
        )
        assert "another-api" not in json.dumps(body)  # the reason is logged, never sent


def test_missing_scope_is_403(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve()
    token = issuer.mint({"sub": "bob", "aud": "api", "scope": "orders/list"})
    challenge = INSUFFICIENT + ', scope="orders/admin orders/write"'
    response = client.post("/orders/create", headers=auth(token))
    assert_refused(response, 403, challenge, "ERR_SCOPE_MISSING", token)
    response = client.get("/orders/async", headers=auth(token))
    assert_refused(
        response, 403, INSUFFICIENT + ', scope="orders/read"', "ERR_SCOPE_MISSING", token
    )
    response = client.get("/api/orders", headers=auth(token))
    assert_refused(
        response, 403, INSUFFICIENT + ', scope="orders/read"', "ERR_SCOPE_MISSING", token
    )
    writer = issuer.mint({"sub": "bob", "aud": "api", "scope": "orders/admin"})
    response = client.post("/orders/create", headers=auth(writer))
    assert response.status_code == 201
    assert response.json() == {"sub": "bob", "created": True}


def test_missing_group_is_403(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve()
    token = issuer.mint(
        {"sub": "carol", "aud": "api", "scope": "orders/read", "cognito:groups": ["staff"]}
    )
    for path in ("/admin", "/api/admin"):
        response = client.get(path, headers=auth(token))
        assert_refused(response, 403, NOT_IN_GROUP, "ERR_GROUP_MISSING", token)


def test_middleware_wide_requirements(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve(oidc(issuer, SCOPES=["orders/read"]))
    token = issuer.mint({"sub": "dan", "aud": "api", "scope": "profile"})
    response = client.get("/me/async", headers=auth(token))
    assert_refused(
        response, 403, INSUFFICIENT + ', scope="orders/read"', "ERR_SCOPE_MISSING", token
    )
    assert client.get("/me").json() == {"sub": None, "has_claims": True}  # no token, optional


def test_key_set_unavailable_is_503(serve: Serve) -> None:
    down = LocalIssuer().start()
    token = down.mint({"sub": "alice", "aud": "api"})
    config = {"OIDC": {"issuer": down.issuer, "audience": "api", "store": None}}
    down.stop()  # before the first request: nothing cached anywhere
    client = serve(config)
    for path in ("/me", "/me/async", "/api/open"):
        response = client.get(path, headers=auth(token))
        body = assert_refused(response, 503, None, "ERR_JWKS_UNAVAILABLE", token)
        assert response.headers["retry-after"] == "5"  # RefreshPolicy().backoff_initial
        assert body["error"] == "temporarily_unavailable"
    assert down.requests == {}


def test_decorator_without_middleware_verifies_itself(serve: Serve, issuer: LocalIssuer) -> None:
    client = serve(middleware=[])
    token = issuer.mint({"sub": "erin", "aud": "api", "scope": "orders/read"})
    assert client.get("/orders", headers=auth(token)).json()["sub"] == "erin"
    assert client.get("/orders/async", headers=auth(token)).json()["sub"] == "erin"
    assert_refused(client.get("/orders/async"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    expired = issuer.mint({"sub": "erin", "aud": "api"}, lifetime=-120)
    response = client.get("/orders", headers=auth(expired))
    assert_refused(response, 401, invalid("the token is expired"), "ERR_TOKEN_EXPIRED", expired)
    # DRF's authentication class verifies the token itself too.
    assert client.get("/api/orders", headers=auth(token)).json()["sub"] == "erin"
    response = client.get("/api/orders", headers=auth(expired))
    assert_refused(response, 401, invalid("the token is expired"), "ERR_TOKEN_EXPIRED", expired)


class Counting:
    """A verifier that records which face verified each token."""

    def __init__(self, issuer: LocalIssuer) -> None:
        self.real = JwtVerifier(issuer=issuer.issuer, audience="api", store=None)
        self.calls: list[str] = []

    def verify(self, token: str) -> Claims:
        self.calls.append("verify")
        return self.real.verify(token)

    async def verify_async(self, token: str) -> Claims:
        self.calls.append("verify_async")
        return await self.real.verify_async(token)


def test_async_stack_verifies_with_verify_async(
    serve: Serve, issuer: LocalIssuer, request: pytest.FixtureRequest
) -> None:
    counting = Counting(issuer)
    client = serve({"VERIFIER": counting})
    token = issuer.mint({"sub": "kim", "aud": "api", "scope": "orders/read"})
    for path in ("/me", "/me/async", "/orders", "/orders/async", "/api/orders"):
        assert client.get(path, headers=auth(token)).json()["sub"] == "kim"
    # The middleware verifies once per request; the decorator and DRF reuse its claims.
    face = "verify_async" if "asgi" in request.node.callspec.id else "verify"
    assert counting.calls == [face] * 5


def test_no_token_in_logs(
    serve: Serve, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = serve()
    tokens = [
        issuer.mint({"sub": "alice", "aud": "api", "scope": "orders/read"}),
        issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-120),
        issuer.mint({"sub": "alice", "aud": "elsewhere"}),
        issuer.mint({"sub": "alice", "aud": "api", "scope": "none"}),
    ]
    for token in tokens:
        for path in ("/me", "/orders/async", "/api/orders", "/admin"):
            client.get(path, headers=auth(token))
    assert "refused with 401 (ERR_TOKEN_EXPIRED)" in caplog.text  # reasons are logged ...
    assert "refused with 403 (ERR_SCOPE_MISSING)" in caplog.text
    assert "elsewhere" in caplog.text  # ... with the detail the response leaves out
    for token in tokens:
        assert token not in caplog.text
        assert token.split(".")[2] not in caplog.text  # not even the signature


@pytest.mark.parametrize("middleware", [MIDDLEWARE, []], ids=["middleware", "no-middleware"])
@pytest.mark.parametrize(
    ("path", "claims", "code"),
    [
        ("/orders", None, "ERR_TOKEN_MISSING"),
        ("/orders/create", {"scope": "orders/read"}, "ERR_SCOPE_MISSING"),
        ("/api/orders", None, "ERR_TOKEN_MISSING"),
        ("/api/orders", {"scope": "x"}, "ERR_SCOPE_MISSING"),
        ("/api/admin", {"scope": "orders/read"}, "ERR_GROUP_MISSING"),
        ("/api/orders", {"exp": 1}, "ERR_TOKEN_EXPIRED"),
    ],
)
def test_each_refusal_is_logged_once(
    issuer: LocalIssuer,
    caplog: pytest.LogCaptureFixture,
    middleware: list[str],
    path: str,
    claims: dict[str, Any] | None,
    code: str,
) -> None:
    caplog.set_level(logging.INFO, logger="cognito_jwt")
    client = APIClient()
    if claims is not None:
        token = issuer.mint({"sub": "nia", "aud": "api", **claims})
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    with override_settings(COGNITO_JWT=oidc(issuer), MIDDLEWARE=middleware):
        response = client.post(path) if path == "/orders/create" else client.get(path)
    assert response.json()["code"] == code
    messages = [r.getMessage() for r in caplog.records if r.name == "cognito_jwt"]
    refusals = [m for m in messages if m.startswith("refused with")]
    assert len(refusals) == 1, refusals
    assert refusals[0].startswith(f"refused with {response.status_code} ({code})")


# --- DRF's test client ---------------------------------------------------------------------------
@pytest.fixture
def drf(issuer: LocalIssuer) -> Iterator[APIClient]:
    """DRF's APIClient, the project without the middleware: DRF authenticates by itself."""
    with override_settings(COGNITO_JWT=oidc(issuer), MIDDLEWARE=[]):
        yield APIClient()


def test_drf_authentication_and_permissions(drf: APIClient, issuer: LocalIssuer) -> None:
    token = issuer.mint(
        {"sub": "frank", "aud": "api", "scope": "orders/read", "username": "frank-user"}
    )
    drf.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = drf.get("/api/orders")
    assert response.status_code == 200
    assert response.json() == {
        "user": "frank-user",
        "user_type": "TokenUser",
        "sub": "frank",
        "authenticator": "CognitoJwtAuthentication",
    }
    response = drf.get("/api/admin")  # in no group
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == NOT_IN_GROUP
    assert response.json()["code"] == "ERR_GROUP_MISSING"
    drf.credentials()
    response = drf.get("/api/orders")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == MISSING  # from authenticate_header, DRF's way
    assert response.json() == MISSING_BODY
    assert drf.get("/api/open").json() == {"user": None}
    drf.credentials(HTTP_AUTHORIZATION="Bearer a.b.c")
    response = drf.get("/api/open")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == invalid("the token is malformed")
    assert response.json()["code"] == "ERR_MALFORMED_TOKEN"


def test_drf_user_signed_in_without_token_lacks_the_scope(
    drf: APIClient, issuer: LocalIssuer
) -> None:
    response = drf.get("/api/session")  # signed in by the other class: no token, no scope
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == INSUFFICIENT + ', scope="orders/read"'
    assert response.json()["code"] == "ERR_SCOPE_MISSING"
    token = issuer.mint({"sub": "pat", "aud": "api", "scope": "orders/read"})
    drf.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert drf.get("/api/session").json() == {"user": "pat"}


class Account:
    def __init__(self, sub: str | None) -> None:
        self.sub = sub
        self.is_authenticated = True

    def __str__(self) -> str:
        return f"account:{self.sub}"


def account_for(claims: Claims) -> Account:
    return Account(claims.sub)


def test_drf_user_hook(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "gina", "aud": "api", "scope": "orders/read"})
    for hook in (account_for, f"{__name__}.account_for"):
        with override_settings(COGNITO_JWT=oidc(issuer, USER=hook), MIDDLEWARE=[]):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            body = client.get("/api/orders").json()
            assert (body["user"], body["user_type"]) == ("account:gina", "Account")


def test_drf_reuses_the_middleware_claims(issuer: LocalIssuer) -> None:
    counting = Counting(issuer)
    token = issuer.mint({"sub": "hal", "aud": "api", "scope": "orders/read"})
    with override_settings(COGNITO_JWT={"VERIFIER": counting}, MIDDLEWARE=MIDDLEWARE):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get("/api/orders").json()["sub"] == "hal"
    assert counting.calls == ["verify"]


def test_drf_key_set_unavailable_is_503() -> None:
    down = LocalIssuer().start()
    token = down.mint({"sub": "alice", "aud": "api"})
    down.stop()
    config = {"OIDC": {"issuer": down.issuer, "audience": "api", "store": None}}
    with override_settings(COGNITO_JWT=config, MIDDLEWARE=[]):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        response = client.get("/api/orders")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "WWW-Authenticate" not in response
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": "token keys are unavailable; try again later",
        "code": "ERR_JWKS_UNAVAILABLE",
    }


def test_spectacular_schema_shows_bearer(issuer: LocalIssuer) -> None:
    with override_settings(COGNITO_JWT=oidc(issuer)):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    assert schema["components"]["securitySchemes"]["cognitoJwt"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT access token: `Authorization: Bearer <token>`.",
    }
    operation = schema["paths"]["/api/orders"]["get"]
    assert {"cognitoJwt": []} in operation["security"]


def test_spectacular_schema_served_by_the_app(issuer: LocalIssuer) -> None:
    with override_settings(COGNITO_JWT=oidc(issuer), MIDDLEWARE=MIDDLEWARE):
        response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["components"]["securitySchemes"]["cognitoJwt"]["scheme"] == "bearer"


# --- Token sources and excluded paths (Django's RequestFactory) ----------------------------------
def test_cookie_and_header_sources(issuer: LocalIssuer) -> None:
    from django.test import RequestFactory

    from tests.adapters.django_views import me

    token = issuer.mint({"sub": "lee", "aud": "api"})
    factory = RequestFactory()
    with override_settings(COGNITO_JWT=oidc(issuer, COOKIE="access", HEADER="X-Access-Token")):
        app = adapter.BearerAuthMiddleware(me)
        request = factory.get("/me")
        request.COOKIES["access"] = token
        request.META["HTTP_COOKIE"] = f"access={token}"
        assert json.loads(app(request).content)["sub"] == "lee"
        response = app(factory.get("/me", headers={"X-Access-Token": token}))
        assert json.loads(response.content)["sub"] == "lee"
        response = app(factory.get("/me", headers={"X-Access-Token": f"{token} {token}"}))
        assert response.status_code == 401
        assert json.loads(response.content)["code"] == "ERR_MALFORMED_TOKEN"


def test_decorated_view_on_an_excluded_path_still_needs_a_token(issuer: LocalIssuer) -> None:
    from django.test import RequestFactory

    from tests.adapters.django_views import me, orders

    token = issuer.mint({"sub": "max", "aud": "api"})
    factory = RequestFactory()
    with override_settings(COGNITO_JWT=oidc(issuer, EXCLUDE_PATHS=["/orders"])):
        app = adapter.BearerAuthMiddleware(orders)
        response = app(factory.get("/orders"))
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == MISSING
        response = app(factory.get("/orders", headers=auth(token)))
        assert json.loads(response.content)["sub"] == "max"
        # The middleware does not look at an excluded path's token; dot segments never are.
        expired = issuer.mint({"sub": "max", "aud": "api"}, lifetime=-120)
    with override_settings(COGNITO_JWT=oidc(issuer, EXCLUDE_PATHS=["/public/"])):
        app = adapter.BearerAuthMiddleware(me)
        response = app(factory.get("/public/me", headers=auth(expired)))
        assert json.loads(response.content) == {"sub": None, "has_claims": True}
        response = app(factory.get("/public/../me", headers=auth(expired)))
        assert response.status_code == 401
        assert json.loads(response.content)["code"] == "ERR_TOKEN_EXPIRED"


def test_preflight_passes_the_middleware_not_a_decorated_view(issuer: LocalIssuer) -> None:
    from django.test import RequestFactory

    from tests.adapters.django_views import me, orders

    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    with override_settings(COGNITO_JWT=oidc(issuer, OPTIONAL=False)):
        response = adapter.BearerAuthMiddleware(me)(
            RequestFactory().options("/me", headers=preflight)
        )
        assert json.loads(response.content) == {"sub": None, "has_claims": True}
        response = adapter.BearerAuthMiddleware(orders)(
            RequestFactory().options("/orders", headers=preflight)
        )
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == MISSING


# --- Configuration -------------------------------------------------------------------------------
VERIFIER_FOR_TESTS = JwtVerifier(issuer="https://issuer.example", audience="api", store=None)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "exactly one of 'VERIFIER', 'COGNITO' or 'OIDC'"),
        ({"OIDC": {}, "COGNITO": {}}, "exactly one of"),
        ({"VERIFIER": VERIFIER_FOR_TESTS, "EXCLUDED_PATHS": ["/x"]}, "unknown keys"),
        ({"VERIFIER": "tests.adapters.nowhere.verifier"}, "cannot import"),
        ({"VERIFIER": object()}, "must be a verifier"),
        ({"OIDC": {"issuer": "https://i.example", "audience": "a", "nope": 1}}, "'OIDC'"),
        ({"OIDC": "https://i.example"}, "dict of keyword arguments"),
        ({"VERIFIER": VERIFIER_FOR_TESTS, "OPTIONAL": "no"}, "OPTIONAL"),
        ({"VERIFIER": VERIFIER_FOR_TESTS, "USER": 3}, "USER"),
        ({"VERIFIER": VERIFIER_FOR_TESTS, "SCOPES": [""]}, "COGNITO_JWT: scopes"),
        ([("OIDC", {})], "must be a dict"),
    ],
)
def test_bad_configuration_is_refused(config: Any, message: str) -> None:
    with override_settings(COGNITO_JWT=config), pytest.raises(ConfigurationError, match=message):
        adapter.BearerAuthMiddleware(lambda request: None)


def test_missing_setting_is_a_configuration_error() -> None:
    from django.conf import settings

    with override_settings():
        del settings.COGNITO_JWT
        with pytest.raises(ConfigurationError, match="COGNITO_JWT is not set"):
            adapter.BearerAuthMiddleware(lambda request: None)


def test_verifier_given_in_code_or_by_dotted_path(issuer: LocalIssuer) -> None:
    verifier = JwtVerifier(issuer=issuer.issuer, audience="api", store=None)
    with override_settings(COGNITO_JWT={"VERIFIER": verifier}):
        assert adapter.BearerAuthMiddleware(lambda request: None).gate.verifier is verifier
    with override_settings(COGNITO_JWT={"VERIFIER": f"{__name__}.VERIFIER_FOR_TESTS"}):
        middleware = adapter.BearerAuthMiddleware(lambda request: None)
        assert middleware.gate.verifier is VERIFIER_FOR_TESTS
        # One verifier (one key cache) per configuration, shared by every entry point.
        assert adapter.BearerAuthMiddleware(lambda request: None).gate is middleware.gate


def test_cognito_settings_build_a_cognito_verifier() -> None:
    from cognito_jwt import CognitoVerifier

    config = {
        "COGNITO": {
            "user_pool_id": "eu-west-1_AbCdEf123",
            "client_id": "1example23456789abcdefghij",
            "token_use": "access",
        }
    }
    with override_settings(COGNITO_JWT=config):
        gate = adapter.BearerAuthMiddleware(lambda request: None).gate
    assert isinstance(gate.verifier, CognitoVerifier)


def test_async_custom_check_is_refused_in_a_sync_stack(issuer: LocalIssuer) -> None:
    async def check(claims: Claims) -> None:
        return None

    verifier = JwtVerifier(issuer=issuer.issuer, audience="api", store=None, custom_check=check)
    with override_settings(COGNITO_JWT={"VERIFIER": verifier}):
        with pytest.raises(ConfigurationError, match="custom_check is async"):
            adapter.BearerAuthMiddleware(lambda request: None)

        async def view(request: Any) -> None:
            return None

        adapter.BearerAuthMiddleware(view)  # an async stack verifies with verify_async


def test_decorator_names_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="scopes"):
        require_token(scopes=[""])
    with pytest.raises(ConfigurationError, match="groups"):
        adapter.in_group()


def test_token_user() -> None:
    user = TokenUser(Claims({"sub": "s-1", "cognito:username": "ivy"}))
    assert (user.pk, user.id, user.username, str(user)) == ("s-1", "s-1", "ivy", "ivy")
    assert user.is_authenticated
    assert not user.is_anonymous
    assert repr(user) == "TokenUser(sub='s-1')"
    assert TokenUser(Claims({"sub": "s-2"})).get_username() == "s-2"


def test_import_pulls_no_framework_until_used() -> None:
    """The core imports no Django; the adapter imports DRF only when a DRF name is used."""
    code = (
        "import sys\n"
        "import cognito_jwt\n"
        "assert 'django' not in sys.modules, 'core imported django'\n"
        "from cognito_jwt.adapters.django import require_token, BearerAuthMiddleware\n"
        "assert 'rest_framework' not in sys.modules, 'adapter imported DRF'\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'importing touched the settings'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
