"""The WSGI middleware and the Flask integration under a real WSGI server (werkzeug), over HTTP.

Tokens come from `LocalIssuer` (an OIDC issuer on 127.0.0.1) and from moto's Cognito IdP;
verifiers fetch the keys over loopback HTTP with no store, so every cache starts cold.
"""

# ruff: noqa: F811 - pytest fixtures imported by name
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import flask
import httpx
import pytest
from werkzeug.serving import make_server

from cognito_jwt import Claims, CognitoVerifier, ConfigurationError, JwtVerifier
from cognito_jwt.adapters.flask import current_claims, init_app, require_token
from cognito_jwt.adapters.wsgi import CLAIMS_KEY, BearerAuthMiddleware
from cognito_jwt.testing import LocalIssuer
from tests.servers.moto_cognito import MotoCognito
from tests.servers.moto_fixtures import moto_cognito  # noqa: F401

MISSING = 'Bearer realm="api"'
MISSING_BODY = {
    "error": "invalid_request",
    "error_description": "a bearer token is required",
    "code": "ERR_TOKEN_MISSING",
}


def invalid(description: str, realm: str = "api") -> str:
    return f'Bearer realm="{realm}", error="invalid_token", error_description="{description}"'


Serve = Callable[[Any], httpx.Client]


# --- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


@pytest.fixture
def verifier(issuer: LocalIssuer) -> JwtVerifier:
    return JwtVerifier(issuer=issuer.issuer, audience="api", store=None)


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve a WSGI app with werkzeug on 127.0.0.1 (threaded); an httpx client bound to it."""
    running: list[tuple[Any, threading.Thread, httpx.Client]] = []

    def start(app: Any) -> httpx.Client:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=30)
        running.append((server, thread, client))
        return client

    yield start
    for server, thread, client in running:
        client.close()
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


def make_app(verifier: Any, **options: Any) -> flask.Flask:
    app = flask.Flask("orders")

    @app.get("/orders")
    def list_orders() -> dict[str, Any]:
        claims = current_claims()
        assert claims is not None
        from_environ = flask.request.environ[CLAIMS_KEY]
        return {
            "sub": claims.sub,
            "environ_sub": from_environ.sub,
            "same": from_environ is claims,
            "scopes": sorted(claims.scopes),
        }

    @app.post("/orders")
    @require_token(scopes=["orders/write", "orders/admin"])
    def create_order() -> tuple[dict[str, Any], int]:
        claims = current_claims()
        assert claims is not None
        return {"created_by": claims.sub}, 201

    @app.get("/admin")
    @require_token(groups=["admins"])
    def admin() -> dict[str, Any]:
        claims = current_claims()
        assert claims is not None
        return {"groups": list(claims.groups)}

    @app.get("/me")
    def me() -> dict[str, Any]:
        claims = current_claims()
        return {
            "sub": claims.sub if claims else None,
            "in_environ": CLAIMS_KEY in flask.request.environ,
        }

    @app.get("/me/strict")
    @require_token()
    def me_strict() -> dict[str, Any]:
        claims = current_claims()
        assert claims is not None
        return {"sub": claims.sub}

    @app.get("/health")
    @app.get("/health/")
    @app.get("/public/<path:rest>")
    def health(rest: str = "") -> dict[str, Any]:
        return {"ok": True, "rest": rest, "claims": current_claims() is not None}

    init_app(app, verifier, **options)
    return app


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(
    response: httpx.Response, status: int, challenge: str | None, code: str, token: str | None
) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("www-authenticate") == challenge
    assert int(response.headers["content-length"]) == len(response.content)
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description", "code"}
    assert body["code"] == code
    if token:
        assert token not in response.text
        assert token not in json.dumps(dict(response.headers))
    return body


# --- Success -------------------------------------------------------------------------------------
def test_valid_token_reaches_the_view_with_claims(
    serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier
) -> None:
    client = serve(make_app(verifier))
    token = issuer.mint({"sub": "alice", "aud": "api", "scope": "orders/read orders/write"})
    response = client.get("/orders", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == {
        "sub": "alice",
        "environ_sub": "alice",
        "same": True,
        "scopes": ["orders/read", "orders/write"],
    }
    # The scheme is case-insensitive (RFC 6750 §2.1 / RFC 9110 §11.1).
    response = client.get("/orders", headers={"Authorization": f"bEaReR {token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"


# --- 401 -----------------------------------------------------------------------------------------
def test_missing_token_is_401_without_error_code(serve: Serve, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    body = assert_refused(client.get("/orders"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    assert body == MISSING_BODY


def test_other_scheme_counts_as_no_token(serve: Serve, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    response = client.get("/orders", headers={"Authorization": "Basic x"})
    assert assert_refused(response, 401, MISSING, "ERR_TOKEN_MISSING", None) == MISSING_BODY


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer {t} {t}")],
        [("Authorization", "Bearer {t}"), ("Authorization", "Bearer {t}")],
        [("Authorization", "Bearer")],
    ],
    ids=["two-tokens-one-header", "two-headers", "scheme-only"],
)
def test_malformed_bearer_header_is_invalid_token(
    serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier, headers: list[tuple[str, str]]
) -> None:
    client = serve(make_app(verifier))
    token = issuer.mint({"sub": "alice", "aud": "api"})
    sent = [(name, value.format(t=token)) for name, value in headers]
    response = client.get("/orders", headers=sent)
    description = "the token is malformed"
    body = assert_refused(response, 401, invalid(description), "ERR_MALFORMED_TOKEN", token)
    assert body == {
        "error": "invalid_token",
        "error_description": description,
        "code": "ERR_MALFORMED_TOKEN",
    }


def test_invalid_token_is_401_invalid_token(serve: Serve, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    response = client.get("/orders", headers=auth("not-a-jwt"))
    description = "the token is malformed"
    body = assert_refused(response, 401, invalid(description), "ERR_MALFORMED_TOKEN", "not-a-jwt")
    assert body["error"] == "invalid_token"
    assert body["error_description"] == description


def test_expired_token_is_401(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    token = issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-60)
    response = client.get("/orders", headers=auth(token))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge == invalid("the token is expired")
    assert_refused(response, 401, challenge, "ERR_TOKEN_EXPIRED", token)


def test_tampered_token_is_401(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    header, _, signature = issuer.mint({"sub": "alice", "aud": "api"}).split(".")
    forged_payload = issuer.mint({"sub": "mallory", "aud": "api"}).split(".")[1]
    token = f"{header}.{forged_payload}.{signature}"
    response = client.get("/orders", headers=auth(token))
    description = "the token's signature is invalid"
    assert_refused(response, 401, invalid(description), "ERR_INVALID_SIGNATURE", token)


def test_wrong_audience_is_401_and_realm_is_configurable(
    serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier
) -> None:
    client = serve(make_app(verifier, realm="orders"))
    token = issuer.mint({"sub": "alice", "aud": "other"})
    response = client.get("/orders", headers=auth(token))
    challenge = invalid("the token was not issued for this API", realm="orders")
    assert_refused(response, 401, challenge, "ERR_AUDIENCE_MISMATCH", token)
    assert_refused(client.get("/orders"), 401, 'Bearer realm="orders"', "ERR_TOKEN_MISSING", None)


# --- 403 -----------------------------------------------------------------------------------------
def test_route_scope_requirement(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    reader = issuer.mint({"sub": "alice", "aud": "api", "scope": "orders/read"})
    response = client.post("/orders", headers=auth(reader))
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token does not grant a required scope", '
        'scope="orders/admin orders/write"'
    )
    body = assert_refused(response, 403, challenge, "ERR_SCOPE_MISSING", reader)
    assert body["error"] == "insufficient_scope"
    writer = issuer.mint({"sub": "bob", "aud": "api", "scope": "orders/read orders/write"})
    response = client.post("/orders", headers=auth(writer))
    assert response.status_code == 201
    assert response.json() == {"created_by": "bob"}


def test_route_group_requirement(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    user = issuer.mint({"sub": "alice", "aud": "api", "cognito:groups": ["users"]})
    response = client.get("/admin", headers=auth(user))
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the user is not in a required group"'
    )
    assert_refused(response, 403, challenge, "ERR_GROUP_MISSING", user)
    admin = issuer.mint({"sub": "root", "aud": "api", "cognito:groups": ["users", "admins"]})
    response = client.get("/admin", headers=auth(admin))
    assert response.status_code == 200
    assert response.json() == {"groups": ["users", "admins"]}


def test_middleware_wide_requirements(
    serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier
) -> None:
    client = serve(make_app(verifier, scopes=["orders/read"], groups=["staff"]))
    no_scope = issuer.mint({"sub": "a", "aud": "api", "scope": "x", "cognito:groups": ["staff"]})
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token does not grant a required scope", scope="orders/read"'
    )
    assert_refused(
        client.get("/orders", headers=auth(no_scope)), 403, challenge, "ERR_SCOPE_MISSING", no_scope
    )
    no_group = issuer.mint({"sub": "b", "aud": "api", "scope": "orders/read"})
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the user is not in a required group"'
    )
    assert_refused(
        client.get("/orders", headers=auth(no_group)), 403, challenge, "ERR_GROUP_MISSING", no_group
    )
    both = issuer.mint(
        {"sub": "c", "aud": "api", "scope": "orders/read", "cognito:groups": ["staff"]}
    )
    response = client.get("/orders", headers=auth(both))
    assert response.status_code == 200
    assert response.json()["sub"] == "c"


def test_verifier_scope_error_is_403(serve: Serve, issuer: LocalIssuer) -> None:
    strict = JwtVerifier(issuer=issuer.issuer, audience="api", store=None, scopes=["orders/admin"])
    client = serve(make_app(strict))
    token = issuer.mint({"sub": "alice", "aud": "api"})
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token does not grant a required scope"'
    )
    response = client.get("/orders", headers=auth(token))
    assert_refused(response, 403, challenge, "ERR_SCOPE_MISSING", token)


# --- 503 -----------------------------------------------------------------------------------------
def test_issuer_down_with_cold_cache_is_503(serve: Serve) -> None:
    down = LocalIssuer().start()
    token = down.mint({"sub": "alice", "aud": "api"})
    cold = JwtVerifier(issuer=down.issuer, audience="api", store=None)
    down.stop()  # before the first request: nothing cached anywhere
    client = serve(make_app(cold))
    response = client.get("/orders", headers=auth(token))
    body = assert_refused(response, 503, None, "ERR_JWKS_UNAVAILABLE", token)
    assert response.headers["retry-after"] == "5"  # RefreshPolicy().backoff_initial
    assert body == {
        "error": "temporarily_unavailable",
        "error_description": "token keys are unavailable; try again later",
        "code": "ERR_JWKS_UNAVAILABLE",
    }
    assert down.requests == {}


# --- Pass-through --------------------------------------------------------------------------------
def test_excluded_paths(serve: Serve, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier, exclude_paths=("/health", "/public/")))
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "rest": "", "claims": False}
    response = client.get("/public/docs/index")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "rest": "docs/index", "claims": False}
    # "/health" is exact: its sub-paths and look-alikes are protected.
    assert_refused(client.get("/health/"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    assert_refused(client.get("/orders"), 401, MISSING, "ERR_TOKEN_MISSING", None)


def test_dot_segments_are_never_excluded(verifier: JwtVerifier) -> None:
    reached: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        reached.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    middleware = BearerAuthMiddleware(app, verifier, exclude_paths=("/public/",))
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)

    bodies = [
        b"".join(middleware({"REQUEST_METHOD": "GET", "PATH_INFO": path}, start_response))
        for path in ("/public/../orders", "/public/./a", "/public/a")
    ]
    missing = json.dumps(MISSING_BODY).encode()
    assert bodies == [missing, missing, b"ok"]
    assert statuses == ["401 Unauthorized", "401 Unauthorized", "200 OK"]
    assert reached == ["/public/a"]


def test_cors_preflight_passes_untouched(serve: Serve, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier))
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    response = client.options("/orders", headers=preflight)
    assert response.status_code == 200  # Flask's automatic OPTIONS answer
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert "www-authenticate" not in response.headers
    # An OPTIONS request that is not a preflight needs a token like any other.
    assert_refused(client.options("/orders"), 401, MISSING, "ERR_TOKEN_MISSING", None)


def test_optional_mode(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier, optional=True))
    response = client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"sub": None, "in_environ": False}
    token = issuer.mint({"sub": "alice", "aud": "api"})
    response = client.get("/me", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "in_environ": True}
    expired = issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-60)
    response = client.get("/me", headers=auth(expired))
    assert response.status_code == 401
    assert response.json()["code"] == "ERR_TOKEN_EXPIRED"
    assert expired not in response.text
    assert_refused(
        client.get("/me", headers=auth("x.y")),
        401,
        invalid("the token is malformed"),
        "ERR_MALFORMED_TOKEN",
        None,
    )
    # A view that needs a token answers anonymous requests itself.
    assert_refused(client.get("/me/strict"), 401, MISSING, "ERR_TOKEN_MISSING", None)
    response = client.get("/me/strict", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice"}


def test_cookie_source(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier, cookie="access_token"))
    token = issuer.mint({"sub": "alice", "aud": "api", "scope": "orders/read"})
    response = client.get("/orders", headers={"Cookie": f"theme=dark; access_token={token}"})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"
    expired = issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-60)
    response = client.get("/orders", headers={"Cookie": f"access_token={expired}"})
    assert response.status_code == 401
    assert response.json()["code"] == "ERR_TOKEN_EXPIRED"
    assert expired not in response.text
    # A cookie of another name, or the same cookie twice, is no token.
    assert_refused(
        client.get("/orders", headers={"Cookie": f"session={token}"}),
        401,
        MISSING,
        "ERR_TOKEN_MISSING",
        token,
    )
    twice = {"Cookie": f"access_token={token}; access_token={expired}"}
    assert_refused(client.get("/orders", headers=twice), 401, MISSING, "ERR_TOKEN_MISSING", token)
    # The Authorization header wins over the cookie.
    bob = issuer.mint({"sub": "bob", "aud": "api"})
    response = client.get("/orders", headers={**auth(bob), "Cookie": f"access_token={token}"})
    assert response.json()["sub"] == "bob"


def test_header_source(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    client = serve(make_app(verifier, header="X-Access-Token"))
    token = issuer.mint({"sub": "alice", "aud": "api"})
    response = client.get("/orders", headers={"X-Access-Token": token})
    assert response.status_code == 200
    assert response.json()["sub"] == "alice"
    response = client.get("/orders", headers={"X-Access-Token": f"{token} extra"})
    description = "the token is malformed"
    assert_refused(response, 401, invalid(description), "ERR_MALFORMED_TOKEN", token)


# --- moto's Cognito ------------------------------------------------------------------------------
def test_moto_cognito_tokens(serve: Serve, moto_cognito: MotoCognito) -> None:
    cognito = CognitoVerifier(
        user_pool_id=moto_cognito.user_pool_id,
        client_id=moto_cognito.client_id,
        token_use="access",
        jwks_uri=moto_cognito.jwks_uri,
        store=None,
    )
    client = serve(make_app(cognito))
    tokens = moto_cognito.tokens()
    access = tokens["AccessToken"]
    response = client.get("/orders", headers=auth(access))
    assert response.status_code == 200
    assert response.json() == {
        "sub": moto_cognito.user_sub,
        "environ_sub": moto_cognito.user_sub,
        "same": True,
        "scopes": ["aws.cognito.signin.user.admin"],
    }
    response = client.get("/admin", headers=auth(access))
    assert response.status_code == 200
    assert response.json() == {"groups": ["admins"]}
    challenge = (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="the token does not grant a required scope", '
        'scope="orders/admin orders/write"'
    )
    assert_refused(
        client.post("/orders", headers=auth(access)), 403, challenge, "ERR_SCOPE_MISSING", access
    )
    # An ID token is not an access token.
    id_token = tokens["IdToken"]
    response = client.get("/orders", headers=auth(id_token))
    body = assert_refused(
        response, 401, response.headers.get("www-authenticate"), "ERR_TOKEN_USE_MISMATCH", id_token
    )
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="api", error="invalid_token", error_description="'
    )
    assert body["error"] == "invalid_token"
    # Another app client's token is refused.
    other = moto_cognito.tokens("other")["AccessToken"]
    response = client.get("/orders", headers=auth(other))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert other not in response.text


# --- Plain WSGI, no Flask ------------------------------------------------------------------------
def test_plain_wsgi_application(serve: Serve, issuer: LocalIssuer, verifier: JwtVerifier) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        claims = environ.get(CLAIMS_KEY)
        assert isinstance(claims, Claims)
        body = json.dumps({"sub": claims.sub, "path": environ["PATH_INFO"]}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    client = serve(BearerAuthMiddleware(app, verifier, realm="plain", exclude_paths=()))
    token = issuer.mint({"sub": "carol", "aud": "api"})
    response = client.get("/anything/at/all", headers=auth(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "carol", "path": "/anything/at/all"}
    response = client.get("/anything")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="plain"'
    assert response.json() == MISSING_BODY
    response = client.get("/anything", headers=auth(token + "x"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="plain", error="invalid_token", error_description="'
    )
    assert response.json()["code"] in {"ERR_INVALID_SIGNATURE", "ERR_MALFORMED_TOKEN"}


def test_configuration_errors(verifier: JwtVerifier) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return []

    # One string is one value (hardening 2.2); what is not names is a ConfigurationError.
    assert BearerAuthMiddleware(app, verifier, exclude_paths="/health")._paths.excluded("/health")
    assert BearerAuthMiddleware(app, verifier, scopes="orders/read").scopes == {"orders/read"}
    with pytest.raises(ConfigurationError, match="beginning '/'"):
        BearerAuthMiddleware(app, verifier, exclude_paths=("health",))
    with pytest.raises(ConfigurationError, match="groups"):
        require_token(groups=5)  # type: ignore[arg-type]
