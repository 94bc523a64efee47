"""Strict base64url: exactly one accepted encoding per byte string (RFC 4648 §5, RFC 7515 §2)."""

from __future__ import annotations

import base64
import itertools
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_jwt._b64 import b64url_decode, b64url_encode, is_b64url

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"

VALID = [
    ("", b""),
    ("AA", b"\x00"),
    ("AQ", b"\x01"),
    ("_w", b"\xff"),
    ("gA", b"\x80"),
    ("wA", b"\xc0"),
    ("AAA", b"\x00\x00"),
    ("AAE", b"\x00\x01"),
    ("__8", b"\xff\xff"),
    ("AAAA", b"\x00\x00\x00"),
    ("____", b"\xff\xff\xff"),
    ("-_-_", b"\xfb\xff\xbf"),
    ("AQAB", b"\x01\x00\x01"),
    ("eyJhbGciOiJSUzI1NiJ9", b'{"alg":"RS256"}'),
    ("UGF5bG9hZA", b"Payload"),
]

INVALID = [
    # padding
    "AA==",
    "AAA=",
    "AAAA====",
    "=",
    "==",
    # whitespace and newlines
    " AAAA",
    "AAAA ",
    "AA AA",
    "AA\nAA",
    "AAAA\n",
    "\nAAAA",
    "AAAA\r\n",
    "AA\tAA",
    # the standard (non-URL) alphabet
    "AA+A",
    "AA/A",
    "++++",
    "////",
    "+w",
    "/w",
    # impossible lengths 4k + 1
    "A",
    "_",
    "AAAAA",
    "AAAAAAAAA",
    # non-zero unused bits, length 4k + 2
    "AB",
    "AC",
    "AP",
    "AR",
    "A_",
    "_x",
    "AAAAAB",
    # non-zero unused bits, length 4k + 3
    "AAB",
    "AAC",
    "AAD",
    "AAF",
    "AA_",
    "__9",
    "AAAAAAB",
    # non-ASCII and other junk
    "ÄÄÄÄ",
    "AAA\u00e9",
    "\uff21\uff21\uff21\uff21",  # fullwidth letters
    "AA\u0661\u0662",  # Arabic-Indic digits
    "AAAA\u200b",  # zero-width space
    "AA\x00A",
    "AA.A",
    "AA%3D",
    "AA,A",
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_decodes(text: str, expected: bytes) -> None:
    assert is_b64url(text) is True
    assert b64url_decode(text) == expected


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_round_trips(text: str, expected: bytes) -> None:
    assert b64url_encode(expected) == text


@pytest.mark.parametrize("text", INVALID)
def test_invalid_rejected(text: str) -> None:
    assert is_b64url(text) is False
    with pytest.raises(ValueError, match="not canonical unpadded base64url") as info:
        b64url_decode(text)
    # the message is fixed: it never echoes the input
    assert str(info.value) == "not canonical unpadded base64url"


def test_empty_string_is_valid_and_empty() -> None:
    assert is_b64url("") is True
    assert b64url_decode("") == b""
    assert b64url_encode(b"") == ""


def test_decode_error_is_plain_value_error_without_chained_binascii_error() -> None:
    with pytest.raises(ValueError, match="base64url") as info:
        b64url_decode("AB")
    assert type(info.value) is ValueError


@pytest.mark.parametrize("length", [2, 3])
def test_every_short_group_has_exactly_one_encoding(length: int) -> None:
    """Exhaustive: a final group is accepted iff it is the canonical encoding of its bytes."""
    accepted = 0
    for chars in itertools.product(ALPHABET, repeat=length):
        text = "".join(chars)
        lenient = base64.urlsafe_b64decode(text + "=" * (4 - length))
        canonical = b64url_encode(lenient) == text
        assert is_b64url(text) is canonical, text
        accepted += canonical
    # one accepted string per possible byte string of length - 1
    assert accepted == 256 ** (length - 1)


@pytest.mark.parametrize("length", [1, 5, 9, 13])
def test_every_4k_plus_1_length_rejected(length: int) -> None:
    for char in ALPHABET:
        assert is_b64url(char * length) is False


@pytest.mark.parametrize(
    ("last_valid", "last_invalid"),
    [("AQ", "AR"), ("Ag", "Ah"), ("Aw", "Ax"), ("AAE", "AAF"), ("AAI", "AAJ")],
)
def test_canonical_neighbour_differs_only_in_unused_bits(
    last_valid: str, last_invalid: str
) -> None:
    # the lenient decoder maps both to the same bytes: the strict one must accept only one
    pad = "=" * (-len(last_valid) % 4)
    assert base64.urlsafe_b64decode(last_valid + pad) == base64.urlsafe_b64decode(
        last_invalid + pad
    )
    assert b64url_decode(last_valid) == base64.urlsafe_b64decode(last_valid + pad)
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(last_invalid)


@given(st.binary(max_size=200))
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert isinstance(text, str)
    assert "=" not in text
    assert "+" not in text
    assert "/" not in text
    assert len(text) % 4 != 1
    assert is_b64url(text)
    assert b64url_decode(text) == data


@given(st.text(alphabet=ALPHABET, max_size=64))
def test_accepted_text_re_encodes_to_itself(text: str) -> None:
    if is_b64url(text):
        assert b64url_encode(b64url_decode(text)) == text
    else:
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 31, 32, 33, 255, 256, 257])
def test_encoded_length(size: int) -> None:
    data = bytes(range(256))[:size] if size <= 256 else bytes(size)
    assert len(b64url_encode(data)) == (4 * size + 2) // 3


# --- decode_checked_alphabet (the token parser's hot path) ---------------------------------------
@given(st.text(alphabet=ALPHABET, max_size=64))
def test_checked_alphabet_agrees_with_strict_decoder(text: str) -> None:
    from cognito_jwt._b64 import decode_checked_alphabet

    if is_b64url(text):
        assert decode_checked_alphabet(text) == b64url_decode(text)
    else:
        with pytest.raises(ValueError, match="base64url"):
            decode_checked_alphabet(text)


@pytest.mark.parametrize("text", ["A", "AB", "AAB", "AAAAA", "_x", "AAAAAAB"])
def test_checked_alphabet_rejects_length_and_unused_bits(text: str) -> None:
    from cognito_jwt._b64 import decode_checked_alphabet

    with pytest.raises(ValueError, match="not canonical unpadded base64url"):
        decode_checked_alphabet(text)


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_checked_alphabet_valid(text: str, expected: bytes) -> None:
    from cognito_jwt._b64 import decode_checked_alphabet

    assert decode_checked_alphabet(text) == expected
