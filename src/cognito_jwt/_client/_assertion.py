"""``private_key_jwt`` client assertions (RFC 7523 §2.2, §3; OpenID Connect Core §9).

A client proves who it is to a token endpoint by signing a short-lived JWT with its private key:
``iss`` = ``sub`` = the client id, ``aud`` = the token endpoint (or the issuer), a fresh ``jti``,
``iat`` and ``exp`` a couple of minutes ahead. The key can be a PEM, a private JWK, or a
callable that signs elsewhere (AWS KMS, an HSM).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._algorithms import ALGORITHMS, PrivateKey, PublicKey
from .._b64 import b64url_encode
from .._errors import ConfigurationError, SigningError
from .._jwk import (
    MAX_RSA_BITS,
    MIN_RSA_BITS,
    jwk_from_public_key,
    jwk_thumbprint,
    quiet_key_loading,
)
from .._plan import run_plan, run_plan_async
from ._private_keys import (
    check_key_alg,
    check_private_key,
    check_public_key,
    default_alg,
    load_pem_private_key,
    private_key_from_jwk,
)
from ._sign import encode_compact, signing_input

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["CLIENT_ASSERTION_TYPE", "ClientAssertionSigner", "SignCallable"]

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of a JWT client assertion (RFC 7523 §2.2)."""

SignCallable = Callable[[bytes], bytes] | Callable[[bytes], Awaitable[bytes]]
"""``sign(signing_input) -> signature``: signs the ASCII ``header.payload`` bytes elsewhere."""

DEFAULT_LIFETIME = 120.0
MAX_LIFETIME = 600.0
_RESERVED = frozenset({"iss", "sub", "aud", "jti", "iat", "exp", "nbf"})
_ES_SIZES = {"ES256": 32, "ES384": 48, "ES512": 66}


def _audience(value: object, what: str) -> str | list[str]:
    if isinstance(value, str):
        if not value:
            raise ConfigurationError(f"{what} must not be empty")
        return value
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = list(value)
        if not items or not all(isinstance(item, str) and item for item in items):
            raise ConfigurationError(f"{what} must be a string or a non-empty list of strings")
        return items
    raise ConfigurationError(f"{what} must be a string or a list of strings, got {value!r}")


def _lifetime(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 1 <= value <= MAX_LIFETIME
    ):
        raise ConfigurationError(
            f"lifetime must be a number of seconds from 1 to {MAX_LIFETIME:.0f}, got {value!r}"
        )
    return float(value)


def _load_certificate(certificate: object) -> x509.Certificate:
    from cryptography import x509

    if isinstance(certificate, x509.Certificate):
        return certificate
    if isinstance(certificate, str):
        certificate = certificate.encode("ascii", "replace")
    if not isinstance(certificate, bytes | bytearray):
        raise ConfigurationError("certificate must be PEM/DER bytes or an x509.Certificate")
    try:
        if b"-----BEGIN CERTIFICATE-----" in certificate:
            return x509.load_pem_x509_certificate(bytes(certificate))
        return x509.load_der_x509_certificate(bytes(certificate))
    except ValueError:
        raise ConfigurationError(
            "certificate is not a valid PEM or DER X.509 certificate"
        ) from None


def _x5t_s256(certificate: object, public: PublicKey | None) -> str:
    """The ``x5t#S256`` header value of *certificate*, which must hold *public* (if known)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    cert = _load_certificate(certificate)
    try:
        with quiet_key_loading():
            held = check_public_key(cert.public_key())
    except (ConfigurationError, UnsupportedAlgorithm):  # e.g. secp256k1, SM2, RSA-1024
        raise ConfigurationError("the certificate holds an unsupported key type") from None
    if public is not None and jwk_from_public_key(held) != jwk_from_public_key(public):
        raise ConfigurationError("the certificate does not hold the signing key")
    der = cert.public_bytes(serialization.Encoding.DER)
    return b64url_encode(hashlib.sha256(der).digest())


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {os.fspath(path)!r}: {exc.strerror}") from None


class ClientAssertionSigner:
    """Signs ``private_key_jwt`` client assertions for one OAuth client.

    Build it from a key with :meth:`from_pem`, :meth:`from_pem_file` or :meth:`from_jwk`, or
    with the constructor from a ``cryptography`` private key or a signer callable::

        signer = ClientAssertionSigner.from_pem_file("private.pem", client_id="my-client")
        fields = signer.form_fields(audience="https://idp.example.com/token")

    Args:
        client_id: The OAuth client id: both ``iss`` and ``sub`` of every assertion.
        key: A ``cryptography`` RSA (2048-8192 bits), EC (P-256/384/521) or Ed25519 private
            key. Exactly one of *key* and *sign* is given.
        sign: A callable that signs elsewhere (KMS, HSM): it gets the signing input (ASCII
            bytes ``header.payload``) and returns the signature, or an awaitable of it. For
            ECDSA it returns raw ``r || s`` (JWS form) unless ``signature_encoding="der"``
            (what AWS KMS returns). It may raise; the error becomes :class:`SigningError`.
        alg: The JWS algorithm. Default for a key: RS256 (RSA), ES256/384/512 (by curve),
            EdDSA (Ed25519). Required with *sign*. ``none`` and HMAC are refused.
        kid: The header ``kid``. Default: the JWK's ``kid`` (:meth:`from_jwk`), else the RFC
            7638 thumbprint of the public key. Required with *sign* unless *public_key* is
            given.
        public_key: With *sign*: the matching public key. Gives the default ``kid`` and
            :attr:`public_jwk`, and every signature from the callable is checked against it.
        certificate: The X.509 certificate registered with the provider (PEM, DER or a
            ``cryptography`` certificate): adds its ``x5t#S256`` thumbprint to the header. It
            must hold the signing key's public key.
        audience: The default ``aud`` when :meth:`sign` is not given one: the token endpoint
            URL, the issuer, or a list. (:class:`TokenClient` always passes one.)
        lifetime: Seconds from ``iat`` to ``exp``; default 120, at most 600.
        not_before: Also write ``nbf`` (= ``iat``); some providers require it.
        signature_encoding: ``"raw"`` or ``"der"``: what an ECDSA *sign* callable returns.
        clock: Returns the current Unix time (injected in tests).

    Raises:
        ConfigurationError: Anything above missing, inconsistent or unsupported.
    """

    def __init__(
        self,
        *,
        client_id: str,
        key: PrivateKey | None = None,
        sign: SignCallable | None = None,
        alg: str | None = None,
        kid: str | None = None,
        public_key: PublicKey | None = None,
        certificate: bytes | str | x509.Certificate | None = None,
        audience: str | Sequence[str] | None = None,
        lifetime: float = DEFAULT_LIFETIME,
        not_before: bool = False,
        signature_encoding: Literal["raw", "der"] = "raw",
        clock: Callable[[], float] = time.time,
        _public_jwk: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if (key is None) == (sign is None):
            raise ConfigurationError("give exactly one of key= and sign=")
        if signature_encoding not in ("raw", "der"):
            raise ConfigurationError("signature_encoding must be 'raw' or 'der'")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise ConfigurationError("kid must be a non-empty string")
        self._client_id = client_id
        self._key = key
        self._sign = sign
        self._der = signature_encoding == "der"
        if key is not None:
            key = check_private_key(key)
            if public_key is not None:
                raise ConfigurationError("public_key= is only for sign=; a key has its own")
            public: PublicKey | None = key.public_key()
            self._alg = check_key_alg(key, alg if alg is not None else default_alg(key))
        else:
            if not callable(sign):
                raise ConfigurationError("sign must be a callable")
            if alg is None:
                raise ConfigurationError("a sign= callable must declare its alg")
            public = None if public_key is None else check_public_key(public_key)
            self._alg = check_key_alg(public, alg)
        self._public = public
        self._public_jwk: dict[str, Any] | None = None
        if public is not None:
            members = dict(_public_jwk) if _public_jwk is not None else jwk_from_public_key(public)
            thumbprint = jwk_thumbprint(jwk_from_public_key(public))
            kid = kid if kid is not None else members.get("kid") or thumbprint
            members.update({"kid": kid, "alg": self._alg, "use": "sig"})
            members.pop("key_ops", None)
            self._public_jwk = members
        if kid is None:
            raise ConfigurationError(
                "a sign= callable must declare its kid (or pass public_key= to use its "
                "RFC 7638 thumbprint)"
            )
        self._kid: str = kid
        self._x5t = None if certificate is None else _x5t_s256(certificate, public)
        self._audience = None if audience is None else _audience(audience, "audience")
        self._lifetime = _lifetime(lifetime)
        self._not_before = bool(not_before)
        self._clock = clock

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_pem(
        cls,
        pem: bytes | str,
        *,
        client_id: str,
        password: bytes | str | None = None,
        **options: Any,
    ) -> ClientAssertionSigner:
        """Build a signer from a PEM private key (PKCS#8, traditional or encrypted).

        The PEM written by ``openssl req -nodes -x509 -newkey rsa:2048 -keyout private.pem``
        works as is. *options* are the constructor's (``alg``, ``kid``, ``certificate`` ...).

        Raises:
            ConfigurationError: The PEM holds no usable private key (see the constructor).
        """
        return cls(client_id=client_id, key=load_pem_private_key(pem, password), **options)

    @classmethod
    def from_pem_file(
        cls,
        path: str | os.PathLike[str],
        *,
        client_id: str,
        password: bytes | str | None = None,
        **options: Any,
    ) -> ClientAssertionSigner:
        """Like :meth:`from_pem`, reading the PEM from *path*.

        Raises:
            ConfigurationError: The file can't be read or holds no usable private key.
        """
        return cls.from_pem(_read(path), client_id=client_id, password=password, **options)

    @classmethod
    def from_jwk(
        cls, jwk: Mapping[str, Any] | str | bytes, *, client_id: str, **options: Any
    ) -> ClientAssertionSigner:
        """Build a signer from a private JWK (a mapping or its JSON text).

        The JWK's ``kid`` becomes the header ``kid`` and its ``alg``, if present, pins the
        algorithm (a different ``alg=`` is an error).

        Raises:
            ConfigurationError: Not a usable private RSA/EC/Ed25519 JWK.
        """
        if isinstance(jwk, str | bytes):
            from .._json import loads_object

            try:
                jwk = loads_object(jwk.encode() if isinstance(jwk, str) else jwk)
            except ValueError:
                raise ConfigurationError("the JWK is not a JSON object") from None
        key, public_jwk = private_key_from_jwk(jwk)
        pinned = public_jwk.get("alg")
        if pinned is not None:
            if options.get("alg") not in (None, pinned):
                raise ConfigurationError(
                    f"alg={options['alg']!r} contradicts the JWK's alg {pinned!r}"
                )
            options["alg"] = pinned
        return cls(client_id=client_id, key=key, _public_jwk=public_jwk, **options)

    # -- description -------------------------------------------------------------------------
    @property
    def client_id(self) -> str:
        """The client id written as ``iss`` and ``sub``."""
        return self._client_id

    @property
    def alg(self) -> str:
        """The JWS algorithm of every assertion."""
        return self._alg

    @property
    def kid(self) -> str:
        """The header ``kid`` of every assertion."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, Any] | None:
        """The public JWK to register with the provider (``kid``, ``alg``, ``use``).

        ``None`` for a signer callable given no ``public_key``.
        """
        return None if self._public_jwk is None else dict(self._public_jwk)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(client_id={self._client_id!r}, alg={self._alg!r}, "
            f"kid={self._kid!r})"
        )

    # -- signing -----------------------------------------------------------------------------
    def _claims(
        self,
        audience: str | Sequence[str] | None,
        lifetime: float | None,
        extra_claims: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if audience is not None:
            aud = _audience(audience, "audience")
        elif self._audience is not None:
            aud = self._audience
        else:
            raise ConfigurationError(
                "no audience: pass audience= (the token endpoint URL) to sign() or the signer"
            )
        ttl = self._lifetime if lifetime is None else _lifetime(lifetime)
        now = int(self._clock())
        claims: dict[str, Any] = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": aud,
            # 256 random bits: unguessable and, for all practical purposes, never repeated.
            "jti": secrets.token_urlsafe(32),
            "iat": now,
            "exp": now + max(1, int(ttl)),
        }
        if self._not_before:
            claims["nbf"] = now
        if extra_claims is not None and not isinstance(extra_claims, Mapping):
            # A list of pairs would pass the check below and still replace 'iss' in update().
            raise ConfigurationError("extra_claims must be a mapping of claim names to values")
        if extra_claims:
            clash = sorted(_RESERVED.intersection(extra_claims))
            if clash:
                raise ConfigurationError(f"extra_claims may not set {', '.join(clash)}")
            claims.update(extra_claims)
        return claims

    def _header(self) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": self._alg, "kid": self._kid}
        if self._x5t is not None:
            header["x5t#S256"] = self._x5t
        return header

    def _check_signature(self, signature: object, data: bytes) -> bytes:
        if not isinstance(signature, bytes | bytearray | memoryview):
            raise SigningError(f"the sign callable returned {type(signature).__name__}, not bytes")
        signature = bytes(signature)
        size = _ES_SIZES.get(self._alg)
        if size is not None and self._der:
            from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

            try:
                r, s = decode_dss_signature(signature)
                signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
            except (ValueError, OverflowError):
                raise SigningError("the sign callable returned an invalid DER signature") from None
        expected = 2 * size if size else 64 if ALGORITHMS[self._alg].kty == "OKP" else None
        if expected is not None and len(signature) != expected:
            raise SigningError(
                f"the sign callable returned {len(signature)} bytes; {self._alg} signatures "
                f"are {expected} bytes" + (" (use signature_encoding='der'?)" if size else "")
            )
        # An RSA signature is as long as the modulus: 2048-8192 bits are accepted.
        if expected is None and not MIN_RSA_BITS // 8 <= len(signature) <= MAX_RSA_BITS // 8:
            raise SigningError(
                f"the sign callable returned {len(signature)} bytes; {self._alg} signatures "
                f"are {MIN_RSA_BITS // 8} to {MAX_RSA_BITS // 8} bytes"
            )
        if self._public is not None and not ALGORITHMS[self._alg].verify(
            self._public, signature, data
        ):
            raise SigningError("the sign callable's signature does not verify with public_key")
        return signature

    def _call(self, data: bytes) -> object:
        assert self._sign is not None  # noqa: S101 - only called for sign= signers
        try:
            return self._sign(data)
        except Exception as exc:
            raise SigningError(f"the sign callable failed: {type(exc).__name__}") from exc

    def sign(
        self,
        audience: str | Sequence[str] | None = None,
        *,
        lifetime: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Return a new signed assertion (compact JWS), with a fresh ``jti``.

        Args:
            audience: ``aud``: the token endpoint URL (the usual choice), the issuer, or a
                list; default the signer's ``audience``.
            lifetime: Seconds until ``exp`` (1 to 600); default the signer's.
            extra_claims: More claims; may not replace ``iss``, ``sub``, ``aud``, ``jti``,
                ``iat``, ``exp`` or ``nbf``.

        Raises:
            ConfigurationError: No audience, a bad lifetime, or a reserved extra claim.
            SigningError: The sign callable failed, is async (use :meth:`sign_async`), or
                returned something that is not a valid signature.
        """
        return run_plan(self._sign_plan(audience, lifetime, extra_claims), self._call_sync)

    async def sign_async(
        self,
        audience: str | Sequence[str] | None = None,
        *,
        lifetime: float | None = None,
        extra_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Like :meth:`sign`, for async code.

        An async sign callable is awaited; a sync one runs in a worker thread (it may do
        network I/O, like a KMS call), so the event loop never blocks on it.
        """
        return await run_plan_async(
            self._sign_plan(audience, lifetime, extra_claims), self._call_async
        )

    def _sign_plan(
        self,
        audience: str | Sequence[str] | None,
        lifetime: float | None,
        extra_claims: Mapping[str, Any] | None,
    ) -> Generator[bytes, object, str]:
        """The steps of :meth:`sign`, written once: the one step is the sign callable's.

        With a key, nothing is yielded. With a sign callable, the signing input is yielded;
        the driver (:meth:`_call_sync` or :meth:`_call_async`) sends back what it returned.
        """
        claims = self._claims(audience, lifetime, extra_claims)
        if self._key is not None:
            return encode_compact(claims, self._key, alg=self._alg, headers=self._header())
        data = signing_input(self._header(), claims)
        return self._finish(data, (yield data))

    def _call_sync(self, data: bytes) -> object:
        """The sync face of the step: call the sign callable; an awaitable is refused."""
        result = self._call(data)
        if hasattr(result, "__await__"):
            close = getattr(result, "close", None)
            if callable(close):
                close()  # a coroutine never awaited would warn
            raise SigningError("the sign callable is async: use sign_async()")
        return result

    async def _call_async(self, data: bytes) -> object:
        """The async face: await an async callable; run a sync one in a worker thread."""
        import asyncio  # lazy: verifiers in sync code never pay for it
        import inspect

        if inspect.iscoroutinefunction(self._sign):
            result = self._call(data)
        else:
            result = await asyncio.to_thread(self._call, data)
        if inspect.isawaitable(result):
            try:
                result = await result
            except Exception as exc:
                raise SigningError(f"the sign callable failed: {type(exc).__name__}") from exc
        return result

    def _finish(self, data: bytes, result: object) -> str:
        signature = self._check_signature(result, data)
        return f"{data.decode('ascii')}.{b64url_encode(signature)}"

    def form_fields(
        self, audience: str | Sequence[str] | None = None, **options: Any
    ) -> dict[str, str]:
        """The two form fields that authenticate the client at a token endpoint.

        Returns ``{"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:
        jwt-bearer", "client_assertion": <a new assertion>}``. Arguments are :meth:`sign`'s.
        """
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": self.sign(audience, **options),
        }

    async def form_fields_async(
        self, audience: str | Sequence[str] | None = None, **options: Any
    ) -> dict[str, str]:
        """Like :meth:`form_fields`, signing with :meth:`sign_async`."""
        return {
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": await self.sign_async(audience, **options),
        }
