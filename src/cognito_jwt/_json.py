"""Strict JSON for data an attacker may have written (token segments, JWKS documents).

Duplicate member names, ``NaN``/``Infinity`` (and numbers that overflow to it), invalid UTF-8,
a byte-order mark and nesting deep enough to exhaust the stack are all rejected; the top level
must be an object.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, NoReturn

__all__ = ["loads_object"]


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # RFC 7515 §5.2 and RFC 7517 §4 let a recipient reject duplicate member names; we do,
        # because two parsers that pick different duplicates is how bypass bugs are made.
        raise ValueError("duplicate member name")
    return obj


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e400 overflows to inf: the same smuggled infinity as the Infinity constant.
        raise ValueError("number out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)
# The decoder's scanner, called directly for a document that starts with "{" and has nothing
# after the object (what tokens and key sets are): JSONDecoder.decode adds two Python calls and
# two regular expression matches for whitespace around the value (0.7 us of 3.5 for a token's
# claims). Anything else goes through decode(), which gives the same value or the error.
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def loads_object(raw: bytes | str) -> dict[str, Any]:
    """Decode a strict JSON object from UTF-8 bytes or text.

    Raises:
        ValueError: Not UTF-8, not JSON, not strict JSON, or not an object. The message names
            the problem without quoting the input.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:  # not a value at offset 0 (leading whitespace, or not JSON)
            end = -1
        if end != len(text):  # whitespace around the value, or trailing data: the full path
            value = _DECODER.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; keep only the reason, not the
        # position excerpt, which may quote attacker data.
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(":")[0]
        raise ValueError(f"invalid JSON ({reason})") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, found {type(value).__name__}")
    return value
