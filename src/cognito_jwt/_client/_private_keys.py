"""Private keys for signing: loading PEM and private JWKs, and which algorithms fit a key.

The rules mirror those a verifier applies to public keys (``_jwk``): RSA 2048-8192 bits with a
sane exponent, EC on P-256/P-384/P-521, Ed25519. A key this library would refuse to verify with
is refused for signing too: a provider is likely to refuse it, and later than we would.
Error messages never contain key material or passwords.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .._algorithms import ALGORITHMS, PrivateKey, PublicKey, is_forbidden
from .._b64 import b64url_decode
from .._errors import ConfigurationError
from .._jwk import MAX_RSA_BITS, MIN_RSA_BITS, jwk_from_public_key, parse_jwk, quiet_key_loading

__all__ = [
    "algorithms_for",
    "check_key_alg",
    "check_private_key",
    "check_public_key",
    "default_alg",
    "load_pem_private_key",
    "private_key_from_jwk",
]

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
# One PEM private key block, whatever its flavour (PKCS#8, traditional RSA/EC, encrypted).
_PEM_BLOCK = re.compile(
    rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----.+?-----END \1-----", re.DOTALL
)
_MAX_PEM_BYTES = 64 * 1024


def check_private_key(key: object) -> PrivateKey:
    """Return *key* if it is a private key this library signs with.

    Raises:
        ConfigurationError: Not an RSA (2048-8192 bits), EC (P-256/384/521) or Ed25519 key.
    """
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        check_public_key(key.public_key())
        return key
    raise ConfigurationError(
        f"unsupported private key type {type(key).__name__}; use RSA, EC (P-256/384/521) or Ed25519"
    )


def check_public_key(key: object) -> PublicKey:
    """Return *key* if it is a public key this library verifies with (the same rules).

    Raises:
        ConfigurationError: Not an RSA (2048-8192 bits), EC (P-256/384/521) or Ed25519 public
            key (a private key, say).
    """
    if isinstance(key, rsa.RSAPublicKey):
        if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
            raise ConfigurationError(
                f"RSA key has {key.key_size} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"
            )
        e = key.public_numbers().e
        if e < 3 or e % 2 == 0 or e.bit_length() > 32:
            raise ConfigurationError("RSA public exponent must be odd, at least 3 and < 2**32")
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVE_NAMES:
            raise ConfigurationError(
                f"EC curve {key.curve.name} is not supported (P-256, P-384, P-521)"
            )
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise ConfigurationError(
        f"unsupported public key type {type(key).__name__}; use RSA, EC (P-256/384/521) or Ed25519"
    )


def algorithms_for(key: PrivateKey | PublicKey) -> tuple[str, ...]:
    """Return the algorithms *key* can sign (or verify) with, the usual choice first."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        crv = _CURVE_NAMES.get(key.curve.name)
        return tuple(a for a, spec in ALGORITHMS.items() if spec.kty == "EC" and spec.crv == crv)
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ("EdDSA", "Ed25519")
    return ()  # type: ignore[unreachable]  # a caller's object of another type


def default_alg(key: PrivateKey | PublicKey) -> str:
    """The algorithm used when none is named: RS256, ES256/384/512 by curve, or EdDSA.

    Raises:
        ConfigurationError: No supported algorithm fits *key*.
    """
    algs = algorithms_for(key)
    if not algs:
        raise ConfigurationError(f"no supported algorithm fits a {type(key).__name__}")
    return algs[0]


def check_key_alg(key: PrivateKey | PublicKey | None, alg: object) -> str:
    """Return *alg* if it is a signing algorithm this library supports and it fits *key*.

    Raises:
        ConfigurationError: *alg* is not a string, is ``none``/HMAC, is unknown, or needs
            another kind of key (an RSA key with ES256, a P-384 key with ES256 ...).
    """
    if not isinstance(alg, str) or not alg:
        raise ConfigurationError(f"alg must be a non-empty string, got {alg!r}")
    if is_forbidden(alg):
        raise ConfigurationError(
            f"algorithm {alg!r} is never used: client assertions are signed with private keys "
            "(RS*, PS*, ES*, EdDSA), not 'none' or HMAC"
        )
    if alg not in ALGORITHMS:
        raise ConfigurationError(
            f"unsupported algorithm {alg!r}; supported: {', '.join(sorted(ALGORITHMS))}"
        )
    if key is not None and alg not in algorithms_for(key):
        fits = ", ".join(algorithms_for(key)) or "none"
        raise ConfigurationError(
            f"algorithm {alg} does not fit this {_describe(key)} (it fits: {fits})"
        )
    return alg


def _describe(key: PrivateKey | PublicKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return f"RSA-{key.key_size} key"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"EC {_CURVE_NAMES.get(key.curve.name, key.curve.name)} key"
    return "Ed25519 key"


def load_pem_private_key(data: bytes | str, password: bytes | str | None = None) -> PrivateKey:
    """Load the private key of a PEM document.

    Accepts PKCS#8 (``BEGIN PRIVATE KEY``, what ``openssl req -newkey rsa:2048 -nodes
    -keyout`` writes), traditional ``BEGIN RSA/EC PRIVATE KEY``, and encrypted PKCS#8 with
    *password*. The document may hold other blocks too (a certificate first, say): the first
    private key block is used.

    Raises:
        ConfigurationError: No private key block, encrypted without (or with a wrong)
            password, a password for a key that is not encrypted, or a key type or size that is
            not supported. The message never includes the key or the password.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    if not isinstance(raw, bytes | bytearray):
        raise ConfigurationError("the PEM must be bytes or str")
    if len(raw) > _MAX_PEM_BYTES:
        raise ConfigurationError(f"the PEM is larger than {_MAX_PEM_BYTES} bytes")
    match = _PEM_BLOCK.search(bytes(raw))
    if match is None:
        hint = " (this is a certificate or public key)" if b"-----BEGIN " in raw else ""
        raise ConfigurationError(f"no PEM private key block found{hint}")
    secret = password.encode("utf-8") if isinstance(password, str) else password
    # Lazy: the serialization package costs ~40 ms to import and verifiers never need it.
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    encrypted = match.group(1) == b"ENCRYPTED PRIVATE KEY" or b"Proc-Type: 4,ENCRYPTED" in (
        match.group(0)
    )
    if encrypted and not secret:
        raise ConfigurationError("the private key is encrypted: pass its password")
    if not encrypted and secret:
        raise ConfigurationError("a password was given but the private key is not encrypted")
    try:
        with quiet_key_loading():
            key = serialization.load_pem_private_key(match.group(0), password=secret)
    except UnsupportedAlgorithm:  # a curve or cipher cryptography does not know (SM2 ...)
        raise ConfigurationError(
            "cannot load the private key: unsupported key type or encryption"
        ) from None
    except (ValueError, TypeError):
        why = "wrong password or corrupt key" if encrypted else "corrupt or unsupported key"
        raise ConfigurationError(f"cannot load the private key: {why}") from None
    return check_private_key(key)


def _int(jwk: Mapping[str, Any], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"private JWK member {name!r} is missing or not a string")
    try:
        return int.from_bytes(b64url_decode(value), "big")
    except ValueError:
        raise ConfigurationError(f"private JWK member {name!r} is not base64url") from None


def _private_rsa(jwk: Mapping[str, Any], public: rsa.RSAPublicKey) -> rsa.RSAPrivateKey:
    if "oth" in jwk:
        raise ConfigurationError("multi-prime RSA keys ('oth') are not supported")
    numbers = public.public_numbers()
    d = _int(jwk, "d")
    crt = ("p", "q", "dp", "dq", "qi")
    present = [name for name in crt if name in jwk]
    if present and len(present) != len(crt):
        raise ConfigurationError("an RSA private JWK needs all of p, q, dp, dq, qi, or none")
    if present:
        p, q, dp, dq, qi = (_int(jwk, name) for name in crt)
    else:
        try:
            p, q = rsa.rsa_recover_prime_factors(numbers.n, numbers.e, d)
        except ValueError:
            raise ConfigurationError("the RSA private exponent does not match 'n'/'e'") from None
        dp, dq, qi = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
    try:
        return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, numbers).private_key()
    except ValueError:
        raise ConfigurationError("the RSA private JWK is inconsistent") from None


def _private_ec(jwk: Mapping[str, Any], public: ec.EllipticCurvePublicKey) -> PrivateKey:
    d = _int(jwk, "d")
    try:
        return ec.derive_private_key(d, public.curve)
    except (ValueError, TypeError):
        raise ConfigurationError("the EC private scalar 'd' is out of range") from None


def _private_okp(jwk: Mapping[str, Any]) -> PrivateKey:
    d = jwk.get("d")
    try:
        raw = b64url_decode(d) if isinstance(d, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise ConfigurationError("the Ed25519 private JWK member 'd' must be 32 octets")
    return ed25519.Ed25519PrivateKey.from_private_bytes(raw)


def private_key_from_jwk(jwk: object) -> tuple[PrivateKey, dict[str, Any]]:
    """Load a private JWK (RFC 7517/7518/8037); return the key and its public JWK.

    The public part is held to the verifier's key rules, and the private part must belong to
    it. The public JWK keeps ``kid``, ``alg``, ``use`` and ``key_ops`` (as ``["verify"]``).

    Raises:
        ConfigurationError: Not a private RSA/EC/Ed25519 JWK, a member is malformed, the
            private and public parts don't match, or ``use``/``key_ops`` forbid signing.
    """
    if not isinstance(jwk, Mapping):
        raise ConfigurationError("a private JWK must be a JSON object")
    # Before the 'd' check: a symmetric key has 'k', not 'd', and is no public key either.
    if jwk.get("kty") == "oct":
        raise ConfigurationError("symmetric ('oct') keys are never used: HMAC is not supported")
    if "d" not in jwk:
        raise ConfigurationError("the JWK has no private member 'd': it is a public key")
    key_ops = jwk.get("key_ops")
    if "key_ops" in jwk and (not isinstance(key_ops, list) or "sign" not in key_ops):
        raise ConfigurationError("the JWK's 'key_ops' does not allow 'sign'")
    private_members = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
    public_jwk = {k: v for k, v in jwk.items() if k not in private_members}
    if "key_ops" in public_jwk:
        public_jwk["key_ops"] = ["verify"]
    try:
        prepared = parse_jwk(public_jwk)
    except ValueError as exc:
        raise ConfigurationError(f"unusable JWK: {exc}") from None
    public = prepared.key
    key: PrivateKey
    if isinstance(public, rsa.RSAPublicKey):
        key = _private_rsa(jwk, public)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key = _private_ec(jwk, public)
    else:
        key = _private_okp(jwk)
    if jwk_from_public_key(key.public_key()) != jwk_from_public_key(public):
        raise ConfigurationError("the JWK's private part does not belong to its public part")
    return check_private_key(key), public_jwk
