"""``DynamoDBStore`` against DynamoDB as MiniStack serves it on 127.0.0.1, with real fleets.

The fleet tests are those of ``RedisStore`` (tests/integration/shared_store.py): fleet members
are Python processes (tests/integration/redis_worker.py) with their own empty fallback file
store, released together from a barrier; a :class:`LocalIssuer` counts the requests of the
whole fleet. Throttling is DynamoDB's own error response, injected into a real client's
requests before they are sent (botocore parses it as it would AWS's); a stopped table is the
emulator stopped. Nothing sleeps to let time pass: waits poll real processes, within bounds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cognito_jwt import (
    AlgorithmNotAllowedError,
    Claims,
    ConfigurationError,
    FetchOptions,
    FileStore,
    JwtVerifier,
    KeyNotFoundError,
    StoredKeySet,
)
from cognito_jwt.stores import DynamoDBDenyList, DynamoDBStore, KeyStore, RefreshCoordinator
from cognito_jwt.stores._dynamodb import DEFAULT_TTL, MAX_ITEM_BYTES, create_table
from cognito_jwt.testing import LocalIssuer
from tests.helpers import key_state
from tests.integration.redis_worker import Worker
from tests.integration.shared_store import (
    DISCOVERY,
    FETCH_TIMEOUT,
    JWKS,
    SLOW_JWKS,
    TAMPERED,
    GatedIssuer,
    _cache_key,
    _cold_fleet,
    _document,
    _tampered,
    _token,
    _wait_for,
)
from tests.servers.dynamodb_requests import THROTTLED, Requests
from tests.servers.ministack import MiniStack

BUSY_WAIT = 240.0  # seconds a fleet member may take on a machine made busy (never reached idle)
BUSY_FETCH_TIMEOUT = 10.0


# === Helpers ======================================================================================
@pytest.fixture
def issuer() -> Iterator[GatedIssuer]:
    with GatedIssuer() as local:
        yield local


def _store(server: MiniStack, table: str, tmp_path: Path, **options: Any) -> DynamoDBStore:
    options.setdefault("fallback", FileStore(tmp_path / "local"))
    options.setdefault("client", server.client("dynamodb"))
    return DynamoDBStore(table, **options)


def _verifier(issuer: LocalIssuer, store: KeyStore) -> JwtVerifier:
    fetch = FetchOptions(timeout=FETCH_TIMEOUT, retries=0)
    return JwtVerifier(issuer=issuer.issuer, audience="api", store=store, fetch=fetch)


def _item(server: MiniStack, table: str, name: str) -> dict[str, Any] | None:
    reply = server.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": name}}, ConsistentRead=True
    )
    item: dict[str, Any] | None = reply.get("Item")
    return item


def _stored(server: MiniStack, table: str, store: DynamoDBStore, key: str) -> Any:
    item = _item(server, table, store.data_key(key))
    return None if item is None else json.loads(item["document"]["B"])


def _record(jwks: Any, fetched_at: float | None = None) -> StoredKeySet:
    when = time.time() if fetched_at is None else fetched_at
    return StoredKeySet(jwks, when, 3600.0, "https://issuer.example/jwks")


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and "shared key store" in r.getMessage()
    ]


# === The store ====================================================================================
def test_is_a_key_store_and_a_refresh_coordinator(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    assert isinstance(store, KeyStore)
    assert isinstance(store, RefreshCoordinator)
    assert repr(store) == (
        f"DynamoDBStore('dynamodb://eu-west-1/{dynamodb_table}', namespace='cognito-jwt')"
    )


def test_import_is_lazy() -> None:
    code = (
        "import sys, cognito_jwt, cognito_jwt.stores\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules\n"
        "from cognito_jwt.stores import DynamoDBStore, DynamoDBDenyList\n"
        "assert 'boto3' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_item_layout_is_the_documented_one(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path, namespace="orders")
    key = "discovery:https://issuer.example"
    before = time.time()
    store.save(key, _record({"keys": []}))
    item = _item(dynamodb_server, dynamodb_table, store.data_key(key))
    assert item is not None
    assert set(item) == {"pk", "document", "expires_at"}
    assert item["pk"]["S"].startswith("orders:jwks:")
    assert before + DEFAULT_TTL <= float(item["expires_at"]["N"]) <= time.time() + DEFAULT_TTL + 1
    document = json.loads(item["document"]["B"])
    assert (document["schema"], document["key"]) == (1, key)
    ttl = dynamodb_server.client("dynamodb").describe_time_to_live(TableName=dynamodb_table)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }


def test_a_warm_cold_start_is_one_consistent_get_item(
    issuer: LocalIssuer, dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    """A new process whose key set is in the table: one GetItem, no fetch."""
    first = _store(dynamodb_server, dynamodb_table, tmp_path / "a")
    cold = Requests(first.client)
    assert _verifier(issuer, first).verify(_token(issuer)).sub == "alice"
    # The first process found nothing: load, lease (write + read), save (read + write), release.
    assert cold.sent == ["GetItem", "PutItem", "GetItem", "GetItem", "PutItem", "DeleteItem"]

    client = dynamodb_server.client("dynamodb")
    warm = Requests(client)
    consistent: list[bool] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.GetItem",
        lambda params, **_: consistent.append(params.get("ConsistentRead")),
    )
    second_store = _store(dynamodb_server, dynamodb_table, tmp_path / "b", client=client)
    second = _verifier(issuer, second_store)
    assert second.verify(_token(issuer)).sub == "alice"
    assert warm.sent == ["GetItem"]
    assert consistent == [True]
    assert (second.stats.fetches, second.stats.l2_loads) == (0, 1)
    assert issuer.requests[JWKS] == 1


def test_history_newest_first_and_an_oversized_document_drops_it(
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path, history=2, fallback=None)
    key = "https://issuer.example/jwks"
    for n in range(4):
        store.save(key, _record({"keys": [], "n": n}))
    assert [r.jwks["n"] for r in store.history(key)] == [2, 1]
    padding = "x" * (MAX_ITEM_BYTES // 3)
    store.save(key, _record({"keys": [], "n": 4, "pad": padding}))
    store.save(key, _record({"keys": [], "n": 5, "pad": padding}))
    assert [r.jwks["n"] for r in store.history(key)] == [4, 3]
    store.save(key, _record({"keys": [], "n": 6, "pad": padding}))  # with history: too large
    assert store.history(key) == []
    loaded = store.load(key)
    assert loaded is not None
    assert loaded.jwks["n"] == 6
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        store.save(key, _record({"keys": [], "pad": padding * 3}))  # never fits: not written
    assert "cannot write DynamoDB item" in caplog.text
    assert store.available
    again = store.load(key)
    assert again is not None
    assert again.jwks["n"] == 6


def test_an_item_past_its_expiry_is_absent(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path, fallback=None)
    key = "https://issuer.example/jwks"
    store.save(key, _record({"keys": []}))
    assert store.load(key) is not None
    store._clock = lambda: time.time() + DEFAULT_TTL + 10  # DynamoDB deletes it "eventually"
    assert store.load(key) is None
    assert asyncio.run(store.load_async(key)) is None


@pytest.mark.parametrize(
    "options",
    [
        {"table_name": "ab"},
        {"table_name": "no spaces"},
        {"table_name": 42},
        {"namespace": ""},
        {"history": -1},
        {"ttl": 0},
        {"retry_interval": float("nan")},
        {"poll_interval": -1},
        {"timeout": 0},
        {"client": "http://127.0.0.1:4566"},
        {"region_name": "eu-west-1"},  # with a client: it would be ignored
        {"endpoint_url": "http://127.0.0.1:1"},
        {"fallback": "elsewhere"},
    ],
)
def test_bad_options_are_configuration_errors(
    dynamodb_server: MiniStack, options: dict[str, Any]
) -> None:
    arguments: dict[str, Any] = {"table_name": "jwks", "client": dynamodb_server.client("dynamodb")}
    arguments.update(options)
    if "timeout" in options:
        del arguments["client"]
    with pytest.raises(ConfigurationError):
        DynamoDBStore(**arguments)


# === Refresh coordination =========================================================================
def test_the_leader_holds_a_conditional_lease_and_releases_it(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    other = _store(dynamodb_server, dynamodb_table, tmp_path, poll_interval=0.01)
    key = "https://issuer.example/jwks"
    lock = store.lock_key(key)
    with store.coordinate(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared:
        assert shared is None
        item = _item(dynamodb_server, dynamodb_table, lock)
        assert item is not None
        lease_ms = float(item["lease_until"]["N"]) - time.time() * 1000
        assert 0 < lease_ms <= FETCH_TIMEOUT * 1000  # a lease of one fetch timeout
        # Another process waits; it gives up after MAX_WAIT_TIMEOUTS x timeout.
        with other.coordinate(key, newer_than=None, timeout=0.05) as waited:
            assert waited is None
        # Not taken from us (the holder may have renewed it meanwhile: compare the owner).
        after = _item(dynamodb_server, dynamodb_table, lock)
        assert after is not None
        assert after["owner"] == item["owner"]
        store.save(key, _record({"keys": [], "v": 1}))
    assert _item(dynamodb_server, dynamodb_table, lock) is None
    # Now a waiter that needs a newer key set than one it had finds the saved one.
    with other.coordinate(key, newer_than=time.time() - 60, timeout=FETCH_TIMEOUT) as shared:
        assert shared is not None
        assert shared.jwks["v"] == 1
    assert _item(dynamodb_server, dynamodb_table, lock) is None  # handed back at once


def test_a_waiter_takes_the_result_of_a_slow_leader(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    leader = _store(dynamodb_server, dynamodb_table, tmp_path)
    waiter = _store(dynamodb_server, dynamodb_table, tmp_path, poll_interval=0.01)
    key = "https://issuer.example/jwks"
    holding = threading.Event()
    waiting = Requests(waiter.client)
    results: list[StoredKeySet | None] = []

    def wait_for_it() -> None:
        holding.wait()
        with waiter.coordinate(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared:
            results.append(shared)

    thread = threading.Thread(target=wait_for_it)
    thread.start()
    with leader.coordinate(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared:
        assert shared is None
        holding.set()
        # The waiter polls: it tries the lease (refused) and reads, more than once.
        _wait_for(lambda: waiting.sent.count("PutItem") >= 3, "the waiter to poll")
        leader.save(key, _record({"keys": [], "v": 2}))
    thread.join(30)
    assert len(results) == 1
    assert results[0] is not None
    assert results[0].jwks["v"] == 2


def test_a_dead_holders_lease_is_taken_over_once_it_runs_out(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    dead = _store(dynamodb_server, dynamodb_table, tmp_path)
    key = "https://issuer.example/jwks"
    # A process takes the lease, then dies: nobody renews or releases it.
    led, _ = dead._run(dead._coordinate_plan(key, "dead-token", None, FETCH_TIMEOUT), (False, None))
    assert led
    alive = _store(dynamodb_server, dynamodb_table, tmp_path)
    alive._monotonic = lambda: 0.0  # the wait never runs out: only the lease can end it
    alive._clock = lambda: time.time() + FETCH_TIMEOUT + 0.01  # its lease has run out
    with alive.coordinate(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared:
        assert shared is None  # taken over
        item = _item(dynamodb_server, dynamodb_table, alive.lock_key(key))
        assert item is not None
        assert item["owner"]["S"] != "dead-token"
    assert _item(dynamodb_server, dynamodb_table, alive.lock_key(key)) is None
    # The dead one's renewal and release no longer touch another's lease.
    assert dead._run(dead._renew_plan(key, "dead-token", FETCH_TIMEOUT), True) is False


def test_a_lease_item_without_a_lease_time_does_not_hold_the_refresh(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    """An item another party wrote where the lease goes, with no ``lease_until``, is no lease."""
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    key = "https://issuer.example/jwks"
    planted = {"pk": {"S": store.lock_key(key)}, "owner": {"S": "someone"}}
    dynamodb_server.client("dynamodb").put_item(TableName=dynamodb_table, Item=planted)
    with store.coordinate(key, newer_than=None, timeout=0.2) as shared:
        assert shared is None
        item = _item(dynamodb_server, dynamodb_table, store.lock_key(key))
        assert item is not None
        assert item["owner"]["S"] != "someone"


def test_a_holder_keeps_its_lease_as_long_as_it_fetches(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    key = "https://issuer.example/jwks"
    timeout = 0.3
    with store.coordinate(key, newer_than=None, timeout=timeout) as shared:
        assert shared is None
        first = _item(dynamodb_server, dynamodb_table, store.lock_key(key))
        assert first is not None
        seen = [float(first["lease_until"]["N"])]

        def renewed() -> bool:
            item = _item(dynamodb_server, dynamodb_table, store.lock_key(key))
            assert item is not None
            assert item["owner"] == first["owner"]  # never lost meanwhile
            if float(item["lease_until"]["N"]) > seen[-1]:
                seen.append(float(item["lease_until"]["N"]))
            return len(seen) > 4  # past the first lease's end, renewed 4 times

        _wait_for(renewed, "the lease to be renewed")
    assert seen[-1] - seen[0] > timeout * 1000
    assert _item(dynamodb_server, dynamodb_table, store.lock_key(key)) is None


def test_async_coordination(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    key = "https://issuer.example/jwks"

    async def scenario() -> StoredKeySet | None:
        async with store.coordinate_async(key, newer_than=None, timeout=FETCH_TIMEOUT) as shared:
            assert shared is None
            assert _item(dynamodb_server, dynamodb_table, store.lock_key(key)) is not None
            await store.save_async(key, _record({"keys": [], "v": 3}))
        assert _item(dynamodb_server, dynamodb_table, store.lock_key(key)) is None
        async with store.coordinate_async(key, newer_than=0, timeout=FETCH_TIMEOUT) as shared:
            return shared

    shared = asyncio.run(scenario())
    assert shared is not None
    assert shared.jwks["v"] == 3


def test_the_async_faces_never_send_a_request_from_the_event_loop(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    client = dynamodb_server.client("dynamodb")
    on_loop: list[str] = []

    def sent(model: Any, **_: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread: fine
        on_loop.append(model.name)

    client.meta.events.register("before-call.dynamodb", sent)
    store = _store(dynamodb_server, dynamodb_table, tmp_path, client=client)
    deny = DynamoDBDenyList(dynamodb_table, client=client)
    key = "https://issuer.example/jwks"

    async def scenario() -> None:
        async with store.coordinate_async(key, newer_than=None, timeout=FETCH_TIMEOUT):
            await store.save_async(key, _record({"keys": []}))
        assert await store.load_async(key) is not None
        await deny.revoke_subject_async("alice")
        assert await deny.is_revoked_async(Claims({"sub": "alice", "iat": 0}))

    asyncio.run(scenario())
    assert on_loop == []


# === Fleets =======================================================================================
@pytest.fixture
def fleet(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> Iterator[Callable[..., Worker]]:
    """Start fleet members sharing one table: each with its own empty fallback; all killed after."""
    workers: list[Worker] = []

    def start(issuer: LocalIssuer, **spec: Any) -> Worker:
        defaults = {
            "store": "dynamodb",
            "table": dynamodb_table,
            "endpoint_url": dynamodb_server.endpoint_url,
            "namespace": "fleet",
            "issuer": issuer.issuer,
            "token": _token(issuer, f"user-{len(workers)}"),
            "cache_dir": str(tmp_path / f"worker-{len(workers)}"),
            "mode": "sync",
            "fetch_timeout": FETCH_TIMEOUT,
            "barrier": False,
        }
        workers.append(Worker({**defaults, **spec}))
        return workers[-1]

    yield start
    for worker in workers:
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Four busy loops (``while :; do :; done``) on a 2-core machine while the test runs."""
    loops = [
        subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"], stdin=subprocess.DEVNULL)
        for _ in range(4)
    ]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cold_fleet_fetches_once_and_a_new_process_survives_the_issuer(
    issuer: LocalIssuer, fleet: Callable[..., Worker], mode: str
) -> None:
    _cold_fleet(issuer, fleet, mode)

    issuer.stop()  # the issuer is down; a new process with an empty local cache starts
    late = fleet(issuer, mode=mode).result()
    assert late["ok"], late
    assert (late["fetches"], late["l2_loads"]) == (0, 1)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cold_fleet_fetches_once_from_a_slow_issuer_on_a_busy_machine(
    issuer: GatedIssuer, fleet: Callable[..., Worker], busy_machine: None, mode: str
) -> None:
    """The holder's fetch outlives its first lease; it renews it, and the others wait.

    Four busy loops share the 2 cores with the fleet, the emulator and the issuer (a thread
    of this process): an answer may take seconds, so the fetch timeout (also the lease) is
    one a starved machine needs, and the wait for each process allows for it.
    """
    issuer.jwks_delay = SLOW_JWKS
    _cold_fleet(issuer, fleet, mode, wait=BUSY_WAIT, fetch_timeout=BUSY_FETCH_TIMEOUT)


def test_the_lease_holder_killed_mid_fetch_another_process_completes_the_refresh(
    issuer: GatedIssuer,
    fleet: Callable[..., Worker],
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    tmp_path: Path,
) -> None:
    probe = _store(dynamodb_server, dynamodb_table, tmp_path, namespace="fleet")
    lock = probe.lock_key(_cache_key(issuer))
    issuer.gate.clear()  # the first JWKS request hangs: a fetch in mid-flight
    holder = fleet(issuer)
    _wait_for(lambda: issuer.requests[JWKS] == 1, "the holder's JWKS request")
    assert _item(dynamodb_server, dynamodb_table, lock) is not None  # fetching under the lease
    other = fleet(issuer)  # it waits: the lease is held
    holder.kill()
    issuer.gate.set()
    result = other.result()
    assert result["ok"], result
    assert result["fetches"] == 1  # it took over once the dead holder's lease ran out
    assert issuer.requests[JWKS] == 2
    assert issuer.requests[DISCOVERY] == 2
    assert _item(dynamodb_server, dynamodb_table, lock) is None


# === Outages ======================================================================================
def test_a_throttled_table_degrades_with_one_warning_and_recovers(
    issuer: LocalIssuer,
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = _store(dynamodb_server, dynamodb_table, tmp_path, retry_interval=0.05)
    requests = Requests(store.client)
    key = _cache_key(issuer)
    token = _token(issuer)
    running = _verifier(issuer, store)
    assert running.verify(token).sub == "alice"
    caplog.set_level(logging.INFO, logger="cognito_jwt")

    requests.answer = THROTTLED
    for _ in range(20):  # verification continues from memory ...
        assert running.verify(token).sub == "alice"
    started = _verifier(issuer, store)  # ... a new verifier starts from the local file ...
    assert started.verify(token).sub == "alice"
    assert (started.stats.fetches, started.stats.l2_loads) == (0, 1)
    running.refresh()  # ... and a refresh fetches directly
    asyncio.run(running.refresh_async())
    assert issuer.requests[JWKS] == 3
    assert not store.available
    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 1  # once per outage
    assert "ProvisionedThroughputExceededException" in warnings[0]
    assert "trying DynamoDB again" in warnings[0]

    requests.answer = None
    _wait_for(lambda: store.load(key) is not None and store.available, "the table to answer")
    running.refresh()
    stored = _stored(dynamodb_server, dynamodb_table, store, key)
    assert stored["current"]["jwks"] == issuer.jwks()  # writes reach the table again
    infos = _messages(caplog, logging.INFO)
    assert len(infos) == 1
    assert "available again" in infos[0]
    assert len(_messages(caplog, logging.WARNING)) == 1


def test_a_stopped_table_degrades_with_one_warning_and_recovers(
    issuer: LocalIssuer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = MiniStack().start()
    try:
        table = "jwks-outage"
        create_table(server.client("dynamodb"), table)
        store = _store(server, table, tmp_path, retry_interval=0.05)
        token = _token(issuer)
        running = _verifier(issuer, store)
        assert running.verify(token).sub == "alice"
        caplog.set_level(logging.INFO, logger="cognito_jwt")

        server.stop()  # connections refused
        async_started = _verifier(issuer, store)
        assert asyncio.run(async_started.verify_async(token)).sub == "alice"
        assert (async_started.stats.fetches, async_started.stats.l2_loads) == (0, 1)
        running.refresh()
        assert not store.available
        assert len(_messages(caplog, logging.WARNING)) == 1

        server = MiniStack(port=server.port).start()  # back, on the same port, empty
        create_table(server.client("dynamodb"), table)
        _wait_for(lambda: store.load("probe") is None and store.available, "the table")
        running.refresh()
        stored = _stored(server, table, store, _cache_key(issuer))
        assert stored["current"]["jwks"] == issuer.jwks()
        assert len(_messages(caplog, logging.INFO)) == 1
        assert len(_messages(caplog, logging.WARNING)) == 1
    finally:
        server.stop()


def test_a_table_that_does_not_exist_is_an_outage_not_an_exception(
    dynamodb_server: MiniStack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = _store(dynamodb_server, "no-such-table", tmp_path, fallback=None)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load("https://issuer.example/jwks") is None
        store.save("https://issuer.example/jwks", _record({"keys": []}))
    assert not store.available
    assert "ResourceNotFoundException" in _messages(caplog, logging.WARNING)[0]


# === Items written by another party ===============================================================
def _plant(server: MiniStack, table: str, name: str, document: Any) -> None:
    item = {"pk": {"S": name}, "document": document}
    server.client("dynamodb").put_item(TableName=table, Item=item)


@pytest.mark.parametrize("kind", [*TAMPERED, "a-string", "no-document"])
def test_items_that_do_not_parse_are_ignored_with_a_warning(
    issuer: LocalIssuer,
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    key = _cache_key(issuer)
    planted, forged = _tampered(kind if kind in TAMPERED else "weak-rsa", issuer, key)
    attribute: Any = {"B": planted}
    if kind == "a-string":  # a valid document, as a string attribute
        attribute = {"S": _document(key, {"keys": []}).decode()}
    elif kind == "no-document":
        attribute = {"N": "1"}
    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    _plant(dynamodb_server, dynamodb_table, store.data_key(key), attribute)
    verifier = _verifier(issuer, store)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert verifier.verify(_token(issuer)).sub == "alice"
        with pytest.raises((KeyNotFoundError, AlgorithmNotAllowedError)):
            verifier.verify(forged)
    assert verifier.stats.l2_loads == 0  # the planted item never served
    assert "planted" not in key_state(verifier).kids
    assert any("ignoring it" in r.getMessage() for r in caplog.records), caplog.text
    assert store.available  # a bad item is not an outage
    stored = _stored(dynamodb_server, dynamodb_table, store, key)
    assert stored["current"]["jwks"] == issuer.jwks()  # the good key set replaced it


# === The guide's template =========================================================================
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "dynamodb.md"


def test_the_guides_template_makes_the_table_the_store_and_deny_list_use(
    issuer: LocalIssuer, tmp_path: Path
) -> None:
    """The CloudFormation template of docs/guides/dynamodb.md, deployed as it is written.

    MiniStack 1.5.33's CloudFormation makes the table but ignores its
    ``TimeToLiveSpecification`` (AWS applies it): the template is checked to declare TTL on
    ``expires_at``, and TTL is then switched on through the API, as AWS would have.
    """
    (template,) = re.findall(r"^```yaml\n(.*?)^```", GUIDE.read_text(), re.DOTALL | re.MULTILINE)
    with MiniStack() as server:
        cloudformation = server.client("cloudformation")
        cloudformation.create_stack(StackName="cognito-jwt", TemplateBody=template)
        cloudformation.get_waiter("stack_create_complete").wait(
            StackName="cognito-jwt", WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        outputs = {
            o["OutputKey"]: o["OutputValue"]
            for o in cloudformation.describe_stacks(StackName="cognito-jwt")["Stacks"][0]["Outputs"]
        }
        table = outputs["KeysTable"]
        client = server.client("dynamodb")
        described = client.describe_table(TableName=table)["Table"]
        assert described["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
        assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert re.search(
            r"\n( +)TimeToLiveSpecification:\n\1  AttributeName: expires_at\n\1  Enabled: true\n",
            template,
        )
        client.update_time_to_live(
            TableName=table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
        )
        policy = server.client("iam").get_policy(PolicyArn=outputs["VerifierPolicy"])["Policy"]
        document = server.client("iam").get_policy_version(
            PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]["Document"]
        statement = (json.loads(document) if isinstance(document, str) else document)["Statement"][
            0
        ]
        # Every operation the store and the deny-list send, and nothing else.
        store = _store(server, table, tmp_path, client=client)
        deny = DynamoDBDenyList(table, client=client)
        sent = Requests(client)
        verifier = _verifier(issuer, store)
        verifier.verify(_token(issuer))
        with store.coordinate("renewed", newer_than=None, timeout=0.3):
            _wait_for(lambda: "UpdateItem" in sent.sent, "a lease renewal")
        deny.revoke_subject("alice")
        deny.revoke_subject("alice")  # a live entry: updated
        assert deny.is_revoked(Claims({"sub": "alice", "iat": 0}))
        assert sorted(statement["Action"]) == sorted(f"dynamodb:{op}" for op in set(sent.sent))
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["cognito-jwt:*"]}
        }


def test_after_restore_empties_the_clients_pool_and_the_next_read_reconnects(
    dynamodb_server: MiniStack, dynamodb_table: str, tmp_path: Path
) -> None:
    """A SnapStart copy never reuses a connection the snapshot holds (it would fail, and count
    as an outage): after_restore empties the pool of the store's and the deny-list's client."""
    import cognito_jwt

    store = _store(dynamodb_server, dynamodb_table, tmp_path)
    deny = DynamoDBDenyList(dynamodb_table, client=dynamodb_server.client("dynamodb"))
    key = "https://issuer.example/jwks"
    store.save(key, _record({"keys": [], "v": 1}))
    assert not deny.is_revoked(Claims({"sub": "alice", "jti": "j-1", "exp": time.time() + 60}))
    pools = [c._endpoint.http_session._manager.pools for c in (store.client, deny.client)]
    assert [len(pool) for pool in pools] == [1, 1]  # a connection each, kept for the next call

    cognito_jwt.after_restore()

    assert [len(pool) for pool in pools] == [0, 0]
    loaded = store.load(key)  # a new connection, no outage
    assert loaded is not None
    assert loaded.jwks["v"] == 1
    assert [len(pool) for pool in pools] == [1, 0]
