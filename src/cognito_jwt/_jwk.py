"""JWK → prepared public key; JWKS → key set with a report of the keys it skipped.

A JWKS is data from the network. Each key is checked against the rules below and either
becomes a prepared ``cryptography`` key or is skipped with a reason; one bad key never poisons
the set, but a set with no usable key is an error.

Key rules:

* ``kty`` ``RSA`` (modulus of at least 2048 and at most 8192 bits, odd; exponent odd, >= 3,
  < 2**32), ``EC`` (``crv`` P-256/P-384/P-521, full-size coordinates, point on the curve) or
  ``OKP`` (``crv`` Ed25519, 32-octet canonical ``x`` that is not one of the eight points of
  small order). Symmetric (``oct``) and other keys are skipped.
* Private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``, ``k``) → skipped: a
  published private key signs for anyone.
* ``use``, if present, must be ``sig``; ``key_ops``, if present, must include ``verify``.
* ``alg``, if present, must be a supported algorithm that fits the key, and pins the key to it.
* ``kid``, if present, must be a string. Two usable keys of the same ``kty`` that share a
  ``kid`` are both skipped: which one the ``kid`` names is ambiguous, and guessing (first wins)
  would let one entry shadow the other. Keys of different types may share a ``kid``: the
  token's ``alg`` tells them apart.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ._algorithms import ALGORITHMS, Check, PublicKey, curve_info
from ._b64 import b64url_decode, b64url_encode
from ._errors import (
    InvalidJwksError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    bounded_repr,
)
from ._json import loads_object
from ._options import DEFAULT_MAX_KEYS
from ._record import dataclass, field

__all__ = [
    "DEFAULT_MAX_KEYS",
    "KeySet",
    "PreparedKey",
    "SkippedKey",
    "jwk_from_public_key",
    "jwk_thumbprint",
    "parse_jwk",
    "parse_jwks",
    "quiet_key_loading",
]

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_ALGS_BY_KTY: dict[str, tuple[str, ...]] = {
    "RSA": tuple(a for a in ALGORITHMS if ALGORITHMS[a].kty == "RSA"),
    "OKP": tuple(a for a in ALGORITHMS if ALGORITHMS[a].kty == "OKP"),
}


_ED25519_P = 2**255 - 19
_ED25519_Y_MASK = 2**255 - 1
# The y coordinates of the eight points of small order: 0 (order 4, both signs of x), 1 (the
# identity), p - 1 (order 2) and the two of order 8 (each with both signs of x).
_ED25519_Y8 = 0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7
_ED25519_SMALL_ORDER_Y = frozenset({0, 1, _ED25519_P - 1, _ED25519_Y8, _ED25519_P - _ED25519_Y8})


_AMBIGUOUS = "'kid' is shared with another key of the same type (ambiguous)"


class _SkipKeyError(ValueError):
    """Internal: this JWK is unusable, for the reason given."""


@dataclass(frozen=True, slots=True)
class PreparedKey:
    """A JWK turned into a ready ``cryptography`` public key.

    Attributes:
        kid: The key id, or ``None`` when the JWK has none.
        kty: ``"RSA"``, ``"EC"`` or ``"OKP"``.
        algorithms: The ``alg`` values this key may verify (one when the JWK pins ``alg``).
        key: The public key object, built once and reused for every verification.
        jwk: The public JWK as published (public members only).
        checks: For each of *algorithms*, ``check(signature, signing_input) -> bool`` bound to
            *key*: the verification hot path, prepared once when the key set is processed.
    """

    kid: str | None
    kty: str
    algorithms: frozenset[str]
    key: PublicKey = field(repr=False)
    jwk: Mapping[str, Any] = field(repr=False, compare=False)
    checks: Mapping[str, Check] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.checks:
            checks = {}
            for alg in self.algorithms:
                check = ALGORITHMS[alg].prepare(self.key)
                if check is None:
                    raise ValueError(f"{alg} cannot use a {type(self.key).__name__}")
                checks[alg] = check
            object.__setattr__(self, "checks", MappingProxyType(checks))


@dataclass(frozen=True, slots=True)
class SkippedKey:
    """A JWKS entry that was not used, and why.

    Attributes:
        index: Position in the ``keys`` array.
        kid: The entry's ``kid`` if it was a string, else ``None``.
        reason: Human-readable; names the rule, never key material.
    """

    index: int
    kid: str | None
    reason: str


def _b64_member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise _SkipKeyError(f"member {name!r} is missing or not a string")
    try:
        return b64url_decode(value)
    except ValueError:
        raise _SkipKeyError(f"member {name!r} is not canonical base64url") from None


def _rsa_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n_raw, e_raw = _b64_member(jwk, "n"), _b64_member(jwk, "e")
    if not n_raw or not e_raw:
        raise _SkipKeyError("RSA member 'n' or 'e' is empty")
    if len(e_raw) > 4:
        raise _SkipKeyError("RSA exponent 'e' is larger than 2**32")
    n, e = int.from_bytes(n_raw, "big"), int.from_bytes(e_raw, "big")
    bits = n.bit_length()
    if bits < MIN_RSA_BITS:
        raise _SkipKeyError(f"RSA modulus has {bits} bits, the minimum is {MIN_RSA_BITS}")
    if bits > MAX_RSA_BITS:
        raise _SkipKeyError(f"RSA modulus has {bits} bits, the maximum is {MAX_RSA_BITS}")
    if n % 2 == 0:
        raise _SkipKeyError("RSA modulus is even")
    if e < 3 or e % 2 == 0:
        raise _SkipKeyError(f"RSA exponent must be odd and at least 3, found {e}")
    try:
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError as exc:  # pragma: no cover - the checks above cover cryptography's
        raise _SkipKeyError(f"RSA key rejected by cryptography: {exc}") from None


def _ec_key(jwk: Mapping[str, Any]) -> tuple[ec.EllipticCurvePublicKey, str]:
    crv = jwk.get("crv")
    info = curve_info(crv) if isinstance(crv, str) else None
    if info is None:
        raise _SkipKeyError(f"EC curve {_show(crv)} is not supported (P-256, P-384, P-521)")
    curve, size, prime = info
    x_raw, y_raw = _b64_member(jwk, "x"), _b64_member(jwk, "y")
    if len(x_raw) != size or len(y_raw) != size:
        raise _SkipKeyError(f"EC coordinates for {crv} must be {size} octets each")
    x, y = int.from_bytes(x_raw, "big"), int.from_bytes(y_raw, "big")
    if x >= prime or y >= prime:
        raise _SkipKeyError(f"EC coordinate is not reduced modulo the {crv} field prime")
    try:
        key = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
    except ValueError:
        raise _SkipKeyError(f"EC point is not on curve {crv}") from None
    assert isinstance(crv, str)  # noqa: S101 - narrowed by curve_info above
    return key, crv


def _okp_key(jwk: Mapping[str, Any]) -> ed25519.Ed25519PublicKey:
    crv = jwk.get("crv")
    if crv != "Ed25519":
        raise _SkipKeyError(f"OKP curve {_show(crv)} is not supported (Ed25519)")
    x = _b64_member(jwk, "x")
    if len(x) != 32:
        raise _SkipKeyError("Ed25519 'x' must be 32 octets")
    # RFC 8032 §5.1.3: the encoding is y (little-endian, 255 bits) and the sign of x in the top
    # bit. A y that is not reduced modulo p is not a canonical encoding; a point of small order
    # (the identity, order 2, 4 and 8, whatever its sign bit) verifies forged signatures: with
    # R = identity and S = 0 anyone can "sign" for it. Neither is a key an honest issuer makes.
    y = int.from_bytes(x, "little") & _ED25519_Y_MASK
    if y >= _ED25519_P:
        raise _SkipKeyError("Ed25519 'x' is not a canonical encoding (y is not reduced mod p)")
    if y in _ED25519_SMALL_ORDER_Y:
        raise _SkipKeyError("Ed25519 'x' is a point of small order (a key anyone can forge for)")
    try:
        return ed25519.Ed25519PublicKey.from_public_bytes(x)
    except ValueError:  # pragma: no cover - any 32 octets load; verification rejects bad points
        raise _SkipKeyError("Ed25519 public key rejected") from None


def parse_jwk(jwk: object) -> PreparedKey:
    """Turn one public JWK into a :class:`PreparedKey`.

    Raises:
        ValueError: The JWK breaks a key rule (see the module docstring); the message names
            the rule and never includes key material.
    """
    if not isinstance(jwk, Mapping):
        raise _SkipKeyError(f"a JWK must be a JSON object, found {type(jwk).__name__}")
    # A member that is present must be well-typed: `"alg": null` is not "no alg".
    kid = jwk.get("kid")
    if "kid" in jwk and not isinstance(kid, str):
        raise _SkipKeyError("'kid' must be a string")
    private = [m for m in _PRIVATE_MEMBERS if m in jwk]
    if private:
        raise _SkipKeyError(f"private or secret key members present ({', '.join(private)})")
    use = jwk.get("use")
    if "use" in jwk and use != "sig":
        raise _SkipKeyError(f"'use' is {_show(use)}, not 'sig'")
    key_ops = jwk.get("key_ops")
    if "key_ops" in jwk and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise _SkipKeyError("'key_ops' does not allow 'verify'")

    kty = jwk.get("kty")
    key: PublicKey
    if kty == "RSA":
        key = _rsa_key(jwk)
        algs = _ALGS_BY_KTY["RSA"]
    elif kty == "EC":
        key, crv = _ec_key(jwk)
        algs = tuple(a for a, spec in ALGORITHMS.items() if spec.kty == "EC" and spec.crv == crv)
    elif kty == "OKP":
        key = _okp_key(jwk)
        algs = _ALGS_BY_KTY["OKP"]
    elif kty == "oct":
        raise _SkipKeyError("symmetric ('oct') keys are never used for verification")
    else:
        raise _SkipKeyError(f"key type {_show(kty)} is not supported (RSA, EC, OKP)")

    alg = jwk.get("alg")
    if "alg" in jwk:
        if not isinstance(alg, str) or alg not in algs:
            raise _SkipKeyError(f"'alg' {_show(alg)} is not a supported algorithm for this key")
        algs = (alg,)
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
    return PreparedKey(kid=kid, kty=kty, algorithms=frozenset(algs), key=key, jwk=public)


class KeySet:
    """An immutable set of prepared keys with O(1) selection by ``(kid, alg)``.

    Build one with :func:`parse_jwks`. ``skipped`` reports the entries that were not usable.
    """

    __slots__ = ("_by_kid_alg", "_kids", "_no_kid", "keys", "skipped")

    def __init__(self, keys: Sequence[PreparedKey], skipped: Sequence[SkippedKey] = ()) -> None:
        self.keys: tuple[PreparedKey, ...] = tuple(keys)
        self.skipped: tuple[SkippedKey, ...] = tuple(skipped)
        self._kids = frozenset(k.kid for k in self.keys if k.kid is not None)
        by_kid_alg: dict[tuple[str, str], PreparedKey] = {}
        by_alg: dict[str, list[PreparedKey]] = {}
        for key in self.keys:
            for alg in key.algorithms:
                by_alg.setdefault(alg, []).append(key)
                if key.kid is not None:
                    by_kid_alg.setdefault((key.kid, alg), key)
        self._by_kid_alg = by_kid_alg
        # A token without `kid` may use a key only when exactly one key fits its `alg`.
        self._no_kid = {alg: ks[0] for alg, ks in by_alg.items() if len(ks) == 1}

    @classmethod
    def from_jwks(cls, document: object, *, max_keys: int = DEFAULT_MAX_KEYS) -> KeySet:
        """Build a key set from a JWKS document (a mapping, or its JSON text).

        Raises:
            InvalidJwksError: See :func:`parse_jwks`.
        """
        return parse_jwks(document, max_keys=max_keys)

    @property
    def kids(self) -> frozenset[str]:
        """The ``kid`` values of the usable keys."""
        return self._kids

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"KeySet(kids={sorted(self._kids)!r}, skipped={len(self.skipped)})"

    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Select the key for a token's ``kid`` and ``alg``.

        Raises:
            KeyNotFoundError: No key has this ``kid`` (or, for a token without ``kid``, not
                exactly one key fits ``alg``).
            KeyAlgorithmMismatchError: A key has this ``kid`` but cannot verify ``alg``.
        """
        if kid is None:
            key = self._no_kid.get(alg)
            if key is None:
                raise KeyNotFoundError(
                    f"token has no 'kid' and the key set does not hold exactly one key for {alg}"
                )
            return key
        key = self._by_kid_alg.get((kid, alg))
        if key is not None:
            return key
        if kid in self._kids:
            raise KeyAlgorithmMismatchError(f"the key with kid {_short(kid)} cannot verify {alg}")
        raise KeyNotFoundError(f"no key with kid {_short(kid)} in the key set")


def _short(kid: str) -> str:
    return repr(kid if len(kid) <= 64 else kid[:61] + "...")


def _show(value: object) -> str:
    """Quote a JWKS value in a message, bounded: the document came from the network."""
    return bounded_repr(value, 40)


def parse_jwks(document: object, *, max_keys: int = DEFAULT_MAX_KEYS) -> KeySet:
    """Build a :class:`KeySet` from a JWKS document (a mapping, or its JSON text).

    Raises:
        InvalidJwksError: Not a JSON object with a ``keys`` array, more than *max_keys* keys,
            or no usable key at all (the message summarises why the keys were skipped).
    """
    if isinstance(document, bytes | str):
        try:
            document = loads_object(document)
        except ValueError as exc:
            raise InvalidJwksError(f"JWKS is not a JSON object: {exc}") from None
    if not isinstance(document, Mapping):
        raise InvalidJwksError(f"JWKS must be a JSON object, found {type(document).__name__}")
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise InvalidJwksError("JWKS must have a 'keys' array")
    if len(entries) > max_keys:
        raise InvalidJwksError(f"JWKS has {len(entries)} keys, above the limit of {max_keys}")
    parsed: list[tuple[int, PreparedKey]] = []
    skipped: list[SkippedKey] = []
    for index, entry in enumerate(entries):
        kid = entry.get("kid") if isinstance(entry, Mapping) else None
        kid = kid if isinstance(kid, str) else None
        try:
            parsed.append((index, parse_jwk(entry)))
        except _SkipKeyError as exc:
            skipped.append(SkippedKey(index, kid, str(exc)))
    uses = Counter((key.kid, key.kty) for _, key in parsed if key.kid is not None)
    keys: list[PreparedKey] = []
    for index, key in parsed:
        if key.kid is not None and uses[key.kid, key.kty] > 1:
            skipped.append(SkippedKey(index, key.kid, _AMBIGUOUS))
        else:
            keys.append(key)
    skipped.sort(key=lambda s: s.index)
    if not keys:
        reasons = "; ".join(f"#{s.index}: {s.reason}" for s in skipped[:5]) or "'keys' is empty"
        raise InvalidJwksError(f"JWKS has no usable key ({reasons})")
    return KeySet(keys, skipped)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """Compute the RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded.

    Raises:
        ValueError: The key type is not RSA, EC or OKP, or a required member is missing.
    """
    required = {
        "RSA": ("e", "kty", "n"),
        "EC": ("crv", "kty", "x", "y"),
        "OKP": ("crv", "kty", "x"),
    }
    members = required.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError(f"cannot compute a thumbprint for key type {bounded_repr(jwk.get('kty'))}")
    try:
        canonical = {name: jwk[name] for name in members}
    except KeyError as exc:
        raise ValueError(f"JWK lacks required member {bounded_repr(exc.args[0])}") from None
    text = json.dumps(canonical, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    import hashlib  # only for thumbprints (not on the way to a verified token)

    return b64url_encode(hashlib.sha256(text.encode("utf-8")).digest())


def jwk_from_public_key(key: PublicKey) -> dict[str, str]:
    """Return the public JWK members of a ``cryptography`` public key (no ``kid``/``alg``)."""
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        return {
            "kty": "RSA",
            "n": b64url_encode(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big")),
            "e": b64url_encode(nums.e.to_bytes((nums.e.bit_length() + 7) // 8, "big")),
        }
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
        size = (key.curve.key_size + 7) // 8
        pub = key.public_numbers()
        return {
            "kty": "EC",
            "crv": crv,
            "x": b64url_encode(pub.x.to_bytes(size, "big")),
            "y": b64url_encode(pub.y.to_bytes(size, "big")),
        }
    # Lazy: cryptography's serialization package costs ~40 ms to import, and only the signing
    # and testing helpers ever need it (cold starts pay for every import).
    from cryptography.hazmat.primitives import serialization

    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}


@contextmanager
def quiet_key_loading() -> Iterator[None]:
    """Load keys of any type inside this block without cryptography's deprecation warnings.

    cryptography 51 warns whenever a DSA key is loaded (DSA is deprecated, to be removed). Such
    a key is refused after loading whatever cryptography says; its warning must not be the
    outcome instead (under ``-W error`` it would be raised in place of our error). Only used
    where keys are loaded from configuration or a key endpoint (public PEM keys of an ALB,
    private keys of a client), never on the verification path.
    """
    import warnings

    from cryptography.utils import CryptographyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield
