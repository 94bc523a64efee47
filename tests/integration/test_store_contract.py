"""The :class:`KeyStore` contract, once, for every persistent store: file, Redis, DynamoDB.

Each store runs on what a user would have (a directory, a real redis-server, DynamoDB as
MiniStack serves it), and each case states one clause of the contract: round trips on both
faces, a short history, an entry that cannot be used is absent (with a warning, never an
exception), a write that cannot be done is logged, not raised. The shared stores also
coordinate refreshes (:class:`RefreshCoordinator`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from cognito_jwt import FileStore, StoredKeySet
from cognito_jwt.stores import DynamoDBStore, KeyStore, RedisStore, RefreshCoordinator
from cognito_jwt.stores._document import key_digest
from tests.servers.ministack import MiniStack
from tests.servers.redis_server import RedisServer

KEY = "discovery:https://issuer.example"
URI = "https://issuer.example/jwks"


@dataclass
class Subject:
    """A store under test, and how to plant raw bytes where it keeps the key set *key*."""

    store: KeyStore
    plant: Callable[[str, bytes], None]


def _file(tmp_path: Path, **_: Any) -> Subject:
    store = FileStore(tmp_path / "store", history=2)

    def plant(key: str, raw: bytes) -> None:
        path = tmp_path / "store" / f"{key_digest(key)}.json"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(raw)
        path.chmod(0o600)

    return Subject(store, plant)


def _redis(tmp_path: Path, request: pytest.FixtureRequest) -> Subject:
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisStore.from_url(server.url, namespace=uuid.uuid4().hex, history=2, fallback=None)
    request.addfinalizer(store.close)

    def plant(key: str, raw: bytes) -> None:
        with redis.Redis.from_url(server.url) as client:
            client.set(store.data_key(key), raw)

    return Subject(store, plant)


def _dynamodb(tmp_path: Path, request: pytest.FixtureRequest) -> Subject:
    server: MiniStack = request.getfixturevalue("dynamodb_server")
    table: str = request.getfixturevalue("dynamodb_table")
    client = server.client("dynamodb")
    store = DynamoDBStore(table, client=client, history=2, fallback=None)

    def plant(key: str, raw: bytes) -> None:
        item = {"pk": {"S": store.data_key(key)}, "document": {"B": raw}}
        client.put_item(TableName=table, Item=item)

    return Subject(store, plant)


@pytest.fixture(params=["file", "redis", "dynamodb"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    make = {"file": _file, "redis": _redis, "dynamodb": _dynamodb}[request.param]
    return make(tmp_path, request=request)


def _record(version: int, fetched_at: float = 1_800_000_000.0) -> StoredKeySet:
    return StoredKeySet({"keys": [], "version": version}, fetched_at + version, 3600.0, URI)


def _history(store: KeyStore) -> list[int]:
    history: Callable[[str], list[StoredKeySet]] = getattr(store, "history")  # noqa: B009
    return [r.jwks["version"] for r in history(KEY)]


def test_round_trip_on_both_faces(subject: Subject) -> None:
    store = subject.store
    assert isinstance(store, KeyStore)
    assert store.load(KEY) is None
    store.save(KEY, _record(1))
    assert store.load(KEY) == _record(1)

    async def faces() -> StoredKeySet | None:
        assert await store.load_async(KEY) == _record(1)
        await store.save_async(KEY, _record(2))
        return await store.load_async(KEY)

    assert asyncio.run(faces()) == _record(2)
    assert store.load(KEY) == _record(2)
    assert store.load("discovery:https://another.example") is None


def test_history_is_newest_first_capped_and_without_repeats(subject: Subject) -> None:
    store = subject.store
    for version in (1, 2, 2, 3, 4):
        store.save(KEY, _record(version))
    assert _history(store) == [3, 2]


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\x01 not json \xff",
        b'{"schema": 1, "key": "discovery:https://elsewhere.example", "current": {}}',
        b'{"schema": 2, "key": "discovery:https://issuer.example"}',
        b'{"schema": 1, "key": "discovery:https://issuer.example", "current": {"jwks": 1}}',
        b"[1, 2, 3]",
    ],
    ids=["garbage", "other-key", "other-schema", "bad-current", "not-an-object"],
)
def test_an_entry_that_cannot_be_used_is_absent_with_a_warning(
    subject: Subject, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    subject.plant(KEY, raw)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert subject.store.load(KEY) is None
        assert asyncio.run(subject.store.load_async(KEY)) is None
    assert any("ignoring it" in r.getMessage() for r in caplog.records), caplog.text
    subject.store.save(KEY, _record(1))  # a save replaces it
    assert subject.store.load(KEY) == _record(1)


def test_a_record_that_cannot_be_written_is_logged_not_raised(
    subject: Subject, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        subject.store.save(KEY, StoredKeySet({"keys": [float("nan")]}, 1.0, 2.0, URI))
    assert any("cannot write" in r.getMessage() for r in caplog.records), caplog.text
    assert subject.store.load(KEY) is None


def test_a_shared_store_coordinates_refreshes(subject: Subject) -> None:
    store = subject.store
    if not isinstance(store, RefreshCoordinator):
        assert isinstance(store, FileStore)  # a process-local store: nothing to coordinate
        return
    with store.coordinate(KEY, newer_than=None, timeout=2.0) as shared:
        assert shared is None  # this process leads
        store.save(KEY, _record(1))
    with store.coordinate(KEY, newer_than=_record(0).fetched_at, timeout=2.0) as shared:
        assert shared == _record(1)  # a newer key set is there: use it
