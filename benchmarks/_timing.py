"""Timing helpers shared by the benchmarks: interleaved rounds, medians, child processes."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Mean microseconds per call of *fn* over *calls* calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def calibrate(fn: Callable[[], object], target_s: float, minimum: int = 5) -> int:
    """How many calls of *fn* take about *target_s* seconds (at least *minimum*)."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= target_s / 10 or calls >= 1_000_000:
            return max(minimum, round(calls * target_s / elapsed))
        calls *= 4


def interleaved_samples(
    candidates: Mapping[str, Callable[[], object]],
    rounds: int,
    calls: int | Mapping[str, int],
) -> dict[str, list[float]]:
    """µs per call of each candidate in each of *rounds* shuffled rounds, in one run.

    Interleaving spreads the machine's noise over every candidate alike: sample ``i`` of every
    candidate comes from the same round, so per-round ratios between candidates hold even
    when absolute times drift. *calls* is one count for all, or a count per candidate.
    """
    counts = calls if isinstance(calls, Mapping) else dict.fromkeys(candidates, calls)
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        order = list(candidates)
        random.shuffle(order)
        for name in order:
            samples[name].append(per_call_us(candidates[name], counts[name]))
    return samples


def interleaved_medians(
    candidates: Mapping[str, Callable[[], object]], rounds: int, calls: int
) -> dict[str, float]:
    """Median µs per call of each candidate, measured in shuffled rounds in one run.

    Interleaving spreads the machine's noise over every candidate alike, so the ratios
    between them hold even when absolute times drift.
    """
    samples = interleaved_samples(candidates, rounds, calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def median_ratio(samples: Mapping[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of ``name / reference`` measured in the same round."""
    pairs = zip(samples[name], samples[reference], strict=True)
    return statistics.median(value / ref for value, ref in pairs)


def process_ms(code: str, args: list[str]) -> float:
    """Wall milliseconds for a fresh interpreter to run *code* with *args* (must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)  # noqa: S603
    return (time.perf_counter() - start) * 1e3


def threads_throughput(fn: Callable[[], object], threads: int, calls: int) -> float:
    """Calls per second of *threads* threads started together, each calling *fn* *calls* times."""
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(calls):
            fn()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return threads * calls / (time.perf_counter() - start)
