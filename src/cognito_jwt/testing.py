"""A local token issuer for tests and demos: discovery and JWKS served on 127.0.0.1.

```python
from cognito_jwt import JwtVerifier
from cognito_jwt.testing import LocalIssuer

with LocalIssuer() as issuer:
    verifier = JwtVerifier(issuer=issuer.issuer, audience="api", store=None)
    token = issuer.mint({"sub": "alice", "aud": "api"})
    assert verifier.verify(token).sub == "alice"
```

The issuer listens on loopback only, from a daemon thread, and needs no network and no cloud
account. Keys are generated when it starts; :meth:`LocalIssuer.rotate` adds a new signing key
(the old one stays published) and :meth:`LocalIssuer.retire` stops publishing old ones.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ._algorithms import ALGORITHMS, PrivateKey
from ._cognito import cognito_issuer
from ._jwk import jwk_from_public_key, jwk_thumbprint
from ._sign import encode_compact

__all__ = ["LocalIssuer"]


def _generate(alg: str) -> PrivateKey:
    spec = ALGORITHMS[alg]
    if spec.kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if spec.kty == "EC":
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
        return ec.generate_private_key(curve[spec.crv or ""])
    return ed25519.Ed25519PrivateKey.generate()


@dataclass(frozen=True)
class _Key:
    kid: str
    private: PrivateKey
    jwk: Mapping[str, str]


class LocalIssuer:
    """An OpenID Connect issuer on ``http://127.0.0.1:<port>`` that signs what you ask.

    Args:
        algorithm: The signing algorithm (any this library verifies).
        port: The port to listen on; 0 picks a free one.

    Attributes:
        requests: How many times each path was requested (to see the cache at work).
    """

    def __init__(self, *, algorithm: str = "RS256", port: int = 0) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._port = port
        self._keys: list[_Key] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: Counter[str] = Counter()
        self.available = True
        self.rotate()

    # Lifecycle ----------------------------------------------------------------------------------
    def start(self) -> LocalIssuer:
        """Start serving (idempotent); returns ``self``."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
            self._server.daemon_threads = True
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="cognito-jwt-local-issuer", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; the port refuses connections afterwards."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Where things are ---------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        """The issuer URL (``iss`` of minted tokens); known once started, kept after stop."""
        if not self._port:
            raise RuntimeError("the issuer has not been started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def jwks_uri(self) -> str:
        """Where the public keys are served."""
        return self.issuer + "/.well-known/jwks.json"

    @property
    def kids(self) -> list[str]:
        """The published key ids, newest last."""
        with self._lock:
            return [key.kid for key in self._keys]

    def jwks(self) -> dict[str, Any]:
        """The published JWKS document."""
        with self._lock:
            return {"keys": [dict(key.jwk) for key in self._keys]}

    # Keys ---------------------------------------------------------------------------------------
    def rotate(self) -> str:
        """Add a new signing key (older keys stay published); returns its ``kid``."""
        private = _generate(self.algorithm)
        public = jwk_from_public_key(private.public_key())
        kid = jwk_thumbprint(public)
        key = _Key(kid, private, {**public, "kid": kid, "alg": self.algorithm, "use": "sig"})
        with self._lock:
            self._keys.append(key)
        return kid

    def retire(self) -> list[str]:
        """Stop publishing every key but the newest; returns the retired ``kid`` values."""
        with self._lock:
            retired = [key.kid for key in self._keys[:-1]]
            self._keys = self._keys[-1:]
        return retired

    # Tokens -------------------------------------------------------------------------------------
    def mint(
        self, claims: Mapping[str, Any], *, lifetime: int = 3600, kid: str | None = None
    ) -> str:
        """Sign *claims* with the newest key (or the key *kid*).

        ``iss``, ``iat``, ``exp`` and ``jti`` are filled in unless *claims* sets them.
        """
        with self._lock:
            key = self._keys[-1] if kid is None else next(k for k in self._keys if k.kid == kid)
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "iat": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        return encode_compact(payload, key.private, alg=self.algorithm, kid=key.kid)

    def cognito_access_token(
        self, *, user_pool_id: str, client_id: str, scope: str = "", **claims: Any
    ) -> str:
        """Mint a token shaped like a Cognito user pool access token of *user_pool_id*."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": str(uuid.uuid4()),
            "iss": cognito_issuer(user_pool_id),
            "client_id": client_id,
            "token_use": "access",
            "scope": scope,
            "auth_time": now,
            "username": "local-user",
            **claims,
        }
        return self.mint(payload)

    # HTTP ---------------------------------------------------------------------------------------
    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": [self.algorithm],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests[self.path] += 1
                if not issuer.available:
                    self._send(503, {"error": "temporarily_unavailable"})
                elif self.path == "/.well-known/openid-configuration":
                    self._send(200, issuer._metadata())
                elif self.path == "/.well-known/jwks.json":
                    self._send(200, issuer.jwks(), cache="public, max-age=300")
                else:
                    self._send(404, {"error": "not_found"})

            def _send(self, status: int, body: object, cache: str = "no-store") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", cache)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: tests and the demo print what matters themselves."""

        return Handler
