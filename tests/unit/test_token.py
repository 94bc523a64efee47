"""parse_token / decode_payload: shape checks on an untrusted compact JWS."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_jwt import _token
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._errors import (
    ConfigurationError,
    JwtError,
    MalformedTokenError,
    UnsupportedCriticalHeaderError,
)
from cognito_jwt._token import (
    DEFAULT_LIMITS,
    ParsedToken,
    TokenLimits,
    decode_payload,
    loads_json_object,
    parse_token,
)

HEADER = {"alg": "RS256", "kid": "k1"}
PAYLOAD = {"sub": "alice", "exp": 1}
SIG = bytes(range(64))


def seg(part: dict[str, Any] | bytes) -> str:
    data = part if isinstance(part, bytes) else json.dumps(part, separators=(",", ":")).encode()
    return b64url_encode(data)


def tok(
    header: dict[str, Any] | bytes = HEADER,
    payload: dict[str, Any] | bytes = PAYLOAD,
    signature: bytes = SIG,
) -> str:
    return f"{seg(header)}.{seg(payload)}.{b64url_encode(signature)}"


def header_error(header: dict[str, Any], **kwargs: Any) -> JwtError:
    with pytest.raises(MalformedTokenError) as info:
        parse_token(tok(header), **kwargs)
    return info.value


# --- the happy path ------------------------------------------------------------------------------
def test_parse_returns_unverified_parts() -> None:
    token = tok()
    h, p, _ = token.split(".")
    parsed = parse_token(token)
    assert isinstance(parsed, ParsedToken)
    assert parsed.header == HEADER
    assert parsed.alg == "RS256"
    assert parsed.kid == "k1"
    assert parsed.signing_input == f"{h}.{p}".encode("ascii")
    assert parsed.signature == SIG
    assert parsed.payload_b64 == p.encode()
    assert decode_payload(parsed) == PAYLOAD


def test_kid_absent_is_none() -> None:
    parsed = parse_token(tok({"alg": "ES256"}))
    assert parsed.kid is None
    assert parsed.alg == "ES256"


def test_empty_signature_is_allowed() -> None:
    token = tok({"alg": "none"}, PAYLOAD, b"")
    assert token.endswith(".")
    parsed = parse_token(token)
    assert parsed.signature == b""
    assert parsed.alg == "none"


def test_parsed_header_is_read_only_and_not_shared_mutably() -> None:
    # ParsedToken itself is a plain slotted record (not frozen: 0.6 µs per token saved); what is
    # shared between calls through the header cache is the header, and that is read-only.
    first, second = parse_token(tok()), parse_token(tok())
    assert first.header is second.header  # served from the cache
    with pytest.raises(TypeError):
        first.header["alg"] = "none"  # type: ignore[index]
    first.alg = "none"
    assert parse_token(tok()).alg == "RS256"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS1", "whatever"])
def test_any_string_alg_passes_parsing(alg: str) -> None:
    # the allowlist is applied later by the verifier, not by the parser
    assert parse_token(tok({"alg": alg})).alg == alg


# --- input types ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [None, 123, 1.5, True, bytearray(tok().encode()), memoryview(tok().encode()), [tok()], {}],
)
def test_wrong_types_are_malformed(value: object) -> None:
    with pytest.raises(MalformedTokenError, match="token must be str or bytes") as info:
        parse_token(value)
    assert type(value).__name__ in str(info.value)
    assert info.value.unverified_header is None


def test_ascii_bytes_accepted() -> None:
    token = tok()
    assert parse_token(token.encode("ascii")) == parse_token(token)


@pytest.mark.parametrize(
    "raw", [tok().encode() + b"\xff", b"\xc3\xa9" + tok().encode(), "é.é.é".encode()]
)
def test_non_ascii_bytes_rejected(raw: bytes) -> None:
    with pytest.raises(MalformedTokenError, match="not ASCII"):
        parse_token(raw)


@pytest.mark.parametrize("suffix", ["é", "\u0661", "\u200b", "\x00"])
def test_non_ascii_str_rejected(suffix: str) -> None:
    with pytest.raises(MalformedTokenError, match="not a compact JWS"):
        parse_token(tok() + suffix)


# --- segments ------------------------------------------------------------------------------------
H, P, S = tok().split(".")


@pytest.mark.parametrize(
    ("token", "hint"),
    [
        ("Bearer " + tok(), "remove the 'Bearer ' prefix"),
        ("bearer " + tok(), "remove the 'Bearer ' prefix"),
        ("BEARER\t" + tok(), "remove the 'Bearer ' prefix"),
        (tok() + "\n", "surrounding whitespace"),
        (" " + tok(), "surrounding whitespace"),
        ("\r\n" + tok() + " ", "surrounding whitespace"),
        ((tok() + "\n").encode(), "surrounding whitespace"),
        (b"Bearer " + tok().encode(), "remove the 'Bearer ' prefix"),
        ('"' + tok() + '"', "quotes"),
    ],
)
def test_common_mistakes_get_a_hint_without_the_token(token: str | bytes, hint: str) -> None:
    with pytest.raises(MalformedTokenError, match="not a compact JWS") as info:
        parse_token(token)
    message = str(info.value)
    assert hint in message
    for part in tok().split("."):
        assert part not in message


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "...",
        H,
        f"{H}.{P}",  # two segments
        f"{H}.{P}.{S}.{S}",  # four segments
        f"{H}.{P}.{S}.",
        f".{H}.{P}.{S}",
        f"{H}..{S}",  # empty payload
        f".{P}.{S}",  # empty header
        f"{H}.{P}.{S}\n",
        f" {H}.{P}.{S}",
        f"{H} .{P}.{S}",
        f"{H}.{P}.{S}==",
        f"{H}=.{P}.{S}",
        f"{H}.{P}+.{S}",
        f"{H}.{P}.{S[:-2]}+/",
        f"{H},{P},{S}",
        "Bearer " + tok(),
    ],
)
def test_not_three_base64url_segments(token: str) -> None:
    with pytest.raises(MalformedTokenError, match="not a compact JWS") as info:
        parse_token(token)
    assert info.value.unverified_header is None
    assert type(info.value) is MalformedTokenError


def _non_canonical(text: str) -> str:
    """Return *text* with its last character changed so that unused bits are non-zero."""
    assert len(text) % 4 in (2, 3)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return text[:-1] + alphabet[alphabet.index(text[-1]) + 1]


def _four_k_plus_one(text: str) -> str:
    return text + "A" * ((1 - len(text)) % 4)


def test_non_canonical_header_rejected() -> None:
    header = seg({"alg": "RS256", "x": "y"})
    assert len(header) % 4 in (2, 3)
    with pytest.raises(MalformedTokenError, match="header is not canonical base64url") as info:
        parse_token(f"{_non_canonical(header)}.{P}.{S}")
    assert info.value.unverified_header is None


def test_header_of_length_4k_plus_1_rejected() -> None:
    with pytest.raises(MalformedTokenError, match="header is not canonical base64url"):
        parse_token(f"{_four_k_plus_one(H)}.{P}.{S}")


@pytest.mark.parametrize("make", [_non_canonical, _four_k_plus_one])
def test_non_canonical_signature_rejected(make: Any) -> None:
    sig = b64url_encode(bytes(65))
    assert len(sig) % 4 in (2, 3)
    with pytest.raises(MalformedTokenError, match="signature is not canonical base64url"):
        parse_token(f"{H}.{P}.{make(sig)}")


def test_non_canonical_signature_error_carries_header() -> None:
    """LIBRARY BUG if this fails: the header was decoded but is not attached to the error."""
    sig = _non_canonical(b64url_encode(bytes(65)))
    with pytest.raises(MalformedTokenError, match="signature") as info:
        parse_token(f"{H}.{P}.{sig}")
    assert info.value.unverified_header == HEADER


# --- header contents ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        b"[]",
        b'[{"alg":"RS256"}]',
        b"1",
        b'"RS256"',
        b"null",
        b"true",
        b"not json",
        b'{"alg":"RS256"',
        b'{"alg":"RS256","alg":"none"}',
        b'{"alg":"RS256","kid":"a","kid":"b"}',
        b'{"alg":"RS256","x":NaN}',
        b'\xef\xbb\xbf{"alg":"RS256"}',
        b'{"alg":"RS\xff"}',
        b"[" * 6_000,  # fits the header limit, nests too deeply
    ],
)
def test_header_not_a_strict_json_object(header: bytes) -> None:
    with pytest.raises(MalformedTokenError, match="header is not a JSON object") as info:
        parse_token(tok(header))
    assert info.value.unverified_header is None
    assert type(info.value) is MalformedTokenError


@pytest.mark.parametrize("header", [{}, {"kid": "k"}, {"ALG": "RS256"}, {"alg": None}])
def test_alg_missing(header: dict[str, Any]) -> None:
    err = header_error(header)
    assert "'alg' is required" in str(err)
    assert err.unverified_header == header


@pytest.mark.parametrize(
    ("alg", "found"),
    [
        (256, "int"),
        (["RS256"], "list"),
        ({"name": "RS256"}, "dict"),
        (True, "bool"),
        (1.0, "float"),
    ],
)
def test_alg_not_a_string(alg: object, found: str) -> None:
    header = {"alg": alg}
    err = header_error(header)
    assert "'alg' is required" in str(err)
    assert "string" in str(err)
    assert f"found {found}" in str(err)
    assert err.unverified_header == header


def test_alg_empty_string_rejected() -> None:
    """LIBRARY BUG (or spec gap) if this fails: ``alg: ""`` passes parse_token."""
    header = {"alg": ""}
    err = header_error(header)
    assert "alg" in str(err)
    assert err.unverified_header == header


@pytest.mark.parametrize(
    ("kid", "found"),
    [(1, "int"), (["k"], "list"), ({}, "dict"), (True, "bool"), (None, "NoneType"), (1.5, "float")],
)
def test_kid_not_a_string(kid: object, found: str) -> None:
    header = {"alg": "RS256", "kid": kid}
    err = header_error(header)
    assert f"header 'kid' must be a string, found {found}" in str(err)
    assert err.unverified_header == header
    assert type(err) is MalformedTokenError


def test_kid_null_is_malformed_not_absent() -> None:
    # Hardening 2.4: a present member must be well-typed; `"kid": null` is not "no kid" (it
    # used to pick the single fitting key).
    with pytest.raises(MalformedTokenError, match="header 'kid' must be a string"):
        parse_token(tok({"alg": "RS256", "kid": None}))


@pytest.mark.parametrize("name", ["jku", "x5u", "jwk", "x5c", "x5t", "x5t#S256"])
def test_key_carrying_headers_are_ignored(name: str) -> None:
    values = {
        "jku": "https://evil.example/jwks.json",
        "x5u": "https://evil.example/cert.pem",
        "jwk": {"kty": "oct", "k": "AAAA"},
        "x5c": ["MIIB"],
        "x5t": "AAAA",
        "x5t#S256": "AAAA",
    }
    header = {"alg": "RS256", "kid": "k1", name: values[name]}
    parsed = parse_token(tok(header))
    assert parsed.header == header
    assert parsed.alg == "RS256"
    assert parsed.kid == "k1"


# --- crit ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "crit",
    ["exp", {"exp": True}, 1, None, True, [], [1], [""], [None], [["exp"]], ["exp", "exp"]],
)
def test_crit_shape_rejected(crit: object) -> None:
    header = {"alg": "RS256", "crit": crit, "exp": 1}
    with pytest.raises(MalformedTokenError, match="'crit' must be a non-empty list") as info:
        parse_token(tok(header), understood_crit=frozenset({"exp"}))
    assert type(info.value) is MalformedTokenError
    assert info.value.unverified_header == header


@pytest.mark.parametrize(
    ("crit", "understood"),
    [
        (["exp"], frozenset()),
        (["exp", "nbf"], frozenset({"exp"})),
        (["b64"], frozenset()),
        (["alg"], frozenset()),
        (["Exp"], frozenset({"exp"})),  # case-sensitive
    ],
)
def test_crit_unknown_names_unsupported(crit: list[str], understood: frozenset[str]) -> None:
    header: dict[str, Any] = {"alg": "RS256", "crit": crit}
    header.update({name: 1 for name in crit if name != "alg"})
    with pytest.raises(UnsupportedCriticalHeaderError, match="does not implement") as info:
        parse_token(tok(header), understood_crit=understood)
    assert info.value.code == "ERR_CRIT_UNSUPPORTED"
    assert info.value.unverified_header == header


def test_crit_unknown_name_truncated_in_message() -> None:
    name = "x" * 1000
    header = {"alg": "RS256", "crit": [name], name: 1}
    with pytest.raises(UnsupportedCriticalHeaderError) as info:
        parse_token(tok(header))
    assert "x" * 64 in str(info.value)
    assert "x" * 65 not in str(info.value)


def test_crit_understood_and_present_accepted() -> None:
    header = {"alg": "RS256", "crit": ["exp", "nbf"], "exp": 1, "nbf": 0}
    parsed = parse_token(tok(header), understood_crit=frozenset({"exp", "nbf", "other"}))
    assert parsed.header == header


@pytest.mark.parametrize("crit", [["exp"], ["exp", "nbf"]])
def test_crit_understood_but_absent_from_header(crit: list[str]) -> None:
    header = {"alg": "RS256", "crit": crit}
    with pytest.raises(MalformedTokenError, match="absent from the header") as info:
        parse_token(tok(header), understood_crit=frozenset({"exp", "nbf"}))
    assert type(info.value) is MalformedTokenError
    assert info.value.unverified_header == header


# --- b64 (RFC 7797) ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [False, "false", "true", 0, 1, None, []])
def test_b64_other_than_true_unsupported(value: object) -> None:
    header = {"alg": "RS256", "b64": value}
    with pytest.raises(UnsupportedCriticalHeaderError, match="b64") as info:
        parse_token(tok(header))
    assert info.value.unverified_header == header


def test_b64_false_unsupported_even_when_crit_understood() -> None:
    header = {"alg": "RS256", "b64": False, "crit": ["b64"]}
    with pytest.raises(UnsupportedCriticalHeaderError, match="unencoded payloads"):
        parse_token(tok(header), understood_crit=frozenset({"b64"}))


def test_b64_true_accepted() -> None:
    assert parse_token(tok({"alg": "RS256", "b64": True})).header["b64"] is True


# --- size caps -----------------------------------------------------------------------------------
def test_token_limit_exact_and_one_above() -> None:
    token = tok()
    limits = TokenLimits(max_token_length=len(token))
    assert parse_token(token, limits).alg == "RS256"
    with pytest.raises(MalformedTokenError, match="above the limit") as info:
        parse_token(token, TokenLimits(max_token_length=len(token) - 1))
    assert f"token is {len(token)} characters" in str(info.value)
    assert info.value.unverified_header is None


def test_header_limit_exact_and_one_above() -> None:
    token = tok()
    size = len(token.split(".")[0])
    assert parse_token(token, TokenLimits(max_header_length=size)).alg == "RS256"
    with pytest.raises(MalformedTokenError, match=r"header is .* above the limit"):
        parse_token(token, TokenLimits(max_header_length=size - 1))


def test_signature_limit_exact_and_one_above() -> None:
    token = tok()
    size = len(token.split(".")[2])
    assert parse_token(token, TokenLimits(max_signature_length=size)).signature == SIG
    with pytest.raises(MalformedTokenError, match=r"signature is .* above the limit"):
        parse_token(token, TokenLimits(max_signature_length=size - 1))


def _header_of_encoded_length(length: int) -> dict[str, str]:
    """A header whose compact JSON encodes to exactly *length* base64url characters."""
    assert length % 4 == 0
    raw_len = length // 4 * 3
    base = {"alg": "RS256", "pad": ""}
    filler = raw_len - len(json.dumps(base, separators=(",", ":")))
    return {"alg": "RS256", "pad": "p" * filler}


def test_default_header_limit_boundary() -> None:
    limit = DEFAULT_LIMITS.max_header_length
    at = _header_of_encoded_length(limit)
    assert len(seg(at)) == limit
    assert parse_token(tok(at)).header == at
    above = _header_of_encoded_length(limit + 4)
    with pytest.raises(MalformedTokenError, match=f"limit of {limit}"):
        parse_token(tok(above))
    # one character above (4k+1 length, so also undecodable): the size check comes first
    with pytest.raises(MalformedTokenError, match=f"header is {limit + 1} characters"):
        parse_token(f"{seg(at)}A.{P}.{S}")


def test_default_signature_limit_boundary() -> None:
    limit = DEFAULT_LIMITS.max_signature_length
    sig = bytes(limit // 4 * 3)
    assert len(b64url_encode(sig)) == limit
    assert parse_token(tok(signature=sig)).signature == sig
    with pytest.raises(MalformedTokenError, match=f"signature is {limit + 1} characters"):
        parse_token(f"{H}.{P}.{b64url_encode(sig)}A")
    with pytest.raises(MalformedTokenError, match=f"limit of {limit}"):
        parse_token(tok(signature=bytes(limit // 4 * 3 + 3)))


def test_default_token_limit_boundary() -> None:
    limit = DEFAULT_LIMITS.max_token_length
    prefix = f"{H}."
    suffix = f".{S}"
    payload_len = limit - len(prefix) - len(suffix)
    payload = "A" * payload_len
    token = prefix + payload + suffix
    assert len(token) == limit
    # size check passes; the payload is only decoded later
    assert parse_token(token).payload_b64 == payload.encode()
    with pytest.raises(MalformedTokenError, match=f"token is {limit + 1} characters"):
        parse_token(prefix + payload + "A" + suffix)


def test_huge_token_rejected_before_regex() -> None:
    with pytest.raises(MalformedTokenError, match="above the limit"):
        parse_token("A" * 10_000_000)


# --- TokenLimits ---------------------------------------------------------------------------------
def test_token_limits_defaults() -> None:
    assert TokenLimits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_token_length == 64 * 1024
    assert DEFAULT_LIMITS.max_header_length == 8 * 1024
    assert DEFAULT_LIMITS.max_signature_length == 2 * 1024


@pytest.mark.parametrize("name", ["max_token_length", "max_header_length", "max_signature_length"])
@pytest.mark.parametrize(
    "value",
    [15, 0, -1, -(2**40), True, False, 16.0, "16", None, 1e9, -(10**5000), [10**5000]],
    ids=["15", "0", "-1", "-2**40", "True", "False", "16.0", "'16'", "None", "1e9", "-h", "[h]"],
)
def test_token_limits_validation(name: str, value: object) -> None:
    # A ConfigurationError (hardening, paper cut iv), still a ValueError for older callers.
    with pytest.raises(ConfigurationError, match=f"TokenLimits.{name} must be an int >= 16"):
        TokenLimits(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["max_token_length", "max_header_length", "max_signature_length"])
@pytest.mark.parametrize("value", [16, 17, 10**9])
def test_token_limits_accepts_ints_from_16(name: str, value: int) -> None:
    assert getattr(TokenLimits(**{name: value}), name) == value


def test_token_limits_frozen() -> None:
    with pytest.raises(AttributeError):
        DEFAULT_LIMITS.max_token_length = 1  # type: ignore[misc]


# --- decode_payload ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"null",
        b"Payload",
        b"",
        b'{"a":1,"a":2}',
        b'{"exp":Infinity}',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":"\xff"}',
        b"[" * 40_000,
    ],
)
def test_decode_payload_not_a_json_object(payload: bytes) -> None:
    token = f"{H}.{b64url_encode(payload) or 'AA'}.{S}"
    parsed = parse_token(token)
    with pytest.raises(MalformedTokenError, match="payload is not a JSON object") as info:
        decode_payload(parsed)
    assert info.value.unverified_header == HEADER
    assert info.value.unverified_claims is None


@pytest.mark.parametrize("make", [_non_canonical, _four_k_plus_one])
def test_decode_payload_non_canonical_base64(make: Any) -> None:
    payload = seg({"sub": "x"})
    assert len(payload) % 4 in (2, 3)
    parsed = parse_token(f"{H}.{make(payload)}.{S}")
    with pytest.raises(MalformedTokenError, match="payload is not canonical base64url"):
        decode_payload(parsed)


@pytest.mark.parametrize("make", [_non_canonical, _four_k_plus_one])
def test_decode_payload_base64_error_carries_header(make: Any) -> None:
    """LIBRARY BUG if this fails: decode_payload attaches the header only for JSON errors."""
    parsed = parse_token(f"{H}.{make(seg({'sub': 'x'}))}.{S}")
    with pytest.raises(MalformedTokenError, match="payload") as info:
        decode_payload(parsed)
    assert info.value.unverified_header == HEADER


def test_decode_payload_error_does_not_quote_payload() -> None:
    parsed = parse_token(f"{H}.{b64url_encode(b'SECRETMARKER')}.{S}")
    with pytest.raises(MalformedTokenError) as info:
        decode_payload(parsed)
    assert "SECRETMARKER" not in str(info.value)
    assert "SECRETMARKER" not in repr(info.value)


def test_loads_json_object_names_the_part() -> None:
    assert loads_json_object(b'{"a":1}', "JWKS") == {"a": 1}
    with pytest.raises(MalformedTokenError, match=r"^JWKS is not a JSON object: invalid JSON"):
        loads_json_object(b"[", "JWKS")


def test_error_messages_never_contain_the_token() -> None:
    token = tok({"alg": "RS256", "kid": 7})
    with pytest.raises(MalformedTokenError) as info:
        parse_token(token)
    assert token not in str(info.value)
    assert not re.search(r"eyJ", str(info.value))


# --- header cache (parse results may be reused for identical encoded headers) --------------------
def test_header_is_read_only() -> None:
    parsed = parse_token(tok())
    with pytest.raises(TypeError):
        parsed.header["alg"] = "none"  # type: ignore[index]
    assert parse_token(tok()).header["alg"] == "RS256"


def test_repeated_parse_gives_equal_results() -> None:
    token = tok({"alg": "ES256", "kid": "cache-1"})
    first = parse_token(token)
    second = parse_token(token)
    assert first == second
    assert second.alg == "ES256"
    assert second.kid == "cache-1"


def test_other_payload_and_signature_with_cached_header() -> None:
    header = {"alg": "RS256", "kid": "cache-2"}
    first = parse_token(tok(header, {"sub": "a"}, b"\x01" * 8))
    second = parse_token(tok(header, {"sub": "b"}, b"\x02" * 8))
    assert decode_payload(first) == {"sub": "a"}
    assert decode_payload(second) == {"sub": "b"}
    assert first.signature == b"\x01" * 8
    assert second.signature == b"\x02" * 8
    assert first.signing_input != second.signing_input


def test_crit_outcome_depends_on_understood_crit_not_on_cache() -> None:
    header = {"alg": "RS256", "crit": ["exp"], "exp": 1, "kid": "cache-3"}
    token = tok(header)
    assert parse_token(token, understood_crit=frozenset({"exp"})).header == header
    with pytest.raises(UnsupportedCriticalHeaderError):
        parse_token(token)
    assert parse_token(token, understood_crit=frozenset({"exp"})).header == header
    with pytest.raises(UnsupportedCriticalHeaderError):
        parse_token(token)


def test_bad_header_rejected_every_time() -> None:
    token = tok({"alg": "RS256", "kid": 5})
    for _ in range(3):
        with pytest.raises(MalformedTokenError, match="'kid' must be a string"):
            parse_token(token)


def test_cached_header_still_subject_to_limits() -> None:
    token = tok({"alg": "RS256", "kid": "cache-4"})
    size = len(token.split(".")[0])
    assert parse_token(token).kid == "cache-4"
    with pytest.raises(MalformedTokenError, match="above the limit"):
        parse_token(token, TokenLimits(max_header_length=size - 1))
    with pytest.raises(MalformedTokenError, match="above the limit"):
        parse_token(token, TokenLimits(max_token_length=len(token) - 1))


def test_many_distinct_headers_then_first_again() -> None:
    tokens = [tok({"alg": "RS256", "kid": f"flood-{i}"}) for i in range(300)]
    for i, token in enumerate(tokens):
        assert parse_token(token).kid == f"flood-{i}"
    assert parse_token(tokens[0]).kid == "flood-0"
    assert parse_token(tokens[-1]).kid == "flood-299"


def test_nested_header_values_not_shared_between_parses() -> None:
    """LIBRARY BUG if this fails: nested header values leak between parses of one header.

    The header cache hands every parse of the same encoded header the same (shallowly
    read-only) mapping, so a caller that edits a nested list changes what the next, unrelated
    request sees.
    """
    token = tok({"alg": "RS256", "kid": "cache-5", "x5c": ["MIIB"]})
    first = parse_token(token)
    first.header["x5c"].append("injected")
    second = parse_token(token)
    assert second.header["x5c"] == ["MIIB"]


# --- the hot path agrees with the general path ----------------------------------------------------
def _outcome(parse: Any, token: object, limits: TokenLimits) -> object:
    try:
        return parse(token, limits)
    except JwtError as exc:
        return (type(exc), str(exc))


_SEEN = tok()  # its header is in the cache once parsed
_ALPHABET_AND_MORE = st.sampled_from([*"ABCxyz019-_.+/= \n\t\x00é", "\u00a0", "\ud800"])


@given(
    position=st.integers(min_value=0, max_value=len(_SEEN)),
    insert=st.text(_ALPHABET_AND_MORE, max_size=3),
    delete=st.integers(min_value=0, max_value=3),
    as_bytes=st.booleans(),
    small=st.booleans(),
)
def test_seen_header_path_agrees_with_the_general_path(
    position: int, insert: str, delete: int, as_bytes: bool, small: bool
) -> None:
    limits = TokenLimits(max_token_length=200, max_signature_length=64) if small else DEFAULT_LIMITS
    parse_token(_SEEN)
    text = _SEEN[:position] + insert + _SEEN[position + delete :]
    token: object = text
    if as_bytes:
        token = text.encode("utf-8", "surrogatepass")
    general = _outcome(lambda t, lim: _token._parse_general(t, lim, frozenset()), token, limits)
    assert _outcome(parse_token, token, limits) == general
    seen = _token.parse_seen(token, limits)
    assert seen is None or seen == general


def test_seen_header_path_is_taken_for_a_repeat_header() -> None:
    parse_token(_SEEN)
    seen = _token.parse_seen(_SEEN, DEFAULT_LIMITS)
    assert seen is not None
    assert seen == _token._parse_general(_SEEN, DEFAULT_LIMITS, frozenset())
    assert _token.parse_seen(_SEEN.replace("-", "+"), DEFAULT_LIMITS) is None
