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

__all__ = ["b64url_decode", "b64url_encode", "is_b64url"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")

# For a final group of 2 characters only the top 2 bits of the last one carry data (4 low bits
# must be zero); for 3 characters the top 4 bits do (2 low bits must be zero).
_CANONICAL_LAST = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
_PAD = ("", "", "==", "=")


def is_b64url(text: str) -> bool:
    """Return whether *text* is canonical unpadded base64url (the empty string is)."""
    if _ALPHABET.fullmatch(text) is None:
        return False
    rem = len(text) % 4
    if rem == 1:
        return False
    return rem == 0 or text[-1] in _CANONICAL_LAST[rem]


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url.

    Raises:
        ValueError: *text* has padding, whitespace, a character outside the alphabet, an
            impossible length or non-zero unused bits.
    """
    if not is_b64url(text):
        raise ValueError("not canonical unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + _PAD[len(text) % 4])
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - is_b64url rules this out
        raise ValueError("not canonical unpadded base64url") from exc


def b64url_encode(data: bytes) -> str:
    """Encode *data* as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
