"""What the shared-store tests (Redis, DynamoDB) have in common: issuers, fleets, forgeries.

A :class:`GatedIssuer` counts the requests of a whole fleet; :func:`_cold_fleet` releases
FLEET cold processes at once and checks they made one fetch; :func:`_tampered` builds what an
attacker with write access to the shared store would plant, and the token it would forge.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from cognito_jwt._b64 import b64url_encode
from cognito_jwt.testing import LocalIssuer
from tests.helpers import _signing_key, rsa_private
from tests.integration.redis_worker import WAIT, Worker

JWKS = "/.well-known/jwks.json"
DISCOVERY = "/.well-known/openid-configuration"
FLEET = 8
# Also the refresh lease: a dead holder blocks others about this long. On a saturated 2-core
# machine a fleet member's verification takes 2-6 s, so the lease is renewed several times; a
# shorter timeout would fail the holder's own requests (a 1 s discovery GET timed out there).
FETCH_TIMEOUT = 2.0
SLOW_JWKS = 0.3  # seconds an issuer across the internet may take to answer, on a busy machine


class GatedIssuer(LocalIssuer):
    """A LocalIssuer whose JWKS answers wait while ``gate`` is closed (a fetch in mid-flight).

    ``jwks_delay`` makes every JWKS answer take that long (a slow issuer), as seen from the
    fleet: the issuer's answer is late, not the test.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.jwks_delay = 0.0

    def _answer(self, path: str) -> Any:
        if path == JWKS:
            self.gate.wait(WAIT)
            if self.jwks_delay:
                time.sleep(self.jwks_delay)
        return super()._answer(path)


def _token(issuer: LocalIssuer, sub: str = "alice") -> str:
    return issuer.mint({"aud": "api", "sub": sub})


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _cold_fleet(
    issuer: LocalIssuer,
    fleet: Callable[..., Worker],
    mode: str,
    *,
    wait: float = WAIT,
    **spec: Any,
) -> list[dict[str, Any]]:
    """FLEET new processes verify at once, sharing one store: one fetch for all of them.

    *wait* bounds the wait for each process's answer (longer on a machine made busy); *spec*
    goes to each worker.
    """
    workers = [fleet(issuer, mode=mode, barrier=True, **spec) for _ in range(FLEET)]
    for worker in workers:
        worker.ready()
    for worker in workers:  # all at once: their refreshes race
        worker.go()
    results = [worker.result(wait) for worker in workers]
    assert all(r["ok"] for r in results), results
    assert [r["sub"] for r in results] == [f"user-{n}" for n in range(FLEET)]
    assert issuer.requests[JWKS] == 1, results
    assert issuer.requests[DISCOVERY] == 1, results
    assert sum(r["fetches"] for r in results) == 1
    assert sum(r["l2_loads"] for r in results) == FLEET - 1
    return results


def _attacker_rsa(bits: int) -> Any:
    return rsa_private(bits, seed=99)


def _document(key: str, jwks: Any, *, fetched_at: float | None = None) -> bytes:
    current = {
        "jwks": jwks,
        "fetched_at": time.time() if fetched_at is None else fetched_at,
        "max_age": 3600.0,
        "jwks_uri": "http://127.0.0.1:1/.well-known/jwks.json",
    }
    return json.dumps({"schema": 1, "key": key, "current": current, "history": []}).encode()


def _hs256_token(secret: bytes, claims: dict[str, Any]) -> str:
    import hashlib
    import hmac

    header = b64url_encode(json.dumps({"alg": "HS256", "kid": "planted"}).encode())
    payload = b64url_encode(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url_encode(signature)}"


TAMPERED = ["weak-rsa", "hmac", "garbage", "wrong-types", "future", "other-key"]


def _cache_key(issuer: LocalIssuer) -> str:
    return f"discovery:{issuer.issuer}"


def _tampered(kind: str, issuer: LocalIssuer, key: str) -> tuple[bytes, str]:
    """The document an attacker plants for *key* (a *kind* of TAMPERED), and its forged token."""
    claims = {"iss": issuer.issuer, "aud": "api", "sub": "mallory", "exp": int(time.time()) + 60}
    weak = _signing_key("RS256", _attacker_rsa(1024), "planted")
    strong = _signing_key("RS256", _attacker_rsa(2048), "planted")
    secret = b"attacker-chosen-secret"
    planted = {
        "weak-rsa": _document(key, {"keys": [weak.jwk]}),
        "hmac": _document(key, {"keys": [{"kty": "oct", "kid": "planted", "k": "c2VjcmV0"}]}),
        "garbage": b"\x00\x01 not json at all \xff",
        "wrong-types": _document(key, [strong.jwk], fetched_at="now"),  # type: ignore[arg-type]
        # a valid key, but claiming a fetch time a year ahead: it would never be refreshed
        "future": _document(key, {"keys": [strong.jwk]}, fetched_at=time.time() + 365 * 86400),
        "other-key": _document("discovery:https://elsewhere.example", {"keys": [strong.jwk]}),
    }[kind]
    forged = (
        _hs256_token(secret, claims)
        if kind == "hmac"
        else (weak if kind == "weak-rsa" else strong).sign(claims)
    )
    return planted, forged
