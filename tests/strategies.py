"""Hypothesis strategies for the property tests: JSON values, JWKs, claim sets and tokens.

Everything here is data an attacker (or a broken issuer) could send: arbitrary JSON, JWK-like
objects with wrong types and impossible key material, hostile JOSE headers, claim sets whose
NumericDates are strings or astronomically large, and valid tokens with one character changed.
Signing is done with the cached keys of :mod:`tests.helpers`, so strategies that sign stay cheap
enough for a few hundred examples.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from hypothesis import strategies as st

from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_encode

from .helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    ISSUER,
    OIDC_ISSUER,
    SigningKey,
    access_claims,
    all_keys,
    oidc_claims,
)

B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
ALG_NAMES = tuple(sorted(ALGORITHMS))
# Everything a verifier must refuse or that looks almost like a supported name.
SUSPICIOUS_ALGS = (
    "none",
    "None",
    "NONE",
    "nOnE",
    "HS256",
    "HS384",
    "HS512",
    "hs256",
    "Hs512",
    "HS1024",
    "rs256",
    "RS256 ",
    " RS256",
    "RS256\x00",
    "RS1",
    "ES256K",
    "Ed448",
    "EDDSA",
    "PS256\n",
    "",
)
#: Claim names the round-trip test pins itself; random extra claims never use them.
RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "exp", "nbf", "iat", "jti", "scope", "token_use", "client_id"}
)
#: Header members with meaning to the parser (random extra header members never use them).
RESERVED_HEADER = frozenset({"alg", "kid", "crit", "b64"})


# --- Text and JSON --------------------------------------------------------------------------------
#: Text that survives UTF-8 encoding (no lone surrogates): what an issuer can put in a JSON file.
encodable_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=16)
#: Any Python text, lone surrogates included (JSON can carry them as ``\ud800`` escapes).
any_text = st.text(max_size=16)
b64url_text = st.text(alphabet=B64URL_ALPHABET, max_size=64)

#: Integers far outside what a float holds: legal JSON numbers, awkward NumericDates.
huge_ints = st.integers(min_value=2**1024, max_value=10**400) | st.integers(
    min_value=-(10**400), max_value=-(2**1024)
)
json_ints = st.integers() | st.integers(min_value=-(2**64), max_value=2**64) | huge_ints
json_floats = st.floats(allow_nan=False, allow_infinity=False)


def json_scalars(text: st.SearchStrategy[str] = encodable_text) -> st.SearchStrategy[Any]:
    """``null``, booleans, numbers (huge ones too) and strings."""
    return st.none() | st.booleans() | json_ints | json_floats | text


def json_values(
    text: st.SearchStrategy[str] = encodable_text, max_leaves: int = 12
) -> st.SearchStrategy[Any]:
    """Any JSON value (what ``json.loads`` can return), nested a few levels."""
    return st.recursive(
        json_scalars(text),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def json_objects(
    text: st.SearchStrategy[str] = encodable_text, max_size: int = 5
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object with arbitrary member names and values."""
    return st.dictionaries(text, json_values(text), max_size=max_size)


#: Raw JSON texts a strict parser must refuse (or treat carefully), as bytes.
WEIRD_JSON = (
    b"",
    b"null",
    b"[]",
    b'"str"',
    b"123",
    b"{",
    b'{"exp": 1e400}',
    b'{"exp": -1e400}',
    b'{"exp": NaN}',
    b'{"exp": Infinity}',
    b'{"exp": 1, "exp": 2}',
    b'{"iss": "a", "iss": "b"}',
    b'\xef\xbb\xbf{"exp": 1}',
    b'{"exp": 1}\x00',
    b'{"exp": 1} trailing',
    b'{"a": "\xff\xfe"}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\u0000"}',
    b"[" * 15_000 + b"]" * 15_000,
    b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    b'{"exp": 1' + b"0" * 5000 + b"}",
)


def payload_bytes(claims: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """The payload segment's bytes: JSON of *claims*, weird JSON, or random bytes."""
    return st.one_of(
        claims.map(lambda c: json.dumps(c).encode()),
        st.sampled_from(WEIRD_JSON),
        st.binary(max_size=64),
    )


# --- Arbitrary Python objects ---------------------------------------------------------------------
def hostile_objects() -> st.SearchStrategy[Any]:
    """Things that are not tokens at all: numbers, containers, buffers, plain objects."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        huge_ints,
        st.floats(),
        st.complex_numbers(),
        st.lists(json_scalars(any_text), max_size=4),
        st.tuples(any_text, any_text, any_text),
        st.dictionaries(any_text, json_scalars(any_text), max_size=4),
        st.frozensets(st.integers(), max_size=3),
        st.binary(max_size=32).map(bytearray),
        st.binary(max_size=32).map(memoryview),
        st.builds(object),
        st.just(NotImplemented),
        st.just(Ellipsis),
        st.just(str),
    )


def _nested(depth: int, container: str) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value] if container == "list" else {"k": value}
    return value


#: Integers that ``str()`` and ``repr()`` refuse (Python's 4300-digit limit): a dict built in
#: Python can hold them, JSON text cannot.
unprintable_ints = st.integers(min_value=4301, max_value=6000).map(lambda n: 10**n) | st.integers(
    min_value=4301, max_value=6000
).map(lambda n: -(10**n))


def python_hostile_values() -> st.SearchStrategy[Any]:
    """Values a caller's Python dict may hold but JSON never does: unprintable ints, NaN and
    infinities, nesting past the recursion limit, non-string keys, bytes, tuples, sets."""
    return st.one_of(
        unprintable_ints,
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e308, -0.0]),
        st.tuples(st.integers(min_value=1, max_value=5000), st.sampled_from(["list", "dict"])).map(
            lambda t: _nested(*t)
        ),
        st.dictionaries(
            st.one_of(st.integers(), unprintable_ints, st.binary(max_size=4), st.none()),
            st.integers(),
            max_size=3,
        ),
        st.binary(max_size=40),
        st.tuples(st.text(max_size=4)),
        st.frozensets(st.integers(), max_size=3),
        st.complex_numbers(),
    )


@st.composite
def python_hostile_jwks(draw: st.DrawFn) -> Any:
    """A JWKS passed as a Python dict, with hostile Python values anywhere a member may be."""
    hostile = python_hostile_values()
    keys: list[Any] = []
    for jwk in draw(st.lists(jwk_like() | st.sampled_from(valid_jwks()), max_size=4)):
        entry = dict(jwk)
        for name in draw(st.lists(st.sampled_from([*JWK_MEMBERS, "extra"]), max_size=3)):
            entry[name] = draw(hostile)
        if draw(st.booleans()):
            entry[draw(st.one_of(st.integers(), unprintable_ints, st.binary(max_size=4)))] = 1
        keys.append(entry)
    if draw(st.booleans()):
        keys.insert(draw(st.integers(0, len(keys))), draw(hostile))
    document: dict[Any, Any] = {"keys": keys}
    if draw(st.integers(0, 4)) == 0:
        document["keys"] = draw(hostile)
    if draw(st.booleans()):
        document[draw(st.one_of(unprintable_ints, st.binary(max_size=4), st.text()))] = draw(
            hostile
        )
    return document


JWK_MEMBERS = ("kty", "crv", "n", "e", "x", "y", "alg", "use", "key_ops", "kid", "d")


@st.composite
def huge_text(draw: st.DrawFn) -> str:
    """Text far above the token size caps, built by repetition (cheap to generate)."""
    unit = draw(st.text(min_size=1, max_size=8) | st.sampled_from(["A", ".", "A.", "aGk."]))
    count = draw(st.integers(min_value=1, max_value=200_000 // len(unit)))
    return unit * count


#: Any text: short, non-ASCII, base64url-ish, dotted, or huge.
token_like_text = st.one_of(
    st.text(),
    st.text(alphabet=B64URL_ALPHABET + ".=+/ \n\t"),
    st.lists(b64url_text, min_size=0, max_size=5).map(".".join),
    huge_text(),
)


# --- JWKs -----------------------------------------------------------------------------------------
def valid_jwks() -> list[dict[str, str]]:
    """The public JWK of every test key (each has kid, use and a pinned alg)."""
    return [dict(k.jwk) for k in all_keys().values()]


def _int_b64(value: int) -> str:
    return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


#: base64url strings for key members: random octets of interesting lengths, or big integers.
key_octets = st.one_of(
    st.binary(max_size=70).map(b64url_encode),
    st.sampled_from([31, 32, 33, 47, 48, 49, 65, 66, 67, 255, 256]).flatmap(
        lambda n: st.binary(min_size=n, max_size=n).map(b64url_encode)
    ),
    st.integers(min_value=0, max_value=2**8300).map(_int_b64),
    st.integers(min_value=2**2046, max_value=2**2050).map(_int_b64),
    b64url_text,
)


def _member(
    sensible: st.SearchStrategy[Any], *, hostile: st.SearchStrategy[Any] | None = None
) -> st.SearchStrategy[Any]:
    return sensible | (hostile if hostile is not None else json_values(any_text, max_leaves=4))


@st.composite
def jwk_like(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object that looks more or less like a JWK; every member may have the wrong type."""
    reals = valid_jwks()
    real_values = st.sampled_from([v for jwk in reals for v in jwk.values()])
    members = {
        "kty": _member(st.sampled_from(["RSA", "EC", "OKP", "oct", "rsa", "ec", "RSA ", ""])),
        "crv": _member(st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "Ed448", "X25519"])),
        "n": _member(key_octets | real_values),
        "e": _member(st.sampled_from(["AQAB", "Aw", "AQ", "Ag", "AAEAAQ", "_____w", "AQAAAAE"])),
        "x": _member(key_octets | real_values),
        "y": _member(key_octets | real_values),
        "alg": _member(st.sampled_from(ALG_NAMES + SUSPICIOUS_ALGS)),
        "use": _member(st.sampled_from(["sig", "enc", "SIG", ""])),
        "key_ops": _member(
            st.lists(st.sampled_from(["verify", "sign", "encrypt", "wrapKey"]), max_size=3)
        ),
        "kid": _member(any_text | st.sampled_from([j["kid"] for j in reals])),
    }
    jwk = draw(st.fixed_dictionaries({}, optional=members))
    if draw(st.booleans()):
        jwk.update(draw(st.dictionaries(any_text, json_values(any_text, max_leaves=4), max_size=3)))
    if draw(st.integers(0, 9)) == 0:
        jwk[draw(st.sampled_from(PRIVATE_MEMBERS))] = draw(key_octets)
    return jwk


@st.composite
def mutated_valid_jwk(draw: st.DrawFn) -> dict[str, Any]:
    """A real public JWK with one member deleted, replaced by an arbitrary value, or added."""
    jwk: dict[str, Any] = dict(draw(st.sampled_from(valid_jwks())))
    action = draw(st.sampled_from(["delete", "replace", "add"]))
    if action == "delete":
        del jwk[draw(st.sampled_from(sorted(jwk)))]
    elif action == "replace":
        jwk[draw(st.sampled_from(sorted(jwk)))] = draw(json_values(any_text, max_leaves=4))
    else:
        name = draw(st.sampled_from(PRIVATE_MEMBERS) | any_text)
        jwk[name] = draw(json_values(any_text, max_leaves=4))
    return jwk


def _decode(b64: str) -> bytes:
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))


def _flip_last_bit(b64: str) -> str:
    raw = bytearray(_decode(b64))
    raw[-1] ^= 1
    return b64url_encode(bytes(raw))


#: For a final group of 2 (3) characters, the last one must leave 4 (2) low bits zero.
_CANONICAL_LAST = {2: "AQgw", 3: "AEIMQUYcgkosw048"}


@st.composite
def non_canonical(draw: st.DrawFn, b64: str) -> str:
    """A string that is not the canonical unpadded base64url of anything, derived from *b64*."""
    rem = len(b64) % 4
    options = [b64 + "=", b64 + "==", b64 + " ", " " + b64, b64 + "\n", b64[:1] + "+" + b64[1:]]
    options.append(b64[:1] + "/" + b64[1:])
    options.append(b64 + "A" if rem == 0 else b64 + "AA" if rem == 3 else b64 + "AAA")
    if rem in _CANONICAL_LAST:
        bad = [c for c in B64URL_ALPHABET if c not in _CANONICAL_LAST[rem]]
        options.append(b64[:-1] + draw(st.sampled_from(bad)))
    return draw(st.sampled_from(options))


@st.composite
def invalid_jwk(draw: st.DrawFn) -> Any:
    """A JWKS entry that breaks at least one key rule, so it must always be skipped."""
    real: dict[str, Any] = dict(draw(st.sampled_from(valid_jwks())))
    kind = draw(
        st.sampled_from(
            [
                "not-an-object",
                "private",
                "use",
                "key_ops",
                "kid-type",
                "kty",
                "alg",
                "missing-member",
                "member-type",
                "non-canonical",
                "key-material",
            ]
        )
    )
    if kind == "not-an-object":
        return draw(st.none() | st.booleans() | json_ints | any_text | st.lists(json_scalars()))
    if kind == "private":
        real[draw(st.sampled_from(PRIVATE_MEMBERS))] = draw(json_values(any_text, max_leaves=4))
    elif kind == "use":
        real["use"] = draw(
            json_values(any_text, max_leaves=4).filter(lambda v: v not in ("sig", None))
        )
    elif kind == "key_ops":
        real["key_ops"] = draw(
            json_values(any_text, max_leaves=4).filter(
                lambda v: v is not None and not (isinstance(v, list) and "verify" in v)
            )
        )
    elif kind == "kid-type":
        real["kid"] = draw(
            json_values(any_text, max_leaves=4).filter(
                lambda v: v is not None and not isinstance(v, str)
            )
        )
    elif kind == "kty":
        real["kty"] = draw(
            json_values(any_text, max_leaves=4).filter(lambda v: v not in ("RSA", "EC", "OKP"))
        )
    elif kind == "alg":
        # Any alg but the one the key is pinned to: the others are wrong for the key type/curve,
        # or (for RSA/OKP siblings) fine, so only take values that cannot fit this key.
        fitting = {a for a, spec in ALGORITHMS.items() if spec.kty == real["kty"]}
        if real["kty"] == "EC":
            fitting = {real["alg"]}
        real["alg"] = draw(
            (
                st.sampled_from(ALG_NAMES + SUSPICIOUS_ALGS) | json_values(any_text, max_leaves=4)
            ).filter(lambda v: v is not None and v not in tuple(fitting))
        )
    elif kind == "missing-member":
        needed = {"RSA": ["n", "e"], "EC": ["crv", "x", "y"], "OKP": ["crv", "x"]}[real["kty"]]
        del real[draw(st.sampled_from(needed))]
    elif kind == "member-type":
        needed = {"RSA": ["n", "e"], "EC": ["crv", "x", "y"], "OKP": ["crv", "x"]}[real["kty"]]
        real[draw(st.sampled_from(needed))] = draw(
            st.none() | st.booleans() | json_ints | st.lists(json_scalars(), max_size=2)
        )
    elif kind == "non-canonical":
        needed = {"RSA": ["n", "e"], "EC": ["x", "y"], "OKP": ["x"]}[real["kty"]]
        name = draw(st.sampled_from(needed))
        real[name] = draw(non_canonical(real[name]))
    elif real["kty"] == "RSA":  # key-material: impossible numbers for a well-formed key
        if draw(st.booleans()):
            real["n"] = draw(
                st.sampled_from(["", "AA", "AQ"])
                | st.integers(min_value=0, max_value=2**2047 - 1).map(_int_b64)
                | st.integers(min_value=2**2047, max_value=2**2060).map(lambda n: _int_b64(2 * n))
                | st.integers(min_value=2**8192, max_value=2**8300).map(_int_b64)
            )
        else:
            real["e"] = draw(
                st.sampled_from(["", "AA", "AQ", "Ag", "AQAAAAAB"])
                | st.integers(min_value=0, max_value=2**32).map(lambda e: _int_b64(2 * e))
                | st.integers(min_value=2**32, max_value=2**64).map(_int_b64)
            )
    elif real["kty"] == "EC":
        coordinate = draw(st.sampled_from(["x", "y"]))
        real[coordinate] = draw(
            st.just(_flip_last_bit(real[coordinate]))
            | st.binary()
            .filter(lambda b: len(b) != len(_decode(real[coordinate])))
            .map(b64url_encode)
        )
    else:
        real["x"] = draw(st.binary().filter(lambda b: len(b) != 32).map(b64url_encode))
    return real


# --- JOSE headers, claims and tokens --------------------------------------------------------------
kid_values = st.one_of(
    st.sampled_from([k.kid for k in all_keys().values()]),
    any_text,
    json_values(any_text, max_leaves=4),
)
alg_values = st.one_of(st.sampled_from(ALG_NAMES + SUSPICIOUS_ALGS), any_text, json_scalars())
crit_values = st.one_of(
    st.lists(st.sampled_from(["b64", "exp", "kid", "alg", "", "x"]) | any_text, max_size=3),
    json_values(any_text, max_leaves=4),
)


def hostile_headers(
    alg: st.SearchStrategy[Any] = alg_values, *, alg_optional: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """A JOSE header: maybe an alg, kid, crit, b64 and key-bearing members, of any type."""
    required = {} if alg_optional else {"alg": alg}
    optional = {"alg": alg} if alg_optional else {}
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries(
            required,
            optional={
                **optional,
                "kid": kid_values,
                "crit": crit_values,
                "b64": json_scalars(any_text),
                "typ": st.sampled_from(["JWT", "at+jwt"]) | any_text,
                "jku": st.just("https://attacker.example/jwks.json"),
                "jwk": st.sampled_from(valid_jwks()),
                "x5u": any_text,
            },
        ),
        st.dictionaries(any_text, json_values(any_text, max_leaves=4), max_size=3),
    )


@st.composite
def plausible_headers(draw: st.DrawFn) -> dict[str, Any]:
    """A header that passes the parser's shape rules: real alg and kid (maybe mismatched)."""
    key = all_keys()[draw(st.sampled_from(sorted(all_keys())))]
    header: dict[str, Any] = {"alg": draw(st.just(key.alg) | st.sampled_from(ALG_NAMES))}
    if draw(st.integers(0, 4)) != 0:
        header["kid"] = draw(
            st.just(key.kid) | st.sampled_from([k.kid for k in all_keys().values()]) | any_text
        )
    extra = draw(st.dictionaries(any_text, json_values(any_text, max_leaves=4), max_size=3))
    for name in RESERVED_HEADER:
        extra.pop(name, None)
    return {**extra, **header}


numeric_date_values = st.one_of(
    st.integers(min_value=FIXED_NOW - 100_000, max_value=FIXED_NOW + 100_000),
    st.floats(min_value=FIXED_NOW - 1e5, max_value=FIXED_NOW + 1e5),
    json_ints,
    json_floats,
    json_values(any_text, max_leaves=3),
)


#: Claim sets every test verifier (or one of them) accepts at FIXED_NOW.
def _base_claim_sets() -> list[dict[str, Any]]:
    return [
        oidc_claims(scope="orders:read"),
        access_claims(),
        access_claims(aud=CLIENT_ID, token_use="id", **{"cognito:groups": ["admins"]}),
    ]


def hostile_claims() -> st.SearchStrategy[dict[str, Any]]:
    """A claim set where registered claims may be missing, right, or of any type and size.

    Half the time it starts from a claim set that verifies and overrides a few claims, so the
    checks after the first one get exercised too.
    """
    return st.one_of(_random_claims(), _overridden_claims())


@st.composite
def _overridden_claims(draw: st.DrawFn) -> dict[str, Any]:
    claims = dict(draw(st.sampled_from(_base_claim_sets())))
    overrides = draw(_random_claims())
    names = draw(st.lists(st.sampled_from(sorted(overrides)), unique=True)) if overrides else []
    claims.update({name: overrides[name] for name in names})
    for name in draw(st.lists(st.sampled_from(sorted(claims)), max_size=2, unique=True)):
        claims.pop(name, None)
    return claims


def _random_claims() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries(
            {},
            optional={
                "exp": numeric_date_values,
                "nbf": numeric_date_values,
                "iat": numeric_date_values,
                "iss": st.sampled_from([OIDC_ISSUER, ISSUER]) | json_scalars(any_text),
                "aud": st.sampled_from([AUDIENCE, CLIENT_ID, [AUDIENCE], [], [1, AUDIENCE]])
                | json_values(any_text, max_leaves=3),
                "client_id": st.sampled_from([CLIENT_ID, ""]) | json_scalars(any_text),
                "token_use": st.sampled_from(["access", "id", "ID", ""])
                | json_values(any_text, max_leaves=3),
                "scope": st.sampled_from(["orders/read", "orders:read", " ", ""])
                | json_values(any_text, max_leaves=3),
                "cognito:groups": st.sampled_from([["admins"], [], "admins", [None, "admins"]])
                | json_values(any_text, max_leaves=3),
                "sub": json_scalars(any_text),
                "auth_time": numeric_date_values,
                "username": json_scalars(any_text),
                "cognito:username": json_scalars(any_text),
                "azp": json_scalars(any_text),
                "scp": json_values(any_text, max_leaves=3),
                "jti": json_scalars(any_text),
            },
        ),
        st.dictionaries(any_text, json_values(any_text, max_leaves=4), max_size=3),
    )


@st.composite
def near_tokens(draw: st.DrawFn) -> str:
    """Three segments that parse more or less, with a signature no key ever made."""
    header = draw(
        st.one_of(
            hostile_headers(),
            hostile_headers(alg_optional=False),
            plausible_headers(),
            plausible_headers(),
        )
    )
    shape = draw(st.sampled_from(["header", "header", "header", "header", "object", "text"]))
    if shape == "object":
        header_b64 = draw(payload_bytes(json_objects(any_text)).map(b64url_encode))
    elif shape == "text":
        header_b64 = draw(b64url_text)
    else:
        header_b64 = b64url_encode(json.dumps(header).encode())
    payload_b64 = draw(
        payload_bytes(hostile_claims()).map(b64url_encode) | b64url_text.filter(bool)
    )
    sig_len = st.sampled_from([0, 1, 63, 64, 65, 96, 132, 255, 256, 257, 512])
    signature = draw(
        sig_len.flatmap(lambda n: st.binary(min_size=n, max_size=n)).map(b64url_encode)
        | b64url_text
    )
    return f"{header_b64}.{payload_b64}.{signature}"


def sign_raw(key: SigningKey, header: dict[str, Any], payload: bytes) -> str:
    """Sign arbitrary header JSON and payload bytes with *key* under ``header['alg']``."""
    header_b64 = b64url_encode(json.dumps(header).encode())
    signing_input = f"{header_b64}.{b64url_encode(payload)}"
    signature = ALGORITHMS[key.alg].sign(key.private, signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


#: RS256 is drawn often: it is the only algorithm the strict Cognito verifier allows.
_SIGNING_ALGS = st.sampled_from(["EdDSA", "ES256", "RS256"]) | st.sampled_from(ALG_NAMES)


@st.composite
def signed_hostile_tokens(draw: st.DrawFn) -> str:
    """Genuinely signed tokens whose header extras and claims are hostile.

    The signature verifies (unless the header breaks the rules), so the claim checks see the
    payload: this is how an issuer's bug or a compromised signing key reaches the verifier.
    """
    key = all_keys()[draw(_SIGNING_ALGS)]
    header = draw(hostile_headers(alg=st.just(key.alg)) | plausible_headers())
    header["alg"] = key.alg
    if draw(st.integers(0, 3)) != 0:
        header["kid"] = key.kid
    if draw(st.integers(0, 3)) != 0:
        for name in ("crit", "b64"):
            header.pop(name, None)
    payload = draw(
        st.one_of(
            hostile_claims().map(lambda c: json.dumps(c).encode()),
            payload_bytes(hostile_claims()),
        )
    )
    return sign_raw(key, header, payload)


# --- Valid claim sets -----------------------------------------------------------------------------
@st.composite
def valid_claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    """An OIDC claim set valid at FIXED_NOW plus random JSON extra claims."""
    claims: dict[str, Any] = draw(
        st.dictionaries(
            encodable_text.filter(lambda k: k not in RESERVED_CLAIMS),
            json_values(encodable_text),
            max_size=6,
        )
    )
    claims.update(
        iss=OIDC_ISSUER,
        aud=draw(st.sampled_from([AUDIENCE, [AUDIENCE], ["other", AUDIENCE]])),
        exp=draw(
            st.integers(FIXED_NOW + 1, FIXED_NOW + 10**6)
            | st.floats(FIXED_NOW + 0.5, FIXED_NOW + 1e6)
        ),
    )
    optional = {
        "iat": st.integers(FIXED_NOW - 10**6, FIXED_NOW) | st.floats(FIXED_NOW - 1e6, FIXED_NOW),
        "nbf": st.integers(FIXED_NOW - 10**6, FIXED_NOW) | st.floats(FIXED_NOW - 1e6, FIXED_NOW),
        "sub": encodable_text,
        "jti": encodable_text,
        "scope": encodable_text,
    }
    claims.update(draw(st.fixed_dictionaries({}, optional=optional)))
    return claims


def valid_header_extras() -> st.SearchStrategy[dict[str, Any]]:
    """Header members with no meaning to the verifier, to ride along into ``Claims.header``."""
    return st.dictionaries(
        encodable_text.filter(lambda k: k not in RESERVED_HEADER),
        json_values(encodable_text, max_leaves=4),
        max_size=3,
    )


# --- Mutations of a valid token -------------------------------------------------------------------
@st.composite
def mutations(draw: st.DrawFn, token: str) -> str:
    """*token* with exactly one character replaced, deleted or inserted (never unchanged)."""
    alphabet = B64URL_ALPHABET + "."
    action = draw(st.sampled_from(["replace", "delete", "insert"]))
    if action == "insert":
        pos = draw(st.integers(0, len(token)))
        return token[:pos] + draw(st.sampled_from(alphabet)) + token[pos:]
    pos = draw(st.integers(0, len(token) - 1))
    if action == "delete":
        return token[:pos] + token[pos + 1 :]
    char = draw(st.sampled_from(alphabet).filter(lambda c: c != token[pos]))
    return token[:pos] + char + token[pos + 1 :]


@st.composite
def segment_mutations(draw: st.DrawFn, token: str) -> tuple[int, str]:
    """A single-character change inside one chosen segment (header, payload or signature)."""
    segments = token.split(".")
    index = draw(st.integers(0, 2))
    segments[index] = (
        draw(mutations(segments[index]))
        if segments[index]
        else draw(st.sampled_from(B64URL_ALPHABET))
    )
    return index, ".".join(segments)


@st.composite
def byte_mutations(draw: st.DrawFn, token: bytes) -> bytes:
    """*token* (ASCII bytes) with one byte replaced by any other byte value."""
    pos = draw(st.integers(0, len(token) - 1))
    value = draw(st.integers(0, 255).filter(lambda b: b != token[pos]))
    return token[:pos] + bytes([value]) + token[pos + 1 :]
