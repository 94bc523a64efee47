"""encode_compact: the tokens this package signs itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_decode
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._errors import ConfigurationError
from cognito_jwt._jwk import parse_jwk
from cognito_jwt._token import decode_payload, parse_token
from tests.helpers import all_keys, rsa_private

PAYLOAD: dict[str, Any] = {"sub": "alice", "exp": 1_800_000_000, "scope": "a b", "n": [1, 2]}


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_round_trip_every_algorithm(alg: str) -> None:
    key = all_keys()[alg]
    token = encode_compact(PAYLOAD, key.private, alg=alg, kid=key.kid)
    parsed = parse_token(token)
    assert parsed.alg == alg
    assert parsed.kid == key.kid
    assert parsed.header == {"alg": alg, "kid": key.kid}
    assert decode_payload(parsed) == PAYLOAD
    public = parse_jwk(key.jwk).key
    assert ALGORITHMS[alg].verify(public, parsed.signature, parsed.signing_input) is True


def test_header_and_payload_are_compact_json() -> None:
    token = encode_compact({"b": 1, "a": "x"}, rsa_private(), alg="RS256", kid="k1")
    header, payload, _ = token.split(".")
    assert b64url_decode(header) == b'{"alg":"RS256","kid":"k1"}'
    assert b64url_decode(payload) == b'{"b":1,"a":"x"}'


def test_without_kid_header_has_only_alg() -> None:
    token = encode_compact(PAYLOAD, rsa_private(), alg="PS256")
    parsed = parse_token(token)
    assert parsed.header == {"alg": "PS256"}
    assert parsed.kid is None


def test_non_ascii_payload_is_utf8() -> None:
    payload = {"name": "Zoë 🚀"}
    token = encode_compact(payload, all_keys()["EdDSA"].private, alg="EdDSA")
    raw = b64url_decode(token.split(".")[1])
    assert "Zoë 🚀".encode() in raw
    assert decode_payload(parse_token(token)) == payload


@pytest.mark.parametrize(
    "alg",
    [
        "none",
        "None",
        "NONE",
        "HS256",
        "hs256",
        "HS384",
        "HS512",
        "RS1",
        "ES256K",
        "Ed448",
        "",
        "rs256",
    ],
)
def test_refuses_forbidden_and_unknown_algorithms(alg: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot sign with algorithm"):
        encode_compact(PAYLOAD, rsa_private(), alg=alg)


@pytest.mark.parametrize(
    ("alg", "key_alg"),
    [
        ("RS256", "ES256"),
        ("PS256", "EdDSA"),
        ("ES256", "RS256"),
        ("ES256", "ES384"),
        ("EdDSA", "ES512"),
    ],
)
def test_refuses_key_that_does_not_fit(alg: str, key_alg: str) -> None:
    with pytest.raises(ConfigurationError, match="need"):
        encode_compact(PAYLOAD, all_keys()[key_alg].private, alg=alg)


@pytest.mark.parametrize("override", ["none", "HS256", "ES256", "RS512", None, 1])
def test_headers_cannot_override_alg(override: object) -> None:
    token = encode_compact(
        PAYLOAD, rsa_private(), alg="RS256", headers={"alg": override, "typ": "JWT"}
    )
    parsed = parse_token(token)
    assert parsed.alg == "RS256"
    assert parsed.header == {"alg": "RS256", "typ": "JWT"}
    public = rsa_private().public_key()
    assert ALGORITHMS["RS256"].verify(public, parsed.signature, parsed.signing_input)


def test_extra_headers_included() -> None:
    headers = {"typ": "at+jwt", "cty": "JWT", "x-custom": [1, 2]}
    token = encode_compact(PAYLOAD, rsa_private(), alg="RS384", kid="k", headers=headers)
    assert parse_token(token).header == {"alg": "RS384", "kid": "k", **headers}


def test_empty_headers_mapping_is_ignored() -> None:
    token = encode_compact(PAYLOAD, rsa_private(), alg="RS256", kid="k", headers={})
    assert parse_token(token).header == {"alg": "RS256", "kid": "k"}


def test_alg_is_first_header_member() -> None:
    token = encode_compact(PAYLOAD, rsa_private(), alg="RS256", headers={"typ": "JWT"})
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert next(iter(header)) == "alg"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_refused(value: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_compact({"exp": value}, rsa_private(), alg="RS256")


def test_signing_input_matches_token_prefix() -> None:
    token = encode_compact(PAYLOAD, all_keys()["ES256"].private, alg="ES256", kid="e")
    parsed = parse_token(token)
    assert token.startswith(parsed.signing_input.decode("ascii") + ".")
    assert len(parsed.signature) == 64


def test_ecdsa_tokens_differ_but_both_verify() -> None:
    key = all_keys()["ES384"]
    first = encode_compact(PAYLOAD, key.private, alg="ES384")
    second = encode_compact(PAYLOAD, key.private, alg="ES384")
    assert first.rsplit(".", 1)[0] == second.rsplit(".", 1)[0]
    public = key.private.public_key()
    for token in (first, second):
        parsed = parse_token(token)
        assert ALGORITHMS["ES384"].verify(public, parsed.signature, parsed.signing_input)


def test_eddsa_is_deterministic() -> None:
    key = all_keys()["Ed25519"].private
    assert encode_compact(PAYLOAD, key, alg="Ed25519") == encode_compact(
        PAYLOAD, key, alg="Ed25519"
    )


def test_tokens_fit_default_limits() -> None:
    big = {"groups": [f"group-{i}" for i in range(500)]}
    token = encode_compact(big, rsa_private(), alg="RS512", kid="k")
    assert decode_payload(parse_token(token)) == big
