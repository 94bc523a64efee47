"""The algorithm registry: which JWS algorithms exist here, what keys fit them, verify and sign.

Only asymmetric algorithms are registered (RFC 7518 §3.3-3.5, RFC 8037 §3.1, RFC 9864 §2.2).
``none`` and the HMAC family are not just missing: they are named in :data:`FORBIDDEN` so that an
allowlist naming them is a configuration error, and a token using them is refused before any
key is looked at, whatever the allowlist says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from ._alg_names import (
    ALGORITHM_NAMES,
    DEFAULT_ALGORITHMS,
    FORBIDDEN,
    check_allowlist,
    is_forbidden,
)
from ._errors import ConfigurationError
from ._record import dataclass

if TYPE_CHECKING:
    from collections.abc import Callable


__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHMS",
    "FORBIDDEN",
    "Algorithm",
    "Check",
    "PrivateKey",
    "PublicKey",
    "check_allowlist",
    "is_forbidden",
]

PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
Kty = Literal["RSA", "EC", "OKP"]
Check: TypeAlias = "Callable[[bytes, bytes], bool]"


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One JWS algorithm and the key it needs.

    Attributes:
        name: The ``alg`` value, case-sensitive.
        kty: The JWK key type that can verify it.
        crv: For EC and OKP, the one curve that fits (the curve is part of the algorithm).
        prepare: ``prepare(key) -> check`` where ``check(signature, signing_input) -> bool``
            verifies with *key*; ``None`` when the key has the wrong type or curve. Key
            processing prepares one check per key and algorithm, so the hot path does no type
            checks and no table lookups.
        sign: ``sign(private_key, signing_input) -> signature`` in JWS form.
    """

    name: str
    kty: Kty
    crv: str | None
    prepare: Callable[[PublicKey], Check | None]
    sign: Callable[[PrivateKey, bytes], bytes]

    def verify(self, key: PublicKey, signature: bytes, signing_input: bytes) -> bool:
        """Verify *signature* over *signing_input* with *key*; ``False`` for a wrong key type.

        Never raises for a bad signature. Prefer a check from :attr:`prepare` on hot paths.
        """
        check = self.prepare(key)
        return check is not None and check(signature, signing_input)


# --- RSA ---------------------------------------------------------------------------------------
_PKCS1 = padding.PKCS1v15()


def _rsa(
    hash_alg: hashes.HashAlgorithm, pad: padding.AsymmetricPadding
) -> tuple[Callable[[PublicKey], Check | None], Callable[[PrivateKey, bytes], bytes]]:
    # Padding and hash objects are immutable: built once per algorithm, not per verification.
    def prepare(key: PublicKey) -> Check | None:
        if not isinstance(key, rsa.RSAPublicKey):  # fail closed on a key of the wrong type
            return None
        # RSA signatures have exactly the modulus length (RFC 8017 §8.2.2 step 1, §8.1.2).
        size = (key.key_size + 7) // 8
        verify = key.verify

        def check(signature: bytes, data: bytes) -> bool:
            if len(signature) != size:
                return False
            try:
                verify(signature, data, pad, hash_alg)
            except (InvalidSignature, ValueError):
                return False
            return True

        return check

    def sign(key: PrivateKey, data: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigurationError("RS* and PS* algorithms need an RSA private key")
        return key.sign(data, pad, hash_alg)

    return prepare, sign


def _rsa_pss(hash_alg: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 7518 §3.5: MGF1 with the same hash, salt length equal to the hash output.
    return padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)


# --- ECDSA ---------------------------------------------------------------------------------------
# curve name → (curve, coordinate size in octets, group order n); the orders are checked in
# tests/unit/test_algorithms.py against the curve itself: (n - 1)·G = -G.
_CURVES: dict[str, tuple[ec.EllipticCurve, int, int]] = {
    "P-256": (
        ec.SECP256R1(),
        32,
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    ),
    "P-384": (
        ec.SECP384R1(),
        48,
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
    ),
    "P-521": (
        ec.SECP521R1(),
        66,
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
    ),
}


# The field primes (FIPS 186-5 / SEC 2): a JWK coordinate must be below p. cryptography reduces
# x + p to x silently, which would give one key many encodings.
_FIELD_PRIMES = {
    "P-256": 2**256 - 2**224 + 2**192 + 2**96 - 1,
    "P-384": 2**384 - 2**128 - 2**96 + 2**32 - 1,
    "P-521": 2**521 - 1,
}


def curve_info(crv: str) -> tuple[ec.EllipticCurve, int, int] | None:
    """Return the ``cryptography`` curve, coordinate size and field prime of a JWK ``crv``."""
    info = _CURVES.get(crv)
    return None if info is None else (info[0], info[1], _FIELD_PRIMES[crv])


def _ecdsa(
    crv: str, hash_alg: hashes.HashAlgorithm
) -> tuple[Callable[[PublicKey], Check | None], Callable[[PrivateKey, bytes], bytes]]:
    curve, size, order = _CURVES[crv]
    full = 2 * size
    # ec.ECDSA is built with the first EC key: its constructor imports cryptography's OpenSSL
    # backend (and with it the cipher modules), which a cold start verifying RS256 never needs.
    ecdsa: list[ec.ECDSA] = []

    def signature_algorithm() -> ec.ECDSA:
        if not ecdsa:
            ecdsa.append(ec.ECDSA(hash_alg))
        return ecdsa[0]

    def prepare(key: PublicKey) -> Check | None:
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve.name:
            return None  # fail closed on a key of the wrong type or curve
        verify = key.verify
        algorithm = signature_algorithm()

        def check(signature: bytes, data: bytes) -> bool:
            # RFC 7518 §3.4: exactly R || S, each the full coordinate size; DER is refused.
            if len(signature) != full:
                return False
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            # 0 < r, s < n: rules out the "psychic signature" r = s = 0 (CVE-2022-21449) and
            # its relatives explicitly rather than trusting the backend to.
            if not (0 < r < order and 0 < s < order):
                return False
            try:
                verify(encode_dss_signature(r, s), data, algorithm)
            except (InvalidSignature, ValueError):
                return False
            return True

        return check

    def sign(key: PrivateKey, data: bytes) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != curve.name:
            raise ConfigurationError(f"ES* with {crv} needs an EC private key on {crv}")
        r, s = decode_dss_signature(key.sign(data, signature_algorithm()))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return prepare, sign


# --- EdDSA ---------------------------------------------------------------------------------------
def _ed25519_prepare(key: PublicKey) -> Check | None:
    if not isinstance(key, ed25519.Ed25519PublicKey):  # fail closed on a key of the wrong type
        return None
    verify = key.verify

    def check(signature: bytes, data: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return check


def _ed25519_sign(key: PrivateKey, data: bytes) -> bytes:
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigurationError("EdDSA needs an Ed25519 private key")
    return key.sign(data)


def _build() -> dict[str, Algorithm]:
    table: dict[str, Algorithm] = {}
    for bits, hash_alg in (
        ("256", hashes.SHA256()),
        ("384", hashes.SHA384()),
        ("512", hashes.SHA512()),
    ):
        table["RS" + bits] = Algorithm("RS" + bits, "RSA", None, *_rsa(hash_alg, _PKCS1))
        table["PS" + bits] = Algorithm(
            "PS" + bits, "RSA", None, *_rsa(hash_alg, _rsa_pss(hash_alg))
        )
    for name, crv, hash_alg in (
        ("ES256", "P-256", hashes.SHA256()),
        ("ES384", "P-384", hashes.SHA384()),
        ("ES512", "P-521", hashes.SHA512()),
    ):
        table[name] = Algorithm(name, "EC", crv, *_ecdsa(crv, hash_alg))
    # "EdDSA" (RFC 8037) and its fully specified successor "Ed25519" (RFC 9864); Ed448 is not
    # supported.
    for name in ("EdDSA", "Ed25519"):
        table[name] = Algorithm(name, "OKP", "Ed25519", _ed25519_prepare, _ed25519_sign)
    return table


ALGORITHMS: dict[str, Algorithm] = _build()
"""Every supported algorithm by its case-sensitive ``alg`` name."""

if frozenset(ALGORITHMS) != ALGORITHM_NAMES:  # pragma: no cover - a table out of step
    raise RuntimeError("_algorithms and _alg_names disagree on the supported algorithms")
