"""Unknown ``kid`` values: the penalty box of a key source, and the refresh one may cause.

A token whose ``kid`` the keys in memory lack may cause a refresh: at most one per cooldown
(charged on the source's :class:`FetchGate`), none for a kid a fetch that started after it
was seen answered without (the negative cache). Callers arriving while that refresh runs join
it or wait for it rather than being refused. Every refresh the penalty box allows (an unknown
kid's, its follow-up, the failure-rate trigger's) publishes a pending event when it charges the
box (:meth:`UnknownKids._charged`) and sets it when it is over: callers on the other face
(single flight is per face) wait for it, then judge their kid by what it installed. A mixin of
:class:`RemoteKeySource`: it reads the source's key set in memory, lock, gate and counters,
declared below.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ._cache import Admission, Snapshot
from ._errors import KeyAlgorithmMismatchError, KeyNotFoundError, KeySetUnavailableError
from ._log import logger
from ._plan import IN_FLIGHT, JOIN, KeySourceCore, Plan, Step

if TYPE_CHECKING:
    from ._flight import Flights
    from ._jwk import PreparedKey

__all__ = ["UnknownKids"]


class UnknownKids(KeySourceCore):
    """The unknown-kid half of :class:`RemoteKeySource` (a mixin)."""

    # What the key source provides (besides KeySourceCore).
    _last_seq: int
    _flights: Flights[Snapshot]
    # Its own state, set by the key source's __init__.
    _kid_pending: threading.Event | None  # the latest refresh the penalty box allowed: see _charged
    _followed_up_at: float  # see _may_follow_up

    def _unknown_plan(
        self, miss: KeyNotFoundError, seen: Snapshot, kid: str | None, alg: str, now: float
    ) -> Plan[PreparedKey]:
        """A kid not in *seen*: refresh as the penalty box allows, then look again."""
        since = self._last_seq  # fetches numbered above this started after the kid was seen
        key, action, pending = self._unknown_kid(
            miss, seen, kid, alg, now, in_flight=(yield IN_FLIGHT)
        )
        if key is not None:
            return key
        for follow_up in (False, True):
            error: KeySetUnavailableError | None = None
            if action == "wait":
                if not (yield Step("wait", pending)):
                    self._wait_timed_out()
            elif action != "settle":  # "settle": a refresh landed since *seen*, judge by it
                try:
                    # A joiner only joins: the fetch it saw may have ended since (then it
                    # judges by what that fetch installed), and a late joiner that started a
                    # fetch of its own would escape the penalty box.
                    yield JOIN if action == "join" else Step("refresh", "unknown_kid")
                except KeySetUnavailableError as exc:
                    error = exc
                finally:
                    if pending is not None:
                        pending.set()
            settled = self._settle_kid(
                miss, seen, since=since, kid=kid, alg=alg, error=error, may_follow=not follow_up
            )
            if not isinstance(settled, threading.Event):
                return settled
            action, pending = "follow_up", settled  # the follow-up's pending event
        raise AssertionError("unreachable")  # pragma: no cover - the second round settles

    def _unknown_kid(
        self,
        miss: KeyNotFoundError,
        snapshot: Snapshot,
        kid: str | None,
        alg: str,
        now: float,
        *,
        in_flight: bool,
    ) -> tuple[PreparedKey | None, str, threading.Event | None]:
        """After *miss* in *snapshot*: a newer key, else what the unknown kid may do.

        Raises:
            KeyNotFoundError: *miss*, when the kid may not refresh now.
        """
        newer = self._newer_key(snapshot, kid, alg)
        if newer is not None:
            return newer, "found", None
        action, pending = self._may_refresh_for_kid(snapshot, kid, now, in_flight)
        if action == "refuse":
            raise miss
        return None, action, pending

    def _settle_kid(
        self,
        miss: KeyNotFoundError,
        seen: Snapshot,
        *,
        since: int,
        kid: str | None,
        alg: str,
        error: KeySetUnavailableError | None,
        may_follow: bool,
    ) -> PreparedKey | threading.Event:
        """After the refresh an unknown kid caused, joined or waited for: the key, or an event.

        An event grants one follow-up fetch (its pending event, to set when it is over). Whatever
        that refresh did, the key set in memory *now* is looked at first: another thread or task may
        have installed the right keys while this refresh failed. The kid is negatively cached only
        when a fetch that started after it was seen (numbered above *since*) answered without it. A
        fetch that started earlier (joined while in flight, before the issuer rotated) proves
        nothing: the kid gets a follow-up fetch, at most one per cooldown beyond the penalty box, so
        a flood of random kids costs a bounded number of fetches.

        Raises:
            KeyNotFoundError: *miss*, or the miss in the newer key set.
            KeySetUnavailableError: *error*, when no newer key set could be looked at.
        """
        current = self._snapshot
        if current is not None and current is not seen:
            try:
                return current.keyset.find(kid, alg)
            except KeyAlgorithmMismatchError:
                raise
            except KeyNotFoundError as exc:
                if current.seq > since:
                    if kid is not None:
                        with self._lock:
                            self._gate.forget_kid(kid)
                    self.stats.unknown_kid_rejections += 1
                    self._emit("unknown_kid", refreshed=True)
                    raise exc from None
        if error is not None:
            raise error
        if may_follow:
            follow_up = self._may_follow_up(self._clock())
            if follow_up is not None:
                return follow_up
        # No fetch that started after the kid was seen has answered: not negatively cached.
        self.stats.unknown_kid_rejections += 1
        self._emit("unknown_kid", refreshed=False)
        raise miss

    def _may_follow_up(self, now: float) -> threading.Event | None:
        """Whether a kid that only saw an older fetch may have a new one now: its pending event."""
        with self._lock:
            if self._gate.trigger(now, self.policy.cooldown):
                return self._charged()
            if self._gate.may_fetch(now) and now - self._followed_up_at >= self.policy.cooldown:
                self._followed_up_at = now
                return self._charged()
            return None

    def _charge(self, now: float) -> threading.Event | None:
        """Charge the cooldown for a refresh not caused by a kid (the failure rate).

        Returns its pending event (to set when the refresh is over, or won't happen), or
        ``None`` when the penalty box says no.
        """
        with self._lock:
            return self._charged() if self._gate.trigger(now, self.policy.cooldown) else None

    def _charged(self) -> threading.Event:
        """Publish the pending event of a refresh the penalty box just allowed (under the lock).

        The one mechanism for every such refresh (an unknown kid's, its follow-up, the failure
        rate's): a caller with an unknown kid that the cooldown turns away meanwhile, on the
        other face (single flight is per face, so it can't join), waits for this event, then
        judges its kid by what the refresh installed, instead of being refused a key the issuer
        just published. Whoever runs the refresh sets the event when it is over (after
        installing its key set) or when it won't start.
        """
        self._kid_pending = threading.Event()
        return self._kid_pending

    def _wait_timed_out(self) -> None:
        """A wait for the other face's refresh reached the wait limit: say so (then settle)."""
        limit = self._flights.wait_limit
        logger.warning(
            "timed out after %g s waiting for a key refresh; judging the kid by the keys in memory",
            limit,
        )
        self._emit("refresh_wait_timeout", waited=limit)

    def _newer_key(self, seen: Snapshot, kid: str | None, alg: str) -> PreparedKey | None:
        """Look in a key set installed since *seen* (another caller's refresh just landed)."""
        current = self._snapshot
        if current is None or current is seen:
            return None
        try:
            return current.keyset.find(kid, alg)
        except KeyNotFoundError:
            return None

    def _may_refresh_for_kid(
        self,
        seen: Snapshot,
        kid: str | None,
        now: float,
        in_flight: bool,  # noqa: FBT001
    ) -> tuple[str, threading.Event | None]:
        """Decide what an unknown kid (missing from *seen*) may do: the penalty box.

        Returns ``("join", None)`` when a fetch is already under way on this face (joined whatever
        the cooldown says: the callers that arrive with a newly rotated kid all wait for the one
        refresh it caused; joined only, never restarted: if it has ended by the time the caller gets
        to it, the caller judges by what it installed); ``("lead", event)`` when this caller starts
        the refresh and must set *event* when it is over; ``("wait", event)`` when the cooldown is
        charged by a refresh that is still running (whatever caused it; started on the other face,
        or not yet registered as a fetch): wait for *event*, then look again; ``("settle", None)``
        when the cooldown is charged by a refresh that is over and installed a key set since *seen*:
        judge the kid by that key set, as a caller that waited for it would; ``("refuse", None)``.
        The cooldown and the pending event are set together under the lock, and a refresh installs
        its key set (under the lock) before it sets its event, so no caller can fall between the
        two, nor between a refresh landing and its event.
        """
        with self._lock:
            pending = self._kid_pending
            if kid is None or kid in self._gate.unknown:
                decision: tuple[str, threading.Event | None] = ("refuse", None)
            elif in_flight:
                decision = ("join", None)
            elif self._gate.admit(kid, now, self.policy.cooldown) is Admission.LEAD:
                decision = ("lead", self._charged())
            elif pending is not None and not pending.is_set():
                decision = ("wait", pending)
            elif self._snapshot is not seen:
                # The refresh this caller would have waited for landed after it looked for a
                # newer key set (another face's refresh, or one whose flight just ended).
                decision = ("settle", None)
            else:
                decision = ("refuse", None)
        if decision[0] == "refuse":
            self.stats.unknown_kid_rejections += 1
            self._emit("unknown_kid", refreshed=False)
        return decision
