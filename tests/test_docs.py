"""Every ```python block in README.md and docs/ runs, in page order, against real tokens."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import SigningKey, all_keys

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
POOL = "eu-west-1_AbCdEf123"
CLIENT = "1example23456789abcdefghij"


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
    return {
        "jwks": {"keys": [rsa_only]},
        "access_token": cognito.sign(access),
        "id_token": cognito.sign(id_),
        "oidc_jwks": {"keys": [dict(oidc.jwk), rsa_only]},
        "oidc_token": oidc.sign(oidc_payload),
    }


def _pages_with_samples() -> list[Path]:
    return [p for p in PAGES if FENCE.search(p.read_text(encoding="utf-8"))]


def test_docs_have_samples() -> None:
    assert len(_pages_with_samples()) >= 4


@pytest.mark.parametrize("page", _pages_with_samples(), ids=lambda p: str(p.relative_to(ROOT)))
def test_samples_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = _namespace()
    for number, block in enumerate(FENCE.findall(page.read_text(encoding="utf-8")), 1):
        code = compile(block, f"{page.name}[sample {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation
    capsys.readouterr()
