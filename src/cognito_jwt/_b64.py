"""Strict base64url (RFC 4648 §5, RFC 7515 §2): no padding, no whitespace, canonical encoding.

The alphabet is checked with one compiled regular expression and the decoding is done by
``binascii``: no Python loop runs per character. A string of length ``4k + 1`` can't be valid,
and the final character of a string of length ``4k + 2`` or ``4k + 3`` must leave the unused
low bits zero, so every byte string has exactly one accepted encoding (no malleable tokens).
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = [
    "ALPHABET_BYTES",
    "b64url_decode",
    "b64url_encode",
    "decode_checked_alphabet",
    "is_b64url",
]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")

# For a final group of 2 characters only the top 2 bits of the last one carry data (4 low bits
# must be zero); for 3 characters the top 4 bits do (2 low bits must be zero).
_CANONICAL_LAST = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
_CANONICAL_LAST_BYTE = {
    rem: frozenset("".join(chars).encode("ascii")) for rem, chars in _CANONICAL_LAST.items()
}
ALPHABET_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""The base64url alphabet: ``data.translate(None, ALPHABET_BYTES)`` leaves what is not in it."""
_PAD = (b"", b"", b"==", b"=")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def is_b64url(text: str) -> bool:
    """Return whether *text* is canonical unpadded base64url (the empty string is)."""
    if _ALPHABET.fullmatch(text) is None:
        return False
    rem = len(text) % 4
    return rem == 0 or (rem != 1 and text[-1] in _CANONICAL_LAST[rem])


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url.

    Raises:
        ValueError: *text* has padding, whitespace, a character outside the alphabet, an
            impossible length or non-zero unused bits.
    """
    if _ALPHABET.fullmatch(text) is None:
        raise ValueError("not canonical unpadded base64url")
    return decode_checked_alphabet(text)


def decode_checked_alphabet(text: str | bytes) -> bytes:
    """Decode *text* whose characters a caller already checked against the alphabet.

    Checks the length and the canonical final character, then decodes in C. This is the hot
    path of token parsing, where the whole token's alphabet has been checked in one pass.

    Raises:
        ValueError: Impossible length or non-zero unused bits.
    """
    data = text.encode("ascii") if isinstance(text, str) else text
    rem = len(data) % 4
    if rem == 0:
        return binascii.a2b_base64(data.translate(_TO_STANDARD))
    if rem == 1 or data[-1] not in _CANONICAL_LAST_BYTE[rem]:
        raise ValueError("not canonical unpadded base64url")
    return binascii.a2b_base64(data.translate(_TO_STANDARD) + _PAD[rem])


def b64url_encode(data: bytes) -> str:
    """Encode *data* as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
