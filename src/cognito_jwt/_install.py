"""What lands in a key source's memory (L1): a fetched or stored key set, validated first.

A fetched document and a stored record are validated alike (key processing, the URI the
source is pinned to, a fetch time not in the future); a valid one is swapped in whole under
the source's lock, never over a key set from a newer fetch. A failed fetch is counted, logged
and backed off. A mixin of :class:`RemoteKeySource`: it reads the source's state, declared
below.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ._cache import FailureWindow, Freshness, Snapshot, freshness
from ._discovery import jwks_uri_from_metadata
from ._errors import InvalidJwksError, JwtError
from ._log import logger
from ._options import FetchOptions
from ._plan import KeySourceCore
from .stores._base import StoredKeySet

if TYPE_CHECKING:
    from ._http import Fetched, HttpFetcher
    from ._jwk import KeySet
    from ._keysource import ParseBody

__all__ = ["Installs"]

# A stored key set claiming to be fetched further in the future than this is refused: it
# would stay "fresh" (never refreshed) until the clock caught up.
_MAX_STORE_SKEW = 300.0

# Refresh reasons that need keys fetched after the need arose: a key set another process
# stored earlier may predate the rotation that caused them (see _shared_since).
_NEEDS_NEW_FETCH = frozenset({"unknown_kid", "failure_rate", "manual"})


def _parse_jwks(document: object, *, max_keys: int) -> KeySet:
    # Imported on the first key set: key processing needs cryptography, which a bare
    # `import cognito_jwt` should not pay for.
    from ._jwk import parse_jwks

    return parse_jwks(document, max_keys=max_keys)


class Installs(KeySourceCore):
    """The L1 half of :class:`RemoteKeySource` (a mixin): validate, install, record failures."""

    # What the key source provides (besides KeySourceCore).
    cache_key: str
    issuer: str | None
    fetch_options: FetchOptions
    _configured_uri: str | None
    _jwks_uri: str | None
    _store_seen: float | None  # newest fetch time seen in the store (clamped)
    _max_keys: int
    _parse_body: ParseBody
    _window: FailureWindow
    _window_lock: threading.Lock
    _last_error: JwtError | None
    _http: HttpFetcher | None

    def _from_record(  # noqa: PLR0911
        self, record: StoredKeySet | None, seq: int | None = None
    ) -> Snapshot | None:
        """Validate a stored record like a fetched document; install it if usable.

        With *seq*, the record stands in for fetch *seq* (another process fetched it) and
        replaces an older key set; without, it is installed only while L1 is empty.
        """
        if record is None:
            return None
        seen = min(record.fetched_at, self._clock())
        self._store_seen = seen if self._store_seen is None else max(seen, self._store_seen)
        try:
            keyset = _parse_jwks(record.jwks, max_keys=self._max_keys)
        except InvalidJwksError as exc:
            logger.warning(
                "key store entry for %s is unusable (%s); ignoring it", self.cache_key, exc
            )
            return None
        if self._configured_uri is not None and record.jwks_uri != self._configured_uri:
            return None
        now = self._clock()
        if record.fetched_at > now + _MAX_STORE_SKEW:
            logger.warning(
                "key store entry for %s claims a fetch time in the future; ignoring it",
                self.cache_key,
            )
            return None
        snapshot = Snapshot(
            keyset, record.jwks, record.fetched_at, record.max_age, seq or 0, "store"
        )
        if freshness(snapshot, now, self.policy) is Freshness.UNUSABLE:
            return None
        with self._lock:
            if self._snapshot is not None and (seq is None or self._snapshot.seq > seq):
                return self._snapshot
            self._snapshot = snapshot
            if self._jwks_uri is None:
                self._jwks_uri = record.jwks_uri
        self.stats.l2_loads += 1
        self._emit("l2_load", kids=sorted(keyset.kids), fetched_at=record.fetched_at)
        return snapshot

    def _fetcher(self) -> HttpFetcher:
        if self._http is None:
            from ._http import HttpFetcher  # HTTP is imported on the first fetch

            self._http = HttpFetcher(self.fetch_options)
        return self._http

    def _issuer(self) -> str:
        assert self.issuer is not None  # noqa: S101 - checked in __init__
        return self.issuer

    def _jwks_uri_from(self, fetched: Fetched) -> str:
        assert self.issuer is not None  # noqa: S101 - checked in __init__
        uri = jwks_uri_from_metadata(
            fetched.body,
            issuer=self.issuer,
            allow_insecure_http=self.fetch_options.allow_insecure_http,
            source=fetched.url,
        )
        self._jwks_uri = uri
        return uri

    def _install(self, seq: int, fetched: Fetched, reason: str) -> Snapshot:
        """Validate a fetched JWKS and swap it into L1 unless a newer fetch already did."""
        document = self._parse_body(fetched.body, fetched.url)
        keyset = _parse_jwks(document, max_keys=self._max_keys)
        now = self._clock()
        snapshot = Snapshot(
            keyset, document, now, self.policy.effective_max_age(fetched.max_age), seq, "fetch"
        )
        with self._lock:
            self._gate.record_success()
            previous = self._snapshot
            # An older fetch that finishes late never replaces a newer key set.
            installed = snapshot if previous is None or previous.seq <= seq else previous
            self._snapshot = installed
        with self._window_lock:
            self._window.reset()
        for skipped in keyset.skipped:
            logger.warning(
                "JWKS at %s: skipped key #%d (kid %r): %s",
                fetched.url,
                skipped.index,
                skipped.kid,
                skipped.reason,
            )
        old_kids = previous.keyset.kids if previous is not None else frozenset()
        if keyset.kids != old_kids:
            logger.info(
                "key set %s: kids added %s, removed %s",
                self.cache_key,
                sorted(keyset.kids - old_kids),
                sorted(old_kids - keyset.kids),
            )
        self._emit("fetch", reason=reason, kids=sorted(keyset.kids), skipped=len(keyset.skipped))
        return installed

    def _record(self, snapshot: Snapshot) -> StoredKeySet:
        assert self._jwks_uri is not None  # noqa: S101 - a fetch resolved it
        return StoredKeySet(
            snapshot.document, snapshot.fetched_at, snapshot.max_age, self._jwks_uri
        )

    def _failed(self, exc: JwtError, reason: str) -> None:
        self._last_error = exc
        with self._lock:
            self._gate.record_failure(self._clock(), self.policy)
            failures = self._gate.failures
            if self._configured_uri is None:
                self._jwks_uri = None  # discover again next time: the URI may have moved
        self.stats.fetch_failures += 1
        logger.warning(
            "fetching key set %s failed (%s, attempt %d, reason %s): %s",
            self.cache_key,
            exc.code,
            failures,
            reason,
            exc,
        )
        self._emit("fetch_failed", reason=reason, code=exc.code, consecutive=failures)

    def _shared_since(self, reason: str) -> float | None:
        """How recent a key set another process stored must be to stand in for this fetch.

        An aging key set is replaced by anything newer than this process has seen (in L1 or
        the store); an unknown kid, failing signatures or a manual refresh need a key set
        fetched after the need arose.
        """
        if reason in _NEEDS_NEW_FETCH:
            return self._clock()
        current = self._snapshot.fetched_at if self._snapshot is not None else None
        return max((t for t in (self._store_seen, current) if t is not None), default=None)
