"""A hypothesis state machine over the two-level key cache (``RemoteKeySource`` in a verifier).

The world: a fake issuer on ``httpx.MockTransport`` that rotates and retires keys and can fail
(HTTP 500, connection refused, read timeout, an HTML page, truncated JSON, an empty key set, a
key set with no usable key), and a clock that only moves when a rule says so (small steps and
jumps across ``max_age``, ``max_stale`` and ``stale_if_error``). Tokens are signed by the newest
key, by older keys still published, by retired keys, by a key that was never published and by
an impostor (another private key under a published ``kid``).

The model keeps only what the test can know from outside the verifier (what the issuer published
when, whether it answered, when the last good fetch landed) plus a conservative account of the
refresh triggers (cooldown, negative kid cache, backoff), and checks:

* a good key set is never replaced by a bad one (and L1 never goes back to empty or to an older
  fetch); after a successful fetch L1 holds exactly what the issuer published;
* a token signed by a key of the last good set keeps verifying while the issuer is down, as
  long as that set is younger than ``stale_if_error``;
* a key that a successful refresh no longer lists stops verifying (at once when the refresh was
  a blocking one, and for good once L1 no longer holds it);
* a token signed by a never-published key (or forged under a published kid) is never accepted;
* every failure is a ``JwtError``.

No sleeps: the only waits are joins of the background refresh thread, bounded by ``WAIT``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from cognito_jwt import (
    InvalidSignatureError,
    JwtError,
    JwtVerifier,
    KeyNotFoundError,
    KeySetUnavailableError,
    RefreshPolicy,
)
from tests.fake_issuer import WAIT, FakeClock, FakeIssuer, oidc_token
from tests.helpers import AUDIENCE, OIDC_ISSUER, SigningKey, _signing_key

POLICY = RefreshPolicy(
    max_age=100,
    min_max_age=10,
    max_max_age=100,
    max_stale=200,
    stale_if_error=400,
    cooldown=30,
    negative_kid_ttl=60,
    backoff_initial=5,
    backoff_max=40,
)
POOL_SIZE = 6  # keys the issuer may publish, in order; rotations stop when they run out

# Issuer answers that are not a usable key set. "connect" is retried once by the fetcher.
BAD_MODES = ("500", "connect", "timeout", "html", "notjson", "nokeys", "unusable")
UNUSABLE_JWKS = {
    "keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "pool-0"},  # symmetric: never used
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "pool-1"},  # far too small
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "pool-2"},  # bad point
    ]
}


@cache
def pool() -> tuple[SigningKey, ...]:
    """The issuer's keys (ES256: cheap to sign with in every step)."""
    return tuple(
        _signing_key("ES256", ec.generate_private_key(ec.SECP256R1()), f"pool-{i}")
        for i in range(POOL_SIZE)
    )


@cache
def never_published() -> SigningKey:
    return _signing_key("ES256", ec.generate_private_key(ec.SECP256R1()), "never-published")


@cache
def impostor(kid: str) -> SigningKey:
    """A private key that was never published, claiming the kid of a published one."""
    return _signing_key("ES256", ec.generate_private_key(ec.SECP256R1()), kid)


def _serve_unusable(request: httpx.Request, is_async: bool) -> httpx.Response:
    del request, is_async
    return httpx.Response(200, json=UNUSABLE_JWKS)


class KeyCacheMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.next_key = 1
        self.published: list[SigningKey] = [pool()[0]]
        self.ever_published: set[str] = {pool()[0].kid}
        self.issuer = FakeIssuer(OIDC_ISSUER, keys=tuple(self.published))
        self.mode = "ok"
        self.verifier = JwtVerifier(
            issuer=OIDC_ISSUER,
            audience=AUDIENCE,
            jwks_uri=self.issuer.jwks_uri,
            algorithms=("ES256",),
            clock=self.clock,
            store=None,
            fetch=self.issuer.fetch_options(),
            refresh=POLICY,
        )
        self.source = self.verifier._keys
        # What the test knows about the cache (see the module docstring).
        self.last_snapshot: Any = None
        self.good_at: float | None = None  # when the last successful fetch landed
        self.good_kids: frozenset[str] = frozenset()
        self.failures = 0  # consecutive failed fetches
        self.retry_at = -math.inf
        self.last_trigger = -math.inf  # latest moment a refresh trigger may have fired
        self.negative: dict[str, float] = {}  # kid -> when it may have entered the negative cache

    # Helpers -------------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.clock.now

    def _publish(self) -> None:
        self.issuer.rotate(*self.published)
        self.ever_published |= {k.kid for k in self.published}

    def _gate_open(self) -> bool:
        return self.failures == 0 or self.now >= self.retry_at

    def _run(self, call: Any) -> tuple[Any, BaseException | None, int, int]:
        """Run *call*, wait for any background refresh it started; return the fetch counts."""
        stats = self.verifier.stats
        fetches, failed = stats.fetches, stats.fetch_failures
        try:
            result, error = call(), None
        except Exception as exc:  # noqa: BLE001 - the type is the first thing asserted
            result, error = None, exc
        self.source.join_background(WAIT)
        background = self.source._flights.background
        assert background is None or not background.is_alive(), "background refresh hangs"
        attempts = stats.fetches - fetches
        failures = stats.fetch_failures - failed
        if error is not None:
            assert isinstance(error, JwtError), f"{type(error).__name__} escaped: {error}"
        self._account(attempts, failures)
        return result, error, attempts, failures

    def _account(self, attempts: int, failures: int) -> None:
        """Update the model from the fetches a step made (the issuer's mode is fixed within)."""
        if attempts == 0:
            return
        if self.mode == "ok":
            assert failures == 0, "a fetch from a healthy issuer failed"
            self.failures, self.retry_at = 0, -math.inf
            self.good_at = self.now
            self.good_kids = frozenset(k.kid for k in self.published)
        else:
            assert failures == attempts, "a fetch from a failing issuer succeeded"
            self.failures += failures
            self.retry_at = self.now + POLICY.backoff(self.failures)

    # Issuer -------------------------------------------------------------------------------------
    @precondition(lambda self: self.next_key < POOL_SIZE)
    @rule()
    def rotate(self) -> None:
        """A new key is published and signs from now on; older keys stay published."""
        self.published.append(pool()[self.next_key])
        self.next_key += 1
        self._publish()

    @precondition(lambda self: len(self.published) > 1)
    @rule()
    def retire(self) -> None:
        """Every key but the newest stops being published."""
        self.published = self.published[-1:]
        self._publish()

    @rule(mode=st.sampled_from(BAD_MODES))
    def go_down(self, mode: str) -> None:
        self.issuer.recover()
        self.issuer.extra.pop(self.issuer.jwks_path, None)
        if mode == "unusable":
            self.issuer.extra[self.issuer.jwks_path] = _serve_unusable
        else:
            self.issuer.fail(mode)
        self.mode = mode

    @rule()
    def recover(self) -> None:
        self.issuer.recover()
        self.issuer.extra.pop(self.issuer.jwks_path, None)
        self.mode = "ok"

    # Time ---------------------------------------------------------------------------------------
    @rule(
        seconds=st.one_of(
            st.integers(1, 20),  # within the cooldown
            st.integers(25, 70),  # across the cooldown and the negative-kid TTL
            st.sampled_from([99, 100, 101, 199, 200, 201, 399, 400, 401]),  # the boundaries
            st.integers(100, 500),  # across max_age, max_stale and stale_if_error
        )
    )
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # Verifier -----------------------------------------------------------------------------------
    @rule()
    def manual_refresh(self) -> None:
        before = self.source.snapshot
        _, error, attempts, _ = self._run(self.verifier.refresh)
        assert attempts == 1, "refresh() always fetches"
        if self.mode == "ok":
            assert error is None
            assert self.source.snapshot.keyset.kids == self.good_kids
        else:
            assert isinstance(error, KeySetUnavailableError), repr(error)
            assert self.source.snapshot is before, "a failed refresh changed the key set"

    @rule(data=st.data())
    def verify(self, data: st.DataObject) -> None:
        kinds = ["current", "published", "never", "impostor"]
        retired = sorted(self.ever_published - {k.kid for k in self.published})
        if retired:
            kinds.append("retired")
        kind = data.draw(st.sampled_from(kinds), label="kind")
        if kind == "current":
            key = self.published[-1]
        elif kind == "published":
            key = data.draw(st.sampled_from(self.published), label="key")
        elif kind == "retired":
            kid = data.draw(st.sampled_from(retired), label="kid")
            key = next(k for k in pool() if k.kid == kid)
        elif kind == "never":
            key = never_published()
        else:
            key = impostor(data.draw(st.sampled_from(sorted(self.ever_published)), label="kid"))
        self._check_verify(kind, key)

    @precondition(lambda self: self.source.snapshot is not None)
    @rule(data=st.data())
    def verify_cached(self, data: st.DataObject) -> None:
        """A token signed by a key L1 holds (the case stale-if-error is about)."""
        kid = data.draw(st.sampled_from(sorted(self.source.snapshot.keyset.kids)), label="kid")
        key = next(k for k in pool() if k.kid == kid)
        published = any(k.kid == kid for k in self.published)
        self._check_verify("published" if published else "retired", key)

    def _check_verify(self, kind: str, key: SigningKey) -> None:
        now = self.now
        before = self.source.snapshot
        known = before is not None and key.kid in before.keyset.kids
        age = math.inf if before is None else now - before.fetched_at
        gate_open = self._gate_open()
        kid_ready = (
            now - self.last_trigger >= POLICY.cooldown
            and now - self.negative.get(key.kid, -math.inf) >= POLICY.negative_kid_ttl
        )
        genuine = kind in ("current", "published", "retired")
        published = any(k.kid == key.kid for k in self.published)

        result, error, _, _ = self._run(lambda: self.verifier.verify(oidc_token(key, now)))
        accepted = error is None
        event(
            f"{kind} key, issuer {self.mode}: " + ("accepted" if accepted else type(error).__name__)
        )
        after = self.source.snapshot
        fetched_now = after is not None and after is not before and after.fetched_at == now

        # Never a false accept.
        if not genuine:
            assert not accepted, f"a token signed by a {kind} key was accepted"
            if kind == "impostor" and known and age < POLICY.max_stale:  # served from L1
                assert isinstance(error, InvalidSignatureError), repr(error)
        if accepted:
            assert result["sub"] == "user-42"
            from_before = known and age < POLICY.stale_if_error
            from_fetch = fetched_now and key.kid in after.keyset.kids
            assert from_before or from_fetch, "accepted with a key L1 did not (validly) hold"

        # A known key keeps verifying while the issuer is down, within stale_if_error.
        if genuine and known and age < POLICY.stale_if_error and self.mode != "ok":
            assert accepted, f"known key refused while the issuer is down: {error!r}"

        # A published key of the current set verifies while the issuer is up (unless the set
        # is past stale_if_error and backoff forbids fetching).
        usable = age < POLICY.stale_if_error or gate_open
        if genuine and published and self.mode == "ok" and known and usable:
            assert accepted, f"published, cached key refused: {error!r}"
        # A newly published key verifies once the unknown-kid refresh may run.
        if genuine and published and self.mode == "ok" and not known and kid_ready and gate_open:
            assert accepted, f"newly published key refused after the refresh: {error!r}"
        # Cold start: the first verification fetches (when backoff allows).
        if genuine and published and self.mode == "ok" and before is None and gate_open:
            assert accepted, f"cold start with a healthy issuer failed: {error!r}"

        # A key the issuer no longer publishes stops verifying after a successful refresh.
        if kind == "retired" and not known:
            assert not accepted, "a retired key no longer in L1 verified"
        if kind == "retired" and self.mode == "ok" and age >= POLICY.max_stale and gate_open:
            # an expired key set is refreshed before use: the retired key is gone from it
            assert not accepted, "a retired key verified after a blocking refresh"

        # Book-keeping for the conservative trigger model.
        if not accepted or not known:
            self.last_trigger = now
        if isinstance(error, KeyNotFoundError):
            self.negative[key.kid] = now

    # Invariants ---------------------------------------------------------------------------------
    @invariant()
    def good_set_is_never_replaced_by_a_bad_one(self) -> None:
        snapshot = self.source.snapshot
        previous = self.last_snapshot
        if previous is not None:
            assert snapshot is not None, "L1 went back to empty"
            assert snapshot.fetched_at >= previous.fetched_at, "L1 went back to an older set"
            assert snapshot.seq >= previous.seq
        if snapshot is not None:
            assert snapshot.keyset.kids, "L1 holds a key set without keys"
            assert snapshot.keyset.kids <= self.ever_published
            # L1 is exactly the last good fetch: never a failed one, never a stale one.
            assert snapshot.fetched_at == self.good_at
            assert snapshot.keyset.kids == self.good_kids
        self.last_snapshot = snapshot


TestKeyCacheStateMachine = KeyCacheMachine.TestCase
TestKeyCacheStateMachine.settings = settings(stateful_step_count=50, deadline=None)
