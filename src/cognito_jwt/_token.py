"""Compact JWS → unverified parts, with size caps and strict JSON (RFC 7515 §3.1, §4, §5.2).

Nothing here trusts the token: the result is what the token *claims* to be, checked only for
shape. Signature verification and claim checks come later in the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._b64 import ALPHABET_BYTES, decode_checked_alphabet
from ._errors import (
    ConfigurationError,
    MalformedTokenError,
    UnsupportedCriticalHeaderError,
    bounded_repr,
)
from ._json import loads_object
from ._record import dataclass

__all__ = [
    "ParsedToken",
    "TokenLimits",
    "decode_payload",
    "loads_json_object",
    "parse_seen",
    "parse_token",
]

# Three base64url segments; the signature may be empty so that `alg: none` tokens reach the
# algorithm check and get the error that names the real problem.
_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)")


@dataclass(frozen=True, slots=True)
class TokenLimits:
    """Size caps applied before any decoding, in characters of the compact serialization.

    The defaults fit real Cognito ID tokens with hundreds of groups and 8192-bit RSA signatures
    while keeping the work an attacker can cause per call small and bounded.

    Raises:
        ConfigurationError: A limit that is not an int of at least 16.

    Attributes:
        max_token_length: Whole token.
        max_header_length: Encoded protected header.
        max_signature_length: Encoded signature.
    """

    max_token_length: int = 64 * 1024
    max_header_length: int = 8 * 1024
    max_signature_length: int = 2 * 1024

    def __post_init__(self) -> None:
        for name in ("max_token_length", "max_header_length", "max_signature_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 16:
                raise ConfigurationError(
                    f"TokenLimits.{name} must be an int >= 16, got {bounded_repr(value)}"
                )


DEFAULT_LIMITS = TokenLimits()


@dataclass(slots=True)
class ParsedToken:
    """The unverified parts of a compact JWS (read-only by convention: not frozen, for speed).

    Attributes:
        header: The decoded JOSE header (a JSON object), read-only.
        alg: ``header["alg"]``, always a string.
        kid: ``header["kid"]`` when present, else ``None``.
        signing_input: ``ASCII(BASE64URL(header) || '.' || BASE64URL(payload))``.
        signature: The decoded signature (may be empty).
        payload_b64: The encoded payload (ASCII), decoded only after the signature verified.
    """

    header: Mapping[str, Any]
    alg: str
    kid: str | None
    signing_input: bytes
    signature: bytes
    payload_b64: bytes


def loads_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """Decode *raw* as a strict JSON object (see :mod:`._json`).

    Raises:
        MalformedTokenError: *raw* is not such a document; *what* names it in the message.
    """
    try:
        return loads_object(raw)
    except ValueError as exc:
        raise MalformedTokenError(f"{what} is not a JSON object: {exc}") from None


def _segment(text: str | bytes, what: str, header: Mapping[str, Any] | None = None) -> bytes:
    # Only called on segments whose alphabet has been checked: the compact-token regex, or the
    # one-pass check of parse_seen.
    try:
        return decode_checked_alphabet(text)
    except ValueError:
        raise MalformedTokenError(
            f"{what} is not canonical base64url", unverified_header=header
        ) from None


def parse_token(
    token: object,
    limits: TokenLimits = DEFAULT_LIMITS,
    understood_crit: frozenset[str] = frozenset(),
) -> ParsedToken:
    """Split and decode a compact JWS without verifying anything.

    Args:
        token: The token as ``str`` or ASCII ``bytes``; anything else is malformed.
        limits: Size caps checked before decoding.
        understood_crit: Header parameter names this caller implements and so accepts in
            ``crit``. By default none: any ``crit`` entry is refused (RFC 7515 §4.1.11).

    Raises:
        MalformedTokenError: Wrong type, too large, not three canonical base64url segments,
            header not a JSON object, ``alg`` missing or not a string, ``kid`` present but
            not a string (``null`` included). A string with a ``Bearer`` prefix, surrounding
            whitespace or quotes gets a message that says so (the token is never quoted).
        UnsupportedCriticalHeaderError: ``crit`` names something not understood, or the
            header asks for an unencoded payload (``b64: false``, RFC 7797).
    """
    if not understood_crit:
        seen = parse_seen(token, limits)
        if seen is not None:
            return seen
    return _parse_general(token, limits, understood_crit)


def _parse_general(
    token: object, limits: TokenLimits, understood_crit: frozenset[str]
) -> ParsedToken:
    if isinstance(token, bytes):
        try:
            token = token.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedTokenError("token is not ASCII") from None
    if not isinstance(token, str):
        raise MalformedTokenError(f"token must be str or bytes, found {type(token).__name__}")
    if len(token) > limits.max_token_length:
        raise MalformedTokenError(
            f"token is {len(token)} characters, above the limit of {limits.max_token_length}"
        )
    match = _COMPACT.fullmatch(token)
    if match is None:
        raise MalformedTokenError(
            "token is not a compact JWS (three base64url segments separated by '.')"
            + _shape_hint(token)
        )
    header_b64, payload_b64, signature_b64 = match.groups()
    if len(header_b64) > limits.max_header_length:
        raise MalformedTokenError(
            f"header is {len(header_b64)} characters, above the limit of {limits.max_header_length}"
        )
    if len(signature_b64) > limits.max_signature_length:
        raise MalformedTokenError(
            f"signature is {len(signature_b64)} characters, above the limit of "
            f"{limits.max_signature_length}"
        )
    if understood_crit:
        header, alg, kid = _parse_header(header_b64, understood_crit)
    else:
        cached = _parse_header(header_b64, understood_crit)
        # Only flat headers are shared between calls: a nested list or object (x5c, jwk) could
        # be mutated by one caller and change what the next one sees.
        if all(type(v) in _SCALARS for v in cached[0].values()):
            if len(_HEADER_CACHE) >= _HEADER_CACHE_SIZE:
                _HEADER_CACHE.clear()
            _HEADER_CACHE[header_b64.encode("ascii")] = cached
        header, alg, kid = cached
    signature = _segment(signature_b64, "signature", header)
    return ParsedToken(
        header=header,
        alg=alg,
        kid=kid,
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=signature,
        payload_b64=payload_b64.encode("ascii"),
    )


def _shape_hint(token: str) -> str:
    """Name a common mistake in a string that is not a compact JWS, without quoting it."""
    stripped = token.strip()
    words = stripped.split(None, 1)
    if len(words) == 2 and words[0].lower() == "bearer":
        return ": remove the 'Bearer ' prefix (pass the token alone)"
    if stripped != token:
        return ": the token has surrounding whitespace (strip it)"
    if len(stripped) > 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        return ": the token is wrapped in quotes"
    return ""


# Tokens of one issuer share a handful of headers (one per kid and alg): keep the validated,
# read-only result of the last few, keyed by the encoded header. Only headers that passed every
# check are stored, so the cache can't change an outcome; the size bound keeps a flood of
# distinct headers from growing memory (it is simply emptied when full).
_HEADER_CACHE: dict[bytes, tuple[Mapping[str, Any], str, str | None]] = {}


def parse_seen(token: object, limits: TokenLimits) -> ParsedToken | None:
    """The hot path of :func:`parse_token`: a well-formed token whose header was seen before.

    One pass over the bytes checks the alphabet and the two dots (``translate`` in C, where a
    regular expression costs three times as much), the header comes from the cache, and only
    the signature is decoded. Returns ``None`` for anything else, and :func:`parse_token` then
    takes the general path, which gives the same result or the error naming the problem.
    """
    if type(token) is str:
        if len(token) > limits.max_token_length or not token.isascii():
            return None
        raw = token.encode("ascii")
    elif type(token) is bytes and len(token) <= limits.max_token_length:
        raw = token
    else:
        return None
    if raw.translate(None, ALPHABET_BYTES) != b"..":
        return None
    signing_input, _, signature_b64 = raw.rpartition(b".")
    header_b64, _, payload_b64 = signing_input.partition(b".")
    cached = _HEADER_CACHE.get(header_b64)
    if (
        cached is None
        or not payload_b64
        or len(header_b64) > limits.max_header_length
        or len(signature_b64) > limits.max_signature_length
    ):
        return None
    try:
        signature = decode_checked_alphabet(signature_b64)
    except ValueError:
        return None
    header, alg, kid = cached
    return ParsedToken(header, alg, kid, signing_input, signature, payload_b64)


_HEADER_CACHE_SIZE = 64
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _parse_header(
    header_b64: str, understood_crit: frozenset[str]
) -> tuple[Mapping[str, Any], str, str | None]:
    decoded = loads_json_object(_segment(header_b64, "header"), "header")
    header = MappingProxyType(decoded)
    alg = decoded.get("alg")
    if not isinstance(alg, str):
        raise MalformedTokenError(
            "header 'alg' is required and must be a string"
            + ("" if alg is None else f", found {type(alg).__name__}"),
            unverified_header=header,
        )
    if not alg:
        raise MalformedTokenError("header 'alg' must not be empty", unverified_header=header)
    kid = decoded.get("kid")
    if "kid" in decoded and not isinstance(kid, str):  # `"kid": null` is not "no kid"
        raise MalformedTokenError(
            f"header 'kid' must be a string, found {type(kid).__name__}", unverified_header=header
        )
    if "crit" in decoded:
        _check_crit(header, understood_crit)
    if "b64" in decoded and decoded["b64"] is not True:
        raise UnsupportedCriticalHeaderError(
            "unencoded payloads (header 'b64' other than true, RFC 7797) are not supported",
            unverified_header=header,
        )
    # jku, x5u, jwk and x5c are deliberately never read: keys come only from the verifier's
    # configured key set, never from the token that is being verified.
    return header, alg, kid


def _check_crit(header: Mapping[str, Any], understood: frozenset[str]) -> None:
    crit = header["crit"]
    if (
        not isinstance(crit, list)
        or not crit
        or not all(isinstance(name, str) and name for name in crit)
        or len(set(crit)) != len(crit)
    ):
        raise MalformedTokenError(
            "header 'crit' must be a non-empty list of distinct non-empty strings",
            unverified_header=header,
        )
    unknown = [name for name in crit if name not in understood]
    if unknown:
        shown = ", ".join(repr(name[:64]) for name in unknown[:5])
        raise UnsupportedCriticalHeaderError(
            f"header 'crit' lists extensions this verifier does not implement: {shown}",
            unverified_header=header,
        )
    missing = [name for name in crit if name not in header]
    if missing:
        raise MalformedTokenError(
            "header 'crit' lists parameters absent from the header", unverified_header=header
        )


def decode_payload(parsed: ParsedToken) -> dict[str, Any]:
    """Decode the payload of *parsed* as a JSON object (the JWT claims set).

    Raises:
        MalformedTokenError: The payload is not canonical base64url or not a JSON object.
    """
    try:  # _segment and loads_json_object, written out: this runs for every token
        return loads_object(decode_checked_alphabet(parsed.payload_b64))
    except ValueError as exc:
        _segment(parsed.payload_b64, "payload", parsed.header)  # raises if not base64url
        raise MalformedTokenError(
            f"payload is not a JSON object: {exc}", unverified_header=parsed.header
        ) from None
