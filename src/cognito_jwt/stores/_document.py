"""The stored form of a key set, shared by the file and Redis stores.

One JSON object per key-set identifier::

    {"schema": 1, "key": "<key>",
     "current": {"jwks": {...}, "fetched_at": 1.7e9, "max_age": 3600.0, "jwks_uri": "https://..."},
     "history": [<earlier, different versions, newest first>]}

Whatever store held it, a document is data from outside this process: it is parsed with the
strict JSON parser, size-capped and schema-checked here, and its keys are validated again by
the key source exactly like a fetched JWKS.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._json import loads_object
from ._base import StoredKeySet

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "SCHEMA",
    "build_document",
    "current_of",
    "history_of",
    "key_digest",
    "parse_document",
    "record_of",
]

SCHEMA = 1
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def key_digest(key: str) -> str:
    """A short, stable name for *key* (a URI) that is safe in file names and Redis keys.

    The hex SHA-256 of *key*, cut to 40 characters. Computed with ``cryptography``, which the
    keys this name stores need anyway, rather than :mod:`hashlib` (about 1.3 ms more of a cold
    start: ``_hashlib`` and ``_blake2``, and a constructor per guaranteed algorithm).
    """
    from cryptography.hazmat.primitives.hashes import SHA256, Hash

    digest = Hash(SHA256())
    digest.update(key.encode())
    return digest.finalize().hex()[:40]


def parse_document(raw: bytes, key: str) -> dict[str, Any]:
    """The stored document for *key* in *raw*.

    Raises:
        ValueError: Why it can't be used, as a phrase that follows the entry's name in a log
            line ("is corrupt (...)", "has another schema or key", "is larger than ...").
    """
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        data = loads_object(raw)
    except ValueError as exc:
        raise ValueError(f"is corrupt ({exc})") from None
    if data.get("schema") != SCHEMA or data.get("key") != key:
        raise ValueError("has another schema or key")
    return data


def record_of(entry: object) -> StoredKeySet | None:
    """The key set in one ``current`` or ``history`` entry, or ``None`` if malformed."""
    if not isinstance(entry, dict):
        return None
    jwks, jwks_uri = entry.get("jwks"), entry.get("jwks_uri")
    times = [entry.get("fetched_at"), entry.get("max_age")]
    numbers = [float(t) for t in times if isinstance(t, int | float) and not isinstance(t, bool)]
    if (
        not isinstance(jwks, dict)
        or not isinstance(jwks_uri, str)
        or len(numbers) != 2
        or not all(math.isfinite(t) for t in numbers)
    ):
        return None
    return StoredKeySet(jwks, numbers[0], numbers[1], jwks_uri)


def current_of(document: dict[str, Any] | None) -> StoredKeySet | None:
    """The current key set of a parsed document, or ``None``."""
    return None if document is None else record_of(document.get("current"))


def history_of(document: dict[str, Any] | None) -> list[StoredKeySet]:
    """The earlier key sets of a parsed document, newest first (malformed entries dropped)."""
    entries = document.get("history") if document else None
    if not isinstance(entries, list):
        return []
    return [r for r in map(record_of, entries) if r is not None]


def _entry(record: StoredKeySet) -> dict[str, Any]:
    return {
        "jwks": dict(record.jwks),
        "fetched_at": record.fetched_at,
        "max_age": record.max_age,
        "jwks_uri": record.jwks_uri,
    }


def build_document(
    key: str, record: StoredKeySet, previous: dict[str, Any] | None, history_size: int
) -> bytes:
    """The document that makes *record* current; *previous*'s current joins the history.

    Versions equal to the new key set are not kept twice; the history is capped at
    *history_size* entries.

    Raises:
        ValueError, TypeError: *record* does not serialise as strict JSON.
    """
    previous = previous or {}
    new_jwks = dict(record.jwks)
    earlier = previous.get("history")
    history = [
        e
        for e in (earlier if isinstance(earlier, list) else [])
        if record_of(e) is not None and e.get("jwks") != new_jwks
    ]
    old = previous.get("current")
    if isinstance(old, dict) and record_of(old) is not None and old.get("jwks") != new_jwks:
        history.insert(0, old)
    document = {
        "schema": SCHEMA,
        "key": key,
        "current": _entry(record),
        "history": history[:history_size],
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
