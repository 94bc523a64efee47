"""The algorithm registry: RFC vectors, sign/verify round trips and the strict edge cases."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from cognito_jwt._algorithms import (
    ALGORITHMS,
    DEFAULT_ALGORITHMS,
    FORBIDDEN,
    check_allowlist,
    curve_info,
    is_forbidden,
)
from cognito_jwt._b64 import b64url_decode
from cognito_jwt._errors import ConfigurationError, InvalidJwksError
from cognito_jwt._jwk import parse_jwk, parse_jwks
from cognito_jwt._token import parse_token
from tests.helpers import TrustingBackendKey, all_keys, rsa_private

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc_vectors.json").read_text()
)
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
SIGNED = [v for v in VECTORS if "compact" in v and v["alg"] in ALGORITHMS]
UNUSABLE = [v for v in VECTORS if "compact" in v and v["alg"] not in ALGORITHMS]
DATA = b"eyJhbGciOiJ4In0.eyJzdWIiOiJ4In0"
# Group orders n from SEC 2 (decimal, independent of the library's hex constants).
ORDERS = {
    "ES256": 115792089210356248762697446949407573529996955224135760342422259061068512044369,
    "ES384": int(
        "394020061963944792122790401001436138050797392704654466679469052796276593991132635693"
        "98956308152294913554433653942643"
    ),
    "ES512": int(
        "686479766013060971498190079908139321726943530014330540939446345918554318339765539424"
        "5057746333217197532963996371363321113864768612440380340372808892707005449"
    ),
}
SIZES = {"ES256": 32, "ES384": 48, "ES512": 66}
HASHES = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k not in PRIVATE_MEMBERS}


def split(compact: str) -> tuple[bytes, bytes]:
    header, payload, signature = compact.split(".")
    return f"{header}.{payload}".encode("ascii"), b64url_decode(signature)


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- registry ------------------------------------------------------------------------------------
def test_registry_contents() -> None:
    assert set(ALGORITHMS) == {
        "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
    }  # fmt: skip
    assert frozenset(ALGORITHMS) == DEFAULT_ALGORITHMS
    for name, spec in ALGORITHMS.items():
        assert spec.name == name
        assert not is_forbidden(name)


@pytest.mark.parametrize(
    ("alg", "kty", "crv"),
    [
        ("RS256", "RSA", None),
        ("PS512", "RSA", None),
        ("ES256", "EC", "P-256"),
        ("ES384", "EC", "P-384"),
        ("ES512", "EC", "P-521"),
        ("EdDSA", "OKP", "Ed25519"),
        ("Ed25519", "OKP", "Ed25519"),
    ],
)
def test_algorithm_key_requirements(alg: str, kty: str, crv: str | None) -> None:
    assert ALGORITHMS[alg].kty == kty
    assert ALGORITHMS[alg].crv == crv


@pytest.mark.parametrize(("crv", "size"), [("P-256", 32), ("P-384", 48), ("P-521", 66)])
def test_curve_info(crv: str, size: int) -> None:
    info = curve_info(crv)
    assert info is not None
    assert info[1] == size
    assert (info[0].key_size + 7) // 8 == size


@pytest.mark.parametrize("crv", ["secp256k1", "P-192", "p-256", "Ed25519", ""])
def test_curve_info_unsupported(crv: str) -> None:
    assert curve_info(crv) is None


# --- RFC vectors ---------------------------------------------------------------------------------
def test_vector_file_has_expected_entries() -> None:
    names = {v["name"] for v in VECTORS}
    assert {"rfc7515-A.1", "rfc7515-A.2", "rfc7515-A.3", "rfc7515-A.4", "rfc7515-A.5"} <= names
    assert {"rfc7520-4.1", "rfc7520-4.2", "rfc7520-4.3", "rfc7520-4.4", "rfc8037-A.4"} <= names
    assert {v["name"] for v in UNUSABLE} == {"rfc7515-A.1", "rfc7520-4.4", "rfc7515-A.5"}
    assert len(SIGNED) == 7


@pytest.mark.parametrize("vector", SIGNED, ids=[v["name"] for v in SIGNED])
def test_rfc_vector_verifies(vector: dict[str, Any]) -> None:
    key = parse_jwk(public_jwk(vector["jwk"]))
    assert vector["alg"] in key.algorithms
    signing_input, signature = split(vector["compact"])
    assert ALGORITHMS[vector["alg"]].verify(key.key, signature, signing_input) is True


@pytest.mark.parametrize("vector", SIGNED, ids=[v["name"] for v in SIGNED])
def test_rfc_vector_parses(vector: dict[str, Any]) -> None:
    parsed = parse_token(vector["compact"])
    signing_input, signature = split(vector["compact"])
    assert parsed.alg == vector["alg"]
    assert parsed.signing_input == signing_input
    assert parsed.signature == signature
    assert ALGORITHMS[parsed.alg].verify(
        parse_jwk(public_jwk(vector["jwk"])).key, parsed.signature, parsed.signing_input
    )


@pytest.mark.parametrize(
    ("vector", "position"),
    [(v, pos) for v in SIGNED for pos in ("first", "middle", "last")],
    ids=[f"{v['name']}-{pos}" for v in SIGNED for pos in ("first", "middle", "last")],
)
def test_rfc_vector_one_bit_flip_fails(vector: dict[str, Any], position: str) -> None:
    key = parse_jwk(public_jwk(vector["jwk"])).key
    signing_input, signature = split(vector["compact"])
    bits = len(signature) * 8
    bit = {"first": 0, "middle": bits // 2 + 3, "last": bits - 1}[position]
    assert ALGORITHMS[vector["alg"]].verify(key, flip(signature, bit), signing_input) is False


@pytest.mark.parametrize("vector", SIGNED, ids=[v["name"] for v in SIGNED])
def test_rfc_vector_tampered_input_fails(vector: dict[str, Any]) -> None:
    key = parse_jwk(public_jwk(vector["jwk"])).key
    signing_input, signature = split(vector["compact"])
    assert ALGORITHMS[vector["alg"]].verify(key, signature, signing_input + b"A") is False
    assert ALGORITHMS[vector["alg"]].verify(key, signature, flip(signing_input, 9)) is False


@pytest.mark.parametrize("vector", SIGNED, ids=[v["name"] for v in SIGNED])
def test_rfc_vector_fails_under_other_algorithms(vector: dict[str, Any]) -> None:
    key = parse_jwk(public_jwk(vector["jwk"])).key
    signing_input, signature = split(vector["compact"])
    same_family = {"EdDSA": {"Ed25519"}, "Ed25519": {"EdDSA"}}.get(vector["alg"], set())
    for name, spec in ALGORITHMS.items():
        if name == vector["alg"] or name in same_family:
            continue
        assert spec.verify(key, signature, signing_input) is False, name


def test_rfc8037_vector_verifies_under_ed25519_name_too() -> None:
    (vector,) = [v for v in VECTORS if v["name"] == "rfc8037-A.4"]
    key = parse_jwk(public_jwk(vector["jwk"])).key
    signing_input, signature = split(vector["compact"])
    assert ALGORITHMS["Ed25519"].verify(key, signature, signing_input) is True


@pytest.mark.parametrize("vector", UNUSABLE, ids=[v["name"] for v in UNUSABLE])
def test_unusable_vectors_cannot_be_verified(vector: dict[str, Any]) -> None:
    alg = vector["alg"]
    assert alg not in ALGORITHMS
    assert is_forbidden(alg) is True
    with pytest.raises(ConfigurationError, match="can never be used"):
        check_allowlist([alg])
    # the token still parses, so the verifier can name the real problem
    assert parse_token(vector["compact"]).alg == alg


@pytest.mark.parametrize(
    "vector",
    [v for v in UNUSABLE if v["jwk"] is not None],
    ids=[v["name"] for v in UNUSABLE if v["jwk"] is not None],
)
def test_hmac_vector_keys_are_skipped(vector: dict[str, Any]) -> None:
    assert vector["jwk"]["kty"] == "oct"
    # as published (with the secret "k")
    with pytest.raises(ValueError, match="private or secret key members present"):
        parse_jwk(vector["jwk"])
    # without "k" it is still a symmetric key
    with pytest.raises(ValueError, match="symmetric"):
        parse_jwk(public_jwk(vector["jwk"]))
    with pytest.raises(InvalidJwksError, match="no usable key"):
        parse_jwks({"keys": [vector["jwk"]]})
    with pytest.raises(InvalidJwksError, match="symmetric"):
        parse_jwks({"keys": [public_jwk(vector["jwk"])]})


def test_hmac_vector_key_is_skipped_beside_a_usable_key() -> None:
    hmac = next(v for v in VECTORS if v["name"] == "rfc7520-4.4")["jwk"]
    rsa_vector = next(v for v in VECTORS if v["name"] == "rfc7520-4.1")
    keyset = parse_jwks({"keys": [hmac, public_jwk(rsa_vector["jwk"])]})
    assert len(keyset) == 1
    assert keyset.keys[0].kty == "RSA"
    assert [s.index for s in keyset.skipped] == [0]
    assert keyset.skipped[0].kid == hmac["kid"]


# --- round trips with fresh keys -----------------------------------------------------------------
@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_sign_verify_round_trip(alg: str) -> None:
    key = all_keys()[alg]
    spec = ALGORITHMS[alg]
    signature = spec.sign(key.private, DATA)
    public = parse_jwk(key.jwk).key
    assert spec.verify(public, signature, DATA) is True
    assert spec.verify(key.private.public_key(), signature, DATA) is True
    assert spec.verify(public, signature, DATA + b".") is False
    assert spec.verify(public, flip(signature, 5), DATA) is False
    assert spec.verify(public, b"", DATA) is False


@pytest.mark.parametrize(
    ("alg", "length"),
    [
        ("RS256", 256),
        ("PS384", 256),
        ("ES256", 64),
        ("ES384", 96),
        ("ES512", 132),
        ("EdDSA", 64),
        ("Ed25519", 64),
    ],
)
def test_signature_lengths(alg: str, length: int) -> None:
    assert len(ALGORITHMS[alg].sign(all_keys()[alg].private, DATA)) == length


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"])
def test_rsa_signature_wrong_length_refused(alg: str) -> None:
    key = all_keys()[alg]
    signature = ALGORITHMS[alg].sign(key.private, DATA)
    public = key.private.public_key()
    assert ALGORITHMS[alg].verify(public, signature[:-1], DATA) is False
    assert ALGORITHMS[alg].verify(public, b"\x00" + signature, DATA) is False
    assert ALGORITHMS[alg].verify(public, signature + b"\x00", DATA) is False


def test_rsa_signature_of_bigger_key_refused() -> None:
    small = rsa_private(2048)
    big = rsa_private(3072, seed=1)
    signature = ALGORITHMS["RS256"].sign(big, DATA)
    assert len(signature) == 384
    assert ALGORITHMS["RS256"].verify(small.public_key(), signature, DATA) is False
    assert ALGORITHMS["RS256"].verify(big.public_key(), signature, DATA) is True


@pytest.mark.parametrize(("rs", "ps"), [("RS256", "PS256"), ("RS384", "PS384"), ("RS512", "PS512")])
def test_pkcs1_and_pss_do_not_cross_verify(rs: str, ps: str) -> None:
    key = rsa_private()
    public = key.public_key()
    assert ALGORITHMS[ps].verify(public, ALGORITHMS[rs].sign(key, DATA), DATA) is False
    assert ALGORITHMS[rs].verify(public, ALGORITHMS[ps].sign(key, DATA), DATA) is False


@pytest.mark.parametrize(
    ("signer", "verifier"),
    [(a, b) for a, b in itertools.permutations(["RS256", "RS384", "RS512"], 2)]
    + [(a, b) for a, b in itertools.permutations(["PS256", "PS384", "PS512"], 2)],
)
def test_rsa_hash_mismatch_fails(signer: str, verifier: str) -> None:
    key = rsa_private()
    signature = ALGORITHMS[signer].sign(key, DATA)
    assert ALGORITHMS[verifier].verify(key.public_key(), signature, DATA) is False


# --- PSS salt length ---------------------------------------------------------------------------
def _pss_sign(alg: str, salt_length: Any, mgf_hash: hashes.HashAlgorithm | None = None) -> bytes:
    hash_alg = HASHES[alg[2:]]
    pss = padding.PSS(mgf=padding.MGF1(mgf_hash or hash_alg), salt_length=salt_length)
    return rsa_private().sign(DATA, pss, hash_alg)


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pss_salt_equal_to_hash_length_verifies(alg: str) -> None:
    signature = _pss_sign(alg, HASHES[alg[2:]].digest_size)
    assert ALGORITHMS[alg].verify(rsa_private().public_key(), signature, DATA) is True


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
@pytest.mark.parametrize("salt", ["max", 0, "hash-1", "hash+1"])
def test_pss_other_salt_lengths_refused(alg: str, salt: Any) -> None:
    digest = HASHES[alg[2:]].digest_size
    salt_length = {
        "max": padding.PSS.MAX_LENGTH,
        0: 0,
        "hash-1": digest - 1,
        "hash+1": digest + 1,
    }[salt]
    signature = _pss_sign(alg, salt_length)
    public = rsa_private().public_key()
    # sanity: the signature is genuine for its own salt length
    hash_alg = HASHES[alg[2:]]
    explicit = padding.PSS.AUTO if salt_length is padding.PSS.MAX_LENGTH else salt_length
    public.verify(signature, DATA, padding.PSS(padding.MGF1(hash_alg), explicit), hash_alg)
    assert ALGORITHMS[alg].verify(public, signature, DATA) is False


@pytest.mark.parametrize("alg", ["PS256", "PS384"])
def test_pss_with_other_mgf_hash_refused(alg: str) -> None:
    signature = _pss_sign(alg, HASHES[alg[2:]].digest_size, mgf_hash=hashes.SHA1())  # noqa: S303
    assert ALGORITHMS[alg].verify(rsa_private().public_key(), signature, DATA) is False


# --- ECDSA encoding ----------------------------------------------------------------------------
def _ec_parts(alg: str) -> tuple[Any, int, int]:
    key = all_keys()[alg].private
    r, s = decode_dss_signature(key.sign(DATA, ec.ECDSA(HASHES[alg[2:]])))
    return key, r, s


def _raw(alg: str, r: int, s: int) -> bytes:
    size = SIZES[alg]
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ecdsa_raw_signature_built_by_hand_verifies(alg: str) -> None:
    key, r, s = _ec_parts(alg)
    assert ALGORITHMS[alg].verify(key.public_key(), _raw(alg, r, s), DATA) is True


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ecdsa_der_signature_refused(alg: str) -> None:
    key, r, s = _ec_parts(alg)
    der = encode_dss_signature(r, s)
    assert len(der) != 2 * SIZES[alg]
    assert ALGORITHMS[alg].verify(key.public_key(), der, DATA) is False


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize("change", ["short", "long", "empty", "half", "double"])
def test_ecdsa_wrong_length_refused(alg: str, change: str) -> None:
    key, r, s = _ec_parts(alg)
    raw = _raw(alg, r, s)
    bad = {
        "short": raw[:-1],
        "long": raw + b"\x00",
        "empty": b"",
        "half": raw[: len(raw) // 2],
        "double": raw + raw,
    }[change]
    assert ALGORITHMS[alg].verify(key.public_key(), bad, DATA) is False


def test_ecdsa_leading_zero_padded_components_refused() -> None:
    key, r, s = _ec_parts("ES256")
    padded = b"\x00" + r.to_bytes(32, "big") + b"\x00" + s.to_bytes(32, "big")
    assert ALGORITHMS["ES256"].verify(key.public_key(), padded, DATA) is False


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize(
    "case", ["r=n", "s=n", "r=n+1", "s=max", "r=max", "r=0", "s=0", "r=s=0", "r=n,s=n"]
)
def test_ecdsa_out_of_range_components_refused(alg: str, case: str) -> None:
    key, r, s = _ec_parts(alg)
    n = ORDERS[alg]
    top = 2 ** (8 * SIZES[alg]) - 1
    r2, s2 = {
        "r=n": (n, s),
        "s=n": (r, n),
        "r=n+1": (n + 1, s),
        "s=max": (r, top),
        "r=max": (top, s),
        "r=0": (0, s),
        "s=0": (r, 0),
        "r=s=0": (0, 0),
        "r=n,s=n": (n, n),
    }[case]
    assert ALGORITHMS[alg].verify(key.public_key(), _raw(alg, r2, s2), DATA) is False


def test_group_orders_are_the_sec2_values() -> None:
    assert ORDERS["ES256"].bit_length() == 256
    assert ORDERS["ES384"].bit_length() == 384
    assert ORDERS["ES512"].bit_length() == 521


@pytest.mark.parametrize(
    ("alg", "crv"), [("ES256", "P-256"), ("ES384", "P-384"), ("ES512", "P-521")]
)
def test_library_group_order_constant(alg: str, crv: str) -> None:
    """LIBRARY BUG if this fails: the order used for the explicit 0 < r, s < n check is wrong."""
    from cognito_jwt._algorithms import _CURVES

    assert _CURVES[crv][2] == ORDERS[alg]


CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_permissive_backend_sanity(alg: str) -> None:
    key = TrustingBackendKey(CURVES[alg])
    assert ALGORITHMS[alg].verify(key, _raw(alg, 1, ORDERS[alg] - 1), DATA) is True
    assert key.calls == 1


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
@pytest.mark.parametrize("case", ["r=n", "s=n", "r=n+1", "s=max", "r=0", "s=0"])
def test_range_check_is_done_by_the_library_itself(alg: str, case: str) -> None:
    """0 < r, s < n is enforced before the backend is asked (CVE-2022-21449 defence)."""
    n = ORDERS[alg]
    top = 2 ** (8 * SIZES[alg]) - 1
    r, s = {
        "r=n": (n, 1),
        "s=n": (1, n),
        "r=n+1": (n + 1, 1),
        "s=max": (1, top),
        "r=0": (0, 1),
        "s=0": (1, 0),
    }[case]
    key = TrustingBackendKey(CURVES[alg])
    assert ALGORITHMS[alg].verify(key, _raw(alg, r, s), DATA) is False
    assert key.calls == 0


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ecdsa_r_plus_n_refused_when_it_fits(alg: str) -> None:
    # r + n fits in the field for some r; such an alias of a valid r must never verify
    key, r, s = _ec_parts(alg)
    top = 2 ** (8 * SIZES[alg])
    aliased = r + ORDERS[alg]
    if aliased < top:
        assert ALGORITHMS[alg].verify(key.public_key(), _raw(alg, aliased, s), DATA) is False
    else:
        assert ALGORITHMS[alg].verify(key.public_key(), _raw(alg, r, s), DATA) is True


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512"])
def test_ecdsa_psychic_signature_all_zero(alg: str) -> None:
    key = all_keys()[alg].private.public_key()
    assert ALGORITHMS[alg].verify(key, bytes(2 * SIZES[alg]), DATA) is False
    assert ALGORITHMS[alg].verify(key, bytes(2 * SIZES[alg]), b"") is False


def test_ed25519_wrong_length_refused() -> None:
    key = all_keys()["EdDSA"].private
    signature = ALGORITHMS["EdDSA"].sign(key, DATA)
    public = key.public_key()
    for bad in (signature[:-1], signature + b"\x00", b"", bytes(64)):
        assert ALGORITHMS["EdDSA"].verify(public, bad, DATA) is False
        assert ALGORITHMS["Ed25519"].verify(public, bad, DATA) is False


# --- wrong key types ---------------------------------------------------------------------------
def _other_keys() -> dict[str, Any]:
    keys = all_keys()
    return {
        "rsa": keys["RS256"].private,
        "p256": keys["ES256"].private,
        "p384": keys["ES384"].private,
        "p521": keys["ES512"].private,
        "ed25519": keys["EdDSA"].private,
    }


FITTING = {
    "RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
    "PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
    "ES256": "p256", "ES384": "p384", "ES512": "p521",
    "EdDSA": "ed25519", "Ed25519": "ed25519",
}  # fmt: skip
MISFITS = [
    (alg, other)
    for alg, own in FITTING.items()
    for other in ("rsa", "p256", "p384", "p521", "ed25519")
    if other != own
]


@pytest.mark.parametrize(("alg", "other"), MISFITS)
def test_sign_with_wrong_key_type_is_configuration_error(alg: str, other: str) -> None:
    with pytest.raises(ConfigurationError, match="need") as info:
        ALGORITHMS[alg].sign(_other_keys()[other], DATA)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "ERR_CONFIGURATION"


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_sign_with_public_key_is_configuration_error(alg: str) -> None:
    public = all_keys()[alg].private.public_key()
    with pytest.raises(ConfigurationError):
        ALGORITHMS[alg].sign(public, DATA)  # type: ignore[arg-type]


@pytest.mark.parametrize(("alg", "other"), MISFITS)
def test_verify_with_wrong_key_type_returns_false(alg: str, other: str) -> None:
    keys = _other_keys()
    signature = ALGORITHMS[alg].sign(keys[FITTING[alg]], DATA)
    assert ALGORITHMS[alg].verify(keys[other].public_key(), signature, DATA) is False


def test_verify_ec_key_given_to_rs256() -> None:
    signature = ALGORITHMS["RS256"].sign(rsa_private(), DATA)
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    assert ALGORITHMS["RS256"].verify(ec_public, signature, DATA) is False


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_verify_with_private_key_object_returns_false(alg: str) -> None:
    private = all_keys()[alg].private
    signature = ALGORITHMS[alg].sign(private, DATA)
    assert ALGORITHMS[alg].verify(private, signature, DATA) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
@pytest.mark.parametrize("junk", [None, "key", b"key", 0, object()])
def test_verify_with_junk_key_returns_false(alg: str, junk: object) -> None:
    signature = ALGORITHMS[alg].sign(all_keys()[alg].private, DATA)
    assert ALGORITHMS[alg].verify(junk, signature, DATA) is False  # type: ignore[arg-type]


def test_ed25519_key_different_from_signer_fails() -> None:
    signature = ALGORITHMS["EdDSA"].sign(all_keys()["EdDSA"].private, DATA)
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    assert ALGORITHMS["EdDSA"].verify(other, signature, DATA) is False


# --- allowlist -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([], "at least one"),
        ((), "at least one"),
        (set(), "at least one"),
        (frozenset(), "at least one"),
        (iter([]), "at least one"),
        ("RS256", "not a single string"),
        ("", "not a single string"),
        (b"RS256", "not a single string"),
        ([1], "must be strings"),
        ([None], "must be strings"),
        ([b"RS256"], "must be strings"),
        (["RS256", 1], "must be strings"),
        (["none"], "can never be used"),
        (["None"], "can never be used"),
        (["NONE"], "can never be used"),
        (["HS256"], "can never be used"),
        (["hs384"], "can never be used"),
        (["Hs512"], "can never be used"),
        (["HS1"], "can never be used"),
        (["RS256", "HS256"], "can never be used"),
        (["RS256", "none"], "can never be used"),
        (["RS1"], "unsupported algorithm"),
        (["rs256"], "unsupported algorithm"),
        (["ES256K"], "unsupported algorithm"),
        (["Ed448"], "unsupported algorithm"),
        (["EdDSA "], "unsupported algorithm"),
        ([""], "unsupported algorithm"),
        (["RSA-OAEP"], "unsupported algorithm"),
        (["RS256", "foo"], "unsupported algorithm"),
    ],
)
def test_check_allowlist_refuses(value: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        check_allowlist(value)


def test_check_allowlist_unhashable_entry_is_configuration_error() -> None:
    """LIBRARY BUG if this fails: a non-string (unhashable) entry raises TypeError."""
    with pytest.raises(ConfigurationError):
        check_allowlist([["RS256"]])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "value",
    [
        ["RS256"],
        ("ES256", "ES256"),
        {"EdDSA", "Ed25519"},
        (alg for alg in ["PS256", "RS256"]),
        sorted(ALGORITHMS),
    ],
)
def test_check_allowlist_accepts(value: Any) -> None:
    expected = frozenset(value) if not hasattr(value, "__next__") else {"PS256", "RS256"}
    assert check_allowlist(value) == expected


def test_check_allowlist_returns_frozenset() -> None:
    result = check_allowlist(["RS256", "ES256"])
    assert isinstance(result, frozenset)
    assert result == {"RS256", "ES256"}
    assert check_allowlist(DEFAULT_ALGORITHMS) == DEFAULT_ALGORITHMS


def _casings(word: str) -> list[str]:
    return ["".join(chars) for chars in itertools.product(*[(c.lower(), c.upper()) for c in word])]


@pytest.mark.parametrize(
    "alg", sorted({c for w in ("none", "HS256", "HS384", "HS512") for c in _casings(w)})
)
def test_is_forbidden_all_casings(alg: str) -> None:
    assert is_forbidden(alg) is True


@pytest.mark.parametrize("alg", ["HS", "HS1", "hs", "HS256K", "HSanything"])
def test_is_forbidden_any_hs_prefix(alg: str) -> None:
    assert is_forbidden(alg) is True


@pytest.mark.parametrize(
    "alg", [*sorted(ALGORITHMS), "", "nonce", "non", "RS1", "ES256K", "H256", "SH256", " none"]
)
def test_is_not_forbidden(alg: str) -> None:
    assert is_forbidden(alg) is False


def test_forbidden_set() -> None:
    assert frozenset({"none", "hs256", "hs384", "hs512"}) == FORBIDDEN
