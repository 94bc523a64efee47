"""Type-checked with mypy --strict, never run: the public API as users write it."""

from __future__ import annotations

import datetime

from cognito_jwt import (
    Claims,
    CognitoVerifier,
    JwtError,
    JwtVerifier,
    KeySet,
    MultiIssuerVerifier,
    TokenLimits,
)

jwks: dict[str, object] = {"keys": []}

cognito = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123",
    client_id=["a", "b"],
    token_use="access",
    groups=("admins",),
    scopes="orders/read",
    jwks=jwks,
    leeway=5,
    clock=lambda: 0.0,
    custom_check=lambda claims: claims.get("email_verified") is True,
    limits=TokenLimits(max_token_length=16_384),
)
generic = JwtVerifier(
    issuer="https://login.example.com", audience=None, jwks=KeySet.from_jwks(jwks)
)
multi = MultiIssuerVerifier([cognito, generic])


def handle(token: str | bytes) -> str | None:
    try:
        claims: Claims = multi.verify(token)
    except JwtError as exc:
        code: str = exc.code
        return code
    expires: datetime.datetime | None = claims.expires_at
    scopes: frozenset[str] = claims.scopes
    groups: tuple[str, ...] = claims.groups
    del expires, scopes, groups
    return claims.sub


async def handle_async(token: str) -> Claims:
    await cognito.hydrate_async()
    return await cognito.verify_async(token)


# The Lambda authorizer adapter, as a handler module writes it.
from cognito_jwt.adapters.lambda_authorizer import (  # noqa: E402
    AuthorizerRequest,
    Decision,
    PolicyResponse,
    Route,
    SimpleResponse,
    TokenAuthorizerEvent,
    TokenSource,
    authorizer,
)


def only_writers(claims: Claims, request: AuthorizerRequest) -> bool | Decision:
    if request.arn.route.startswith("GET/"):
        return True
    return Decision(allow="writers" in claims.groups, context={"tier": "gold"})


handler = authorizer(
    cognito, authorize=only_writers, token_source=TokenSource(query="token"), hydrate=False
)
event: TokenAuthorizerEvent = {
    "type": "TOKEN",
    "authorizationToken": "Bearer x",
    "methodArn": "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/orders",
}
answer: PolicyResponse | SimpleResponse = handler(event, None)

# Per-route rules: a policy that lists every route the caller may call (safe under caching).
routes: dict[str, Route] = {
    "GET /me": Route(),
    "GET /admin": Route(groups="admins"),
    "POST /orders": Route(scopes=["orders/write"]),
    "GET /orders/{id}": Route(groups={"staff"}, scopes=("orders/read",)),
}
routed = authorizer(cognito, routes=routes, http_response="iam", on_invalid="deny", hydrate=False)
may_call_me: bool = routes["GET /me"].permits(Claims({"sub": "bob"}))
routed_answer: PolicyResponse | SimpleResponse = routed(event, None)


# Behind an Application Load Balancer (AlbVerifier comes from `cognito_jwt` once exported;
# LocalLoadBalancer builds one here without naming it).
from cognito_jwt.adapters.alb import AlbIdentity, authenticate, authenticate_async  # noqa: E402
from cognito_jwt.adapters.wsgi import BearerAuthMiddleware  # noqa: E402
from cognito_jwt.testing import LocalLoadBalancer  # noqa: E402

with LocalLoadBalancer() as alb:
    alb_verifier = alb.verifier(store=None, leeway=5, max_cached_keys=8)
    headers: dict[str, str] = alb.headers({"sub": "alice"}, lifetime=60)
    user: AlbIdentity | None = authenticate(alb_verifier, headers)
    pairs: list[tuple[str, str]] = list(headers.items())
    alb_claims: Claims = alb_verifier.verify(alb.mint({"sub": "alice"}, padded=False))


async def alb_user(request_headers: dict[str, str]) -> str | None:
    found = await authenticate_async(alb_verifier, request_headers)
    return found.identity if found is not None else None


def wsgi_app(environ: dict[str, object], start_response: object) -> list[bytes]:
    return []


protected = BearerAuthMiddleware(wsgi_app, alb_verifier, token_source="alb")


# The testing toolkit: a local issuer for your own tests (and the pytest plugin's fixtures).
from cognito_jwt.pytest_plugin import jwt_issuer, jwt_issuer_session  # noqa: E402, F401
from cognito_jwt.testing import LocalIssuer  # noqa: E402

with LocalIssuer(algorithm="ES256") as local:
    local.fail(500)
    local.slow(0.5)
    local.recover()
    local.add_jwk({"kty": "oct", "k": "c2VjcmV0"})
    local_cognito: CognitoVerifier = local.cognito_verifier(
        user_pool_id="eu-west-1_AbCdEf123", client_id="c", token_use="access", leeway=5
    )
    local_oidc: JwtVerifier = local.verifier(audience="api")
    local_id_token: str = local.cognito_id_token(user_pool_id="eu-west-1_AbCdEf123", client_id="c")
    local_status: int | None = local.failure_status


# Flask, as the guide writes it (docs/guides/flask.md): protected views get Claims, not None.
import flask  # noqa: E402

from cognito_jwt.adapters.flask import (  # noqa: E402
    current_claims,
    init_app,
    require_claims,
    require_token,
)

flask_app = flask.Flask("orders")
init_app(flask_app, cognito, exclude_paths="/health", groups="staff")


@flask_app.get("/orders")
def list_orders() -> dict[str, object]:
    return {"user": require_claims().sub, "orders": []}


@flask_app.post("/orders")
@require_token(scopes="orders/write")
def create_order() -> tuple[dict[str, str | None], int]:
    return {"created_by": require_claims().sub}, 201


@flask_app.get("/catalog")
def catalog() -> dict[str, str | None]:
    claims = current_claims()
    return {"personalised_for": claims.sub if claims else None}


# FastAPI's docs behind the ASGI middleware (docs/guides/fastapi.md).
from fastapi import FastAPI  # noqa: E402

from cognito_jwt.adapters.asgi import FASTAPI_DOCS_PATHS  # noqa: E402
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware  # noqa: E402

asgi_app = AsgiMiddleware(FastAPI(), cognito, exclude_paths=["/health", *FASTAPI_DOCS_PATHS])
docs_paths: tuple[str, ...] = FASTAPI_DOCS_PATHS


# Audit events and metrics (docs/guides/observability.md).
import io  # noqa: E402

from cognito_jwt import (  # noqa: E402
    Audit,
    EmfSink,
    JsonLogSink,
    MultiTenantVerifier,
    OpenTelemetrySink,
    VerificationRecord,
)


def count_denials(record: VerificationRecord) -> None:
    if record.outcome == "deny":
        code: str | None = record.error
        took_ms: float = record.duration * 1000
        print(code, took_ms, record.iss, record.issuer_known, record.cache_hit)


audited = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123",
    client_id="a",
    token_use="access",
    jwks=jwks,
    on_decision=Audit(count_denials, include_subject="hash", subject_key=b"0123456789abcdef"),
)
logged = JwtVerifier(issuer="https://i", audience="a", jwks=jwks, on_decision=JsonLogSink())
emf = EmfSink("MyApi", stream=io.StringIO(), dimensions={"Service": "orders"})
audited_router = MultiIssuerVerifier([audited, logged], on_decision=emf)
tenants = MultiTenantVerifier(
    build=lambda issuer, pool_id: None, issuers=["https://i"], on_decision=emf
)
otel = OpenTelemetrySink()
otel_verifier = JwtVerifier(
    issuer="https://i", audience="a", jwks=jwks, on_decision=otel, on_event=otel.on_event
)
document: dict[str, object] = emf.document(
    VerificationRecord("allow", None, "https://i", True, "k", "RS256", None, (), None, False, 0.001)
)

# Lambda SnapStart: the hook the runtime calls after a restore takes no arguments.
from collections.abc import Callable  # noqa: E402

from cognito_jwt import after_restore  # noqa: E402

restore_hook: Callable[[], None] = after_restore


def route_by_issuer(token: str) -> str | None:
    from cognito_jwt import UnverifiedToken, decode_unverified

    unverified: UnverifiedToken = decode_unverified(token, limits=TokenLimits())
    kid: str | None = unverified.kid
    issuer = unverified.claims.get("iss")
    return issuer if isinstance(issuer, str) else kid
