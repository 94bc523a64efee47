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
:meth:`LocalIssuer.add_jwk` publishes any JWK as given (a weak or symmetric key, to see what a
verifier refuses). Either server can be made failing (:meth:`~LocalIssuer.fail`) or slow
(:meth:`~LocalIssuer.slow`) and back to normal (:meth:`~LocalIssuer.recover`).

:class:`LocalLoadBalancer` does the same for an Application Load Balancer that authenticates
users: it serves the load balancer's public keys (one PEM per ``kid``) and mints the
``x-amzn-oidc-data`` tokens such a load balancer adds to requests, for an ``AlbVerifier``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from typing_extensions import Self

from ._alb import AlbVerifier
from ._algorithms import ALGORITHMS, PrivateKey
from ._client._sign import encode_compact
from ._cognito import CognitoVerifier, TokenUse, cognito_issuer
from ._errors import ConfigurationError
from ._jwk import jwk_from_public_key, jwk_thumbprint
from ._record import dataclass
from ._verifier import JwtVerifier

__all__ = ["LocalIssuer", "LocalLoadBalancer"]


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


Answer = tuple[int, bytes, dict[str, str]]
"""An HTTP answer: status, body and headers."""


class _LoopbackServer:
    """An HTTP server on ``127.0.0.1`` in a daemon thread; subclasses answer GET requests.

    Attributes:
        requests: How many times each path was requested (to see caches at work).
        available: While ``False``, every request is answered 503.
        failure_status: While set, every request is answered with this HTTP status.
        delay: Seconds each answer waits before it is sent.
    """

    _thread_name = "cognito-jwt-test-server"

    def __init__(self, port: int) -> None:
        self._port = port
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: Counter[str] = Counter()
        self.available = True
        self.failure_status: int | None = None
        self.delay = 0.0

    # Faults -------------------------------------------------------------------------------------
    def fail(self, status: int = 500) -> None:
        """Answer every request with HTTP *status* (and a JSON error body) until :meth:`recover`."""
        if not 400 <= status <= 599:
            raise ConfigurationError(f"a failure status is 4xx or 5xx, got {status}")
        self.failure_status = status

    def slow(self, seconds: float) -> None:
        """Wait *seconds* before sending each answer (timeouts, piled-up lookups)."""
        if seconds < 0:
            raise ConfigurationError("the delay must be zero or more seconds")
        self.delay = float(seconds)

    def recover(self) -> None:
        """Answer normally again: undo :meth:`fail`, :meth:`slow` and ``available = False``."""
        self.available = True
        self.failure_status = None
        self.delay = 0.0

    # Lifecycle ----------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start serving (idempotent); returns ``self``."""
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", self._port), self._handler())
            self._server.daemon_threads = True
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms, not 500
                name=self._thread_name,
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; the port refuses connections afterwards."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def _origin(self) -> str:
        if not self._port:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self._port}"

    # HTTP ---------------------------------------------------------------------------------------
    def _answer(self, path: str) -> Answer:
        raise NotImplementedError  # pragma: no cover - every subclass answers

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests[self.path] += 1
                if server.delay:
                    time.sleep(server.delay)
                failure = server.failure_status if server.available else 503
                if failure is None:
                    status, body, headers = server._answer(self.path)
                else:
                    status, body, headers = _json_answer(failure, {"error": "server_error"})
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet: tests and the demo print what matters themselves."""

        return Handler


def _json_answer(status: int, body: object, cache: str = "no-store") -> Answer:
    headers = {"Content-Type": "application/json", "Cache-Control": cache}
    return status, json.dumps(body).encode(), headers


class LocalIssuer(_LoopbackServer):
    """An OpenID Connect issuer on ``http://127.0.0.1:<port>`` that signs what you ask.

    Args:
        algorithm: The signing algorithm (any this library verifies).
        port: The port to listen on; 0 picks a free one.

    Attributes:
        requests: How many times each path was requested (to see the cache at work).
        available: While ``False``, every request is answered 503.
        failure_status: Set by :meth:`fail`: every request is answered with this status.
        delay: Set by :meth:`slow`: seconds each answer waits before it is sent.
    """

    _thread_name = "cognito-jwt-local-issuer"

    def __init__(self, *, algorithm: str = "RS256", port: int = 0) -> None:
        if algorithm not in ALGORITHMS:
            raise ConfigurationError(f"unsupported algorithm {algorithm!r}")
        super().__init__(port)
        self.algorithm = algorithm
        self._keys: list[_Key] = []
        self._extra: list[dict[str, Any]] = []
        self.rotate()

    # Where things are ---------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        """The issuer URL (``iss`` of minted tokens); known once started, kept after stop."""
        return self._origin

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
        """The published JWKS document: the signing keys, then any :meth:`add_jwk` entries."""
        with self._lock:
            return {"keys": [dict(key.jwk) for key in self._keys] + [*map(dict, self._extra)]}

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
        """Stop publishing every signing key but the newest; returns the retired ``kid`` values.

        Entries added with :meth:`add_jwk` stay published.
        """
        with self._lock:
            retired = [key.kid for key in self._keys[:-1]]
            self._keys = self._keys[-1:]
        return retired

    def add_jwk(self, jwk: Mapping[str, Any]) -> None:
        """Publish *jwk* in the JWKS exactly as given, after the signing keys.

        Nothing is checked: use it to serve what a real issuer might (a 1024-bit RSA key, an
        ``oct`` key, a key with ``use: enc``) and see verifiers skip it. The issuer never signs
        with these entries.
        """
        with self._lock:
            self._extra.append(dict(jwk))

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
        shape = {"client_id": client_id, "token_use": "access", "scope": scope}
        return self._cognito_token(user_pool_id, {**shape, "username": "local-user"}, claims)

    def cognito_id_token(self, *, user_pool_id: str, client_id: str, **claims: Any) -> str:
        """Mint a token shaped like a Cognito user pool ID token of *user_pool_id*."""
        shape = {"aud": client_id, "token_use": "id", "cognito:username": "local-user"}
        return self._cognito_token(user_pool_id, shape, claims)

    def _cognito_token(
        self, user_pool_id: str, shape: Mapping[str, Any], claims: Mapping[str, Any]
    ) -> str:
        payload = {
            "sub": str(uuid.uuid4()),
            "iss": cognito_issuer(user_pool_id),
            **shape,
            "auth_time": int(time.time()),
            **claims,
        }
        return self.mint(payload)

    # Verifiers for this issuer -------------------------------------------------------------------
    def verifier(self, *, audience: str | list[str] | None, **options: Any) -> JwtVerifier:
        """A :class:`JwtVerifier` for tokens from :meth:`mint`, keys found by discovery.

        *options* are passed on; ``store`` defaults to ``None`` (no file cache shared between
        tests) and ``algorithms`` to this issuer's algorithm.
        """
        settings: dict[str, Any] = {
            "issuer": self.issuer,
            "audience": audience,
            "store": None,
            "algorithms": (self.algorithm,),
            **options,
        }
        return JwtVerifier(**settings)

    def cognito_verifier(
        self,
        *,
        user_pool_id: str,
        client_id: str | list[str] | None,
        token_use: TokenUse | None,
        **options: Any,
    ) -> CognitoVerifier:
        """A :class:`CognitoVerifier` for tokens from :meth:`cognito_access_token`.

        It checks the real Cognito issuer string of *user_pool_id* and fetches the keys from
        this issuer's :attr:`jwks_uri`. *options* are passed on; ``store`` defaults to ``None``
        and ``algorithms`` to this issuer's algorithm.
        """
        settings: dict[str, Any] = {
            "user_pool_id": user_pool_id,
            "client_id": client_id,
            "token_use": token_use,
            "jwks_uri": self.jwks_uri,
            "store": None,
            "algorithms": (self.algorithm,),
            **options,
        }
        return CognitoVerifier(**settings)

    # HTTP ---------------------------------------------------------------------------------------
    def _metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "id_token_signing_alg_values_supported": [self.algorithm],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
        }

    def _answer(self, path: str) -> Answer:
        if path == "/.well-known/openid-configuration":
            return _json_answer(200, self._metadata())
        if path == "/.well-known/jwks.json":
            return _json_answer(200, self.jwks(), cache="public, max-age=300")
        return _json_answer(404, {"error": "not_found"})


def _b64_padded(data: bytes) -> str:
    """Base64url *with* ``=`` padding: what an Application Load Balancer sends."""
    return base64.urlsafe_b64encode(data).decode("ascii")


class LocalLoadBalancer(_LoopbackServer):
    """An Application Load Balancer, as its targets see it: key endpoint and signed claims.

    Serves each signing key the way the ELB key endpoint does, one PEM document at
    ``/{kid}``, on ``http://127.0.0.1:<port>``; :meth:`mint` signs ``x-amzn-oidc-data``
    tokens the way a load balancer does (ES256, the header fields ``kid``, ``signer``, ``iss``,
    ``client`` and ``exp``, base64url with ``=`` padding), and :meth:`headers` gives the
    three ``x-amzn-oidc-*`` request headers a target receives.

    ```python
    from cognito_jwt.testing import LocalLoadBalancer

    with LocalLoadBalancer() as alb:
        verifier = alb.verifier(store=None)
        claims = verifier.verify(alb.mint({"sub": "alice", "email": "alice@example.com"}))
        assert claims["email"] == "alice@example.com"
    ```

    Args:
        alb_arn: The load balancer's ARN: the ``signer`` of minted tokens.
        issuer: The ``iss`` of minted tokens (the IdP the load balancer authenticates with).
        client_id: The ``client`` of minted tokens.
        port: The port to listen on; 0 picks a free one.

    Attributes:
        requests: How many times each path was requested (to see the cache at work).
        available: While ``False``, every request is answered 503.
        failure_status: Set by :meth:`fail`: every request is answered with this status.
        delay: Seconds each answer waits before it is sent (lets concurrent lookups pile up);
            :meth:`slow` sets it.
    """

    _thread_name = "cognito-jwt-local-alb"

    def __init__(
        self,
        *,
        alb_arn: str = (
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/local/0123456789abcdef"
        ),
        issuer: str = "https://login.example.com",
        client_id: str = "local-client",
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.alb_arn = alb_arn
        self.issuer = issuer
        self.client_id = client_id
        self._keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._published: dict[str, Answer] = {}
        self.rotate()

    @property
    def public_key_url(self) -> str:
        """Where the keys are served: ``{public_key_url}/{kid}``."""
        return self._origin

    @property
    def kids(self) -> list[str]:
        """The key ids, newest last."""
        with self._lock:
            return list(self._keys)

    def rotate(self) -> str:
        """Add a new P-256 signing key (older keys stay served); returns its ``kid``."""
        kid = str(uuid.uuid4())
        with self._lock:
            self._keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return kid

    def public_key_pem(self, kid: str | None = None) -> bytes:
        """The PEM document served for the newest key (or *kid*), as the ELB endpoint has it."""
        from cryptography.hazmat.primitives import serialization

        with self._lock:
            private = self._keys[kid or next(reversed(self._keys))]
        return private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def publish(self, kid: str, body: bytes, *, status: int = 200) -> None:
        """Serve *body* with *status* at ``/{kid}``, in place of a key (to test bad answers)."""
        with self._lock:
            self._published[kid] = (status, body, {"Content-Type": "application/octet-stream"})

    def verifier(self, **options: Any) -> AlbVerifier:
        """An :class:`AlbVerifier` for this load balancer's tokens; *options* are passed on."""
        settings: dict[str, Any] = {
            "alb_arn": self.alb_arn,
            "issuer": self.issuer,
            "client_id": self.client_id,
            "public_key_url": self.public_key_url,
            **options,
        }
        return AlbVerifier(**settings)

    def mint(
        self,
        claims: Mapping[str, Any],
        *,
        lifetime: int = 120,
        kid: str | None = None,
        signing_kid: str | None = None,
        header: Mapping[str, Any] | None = None,
        padded: bool = True,
    ) -> str:
        """Sign *claims* as the ``x-amzn-oidc-data`` token of a load balancer.

        The header names the newest key (or *kid*), this load balancer, its issuer and client,
        and ``exp`` *lifetime* seconds ahead; *header* adds or replaces fields (``alg``
        included: the token is still signed with ES256). The payload is *claims* as given:
        the user info claims, as in the user guide. *signing_kid* signs with another key than
        the one the header names; ``padded=False`` gives the unpadded (RFC 7515) encoding.
        """
        with self._lock:
            kid = kid or next(reversed(self._keys))
            private = self._keys[signing_kid or kid]
        exp = int(time.time()) + lifetime
        fields = {
            "typ": "JWT",
            "kid": kid,
            "alg": "ES256",
            "iss": self.issuer,
            "client": self.client_id,
            "signer": self.alb_arn,
            "exp": exp,
            **(header or {}),
        }
        payload = dict(claims)
        encode = _b64_padded if padded else (lambda data: _b64_padded(data).rstrip("="))
        data = ".".join(
            encode(json.dumps(part, separators=(",", ":")).encode()) for part in (fields, payload)
        )
        signature = ALGORITHMS["ES256"].sign(private, data.encode("ascii"))
        return f"{data}.{encode(signature)}"

    def headers(
        self,
        claims: Mapping[str, Any],
        *,
        access_token: str = "local-access-token",  # noqa: S107 - a placeholder, no secret
        **mint: Any,
    ) -> dict[str, str]:
        """The ``x-amzn-oidc-*`` request headers for a user with *claims* (``sub`` needed).

        *mint* options go to :meth:`mint`.
        """
        return {
            "x-amzn-oidc-data": self.mint(claims, **mint),
            "x-amzn-oidc-identity": str(claims["sub"]),
            "x-amzn-oidc-accesstoken": access_token,
        }

    def _answer(self, path: str) -> Answer:
        kid = path.lstrip("/")
        with self._lock:
            published = self._published.get(kid)
            known = kid in self._keys
        if published is not None:
            return published
        if not known:
            return 404, b"Not Found", {"Content-Type": "text/plain"}
        return 200, self.public_key_pem(kid), {"Content-Type": "application/octet-stream"}
