"""Property-based tests: whatever comes in, only ``Claims`` or a ``JwtError`` comes out.

Verifiers are built once at module level (hypothesis and function-scoped fixtures don't mix) from
the cached test keys, with the clock fixed at ``FIXED_NOW``. Signing is the slow part, so the
mutation tests mutate one precomputed token per algorithm instead of signing per example.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from fractions import Fraction
from functools import cache
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import cognito_jwt
import cognito_jwt._verifier
from cognito_jwt import (
    AlgorithmNotAllowedError,
    ClaimError,
    Claims,
    CognitoVerifier,
    ExpiredTokenError,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    JwtVerifier,
    KeyNotFoundError,
    KeySet,
    MalformedTokenError,
    MultiIssuerVerifier,
    NotYetValidError,
)
from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_decode, b64url_encode, is_b64url
from cognito_jwt._validate import FUTURE_SKEW, MAX_NUMERIC_DATE, MIN_NUMERIC_DATE

from . import strategies as s
from .helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    OIDC_ISSUER,
    POOL_ID,
    access_claims,
    all_jwks,
    all_keys,
    oidc_claims,
)

ALL_ALGS = tuple(sorted(all_keys()))
PRIVATE_MEMBERS = frozenset(s.PRIVATE_MEMBERS)
#: Errors meaning "not authentic": what any token without a genuine signature must get.
NOT_AUTHENTIC = (MalformedTokenError, AlgorithmNotAllowedError, KeyNotFoundError)
Outcome = Claims | JwtError


# --- Verifiers and tokens, built once -------------------------------------------------------------
def _clock() -> float:
    return float(FIXED_NOW)


@cache
def oidc_verifier() -> JwtVerifier:
    return JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=all_jwks(), clock=_clock)


@cache
def cognito_verifier() -> CognitoVerifier:
    return CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=CLIENT_ID,
        token_use="access",
        jwks=all_jwks(),
        algorithms=ALL_ALGS,
        clock=_clock,
    )


@cache
def cognito_strict_verifier() -> CognitoVerifier:
    """Every optional Cognito rule switched on, default (RS256 only) allowlist."""
    return CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=(CLIENT_ID, "other-client"),
        token_use=None,
        groups=("admins",),
        scopes=("orders/read",),
        jwks=json.dumps(all_jwks()),
        clock=_clock,
        leeway=30,
        required_claims=("sub",),
    )


@cache
def multi_verifier() -> MultiIssuerVerifier:
    oidc = JwtVerifier(
        issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=all_jwks(), clock=_clock, scopes="orders:read"
    )
    return MultiIssuerVerifier([oidc, cognito_verifier()])


def verifiers() -> dict[str, Any]:
    return {
        "JwtVerifier": oidc_verifier(),
        "CognitoVerifier": cognito_verifier(),
        "CognitoVerifier(strict)": cognito_strict_verifier(),
        "MultiIssuerVerifier": multi_verifier(),
    }


@cache
def valid_tokens() -> dict[tuple[str, str], str]:
    """A token per (algorithm, flavour) that verifies: flavour ``oidc`` or ``cognito``."""
    tokens = {}
    for alg, key in all_keys().items():
        tokens[alg, "oidc"] = key.sign(oidc_claims(scope="orders:read"))
        tokens[alg, "cognito"] = key.sign(access_claims())
    return tokens


def verifiers_for(flavour: str) -> list[Any]:
    specific = oidc_verifier() if flavour == "oidc" else cognito_verifier()
    return [specific, multi_verifier()]


def outcome(verify: Callable[[Any], Claims], token: Any) -> Outcome:
    """The result of ``verify(token)``; any exception that is not a JwtError propagates."""
    try:
        claims = verify(token)
    except JwtError as exc:
        return exc
    assert isinstance(claims, Claims)
    return claims


def async_outcome(verifier: Any, token: Any) -> Outcome:
    async def run() -> Outcome:
        try:
            claims = await verifier.verify_async(token)
        except JwtError as exc:
            return exc
        assert isinstance(claims, Claims)
        return claims

    return asyncio.run(run())


def assert_well_formed_error(exc: JwtError) -> None:
    assert isinstance(exc.code, str)
    assert exc.code.startswith("ERR_")
    assert exc.code == type(exc).code
    assert isinstance(str(exc), str)
    assert str(exc)
    assert repr(exc).startswith(type(exc).__name__)


HELPERS = {
    "sub": (str, type(None)),
    "issuer": (str, type(None)),
    "audience": tuple,
    "client_id": (str, type(None)),
    "token_use": (str, type(None)),
    "username": (str, type(None)),
    "scopes": frozenset,
    "groups": tuple,
    "jti": (str, type(None)),
    "expires_at": (datetime, type(None)),
    "issued_at": (datetime, type(None)),
    "not_before": (datetime, type(None)),
    "auth_time": (datetime, type(None)),
}


def assert_helpers_total(claims: Claims) -> None:
    """Every typed helper answers (with its declared type) whatever the claim values are."""
    for name, types in HELPERS.items():
        value = getattr(claims, name)
        assert isinstance(value, types), (name, value)
        if isinstance(value, tuple | frozenset):
            assert all(isinstance(v, str) for v in value), (name, value)
        if isinstance(value, datetime):
            assert value.tzinfo is not None
    assert repr(claims).startswith("Claims(")


def same_json(a: Any, b: Any) -> bool:
    """Deep equality that also requires equal types (``1``, ``1.0`` and ``True`` differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return bool(a == b)


# --- 1. Nothing but Claims or JwtError escapes verify ---------------------------------------------
@given(token=s.token_like_text)
@example(token="")
@example(token="..")
@example(token="a.b.c")
@example(token="e30.e30.")
@example(token="A" * 70_000)
@example(token="\ud800.\udfff.x")
@example(token="eyJhbGciOiJub25lIn0.e30.")
def test_verify_any_text_is_rejected_with_jwt_error(token: str) -> None:
    for name, verifier in verifiers().items():
        result = outcome(verifier.verify, token)
        assert isinstance(result, JwtError), name
        assert_well_formed_error(result)


@given(token=st.binary() | s.token_like_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(token=b"\xff.\xfe.\xfd")
@example(token=b"e30.e30.\x80")
def test_verify_any_bytes_is_rejected_with_jwt_error(token: bytes) -> None:
    for name, verifier in verifiers().items():
        result = outcome(verifier.verify, token)
        assert isinstance(result, JwtError), name
        assert_well_formed_error(result)


@given(obj=s.hostile_objects())
@example(obj=None)
@example(obj=10**400)
@example(obj=["a", "b", "c"])
@example(obj={"alg": "RS256"})
def test_verify_non_token_objects_are_malformed(obj: Any) -> None:
    for name, verifier in verifiers().items():
        result = outcome(verifier.verify, obj)
        assert isinstance(result, MalformedTokenError), name
        assert_well_formed_error(result)


@given(token=s.near_tokens())
def test_near_tokens_are_never_authentic(token: str) -> None:
    for name, verifier in verifiers().items():
        result = outcome(verifier.verify, token)
        assert isinstance(result, JwtError), name
        assert_well_formed_error(result)
        # No key signed this: it must fail before the claim checks (Multi routes on `iss` first).
        allowed = (*NOT_AUTHENTIC, InvalidSignatureError)
        if isinstance(verifier, MultiIssuerVerifier):
            allowed = (*allowed, IssuerMismatchError)
        assert isinstance(result, allowed), (name, result)
        if isinstance(result, IssuerMismatchError):
            assert type(result) is IssuerMismatchError  # the routing error, not a claim check
        if len(token) >= 24:
            assert token not in str(result)


@given(token=s.signed_hostile_tokens())
@example(  # exp beyond the float range: a legal JSON number
    token=s.sign_raw(
        all_keys()["EdDSA"],
        {"alg": "EdDSA", "kid": "okp-eddsa"},
        json.dumps(oidc_claims(exp=2**1024)).encode(),
    )
)
@example(  # nbf beyond the float range, in the future: formatting the error message overflows
    token=s.sign_raw(
        all_keys()["EdDSA"],
        {"alg": "EdDSA", "kid": "okp-eddsa"},
        json.dumps(oidc_claims(nbf=2**1024)).encode(),
    )
)
@example(
    token=s.sign_raw(
        all_keys()["EdDSA"],
        {"alg": "EdDSA", "kid": "okp-eddsa"},
        json.dumps(oidc_claims(iat=2**1024)).encode(),
    )
)
def test_signed_hostile_claims_give_claims_or_jwt_error(token: str) -> None:
    for verifier in verifiers().values():
        result = outcome(verifier.verify, token)
        if isinstance(result, JwtError):
            assert_well_formed_error(result)
            assert token not in str(result)
        else:
            # Accepted: then the payload really is what was signed, and the time rules hold.
            segment = token.split(".")[1]
            payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
            assert same_json(result.to_dict(), payload)
            assert type(result["exp"]) in (int, float)
            assert result["exp"] > FIXED_NOW
            assert_helpers_total(result)
            for name in ("nbf", "iat"):  # the largest leeway among the verifiers is 30 s
                if name in result:
                    assert type(result[name]) in (int, float)
                    assert result[name] <= FIXED_NOW + 30


# --- 2. verify_async behaves exactly like verify --------------------------------------------------
@given(
    token=st.one_of(
        s.token_like_text,
        st.binary(),
        s.hostile_objects(),
        s.near_tokens(),
        s.signed_hostile_tokens(),
    )
)
@example(token=valid_tokens()["RS256", "oidc"])
@example(token=valid_tokens()["ES256", "cognito"])
def test_verify_async_matches_verify(token: Any) -> None:
    for name, verifier in verifiers().items():
        sync = outcome(verifier.verify, token)
        async_ = async_outcome(verifier, token)
        assert type(sync) is type(async_), name
        if isinstance(sync, Claims):
            assert isinstance(async_, Claims)
            assert same_json(sync.to_dict(), async_.to_dict())
            assert sync.header == async_.header
        else:
            assert isinstance(async_, JwtError)
            assert_well_formed_error(async_)
            assert str(sync) == str(async_)


# --- 3. Round trip --------------------------------------------------------------------------------
@given(
    alg=st.sampled_from(ALL_ALGS),
    claims=s.valid_claim_sets(),
    extra_header=s.valid_header_extras(),
    as_bytes=st.booleans(),
)
def test_round_trip_returns_exactly_the_signed_claims(
    alg: str, claims: dict[str, Any], extra_header: dict[str, Any], as_bytes: bool
) -> None:
    key = all_keys()[alg]
    token = key.sign(claims, headers=extra_header)
    verifier = oidc_verifier()
    result = verifier.verify(token.encode("ascii") if as_bytes else token)
    assert isinstance(result, Claims)
    assert same_json(result.to_dict(), claims)
    assert dict(result) == claims
    assert len(result) == len(claims)
    assert result.header["alg"] == alg
    assert result.header["kid"] == key.kid
    assert same_json(dict(result.header), {**extra_header, "alg": alg, "kid": key.kid})
    assert result.issuer == OIDC_ISSUER
    assert AUDIENCE in result.audience
    assert_helpers_total(result)
    assert result.expires_at is not None
    assert result.expires_at.timestamp() == pytest.approx(claims["exp"], abs=1e-3)
    async_result = asyncio.run(verifier.verify_async(token))
    assert same_json(async_result.to_dict(), claims)


def _deface(value: Any) -> None:
    """Mutate every list and dict nested in *value* in place (read-only mappings are skipped)."""
    if isinstance(value, list):
        for item in value:
            _deface(item)
        value.append("defaced")
    elif isinstance(value, Mapping):
        for item in value.values():
            _deface(item)
        if isinstance(value, dict):
            value["defaced"] = True


nested_json = st.one_of(
    st.lists(s.json_values(s.encodable_text, max_leaves=4), min_size=0, max_size=3),
    st.dictionaries(s.encodable_text, s.json_values(s.encodable_text, max_leaves=4), max_size=3),
)


@given(
    alg=st.sampled_from(["ES256", "EdDSA"]),
    extra_header=st.dictionaries(
        s.encodable_text.filter(lambda k: k not in s.RESERVED_HEADER),
        nested_json,
        min_size=1,
        max_size=3,
    ),
    claims=s.valid_claim_sets(),
)
@example(alg="ES256", extra_header={"x5c": ["MIIB"]}, claims=oidc_claims())
def test_results_do_not_share_state(
    alg: str, extra_header: dict[str, Any], claims: dict[str, Any]
) -> None:
    """Mutating what one verification returned never changes what a later one returns.

    Whatever a caller does with ``claims.header`` or ``error.unverified_header`` (normalising,
    redacting before logging...), the next token with the same header reports its own header.
    """
    key = all_keys()[alg]
    expected_header = {**json.loads(json.dumps(extra_header)), "alg": alg, "kid": key.kid}
    token = key.sign(claims, headers=extra_header)
    expired = key.sign({**claims, "exp": FIXED_NOW - 1}, headers=extra_header)
    verifier = oidc_verifier()

    first = verifier.verify(token)
    _deface(first.header)
    _deface(first.to_dict())
    error = outcome(verifier.verify, expired)
    assert isinstance(error, ExpiredTokenError)
    assert error.unverified_header is not None
    assert same_json(dict(error.unverified_header), expected_header)
    _deface(error.unverified_header)
    _deface(error.unverified_claims)

    second = verifier.verify(token)
    assert same_json(dict(second.header), expected_header)
    assert same_json(second.to_dict(), claims)


# --- 4. Any one-character change is rejected ------------------------------------------------------
@st.composite
def mutated_valid_token(draw: st.DrawFn) -> tuple[str, str, str, str]:
    alg = draw(st.sampled_from(ALL_ALGS))
    flavour = draw(st.sampled_from(["oidc", "cognito"]))
    original = valid_tokens()[alg, flavour]
    mutated = draw(s.mutations(original) | s.segment_mutations(original).map(lambda r: r[1]))
    return alg, flavour, original, mutated


def test_precomputed_tokens_verify() -> None:
    for (alg, flavour), token in valid_tokens().items():
        for verifier in verifiers_for(flavour):
            assert verifier.verify(token).header["alg"] == alg


@given(case=mutated_valid_token())
def test_single_character_change_is_rejected(case: tuple[str, str, str, str]) -> None:
    alg, flavour, original, mutated = case
    assert mutated != original
    for verifier in verifiers_for(flavour):
        result = outcome(verifier.verify, mutated)
        assert isinstance(result, JwtError), (alg, mutated)
        # The change must be caught as "not authentic", never judged on its claims.
        assert not isinstance(result, ClaimError) or type(result) is IssuerMismatchError, (
            alg,
            result,
        )


@given(
    alg=st.sampled_from(ALL_ALGS),
    flavour=st.sampled_from(["oidc", "cognito"]),
    data=st.data(),
)
def test_single_byte_change_in_bytes_token_is_rejected(
    alg: str, flavour: str, data: st.DataObject
) -> None:
    original = valid_tokens()[alg, flavour].encode("ascii")
    mutated = data.draw(s.byte_mutations(original))
    assert mutated != original
    for verifier in verifiers_for(flavour):
        result = outcome(verifier.verify, mutated)
        assert isinstance(result, JwtError)
        assert not isinstance(result, ClaimError) or type(result) is IssuerMismatchError


@given(
    alg=st.sampled_from(ALL_ALGS),
    other=st.sampled_from(ALL_ALGS),
    segment=st.sampled_from([0, 1]),
)
def test_segments_of_two_valid_tokens_do_not_mix(alg: str, other: str, segment: int) -> None:
    """Splicing the header or payload of one valid token into another breaks the signature."""
    a = valid_tokens()[alg, "oidc"].split(".")
    b = valid_tokens()[other, "cognito"].split(".")
    spliced = a.copy()
    spliced[segment] = b[segment]
    if spliced == a:  # same algorithm: the headers are identical, splice the payload instead
        spliced[1] = b[1]
    assert spliced != a
    for verifier in (oidc_verifier(), cognito_verifier(), multi_verifier()):
        result = outcome(verifier.verify, ".".join(spliced))
        assert isinstance(result, JwtError)
        assert not isinstance(result, ClaimError) or type(result) is IssuerMismatchError


# --- 5. JWKS processing ---------------------------------------------------------------------------
def assert_sound_keyset(keyset: KeySet, entries: Any = None) -> None:
    assert isinstance(keyset, KeySet)
    assert len(keyset) >= 1
    for key in keyset.keys:
        assert key.kty in ("RSA", "EC", "OKP")
        assert not PRIVATE_MEMBERS & set(key.jwk)
        assert key.algorithms
        assert key.algorithms <= set(ALGORITHMS)
        assert all(ALGORITHMS[alg].kty == key.kty for alg in key.algorithms)
        if "alg" in key.jwk:
            assert key.algorithms == {key.jwk["alg"]}
        assert key.kid is None or isinstance(key.kid, str)
    assert keyset.kids == {k.kid for k in keyset.keys if k.kid is not None}
    if isinstance(entries, list):
        skipped = [sk.index for sk in keyset.skipped]
        assert skipped == sorted(set(skipped))
        assert len(keyset.keys) + len(skipped) == len(entries)
        for sk in keyset.skipped:
            assert isinstance(sk.reason, str)
            assert sk.reason
            entry = entries[sk.index]
            kid = entry.get("kid") if isinstance(entry, Mapping) else None
            assert sk.kid == (kid if isinstance(kid, str) else None)


jwk_entries = st.one_of(s.jwk_like(), s.mutated_valid_jwk(), s.invalid_jwk(), s.json_values())
jwks_documents = st.one_of(
    s.json_values(s.any_text),
    st.fixed_dictionaries({"keys": st.lists(jwk_entries, max_size=6)}),
    st.builds(
        lambda keys, extra: {**extra, "keys": keys},
        st.lists(jwk_entries, max_size=4),
        s.json_objects(),
    ),
)


@given(
    doc=st.one_of(
        jwks_documents,
        jwks_documents.map(json.dumps),
        jwks_documents.map(lambda d: json.dumps(d).encode()),
        st.text(),
        st.binary(),
        s.hostile_objects(),
        st.sampled_from(s.WEIRD_JSON),
    )
)
@example(doc={"keys": []})
@example(doc={"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
@example(doc='{"keys": [], "keys": []}')
@example(doc={"keys": [{}] * 101})
def test_from_jwks_gives_keyset_or_invalid_jwks_error(doc: Any) -> None:
    try:
        keyset = KeySet.from_jwks(doc)
    except InvalidJwksError as exc:
        assert_well_formed_error(exc)
        return
    entries = doc.get("keys") if isinstance(doc, Mapping) else None
    assert_sound_keyset(keyset, entries)


@given(doc=s.python_hostile_jwks())
@example(doc={"keys": [{"kty": "RSA", "n": 10**5000, "e": "AQAB"}]})
@example(doc={"keys": [{"kty": 10**5000}]})
@example(doc={"keys": [{"kty": "EC", "crv": float("nan")}]})
@example(doc={10**5000: 1, "keys": [{b"kid": 1, 2: 3}]})
def test_hostile_python_jwks_dicts_raise_only_jwt_errors(doc: Any) -> None:
    """Hardening 2.5: a JWKS built in Python (not parsed from JSON) may hold what JSON can't;
    construction still only ever raises a JwtError."""
    builders: list[Callable[[], object]] = [
        lambda: KeySet.from_jwks(doc),
        lambda: JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=doc),
        lambda: CognitoVerifier(
            user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", jwks=doc
        ),
    ]
    for build in builders:
        try:
            built = build()
        except JwtError as exc:  # noqa: PERF203 - each builder on its own
            assert_well_formed_error(exc)
        else:
            repr(built)


VALID_KID = "the-one-valid-key"


@given(
    valid=st.sampled_from(s.valid_jwks()),
    garbage=st.lists(s.invalid_jwk(), min_size=1, max_size=8),
    others=st.lists(st.one_of(s.jwk_like(), s.mutated_valid_jwk()), max_size=3),
    data=st.data(),
)
def test_one_valid_key_survives_any_garbage(
    valid: dict[str, Any], garbage: list[Any], others: list[Any], data: st.DataObject
) -> None:
    good = dict(valid, kid=VALID_KID)
    tagged = [(True, g) for g in garbage] + [(False, o) for o in others]
    tagged = [t for t in tagged if not (isinstance(t[1], dict) and t[1].get("kid") == VALID_KID)]
    position = data.draw(st.integers(0, len(tagged)))
    tagged.insert(position, (False, good))
    entries = [entry for _, entry in tagged]
    keyset = KeySet.from_jwks({"keys": entries})
    assert_sound_keyset(keyset, entries)
    assert VALID_KID in keyset.kids
    (kept,) = [k for k in keyset.keys if k.kid == VALID_KID]
    assert kept.algorithms == {valid["alg"]}
    assert keyset.find(VALID_KID, valid["alg"]) is kept
    skipped = {sk.index for sk in keyset.skipped}
    assert position not in skipped
    # Every entry built to break a rule is reported, by index.
    for index, (is_garbage, entry) in enumerate(tagged):
        if is_garbage:
            assert index in skipped, entry


@given(
    valid=st.sampled_from(s.valid_jwks()),
    member=st.sampled_from(sorted(PRIVATE_MEMBERS)),
    secret=st.text(alphabet=s.B64URL_ALPHABET, min_size=16, max_size=64),
)
def test_private_keys_are_skipped_without_leaking_material(
    valid: dict[str, Any], member: str, secret: str
) -> None:
    leaky = dict(valid, **{member: secret})
    keyset = KeySet.from_jwks({"keys": [leaky, dict(valid, kid="public")]})
    assert keyset.kids == {"public"}
    (skipped,) = keyset.skipped
    assert skipped.index == 0
    assert secret not in skipped.reason
    assert secret not in repr(keyset)
    with pytest.raises(InvalidJwksError) as info:
        KeySet.from_jwks({"keys": [leaky]})
    assert secret not in str(info.value)


# --- 6. Strict base64url --------------------------------------------------------------------------
@given(data=st.binary(max_size=300))
def test_b64url_round_trip(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert set(encoded) <= set(s.B64URL_ALPHABET)
    assert len(encoded) % 4 != 1
    assert is_b64url(encoded)
    assert b64url_decode(encoded) == data


@given(
    text=st.one_of(
        st.text(),
        st.text(alphabet=s.B64URL_ALPHABET, max_size=40),
        st.text(alphabet=s.B64URL_ALPHABET + "=+/ \n\r\t.", max_size=40),
        st.binary(max_size=30).map(b64url_encode).flatmap(s.non_canonical),
        st.text(st.characters(categories=("Nd", "L")), max_size=12),
    )
)
@example(text="AR")
@example(text="AB")
@example(text="QUJ")
@example(text="QUI=")
@example(text="A")
@example(text="\u0663\u0663\u0663\u0663")  # Arabic-Indic digits: \d, but not base64url
@example(text="AAAA\n")
def test_b64url_decode_is_strict_and_canonical(text: str) -> None:
    try:
        decoded = b64url_decode(text)
    except ValueError:
        assert not is_b64url(text)
        return
    assert is_b64url(text)
    assert isinstance(decoded, bytes)
    # Canonical: the only string that decodes to these bytes is their own encoding.
    assert b64url_encode(decoded) == text
    # And it agrees with the standard library on what the bytes are.
    assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == decoded


# --- 7. Time claims -------------------------------------------------------------------------------
#: Numbers whose sums and comparisons are exact in binary floating point (|x| < 2**40, 10
#: fraction bits), so the float pipeline and exact arithmetic must agree.
exact_ints = st.integers(min_value=-(2**40), max_value=2**40)
exact_floats = st.integers(min_value=-(2**50), max_value=2**50).map(lambda i: i / 1024)
exact_numbers = exact_ints | exact_floats
#: The verifier refuses a leeway above a day (or whatever cap it documents).
MAX_LEEWAY = getattr(cognito_jwt._verifier, "_MAX_LEEWAY", 86_400)
exact_leeway = st.integers(min_value=0, max_value=MAX_LEEWAY) | st.integers(
    0, MAX_LEEWAY * 1024
).map(lambda i: i / 1024)
_TIME_KEY = "EdDSA"


def time_verifier(now: float, leeway: float) -> JwtVerifier:
    return JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks=all_jwks(),
        algorithms=(_TIME_KEY,),
        clock=lambda: now,
        leeway=leeway,
    )


def sign_claims(**overrides: Any) -> str:
    payload = {"iss": OIDC_ISSUER, "aud": AUDIENCE, **overrides}
    return s.sign_raw(
        all_keys()[_TIME_KEY],
        {"alg": _TIME_KEY, "kid": all_keys()[_TIME_KEY].kid},
        json.dumps(payload).encode(),
    )


absent = st.just(None)


@given(
    exp=exact_numbers,
    nbf=absent | exact_numbers,
    iat=absent | exact_numbers,
    now=exact_numbers,
    leeway=exact_leeway,
)
@example(exp=100, nbf=None, iat=None, now=100, leeway=0)
@example(exp=100, nbf=None, iat=None, now=99.9990234375, leeway=0)
@example(exp=100, nbf=None, iat=None, now=105, leeway=5)
@example(exp=100, nbf=None, iat=None, now=104.5, leeway=5)
@example(exp=1000, nbf=100, iat=None, now=40, leeway=5)
@example(exp=1000, nbf=100, iat=None, now=39.5, leeway=5)
@example(exp=1000, nbf=None, iat=100, now=40, leeway=5)
@example(exp=1000, nbf=None, iat=100, now=39.5, leeway=5)
@example(exp=1000, nbf=200, iat=None, now=100, leeway=100)
@example(exp=1000, nbf=200, iat=None, now=99.5, leeway=100)
@example(exp=253_402_300_800, nbf=None, iat=None, now=0, leeway=0)
@example(exp=253_402_300_799, nbf=None, iat=None, now=0, leeway=0)
@example(exp=1000, nbf=-62_135_596_801, iat=None, now=0, leeway=0)
def test_time_checks_match_exact_arithmetic(
    exp: float, nbf: float | None, iat: float | None, now: float, leeway: float
) -> None:
    claims = {"exp": exp}
    if nbf is not None:
        claims["nbf"] = nbf
    if iat is not None:
        claims["iat"] = iat
    result = outcome(time_verifier(now, leeway).verify, sign_claims(**claims))
    exact_now, exact_leeway = Fraction(now), Fraction(leeway)
    # nbf/iat in the future are tolerated up to max(leeway, 60 s); exp gets leeway alone.
    skew = max(exact_leeway, Fraction(FUTURE_SKEW))

    def is_date(value: float) -> bool:  # years 1 to 9999
        return MIN_NUMERIC_DATE <= Fraction(value) <= MAX_NUMERIC_DATE

    expired = not exact_now < Fraction(exp) + exact_leeway
    early = nbf is not None and exact_now + skew < Fraction(nbf)
    future_iat = iat is not None and Fraction(iat) > exact_now + skew
    # The checks run in a fixed order: exp, then nbf, then iat; each refuses a non-date.
    if not is_date(exp):
        expected: tuple[type[Any], str | None] = (ClaimError, "exp")
    elif expired:
        expected = (ExpiredTokenError, "exp")
    elif nbf is not None and not is_date(nbf):
        expected = (ClaimError, "nbf")
    elif early:
        expected = (NotYetValidError, "nbf")
    elif iat is not None and not is_date(iat):
        expected = (ClaimError, "iat")
    elif future_iat:
        expected = (NotYetValidError, "iat")
    else:
        assert isinstance(result, Claims), (result, claims)
        assert result["exp"] == exp
        return
    assert type(result) is expected[0], (result, claims)
    assert isinstance(result, ClaimError)
    assert result.claim == expected[1]


@given(
    name=st.sampled_from(["exp", "nbf", "iat"]),
    big=s.huge_ints | st.integers(min_value=2**53, max_value=2**1023),
    now=exact_numbers,
    leeway=exact_leeway,
)
@example(name="exp", big=2**1024, now=FIXED_NOW, leeway=0)
@example(name="exp", big=-(2**1024), now=FIXED_NOW, leeway=0)
@example(name="nbf", big=2**1024, now=FIXED_NOW, leeway=0)
@example(name="iat", big=2**1024, now=FIXED_NOW, leeway=0)
def test_numeric_dates_beyond_float_range_never_crash(
    name: str, big: int, now: float, leeway: float
) -> None:
    """A NumericDate is any JSON number: 10**400 is legal JSON and must not crash the checks;
    beyond year 9999 it is not a date (hardening 2.11), whatever its sign."""
    claims: dict[str, Any] = {"exp": FIXED_NOW + 3600, name: big}
    result = outcome(time_verifier(now, leeway).verify, sign_claims(**claims))
    if name != "exp" and now >= FIXED_NOW + 3600 + leeway:
        assert type(result) is ExpiredTokenError, result  # exp is checked first
    else:
        assert type(result) is ClaimError, result
        assert result.claim == name
    assert isinstance(result, JwtError)
    assert_well_formed_error(result)


not_a_number = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["1800003600", "1e10", "", "NaN", "Infinity"]),
    st.booleans(),
    st.none(),
    st.lists(s.json_scalars(), max_size=3),
    st.dictionaries(st.text(max_size=4), s.json_scalars(), max_size=2),
)


@given(name=st.sampled_from(["exp", "nbf", "iat"]), value=not_a_number)
@example(name="exp", value=True)
@example(name="iat", value=None)
@example(name="nbf", value=[FIXED_NOW])
def test_numeric_dates_of_other_types_are_claim_errors(name: str, value: Any) -> None:
    claims: dict[str, Any] = {"exp": FIXED_NOW + 3600, "iat": FIXED_NOW - 1}
    claims[name] = value
    result = outcome(time_verifier(FIXED_NOW, 0).verify, sign_claims(**claims))
    assert isinstance(result, ClaimError), (name, value, result)
    assert result.unverified_claims is not None
    assert name in result.unverified_claims


@given(
    name=st.sampled_from(["exp", "nbf", "iat"]),
    literal=st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity"]),
)
def test_non_finite_numeric_dates_are_rejected(name: str, literal: str) -> None:
    """``1e400`` parses to ``inf``; NaN/Infinity are not JSON at all. Neither may verify."""
    base = {"iss": OIDC_ISSUER, "aud": AUDIENCE, "exp": FIXED_NOW + 3600}
    base.pop(name, None)
    text = json.dumps(base)[:-1] + f', "{name}": {literal}}}'
    key = all_keys()[_TIME_KEY]
    token = s.sign_raw(key, {"alg": _TIME_KEY, "kid": key.kid}, text.encode())
    result = outcome(time_verifier(FIXED_NOW, 0).verify, token)
    if literal in ("1e400", "-1e400"):
        # Refused either by the strict parser (overflow to infinity) or as a bad NumericDate.
        assert isinstance(result, MalformedTokenError | ClaimError), result
    else:
        assert isinstance(result, MalformedTokenError), result


def test_every_public_error_is_a_jwt_error() -> None:
    """The properties above lean on this: the exported error classes form one tree."""
    errors = [
        getattr(cognito_jwt, name)
        for name in cognito_jwt.__all__
        if name.endswith("Error") and isinstance(getattr(cognito_jwt, name), type)
    ]
    assert len(errors) >= 19
    assert all(issubclass(cls, JwtError) for cls in errors)
