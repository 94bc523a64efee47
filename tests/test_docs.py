"""Every ```python block in docs/ runs, in page order, against real tokens.

README.md's samples run in tests/test_readme.py, each on its own (they must define every name
they use).

A block that only includes a file (``--8<-- "tests/..."``, pymdownx.snippets: the page shows
the file verbatim) is that file's sample: it runs where it lives, under the test named in
`INCLUDED_SAMPLES`, since it needs more than a page's names (an emulated AWS account, say).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_jwt import FileStore, StoredKeySet
from cognito_jwt._alb import pem_document
from cognito_jwt.testing import LocalLoadBalancer

from .helpers import SigningKey, all_keys
from .servers.moto_cognito import MotoCognito
from .servers.oidc import OidcProvider
from .servers.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
INCLUDE = re.compile(r'--8<-- "(?P<path>[^"]+)"\n')
# Samples shown by inclusion, and the test that runs (or checks) each one.
INCLUDED_SAMPLES = {
    "tests/e2e/samples/authorizer.py": "tests/e2e/test_walkthrough.py",
    "tests/e2e/samples/walkthrough.py": "tests/e2e/test_walkthrough.py",
    "tests/e2e/samples/cdk_stack.py": "tests/e2e/test_deploy_guide.py",
}
POOL = "eu-west-1_AbCdEf123"
CLIENT = "1example23456789abcdefghij"
ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
)


def _namespace() -> dict[str, Any]:
    """The names the docs' samples take as given (see docs/index.md, "About the code samples")."""
    keys = all_keys()
    cognito: SigningKey = keys["RS256"]
    oidc: SigningKey = keys["ES256"]
    now = int(time.time())
    issuer = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
    common = {"sub": "0d1f-user", "iss": issuer, "iat": now, "auth_time": now, "exp": now + 3600}
    access = dict(
        common,
        token_use="access",
        client_id=CLIENT,
        scope="orders/read orders/write",
        username="alice",
        **{"cognito:groups": ["admins"]},
    )
    id_ = dict(
        common,
        token_use="id",
        aud=CLIENT,
        email="alice@example.com",
        email_verified=True,
        **{"cognito:username": "alice", "cognito:groups": ["admins"]},
    )
    oidc_payload = {
        "iss": "https://login.example.com",
        "aud": "api://orders",
        "sub": "user-42",
        "scope": "orders:read",
        "iat": now,
        "exp": now + 600,
    }
    rsa_only = dict(keys["RS256"].jwk)
    jwks = {"keys": [rsa_only]}
    # Samples written for production (no jwks=) find the pool's keys in the default file store,
    # as a warm Lambda container would: seed it, so they run without any network.
    uri = f"{issuer}/.well-known/jwks.json"
    FileStore().save(uri, StoredKeySet(jwks, time.time(), 3600, uri))
    access_token = cognito.sign(access)
    return {
        **_alb(issuer),
        "jwks": jwks,
        "access_token": access_token,
        "id_token": cognito.sign(id_),
        "oidc_jwks": {"keys": [dict(oidc.jwk), rsa_only]},
        "oidc_token": oidc.sign(oidc_payload),
        **_events(access_token),
    }


def _alb(issuer: str) -> dict[str, Any]:
    """The headers a load balancer adds for alice (docs/guides/alb.md), its key in the store.

    The key is saved under its regional URL in the default file store, as a warm container
    would hold it, so samples written for production verify without any network.
    """
    alb = LocalLoadBalancer(alb_arn=ALB_ARN, issuer=issuer, client_id=CLIENT)
    kid = alb.kids[0]
    url = f"https://public-keys.auth.elb.eu-west-1.amazonaws.com/{kid}"
    document = pem_document(kid, alb.public_key_pem(), url)
    FileStore().save(url, StoredKeySet(document, time.time(), 86_400.0, url))
    claims = {"sub": "0d1f-user", "email": "alice@example.com", "email_verified": "true"}
    return {"alb_headers": alb.headers(claims)}


def _events(token: str) -> dict[str, Any]:
    """AWS's documented authorizer events (tests/adapters/events) carrying *token*."""
    folder = Path(__file__).parent / "adapters" / "events"

    def load(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((folder / f"{name}.json").read_text())
        return event

    token_event = load("rest_token")
    token_event["authorizationToken"] = f"Bearer {token}"
    request_event = load("rest_request")
    request_event["headers"]["Authorization"] = f"Bearer {token}"
    request_event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    http_event = load("http_v2_request")
    http_event["headers"]["authorization"] = f"Bearer {token}"
    http_event["identitySource"] = [f"Bearer {token}"]
    websocket_event = load("websocket_connect")
    websocket_event["queryStringParameters"] = {"token": token}
    # Proxy integrations (what a backend behind API Gateway gets): docs/guides/powertools.md.
    rest_proxy_event = load("rest_proxy")
    rest_proxy_event["headers"]["Authorization"] = f"Bearer {token}"
    rest_proxy_event["multiValueHeaders"]["Authorization"] = [f"Bearer {token}"]
    http_proxy_event = load("http_v2_proxy")
    http_proxy_event["headers"]["authorization"] = f"Bearer {token}"
    return {
        "token_event": token_event,
        "request_event": request_event,
        "http_event": http_event,
        "websocket_event": websocket_event,
        "rest_proxy_event": rest_proxy_event,
        "http_proxy_event": http_proxy_event,
    }


def _pages_with_samples() -> list[Path]:
    return [p for p in PAGES if FENCE.search(p.read_text(encoding="utf-8"))]


def test_docs_have_samples() -> None:
    assert len(_pages_with_samples()) >= 4


@contextlib.contextmanager
def _local_cognito() -> Iterator[dict[str, Any]]:
    """A stand-in for Cognito's GetUser on 127.0.0.1: 200, or "revoked" once ``revoke``d."""
    revoked: set[str] = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            status, answer = (200, {"Username": "alice", "UserAttributes": []})
            if body.get("AccessToken") in revoked:
                status = 400
                answer = {"__type": "NotAuthorizedException", "message": "revoked"}
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.1")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "cognito_endpoint": f"http://127.0.0.1:{server.server_address[1]}/",
            "revoke": revoked.add,
        }
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def page_names(page: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Names one page's samples take as given, beyond :func:`_namespace` (see the page's note)."""
    if page.name == "revocation.md":  # a real Redis, and a stand-in for Cognito's GetUser
        with _local_cognito() as names, RedisServer() as redis_server:
            yield {**names, "redis_url": redis_server.url}
        return
    if page.name == "fleet.md":  # a real Redis for RedisStore.from_url(redis_url)
        with RedisServer() as redis_server:
            yield {"redis_url": redis_server.url}
        return
    if page.name != "private-key-jwt.md":
        yield {}
        return
    # A real OpenID provider stands in for Login.gov, moto's server for AWS KMS.
    with OidcProvider(algorithms=("RS256", "ES256")) as provider, MotoCognito() as moto:

        def register_client(jwks: dict[str, Any], *, redirect_uri: str) -> str:
            return provider.register_client(jwks, redirect_uris=[redirect_uri])

        yield {
            "issuer": provider.issuer,
            "register_client": register_client,
            "browser_login": provider.login,
            "key_dir": tmp_path / "keys",
            "kms": moto.client("kms"),
        }


@pytest.mark.parametrize("page", _pages_with_samples(), ids=lambda p: str(p.relative_to(ROOT)))
def test_samples_run(
    page: Path, capsys: pytest.CaptureFixture[str], page_names: dict[str, Any]
) -> None:
    namespace = {**_namespace(), **page_names}
    for number, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8")), 1):
        included = INCLUDE.fullmatch(block)
        if included is not None:
            path = included["path"]
            assert path in INCLUDED_SAMPLES, f"{page.name}: {path} is tested nowhere"
            assert (ROOT / path).is_file(), path
            test = (ROOT / INCLUDED_SAMPLES[path]).read_text(encoding="utf-8")
            assert Path(path).stem in test, f"{INCLUDED_SAMPLES[path]} does not use {path}"
            continue
        code = compile(block, f"{page.name}[sample {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation
    capsys.readouterr()


def test_getting_started_says_where_keys_come_from() -> None:
    """The page once said keys came only from memory "for now" (hardening 4g)."""
    text = " ".join((ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8").split())
    assert "for now" not in text.lower()
    assert "fetches its key set and caches it" in text
