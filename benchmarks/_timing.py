"""Timing helpers shared by the benchmarks: interleaved rounds, medians, spreads, processes.

Two clocks, for two questions:

* :data:`CPU` (``time.thread_time``, the CPU time of the measuring thread) for single-thread
  comparisons, the default here. On a busy machine a batch timed by the wall clock also counts
  the time it waited in the run queue while other processes ran: a short batch can finish
  inside one scheduler slice while a longer one waits, which turns ratios into noise. The
  thread's CPU time counts only the work it did (the signature check included: OpenSSL runs in
  the same thread, the GIL released or not).
* :data:`WALL` (``time.perf_counter``) where threads or processes are compared, or where
  waiting is the point (throughput, latency, a child process's start): CPU time of one thread
  can't see the others. The scripts say, next to each figure, which clock it comes from.

Each figure comes with its spread over the rounds (:func:`spread`), so that a reader sees how
far to trust it.
"""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

Clock = Callable[[], float]

CPU: Clock = time.thread_time
"""CPU seconds of the calling thread: what single-thread ratios are timed with."""
WALL: Clock = time.perf_counter
"""Wall seconds: for threads, processes, throughput and latency."""
CLOCKS: dict[str, Clock] = {"cpu": CPU, "wall": WALL}
"""The clocks by the name a ``--clock`` option takes."""


def per_call_us(fn: Callable[[], object], calls: int, clock: Clock = CPU) -> float:
    """Mean microseconds per call of *fn* over *calls* calls, on *clock*."""
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls * 1e6


def calibrate(
    fn: Callable[[], object], target_s: float, minimum: int = 5, clock: Clock = CPU
) -> int:
    """How many calls of *fn* take about *target_s* seconds on *clock* (at least *minimum*)."""
    calls = 1
    while True:
        start = clock()
        for _ in range(calls):
            fn()
        elapsed = clock() - start
        if elapsed >= target_s / 10 or calls >= 1_000_000:
            return max(minimum, round(calls * target_s / max(elapsed, 1e-9)))
        calls *= 4


def interleaved_samples(
    candidates: Mapping[str, Callable[[], object]],
    rounds: int,
    calls: int | Mapping[str, int],
    clock: Clock = CPU,
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
            samples[name].append(per_call_us(candidates[name], counts[name], clock))
    return samples


def interleaved_medians(
    candidates: Mapping[str, Callable[[], object]], rounds: int, calls: int, clock: Clock = CPU
) -> dict[str, float]:
    """Median µs per call of each candidate, measured in shuffled rounds in one run.

    Interleaving spreads the machine's noise over every candidate alike, so the ratios
    between them hold even when absolute times drift.
    """
    samples = interleaved_samples(candidates, rounds, calls, clock)
    return {name: statistics.median(values) for name, values in samples.items()}


def round_ratios(samples: Mapping[str, list[float]], name: str, reference: str) -> list[float]:
    """``name / reference`` in each round (both measured in the same round)."""
    pairs = zip(samples[name], samples[reference], strict=True)
    return [value / ref for value, ref in pairs]


def median_ratio(samples: Mapping[str, list[float]], name: str, reference: str) -> float:
    """Median over rounds of ``name / reference`` measured in the same round."""
    return statistics.median(round_ratios(samples, name, reference))


def spread(values: Sequence[float]) -> float:
    """How far the rounds disagree: (90th - 10th percentile) / median, as a fraction.

    0.03 means that the middle 80 % of the rounds lie within 3 % of the median's size of each
    other. The deciles, not min and max, so that one round disturbed by a page fault or a
    collection does not decide; with fewer than 3 rounds, min and max.
    """
    median = statistics.median(values)
    if len(values) < 3:
        low, high = min(values), max(values)
    else:
        deciles = statistics.quantiles(values, n=10, method="inclusive")
        low, high = deciles[0], deciles[-1]
    return (high - low) / median if median else 0.0


def figure(values: Sequence[float], digits: int = 1) -> str:
    """``median ±s%``: the median of *values* and their :func:`spread` (half of it, ±)."""
    return f"{statistics.median(values):.{digits}f} ±{spread(values) * 50:.0f}%"


def ratio_figure(samples: Mapping[str, list[float]], name: str, reference: str) -> str:
    """The median per-round ratio of *name* to *reference*, with its spread (``1.02 ±1%``)."""
    return figure(round_ratios(samples, name, reference), digits=2)


def process_ms(code: str, args: list[str]) -> float:
    """Wall milliseconds for a fresh interpreter to run *code* with *args* (must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)  # noqa: S603
    return (time.perf_counter() - start) * 1e3


def threads_throughput(fn: Callable[[], object], threads: int, calls: int) -> float:
    """Calls per wall second of *threads* threads started together, each calling *fn* *calls* times.

    Wall time on purpose: the threads' CPU times overlap, and what is compared is how many
    calls the threads get done together per second.
    """
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
