"""Fixtures of the end-to-end tests: MiniStack on 127.0.0.1 and what is deployed on it.

MiniStack that does not start, a package that does not build, a function or API that cannot be
created: each is an error of every test that needs it, never a skip.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import aws
from tests.e2e.package import DeploymentPackage, build_deployment_package, zip_folder
from tests.servers.ministack import MiniStack

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = Path(__file__).resolve().parent / "lambda_src"

# Figures worth a line in the test report (package size, cold start), filled by the tests.
MEASUREMENTS: dict[str, Any] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASUREMENTS:
        terminalreporter.section("MiniStack end to end: measurements")
        for name, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def ministack() -> Iterator[MiniStack]:
    """One emulator for the session. Shared: tests must not stop it."""
    with MiniStack() as server:
        yield server


@pytest.fixture(scope="session")
def pool(ministack: MiniStack) -> aws.Pool:
    """alice (group ``admins``) and bob (no group) in a pool with web, other and m2m clients."""
    return aws.create_pool(ministack, "e2e", {"alice": ["admins"], "bob": []})


@pytest.fixture(scope="session")
def other_pool(ministack: MiniStack) -> aws.Pool:
    """A second pool, same setup, with carol (group ``admins``)."""
    return aws.create_pool(ministack, "e2e-other", {"carol": ["admins"]})


@pytest.fixture(scope="session")
def jwks_uri(ministack: MiniStack, pool: aws.Pool) -> str:
    """The pool's ``jwks_uri``, read from its discovery document on the emulator.

    The document's ``issuer`` must be the pool's real Cognito issuer (what tokens carry).
    """
    with ministack.http() as http:
        response = http.get(pool.discovery_url)
    response.raise_for_status()
    document = response.json()
    assert document["issuer"] == pool.issuer
    return str(document["jwks_uri"])


@pytest.fixture(scope="session")
def deployment_package() -> Iterator[DeploymentPackage]:
    """The authorizer's deployment package, built once per session in a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="cognito-jwt-package-") as folder:
        package = build_deployment_package(
            PROJECT_ROOT, Path(folder), [LAMBDA_SRC / "authorizer_app.py"]
        )
        MEASUREMENTS["deployment package"] = (
            f"{package.zip_bytes:,} bytes zipped, {package.unzipped_bytes:,} bytes unzipped, "
            f"{package.files} files (built in {package.build_seconds:.1f} s)"
        )
        yield package


@pytest.fixture(scope="session")
def echo_code(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("echo")
    source = folder / "src"
    source.mkdir()
    (source / "echo_app.py").write_bytes((LAMBDA_SRC / "echo_app.py").read_bytes())
    zip_folder(source, folder / "echo.zip")
    return (folder / "echo.zip").read_bytes()


@dataclass(frozen=True)
class Deployment:
    """The APIs on the emulator, all in front of the echo backend, at stage `aws.STAGE`."""

    ministack: MiniStack
    http_simple: str  # HTTP API, simple responses, cached per (token, route)
    http_iam: str  # HTTP API, IAM policy responses, cached per token
    rest: str  # REST API, /token/* (TOKEN authorizer) and /request/* (REQUEST authorizer)
    role: str
    authorizer_env: dict[str, str]

    def get(self, api_id: str, path: str, token: str | None = None) -> httpx.Response:
        """``GET /{stage}{path}`` through the gateway, with ``Authorization: Bearer <token>``."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        with self.ministack.http() as http:
            return self.ministack.execute_api(
                http, api_id, "GET", f"/{aws.STAGE}{path}", headers=headers
            )


@pytest.fixture(scope="session")
def deployment(
    ministack: MiniStack,
    pool: aws.Pool,
    jwks_uri: str,
    deployment_package: DeploymentPackage,
    echo_code: bytes,
) -> Deployment:
    role = aws.create_role(ministack)
    backend = aws.create_function(
        ministack, name="echo", code=echo_code, handler="echo_app.handler", role=role
    )
    env = {
        "POOL_ID": pool.pool_id,
        "CLIENT_IDS": f"{pool.client_id},{pool.m2m_client_id}",
        "TOKEN_USE": "access",
        "JWKS_URI": jwks_uri,
    }
    code = deployment_package.code

    def authorizer(name: str, http_response: str, on_invalid: str, prefixes: str = "") -> str:
        settings = {"HTTP_RESPONSE": http_response, "ON_INVALID": on_invalid}
        return aws.create_function(
            ministack,
            name=name,
            code=code,
            handler="authorizer_app.handler",
            role=role,
            env={**env, **settings, "ROUTE_PREFIXES": prefixes},
        )

    http_simple = aws.create_http_api(
        ministack,
        name="http-simple",
        authorizer_arn=authorizer("authz-http-simple", "simple", "unauthorized"),
        backend_arn=backend,
        simple_responses=True,
        # A simple answer has no resources: AWS caches it for every route unless the route is
        # part of the cache key, which is what "$context.routeKey" does.
        identity_source=["$request.header.Authorization", "$context.routeKey"],
    )
    http_iam = aws.create_http_api(
        ministack,
        name="http-iam",
        authorizer_arn=authorizer("authz-http-iam", "iam", "deny"),
        backend_arn=backend,
        simple_responses=False,
        identity_source=["$request.header.Authorization"],
    )
    rest = aws.create_rest_api(
        ministack,
        name="rest",
        authorizer_arn=authorizer("authz-rest", "iam", "unauthorized", "/token,/request"),
        backend_arn=backend,
    )
    return Deployment(
        ministack=ministack,
        http_simple=http_simple,
        http_iam=http_iam,
        rest=rest,
        role=role,
        authorizer_env=env,
    )
