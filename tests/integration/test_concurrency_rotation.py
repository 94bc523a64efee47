"""Concurrency under key rotation, against the package's ``LocalIssuer`` on 127.0.0.1.

1,000 asyncio tasks and 16 threads verify at once while the issuer rotates its keys a few
times. Each phase starts right after a rotation, with every worker's first token signed by the
brand-new key, so the unknown-kid refresh happens under full contention. The verifier's clock
is ``time.time()`` plus an offset moved past the refresh cooldown at each rotation (no sleeps).

Tokens: signed by every published key (must all verify: zero false rejects), by a key that was
never published (unknown kid) and forged under the newest kid with another private key (must all
be refused: zero false accepts).

Fetch count, per phase (a cooldown window): the unknown-kid refresh the new key causes, and at
most one follow-up: the never-published kid, seen by callers while that refresh is in flight,
joins it, and a fetch that started before a kid was seen proves nothing about it, so the kid gets
one follow-up fetch (at most one per cooldown, however many kids ask) before it sits in the
negative cache. In the first phase the newest key is known from the cold start, and the
never-published kid causes the refresh (and its joiners the follow-up). With both faces, the
cold start costs one fetch per face (single flight is per face by design: one for the threads,
one per event loop); the penalty box and the follow-up allowance are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from cognito_jwt import JwtError, JwtVerifier, KeyNotFoundError, _flight
from cognito_jwt._keysource import RemoteKeySource
from cognito_jwt.testing import LocalIssuer
from tests.fake_issuer import FakeClock, FakeIssuer, oidc_token
from tests.helpers import AUDIENCE as HELPER_AUDIENCE
from tests.helpers import OIDC_ISSUER, SigningKey, _signing_key, rsa_private

AUDIENCE = "api://concurrency"
TASKS = 1000
THREADS = 16
PER_THREAD = 150
ROTATIONS = 3
WAIT = 30.0  # bound on every join and wait; never reached when all is well
LIFETIME = 3600


class OffsetClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Tally:
    false_rejects: Counter[str] = field(default_factory=Counter)
    false_accepts: int = 0
    good: int = 0
    bad: int = 0
    expected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, genuine: bool, outcome: object) -> None:
        if outcome is not None and not isinstance(outcome, JwtError):
            raise AssertionError(f"{type(outcome).__name__} escaped: {outcome}")
        with self.lock:
            if genuine:
                self.good += 1
                if outcome is not None:
                    self.false_rejects[type(outcome).__name__] += 1
            else:
                self.bad += 1
                if outcome is None:
                    self.false_accepts += 1


@dataclass
class Phase:
    newest: str
    good: list[str]
    bad: list[str]

    def sequence(self, worker: int, length: int) -> list[tuple[bool, str]]:
        """The newest-key token first, then every token in turn (offset per worker)."""
        mixed = [(True, t) for t in self.good] + [(False, t) for t in self.bad]
        rest = [mixed[(worker + i) % len(mixed)] for i in range(length - 1)]
        return [(True, self.newest), *rest]


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture(scope="module")
def outsiders() -> LocalIssuer:
    """Keys that no issuer under test ever publishes (never started: it only signs)."""
    other = LocalIssuer()
    other._port = 1
    return other


def make_phase(issuer: LocalIssuer, outsiders: LocalIssuer) -> Phase:
    claims = {"sub": "alice", "aud": AUDIENCE, "iss": issuer.issuer}
    newest = issuer.kids[-1]
    good = [issuer.mint(claims, lifetime=LIFETIME, kid=kid) for kid in issuer.kids]
    never = outsiders.mint(claims, lifetime=LIFETIME)  # unknown kid
    # forged: the newest kid in the header, signed by an outsider's key
    forged_header = issuer.mint(claims, lifetime=LIFETIME, kid=newest).split(".")[0]
    forged_rest = outsiders.mint(claims, lifetime=LIFETIME).split(".", 1)[1]
    return Phase(good[-1], good, [never, f"{forged_header}.{forged_rest}"])


def run_phase(verifier: JwtVerifier, phase: Phase, tally: Tally, *, tasks: int, threads: int):
    tally.expected += tasks * (1 + len(phase.good) + len(phase.bad)) + threads * PER_THREAD
    go = threading.Event()
    crashed: list[BaseException] = []

    def thread_worker(index: int) -> None:
        try:
            if not go.wait(WAIT):
                raise AssertionError("never released")
            for genuine, token in phase.sequence(index, PER_THREAD):
                try:
                    verifier.verify(token)
                except Exception as exc:  # noqa: BLE001, PERF203 - recorded and asserted
                    tally.record(genuine, exc)
                else:
                    tally.record(genuine, None)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            crashed.append(exc)

    workers = [
        threading.Thread(target=thread_worker, args=(i,), daemon=True) for i in range(threads)
    ]
    for worker in workers:
        worker.start()

    async def main() -> None:
        start = asyncio.Event()

        async def task_worker(index: int) -> None:
            await start.wait()
            for genuine, token in phase.sequence(index, 1 + len(phase.good) + len(phase.bad)):
                try:
                    await verifier.verify_async(token)
                except Exception as exc:  # noqa: BLE001, PERF203 - recorded and asserted
                    tally.record(genuine, exc)
                else:
                    tally.record(genuine, None)

        running = [asyncio.create_task(task_worker(i)) for i in range(tasks)]
        await asyncio.sleep(0)  # every task is now waiting on `start`
        go.set()
        start.set()
        await asyncio.wait_for(asyncio.gather(*running), WAIT)

    if tasks:
        asyncio.run(main())
    else:
        go.set()
    for worker in workers:
        worker.join(WAIT)
    assert not any(worker.is_alive() for worker in workers), "a verifying thread hangs"
    if crashed:
        raise crashed[0]


def rotation_run(issuer: LocalIssuer, outsiders: LocalIssuer, *, tasks: int, threads: int):
    clock = OffsetClock()
    verifier = issuer.verifier(audience=AUDIENCE, jwks_uri=issuer.jwks_uri, clock=clock)
    tally = Tally()
    run_phase(verifier, make_phase(issuer, outsiders), tally, tasks=tasks, threads=threads)
    for _ in range(ROTATIONS):
        issuer.rotate()  # older keys stay published: their tokens must keep verifying
        clock.offset += 31  # past the default 30 s cooldown, well within max-age (300 s)
        run_phase(verifier, make_phase(issuer, outsiders), tally, tasks=tasks, threads=threads)
    source = verifier._keys
    assert isinstance(source, RemoteKeySource)
    source.join_background(WAIT)
    return tally, issuer.requests["/.well-known/jwks.json"], verifier


def check(tally: Tally, fetches: int, *, tasks: int, threads: int) -> None:
    assert tally.good + tally.bad == tally.expected, "a verification went missing"
    assert tally.false_accepts == 0, "a token not signed by a published key was accepted"
    assert not tally.false_rejects, f"tokens signed by a published key were refused: {tally}"
    faces = (tasks > 0) + (threads > 0)
    assert ROTATIONS + 1 <= fetches <= fetch_limit(faces), f"{fetches} fetches"


def fetch_limit(faces: int) -> int:
    """Cold start per face, then per phase the refresh and at most one follow-up."""
    return faces + 2 * (ROTATIONS + 1)


def test_tasks_under_rotation(issuer: LocalIssuer, outsiders: LocalIssuer) -> None:
    tally, fetches, _ = rotation_run(issuer, outsiders, tasks=TASKS, threads=0)
    check(tally, fetches, tasks=TASKS, threads=0)


def test_threads_under_rotation(issuer: LocalIssuer, outsiders: LocalIssuer) -> None:
    tally, fetches, _ = rotation_run(issuer, outsiders, tasks=0, threads=THREADS)
    check(tally, fetches, tasks=0, threads=THREADS)


def test_tasks_and_threads_under_rotation(issuer: LocalIssuer, outsiders: LocalIssuer) -> None:
    tally, fetches, _ = rotation_run(issuer, outsiders, tasks=TASKS, threads=THREADS)
    check(tally, fetches, tasks=TASKS, threads=THREADS)


def test_tasks_and_threads_under_rotation_accept_nothing_false(
    issuer: LocalIssuer, outsiders: LocalIssuer
) -> None:
    """The mixed run's other promises, on their own: no false accepts, no exception other
    than a JwtError, the fetch bounds; a false reject could only be a KeyNotFoundError."""
    tally, fetches, _ = rotation_run(issuer, outsiders, tasks=TASKS, threads=THREADS)
    assert tally.false_accepts == 0
    assert set(tally.false_rejects) <= {"KeyNotFoundError"}
    assert ROTATIONS + 1 <= fetches <= fetch_limit(2), f"{fetches} fetches"


# === Deterministic reproductions of the races (fake issuer, fake clock) =========================
@cache
def _key(kid: str, seed: int) -> SigningKey:
    return _signing_key("RS256", rsa_private(2048, seed), kid)


def _rotated() -> tuple[FakeIssuer, FakeClock, JwtVerifier]:
    """A verifier that knows key A, an issuer that now also publishes key B, the cooldown over."""
    old, new = _key("rsa-a", 0), _key("rsa-b", 1)
    fake, clock = FakeIssuer(OIDC_ISSUER, keys=(old,)), FakeClock()
    verifier = JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=HELPER_AUDIENCE,
        jwks_uri=fake.jwks_uri,
        clock=clock,
        store=None,
        fetch=fake.fetch_options(),
    )
    verifier.verify(oidc_token(old, clock()))
    fake.rotate(old, new)
    clock.advance(31)
    return fake, clock, verifier


def _caller(verifier: JwtVerifier, outcomes: dict[str, object]) -> Any:
    """``call(name, token)``: verify *token* in a new thread named *name*; the result or the
    exception lands in ``outcomes[name]``. Returns the started thread."""

    def call(name: str, token: str) -> threading.Thread:
        def run() -> None:
            try:
                outcomes[name] = verifier.verify(token)
            except Exception as exc:  # noqa: BLE001 - asserted by the caller
                outcomes[name] = exc

        thread = threading.Thread(target=run, daemon=True, name=name)
        thread.start()
        return thread

    return call


def _second_caller(call: Any, release: threading.Event) -> object:
    """Run *call* in a thread. If it is still waiting after a moment (it joined the fetch, the
    right behaviour), open the fetch; return its outcome (the result or the exception)."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(call())
        except Exception as exc:  # noqa: BLE001 - returned to the test
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(0.5)  # a bounded wait on a thread, not on time: either outcome is handled
    release.set()
    thread.join(WAIT)
    assert not thread.is_alive()
    return box[0]


def test_task_arriving_during_a_threads_refresh_waits_for_it() -> None:
    fake, clock, verifier = _rotated()
    fake.block()
    token = oidc_token(_key("rsa-b", 1), clock())
    first = threading.Thread(target=verifier.verify, args=(token,), daemon=True)
    first.start()
    assert fake.entered.wait(WAIT)  # the thread's unknown-kid fetch is in flight
    outcome = _second_caller(lambda: asyncio.run(verifier.verify_async(token)), fake.gate)
    first.join(WAIT)
    assert fake.count() == 2
    assert not isinstance(outcome, Exception), f"refused: {outcome!r}"


def test_thread_arriving_between_trigger_and_flight_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, clock, verifier = _rotated()
    token = oidc_token(_key("rsa-b", 1), clock())
    entered, proceed = threading.Event(), threading.Event()
    original = RemoteKeySource._refresh

    def paused(self: RemoteKeySource, reason: str) -> Any:
        if threading.current_thread().name == "first-caller":
            entered.set()  # the cooldown is taken, the flight not yet registered
            assert proceed.wait(WAIT)
        return original(self, reason)

    monkeypatch.setattr(RemoteKeySource, "_refresh", paused)
    first = threading.Thread(
        target=verifier.verify, args=(token,), daemon=True, name="first-caller"
    )
    first.start()
    assert entered.wait(WAIT)
    outcome = _second_caller(lambda: verifier.verify(token), proceed)
    first.join(WAIT)
    assert not isinstance(outcome, Exception), f"refused: {outcome!r}"


def test_task_looking_as_a_threads_refresh_lands_takes_its_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race behind the rare false reject of the mixed stress run above.

    A thread leads the unknown-kid refresh for the new key (the cooldown is charged). A task
    misses the key in the old key set and looks for a newer one: none yet. The thread's refresh
    lands (new keys installed, its pending event set) before the task decides; then the task
    finds the cooldown charged and no refresh pending, and was refused the new key, which the
    key set in memory held by then. It must take the keys that landed, without another fetch.
    """
    fake, clock, verifier = _rotated()
    token = oidc_token(_key("rsa-b", 1), clock())
    looked, proceed = threading.Event(), threading.Event()
    original = RemoteKeySource._newer_key

    def paused(self: RemoteKeySource, *args: Any) -> Any:
        found = original(self, *args)
        if threading.current_thread().name == "second-caller":
            looked.set()  # looked for a newer key set (none yet), not yet decided
            assert proceed.wait(WAIT)
        return found

    monkeypatch.setattr(RemoteKeySource, "_newer_key", paused)
    fake.block()
    first = threading.Thread(target=verifier.verify, args=(token,), daemon=True)
    first.start()
    assert fake.entered.wait(WAIT)  # the thread's unknown-kid fetch is in flight
    box: list[object] = []

    def second() -> None:
        try:
            box.append(asyncio.run(verifier.verify_async(token)))
        except Exception as exc:  # noqa: BLE001 - asserted below
            box.append(exc)

    task_thread = threading.Thread(target=second, daemon=True, name="second-caller")
    task_thread.start()
    assert looked.wait(WAIT)
    fake.release()
    first.join(WAIT)  # the thread's refresh is over: new keys installed, pending event set
    assert not first.is_alive()
    proceed.set()
    task_thread.join(WAIT)
    assert not task_thread.is_alive()
    assert not isinstance(box[0], Exception), f"refused: {box[0]!r}"
    assert fake.count() == 2  # the cold start and the one refresh: the task fetched nothing


def test_joiners_whose_fetch_ended_start_no_fetch_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller that decided to join the fetch in flight, and got to it after it ended, must
    not start a fetch of its own: a chain of such late joiners would fetch past the bounds (one
    refresh and one follow-up per cooldown) however many random kids arrive."""
    fake, clock, verifier = _rotated()
    paused: dict[str, tuple[threading.Event, threading.Event]] = {
        name: (threading.Event(), threading.Event()) for name in ("late-1", "late-2")
    }
    original = RemoteKeySource._may_refresh_for_kid

    def pause_joiner(self: RemoteKeySource, *args: Any) -> Any:
        decision = original(self, *args)
        events = paused.get(threading.current_thread().name)
        if events is not None and decision[0] == "join":
            events[0].set()  # decided to join the fetch in flight, not joined yet
            assert events[1].wait(WAIT)
        return decision

    monkeypatch.setattr(RemoteKeySource, "_may_refresh_for_kid", pause_joiner)
    outcomes: dict[str, object] = {}
    call = _caller(verifier, outcomes)

    fake.block()
    lead = call("lead", oidc_token(_key("rsa-b", 1), clock()))  # the new key: the refresh
    assert fake.entered.wait(WAIT)
    late = call("late-1", oidc_token(_key("rsa-x", 2), clock()))  # a never-published kid
    assert paused["late-1"][0].wait(WAIT)
    fake.release()
    lead.join(WAIT)  # the refresh is over: nothing in flight
    fake.block()
    paused["late-1"][1].set()
    assert fake.entered.wait(WAIT)  # late-1's fetch (the one follow-up) is in flight
    later = call("late-2", oidc_token(_key("rsa-y", 3), clock()))  # another one
    assert paused["late-2"][0].wait(WAIT)
    fake.release()
    late.join(WAIT)
    paused["late-2"][1].set()
    later.join(WAIT)
    assert not any(t.is_alive() for t in (lead, late, later))
    assert not isinstance(outcomes["lead"], Exception), f"refused: {outcomes['lead']!r}"
    assert isinstance(outcomes["late-1"], KeyNotFoundError)
    assert isinstance(outcomes["late-2"], KeyNotFoundError)
    assert fake.count() == 3  # the cold start, the refresh, the one follow-up


def _failure_burst(verifier: JwtVerifier) -> None:
    """Enough failed signature checks with known keys for the failure-rate trigger."""
    source = verifier._keys
    assert isinstance(source, RemoteKeySource)
    for _ in range(source.policy.failure_min_samples):
        source.record_signature(False)


def test_task_arriving_during_a_threads_failure_rate_refresh_waits_for_it() -> None:
    """A refresh charged to the cooldown by the failure rate (not by an unknown kid) is one an
    unknown kid on the other face must wait for: the issuer has just published key B, a
    background thread's failure-rate refresh is fetching it, and a task with a B token arrives.
    It was refused (cooldown charged, no refresh pending); it must verify once the fetch lands,
    without a fetch of its own."""
    fake, clock, verifier = _rotated()
    token = oidc_token(_key("rsa-b", 1), clock())
    fake.block()
    _failure_burst(verifier)  # no running loop: the refresh runs on a background thread
    assert fake.entered.wait(WAIT)  # the failure-rate fetch is in flight, holding the cooldown
    outcome = _second_caller(lambda: asyncio.run(verifier.verify_async(token)), fake.gate)
    source = verifier._keys
    assert isinstance(source, RemoteKeySource)
    source.join_background(WAIT)
    assert not isinstance(outcome, Exception), f"refused: {outcome!r}"
    assert fake.count() == 2  # the cold start and the failure-rate refresh
    assert source.stats.refreshes == {"initial": 1, "failure_rate": 1}


def test_thread_arriving_during_a_tasks_failure_rate_refresh_waits_for_it() -> None:
    """The same, faces swapped: the failure-rate refresh is a task, the unknown kid a thread."""
    fake, clock, verifier = _rotated()
    token = oidc_token(_key("rsa-b", 1), clock())
    in_flight, landed = threading.Event(), threading.Event()
    loop = asyncio.new_event_loop()

    async def burst() -> None:
        fake.block_async()
        _failure_burst(verifier)  # inside the loop: the refresh is a task of this loop
        assert fake.async_entered is not None
        await asyncio.wait_for(fake.async_entered.wait(), WAIT)
        in_flight.set()
        source = verifier._keys
        assert isinstance(source, RemoteKeySource)
        await asyncio.wait_for(asyncio.gather(*source._flights.tasks), WAIT)
        landed.set()

    runner = threading.Thread(target=loop.run_until_complete, args=(burst(),), daemon=True)
    runner.start()
    assert in_flight.wait(WAIT)
    release = threading.Event()

    def open_async_gate() -> None:  # _second_caller opens a threading event: relay it
        assert release.wait(WAIT)
        assert fake.async_gate is not None
        loop.call_soon_threadsafe(fake.async_gate.set)

    threading.Thread(target=open_async_gate, daemon=True).start()
    outcome = _second_caller(lambda: verifier.verify(token), release)
    runner.join(WAIT)
    loop.close()
    assert landed.is_set()
    assert not isinstance(outcome, Exception), f"refused: {outcome!r}"
    assert fake.count() == 2  # the cold start and the failure-rate refresh


def test_task_arriving_during_a_threads_follow_up_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A follow-up fetch (a kid that only saw an older fetch) is one an unknown kid on the
    other face must wait for too. A thread leads a refresh for a never-published kid X,
    another thread with kid Y joins it (a fetch that started before Y was seen: Y gets the
    follow-up). The issuer publishes key B; while the follow-up fetches, a task with a B token
    arrives: it must take B from the follow-up, not be refused or fetch itself."""
    old, new = _key("rsa-a", 0), _key("rsa-b", 1)
    fake, clock = FakeIssuer(OIDC_ISSUER, keys=(old,)), FakeClock()
    verifier = JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=HELPER_AUDIENCE,
        jwks_uri=fake.jwks_uri,
        clock=clock,
        store=None,
        fetch=fake.fetch_options(),
    )
    verifier.verify(oidc_token(old, clock()))
    clock.advance(31)
    joined, proceed = threading.Event(), threading.Event()
    original = _flight.Flight.wait

    def wait(self: _flight.Flight[Any], timeout: float) -> Any:
        value = original(self, timeout)
        if threading.current_thread().name == "joiner":
            joined.set()  # joined the fetch (now over), not yet settled
            assert proceed.wait(WAIT)
        return value

    monkeypatch.setattr(_flight.Flight, "wait", wait)
    outcomes: dict[str, object] = {}
    call = _caller(verifier, outcomes)

    fake.block()
    lead = call("lead", oidc_token(_key("rsa-x", 2), clock()))
    assert fake.entered.wait(WAIT)
    joiner = call("joiner", oidc_token(_key("rsa-y", 3), clock()))
    fake.release()
    assert joined.wait(WAIT)
    lead.join(WAIT)
    fake.rotate(old, new)  # the issuer publishes B
    fake.block()
    proceed.set()
    assert fake.entered.wait(WAIT)  # the joiner's follow-up is in flight, with B
    token = oidc_token(new, clock())
    outcome = _second_caller(lambda: asyncio.run(verifier.verify_async(token)), fake.gate)
    joiner.join(WAIT)
    assert not any(t.is_alive() for t in (lead, joiner))
    assert isinstance(outcomes["lead"], KeyNotFoundError)
    assert isinstance(outcomes["joiner"], KeyNotFoundError)
    assert not isinstance(outcome, Exception), f"refused: {outcome!r}"
    assert fake.count() == 3  # the cold start, the refresh, the one follow-up


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_wait_for_a_refresh_that_times_out_is_reported(face: str) -> None:
    """A caller that waited for the other face's refresh past the wait limit says so (an
    event without the token), then settles against the keys it has."""
    _, clock, verifier = _rotated()
    events: list[tuple[str, dict[str, Any]]] = []
    source = verifier._keys
    assert isinstance(source, RemoteKeySource)
    source._on_event = lambda name, details: events.append((name, dict(details)))
    with source._lock:  # a refresh charged to the cooldown that never ends
        assert source._gate.trigger(clock(), source.policy.cooldown)
        source._kid_pending = threading.Event()
    source._flights.wait_limit = 0.0  # the wait times out at once (no time passes)
    token = oidc_token(_key("rsa-b", 1), clock())
    # Then it settles against the keys in memory (B is not there) and may have its follow-up,
    # which a zero wait limit may cut short: either outcome is a typed error or the key.
    with contextlib.suppress(JwtError):
        if face == "sync":
            verifier.verify(token)
        else:
            asyncio.run(verifier.verify_async(token))
    timeouts = [details for name, details in events if name == "refresh_wait_timeout"]
    assert len(timeouts) == 1, events
    assert token not in repr(timeouts)
    assert timeouts[0]["waited"] == 0.0


def test_a_failure_rate_refresh_that_does_not_start_gives_the_cooldown_back() -> None:
    """The failure-rate trigger charges the cooldown, but its background refresh does not start
    when a fetch already runs on that face (here a manual refresh, blocked). Nothing was fetched
    for that charge: it is given back and its pending event set, so a task with a kid the issuer
    just published fetches it, rather than waiting for nothing or being refused."""
    fake, clock, verifier = _rotated()
    source = verifier._keys
    assert isinstance(source, RemoteKeySource)
    fake.block()
    manual = threading.Thread(target=verifier._keys.refresh, daemon=True)
    manual.start()
    assert fake.entered.wait(WAIT)  # a thread's fetch is in flight
    _failure_burst(verifier)  # its background refresh can't start
    assert source.stats.refreshes.get("failure_rate") is None
    assert source._kid_pending is not None
    assert source._kid_pending.is_set()
    assert source._gate.may_trigger(clock(), source.policy.cooldown)
    token = oidc_token(_key("rsa-b", 1), clock())
    outcome = asyncio.run(verifier.verify_async(token))  # the async face is not blocked
    fake.release()
    manual.join(WAIT)
    assert not manual.is_alive()
    assert not isinstance(outcome, Exception)
    assert fake.count() == 3  # the cold start, the manual refresh, the task's refresh
