"""Timing helpers shared by the benchmarks: interleaved rounds, medians, child processes."""

from __future__ import annotations

import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping


def per_call_us(fn: Callable[[], object], calls: int) -> float:
    """Mean microseconds per call of *fn* over *calls* calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def interleaved_medians(
    candidates: Mapping[str, Callable[[], object]], rounds: int, calls: int
) -> dict[str, float]:
    """Median µs per call of each candidate, measured in shuffled rounds in one run.

    Interleaving spreads the machine's noise over every candidate alike, so the ratios
    between them hold even when absolute times drift.
    """
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        order = list(candidates)
        random.shuffle(order)
        for name in order:
            samples[name].append(per_call_us(candidates[name], calls))
    return {name: statistics.median(values) for name, values in samples.items()}


def process_ms(code: str, args: list[str]) -> float:
    """Wall milliseconds for a fresh interpreter to run *code* with *args* (must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)  # noqa: S603
    return (time.perf_counter() - start) * 1e3
