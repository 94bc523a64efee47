"""Key pairs for ``private_key_jwt`` clients: what to keep and what to register.

:func:`generate_client_key` makes a key pair and, from it, the three things a provider asks for
in one form or another: the public JWK (or a JWKS of it) and a self-signed X.509 certificate
(Login.gov takes the certificate). The private key is written only with mode 0600.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .._algorithms import ALGORITHMS, PrivateKey
from .._errors import ConfigurationError
from .._jwk import MAX_RSA_BITS, MIN_RSA_BITS, jwk_from_public_key, jwk_thumbprint
from .._record import dataclass, field
from ._private_keys import check_key_alg

if TYPE_CHECKING:
    from cryptography import x509

    from ._assertion import ClientAssertionSigner


__all__ = ["ClientKey", "generate_client_key"]

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
}
FILE_NAMES = {
    "private_key": "private.pem",
    "certificate": "public.crt",
    "public_jwk": "public.jwk.json",
    "jwks": "jwks.json",
}


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A client's key pair with its registration material.

    Attributes:
        alg: The algorithm the key signs with.
        kid: The key id (default: the RFC 7638 thumbprint of the public key).
        private_key: The ``cryptography`` private key. Keep it secret.
        certificate: A self-signed X.509 certificate for the public key.
    """

    alg: str
    kid: str
    private_key: PrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public JWK to register: key members plus ``kid``, ``alg`` and ``use: sig``."""
        return {
            **jwk_from_public_key(self.private_key.public_key()),
            "kid": self.kid,
            "alg": self.alg,
            "use": "sig",
        }

    @property
    def jwks(self) -> dict[str, Any]:
        """``{"keys": [public_jwk]}``: for providers that take a JWKS (or a ``jwks_uri``)."""
        return {"keys": [self.public_jwk]}

    def private_pem(self, password: bytes | str | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted with *password* if given.

        Raises:
            ConfigurationError: *password* is not a str or bytes.
        """
        from cryptography.hazmat.primitives import serialization

        if password is not None and not isinstance(password, str | bytes):
            raise ConfigurationError("password must be a str or bytes")
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
        if password:
            secret = password.encode("utf-8") if isinstance(password, str) else password
            encryption = serialization.BestAvailableEncryption(secret)
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @property
    def certificate_pem(self) -> bytes:
        """The certificate as PEM (``-----BEGIN CERTIFICATE-----``)."""
        from cryptography.hazmat.primitives import serialization

        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def signer(self, client_id: str, **options: Any) -> ClientAssertionSigner:
        """A :class:`ClientAssertionSigner` for *client_id* with this key, ``kid`` and ``alg``.

        *options* are the signer's (``audience``, ``lifetime``, ``certificate`` ...); ``alg``
        and ``kid`` default to this key's.
        """
        from ._assertion import ClientAssertionSigner

        options.setdefault("alg", self.alg)
        options.setdefault("kid", self.kid)
        return ClientAssertionSigner(client_id=client_id, key=self.private_key, **options)

    def write(
        self,
        directory: str | os.PathLike[str],
        *,
        password: bytes | str | None = None,
        overwrite: bool = False,
    ) -> dict[str, Path]:
        """Write ``private.pem`` (mode 0600), ``public.crt``, ``public.jwk.json``, ``jwks.json``.

        The directory is created (mode 0700) if missing. Returns the path of each file by
        kind (``private_key``, ``certificate``, ``public_jwk``, ``jwks``).

        Raises:
            ConfigurationError: A file exists and *overwrite* is false, or a write failed.
        """
        folder = Path(directory)
        paths = {kind: folder / name for kind, name in FILE_NAMES.items()}
        if not overwrite:
            existing = [str(p) for p in paths.values() if p.exists()]
            if existing:
                raise ConfigurationError(
                    f"refusing to overwrite {', '.join(existing)} (pass overwrite=True)"
                )
        contents = {
            "private_key": self.private_pem(password),
            "certificate": self.certificate_pem,
            "public_jwk": (json.dumps(self.public_jwk, indent=2) + "\n").encode(),
            "jwks": (json.dumps(self.jwks, indent=2) + "\n").encode(),
        }
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for kind, path in paths.items():
                _write(path, contents[kind], 0o600 if kind == "private_key" else 0o644)
        except OSError as exc:
            raise ConfigurationError(f"cannot write the key files: {exc.strerror}") from None
        return paths


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write *data* to *path* atomically; the file has *mode* from its creation on."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_private_key(alg: str, rsa_bits: int) -> PrivateKey:
    spec = ALGORITHMS[alg]
    if spec.kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    if spec.kty == "EC":
        return ec.generate_private_key(_CURVES[spec.crv or ""]())
    return ed25519.Ed25519PrivateKey.generate()


def _certificate(key: PrivateKey, common_name: str, days: int, now: float) -> x509.Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime.fromtimestamp(int(now), datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - datetime.timedelta(minutes=5))
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    digest = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, digest)


def generate_client_key(
    alg: str = "RS256",
    *,
    kid: str | None = None,
    rsa_bits: int = 2048,
    common_name: str = "cognito-jwt client",
    days: int = 365,
    clock: Callable[[], float] = time.time,
) -> ClientKey:
    """Generate a key pair for ``private_key_jwt`` and a self-signed certificate for it.

    Args:
        alg: RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA (default RS256, which every
            provider accepts; Login.gov requires RSA).
        kid: The key id; default the RFC 7638 thumbprint of the public key.
        rsa_bits: RSA modulus size, 2048 to 8192 (default 2048).
        common_name: The certificate's subject and issuer CN.
        days: Certificate validity in days (default 365).
        clock: Returns the current Unix time (the certificate's start).

    Raises:
        ConfigurationError: An unsupported or forbidden algorithm, a bad size or lifetime.
    """
    alg = check_key_alg(None, alg)
    if isinstance(rsa_bits, bool) or not isinstance(rsa_bits, int):
        raise ConfigurationError("rsa_bits must be an int")
    if not MIN_RSA_BITS <= rsa_bits <= MAX_RSA_BITS or rsa_bits % 8:
        raise ConfigurationError(
            f"rsa_bits must be a multiple of 8 from {MIN_RSA_BITS} to {MAX_RSA_BITS}"
        )
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise ConfigurationError("days must be an int from 1 to 3650")
    if not isinstance(common_name, str) or not common_name or len(common_name) > 64:
        raise ConfigurationError("common_name must be 1 to 64 characters")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise ConfigurationError("kid must be a non-empty string")
    key = _new_private_key(alg, rsa_bits)
    kid = kid or jwk_thumbprint(jwk_from_public_key(key.public_key()))
    return ClientKey(alg, kid, key, _certificate(key, common_name, days, clock()))
