"""Settings for fetching and refreshing key sets. No I/O and no httpx import here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._errors import ConfigurationError, bounded_repr
from ._record import dataclass, field, fields

if TYPE_CHECKING:
    import httpx


__all__ = ["DEFAULT_MAX_KEYS", "FetchOptions", "RefreshPolicy"]

DEFAULT_MAX_KEYS = 100
"""How many keys a JWKS may hold by default (more is refused: a key set is small)."""


def _is_positive_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        # An int too large for a float would overflow the first time a clock is added to it.
        return math.isfinite(float(value)) and value > 0
    except OverflowError:
        return False


def _positive(owner: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(owner, name)
        if not _is_positive_number(value):
            raise ConfigurationError(
                f"{type(owner).__name__}.{name} must be a positive number, "
                f"got {bounded_repr(value)}"
            )


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How discovery documents and JWKS are fetched over HTTP.

    Attributes:
        timeout: Seconds for a whole request, connect to last byte (a slow trickle is cut).
        connect_timeout: Seconds to establish the connection.
        retries: Extra attempts after a connection error (not after an HTTP error answer).
        max_bytes: Largest response body accepted (decoded), so a huge or endless document
            can't exhaust memory.
        follow_redirects: Follow up to 3 redirects, each target held to the URL policy.
            Off by default: a key set URL that moves is worth a configuration change.
        allow_insecure_http: Accept plain ``http`` URLs for hosts that are not loopback.
            For tests only; loopback hosts are always allowed.
        headers: Extra request headers (e.g. an API gateway key). ``User-Agent`` defaults to
            ``cognito-jwt/<version>``. Sent only to the origin of the URL configured: a
            redirect to another origin carries ``User-Agent`` and ``Accept`` alone.
        client: Your own ``httpx.Client`` (proxies, mTLS, custom CA) for the sync face.
        async_client: Your own ``httpx.AsyncClient`` for the async face.
    """

    timeout: float = 5.0
    connect_timeout: float = 3.0
    retries: int = 1
    max_bytes: int = 512 * 1024
    follow_redirects: bool = False
    allow_insecure_http: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    client: httpx.Client | None = field(default=None, compare=False)
    async_client: httpx.AsyncClient | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _positive(self, ("timeout", "connect_timeout", "max_bytes"))
        if (
            isinstance(self.retries, bool)
            or not isinstance(self.retries, int)
            or not (0 <= self.retries <= 5)
        ):
            raise ConfigurationError("FetchOptions.retries must be an int from 0 to 5")
        if not isinstance(self.headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.headers.items()
        ):
            raise ConfigurationError("FetchOptions.headers must map strings to strings")


@dataclass(frozen=True, slots=True)
class RefreshPolicy:
    """When a cached key set is refreshed, and how long it may serve when the issuer is down.

    Ages are measured from the time the key set was fetched, with the verifier's clock.

    Attributes:
        max_age: A key set younger than this is fresh. Default 1 hour; a ``Cache-Control:
            max-age`` from the issuer replaces it, clamped to [min_max_age, max_max_age].
        min_max_age: Lower bound for the issuer's ``max-age`` (``no-cache`` means this).
        max_max_age: Upper bound for the issuer's ``max-age`` (default 6 hours).
        max_stale: Between ``max_age`` and this, keys keep serving while one background
            refresh runs; past it, a verification waits for the refresh (default 12 hours).
        stale_if_error: While fetches fail, cached keys keep serving until they are this old
            (default 24 hours); after that, verification fails with ``KeySetUnavailableError``.
        cooldown: An unknown ``kid`` or a burst of signature failures triggers at most one
            refresh per this many seconds (default 30 s): a flood of random ``kid`` values
            costs one fetch per window.
        negative_kid_ttl: A ``kid`` still unknown after a refresh is rejected without another
            fetch for this long (default 60 s).
        negative_kid_max: How many unknown ``kid`` values are remembered.
        backoff_initial: After a failed fetch, wait this long before the next attempt;
            doubled per consecutive failure ...
        backoff_max: ... up to this (default 5 minutes).
        failure_rate: Refresh when at least this share of signature checks with known keys
            fail (default 10 %) ...
        failure_window: ... over this many seconds ...
        failure_min_samples: ... and at least this many checks were made.
    """

    max_age: float = 3600
    min_max_age: float = 60
    max_max_age: float = 6 * 3600
    max_stale: float = 12 * 3600
    stale_if_error: float = 24 * 3600
    cooldown: float = 30
    negative_kid_ttl: float = 60
    negative_kid_max: int = 1024
    backoff_initial: float = 5
    backoff_max: float = 300
    failure_rate: float = 0.10
    failure_window: float = 60
    failure_min_samples: int = 20

    def __post_init__(self) -> None:
        _positive(self, tuple(f.name for f in fields(self)))
        for name in ("negative_kid_max", "failure_min_samples"):
            if not isinstance(getattr(self, name), int):
                raise ConfigurationError(f"RefreshPolicy.{name} must be an int")
        if not self.min_max_age <= self.max_age <= self.max_max_age:
            raise ConfigurationError("RefreshPolicy needs min_max_age <= max_age <= max_max_age")
        if not self.max_age <= self.max_stale <= self.stale_if_error:
            raise ConfigurationError("RefreshPolicy needs max_age <= max_stale <= stale_if_error")
        if self.failure_rate > 1:
            raise ConfigurationError("RefreshPolicy.failure_rate is a share from 0 to 1")

    def effective_max_age(self, issuer_max_age: float | None) -> float:
        """The freshness lifetime of a key set, from the issuer's ``max-age`` if it sent one."""
        if issuer_max_age is None:
            return self.max_age
        upper = min(self.max_max_age, self.max_stale)  # fresh never outlives max_stale
        return min(max(issuer_max_age, self.min_max_age), upper)

    def backoff(self, consecutive_failures: int) -> float:
        """Seconds to wait before the next fetch after *consecutive_failures* failures."""
        if consecutive_failures <= 0:
            return 0.0
        doubling = 2 ** min(consecutive_failures - 1, 30)
        return float(min(self.backoff_initial * doubling, self.backoff_max))
