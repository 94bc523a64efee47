"""The opt-in verified-token cache: a repeat of a token already verified skips the signature.

Rules (they are what makes the cache safe to turn on):

* An entry is keyed by the SHA-256 digest of the whole token, signature included: a token that
  differs in any byte is a different entry, and the cache never holds the token itself.
* Only a token that passed every check is stored, and only one whose header is flat (no nested
  values) and whose length is at most :data:`MAX_CACHED_TOKEN_LENGTH`; the number of entries is
  bounded (oldest first out), so memory is bounded too.
* Every hit re-checks ``exp`` and ``nbf`` against the verifier's clock and leeway, asks the key
  source for the token's key (so scheduled refreshes still happen) and drops the entry when
  that key has left the key set or changed; the verifier's ``custom_check`` runs again on every
  hit. What a hit skips is only work whose result can't change: parsing, the signature, and the
  claim rules that depend on nothing but the payload and the verifier's fixed settings.
* Each verifier owns its cache; nothing is shared between verifiers with different settings.
* A hit hands out fresh containers for nested claims, so a caller that mutates what it got
  can't change what the next caller sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from hashlib import sha256
from typing import TYPE_CHECKING, Any, NamedTuple

from ._b64 import decode_checked_alphabet
from ._errors import ConfigurationError
from ._json import loads_object
from ._validate import numeric_date

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._jwk import PreparedKey
    from ._token import ParsedToken

__all__ = [
    "MAX_CACHED_TOKEN_LENGTH",
    "MAX_TOKEN_CACHE_SIZE",
    "CachedToken",
    "TokenCache",
    "check_cache_size",
    "token_digest",
]

MAX_CACHED_TOKEN_LENGTH = 16 * 1024
"""Longer tokens are verified every time: they would make the cache's memory bound loose."""

MAX_TOKEN_CACHE_SIZE = 1_000_000

_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({list, dict})
_new_entry = tuple.__new__


class CachedToken(NamedTuple):
    """One verified token: what a hit needs to re-check and to answer.

    A miss stores the claims as they came in the token (*encoded*, one bytes object); the first
    hit decodes them into *payload* (and *nested*). A miss then costs no copy of the claims,
    and evicting an entry that was never hit frees a few objects, not the dozens of strings
    of decoded claims (cold in memory by then: that was most of what an eviction cost).
    """

    digest: bytes
    payload: dict[str, Any] | None
    nested: tuple[str, ...]
    header: Mapping[str, Any]
    kid: str | None
    alg: str
    key: PreparedKey
    exp: float
    nbf: float | None
    iss: Any
    encoded: bytes


def _thaw(value: Any) -> Any:
    if type(value) is list:
        return [_thaw(item) for item in value]
    if type(value) is dict:
        return {name: _thaw(item) for name, item in value.items()}
    return value


def check_cache_size(size: object) -> int:
    """Validate ``token_cache_size``.

    Raises:
        ConfigurationError: Not an int between 0 and :data:`MAX_TOKEN_CACHE_SIZE`.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise ConfigurationError(
            f"token_cache_size must be an int (0 turns the cache off), got {type(size).__name__}"
        )
    if not 0 <= size <= MAX_TOKEN_CACHE_SIZE:
        raise ConfigurationError(
            f"token_cache_size must be between 0 and {MAX_TOKEN_CACHE_SIZE}, got {size}"
        )
    return size


def token_digest(token: object) -> bytes | None:
    """The cache key of *token*, or ``None`` when it can't be cached (type, length)."""
    if type(token) is str:
        if len(token) > MAX_CACHED_TOKEN_LENGTH or not token.isascii():
            return None
        return sha256(token.encode("ascii")).digest()
    if type(token) is bytes and len(token) <= MAX_CACHED_TOKEN_LENGTH:
        return sha256(token).digest()
    return None


class TokenCache:
    """A bounded map from token digest to :class:`CachedToken`, safe to share between threads.

    Reads take no lock (one ``dict.get`` on :attr:`entries`); writes and evictions take one.
    The hit and miss counters are kept by the verifier.
    """

    __slots__ = ("_flat_header", "_lock", "entries", "hits", "max_size", "misses")

    def lookup(self, token: object) -> tuple[bytes | None, CachedToken | None]:
        """The digest of *token* (``None``: not cacheable) and its entry, if any."""
        if type(token) is str:  # token_digest, written out: this runs for every token
            if len(token) > MAX_CACHED_TOKEN_LENGTH or not token.isascii():
                return None, None
            digest = sha256(token.encode("ascii")).digest()
            return digest, self.entries.get(digest)
        other = token_digest(token)
        return other, None if other is None else self.entries.get(other)

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        # Insertion-ordered; OrderedDict because evicting the oldest of a plain dict over and
        # over makes next(iter(d)) skip ever more deleted slots (measured: +5 us per miss).
        self.entries: OrderedDict[bytes, CachedToken] = OrderedDict()
        self._lock = threading.Lock()
        # The last header found flat (no nested values): the same object is not looked at again.
        self._flat_header: Mapping[str, Any] | None = None
        self.hits = 0
        self.misses = 0

    def claims_of(self, entry: CachedToken) -> dict[str, Any] | None:
        """A payload dict for one caller: shares only immutable values with the entry.

        At an entry's first hit the stored claims are decoded (and kept decoded). ``None``
        (the entry dropped) if they no longer decode, which a verified token's claims do.
        """
        stored = entry.payload
        if stored is None:
            try:
                stored = loads_object(decode_checked_alphabet(entry.encoded))
            except ValueError:  # pragma: no cover - they decoded when the token verified
                self.discard(entry.digest)
                return None
            containers = _CONTAINERS
            nested = tuple(name for name, value in stored.items() if type(value) in containers)
            entry = entry._replace(payload=stored, nested=nested, encoded=b"")
            self.replace(entry.digest, entry)
        payload = stored.copy()
        for name in entry.nested:
            payload[name] = _thaw(payload[name])
        return payload

    def remember(
        self, digest: bytes, parsed: ParsedToken, key: PreparedKey, payload: dict[str, Any]
    ) -> None:
        """Store a token that has just passed every check (if it may be cached)."""
        header = parsed.header
        if header is not self._flat_header:  # tokens of one issuer share a few header objects
            if not _SCALARS.issuperset(map(type, header.values())):
                return
            self._flat_header = header  # a race only costs another look
        exp = numeric_date(payload, "exp")
        if exp is None:
            return  # not reached for verified tokens (exp is required); kept for safety
        nbf = numeric_date(payload, "nbf") if "nbf" in payload else None
        # tuple.__new__: a NamedTuple's keyword constructor is a Python function (0.5 us).
        entry = _new_entry(
            CachedToken,
            (
                digest,
                None,  # decoded at the first hit, from the encoded claims
                (),
                header,
                parsed.kid,
                parsed.alg,
                key,
                exp,
                nbf,
                payload.get("iss"),
                parsed.payload_b64,
            ),
        )
        with self._lock:
            entries = self.entries
            if digest not in entries and len(entries) >= self.max_size:
                entries.popitem(last=False)  # the oldest entry
            entries[digest] = entry

    def replace(self, digest: bytes, entry: CachedToken) -> None:
        """Update an entry in place (its key was re-found after a key set refresh)."""
        with self._lock:
            if digest in self.entries:
                self.entries[digest] = entry

    def discard(self, digest: bytes) -> None:
        """Drop one entry."""
        with self._lock:
            self.entries.pop(digest, None)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self.entries.clear()
