"""The house: the client side stays apart from the verifier side, and plans run on both faces.

* Verifying a token (keys in memory, or an ALB's PEM key) loads nothing from ``_client``.
* The client package (``_client``) imports only the shared lower floors, never a verifier,
  a key source, a store or an adapter.
* :func:`run_plan` and :func:`run_plan_async` (the drivers of every sync/async pair outside
  the key source) send results in, throw failures in, and return the plan's value.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import cognito_jwt
from cognito_jwt._plan import run_plan, run_plan_async
from tests.helpers import AUDIENCE, FIXED_NOW, OIDC_ISSUER, all_keys, jwks_of, oidc_claims

PACKAGE = Path(cognito_jwt.__file__).parent
# What the client side may import from the package: the shared floors below both sides.
SHARED = {
    "_algorithms",
    "_b64",
    "_discovery",
    "_errors",
    "_http",
    "_json",
    "_jwk",
    "_log",
    "_options",
    "_plan",
    "_record",
    "_url_policy",
}


def test_verifying_loads_nothing_of_the_client_side() -> None:
    key = all_keys()["ES256"]
    token = key.sign(oidc_claims())
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    code = (
        "import json, sys\n"
        "from cognito_jwt import JwtVerifier\n"
        "from cognito_jwt._alb import pem_document\n"
        "jwks, token, pem = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3].encode()\n"
        f"verifier = JwtVerifier(issuer={OIDC_ISSUER!r}, audience={AUDIENCE!r}, jwks=jwks,"
        f" clock=lambda: {FIXED_NOW})\n"
        "assert verifier.verify(token).sub\n"
        "assert pem_document('kid', pem, 'https://alb')['keys']\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('cognito_jwt.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(jwks_of(key)), token, pem.decode()],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    loaded = json.loads(out)
    assert "cognito_jwt._jwk" in loaded  # it did verify
    assert not [name for name in loaded if name.startswith("cognito_jwt._client")]


@pytest.mark.parametrize("path", sorted((PACKAGE / "_client").glob("*.py")), ids=lambda p: p.name)
def test_the_client_side_imports_only_the_shared_floors(path: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 2:  # from .._x import ...
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            assert not node.module.startswith("cognito_jwt"), node.module
    assert imported <= SHARED, f"{path.name} imports {sorted(imported - SHARED)}"


# === run_plan / run_plan_async ===================================================================
def _plan(log: list[str]) -> Generator[str, Any, str]:
    """Asks for three steps; a ValueError from the second is handled; returns the answers."""
    first = yield "one"
    try:
        second = yield "two"
    except ValueError as exc:
        second = f"handled {exc}"
    third = yield "three"
    log.append("finished")
    return f"{first}/{second}/{third}"


def _do(step: str) -> str:
    if step == "two":
        raise ValueError("boom")
    return step.upper()


async def _do_async(step: str) -> str:
    await asyncio.sleep(0)
    return _do(step)


def test_run_plan_sends_results_and_throws_failures_in() -> None:
    log: list[str] = []
    assert run_plan(_plan(log), _do) == "ONE/handled boom/THREE"
    assert asyncio.run(run_plan_async(_plan(log), _do_async)) == "ONE/handled boom/THREE"
    assert log == ["finished", "finished"]


def test_a_failure_the_plan_does_not_handle_propagates_and_closes_it() -> None:
    closed: list[bool] = []

    def plan() -> Generator[str, Any, None]:
        try:
            yield "three"
            yield "two"  # _do raises ValueError here: not handled
        finally:
            closed.append(True)

    with pytest.raises(ValueError, match="boom"):
        run_plan(plan(), _do)
    with pytest.raises(ValueError, match="boom"):
        asyncio.run(run_plan_async(plan(), _do_async))
    assert closed == [True, True]


def test_a_plan_that_needs_no_step_returns_at_once() -> None:
    def plan() -> Generator[str, Any, int]:
        return 42
        yield "never"  # pragma: no cover - makes this a generator

    def never(step: str) -> str:
        raise AssertionError(step)

    assert run_plan(plan(), never) == 42
    assert asyncio.run(run_plan_async(plan(), never)) == 42  # type: ignore[arg-type]
