"""Regression tests for known JWT/JWS attack classes (advisories and CVEs).

Each test names the advisory class it guards against and pins the exact error class *and* its
stable ``code``: a regression that turns a precise rejection into a vaguer one (or a different
one) fails here, not only one that turns a rejection into an acceptance.

Every attack token is otherwise valid: where the library could reject it for an unrelated reason
(a bad signature, an expired ``exp`` ...) the token is signed properly over the exact octets sent,
and a control token built the same way without the attack is shown to verify.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import socket
import traceback
import urllib.request
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID

from cognito_jwt import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    ClaimError,
    CognitoVerifier,
    ConfigurationError,
    ExpiredTokenError,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySet,
    MalformedTokenError,
    MissingClaimError,
    MultiIssuerVerifier,
    NotYetValidError,
    TokenLimits,
    TokenUseMismatchError,
    UnsupportedCriticalHeaderError,
)
from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt._token import parse_token

from .helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    ISSUER,
    OIDC_ISSUER,
    POOL_ID,
    SigningKey,
    TrustingBackendKey,
    access_claims,
    id_claims,
    jwks_of,
    oidc_claims,
    rsa_private,
)

# --- Helpers ------------------------------------------------------------------------------------

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# Group orders from SEC 2 / FIPS 186-4, written out here independently of the library.
_ORDERS = {
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "ES512": int(
        "1" + "F" * 65 + "A51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409", 16
    ),
}
_COORD_SIZE = {"ES256": 32, "ES384": 48, "ES512": 66}
_EC_HASH = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}


def _enc(obj: Any) -> str:
    """Base64url of compact JSON (or of raw bytes / text given as is)."""
    if isinstance(obj, bytes):
        return b64url_encode(obj)
    if isinstance(obj, str):
        return b64url_encode(obj.encode())
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def _sign_segments(
    header_b64: str, payload_b64: str, key: SigningKey, alg: str | None = None
) -> str:
    """Sign exactly ``header_b64 + '.' + payload_b64`` (whatever the text) with *key*."""
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    signature = ALGORITHMS[alg or key.alg].sign(key.private, signing_input)
    return f"{header_b64}.{payload_b64}.{b64url_encode(signature)}"


def _sign_json_text(header_text: str, payload_text: str, key: SigningKey) -> str:
    """Sign hand-written header and payload JSON text (so duplicates etc. survive)."""
    return _sign_segments(_enc(header_text), _enc(payload_text), key)


def _sign_any(header: dict[str, Any], payload: dict[str, Any], private: Any, alg: str) -> str:
    """Sign *header*/*payload* with *private* under *alg*, bypassing key/alg fit checks."""
    h, p = _enc(header), _enc(payload)
    data = f"{h}.{p}".encode()
    if isinstance(private, rsa.RSAPrivateKey):
        sig = ALGORITHMS[alg].sign(private, data)
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        # Raw r || s sized for the signing key's own curve, whatever the header says.
        size = (private.curve.key_size + 7) // 8
        hash_alg = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[
            private.curve.key_size
        ]
        r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hash_alg)))
        sig = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    else:
        sig = private.sign(data)
    return f"{h}.{p}.{b64url_encode(sig)}"


def _with_signature(token: str, signature: bytes) -> str:
    header_b64, payload_b64, _ = token.split(".")
    return f"{header_b64}.{payload_b64}.{b64url_encode(signature)}"


def _expect(call: Callable[[], object], cls: type[JwtError], code: str) -> JwtError:
    """Run *call*; assert it raises exactly *cls* (not a subclass) with the stable *code*."""
    assert cls.code == code, f"{cls.__name__}.code changed: {cls.code!r} != {code!r}"
    with pytest.raises(JwtError) as info:
        call()
    exc = info.value
    assert type(exc) is cls, f"expected {cls.__name__}, got {type(exc).__name__}: {exc}"
    assert exc.code == code
    return exc


def _rejects(verifier: Any, token: str | bytes, cls: type[JwtError], code: str) -> JwtError:
    return _expect(lambda: verifier.verify(token), cls, code)


def _rejects_async(verifier: Any, token: str, cls: type[JwtError], code: str) -> JwtError:
    return _expect(lambda: asyncio.run(verifier.verify_async(token)), cls, code)


@cache
def _rsa_2047() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2047)  # noqa: S505 - the point


@cache
def _ec_key(curve_name: str, seed: int = 0) -> ec.EllipticCurvePrivateKey:
    del seed
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    return ec.generate_private_key(curve[curve_name])


@cache
def _ed_key(seed: int = 0) -> ed25519.Ed25519PrivateKey:
    del seed
    return ed25519.Ed25519PrivateKey.generate()


def _public_jwk(private: Any, **extra: str) -> dict[str, str]:
    return dict(jwk_from_public_key(private.public_key()), **extra)


def _rsa_signing_key(kid: str, private: rsa.RSAPrivateKey, alg: str = "RS256") -> SigningKey:
    return SigningKey(alg, kid, private, _public_jwk(private, kid=kid, use="sig", alg=alg))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every way the library could reach out to fetch a key."""
    calls: list[str] = []

    def refuse(name: str) -> Callable[..., Any]:
        def blocked(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise OSError(f"network access attempted via {name}")

        return blocked

    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.socket.connect"))
    monkeypatch.setattr(httpx.Client, "send", refuse("httpx.Client.send"))
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse("httpx.AsyncClient.send"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urllib.request.urlopen"))
    return calls


# --- 1. alg "none" ------------------------------------------------------------------------------

NONE_CASINGS = ["none", "None", "NONE", "nOnE"]


def _none_verifiers(make_oidc: Any, make_cognito: Any) -> dict[str, tuple[Any, dict[str, Any]]]:
    return {
        "oidc": (make_oidc(), oidc_claims()),
        "oidc-allowlist": (make_oidc(algorithms=["RS256", "ES256"]), oidc_claims()),
        "cognito": (make_cognito(), access_claims()),
        "cognito-allowlist": (make_cognito(algorithms=["RS256"]), access_claims()),
        "multi-issuer": (MultiIssuerVerifier([make_oidc(), make_cognito()]), access_claims()),
    }


@pytest.mark.parametrize("alg", NONE_CASINGS)
@pytest.mark.parametrize("signature", ["empty", "garbage", "real-rs256"])
@pytest.mark.parametrize("kid", [None, "rsa-rs256"])
@pytest.mark.parametrize(
    "which", ["oidc", "oidc-allowlist", "cognito", "cognito-allowlist", "multi-issuer"]
)
def test_alg_none_is_refused(keys, make_oidc, make_cognito, alg, signature, kid, which):
    """CVE-2015-9235 / CVE-2018-1000531 class ("alg": "none" accepted as a valid signature).

    In every casing, with an empty, garbage or even a real RS256 signature over the same
    signing input, whether or not the verifier was given an explicit allowlist.
    """
    verifier, payload = _none_verifiers(make_oidc, make_cognito)[which]
    header = {"alg": alg} if kid is None else {"alg": alg, "kid": kid}
    h, p = _enc(header), _enc(payload)
    sig = {
        "empty": b"",
        "garbage": b"\x00garbage-signature\xff" * 3,
        "real-rs256": ALGORITHMS["RS256"].sign(keys["RS256"].private, f"{h}.{p}".encode()),
    }[signature]
    token = f"{h}.{p}.{b64url_encode(sig)}"
    if signature == "empty":
        assert token.endswith(".")
    exc = _rejects(verifier, token, AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")
    assert exc.unverified_header == header
    _rejects_async(verifier, token, AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")
    _rejects(verifier, token.encode("ascii"), AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")


@pytest.mark.parametrize(
    "alg",
    [
        "rs256",
        "Rs256",
        "RS256 ",
        " RS256",
        "RS256\x00",
        "RS-256",
        "ES256K",
        "Ed448",
        "RSA1_5",
        "RSA-OAEP",
        "dir",
        "HS256",
        "Hs256",
        "hS512",
        "HS1",
        "\uff32\uff33256",
    ],
)
def test_alg_lookalikes_and_unsupported_algs_are_refused(keys, make_oidc, alg):
    """Algorithm-confusion class (case-folding / look-alike / JWE ``alg`` values): ``alg`` is
    matched exactly and case-sensitively against the allowlist; nothing is normalised."""
    token = _sign_any(
        {"alg": alg, "kid": "rsa-rs256"}, oidc_claims(), keys["RS256"].private, "RS256"
    )
    _rejects(make_oidc(), token, AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")


@pytest.mark.parametrize("alg", ["", None, 256, ["RS256"], {"name": "RS256"}, True])
def test_missing_empty_or_non_string_alg_is_malformed(keys, make_oidc, alg):
    """Algorithm-confusion class (type confusion of ``alg``: a list or object that a lax
    verifier might stringify or index): ``alg`` must be a non-empty string."""
    header = {"kid": "rsa-rs256"} if alg is None else {"alg": alg, "kid": "rsa-rs256"}
    token = _sign_any(header, oidc_claims(), keys["RS256"].private, "RS256")
    _rejects(make_oidc(), token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


@pytest.mark.parametrize(
    "algorithms",
    [
        ["none"],
        ["None"],
        ["NONE"],
        ["nOnE"],
        ["HS256"],
        ["hs256"],
        ["HS384"],
        ["HS512"],
        ["RS256", "none"],
        ["RS256", "HS256"],
    ],
)
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_allowlist_naming_none_or_hmac_is_a_configuration_error(
    make_oidc, make_cognito, algorithms, which
):
    """CVE-2015-9235 class: an allowlist must not be able to re-enable ``none`` or HMAC."""
    make = make_oidc if which == "oidc" else make_cognito
    exc = _expect(lambda: make(algorithms=algorithms), ConfigurationError, "ERR_CONFIGURATION")
    assert isinstance(exc, ValueError)


# --- 2. HMAC keyed with the public key -----------------------------------------------------------


def _public_key_secrets(keys: dict[str, SigningKey]) -> dict[str, bytes]:
    rsa_pub = keys["RS256"].private.public_key()
    ec_pub = keys["ES256"].private.public_key()
    pem = serialization.Encoding.PEM
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    pkcs1 = serialization.PublicFormat.PKCS1
    return {
        "rsa-pem-spki": rsa_pub.public_bytes(pem, spki),
        "rsa-pem-spki-stripped": rsa_pub.public_bytes(pem, spki).strip(),
        "rsa-pem-pkcs1": rsa_pub.public_bytes(pem, pkcs1),
        "rsa-der-spki": rsa_pub.public_bytes(der, spki),
        "rsa-der-pkcs1": rsa_pub.public_bytes(der, pkcs1),
        "rsa-jwk-json": json.dumps(keys["RS256"].jwk).encode(),
        "rsa-jwk-json-compact": json.dumps(keys["RS256"].jwk, separators=(",", ":")).encode(),
        "ec-pem-spki": ec_pub.public_bytes(pem, spki),
    }


SECRET_FORMS = [
    "rsa-pem-spki",
    "rsa-pem-spki-stripped",
    "rsa-pem-pkcs1",
    "rsa-der-spki",
    "rsa-der-pkcs1",
    "rsa-jwk-json",
    "rsa-jwk-json-compact",
    "ec-pem-spki",
]


@pytest.mark.parametrize(
    ("alg", "digest"),
    [
        ("HS256", hashlib.sha256),
        ("HS384", hashlib.sha384),
        ("HS512", hashlib.sha512),
        ("hs256", hashlib.sha256),
    ],
)
@pytest.mark.parametrize("form", SECRET_FORMS)
@pytest.mark.parametrize("which", ["oidc", "oidc-allowlist", "cognito"])
def test_hmac_signed_with_public_key_is_refused(
    keys, make_oidc, make_cognito, alg, digest, form, which
):
    """CVE-2015-9235 / PyJWT CVE-2022-29217 / python-jose CVE-2024-33663 class.

    Algorithm confusion: the attacker HMACs the token with the verifier's *public* key (PEM,
    DER or JWK JSON text) as the secret and sets ``alg`` to HS*, hoping the verifier feeds the
    public key bytes to HMAC.
    """
    verifier, payload = {
        "oidc": (make_oidc(), oidc_claims()),
        "oidc-allowlist": (make_oidc(algorithms=["RS256"]), oidc_claims()),
        "cognito": (make_cognito(), access_claims()),
    }[which]
    kid = keys["ES256"].kid if form.startswith("ec") else keys["RS256"].kid
    h, p = _enc({"alg": alg, "kid": kid, "typ": "JWT"}), _enc(payload)
    secret = _public_key_secrets(keys)[form]
    sig = hmac.new(secret, f"{h}.{p}".encode(), digest).digest()
    token = f"{h}.{p}.{b64url_encode(sig)}"
    _rejects(verifier, token, AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")
    # Without kid, too (a verifier might fall back to "the" key).
    h2 = _enc({"alg": alg})
    sig2 = hmac.new(secret, f"{h2}.{p}".encode(), digest).digest()
    _rejects(
        verifier, f"{h2}.{p}.{b64url_encode(sig2)}", AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED"
    )


# --- 3. Psychic ECDSA signatures -----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_group_orders_used_below_are_right(keys, alg):
    """Sanity check for the constants: (r, n - s) verifies iff n is the group order."""
    key = keys[alg].private
    r, s = decode_dss_signature(key.sign(b"msg", ec.ECDSA(_EC_HASH[alg])))
    key.public_key().verify(
        encode_dss_signature(r, _ORDERS[alg] - s), b"msg", ec.ECDSA(_EC_HASH[alg])
    )
    with pytest.raises(InvalidSignature):
        key.public_key().verify(
            encode_dss_signature(r, _ORDERS[alg] + 1 - s), b"msg", ec.ECDSA(_EC_HASH[alg])
        )


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize(
    "rs", ["r=s=0", "r=s=n", "r=0,s=1", "r=1,s=0", "r=n,s=1", "r=1,s=n", "r=s=n+1"]
)
def test_psychic_ecdsa_signature_is_refused(keys, make_oidc, alg, rs):
    """CVE-2022-21449 class ("psychic signatures"): r = s = 0 and other out-of-range values.

    ECDSA requires 0 < r, s < n; a verifier that skips the check accepts r = s = 0 for every
    message. The raw signature has exactly the right length, so only the range check can catch it.
    """
    n, size = _ORDERS[alg], _COORD_SIZE[alg]
    r, s = {
        "r=s=0": (0, 0),
        "r=s=n": (n, n),
        "r=0,s=1": (0, 1),
        "r=1,s=0": (1, 0),
        "r=n,s=1": (n, 1),
        "r=1,s=n": (1, n),
        "r=s=n+1": (n + 1, n + 1),
    }[rs]
    token = keys[alg].sign(oidc_claims())
    verifier = make_oidc()
    assert verifier.verify(token).sub == "user-42"  # control
    forged = _with_signature(token, r.to_bytes(size, "big") + s.to_bytes(size, "big"))
    assert len(forged.split(".")[2]) == len(token.split(".")[2])
    _rejects(verifier, forged, InvalidSignatureError, "ERR_INVALID_SIGNATURE")


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize(
    "rs", ["r=s=0", "r=s=n", "r=0,s=1", "r=1,s=0", "r=n,s=1", "r=1,s=n", "r=s=n+1"]
)
def test_psychic_range_check_does_not_rely_on_the_backend(alg, rs):
    """CVE-2022-21449 class, defence in depth: the library promises to enforce 0 < r, s < n
    itself "rather than trusting the backend to". With a backend that accepts anything, every
    out-of-range (r, s) must still be refused, and an in-range one is passed to the backend."""
    n, size = _ORDERS[alg], _COORD_SIZE[alg]
    r, s = {
        "r=s=0": (0, 0),
        "r=s=n": (n, n),
        "r=0,s=1": (0, 1),
        "r=1,s=0": (1, 0),
        "r=n,s=1": (n, 1),
        "r=1,s=n": (1, n),
        "r=s=n+1": (n + 1, n + 1),
    }[rs]
    curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}[alg]
    key = TrustingBackendKey(curve)
    verify = ALGORITHMS[alg].verify
    assert verify(key, (1).to_bytes(size, "big") * 2, b"data") is True  # in range: backend says
    assert verify(key, r.to_bytes(size, "big") + s.to_bytes(size, "big"), b"data") is False


# --- 4. Wrong-length signatures -----------------------------------------------------------------


def _der_of(raw: bytes) -> bytes:
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize(
    "variant", ["der", "one-byte-short", "one-byte-long", "leading-zero", "empty", "doubled"]
)
def test_ecdsa_signature_of_wrong_length_is_refused(keys, make_oidc, alg, variant):
    """RFC 7518 §3.4 / JOSE library advisories accepting DER or mis-sized ECDSA signatures.

    JWS ECDSA signatures are exactly R || S at the curve's coordinate size; a DER signature
    (valid for the same r, s!), a truncated or padded one must not verify.
    """
    token = keys[alg].sign(oidc_claims())
    raw = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    sig = {
        "der": _der_of(raw),
        "one-byte-short": raw[:-1],
        "one-byte-long": raw + b"\x00",
        "leading-zero": b"\x00" + raw,
        "empty": b"",
        "doubled": raw + raw,
    }[variant]
    assert len(sig) != len(raw)
    if variant == "der":  # the DER form is a genuinely valid signature of the same message
        signing_input = token.rsplit(".", 1)[0].encode()
        keys[alg].private.public_key().verify(sig, signing_input, ec.ECDSA(_EC_HASH[alg]))
    _rejects(
        make_oidc(), _with_signature(token, sig), InvalidSignatureError, "ERR_INVALID_SIGNATURE"
    )


@pytest.mark.parametrize("alg", ["RS256", "PS256", "EdDSA", "Ed25519"])
@pytest.mark.parametrize("variant", ["one-byte-short", "leading-zero", "trailing-zero", "empty"])
def test_rsa_and_eddsa_signature_of_wrong_length_is_refused(keys, make_oidc, alg, variant):
    """RFC 8017 §8.2.2 step 1 / RFC 8032: signatures with a prepended zero octet (same integer!),
    truncated or extended must not verify (several RSA libraries accepted the leading zero)."""
    token = keys[alg].sign(oidc_claims())
    raw = base64.urlsafe_b64decode(token.split(".")[2] + "==")
    sig = {
        "one-byte-short": raw[:-1],
        "leading-zero": b"\x00" + raw,
        "trailing-zero": raw + b"\x00",
        "empty": b"",
    }[variant]
    _rejects(
        make_oidc(), _with_signature(token, sig), InvalidSignatureError, "ERR_INVALID_SIGNATURE"
    )


# --- 5. Curve / alg mismatch ---------------------------------------------------------------------

EC_ALGS = {
    "ES256": ("P-256", "ec-es256"),
    "ES384": ("P-384", "ec-es384"),
    "ES512": ("P-521", "ec-es512"),
}


@pytest.mark.parametrize("pinned", [True, False])
@pytest.mark.parametrize(
    ("alg", "kid_of"),
    [(a, b) for a in EC_ALGS for b in EC_ALGS if a != b],
)
def test_ecdsa_alg_with_kid_of_other_curve_is_a_key_alg_mismatch(
    keys, make_oidc, alg, kid_of, pinned
):
    """Curve-confusion class (RFC 7518 §3.4: each ES* algorithm names one curve): ``alg``
    fixes the curve; a ``kid`` naming a key on another curve must not be
    used, whether or not that JWK pins its ``alg``."""
    jwks = {"keys": []}
    for name in EC_ALGS:
        jwk = dict(keys[name].jwk)
        if not pinned:
            jwk.pop("alg")
        jwks["keys"].append(jwk)
    verifier = make_oidc(jwks=jwks)
    kid = EC_ALGS[kid_of][1]
    token = _sign_any({"alg": alg, "kid": kid}, oidc_claims(), keys[alg].private, alg)
    _rejects(verifier, token, KeyAlgorithmMismatchError, "ERR_KEY_ALG_MISMATCH")


def test_es256_header_signed_with_p384_key_under_p256_kid(keys, make_oidc):
    """Curve-confusion class: ES256 header, kid of the P-256 key, signature made with a P-384
    key (96 octets). The P-256 key is selected and the signature cannot verify on it."""
    token = _sign_any(
        {"alg": "ES256", "kid": "ec-es256"}, oidc_claims(), keys["ES384"].private, "ES256"
    )
    assert len(base64.urlsafe_b64decode(token.split(".")[2] + "==")) == 96
    _rejects(make_oidc(), token, InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    # Same with a P-384 key the attacker generated.
    token = _sign_any(
        {"alg": "ES256", "kid": "ec-es256"}, oidc_claims(), _ec_key("P-384", 9), "ES256"
    )
    _rejects(make_oidc(), token, InvalidSignatureError, "ERR_INVALID_SIGNATURE")


# --- 6. kid naming a key of another type --------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "kid", "signer"),
    [
        ("RS256", "ec-es256", "RS256"),
        ("RS256", "okp-eddsa", "RS256"),
        ("PS256", "ec-es384", "PS256"),
        ("ES256", "rsa-rs256", "ES256"),
        ("ES256", "okp-eddsa", "ES256"),
        ("EdDSA", "rsa-rs256", "EdDSA"),
        ("EdDSA", "ec-es256", "EdDSA"),
        ("Ed25519", "rsa-rs256", "Ed25519"),
        ("PS256", "rsa-rs256", "PS256"),  # same RSA key, but the JWK pins RS256
        ("RS256", "rsa-ps256", "RS256"),  # ... and the reverse
        ("RS384", "rsa-rs256", "RS384"),
        ("Ed25519", "okp-eddsa", "Ed25519"),  # same Ed25519 key, pinned to the other name
    ],
)
def test_kid_of_key_that_cannot_verify_alg_is_a_key_alg_mismatch(keys, make_oidc, alg, kid, signer):
    """Key-type confusion class (CVE-2016-10555 / CVE-2022-29217 family): a ``kid`` naming an
    RSA key with an EC/EdDSA ``alg`` (or the reverse), or a key whose JWK pins another ``alg``,
    must never be tried with the token's algorithm."""
    token = _sign_any({"alg": alg, "kid": kid}, oidc_claims(), keys[signer].private, alg)
    exc = _rejects(make_oidc(), token, KeyAlgorithmMismatchError, "ERR_KEY_ALG_MISMATCH")
    assert isinstance(exc, KeyNotFoundError)
    assert exc.unverified_header == {"alg": alg, "kid": kid}


def test_pinned_rs256_key_refuses_ps256_even_with_a_valid_pss_signature(keys, make_oidc):
    """Key-pinning class: the JWK pins RS256; a genuinely valid PS256 signature by the same
    private key under that kid is still a mismatch (the pin is honoured, not just the kty)."""
    token = keys["PS256"].sign(oidc_claims(), kid="rsa-rs256")
    assert make_oidc().verify(keys["PS256"].sign(oidc_claims())).sub == "user-42"  # control
    _rejects(make_oidc(), token, KeyAlgorithmMismatchError, "ERR_KEY_ALG_MISMATCH")


def test_cognito_refuses_es256_with_kid_of_rsa_key(keys, make_cognito):
    """Key-type confusion on the Cognito verifier: RS256 only, so ES256 never reaches lookup."""
    token = _sign_any(
        {"alg": "ES256", "kid": "rsa-rs256"}, access_claims(), keys["ES256"].private, "ES256"
    )
    _rejects(make_cognito(), token, AlgorithmNotAllowedError, "ERR_ALG_NOT_ALLOWED")
    verifier = make_cognito(algorithms=["RS256", "ES256"])
    _rejects(verifier, token, KeyAlgorithmMismatchError, "ERR_KEY_ALG_MISMATCH")


@pytest.mark.parametrize("which", ["cognito", "multi"])
def test_cognito_requires_a_kid_even_with_one_fitting_key(keys, make_oidc, make_cognito, which):
    """Key-selection class (hardening 2.11): a token without ``kid`` used to take the one key
    that fits its ``alg``. Cognito always sends ``kid``, so a Cognito verifier refuses a token
    without one (a generic ``JwtVerifier`` keeps the single-key fallback: the control)."""
    key = keys["RS256"]
    token = _sign_any({"alg": "RS256"}, access_claims(), key.private, "RS256")
    cognito = make_cognito(jwks=jwks_of(key))
    verifier = cognito if which == "cognito" else MultiIssuerVerifier([cognito])
    exc = _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    assert "'kid' is required" in str(exc)
    _rejects_async(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    control = _sign_any({"alg": "RS256"}, oidc_claims(), key.private, "RS256")
    assert make_oidc(jwks=jwks_of(key)).verify(control)["sub"] == "user-42"


@pytest.mark.parametrize("kid", [None, 0, 7, 1.5, True, False, [], ["rsa-rs256"], {}])
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_kid_present_but_not_a_string_is_malformed(keys, make_oidc, make_cognito, kid, which):
    """Type confusion in ``kid`` (hardening 2.4): ``"kid": null`` or a number used to count as
    "no kid" and pick the one fitting key. A present member must be a string, whatever the key
    set holds; the control (the same token with the string kid) verifies."""
    key = keys["RS256"]
    jwks = jwks_of(key)
    if which == "oidc":
        verifier, payload = make_oidc(jwks=jwks), oidc_claims()
    else:
        verifier, payload = make_cognito(jwks=jwks), access_claims()
    control = _sign_any({"alg": "RS256", "kid": key.kid}, payload, key.private, "RS256")
    assert verifier.verify(control)["sub"] == payload["sub"]
    token = _sign_any({"alg": "RS256", "kid": kid}, payload, key.private, "RS256")
    exc = _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    assert "'kid' must be a string" in str(exc)
    _rejects_async(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


# --- 7. Keys carried by the token itself ---------------------------------------------------------


@cache
def _attacker_cert_der() -> bytes:
    key = rsa_private(2048, seed=7)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.example")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _embedded_header_cases() -> dict[str, tuple[dict[str, Any], type[JwtError], str]]:
    attacker = rsa_private(2048, seed=7)
    jwk = _public_jwk(attacker, kid="attacker", alg="RS256", use="sig")
    jwk_no_kid = _public_jwk(attacker, alg="RS256", use="sig")
    x5c = [base64.b64encode(_attacker_cert_der()).decode()]
    url = "https://attacker.example/.well-known/jwks.json"
    bad_sig = (InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    no_key = (KeyNotFoundError, "ERR_KEY_NOT_FOUND")
    return {
        "jwk-no-kid": ({"alg": "RS256", "jwk": jwk_no_kid}, *bad_sig),
        "jwk-kid-of-real-key": ({"alg": "RS256", "kid": "rsa-rs256", "jwk": jwk}, *bad_sig),
        "jwk-kid-of-embedded-key": ({"alg": "RS256", "kid": "attacker", "jwk": jwk}, *no_key),
        "jku-no-kid": ({"alg": "RS256", "jku": url}, *bad_sig),
        "jku-kid-of-real-key": ({"alg": "RS256", "kid": "rsa-rs256", "jku": url}, *bad_sig),
        "jku-attacker-kid": ({"alg": "RS256", "kid": "attacker", "jku": url}, *no_key),
        "x5u-attacker-kid": ({"alg": "RS256", "kid": "attacker", "x5u": url}, *no_key),
        "x5u-kid-of-real-key": ({"alg": "RS256", "kid": "rsa-rs256", "x5u": url}, *bad_sig),
        "x5c-no-kid": ({"alg": "RS256", "x5c": x5c}, *bad_sig),
        "x5c-attacker-kid": ({"alg": "RS256", "kid": "attacker", "x5c": x5c}, *no_key),
        "all-of-them": (
            {"alg": "RS256", "kid": "attacker", "jwk": jwk, "jku": url, "x5u": url, "x5c": x5c},
            *no_key,
        ),
    }


EMBEDDED_CASES = [
    "jwk-no-kid",
    "jwk-kid-of-real-key",
    "jwk-kid-of-embedded-key",
    "jku-no-kid",
    "jku-kid-of-real-key",
    "jku-attacker-kid",
    "x5u-attacker-kid",
    "x5u-kid-of-real-key",
    "x5c-no-kid",
    "x5c-attacker-kid",
    "all-of-them",
]


@pytest.mark.parametrize("case", EMBEDDED_CASES)
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_keys_embedded_in_the_token_are_never_used_or_fetched(
    make_oidc, make_cognito, no_network, case, which
):
    """CVE-2018-0114 (node-jose embedded ``jwk``) and ``jku``/``x5u`` SSRF / key-injection class.

    The attacker signs with their own key and ships its public key (``jwk``, ``x5c``) or a URL
    to it (``jku``, ``x5u``) in the header. Keys must come only from the configured key set,
    and nothing may be fetched.
    """
    header, cls, code = _embedded_header_cases()[case]
    verifier, payload = (
        (make_oidc(), oidc_claims()) if which == "oidc" else (make_cognito(), access_claims())
    )
    if which == "cognito" and "kid" not in header:  # Cognito requires a kid (hardening 2.11)
        cls, code = MalformedTokenError, "ERR_MALFORMED_TOKEN"
    token = _sign_any(header, payload, rsa_private(2048, seed=7), "RS256")
    _rejects(verifier, token, cls, code)
    _rejects_async(verifier, token, cls, code)
    assert no_network == []


def test_embedded_ec_jwk_without_kid_is_not_used(keys, make_oidc, no_network):
    """CVE-2018-0114 class with an EC key: the only ES256 key in the set is tried, and fails."""
    attacker = _ec_key("P-256", 7)
    header = {"alg": "ES256", "jwk": _public_jwk(attacker, alg="ES256")}
    token = _sign_any(header, oidc_claims(), attacker, "ES256")
    _rejects(make_oidc(), token, InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    assert no_network == []


# --- 8. crit and b64 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "cls", "code"),
    [
        (
            {"crit": ["x-unknown"], "x-unknown": True},
            UnsupportedCriticalHeaderError,
            "ERR_CRIT_UNSUPPORTED",
        ),
        ({"crit": ["x-unknown"]}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"crit": ["exp"]}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"crit": ["b64"], "b64": False}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"crit": ["b64"], "b64": True}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"b64": False}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"b64": "false"}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"b64": None}, UnsupportedCriticalHeaderError, "ERR_CRIT_UNSUPPORTED"),
        ({"crit": []}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
        ({"crit": "x-unknown", "x-unknown": 1}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
        ({"crit": ["x", "x"], "x": 1}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
        ({"crit": [1]}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
        ({"crit": [""]}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
        ({"crit": None}, MalformedTokenError, "ERR_MALFORMED_TOKEN"),
    ],
)
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_critical_header_extensions_are_refused(
    keys, make_oidc, make_cognito, extra, cls, code, which
):
    """RFC 7515 §4.1.11 / RFC 7797 class ("crit" ignored by a recipient): an unknown
    ``crit`` entry, a ``crit`` naming an absent parameter, or an unencoded payload
    (``b64: false``) must be refused, not ignored. The token is otherwise validly signed."""
    verifier, payload = (
        (make_oidc(), oidc_claims()) if which == "oidc" else (make_cognito(), access_claims())
    )
    token = keys["RS256"].sign(payload, headers=extra)
    assert verifier.verify(keys["RS256"].sign(payload)).sub is not None  # control
    _rejects(verifier, token, cls, code)


def test_crit_naming_an_absent_understood_parameter_is_malformed(keys):
    """RFC 7515 §4.1.11: a ``crit`` entry the recipient understands must be present."""
    token = keys["RS256"].sign(oidc_claims(), headers={"crit": ["x-ext"]})
    exc = _expect(
        lambda: parse_token(token, understood_crit=frozenset({"x-ext"})),
        MalformedTokenError,
        "ERR_MALFORMED_TOKEN",
    )
    assert exc.unverified_header is not None
    present = keys["RS256"].sign(oidc_claims(), headers={"crit": ["x-ext"], "x-ext": 1})
    assert parse_token(present, understood_crit=frozenset({"x-ext"})).header["x-ext"] == 1


# --- 9. Weak RSA keys ----------------------------------------------------------------------------


def _weak_rsa_cases() -> dict[str, tuple[dict[str, str], str]]:
    good = rsa_private(2048, seed=3)
    jwk = _public_jwk(good, kid="weak", alg="RS256", use="sig")

    def with_e(e: bytes) -> dict[str, str]:
        return dict(jwk, e=b64url_encode(e))

    return {
        "1024-bit": (_public_jwk(rsa_private(1024), kid="weak", alg="RS256"), "1024 bits"),
        "2047-bit": (_public_jwk(_rsa_2047(), kid="weak", alg="RS256"), "2047 bits"),
        "e=0": (with_e(b"\x00"), "exponent"),
        "e=1": (with_e(b"\x01"), "exponent"),
        "e=2": (with_e(b"\x02"), "exponent"),
        "e=4": (with_e(b"\x04"), "exponent"),
        "e=65536": (with_e((65536).to_bytes(3, "big")), "exponent"),
        "e>2**32": (with_e((2**32 + 1).to_bytes(5, "big")), "exponent"),
        "e-empty": (dict(jwk, e=""), "empty"),
    }


WEAK_RSA = ["1024-bit", "2047-bit", "e=0", "e=1", "e=2", "e=4", "e=65536", "e>2**32", "e-empty"]


@pytest.mark.parametrize("case", WEAK_RSA)
def test_weak_rsa_keys_are_skipped_and_reported(keys, case):
    """Weak-key class (RSA < 2048 bits: NIST SP 800-131A; e = 1 or even: trivially forgeable or
    not a permutation): such JWKS entries are skipped and reported, never used."""
    jwk, reason_part = _weak_rsa_cases()[case]
    keyset = KeySet.from_jwks({"keys": [jwk, keys["ES256"].jwk]})
    assert keyset.kids == {"ec-es256"}
    assert len(keyset.skipped) == 1
    skipped = keyset.skipped[0]
    assert (skipped.index, skipped.kid) == (0, "weak")
    assert reason_part in skipped.reason
    assert jwk["n"] not in skipped.reason
    assert jwk["n"][:40] not in repr(keyset)


@pytest.mark.parametrize("case", WEAK_RSA)
@pytest.mark.parametrize("which", ["keyset", "oidc", "cognito"])
def test_jwks_with_only_a_weak_rsa_key_is_invalid(make_oidc, make_cognito, case, which):
    """Weak-key class: a key set whose only key is weak is unusable at construction time."""
    jwks = {"keys": [_weak_rsa_cases()[case][0]]}
    build = {
        "keyset": lambda: KeySet.from_jwks(jwks),
        "oidc": lambda: make_oidc(jwks=jwks),
        "cognito": lambda: make_cognito(jwks=jwks),
    }[which]
    _expect(build, InvalidJwksError, "ERR_JWKS_INVALID")


@pytest.mark.parametrize("bits", [1024, 2047])
def test_token_signed_by_a_skipped_weak_key_is_refused(keys, make_oidc, bits):
    """Weak-key class: a token signed by the skipped weak key under its kid finds no key."""
    weak = rsa_private(1024) if bits == 1024 else _rsa_2047()
    jwks = {"keys": [_public_jwk(weak, kid="weak", alg="RS256"), keys["EdDSA"].jwk]}
    verifier = make_oidc(jwks=jwks)
    token = _sign_any({"alg": "RS256", "kid": "weak"}, oidc_claims(), weak, "RS256")
    _rejects(verifier, token, KeyNotFoundError, "ERR_KEY_NOT_FOUND")
    token = _sign_any({"alg": "RS256"}, oidc_claims(), weak, "RS256")
    _rejects(verifier, token, KeyNotFoundError, "ERR_KEY_NOT_FOUND")


def test_rsa_e_equals_one_forgery_is_refused(make_oidc, keys):
    """Weak-key class, e = 1: with e = 1 "s^e mod n" is s, so the attacker's "signature" is the
    PKCS#1 v1.5 encoded message itself. The key must be skipped, so the forgery finds no key."""
    n = rsa_private(2048, seed=3).public_key().public_numbers().n
    jwk = {
        "kty": "RSA",
        "kid": "e1",
        "alg": "RS256",
        "n": b64url_encode(n.to_bytes(256, "big")),
        "e": b64url_encode(b"\x01"),
    }
    verifier = make_oidc(jwks={"keys": [jwk, keys["EdDSA"].jwk]})
    h, p = _enc({"alg": "RS256", "kid": "e1"}), _enc(oidc_claims())
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    t = digest_info + hashlib.sha256(f"{h}.{p}".encode()).digest()
    em = b"\x00\x01" + b"\xff" * (256 - len(t) - 3) + b"\x00" + t
    assert int.from_bytes(em, "big") < n
    _rejects(verifier, f"{h}.{p}.{b64url_encode(em)}", KeyNotFoundError, "ERR_KEY_NOT_FOUND")


# --- 9b. Ed25519 keys of small order --------------------------------------------------------------

# The eight points of small order (libsodium's list), each with both values of the sign bit, and
# two encodings whose y is not reduced modulo p (y = p is the order-4 point, y = p + 1 the
# identity). Written out here independently of the library.
_ED_P = 2**255 - 19
_ED_WEAK = [
    bytes.fromhex(h)
    for h in (
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    )
] + [_ED_P.to_bytes(32, "little"), (_ED_P + 1).to_bytes(32, "little")]
_IDENTITY_SIGNATURE = bytes([1]) + bytes(63)  # R = identity, S = 0


@pytest.mark.parametrize("encoding", _ED_WEAK, ids=lambda e: e.hex()[:6] + e.hex()[-2:])
def test_ed25519_small_order_key_cannot_be_forged_for(keys, make_oidc, encoding):
    """Small-order Ed25519 keys (an issuer bug, a poisoned store): with R = identity and
    S = 0 the signature "verifies" for every message under a key of order 1 or 2 and for many
    under the others. The key must be skipped, so the forgery never reaches a check."""
    weak = {"kty": "OKP", "crv": "Ed25519", "kid": "weak", "x": b64url_encode(encoding)}
    jwks = {"keys": [weak, keys["EdDSA"].jwk]}
    (skipped,) = KeySet.from_jwks(jwks).skipped
    assert skipped.kid == "weak"
    verifier = make_oidc(jwks=jwks)
    for n in range(16):  # many messages: each small-order key accepts some of them
        payload = oidc_claims(jti=f"forged-{n}")
        h, p = _enc({"alg": "EdDSA", "kid": "weak"}), _enc(payload)
        forged = f"{h}.{p}.{b64url_encode(_IDENTITY_SIGNATURE)}"
        _rejects(verifier, forged, KeyNotFoundError, "ERR_KEY_NOT_FOUND")
        _rejects_async(verifier, forged, KeyNotFoundError, "ERR_KEY_NOT_FOUND")
    with pytest.raises(InvalidJwksError):
        make_oidc(jwks={"keys": [weak]})


def test_ed25519_identity_key_control():
    """Control for the test above: the backend itself accepts the forgery for the identity."""
    identity = ed25519.Ed25519PublicKey.from_public_bytes(_ED_WEAK[2])
    check = ALGORITHMS["EdDSA"].prepare(identity)
    assert check is not None
    assert check(_IDENTITY_SIGNATURE, b"anything")


# --- 10. Private members in the JWKS ------------------------------------------------------------


def _rsa_private_members(private: rsa.RSAPrivateKey) -> dict[str, str]:
    nums = private.private_numbers()

    def enc(v: int) -> str:
        return b64url_encode(v.to_bytes((v.bit_length() + 7) // 8, "big"))

    return {
        "d": enc(nums.d),
        "p": enc(nums.p),
        "q": enc(nums.q),
        "dp": enc(nums.dmp1),
        "dq": enc(nums.dmq1),
        "qi": enc(nums.iqmp),
    }


def _leaky_cases() -> dict[str, tuple[dict[str, Any], Any, str, list[str]]]:
    """name → (leaky JWK with kid 'leaky', private key, alg, private members present)."""
    rsa_key = rsa_private(2048, seed=5)
    rsa_pub = _public_jwk(rsa_key, kid="leaky", alg="RS256", use="sig")
    rsa_priv = _rsa_private_members(rsa_key)
    ec_key = _ec_key("P-256", 5)
    ec_d = b64url_encode(ec_key.private_numbers().private_value.to_bytes(32, "big"))
    ed_key = _ed_key(5)
    ed_d = b64url_encode(
        ed_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )
    cases: dict[str, tuple[dict[str, Any], Any, str, list[str]]] = {}
    for member in ("d", "p", "q", "dp", "dq", "qi"):
        cases[f"rsa-{member}"] = (
            dict(rsa_pub, **{member: rsa_priv[member]}),
            rsa_key,
            "RS256",
            [member],
        )
    cases["rsa-all"] = (
        dict(rsa_pub, **rsa_priv),
        rsa_key,
        "RS256",
        ["d", "p", "q", "dp", "dq", "qi"],
    )
    cases["ec-d"] = (_public_jwk(ec_key, kid="leaky", alg="ES256", d=ec_d), ec_key, "ES256", ["d"])
    cases["okp-d"] = (_public_jwk(ed_key, kid="leaky", alg="EdDSA", d=ed_d), ed_key, "EdDSA", ["d"])
    return cases


LEAKY = ["rsa-d", "rsa-p", "rsa-q", "rsa-dp", "rsa-dq", "rsa-qi", "rsa-all", "ec-d", "okp-d"]


@pytest.mark.parametrize("case", LEAKY)
def test_jwks_entries_with_private_members_are_skipped(keys, make_oidc, case):
    """Leaked-private-key class (JWKS endpoints publishing ``d``/``p``/``q``..., e.g. misconfigured
    IdPs): a published private key signs for anyone, so the entry is skipped with a reason that
    names the member, and a token signed with it finds no key."""
    jwk, private, alg, members = _leaky_cases()[case]
    # The other key is of a different type, so it can never be selected for this alg.
    other = keys["RS256"] if alg == "EdDSA" else keys["EdDSA"]
    jwks = {"keys": [jwk, other.jwk]}
    keyset = KeySet.from_jwks(jwks)
    assert keyset.kids == {other.kid}
    [skipped] = keyset.skipped
    assert (skipped.index, skipped.kid) == (0, "leaky")
    assert "private" in skipped.reason
    for member in members:
        assert member in skipped.reason
        assert jwk[member] not in skipped.reason
    verifier = make_oidc(jwks=jwks)
    token = _sign_any({"alg": alg, "kid": "leaky"}, oidc_claims(), private, alg)
    _rejects(verifier, token, KeyNotFoundError, "ERR_KEY_NOT_FOUND")
    token = _sign_any({"alg": alg}, oidc_claims(), private, alg)
    _rejects(verifier, token, KeyNotFoundError, "ERR_KEY_NOT_FOUND")


def test_symmetric_oct_key_in_jwks_is_skipped(keys, make_oidc):
    """HMAC-secret-in-JWKS class: an ``oct`` key (its ``k`` is the secret) is never usable;
    and the HS256 token it could verify is refused by algorithm before any key lookup."""
    secret = hashlib.sha256(b"shared").digest()
    jwk = {"kty": "oct", "kid": "leaky", "alg": "HS256", "k": b64url_encode(secret)}
    jwks = {"keys": [jwk, keys["EdDSA"].jwk]}
    [skipped] = KeySet.from_jwks(jwks).skipped
    assert (skipped.index, skipped.kid) == (0, "leaky")
    assert "k" in skipped.reason
    assert jwk["k"] not in skipped.reason
    _expect(lambda: KeySet.from_jwks({"keys": [jwk]}), InvalidJwksError, "ERR_JWKS_INVALID")
    h, p = _enc({"alg": "HS256", "kid": "leaky"}), _enc(oidc_claims())
    sig = hmac.new(secret, f"{h}.{p}".encode(), hashlib.sha256).digest()
    _rejects(
        make_oidc(jwks=jwks),
        f"{h}.{p}.{b64url_encode(sig)}",
        AlgorithmNotAllowedError,
        "ERR_ALG_NOT_ALLOWED",
    )


# --- 11. Cognito token_use / client confusion ---------------------------------------------------


OTHER_CLIENT = "another-app-client"


@pytest.mark.parametrize(
    ("token_use", "payload", "cls", "code"),
    [
        ("access", id_claims(), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        ("id", access_claims(), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        (None, access_claims(token_use=None), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        (None, access_claims(token_use="refresh"), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        ("access", access_claims(token_use=None), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        (
            "access",
            access_claims(token_use="Access"),
            TokenUseMismatchError,
            "ERR_TOKEN_USE_MISMATCH",
        ),
        (
            "access",
            access_claims(token_use=["access"]),
            TokenUseMismatchError,
            "ERR_TOKEN_USE_MISMATCH",
        ),
        ("id", id_claims(token_use="id "), TokenUseMismatchError, "ERR_TOKEN_USE_MISMATCH"),
        # Access token of another app client of the same pool.
        (
            "access",
            access_claims(client_id=OTHER_CLIENT),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
        (
            None,
            access_claims(client_id=OTHER_CLIENT),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
        # ID token of another app client.
        ("id", id_claims(aud=OTHER_CLIENT), AudienceMismatchError, "ERR_AUDIENCE_MISMATCH"),
        (None, id_claims(aud=OTHER_CLIENT), AudienceMismatchError, "ERR_AUDIENCE_MISMATCH"),
        # Access token: `aud` is ours but `client_id` (the one that counts) is not.
        (
            "access",
            access_claims(aud=CLIENT_ID, client_id=OTHER_CLIENT),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
        (
            "access",
            access_claims(aud=CLIENT_ID, client_id=None),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
        # ID token: `client_id` is ours but `aud` (the one that counts) is not.
        (
            "id",
            id_claims(aud=OTHER_CLIENT, client_id=CLIENT_ID),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
        (
            "id",
            id_claims(aud=None, client_id=CLIENT_ID),
            AudienceMismatchError,
            "ERR_AUDIENCE_MISMATCH",
        ),
    ],
)
def test_cognito_token_use_and_client_confusion(keys, make_cognito, token_use, payload, cls, code):
    """Token-substitution class (Cognito guide "Verifying a JSON Web Token", OWASP JWT cheat
    sheet): an ID token replayed as an access token or the reverse, a refresh/unknown
    ``token_use``, or a token minted for another app client of the same pool."""
    verifier = make_cognito(token_use=token_use)
    exc = _rejects(verifier, keys["RS256"].sign(payload), cls, code)
    assert exc.unverified_claims == payload


def test_cognito_controls_for_client_confusion(keys, make_cognito):
    """Controls for the test above: the honest tokens verify with the same verifiers."""
    assert make_cognito(token_use="access").verify(keys["RS256"].sign(access_claims()))
    assert make_cognito(token_use="id").verify(keys["RS256"].sign(id_claims()))
    assert make_cognito(token_use=None).verify(keys["RS256"].sign(id_claims()))


# --- 12. Issuer confusion ------------------------------------------------------------------------


OTHER_POOL_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool9"


@pytest.mark.parametrize(
    "iss",
    [
        OTHER_POOL_ISSUER,
        "https://cognito-idp.us-east-1.amazonaws.com/" + POOL_ID,
        ISSUER + "/",
        ISSUER.upper(),
        ISSUER.replace(POOL_ID, POOL_ID.lower()),
        ISSUER.replace("cognito-idp", "Cognito-idp"),
        ISSUER.replace("https://", "http://"),
        ISSUER + "/.well-known/jwks.json",
        " " + ISSUER,
        ISSUER + "\x00",
        [ISSUER],
        None,
    ],
)
@pytest.mark.parametrize("payload_of", ["access", "id"])
def test_cognito_token_from_another_pool_or_lookalike_issuer(keys, make_cognito, iss, payload_of):
    """Cross-pool / cross-tenant token substitution class: a token of another user pool (signed
    with a key our JWKS holds) or an issuer that differs only by a trailing slash, case,
    scheme ... must fail the exact issuer check."""
    make = access_claims if payload_of == "access" else id_claims
    verifier = make_cognito(token_use=payload_of)
    payload = make(iss=iss) if iss is not None else {k: v for k, v in make().items() if k != "iss"}
    _rejects(verifier, keys["RS256"].sign(payload), IssuerMismatchError, "ERR_ISSUER_MISMATCH")


@pytest.mark.parametrize(
    "iss", [OIDC_ISSUER + "/", OIDC_ISSUER.upper(), "https://login.example.com.evil"]
)
def test_oidc_lookalike_issuer(keys, make_oidc, iss):
    """Issuer-confusion class for generic OIDC: exact match only, no normalisation."""
    _rejects(
        make_oidc(),
        keys["ES256"].sign(oidc_claims(iss=iss)),
        IssuerMismatchError,
        "ERR_ISSUER_MISMATCH",
    )
    # ... in either direction.
    verifier = make_oidc(issuer=OIDC_ISSUER + "/")
    _rejects(
        verifier, keys["ES256"].sign(oidc_claims()), IssuerMismatchError, "ERR_ISSUER_MISMATCH"
    )


def test_multi_pool_routing_cannot_borrow_another_pools_key(keys, jwks, clock):
    """Cross-pool class with a MultiIssuerVerifier: a token claiming pool A's issuer but signed
    with pool B's key is checked against pool A's keys only."""
    pool_b_key = _rsa_signing_key("pool-b-key", rsa_private(2048, seed=11))
    pool_a = CognitoVerifier(
        user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", jwks=jwks, clock=clock
    )
    pool_b = CognitoVerifier(
        user_pool_id="eu-west-1_OtherPool9",
        client_id=CLIENT_ID,
        token_use="access",
        jwks=jwks_of(pool_b_key),
        clock=clock,
    )
    multi = MultiIssuerVerifier([pool_a, pool_b])
    assert multi.verify(pool_b_key.sign(access_claims(iss=OTHER_POOL_ISSUER)))  # control
    assert multi.verify(keys["RS256"].sign(access_claims()))  # control
    _rejects(multi, pool_b_key.sign(access_claims()), KeyNotFoundError, "ERR_KEY_NOT_FOUND")
    _rejects(
        multi,
        pool_b_key.sign(access_claims(), kid="rsa-rs256"),
        InvalidSignatureError,
        "ERR_INVALID_SIGNATURE",
    )
    _rejects(
        multi,
        keys["RS256"].sign(access_claims(iss=OTHER_POOL_ISSUER)),
        KeyNotFoundError,
        "ERR_KEY_NOT_FOUND",
    )
    _rejects(
        multi,
        keys["RS256"].sign(access_claims(iss=ISSUER + "/")),
        IssuerMismatchError,
        "ERR_ISSUER_MISMATCH",
    )


# --- 13. Duplicate JSON member names -------------------------------------------------------------


def _payload_text(claims: dict[str, Any], *extra_members: str, first: str = "") -> str:
    body = json.dumps(claims)[1:-1]
    parts = [p for p in (first, body, *extra_members) if p]
    return "{" + ", ".join(parts) + "}"


@pytest.mark.parametrize(
    "header_text",
    [
        '{"alg":"none","kid":"rsa-rs256","alg":"RS256"}',
        '{"alg":"RS256","kid":"rsa-rs256","alg":"RS256"}',
        '{"alg":"RS256","kid":"attacker","kid":"rsa-rs256"}',
        '{"alg":"RS256","kid":"rsa-rs256","kid":"rsa-rs256"}',
        '{"alg":"RS256","kid":"rsa-rs256","x":{"a":1,"a":2}}',
    ],
)
def test_duplicate_header_members_are_malformed(keys, make_oidc, header_text):
    """Parser-differential class (duplicate-key confusion, RFC 7515 §5.2 / RFC 8259 §4):
    a header with two ``alg``/``kid`` members is refused even though the signature is valid
    over those exact octets."""
    verifier = make_oidc()
    payload = json.dumps(oidc_claims())
    control = _sign_json_text('{"alg":"RS256","kid":"rsa-rs256"}', payload, keys["RS256"])
    assert verifier.verify(control).sub == "user-42"
    token = _sign_json_text(header_text, payload, keys["RS256"])
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


def _dup_payload_cases() -> dict[str, str]:
    base = oidc_claims()
    rest = {k: v for k, v in base.items() if k not in ("exp", "aud", "iss", "sub")}
    return {
        "exp-expired-then-valid": _payload_text(
            rest,
            f'"aud": "{AUDIENCE}"',
            f'"iss": "{OIDC_ISSUER}"',
            f'"exp": {FIXED_NOW + 600}',
            first=f'"exp": {FIXED_NOW - 600}',
        ),
        "exp-valid-then-expired": _payload_text(
            rest,
            f'"aud": "{AUDIENCE}"',
            f'"iss": "{OIDC_ISSUER}"',
            f'"exp": {FIXED_NOW - 600}',
            first=f'"exp": {FIXED_NOW + 600}',
        ),
        "exp-same-twice": _payload_text(
            rest,
            f'"aud": "{AUDIENCE}"',
            f'"iss": "{OIDC_ISSUER}"',
            f'"exp": {FIXED_NOW + 600}',
            first=f'"exp": {FIXED_NOW + 600}',
        ),
        "aud-other-then-ours": _payload_text(
            rest,
            f'"exp": {FIXED_NOW + 600}',
            f'"iss": "{OIDC_ISSUER}"',
            f'"aud": "{AUDIENCE}"',
            first='"aud": "api://other"',
        ),
        "aud-ours-then-other": _payload_text(
            rest,
            f'"exp": {FIXED_NOW + 600}',
            f'"iss": "{OIDC_ISSUER}"',
            '"aud": "api://other"',
            first=f'"aud": "{AUDIENCE}"',
        ),
        "iss-twice": _payload_text(
            rest,
            f'"exp": {FIXED_NOW + 600}',
            f'"aud": "{AUDIENCE}"',
            f'"iss": "{OIDC_ISSUER}"',
            first='"iss": "https://evil.example"',
        ),
        "sub-twice": _payload_text(base, '"sub": "admin"'),
        "nested-duplicate": _payload_text(base, '"address": {"country": "a", "country": "b"}'),
    }


@pytest.mark.parametrize(
    "case",
    [
        "exp-expired-then-valid",
        "exp-valid-then-expired",
        "exp-same-twice",
        "aud-other-then-ours",
        "aud-ours-then-other",
        "iss-twice",
        "sub-twice",
        "nested-duplicate",
    ],
)
def test_duplicate_payload_members_are_malformed(keys, make_oidc, case):
    """Parser-differential class (duplicate claim names, RFC 7519 §4): two ``exp``/``aud``/
    ``iss`` members let two components of a system read different claims; refused outright."""
    verifier = make_oidc()
    header = '{"alg":"RS256","kid":"rsa-rs256"}'
    assert verifier.verify(_sign_json_text(header, json.dumps(oidc_claims()), keys["RS256"]))
    token = _sign_json_text(header, _dup_payload_cases()[case], keys["RS256"])
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('"token_use": "id"', '"token_use": "access"'),
        ('"client_id": "another-app-client"', f'"client_id": "{CLIENT_ID}"'),
    ],
)
def test_duplicate_cognito_claims_are_malformed(keys, make_cognito, first, second):
    """Parser-differential class on the Cognito-specific claims."""
    name = first.split('"')[1]
    claims = {k: v for k, v in access_claims().items() if k != name}
    token = _sign_json_text(
        '{"alg":"RS256","kid":"rsa-rs256"}',
        _payload_text(claims, second, first=first),
        keys["RS256"],
    )
    _rejects(make_cognito(), token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


def test_duplicate_members_in_jwks_text_make_it_invalid(keys):
    """Parser-differential class on the key set: two ``n`` members in one JWK."""
    jwk = keys["RS256"].jwk
    other_n = _public_jwk(rsa_private(2048, seed=7))["n"]
    text = (
        '{"keys": [{"kty": "RSA", "kid": "rsa-rs256", "alg": "RS256", '
        f'"n": "{other_n}", "n": "{jwk["n"]}", "e": "{jwk["e"]}"}}]}}'
    )
    _expect(lambda: KeySet.from_jwks(text), InvalidJwksError, "ERR_JWKS_INVALID")


# --- 14. Signature transplanting and non-canonical base64url ------------------------------------


def test_signature_transplanted_onto_another_payload_is_refused(keys, make_oidc, make_cognito):
    """Signature-stripping / transplant class: a valid signature from token A on the payload
    (or header) of token B."""
    verifier = make_oidc()
    a = keys["RS256"].sign(oidc_claims(sub="alice"))
    b = keys["RS256"].sign(oidc_claims(sub="admin", scope="orders:admin"))
    ah, _, asig = a.split(".")
    bh, bp, _ = b.split(".")
    _rejects(verifier, f"{ah}.{bp}.{asig}", InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    # Same key, another pinned kid / alg: header of an RS384 token, signature of an RS256 one.
    c = keys["RS384"].sign(oidc_claims(sub="admin"))
    ch, cp, _ = c.split(".")
    _rejects(verifier, f"{ch}.{cp}.{asig}", InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    # Stripped signature.
    _rejects(verifier, f"{bh}.{bp}.", InvalidSignatureError, "ERR_INVALID_SIGNATURE")
    _rejects(verifier, f"{bh}.{bp}", MalformedTokenError, "ERR_MALFORMED_TOKEN")
    # Cognito: an ID token's signature on an access token payload.
    idt = keys["RS256"].sign(id_claims())
    acc = keys["RS256"].sign(access_claims())
    _rejects(
        make_cognito(),
        ".".join([*acc.split(".")[:2], idt.split(".")[2]]),
        InvalidSignatureError,
        "ERR_INVALID_SIGNATURE",
    )


def _noncanonical_tail(segment: str) -> str:
    """Same decoded octets (for a lenient decoder), non-zero unused bits in the last char."""
    assert len(segment) % 4 in (2, 3)
    last = _B64_ALPHABET.index(segment[-1])
    tampered = segment[:-1] + _B64_ALPHABET[last | 1]
    assert tampered != segment
    assert base64.urlsafe_b64decode(tampered + "==") == base64.urlsafe_b64decode(segment + "==")
    return tampered


def _padded(segment: str) -> str:
    return segment + "=" * (-len(segment) % 4) if len(segment) % 4 else segment + "===="


def _std_alphabet(segment: str) -> str:
    return segment.replace("-", "+").replace("_", "/")


def _segments_with(keys: dict[str, SigningKey], rem: int, need: str = "") -> tuple[str, str]:
    """Header and payload segments of length ≡ *rem* (mod 4) containing *need* chars if given."""
    for i in range(4000):
        header = _enc(
            {"alg": "RS256", "kid": "rsa-rs256", "typ": "JWT" + "?~>"[: i % 4], "x": "x" * (i % 7)}
        )
        payload = _enc(oidc_claims(jti="j" * (i // 7) + "?~>" * (i % 5)))
        ok = all(len(s) % 4 == rem for s in (header, payload))
        if ok and (not need or all(any(c in s for c in need) for s in (header, payload))):
            return header, payload
    raise AssertionError("no suitable segments found")  # pragma: no cover


TAMPERS = ["noncanonical-tail", "padding", "std-alphabet", "newline", "space", "tab"]


def _tamper(segment: str, how: str) -> str:
    mid = len(segment) // 2
    return {
        "noncanonical-tail": _noncanonical_tail,
        "padding": _padded,
        "std-alphabet": _std_alphabet,
        "newline": lambda s: s[:mid] + "\n" + s[mid:],
        "space": lambda s: s[:mid] + " " + s[mid:],
        "tab": lambda s: s[:mid] + "\t" + s[mid:],
    }[how](segment)


@pytest.mark.parametrize("how", TAMPERS)
@pytest.mark.parametrize("segment", ["header", "payload"])
def test_noncanonical_base64url_in_header_or_payload_is_malformed(keys, make_oidc, how, segment):
    """Token-malleability class (RFC 7515 §2 / RFC 4648 §3.5: a lenient base64 decoder lets
    several strings carry one token): a header or payload segment with padding, non-zero
    trailing bits, whitespace or the '+'/'/' alphabet is refused, even though the signature was
    computed over exactly that text."""
    verifier = make_oidc()
    for rem in (2, 3):
        header, payload = _segments_with(keys, rem, need="-_" if how == "std-alphabet" else "")
        assert verifier.verify(_sign_segments(header, payload, keys["RS256"]))  # control
        if segment == "header":
            header = _tamper(header, how)
        else:
            payload = _tamper(payload, how)
        token = _sign_segments(header, payload, keys["RS256"])
        _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


@pytest.mark.parametrize("how", TAMPERS)
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_noncanonical_base64url_in_signature_is_malformed(keys, make_oidc, how, alg):
    """Signature-malleability class: a second encoding of the same signature bytes must not be
    accepted (it would make tokens malleable and defeat replay caches keyed on the string)."""
    verifier = make_oidc()
    for i in range(200):
        token = keys[alg].sign(oidc_claims(jti=f"jti-{i}"))
        sig = token.split(".")[2]
        if how != "std-alphabet" or ("-" in sig or "_" in sig):
            break
    assert len(sig) % 4 in (2, 3)  # 256, 64 and 64 octets
    assert verifier.verify(token)  # control
    tampered = token.rsplit(".", 1)[0] + "." + _tamper(sig, how)
    _rejects(verifier, tampered, MalformedTokenError, "ERR_MALFORMED_TOKEN")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: " " + t,
        lambda t: t + "\n",
        lambda t: t + ".",
        lambda t: t + ".extra",
        lambda t: "." + t,
        lambda t: t.replace(".", "..", 1),
        lambda t: "Bearer " + t,
        lambda t: t + "\x00",
        lambda t: t[:-1] + "\u0410",  # Cyrillic A, not base64url
        lambda t: t.split(".")[0] + "A." + ".".join(t.split(".")[1:]),  # length 4k+1 header
    ],
)
def test_token_framing_tricks_are_malformed(keys, make_oidc, mangle):
    """Framing / smuggling class (e.g. CVE-2022-39227 python-jwt, where the verifier and the
    claim reader parsed different parts of one string): extra segments, whitespace, prefixes
    and non-ASCII."""
    _rejects(
        make_oidc(),
        mangle(keys["RS256"].sign(oidc_claims())),
        MalformedTokenError,
        "ERR_MALFORMED_TOKEN",
    )


def test_oversized_tokens_are_refused_before_decoding(keys, make_oidc):
    """Resource-exhaustion class (e.g. CVE-2024-33664 python-jose "JWT bomb", huge or deeply
    nested headers and payloads): tokens past the size caps are malformed, not decoded."""
    verifier = make_oidc()
    token = keys["RS256"].sign(oidc_claims(blob="x" * 70_000))
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    token = keys["RS256"].sign(oidc_claims(), headers={"pad": "x" * 9000})
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    token = _with_signature(keys["RS256"].sign(oidc_claims()), b"\x01" * 2000)
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    # Nesting deep enough to exhaust the recursion limit, within the size caps: the payload
    # (decoded only after the signature verified) and the header (decoded before).
    deep = "[" * 20_000 + "]" * 20_000
    token = _sign_json_text(
        '{"alg":"RS256","kid":"rsa-rs256"}', '{"exp": 1, "deep": ' + deep + "}", keys["RS256"]
    )
    assert len(token) < TokenLimits().max_token_length
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    deep = "[" * 2_900 + "]" * 2_900
    token = _sign_json_text(
        '{"alg":"RS256","kid":"rsa-rs256","x":' + deep + "}",
        json.dumps(oidc_claims()),
        keys["RS256"],
    )
    assert len(token.split(".")[0]) < TokenLimits().max_header_length
    _rejects(verifier, token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../dev/null",
        "' OR '1'='1",
        "rsa-rs256\x00",
        "RSA-RS256",
        " rsa-rs256",
        "rsa-rs256 ",
        "k" * 5000,
        "",
    ],
)
def test_kid_injection_finds_no_key(keys, make_oidc, kid):
    """``kid`` injection class (path traversal / SQL injection / lookalike kids in key
    lookup): the kid is only ever an exact dictionary key."""
    exc = _rejects(
        make_oidc(),
        keys["RS256"].sign(oidc_claims(), kid=kid),
        KeyNotFoundError,
        "ERR_KEY_NOT_FOUND",
    )
    assert len(exc.message) < 300


# --- 15. Time claims ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "cls", "code"),
    [
        ({"exp": FIXED_NOW - 1}, ExpiredTokenError, "ERR_TOKEN_EXPIRED"),
        ({"exp": FIXED_NOW}, ExpiredTokenError, "ERR_TOKEN_EXPIRED"),
        ({"exp": FIXED_NOW - 0.5}, ExpiredTokenError, "ERR_TOKEN_EXPIRED"),
        ({"exp": 0}, ExpiredTokenError, "ERR_TOKEN_EXPIRED"),
        ({"exp": -1}, ExpiredTokenError, "ERR_TOKEN_EXPIRED"),
        ({"exp": "9999999999"}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"exp": True}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"exp": [9999999999]}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"exp": {"$gt": 0}}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"nbf": FIXED_NOW + 61}, NotYetValidError, "ERR_TOKEN_NOT_YET_VALID"),
        ({"nbf": "0"}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"nbf": False}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"iat": FIXED_NOW + 61}, NotYetValidError, "ERR_TOKEN_NOT_YET_VALID"),
        ({"iat": "0"}, ClaimError, "ERR_CLAIM_INVALID"),
        ({"iat": True}, ClaimError, "ERR_CLAIM_INVALID"),
    ],
)
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_time_claims(keys, make_oidc, make_cognito, overrides, cls, code, which):
    """Expired / not-yet-valid / type-confused NumericDate class (RFC 7519 §4.1.4: a
    string or boolean ``exp`` compared loosely, or a missing one treated as "never expires").
    ``nbf``/``iat`` may lie up to 60 s ahead by default (clock skew); ``exp`` gets no grace."""
    verifier, make = (
        (make_oidc(), oidc_claims) if which == "oidc" else (make_cognito(), access_claims)
    )
    _rejects(verifier, keys["RS256"].sign(make(**overrides)), cls, code)


@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_missing_or_null_exp(keys, make_oidc, make_cognito, which):
    """Missing-expiry class: ``exp`` is always required; ``null`` is not a NumericDate."""
    verifier, make = (
        (make_oidc(), oidc_claims) if which == "oidc" else (make_cognito(), access_claims)
    )
    missing = {k: v for k, v in make().items() if k != "exp"}
    _rejects(verifier, keys["RS256"].sign(missing), MissingClaimError, "ERR_CLAIM_MISSING")
    _rejects(verifier, keys["RS256"].sign(dict(missing, exp=None)), ClaimError, "ERR_CLAIM_INVALID")


def test_exp_as_json_overflow_literal(keys, make_oidc):
    """NumericDate overflow class: ``1e999`` is valid JSON grammar but overflows to ``inf`` in
    Python's json module (a smuggled ``Infinity``: "never expires"); the strict JSON layer
    refuses it as malformed rather than letting ``inf`` reach the time checks."""
    text = json.dumps(oidc_claims()).replace(str(FIXED_NOW + 600), "1e999")
    assert "1e999" in text
    token = _sign_json_text('{"alg":"RS256","kid":"rsa-rs256"}', text, keys["RS256"])
    _rejects(make_oidc(), token, MalformedTokenError, "ERR_MALFORMED_TOKEN")
    text = json.dumps(oidc_claims()).replace(str(FIXED_NOW - 10), "-1e999")
    token = _sign_json_text('{"alg":"RS256","kid":"rsa-rs256"}', text, keys["RS256"])
    _rejects(make_oidc(), token, MalformedTokenError, "ERR_MALFORMED_TOKEN")


NEVER = [10**400, -(10**400), 1e308, -1e308, 253_402_300_800, -62_135_596_801]


@pytest.mark.parametrize(
    "value", NEVER, ids=["10**400", "-10**400", "1e308", "-1e308", "y10k", "y0"]
)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("which", ["oidc", "cognito"])
def test_numeric_date_beyond_year_9999_is_a_claim_error(
    keys, make_oidc, make_cognito, claim, value, which
):
    """NumericDate overflow class (hardening 2.11): ``exp = 10**400`` or ``1e308`` (valid JSON,
    signed by the issuer) used to read as "never expires", and earlier escaped as a bare
    ``OverflowError``. A NumericDate beyond what a date can be (years 1 to 9999) is not a date:
    the token is refused with a claim error naming the claim, sync and async."""
    verifier, make = (
        (make_oidc(), oidc_claims) if which == "oidc" else (make_cognito(), access_claims)
    )
    token = keys["RS256"].sign(make(**{claim: value}))
    exc = _rejects(verifier, token, ClaimError, "ERR_CLAIM_INVALID")
    assert isinstance(exc, ClaimError)
    assert exc.claim == claim
    assert "beyond what a date can be" in str(exc)
    _rejects_async(verifier, token, ClaimError, "ERR_CLAIM_INVALID")


def test_exp_at_the_end_of_year_9999_still_verifies(keys, make_oidc):
    """Control for the test above: the last representable second is a date."""
    claims = make_oidc().verify(keys["RS256"].sign(oidc_claims(exp=253_402_300_799)))
    assert claims.expires_at is not None
    assert claims.expires_at.year == 9999


def test_time_claim_controls_with_leeway(keys, make_oidc):
    """Controls: the boundary tokens above verify once leeway covers them."""
    verifier = make_oidc(leeway=61)
    assert verifier.verify(keys["RS256"].sign(oidc_claims(exp=FIXED_NOW)))
    assert verifier.verify(keys["RS256"].sign(oidc_claims(nbf=FIXED_NOW + 61)))
    assert verifier.verify(keys["RS256"].sign(oidc_claims(iat=FIXED_NOW + 61)))
    # Without leeway, a minute of skew for nbf/iat (the default), none for exp.
    verifier = make_oidc()
    assert verifier.verify(keys["RS256"].sign(oidc_claims(nbf=FIXED_NOW + 60)))
    assert verifier.verify(keys["RS256"].sign(oidc_claims(iat=FIXED_NOW + 3)))


# --- Errors never carry the token ---------------------------------------------------------------


def _leak_cases(keys: dict[str, SigningKey]) -> dict[str, tuple[str, str]]:
    """name → (verifier kind, failing token) for a spread of the failures above."""
    rs = keys["RS256"]
    h, p = _enc({"alg": "none"}), _enc(oidc_claims())
    secret = (
        keys["RS256"]
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    hs_h = _enc({"alg": "HS256", "kid": "rsa-rs256"})
    hs_sig = hmac.new(secret, f"{hs_h}.{p}".encode(), hashlib.sha256).digest()
    es = keys["ES256"].sign(oidc_claims())
    a, b = rs.sign(oidc_claims(sub="a")), rs.sign(oidc_claims(sub="b"))
    std = ""
    for i in range(200):
        std = rs.sign(oidc_claims(jti=str(i)))
        if "-" in std.split(".")[2] or "_" in std.split(".")[2]:
            break
    std_header, std_payload, std_sig = std.split(".")
    return {
        "alg-none": ("oidc", f"{h}.{p}.{b64url_encode(b'garbage-signature-bytes')}"),
        "hmac-confusion": ("oidc", f"{hs_h}.{p}.{b64url_encode(hs_sig)}"),
        "psychic": ("oidc", _with_signature(es, b"\x00" * 64)),
        "der-ecdsa": (
            "oidc",
            _with_signature(es, _der_of(base64.urlsafe_b64decode(es.split(".")[2] + "=="))),
        ),
        "kid-mismatch": ("oidc", rs.sign(oidc_claims(), kid="ec-es256")),
        "unknown-kid": ("oidc", rs.sign(oidc_claims(), kid="nope")),
        "transplant": ("oidc", ".".join([*b.split(".")[:2], a.split(".")[2]])),
        "crit": ("oidc", rs.sign(oidc_claims(), headers={"crit": ["x"], "x": 1})),
        "b64-false": ("oidc", rs.sign(oidc_claims(), headers={"b64": False})),
        "dup-payload": (
            "oidc",
            _sign_json_text(
                '{"alg":"RS256","kid":"rsa-rs256"}',
                _dup_payload_cases()["exp-expired-then-valid"],
                rs,
            ),
        ),
        "noncanonical-sig": ("oidc", f"{std_header}.{std_payload}.{_std_alphabet(std_sig)}"),
        "expired": ("oidc", rs.sign(oidc_claims(exp=FIXED_NOW - 1))),
        "exp-string": ("oidc", rs.sign(oidc_claims(exp="9999999999"))),
        "nbf-future": ("oidc", rs.sign(oidc_claims(nbf=FIXED_NOW + 100))),
        "wrong-issuer": ("oidc", rs.sign(oidc_claims(iss=OIDC_ISSUER + "/"))),
        "wrong-audience": ("oidc", rs.sign(oidc_claims(aud="api://other"))),
        "cognito-token-use": ("cognito", rs.sign(id_claims())),
        "cognito-client": ("cognito", rs.sign(access_claims(client_id=OTHER_CLIENT))),
        "cognito-issuer": ("cognito", rs.sign(access_claims(iss=OTHER_POOL_ISSUER))),
        "framing": ("oidc", rs.sign(oidc_claims()) + ".x"),
    }


LEAK_CASES = [
    "alg-none",
    "hmac-confusion",
    "psychic",
    "der-ecdsa",
    "kid-mismatch",
    "unknown-kid",
    "transplant",
    "crit",
    "b64-false",
    "dup-payload",
    "noncanonical-sig",
    "expired",
    "exp-string",
    "nbf-future",
    "wrong-issuer",
    "wrong-audience",
    "cognito-token-use",
    "cognito-client",
    "cognito-issuer",
    "framing",
]


@pytest.mark.parametrize("case", LEAK_CASES)
def test_errors_never_contain_the_token_or_its_signature(keys, make_oidc, make_cognito, case):
    """Token-in-logs class (CWE-532; e.g. advisories for libraries echoing the JWT in exception
    text): neither ``str()``, ``repr()``, ``args`` nor the formatted traceback of the error
    contains the token or its signature segment."""
    kind, token = _leak_cases(keys)[case]
    verifier = make_oidc() if kind == "oidc" else make_cognito()
    with pytest.raises(JwtError) as info:
        verifier.verify(token)
    exc = info.value
    texts = [
        str(exc),
        repr(exc),
        exc.message,
        *map(str, exc.args),
        "".join(traceback.format_exception(exc)),
    ]
    signature = token.split(".")[2] if token.count(".") >= 2 else ""
    needles = [token, token.strip(), signature if len(signature) >= 16 else None]
    for text in texts:
        for needle in needles:
            if needle:
                assert needle not in text, f"{type(exc).__name__} leaks the token: {text[:200]}"
