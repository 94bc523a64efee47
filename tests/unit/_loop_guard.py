"""A guard for async tests of the key source: no blocking fetch may run on an event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cognito_jwt._keysource import RemoteKeySource


def blocking_fetches_on_a_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if a blocking (sync) fetch ever runs on a thread with a running loop.

    Used as an autouse fixture: every async scenario of the module is checked, whatever it is
    about. Yields the offences (the refresh reasons) for tests that look at them.
    """
    offences: list[str] = []
    original = RemoteKeySource._fetch_sync

    def guarded(self: RemoteKeySource, seq: int, reason: str) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return original(self, seq, reason)
        offences.append(reason)
        raise AssertionError("a blocking fetch ran on the event loop")

    monkeypatch.setattr(RemoteKeySource, "_fetch_sync", guarded)
    yield offences
    assert offences == [], f"the event loop was blocked by a sync fetch ({offences})"
