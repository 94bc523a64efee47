"""``_cache``: snapshot freshness, the fetch gate (backoff, cooldown) and the failure window."""

from __future__ import annotations

import math

import pytest

from cognito_jwt import RefreshPolicy
from cognito_jwt._cache import Admission, FailureWindow, FetchGate, Freshness, Snapshot, freshness
from cognito_jwt._jwk import parse_jwks
from tests.helpers import all_keys, jwks_of, run_python

T0 = 1_800_000_000.0
POLICY = RefreshPolicy()  # max_age 3600, max_stale 12 h, stale_if_error 24 h


def _snapshot(fetched_at: float = T0, max_age: float = 3600, seq: int = 1) -> Snapshot:
    document = jwks_of(all_keys()["RS256"])
    return Snapshot(parse_jwks(document), document, fetched_at, max_age, seq, "fetch")


# === Snapshot / freshness =========================================================================
def test_snapshot_is_immutable() -> None:
    snapshot = _snapshot()
    with pytest.raises(AttributeError):
        snapshot.seq = 2  # type: ignore[misc]
    assert snapshot.source == "fetch"
    assert snapshot.keyset.kids == frozenset({"rsa-rs256"})


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, Freshness.FRESH),
        (3599.999, Freshness.FRESH),
        (3600, Freshness.STALE),  # exactly max_age: no longer fresh
        (12 * 3600 - 0.001, Freshness.STALE),
        (12 * 3600, Freshness.EXPIRED),  # exactly max_stale
        (24 * 3600 - 0.001, Freshness.EXPIRED),
        (24 * 3600, Freshness.UNUSABLE),  # exactly stale_if_error
        (10**9, Freshness.UNUSABLE),
    ],
)
def test_freshness_boundaries(age: float, expected: Freshness) -> None:
    assert freshness(_snapshot(), T0 + age, POLICY) is expected


@pytest.mark.parametrize("ahead", [0.001, 60, 10**6])
def test_freshness_future_fetch_time_counts_as_age_zero(ahead: float) -> None:
    assert freshness(_snapshot(fetched_at=T0 + ahead), T0, POLICY) is Freshness.FRESH


def test_freshness_uses_the_snapshot_max_age_not_the_policy_default() -> None:
    snapshot = _snapshot(max_age=60)
    assert freshness(snapshot, T0 + 59, POLICY) is Freshness.FRESH
    assert freshness(snapshot, T0 + 60, POLICY) is Freshness.STALE
    assert freshness(snapshot, T0 + 3600, POLICY) is Freshness.STALE


def test_freshness_custom_policy() -> None:
    policy = RefreshPolicy(
        min_max_age=1, max_age=10, max_max_age=10, max_stale=20, stale_if_error=30
    )
    snapshot = _snapshot(max_age=10)
    states = [freshness(snapshot, T0 + age, policy) for age in (9, 10, 19, 20, 29, 30)]
    assert states == [
        Freshness.FRESH,
        Freshness.STALE,
        Freshness.STALE,
        Freshness.EXPIRED,
        Freshness.EXPIRED,
        Freshness.UNUSABLE,
    ]


# === FetchGate ====================================================================================
def test_gate_starts_open() -> None:
    gate = FetchGate()
    assert gate.failures == 0
    assert gate.retry_at == -math.inf
    assert gate.may_fetch(0)
    assert gate.may_fetch(-1e12)
    assert gate.may_trigger(T0, cooldown=30)


def test_gate_backoff_after_failures_doubles_then_resets() -> None:
    gate = FetchGate()
    gate.record_failure(T0, POLICY)
    assert gate.failures == 1
    assert gate.retry_at == T0 + 5
    assert not gate.may_fetch(T0 + 4.999)
    assert gate.may_fetch(T0 + 5)  # exactly at retry_at
    gate.record_failure(T0 + 5, POLICY)
    assert gate.retry_at == T0 + 15  # 10 s after the second failure
    assert not gate.may_fetch(T0 + 14.9)
    for _ in range(20):
        gate.record_failure(T0, POLICY)
    assert gate.retry_at == T0 + 300  # capped at backoff_max
    gate.record_success()
    assert gate.failures == 0
    assert gate.may_fetch(T0)


def test_gate_cooldown() -> None:
    gate = FetchGate()
    gate.triggered_at = T0
    assert not gate.may_trigger(T0, cooldown=30)
    assert not gate.may_trigger(T0 + 29.999, cooldown=30)
    assert gate.may_trigger(T0 + 30, cooldown=30)
    assert gate.may_fetch(T0)  # cooldown only limits triggered refreshes


def test_gate_trigger_also_respects_backoff() -> None:
    gate = FetchGate()
    gate.record_failure(T0, RefreshPolicy(backoff_initial=100, backoff_max=100))
    assert not gate.may_trigger(T0 + 50, cooldown=1)  # cooldown over, backoff not
    assert gate.may_trigger(T0 + 100, cooldown=1)


def test_penalty_box_one_lead_per_cooldown_and_negative_cache() -> None:
    clock = [T0]
    gate = FetchGate.for_policy(RefreshPolicy(cooldown=30, negative_kid_ttl=60), lambda: clock[0])
    assert gate.admit("a", T0, cooldown=30) is Admission.LEAD
    assert gate.admit("b", T0 + 1, cooldown=30) is Admission.COOLDOWN  # charged by "a"
    gate.release()  # "a" was a real key: the way is free at once
    assert gate.admit("b", T0 + 1, cooldown=30) is Admission.LEAD
    gate.forget_kid("b")
    assert gate.admit("b", T0 + 100, cooldown=30) is Admission.UNKNOWN
    clock[0] = T0 + 61  # the negative cache ages on the given clock
    assert gate.admit("b", T0 + 100, cooldown=30) is Admission.LEAD
    gate.record_failure(T0 + 100, POLICY)
    assert gate.admit("c", T0 + 200, cooldown=30) is Admission.LEAD  # backoff over
    gate.record_failure(T0 + 200, POLICY)
    assert gate.admit("d", T0 + 201, cooldown=0) is Admission.BACKOFF


# === FailureWindow ================================================================================
def _window(records: list[tuple[bool, float]], window: float = 60) -> FailureWindow:
    fw = FailureWindow(window)
    for ok, at in records:
        fw.record(ok, at)
    return fw


def test_window_exact_threshold() -> None:
    # 2 failures in 20 checks is exactly 10 %: exceeded ("at least this share").
    fw = _window([(True, T0)] * 18 + [(False, T0)] * 2)
    assert fw.exceeded(T0, 0.10, 20)
    # 1 failure in 20 is 5 %: not exceeded.
    fw = _window([(True, T0)] * 19 + [(False, T0)])
    assert not fw.exceeded(T0, 0.10, 20)
    # 2 failures in 21 is 9.5 %: not exceeded.
    fw = _window([(True, T0)] * 19 + [(False, T0)] * 2)
    assert not fw.exceeded(T0, 0.10, 20)


def test_window_min_samples() -> None:
    fw = _window([(False, T0)] * 19)
    assert not fw.exceeded(T0, 0.10, 20)  # 100 % failures, but only 19 checks
    fw.record(False, T0)
    assert fw.exceeded(T0, 0.10, 20)


def test_window_slides_as_time_advances() -> None:
    # 60 s window in 10 buckets of 6 s: records of bucket [T0, T0 + 6) leave at T0 + 60.
    start = 6 * 300_000_000.0  # a bucket boundary
    fw = _window([(False, start)] * 10 + [(True, start + 30)] * 10)
    assert fw.exceeded(start + 59.999, 0.5, 20)
    assert not fw.exceeded(start + 60, 0.5, 1)  # the failures expired; 10 successes remain
    assert fw.exceeded(start + 60, 0.0, 10)  # the successes are still counted
    assert not fw.exceeded(start + 90, 0.0, 1)  # ... until they too leave the window


def test_window_expiry_also_happens_on_record() -> None:
    start = 6 * 300_000_000.0
    fw = _window([(False, start)] * 50)
    fw.record(True, start + 120)
    assert not fw.exceeded(start + 120, 0.01, 2)  # one success left
    assert fw.exceeded(start + 120, 0.0, 1)


def test_window_reset_forgets_everything() -> None:
    fw = _window([(False, T0)] * 30)
    assert fw.exceeded(T0, 0.1, 20)
    fw.reset()
    assert not fw.exceeded(T0, 0.0, 1)
    fw.record(False, T0)
    assert fw.exceeded(T0, 1.0, 1)


def test_window_many_records_in_one_bucket_stay_one_bucket() -> None:
    fw = _window([(True, T0 + i * 0.001) for i in range(1000)])
    assert fw._past == []  # all in the current bucket
    assert fw.exceeded(T0 + 1, 0.0, 1000)
    assert not fw.exceeded(T0 + 1, 0.0, 1001)


def test_negative_cache_is_bounded_and_built_on_the_first_miss() -> None:
    # cachetools (and random, heapq ...) is imported by the first kid forgotten, not by every
    # key source at construction: a cold start whose keys hold the token's kid never loads it.
    code = (
        "import sys\n"
        "from cognito_jwt._cache import FetchGate, Admission\n"
        "from cognito_jwt._options import RefreshPolicy\n"
        "clock = [0.0]\n"
        "gate = FetchGate.for_policy(RefreshPolicy(negative_kid_max=2, negative_kid_ttl=60),"
        " lambda: clock[0])\n"
        "assert 'x' not in gate.unknown and len(gate.unknown) == 0 and list(gate.unknown) == []\n"
        "assert 'cachetools' not in sys.modules\n"
        "for kid in ('a', 'b', 'c'):\n"
        "    gate.forget_kid(kid)\n"
        "assert 'cachetools' in sys.modules\n"
        "assert len(gate.unknown) == 2 and 'c' in gate.unknown  # bounded: the oldest went\n"
        "assert gate.admit('c', 0.0, cooldown=0) is Admission.UNKNOWN\n"
        "clock[0] = 61.0\n"
        "assert 'c' not in gate.unknown  # aged out on the given clock\n"
    )
    run_python(code)
