"""Soak: many verifications through the sync and async paths across key rotations.

``python -m tests.soak [N]`` (what ``python -m nox -s soak`` runs, N = 1,000,000 by default)
verifies N tokens synchronously and N more from asyncio tasks against a real local issuer on
127.0.0.1 that rotates (and retires) its key every ``rotate_every`` verifications, and reports
whether memory (a tracemalloc snapshot after warm-up against one at the end), threads or
tasks grew. ``tests/test_soak.py`` runs a short version in CI.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass

from cognito_jwt import JwtError, JwtVerifier, RefreshPolicy
from cognito_jwt.testing import LocalIssuer

AUDIENCE = "soak-api"
# What may legitimately grow: the parsed-header cache (64 entries of ~1-2 KB: one per key seen)
# and interpreter-level caches. A leak of even a few bytes per verification exceeds it.
MAX_GROWTH = 512 * 1024


@dataclass(frozen=True)
class SoakResult:
    """What one soak run measured."""

    verified: int
    rejected: int
    rotations: int
    fetches: int
    memory_growth: int  # bytes, tracemalloc: end minus after warm-up
    threads_before: int
    threads_after: int
    tasks_after: int
    seconds: float


def _policy() -> RefreshPolicy:
    # Rotations come faster than the default 30 s cooldown would allow refreshes.
    return RefreshPolicy(cooldown=0.001, negative_kid_ttl=0.001, backoff_initial=0.001)


def run_soak(total: int, *, rotate_every: int = 20_000) -> SoakResult:
    """Verify *total* tokens sync and *total* async; rotate every *rotate_every*.

    Both paths, and a rotation on each, are warmed up first, so that one-time costs (lazy
    imports, the event loop, the first fetch) are in the baseline and only growth shows.
    """
    started = time.perf_counter()
    counts = {"verified": 0, "rejected": 0, "rotations": 0}
    with LocalIssuer(algorithm="ES256") as issuer:
        verifier = JwtVerifier(
            issuer=issuer.issuer, audience=AUDIENCE, store=None, refresh=_policy()
        )

        def token() -> str:
            now = int(time.time())
            return issuer.mint({"sub": "soak", "aud": AUDIENCE, "iat": now, "exp": now + 3600})

        current = [token()]

        def step(n: int, ok: bool) -> None:
            counts["verified" if ok else "rejected"] += 1
            if n % rotate_every == 0:
                issuer.rotate()
                issuer.retire()
                counts["rotations"] += 1
                current[0] = token()

        def sync_phase(count: int) -> None:
            for n in range(1, count + 1):
                try:
                    verifier.verify(current[0])
                    ok = True
                except JwtError:
                    ok = False
                step(n, ok)

        async def async_phase(count: int) -> int:
            for n in range(1, count + 1):
                try:
                    await verifier.verify_async(current[0])
                    ok = True
                except JwtError:
                    ok = False
                step(n, ok)
            return len(asyncio.all_tasks()) - 1  # tasks left besides this one

        # Warm-up: each path through a rotation (rotate_every divides the warm-up count).
        sync_phase(rotate_every)
        asyncio.run(async_phase(rotate_every))
        warm = dict(counts)
        gc.collect()
        tracemalloc.start(1)
        baseline = tracemalloc.take_snapshot()
        threads_before = threading.active_count()
        sync_phase(total)
        tasks_after = asyncio.run(async_phase(total))
        gc.collect()
        end = tracemalloc.take_snapshot()
        tracemalloc.stop()
        growth = sum(stat.size_diff for stat in end.compare_to(baseline, "filename"))
        return SoakResult(
            verified=counts["verified"] - warm["verified"],
            rejected=counts["rejected"] - warm["rejected"],
            rotations=counts["rotations"] - warm["rotations"],
            fetches=verifier.stats.fetches,
            memory_growth=growth,
            threads_before=threads_before,
            threads_after=threading.active_count(),
            tasks_after=tasks_after,
            seconds=time.perf_counter() - started,
        )


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    result = run_soak(total, rotate_every=max(1, total // 20))
    for name, value in vars(result).items():
        print(f"{name:>15}: {value}")
    healthy = (
        result.rejected == 0
        and result.memory_growth < MAX_GROWTH
        and result.threads_after <= result.threads_before
        and result.tasks_after == 0
    )
    print("soak:", "OK" if healthy else "FAILED")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
