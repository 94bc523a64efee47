"""JWK / JWKS parsing, key selection, thumbprints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_decode, b64url_encode
from cognito_jwt._errors import (
    InvalidJwksError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySetUnavailableError,
)
from cognito_jwt._jwk import (
    DEFAULT_MAX_KEYS,
    KeySet,
    PreparedKey,
    SkippedKey,
    jwk_from_public_key,
    jwk_thumbprint,
    parse_jwk,
    parse_jwks,
)
from tests.helpers import all_jwks, all_keys, rsa_private

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc_vectors.json").read_text()
)
RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
ED_ALGS = frozenset({"EdDSA", "Ed25519"})
CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
EC_ALG = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
EC_SIZE = {"P-256": 32, "P-384": 48, "P-521": 66}


def uint(value: int, length: int | None = None) -> str:
    length = length or max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def rsa_jwk(**members: Any) -> dict[str, Any]:
    jwk = dict(jwk_from_public_key(rsa_private().public_key()))
    jwk.update(members)
    return {k: v for k, v in jwk.items() if v is not None}


def ec_jwk(crv: str = "P-256", **members: Any) -> dict[str, Any]:
    jwk = dict(jwk_from_public_key(_ec_private(crv).public_key()))
    jwk.update(members)
    return {k: v for k, v in jwk.items() if v is not None}


_EC_CACHE: dict[str, ec.EllipticCurvePrivateKey] = {}


def _ec_private(crv: str) -> ec.EllipticCurvePrivateKey:
    if crv not in _EC_CACHE:
        _EC_CACHE[crv] = ec.generate_private_key(CURVES[crv])
    return _EC_CACHE[crv]


_ED = ed25519.Ed25519PrivateKey.generate()


def okp_jwk(**members: Any) -> dict[str, Any]:
    jwk = dict(jwk_from_public_key(_ED.public_key()))
    jwk.update(members)
    return {k: v for k, v in jwk.items() if v is not None}


def skip_reason(jwk: object) -> str:
    with pytest.raises(ValueError) as info:  # noqa: PT011 - the message is checked by callers
        parse_jwk(jwk)
    return str(info.value)


def flip_last_bit(text: str) -> str:
    raw = bytearray(b64url_decode(text))
    raw[-1] ^= 1
    return b64url_encode(bytes(raw))


def non_canonical(text: str) -> str:
    assert len(text) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) + 1]


# --- RSA -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("bits", [2048, 2049, 3072, 4096, 8191, 8192])
def test_rsa_modulus_size_accepted(bits: int) -> None:
    n = 2 ** (bits - 1) + 1
    key = parse_jwk({"kty": "RSA", "n": uint(n), "e": "AQAB"})
    assert isinstance(key.key, rsa.RSAPublicKey)
    assert key.key.key_size == bits
    assert key.algorithms == RSA_ALGS
    assert key.kty == "RSA"


@pytest.mark.parametrize(
    ("bits", "word"), [(1024, "minimum"), (2047, "minimum"), (8193, "maximum"), (16384, "maximum")]
)
def test_rsa_modulus_size_skipped(bits: int, word: str) -> None:
    n = 2 ** (bits - 1) + 1
    reason = skip_reason({"kty": "RSA", "n": uint(n), "e": "AQAB"})
    assert f"RSA modulus has {bits} bits" in reason
    assert word in reason


def test_rsa_real_2048_key_accepted() -> None:
    key = parse_jwk(rsa_jwk())
    assert key.key.public_numbers() == rsa_private().public_key().public_numbers()  # type: ignore[union-attr]


def test_rsa_even_modulus_skipped() -> None:
    assert "even" in skip_reason({"kty": "RSA", "n": uint(2**2047 + 2), "e": "AQAB"})


@pytest.mark.parametrize(
    ("e", "accepted"),
    [
        (1, False),
        (2, False),
        (3, True),
        (4, False),
        (17, True),
        (65536, False),
        (65537, True),
        (2**32 - 1, True),
        (2**32, False),
        (2**32 + 1, False),
        (2**64 + 1, False),
    ],
)
def test_rsa_exponent(e: int, accepted: bool) -> None:
    jwk = rsa_jwk(e=uint(e))
    if accepted:
        assert parse_jwk(jwk).key.public_numbers().e == e  # type: ignore[union-attr]
    else:
        reason = skip_reason(jwk)
        assert "exponent" in reason
        assert jwk["n"] not in reason


@pytest.mark.parametrize("member", ["n", "e"])
def test_rsa_empty_member_skipped(member: str) -> None:
    assert "is empty" in skip_reason(rsa_jwk(**{member: ""}))


@pytest.mark.parametrize("member", ["n", "e"])
@pytest.mark.parametrize("value", [None, 65537, ["AQAB"], {"v": "AQAB"}])
def test_rsa_missing_or_non_string_member_skipped(member: str, value: object) -> None:
    jwk = rsa_jwk()
    if value is None:
        del jwk[member]
    else:
        jwk[member] = value
    assert f"member '{member}' is missing or not a string" in skip_reason(jwk)


def test_rsa_all_zero_modulus_skipped() -> None:
    assert "RSA modulus has 0 bits" in skip_reason(rsa_jwk(n="AAAA"))


@pytest.mark.parametrize("zeros", [1, 2, 5])
def test_rsa_leading_zero_octets_in_n_accepted(zeros: int) -> None:
    n = rsa_private().public_key().public_numbers().n
    padded = b64url_encode(bytes(zeros) + n.to_bytes(256, "big"))
    key = parse_jwk(rsa_jwk(n=padded))
    assert key.key.public_numbers().n == n  # type: ignore[union-attr]
    assert key.key.key_size == 2048  # type: ignore[union-attr]


def test_rsa_leading_zero_octet_in_e_accepted() -> None:
    assert parse_jwk(rsa_jwk(e="AAEAAQ")).key.public_numbers().e == 65537  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("member", "mangle"),
    [
        ("n", non_canonical),
        ("n", lambda t: t + "=="),
        ("n", lambda t: t[:10] + "+" + t[11:]),
        ("n", lambda t: t[:10] + "/" + t[11:]),
        ("n", lambda t: t[:100] + "\n" + t[100:]),
        ("n", lambda t: t + " "),
        ("n", lambda t: t + "AAA"),  # length 4k + 1 (the 2048-bit n is 342 characters)
        ("e", lambda t: t + "="),
        ("e", lambda t: "AQB"),  # non-zero unused bits
        ("e", lambda t: "A"),
    ],
)
def test_rsa_non_canonical_base64_skipped(member: str, mangle: Any) -> None:
    jwk = rsa_jwk()
    value = mangle(jwk[member])
    jwk[member] = value
    reason = skip_reason(jwk)
    assert f"member '{member}' is not canonical base64url" in reason
    assert value not in reason


# --- EC ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_ec_each_curve_accepted(crv: str) -> None:
    key = parse_jwk(ec_jwk(crv))
    assert isinstance(key.key, ec.EllipticCurvePublicKey)
    assert key.key.curve.name == CURVES[crv].name
    assert key.algorithms == {EC_ALG[crv]}
    assert key.kty == "EC"


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
@pytest.mark.parametrize("coord", ["x", "y"])
@pytest.mark.parametrize("change", ["short", "long"])
def test_ec_coordinate_length_off_by_one_skipped(crv: str, coord: str, change: str) -> None:
    jwk = ec_jwk(crv)
    raw = b64url_decode(jwk[coord])
    jwk[coord] = b64url_encode(raw[1:] if change == "short" else b"\x00" + raw)
    assert f"EC coordinates for {crv} must be {EC_SIZE[crv]} octets each" in skip_reason(jwk)


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
@pytest.mark.parametrize("coord", ["x", "y"])
def test_ec_point_not_on_curve_skipped(crv: str, coord: str) -> None:
    jwk = ec_jwk(crv)
    jwk[coord] = flip_last_bit(jwk[coord])
    assert f"EC point is not on curve {crv}" in skip_reason(jwk)


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_ec_zero_point_skipped(crv: str) -> None:
    zero = b64url_encode(bytes(EC_SIZE[crv]))
    assert "not on curve" in skip_reason(ec_jwk(crv, x=zero, y=zero))


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "EdDSA", "HS256"])
def test_ec_alg_pin(crv: str, alg: str) -> None:
    jwk = ec_jwk(crv, alg=alg)
    if alg == EC_ALG[crv]:
        assert parse_jwk(jwk).algorithms == {alg}
    else:
        assert f"'alg' {alg!r} is not a supported algorithm for this key" in skip_reason(jwk)


@pytest.mark.parametrize("crv", ["secp256k1", "P-192", "p-256", "P256", "Ed25519", "", None, 256])
def test_ec_unsupported_curve_skipped(crv: object) -> None:
    jwk: dict[str, Any] = {**ec_jwk("P-256"), "crv": crv}
    if crv is None:
        del jwk["crv"]
    assert "is not supported (P-256, P-384, P-521)" in skip_reason(jwk)


def test_ec_secp256k1_real_key_skipped() -> None:
    pub = ec.generate_private_key(ec.SECP256K1()).public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "secp256k1", "x": uint(pub.x, 32), "y": uint(pub.y, 32)}
    assert "'secp256k1' is not supported" in skip_reason(jwk)


@pytest.mark.parametrize("coord", ["x", "y"])
def test_ec_missing_coordinate_skipped(coord: str) -> None:
    jwk = ec_jwk()
    del jwk[coord]
    assert f"member '{coord}' is missing" in skip_reason(jwk)


def test_ec_curve_name_of_other_size_skipped() -> None:
    # P-256 coordinates labelled P-384: wrong size, never reinterpreted
    jwk = {**ec_jwk("P-256"), "crv": "P-384"}
    assert "must be 48 octets" in skip_reason(jwk)


# --- OKP -----------------------------------------------------------------------------------------
def test_okp_ed25519_accepted() -> None:
    key = parse_jwk(okp_jwk())
    assert isinstance(key.key, ed25519.Ed25519PublicKey)
    assert key.algorithms == ED_ALGS
    assert key.kty == "OKP"


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519"])
def test_okp_alg_pin(alg: str) -> None:
    assert parse_jwk(okp_jwk(alg=alg)).algorithms == {alg}


@pytest.mark.parametrize("alg", ["Ed448", "ES256", "RS256", "eddsa"])
def test_okp_bad_alg_pin_skipped(alg: str) -> None:
    assert "is not a supported algorithm for this key" in skip_reason(okp_jwk(alg=alg))


@pytest.mark.parametrize(
    ("crv", "size"), [("Ed448", 57), ("X25519", 32), ("X448", 56), ("ed25519", 32), (None, 32)]
)
def test_okp_other_curves_skipped(crv: str | None, size: int) -> None:
    jwk = {"kty": "OKP", "x": b64url_encode(bytes(range(size)))}
    if crv is not None:
        jwk["crv"] = crv
    assert "is not supported (Ed25519)" in skip_reason(jwk)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_okp_x_wrong_length_skipped(size: int) -> None:
    reason = skip_reason(okp_jwk(x=b64url_encode(bytes(size))))
    assert "Ed25519 'x' must be 32 octets" in reason or "not canonical" in reason


# RFC 8032 Ed25519 encodings, written out independently of the library: y little-endian with
# the sign of x in the top bit. The eight points of small order are y = 0 (order 4, both signs),
# y = 1 (identity), y = p - 1 (order 2) and the two order-8 y values (both signs); with the sign
# bit flipped on the identity and order 2 (x = 0) they make the 10 distinct y/sign encodings
# below, and with y + p (not reduced) more. Source: libsodium's blocklist.
_ED_P = 2**255 - 19
_ED_SMALL_ORDER_HEX = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
]


def _with_sign(encoding: bytes, sign: int) -> bytes:
    raw = bytearray(encoding)
    raw[31] = (raw[31] & 0x7F) | (sign << 7)
    return bytes(raw)


ED_SMALL_ORDER = [
    _with_sign(bytes.fromhex(h), sign) for h in _ED_SMALL_ORDER_HEX for sign in (0, 1)
]
# y >= p: every unreduced y (p .. 2**255 - 1), both signs; p and p + 1 alias small-order points.
ED_NON_CANONICAL = [
    _with_sign(y.to_bytes(32, "little"), sign) for y in range(_ED_P, 2**255) for sign in (0, 1)
]


def test_small_order_encodings_really_accept_a_forgery() -> None:
    # Guard for the constants above: each one, loaded by cryptography directly, accepts the
    # signature R = identity, S = 0 for some message. That is why the key rule exists.
    identity = bytes.fromhex(_ED_SMALL_ORDER_HEX[1])
    for encoding in ED_SMALL_ORDER:
        public = ed25519.Ed25519PublicKey.from_public_bytes(encoding)
        accepted = 0
        for n in range(64):
            try:
                public.verify(identity + bytes(32), b"message %d" % n)
            except InvalidSignature:
                continue
            accepted += 1
        assert accepted, encoding.hex()


@pytest.mark.parametrize("encoding", ED_SMALL_ORDER, ids=lambda e: e.hex()[:8] + e.hex()[-2:])
def test_okp_small_order_points_skipped(encoding: bytes) -> None:
    reason = skip_reason(okp_jwk(x=b64url_encode(encoding)))
    assert "small order" in reason
    keyset = parse_jwks({"keys": [okp_jwk(x=b64url_encode(encoding), kid="bad"), okp_jwk()]})
    assert [(s.index, s.kid) for s in keyset.skipped] == [(0, "bad")]


@pytest.mark.parametrize("encoding", ED_NON_CANONICAL, ids=lambda e: e.hex()[:4] + e.hex()[-2:])
def test_okp_non_canonical_y_skipped(encoding: bytes) -> None:
    assert "not a canonical encoding" in skip_reason(okp_jwk(x=b64url_encode(encoding)))


def test_okp_forgery_with_a_small_order_key_is_never_checked() -> None:
    # The audit's reproduction: the identity as a key, then R = identity, S = 0.
    with pytest.raises(InvalidJwksError, match="small order"):
        parse_jwks(
            {
                "keys": [
                    {
                        "kty": "OKP",
                        "crv": "Ed25519",
                        "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                    }
                ]
            }
        )


def test_okp_x_missing_skipped() -> None:
    jwk = okp_jwk()
    del jwk["x"]
    assert "member 'x' is missing" in skip_reason(jwk)


# --- key types, private members, use, key_ops, kid ------------------------------------------------
def test_oct_skipped() -> None:
    assert "symmetric ('oct') keys" in skip_reason({"kty": "oct", "alg": "HS256"})


@pytest.mark.parametrize("kty", ["rsa", "ec", "okp", "OCT", "RSA-HSM", "", 1, ["RSA"]])
def test_unknown_kty_skipped(kty: object) -> None:
    jwk = rsa_jwk(kty=kty)
    assert "is not supported (RSA, EC, OKP)" in skip_reason(jwk)


def test_missing_kty_skipped() -> None:
    jwk = rsa_jwk()
    del jwk["kty"]
    assert "key type None is not supported" in skip_reason(jwk)


@pytest.mark.parametrize("value", [[], "RSA", None, 1, ("kty", "RSA")])
def test_non_mapping_skipped(value: object) -> None:
    assert "a JWK must be a JSON object" in skip_reason(value)


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
@pytest.mark.parametrize("make", [rsa_jwk, ec_jwk, okp_jwk])
def test_private_members_skipped(member: str, make: Any) -> None:
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQ"
    reason = skip_reason(make(**{member: secret}))
    assert "private or secret key members present" in reason
    assert member in reason
    assert secret not in reason


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v.get("jwk") and "d" in v["jwk"]], ids=lambda v: v["name"]
)
def test_rfc_private_jwks_skipped_as_published(vector: dict[str, Any]) -> None:
    reason = skip_reason(vector["jwk"])
    assert "private or secret key members present" in reason
    assert vector["jwk"]["d"] not in reason


@pytest.mark.parametrize(
    ("use", "ok"), [("sig", True), ("enc", False), ("SIG", False), ("", False), (["sig"], False)]
)
def test_use(use: object, ok: bool) -> None:
    jwk = rsa_jwk(use=use)
    if ok:
        assert parse_jwk(jwk).algorithms == RSA_ALGS
    else:
        assert "not 'sig'" in skip_reason(jwk)


@pytest.mark.parametrize(
    ("key_ops", "ok"),
    [
        (["verify"], True),
        (["sign", "verify"], True),
        (["sign"], False),
        (["encrypt", "wrapKey"], False),
        ([], False),
        ("verify", False),
        ({"verify": True}, False),
        (["Verify"], False),
    ],
)
def test_key_ops(key_ops: object, ok: bool) -> None:
    jwk = rsa_jwk(key_ops=key_ops)
    if ok:
        assert parse_jwk(jwk).algorithms == RSA_ALGS
    else:
        assert "'key_ops' does not allow 'verify'" in skip_reason(jwk)


@pytest.mark.parametrize("alg", sorted(RSA_ALGS))
def test_rsa_alg_pin_limits_algorithms(alg: str) -> None:
    assert parse_jwk(rsa_jwk(alg=alg)).algorithms == {alg}


def test_rsa_without_alg_allows_every_rsa_algorithm() -> None:
    assert parse_jwk(rsa_jwk()).algorithms == RSA_ALGS


@pytest.mark.parametrize(
    "alg",
    [
        "HS256",
        "HS512",
        "none",
        "RS1",
        "rs256",
        "RS257",
        "ES256",
        "EdDSA",
        "RSA-OAEP",
        "",
        256,
        ["RS256"],
    ],
)
def test_rsa_bad_alg_pin_skipped(alg: object) -> None:
    assert "is not a supported algorithm for this key" in skip_reason(rsa_jwk(alg=alg))


@pytest.mark.parametrize("kid", [1, 1.5, True, ["k"], {"k": 1}])
def test_kid_non_string_skipped(kid: object) -> None:
    assert "'kid' must be a string" in skip_reason(rsa_jwk(kid=kid))


@pytest.mark.parametrize("kid", ["k1", "", "x" * 1000, "ünïcode"])
def test_kid_string_kept(kid: str) -> None:
    assert parse_jwk(rsa_jwk(kid=kid)).kid == kid


def test_kid_absent_is_none() -> None:
    assert parse_jwk(rsa_jwk()).kid is None


def test_prepared_key_keeps_public_jwk() -> None:
    jwk = rsa_jwk(kid="k", alg="RS256", use="sig", x5t="abc")
    key = parse_jwk(jwk)
    assert isinstance(key, PreparedKey)
    assert dict(key.jwk) == jwk
    assert "n" not in repr(key) or jwk["n"] not in repr(key)


# --- parse_jwks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("document", [[], None, 5, [{"keys": []}], "[]", b"[]", '"keys"', "null"])
def test_jwks_not_an_object(document: object) -> None:
    with pytest.raises(InvalidJwksError, match="JSON object") as info:
        parse_jwks(document)
    assert info.value.code == "ERR_JWKS_INVALID"
    assert isinstance(info.value, KeySetUnavailableError)


@pytest.mark.parametrize(
    "document",
    [{}, {"key": []}, {"keys": {}}, {"keys": "[]"}, {"keys": None}, {"keys": {"0": {}}}, "{}"],
)
def test_jwks_without_keys_array(document: object) -> None:
    with pytest.raises(InvalidJwksError, match="must have a 'keys' array"):
        parse_jwks(document)


def test_jwks_empty_keys() -> None:
    with pytest.raises(InvalidJwksError, match="no usable key \\('keys' is empty\\)"):
        parse_jwks({"keys": []})


@pytest.mark.parametrize("as_bytes", [False, True])
def test_jwks_json_text(as_bytes: bool) -> None:
    text = json.dumps(all_jwks())
    keyset = parse_jwks(text.encode() if as_bytes else text)
    assert len(keyset) == len(all_keys())
    assert keyset.kids == {k.kid for k in all_keys().values()}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "not json",
        '{"keys":[],"keys":[]}',
        '{"keys":[NaN]}',
        b"\xef\xbb\xbf{}",
        b'{"keys":"\xff"}',
        "[" * 100_000,
    ],
)
def test_jwks_invalid_json_text(text: str | bytes) -> None:
    with pytest.raises(
        InvalidJwksError, match=r"JWKS is not a JSON object: (invalid )?JSON"
    ) as info:
        parse_jwks(text)
    assert info.value.__cause__ is None


def _ed_jwk(kid: str) -> dict[str, Any]:
    return okp_jwk(kid=kid, alg="EdDSA")


@pytest.mark.parametrize("max_keys", [1, 3, 10])
def test_jwks_max_keys_at_and_above(max_keys: int) -> None:
    at = {"keys": [_ed_jwk(f"k{i}") for i in range(max_keys)]}
    assert len(parse_jwks(at, max_keys=max_keys)) == max_keys
    above = {"keys": [_ed_jwk(f"k{i}") for i in range(max_keys + 1)]}
    with pytest.raises(
        InvalidJwksError, match=f"has {max_keys + 1} keys, above the limit of {max_keys}"
    ):
        parse_jwks(above, max_keys=max_keys)


def test_jwks_default_max_keys() -> None:
    assert DEFAULT_MAX_KEYS == 100
    at = {"keys": [_ed_jwk(f"k{i}") for i in range(100)]}
    assert len(parse_jwks(at)) == 100
    assert len(KeySet.from_jwks(at)) == 100
    with pytest.raises(InvalidJwksError, match="101 keys, above the limit of 100"):
        parse_jwks({"keys": [*at["keys"], _ed_jwk("k100")]})


def test_jwks_max_keys_counts_bad_entries_too() -> None:
    with pytest.raises(InvalidJwksError, match="above the limit"):
        parse_jwks({"keys": [{}, {}, _ed_jwk("a")]}, max_keys=2)


def test_jwks_all_keys_bad_summarises_reasons() -> None:
    document = {
        "keys": [
            {"kty": "oct", "k": "AAAA"},
            rsa_jwk(use="enc"),
            {**ec_jwk(), "crv": "secp256k1"},
            "not a key",
            rsa_jwk(e="AQ"),
            okp_jwk(crv="Ed448"),
            rsa_jwk(kid=5),
        ]
    }
    with pytest.raises(InvalidJwksError, match="JWKS has no usable key") as info:
        parse_jwks(document)
    message = str(info.value)
    assert "#0: private or secret key members present (k)" in message
    assert "#1: 'use' is 'enc', not 'sig'" in message
    assert "#2: EC curve 'secp256k1' is not supported" in message
    assert "#3: a JWK must be a JSON object" in message
    assert "#4: RSA exponent must be odd and at least 3" in message
    # only the first five reasons are listed
    assert "#5" not in message
    assert "#6" not in message
    assert "AAAA" not in message


def test_jwks_skipped_entries_reported() -> None:
    good = _ed_jwk("good")
    document = {"keys": [rsa_jwk(kid="bad", use="enc"), good, {"kid": 7, "kty": "oct"}, "x"]}
    keyset = parse_jwks(document)
    assert keyset.kids == {"good"}
    assert [s.index for s in keyset.skipped] == [0, 2, 3]
    assert keyset.skipped[0] == SkippedKey(0, "bad", "'use' is 'enc', not 'sig'")
    assert keyset.skipped[1].kid is None
    assert keyset.skipped[2].kid is None
    assert repr(keyset) == "KeySet(kids=['good'], skipped=3)"


AMBIGUOUS = "'kid' is shared with another key of the same type (ambiguous)"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({}, {}),
        ({"alg": "RS256"}, {}),
        ({}, {"alg": "PS512"}),
        ({"alg": "RS256"}, {"alg": "RS256"}),
        ({"alg": "RS256"}, {"alg": "PS256"}),  # disjoint pins: still one kid for two RSA keys
    ],
)
def test_jwks_duplicate_kid_same_type_both_skipped(
    first: dict[str, str], second: dict[str, str]
) -> None:
    # Strict (hardening 2.11): which of two keys a kid names is the issuer's bug to fix, not
    # ours to guess; the first-wins rule let a later (or earlier) entry shadow the real key.
    other = jwk_from_public_key(rsa_private(2048, seed=7).public_key())
    good = _ed_jwk("good")
    document = {"keys": [rsa_jwk(kid="dup", **first), good, {**other, "kid": "dup", **second}]}
    keyset = parse_jwks(document)
    assert keyset.kids == {"good"}
    assert keyset.skipped == (SkippedKey(0, "dup", AMBIGUOUS), SkippedKey(2, "dup", AMBIGUOUS))
    with pytest.raises(KeyNotFoundError):
        keyset.find("dup", "RS256")


def test_jwks_duplicate_kid_ec_both_skipped() -> None:
    first = ec_jwk("P-256", kid="dup")
    second = {
        **jwk_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key()),
        "kid": "dup",
    }
    third = ec_jwk("P-384", kid="dup")  # another curve, the same key type: also ambiguous
    with pytest.raises(InvalidJwksError, match="ambiguous"):
        parse_jwks({"keys": [first, second, third]})


def test_jwks_identical_key_twice_under_one_kid_both_skipped() -> None:
    jwk = rsa_jwk(kid="twice")
    keyset = parse_jwks({"keys": [jwk, dict(jwk), _ed_jwk("good")]})
    assert [(s.index, s.reason) for s in keyset.skipped] == [(0, AMBIGUOUS), (1, AMBIGUOUS)]


def test_jwks_unusable_key_does_not_make_a_kid_ambiguous() -> None:
    keyset = parse_jwks({"keys": [rsa_jwk(kid="k", use="enc"), rsa_jwk(kid="k")]})
    assert keyset.kids == {"k"}
    assert [s.index for s in keyset.skipped] == [0]


def test_jwks_same_kid_disjoint_algorithms_both_kept() -> None:
    document = {"keys": [rsa_jwk(kid="shared"), ec_jwk("P-256", kid="shared")]}
    keyset = parse_jwks(document)
    assert len(keyset) == 2
    assert keyset.skipped == ()
    assert keyset.find("shared", "RS256").kty == "RSA"
    assert keyset.find("shared", "PS384").kty == "RSA"
    assert keyset.find("shared", "ES256").kty == "EC"
    with pytest.raises(KeyAlgorithmMismatchError):
        keyset.find("shared", "ES384")


def test_jwks_identical_keys_without_kid_both_kept_but_ambiguous() -> None:
    keyset = parse_jwks({"keys": [rsa_jwk(), rsa_jwk()]})
    assert len(keyset) == 2
    assert keyset.kids == frozenset()
    with pytest.raises(KeyNotFoundError, match="exactly one key for RS256"):
        keyset.find(None, "RS256")


# --- KeySet.find ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keyset() -> KeySet:
    return parse_jwks(all_jwks())


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_find_by_kid(keyset: KeySet, alg: str) -> None:
    signing = all_keys()[alg]
    key = keyset.find(signing.kid, alg)
    assert key.kid == signing.kid
    assert key.algorithms == {alg}
    assert key.jwk == signing.jwk


def test_find_unknown_kid(keyset: KeySet) -> None:
    with pytest.raises(KeyNotFoundError, match="no key with kid 'nope' in the key set") as info:
        keyset.find("nope", "RS256")
    assert type(info.value) is KeyNotFoundError
    assert info.value.code == "ERR_KEY_NOT_FOUND"


def test_find_known_kid_wrong_alg(keyset: KeySet) -> None:
    with pytest.raises(KeyAlgorithmMismatchError, match="'rsa-rs256' cannot verify PS256") as info:
        keyset.find("rsa-rs256", "PS256")
    assert info.value.code == "ERR_KEY_ALG_MISMATCH"
    assert isinstance(info.value, KeyNotFoundError)


@pytest.mark.parametrize("alg", ["ES384", "EdDSA", "HS256", "none", "RS1"])
def test_find_known_kid_other_family(keyset: KeySet, alg: str) -> None:
    with pytest.raises(KeyAlgorithmMismatchError):
        keyset.find("ec-es256", alg)


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_find_without_kid_single_fitting_key(keyset: KeySet, alg: str) -> None:
    assert keyset.find(None, alg).kid == all_keys()[alg].kid


def test_find_without_kid_two_fitting_keys() -> None:
    keyset = parse_jwks(
        {
            "keys": [
                rsa_jwk(kid="a"),
                {**jwk_from_public_key(rsa_private(2048, seed=7).public_key()), "kid": "b"},
            ]
        }
    )
    with pytest.raises(KeyNotFoundError, match="does not hold exactly one key for RS256") as info:
        keyset.find(None, "RS256")
    assert type(info.value) is KeyNotFoundError
    assert keyset.find("a", "RS256").kid == "a"


def test_find_without_kid_no_fitting_key(keyset: KeySet) -> None:
    with pytest.raises(KeyNotFoundError, match="exactly one key for HS256"):
        keyset.find(None, "HS256")


def test_find_without_kid_key_without_kid() -> None:
    keyset = parse_jwks({"keys": [okp_jwk()]})
    assert keyset.find(None, "EdDSA").kid is None
    assert keyset.find(None, "Ed25519").kid is None
    with pytest.raises(KeyNotFoundError, match="no key with kid ''"):
        keyset.find("", "EdDSA")


@pytest.mark.parametrize("kid", ["RSA-RS256", "rsa-rs256 ", "Rsa-Rs256", "rsa-rs25"])
def test_find_kid_is_case_sensitive_and_exact(keyset: KeySet, kid: str) -> None:
    with pytest.raises(KeyNotFoundError) as info:
        keyset.find(kid, "RS256")
    assert type(info.value) is KeyNotFoundError


def test_find_long_unknown_kid_truncated_in_message(keyset: KeySet) -> None:
    kid = "k" * 5000
    with pytest.raises(KeyNotFoundError) as info:
        keyset.find(kid, "RS256")
    message = str(info.value)
    assert "k" * 61 + "..." in message
    assert "k" * 62 not in message
    assert len(message) < 200


def test_find_long_known_kid_truncated_in_mismatch_message() -> None:
    kid = "z" * 65
    keyset = parse_jwks({"keys": [rsa_jwk(kid=kid, alg="RS256")]})
    with pytest.raises(KeyAlgorithmMismatchError) as info:
        keyset.find(kid, "PS256")
    assert "z" * 61 + "..." in str(info.value)
    assert kid not in str(info.value)


def test_find_kid_of_exactly_64_not_truncated() -> None:
    kid = "q" * 64
    with pytest.raises(KeyNotFoundError) as info:
        parse_jwks({"keys": [okp_jwk(kid="x")]}).find(kid, "EdDSA")
    assert repr(kid) in str(info.value)


def test_keyset_from_sequence_and_properties(keyset: KeySet) -> None:
    assert len(keyset) == 11
    assert keyset.skipped == ()
    assert keyset.kids == {k.kid for k in all_keys().values()}
    rebuilt = KeySet(keyset.keys)
    assert rebuilt.find("ec-es384", "ES384") is keyset.find("ec-es384", "ES384")


# --- thumbprints and jwk_from_public_key -------------------------------------------------------
def test_thumbprint_rfc7638_vector() -> None:
    (vector,) = [v for v in VECTORS if "thumbprint" in v]
    assert jwk_thumbprint(vector["jwk"]) == vector["thumbprint"]
    assert jwk_thumbprint(vector["jwk"]) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_ignores_optional_members_and_order() -> None:
    (vector,) = [v for v in VECTORS if "thumbprint" in v]
    jwk = vector["jwk"]
    minimal = {"n": jwk["n"], "kty": "RSA", "e": jwk["e"]}
    assert jwk_thumbprint(minimal) == vector["thumbprint"]
    assert jwk_thumbprint({**jwk, "use": "sig", "x5t": "zzz"}) == vector["thumbprint"]


@pytest.mark.parametrize("make", [ec_jwk, okp_jwk])
def test_thumbprint_other_types_stable(make: Any) -> None:
    jwk = make()
    first = jwk_thumbprint(jwk)
    assert jwk_thumbprint({**jwk, "kid": "x", "alg": "whatever"}) == first
    assert len(b64url_decode(first)) == 32


@pytest.mark.parametrize(
    ("jwk", "match"),
    [
        ({"kty": "oct", "k": "AAAA"}, "cannot compute a thumbprint for key type 'oct'"),
        ({"n": "AQAB", "e": "AQAB"}, "key type None"),
        ({"kty": "RSA", "n": "AQAB"}, "lacks required member 'e'"),
        ({"kty": "EC", "crv": "P-256", "x": "AA"}, "lacks required member 'y'"),
        ({"kty": "OKP", "x": "AA"}, "lacks required member 'crv'"),
    ],
)
def test_thumbprint_errors(jwk: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        jwk_thumbprint(jwk)


def test_jwk_from_public_key_rsa_round_trip() -> None:
    public = rsa_private().public_key()
    jwk = jwk_from_public_key(public)
    assert set(jwk) == {"kty", "n", "e"}
    assert jwk["e"] == "AQAB"
    assert len(b64url_decode(jwk["n"])) == 256
    parsed = parse_jwk(jwk)
    assert parsed.key.public_numbers() == public.public_numbers()  # type: ignore[union-attr]
    assert jwk_from_public_key(parsed.key) == jwk


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_jwk_from_public_key_ec_round_trip(crv: str) -> None:
    for _ in range(5):  # several keys, so short coordinates (leading zero octets) are likely hit
        public = ec.generate_private_key(CURVES[crv]).public_key()
        jwk = jwk_from_public_key(public)
        assert jwk["crv"] == crv
        assert len(b64url_decode(jwk["x"])) == EC_SIZE[crv]
        assert len(b64url_decode(jwk["y"])) == EC_SIZE[crv]
        parsed = parse_jwk(jwk)
        assert parsed.key.public_numbers() == public.public_numbers()  # type: ignore[union-attr]
        assert jwk_from_public_key(parsed.key) == jwk


def test_jwk_from_public_key_ec_small_coordinate_padded() -> None:
    # find a P-521 key (x < 2**512 is common: the top byte holds only one bit)
    public = _ec_private("P-521").public_key()
    jwk = jwk_from_public_key(public)
    assert b64url_decode(jwk["x"])[0] in (0, 1)
    assert len(b64url_decode(jwk["x"])) == 66


def test_jwk_from_public_key_ed25519_round_trip() -> None:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    jwk = jwk_from_public_key(public)
    assert jwk == {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}
    parsed = parse_jwk(jwk)
    assert parsed.key == public
    assert jwk_from_public_key(parsed.key) == jwk


def test_rfc8037_public_key_thumbprint() -> None:
    # RFC 8037 A.3: thumbprint of the A.2 public key
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


# Curve parameters (FIPS 186-4 / SEC 2): field prime p and coefficient b of y^2 = x^3 - 3x + b.
FIELD = {
    "P-256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    ),
    "P-384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        int(
            "B3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875A"
            "C656398D8A2ED19D2A85C8EDD3EC2AEF",
            16,
        ),
    ),
    "P-521": (
        2**521 - 1,
        int(
            "0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF1"
            "09E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00",
            16,
        ),
    ),
}


def small_x_point(crv: str) -> tuple[int, int]:
    """A point on *crv* with a tiny x, so that x + p still fits in the coordinate size."""
    p, b = FIELD[crv]
    for x in range(1, 1000):  # pragma: no branch
        rhs = (x**3 - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)  # p = 3 mod 4 for all three curves
        if y * y % p == rhs:
            return x, y
    raise AssertionError("no point found")  # pragma: no cover


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_small_x_point_is_valid(crv: str) -> None:
    x, y = small_x_point(crv)
    size = EC_SIZE[crv]
    key = parse_jwk({"kty": "EC", "crv": crv, "x": uint(x, size), "y": uint(y, size)})
    assert key.key.public_numbers().x == x  # type: ignore[union-attr]


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_ec_unreduced_x_coordinate_skipped(crv: str) -> None:
    """LIBRARY BUG if this fails: x + p (an out-of-range alias of x) is silently reduced mod p.

    SEC 1 §2.3.6 (octet string to field element) requires 0 <= x < p; a JWK whose
    coordinate is >= p is not a canonical encoding of any point.
    """
    x, y = small_x_point(crv)
    p, _ = FIELD[crv]
    size = EC_SIZE[crv]
    assert x + p < 2 ** (8 * size)
    jwk = {"kty": "EC", "crv": crv, "x": uint(x + p, size), "y": uint(y, size)}
    with pytest.raises(ValueError, match="EC"):
        parse_jwk(jwk)


def test_ec_unreduced_y_coordinate_skipped_p521() -> None:
    """LIBRARY BUG if this fails (see above); on P-521 every y + p fits in 66 octets."""
    p, _ = FIELD["P-521"]
    jwk = ec_jwk("P-521")
    y = int.from_bytes(b64url_decode(jwk["y"]), "big")
    with pytest.raises(ValueError, match="EC"):
        parse_jwk({**jwk, "y": uint(y + p, 66)})
