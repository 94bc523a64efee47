"""Revocation: the ``revocation=`` protocol of every verifier and the in-memory :class:`DenyList`.

A JWT check is stateless: a token that verifies stays valid until its ``exp``, whatever
happened since (sign-out, a revoked refresh token, a disabled user). A ``revocation=`` check
is the state: it runs after the signature, the claim rules and ``custom_check``, and on every
hit of the verified-token cache, and may refuse the token with :class:`TokenRevokedError`.

Judging what checks answered is written once (:class:`_Verdict`); the sync and async runners
differ only in how they call a check.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast, runtime_checkable

from ._errors import (
    ConfigurationError,
    JwtError,
    RevocationUnavailableError,
    TokenRevokedError,
    bounded_repr,
)
from ._plan import run_plan, run_plan_async

if TYPE_CHECKING:
    from ._claims import Claims

__all__ = [
    "DEFAULT_LIFETIME",
    "DEFAULT_MAX_ENTRIES",
    "EXPIRY_MARGIN",
    "DenyList",
    "RevocationCheck",
    "check_revocation",
    "check_revocation_async",
    "revocation_checks",
    "subject_cutoff_covers",
]

DEFAULT_LIFETIME = 86_400.0
"""Seconds an entry lives when ``expires_at`` is not given: a day, the longest lifetime
Cognito allows for access and ID tokens (its default is an hour)."""

EXPIRY_MARGIN = 300.0
"""Seconds an entry is kept past ``expires_at``: covers a verifier ``leeway`` of up to 5 min."""

DEFAULT_MAX_ENTRIES = 100_000
"""The default bound of a :class:`DenyList` (all three kinds of entry together)."""

_MAX_VALUE = 1024  # longest jti/origin_jti/sub accepted by revoke() (Cognito's are 36 chars)


@runtime_checkable
class RevocationCheck(Protocol):
    """What ``revocation=`` accepts: tells whether a verified token was revoked.

    Both methods get the verified :class:`Claims` and the raw token (online checks such as
    introspection need it; deny-lists ignore it). Return ``True`` for revoked, ``False`` for
    not revoked; anything else, or an exception, means the check could not decide and the
    token is refused with :class:`RevocationUnavailableError` (fail closed). A check that can
    tell *why* may raise :class:`TokenRevokedError` or :class:`RevocationUnavailableError`
    itself. ``verify`` calls :meth:`is_revoked`, ``verify_async`` awaits
    :meth:`is_revoked_async`: it must not block the event loop.
    """

    def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
        """Whether the token with these claims was revoked (blocking)."""
        ...

    async def is_revoked_async(self, claims: Claims, token: str | None = None) -> bool:
        """Whether the token with these claims was revoked, without blocking the event loop."""
        ...


def revocation_checks(value: object) -> tuple[RevocationCheck, ...]:
    """The checks of a ``revocation=`` argument: ``None``, one check, or a sequence of them.

    Raises:
        ConfigurationError: Something that is not a :class:`RevocationCheck`.
    """
    if value is None:
        return ()
    items: Sequence[object] = (
        tuple(value)
        if isinstance(value, Sequence) and not isinstance(value, str | bytes)
        else (value,)
    )
    for item in items:
        if not (
            callable(getattr(item, "is_revoked", None))
            and callable(getattr(item, "is_revoked_async", None))
        ):
            raise ConfigurationError(
                "revocation must be a RevocationCheck (with is_revoked and is_revoked_async), "
                f"or a sequence of them; got {type(item).__name__}"
            )
    return cast("tuple[RevocationCheck, ...]", tuple(items))


class _Verdict:
    """What the checks answered, judged the same way by the sync and async runners.

    The checks run in order; the first that says "revoked" ends the run. A check that could
    not decide does not stop the others (a later one may still know the token was revoked:
    401 says more than 503); if none said "revoked", the first such failure is raised.
    """

    __slots__ = ("unavailable",)

    def __init__(self) -> None:
        self.unavailable: JwtError | None = None

    def failed(self, check: object, exc: Exception) -> None:
        if isinstance(exc, TokenRevokedError):
            raise exc
        if self.unavailable is None:
            if isinstance(exc, RevocationUnavailableError):
                self.unavailable = exc
            else:
                error = RevocationUnavailableError(
                    f"revocation check {type(check).__name__} raised {type(exc).__name__}"
                )
                error.__cause__ = exc
                self.unavailable = error

    def answered(self, check: object, answer: object) -> bool:
        """Record *answer*; whether the token is revoked (stop asking)."""
        if answer is True:
            return True
        if answer is not False:
            if isinstance(answer, Awaitable):
                close = getattr(answer, "close", None)
                if callable(close):
                    close()  # never awaited: closing it keeps a RuntimeWarning away
                what = "an awaitable (an async is_revoked: call verify_async)"
            else:
                what = bounded_repr(answer)
            if self.unavailable is None:
                self.unavailable = RevocationUnavailableError(
                    f"revocation check {type(check).__name__} returned {what}, not a bool"
                )
        return False

    def finish(self, revoked_by: object | None) -> None:
        if revoked_by is not None:
            raise TokenRevokedError(f"the token was revoked ({type(revoked_by).__name__})")
        if self.unavailable is not None:
            raise self.unavailable


def _blame(exc: JwtError, claims: Claims) -> None:
    exc.unverified_header = claims.header
    exc.unverified_claims = claims._data  # noqa: SLF001 - same package


def check_revocation(
    checks: tuple[RevocationCheck, ...], claims: Claims, token: str | None
) -> None:
    """Run *checks* (``is_revoked``) on a verified token.

    Raises:
        TokenRevokedError: A check says the token was revoked.
        RevocationUnavailableError: No check said so, and one could not decide.
    """
    run_plan(_revocation_plan(checks, claims), lambda check: check.is_revoked(claims, token))


async def check_revocation_async(
    checks: tuple[RevocationCheck, ...], claims: Claims, token: str | None
) -> None:
    """Like :func:`check_revocation`, awaiting ``is_revoked_async`` (the same steps)."""
    await run_plan_async(
        _revocation_plan(checks, claims), lambda check: check.is_revoked_async(claims, token)
    )


def _revocation_plan(
    checks: tuple[RevocationCheck, ...], claims: Claims
) -> Generator[RevocationCheck, object, None]:
    """The steps of a revocation check, written once: each yields a check to ask.

    The driver asks it (``is_revoked`` or ``is_revoked_async``) and sends its answer back, or
    throws in what it raised (fail closed: a check that raises could not decide).
    """
    verdict, revoked_by = _Verdict(), None
    try:
        for check in checks:
            try:
                answer = yield check
            except Exception as exc:  # noqa: BLE001 - a user's check: fail closed
                verdict.failed(check, exc)
                continue
            if verdict.answered(check, answer):
                revoked_by = check
                break
        verdict.finish(revoked_by)
    except JwtError as exc:
        _blame(exc, claims)
        raise


# Shared by DenyList and RedisDenyList ------------------------------------------------------------
def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def subject_cutoff_covers(claims: Mapping[str, Any], cutoff: float) -> bool:
    """Whether a "every token of this subject issued before *cutoff*" entry covers *claims*.

    The token's issue time is the earlier of ``iat`` and ``auth_time`` (Cognito keeps
    ``auth_time``, the sign-in, across refreshes: a session that signed in before the
    cut-off is covered even if its tokens were refreshed after it). ``iat`` has whole-second
    precision, so a token issued in the same second as the cut-off is covered too. A token
    with neither claim is covered: nothing shows it is newer.
    """
    times = [
        t for t in (_number(claims.get("iat")), _number(claims.get("auth_time"))) if t is not None
    ]
    return not times or min(times) <= cutoff


def check_value(value: object, what: str) -> str:
    """A ``jti``/``origin_jti``/``sub`` given to ``revoke``: a non-empty, bounded string."""
    if not isinstance(value, str) or not value or len(value) > _MAX_VALUE:
        raise ConfigurationError(
            f"{what} must be a non-empty string of at most {_MAX_VALUE} characters, "
            f"got {bounded_repr(value)}"
        )
    return value


def check_time(value: object, what: str) -> float:
    number = _number(value)
    if number is None:
        raise ConfigurationError(f"{what} must be epoch seconds, got {bounded_repr(value)}")
    return number


def entry_expiry(expires_at: object, start: float, lifetime: float) -> float:
    """When an entry can go: *expires_at* (or *start* + *lifetime*) plus the margin."""
    if expires_at is None:
        return start + lifetime + EXPIRY_MARGIN
    return check_time(expires_at, "expires_at") + EXPIRY_MARGIN


def check_lifetime(value: object) -> float:
    number = _number(value)
    if number is None or number <= 0:
        raise ConfigurationError(
            f"default_lifetime must be a positive number of seconds, got {bounded_repr(value)}"
        )
    return number


class DenyList:
    """Revoked tokens in memory, for one process: by ``jti``, ``origin_jti`` or subject.

    Pass it as ``revocation=`` to any verifier. Three kinds of entry:

    * :meth:`revoke`: the token with this ``jti``;
    * :meth:`revoke_origin`: every token carrying this ``origin_jti``. Cognito gives the
      access and ID tokens of one sign-in session (and of its refreshes) the ``origin_jti``
      of the session's refresh token; its ``RevokeToken`` invalidates them all;
    * :meth:`revoke_subject`: every token of ``sub`` issued at or before a cut-off (sign-out
      everywhere; see :func:`subject_cutoff_covers` for what "issued" means).

    Each entry lives until the tokens it covers expire: *expires_at* (their ``exp``), or
    *default_lifetime* after now (after the cut-off for a subject), plus 5 minutes of margin
    for a verifier's ``leeway``. Expired entries stop matching at once and are purged when
    room is needed.

    Memory is bounded by *max_entries*. Forgetting an unexpired entry would re-admit a
    revoked token, so a full list is never trimmed: :meth:`revoke` purges expired entries
    and, if it is still full, raises :class:`RevocationUnavailableError` (the revocation was
    not recorded: alert on it). An entry takes about 150 bytes with a 36-character id (a
    subject entry about 250): the default 100 000 entries stay under 25 MB.

    Thread-safe: lookups take no lock, changes take one. The async methods do the same work
    (in memory, it never blocks).

    Args:
        max_entries: The most entries held (all kinds together).
        default_lifetime: Seconds the covered tokens live when ``expires_at`` is not given
            (default a day, Cognito's longest access/ID token lifetime).
        clock: Returns the current time in epoch seconds (default ``time.time``).
    """

    __slots__ = ("_clock", "_jti", "_lifetime", "_lock", "_max", "_origin", "_subjects")

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        default_lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError(
                f"max_entries must be a positive int, got {bounded_repr(max_entries)}"
            )
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning epoch seconds")
        self._max = max_entries
        self._lifetime = check_lifetime(default_lifetime)
        self._clock: Callable[[], float] = clock or time.time
        self._lock = threading.Lock()
        self._jti: dict[str, float] = {}  # jti -> when the entry expires
        self._origin: dict[str, float] = {}  # origin_jti -> when the entry expires
        self._subjects: dict[str, tuple[float, float]] = {}  # sub -> (cut-off, expires)

    def __len__(self) -> int:
        """Entries held, expired ones not yet purged included."""
        return len(self._jti) + len(self._origin) + len(self._subjects)

    def __repr__(self) -> str:
        return f"DenyList({len(self)} entries, max_entries={self._max})"

    # Lookups -------------------------------------------------------------------------------------
    def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
        """Whether an unexpired entry covers the token (``jti``, ``origin_jti`` or ``sub``)."""
        del token
        now = self._clock()
        jti = claims.get("jti")
        if isinstance(jti, str) and self._jti.get(jti, -math.inf) > now:
            return True
        origin = claims.get("origin_jti")
        if isinstance(origin, str) and self._origin.get(origin, -math.inf) > now:
            return True
        sub = claims.get("sub")
        entry = self._subjects.get(sub) if isinstance(sub, str) else None
        return entry is not None and entry[1] > now and subject_cutoff_covers(claims, entry[0])

    async def is_revoked_async(self, claims: Claims, token: str | None = None) -> bool:
        """Like :meth:`is_revoked` (in memory: it never blocks)."""
        return self.is_revoked(claims, token)

    # Changes -------------------------------------------------------------------------------------
    def revoke(self, jti: str, *, expires_at: float | None = None) -> None:
        """Refuse the token whose ``jti`` is *jti* until *expires_at* (its ``exp``).

        Raises:
            ConfigurationError: *jti* is not a non-empty string, or *expires_at* not a time.
            RevocationUnavailableError: The list is full of unexpired entries.
        """
        jti = check_value(jti, "jti")
        self._add(self._jti, jti, entry_expiry(expires_at, self._clock(), self._lifetime))

    def revoke_origin(self, origin_jti: str, *, expires_at: float | None = None) -> None:
        """Refuse every token carrying *origin_jti* (a Cognito session, after ``RevokeToken``).

        *expires_at*: when the last of them expires (default now + ``default_lifetime``).

        Raises:
            ConfigurationError: *origin_jti* is not a non-empty string, or *expires_at* not a
                time.
            RevocationUnavailableError: The list is full of unexpired entries.
        """
        origin_jti = check_value(origin_jti, "origin_jti")
        expiry = entry_expiry(expires_at, self._clock(), self._lifetime)
        self._add(self._origin, origin_jti, expiry)

    def revoke_subject(
        self, sub: str, *, before: float | None = None, expires_at: float | None = None
    ) -> None:
        """Refuse every token of *sub* issued at or before *before* (default now).

        A later call for the same *sub* keeps the later cut-off. *expires_at*: when the
        last covered token expires (default *before* + ``default_lifetime``).

        Raises:
            ConfigurationError: *sub* is not a non-empty string, or a time is not a number.
            RevocationUnavailableError: The list is full of unexpired entries.
        """
        sub = check_value(sub, "sub")
        cutoff = self._clock() if before is None else check_time(before, "before")
        expiry = entry_expiry(expires_at, cutoff, self._lifetime)
        with self._lock:
            old = self._subjects.get(sub)
            if old is not None:
                cutoff, expiry = max(cutoff, old[0]), max(expiry, old[1])
            elif expiry > self._clock():
                self._make_room()
            if expiry > self._clock():
                self._subjects[sub] = (cutoff, expiry)

    async def revoke_async(self, jti: str, *, expires_at: float | None = None) -> None:
        """Like :meth:`revoke`."""
        self.revoke(jti, expires_at=expires_at)

    async def revoke_origin_async(
        self, origin_jti: str, *, expires_at: float | None = None
    ) -> None:
        """Like :meth:`revoke_origin`."""
        self.revoke_origin(origin_jti, expires_at=expires_at)

    async def revoke_subject_async(
        self, sub: str, *, before: float | None = None, expires_at: float | None = None
    ) -> None:
        """Like :meth:`revoke_subject`."""
        self.revoke_subject(sub, before=before, expires_at=expires_at)

    def purge(self) -> int:
        """Drop expired entries now; how many were dropped."""
        with self._lock:
            return self._purge()

    def _add(self, table: dict[str, float], value: str, expiry: float) -> None:
        with self._lock:
            if expiry <= self._clock():
                return  # the covered tokens have expired: nothing to remember
            old = table.get(value)
            if old is None:
                self._make_room()
            table[value] = max(expiry, old or expiry)

    def _make_room(self) -> None:
        if len(self) < self._max:
            return
        self._purge()
        if len(self) >= self._max:
            raise RevocationUnavailableError(
                f"the deny-list is full ({self._max} unexpired entries): the revocation was "
                "not recorded; raise max_entries or use a RedisDenyList"
            )

    def _purge(self) -> int:
        now, before = self._clock(), len(self)
        for table in (self._jti, self._origin):
            for value in [v for v, expiry in table.items() if expiry <= now]:
                del table[value]
        for sub in [s for s, (_, expiry) in self._subjects.items() if expiry <= now]:
            del self._subjects[sub]
        return before - len(self)
