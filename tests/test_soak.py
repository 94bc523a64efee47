"""The short soak: sync and async verification across key rotations, no growth (CI version).

The long one is ``python -m nox -s soak`` (a million verifications per path).
"""

from __future__ import annotations

from tests.soak import MAX_GROWTH, run_soak


def test_verification_across_rotations_does_not_grow_memory_threads_or_tasks() -> None:
    result = run_soak(20_000, rotate_every=2_000)
    assert result.verified == 40_000
    assert result.rejected == 0  # no false reject of a token signed by the published key
    assert result.rotations == 20
    # One fetch per rotation (the first token with a new kid), plus the initial fetch; the
    # last rotation of each run is never verified against.
    assert result.fetches <= result.rotations + 2 + 1
    assert result.memory_growth < MAX_GROWTH, result
    assert result.threads_after <= result.threads_before
    assert result.tasks_after == 0
