"""decode_unverified: a token's header and claims for debugging and routing, marked unverified.

It parses with the verifier's own parser (same size caps, same header rules), checks nothing
else, and turns every kind of bad input into a MalformedTokenError.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cognito_jwt
from cognito_jwt import (
    ConfigurationError,
    JwtVerifier,
    MalformedTokenError,
    TokenLimits,
    UnsupportedCriticalHeaderError,
    UnverifiedToken,
    decode_unverified,
)
from cognito_jwt._record import FrozenInstanceError

from .. import strategies as s
from ..helpers import access_claims, all_keys, raw_token

KEY = all_keys()["RS256"]


def test_header_and_claims_of_a_signed_token_without_any_key() -> None:
    claims = access_claims()
    token = KEY.sign(claims)
    unverified = decode_unverified(token)
    assert isinstance(unverified, UnverifiedToken)
    assert dict(unverified.claims) == claims
    assert unverified.header["alg"] == "RS256"
    assert unverified.alg == "RS256"
    assert unverified.kid == KEY.kid
    assert unverified.kid == unverified.header["kid"]


def test_bytes_are_accepted_like_the_verifier_accepts_them() -> None:
    token = KEY.sign(access_claims())
    assert decode_unverified(token.encode("ascii")) == decode_unverified(token)


def test_an_expired_or_forged_token_still_decodes_nothing_is_checked() -> None:
    forged = raw_token({"alg": "RS256", "kid": "nobody"}, {"sub": "mallory", "exp": 0}, b"x" * 256)
    unverified = decode_unverified(forged)
    assert unverified.claims["sub"] == "mallory"
    assert unverified.kid == "nobody"


def test_no_kid_is_none() -> None:
    assert decode_unverified(raw_token({"alg": "ES256"}, {})).kid is None


def test_result_is_frozen_and_read_only() -> None:
    unverified = decode_unverified(KEY.sign(access_claims()))
    with pytest.raises(FrozenInstanceError):
        unverified.claims = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        unverified.claims["sub"] = "root"  # type: ignore[index]
    with pytest.raises(TypeError):
        unverified.header["alg"] = "none"  # type: ignore[index]


def test_the_name_and_docstring_say_unverified() -> None:
    unverified = decode_unverified(KEY.sign(access_claims()))
    assert repr(unverified).startswith("UnverifiedToken(")
    for obj in (decode_unverified, UnverifiedToken):
        assert obj.__doc__ is not None
        assert "never" in obj.__doc__.lower()
        assert "trust" in obj.__doc__.lower()


def test_exported_from_the_package_root() -> None:
    assert "decode_unverified" in cognito_jwt.__all__
    assert "UnverifiedToken" in cognito_jwt.__all__
    assert decode_unverified.__module__ == "cognito_jwt"


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("", "compact JWS"),
        ("a.b", "compact JWS"),
        ("Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig", "Bearer"),
        (" eyJhbGciOiJSUzI1NiJ9.e30.sig", "whitespace"),
        ("eyJ9.e30.", "header"),  # not JSON
        (raw_token({"kid": "k"}, {}), "'alg'"),
        (raw_token({"alg": "RS256", "kid": None}, {}), "'kid'"),
        (raw_token({"alg": "RS256"}, b"[1, 2]"), "payload"),  # a JSON array, not an object
        (raw_token({"alg": "RS256"}, b'{"a": 1, "a": 2}'), "payload"),  # duplicate name
        (b"\xff.\xfe.\xfd", "ASCII"),
    ],
)
def test_bad_input_is_malformed(token: str | bytes, fragment: str) -> None:
    with pytest.raises(MalformedTokenError) as info:
        decode_unverified(token)
    assert fragment in str(info.value)


@pytest.mark.parametrize("obj", [None, 42, ["a", "b", "c"], {"alg": "RS256"}, bytearray(b"a.b.c")])
def test_objects_that_are_not_tokens_are_malformed(obj: Any) -> None:
    with pytest.raises(MalformedTokenError):
        decode_unverified(obj)


def test_same_size_caps_as_verify_by_default() -> None:
    big = raw_token({"alg": "RS256"}, {"pad": "x" * 70_000})
    verifier = JwtVerifier(issuer="https://issuer.example", audience=None, jwks={"keys": [KEY.jwk]})
    with pytest.raises(MalformedTokenError) as from_verify:
        verifier.verify(big)
    with pytest.raises(MalformedTokenError) as from_decode:
        decode_unverified(big)
    assert str(from_decode.value) == str(from_verify.value)
    assert "65536" in str(from_decode.value)


def test_caps_follow_the_limits_given() -> None:
    token = raw_token({"alg": "RS256"}, {"pad": "x" * 200})
    with pytest.raises(MalformedTokenError, match="above the limit of 100"):
        decode_unverified(token, limits=TokenLimits(max_token_length=100))
    roomy = raw_token({"alg": "RS256"}, {"pad": "x" * 70_000})
    limits = TokenLimits(max_token_length=128 * 1024)
    assert len(decode_unverified(roomy, limits=limits).claims["pad"]) == 70_000


def test_limits_must_be_token_limits() -> None:
    with pytest.raises(ConfigurationError):
        decode_unverified(KEY.sign(access_claims()), limits=100)  # type: ignore[arg-type]


def test_header_rules_are_the_verifiers_crit_and_b64() -> None:
    """Strict: a token verify() would refuse as malformed is refused here too (routing on a
    token no verifier accepts is pointless, and a debugging view of it is the error message)."""
    with pytest.raises(UnsupportedCriticalHeaderError):
        decode_unverified(raw_token({"alg": "RS256", "crit": ["exp"], "exp": 1}, {}))
    with pytest.raises(UnsupportedCriticalHeaderError):
        decode_unverified(raw_token({"alg": "RS256", "b64": False}, {}))


def test_the_token_is_never_in_the_error() -> None:
    token = raw_token({"alg": "RS256"}, b"not json at all, but long enough to be recognised")
    with pytest.raises(MalformedTokenError) as info:
        decode_unverified(token)
    assert token not in str(info.value)
    assert token not in repr(info.value)


# --- hostile input ------------------------------------------------------------------------------
@given(token=s.token_like_text | st.binary() | s.hostile_objects())
@example(token="A" * 70_000)
@example(token="\ud800.\udfff.x")
@example(token="eyJhbGciOiJub25lIn0.e30.")
def test_anything_gives_an_unverified_token_or_malformed(token: Any) -> None:
    try:
        result = decode_unverified(token)
    except MalformedTokenError as exc:
        error: MalformedTokenError | None = exc
    else:
        error = None
    if error is not None:
        if isinstance(token, str) and len(token) >= 24:
            assert token not in str(error)
        return
    assert isinstance(result, UnverifiedToken)
    assert isinstance(result.alg, str)
    assert result.kid is None or isinstance(result.kid, str)


@given(token=s.near_tokens())
def test_near_tokens_decode_or_are_malformed(token: str) -> None:
    try:
        result = decode_unverified(token)
    except MalformedTokenError:
        return
    payload_b64 = token.split(".")[1]
    assert dict(result.claims) == json.loads(
        base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4))
    )
