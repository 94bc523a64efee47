"""Unknown ``kid`` values: the penalty box of a key source, and the refresh one may cause.

A token whose ``kid`` the keys in memory lack may cause a refresh: at most one per cooldown
(charged on the source's :class:`FetchGate`), none for a kid a fetch that started after it
was seen answered without (the negative cache). Callers arriving while that refresh runs join
it or wait for it rather than being refused. A mixin of :class:`RemoteKeySource`: it reads the
source's key set in memory, lock, gate and counters, declared below.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ._cache import Admission, Snapshot
from ._errors import KeyAlgorithmMismatchError, KeyNotFoundError, KeySetUnavailableError
from ._plan import IN_FLIGHT, JOIN, KeySourceCore, Plan, Step

if TYPE_CHECKING:
    from ._jwk import PreparedKey

__all__ = ["UnknownKids"]


class UnknownKids(KeySourceCore):
    """The unknown-kid half of :class:`RemoteKeySource` (a mixin)."""

    # What the key source provides (besides KeySourceCore).
    _last_seq: int
    # Its own state, set by the key source's __init__.
    _kid_pending: threading.Event | None  # set while an unknown-kid refresh runs
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
                yield Step("wait", pending)
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
            key = self._settle_kid(
                miss, seen, since=since, kid=kid, alg=alg, error=error, may_follow=not follow_up
            )
            if key is not None:
                return key
            action, pending = "follow_up", None
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
    ) -> PreparedKey | None:
        """After the refresh an unknown kid caused, joined or waited for: the key, or ``None``.

        ``None`` asks for one follow-up fetch. Whatever that refresh did, the key set in memory
        *now* is looked at first: another thread or task may have installed the right keys
        while this refresh failed. The kid is negatively cached only when a fetch that started
        after it was seen (numbered above *since*) answered without it. A fetch that started
        earlier (joined while in flight, before the issuer rotated) proves nothing: the kid gets
        a follow-up fetch, at most one per cooldown beyond the penalty box, so a flood of random
        kids costs a bounded number of fetches.

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
        if may_follow and self._may_follow_up(self._clock()):
            return None
        # No fetch that started after the kid was seen has answered: not negatively cached.
        self.stats.unknown_kid_rejections += 1
        self._emit("unknown_kid", refreshed=False)
        raise miss

    def _may_follow_up(self, now: float) -> bool:
        """Whether a kid that only saw an older fetch may have a new one now."""
        with self._lock:
            if self._gate.trigger(now, self.policy.cooldown):
                return True
            if self._gate.may_fetch(now) and now - self._followed_up_at >= self.policy.cooldown:
                self._followed_up_at = now
                return True
            return False

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

        Returns ``("join", None)`` when a fetch is already under way on this face (joined
        whatever the cooldown says: the callers that arrive with a newly rotated kid all wait
        for the one refresh it caused; joined only, never restarted: if it has ended by the
        time the caller gets to it, the caller judges by what it installed); ``("lead",
        event)`` when this caller starts the refresh and must set *event* when it is over;
        ``("wait", event)`` when the cooldown is charged by a refresh that is still running
        (started on the other face, or not yet registered as a fetch): wait for *event*, then
        look again; ``("settle", None)`` when the cooldown is charged by a refresh that is over
        and installed a key set since *seen*: judge the kid by that key set, as a caller that
        waited for it would; ``("refuse", None)``. The cooldown and the pending event are set
        together under the lock, and a refresh installs its key set (under the lock) before it
        sets its event, so no caller can fall between the two, nor between a refresh landing
        and its event.
        """
        with self._lock:
            pending = self._kid_pending
            if kid is None or kid in self._gate.unknown:
                decision: tuple[str, threading.Event | None] = ("refuse", None)
            elif in_flight:
                decision = ("join", None)
            elif self._gate.admit(kid, now, self.policy.cooldown) is Admission.LEAD:
                self._kid_pending = threading.Event()
                decision = ("lead", self._kid_pending)
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
