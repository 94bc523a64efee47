"""A key store shared by a fleet of processes without a VPC: a DynamoDB table.

Install the extra: ``pip install "cognito-jwt[dynamodb]"`` (boto3; every Python Lambda runtime
has it). This module is imported only when ``cognito_jwt.stores.DynamoDBStore`` is first used,
so ``import cognito_jwt`` never imports ``boto3``.

Like :mod:`._redis`, every operation is a *plan* (:mod:`._shared`): a generator that yields the
DynamoDB requests it needs and is sent their replies, free of I/O. The sync driver calls boto3;
the async driver runs the same plan, each request in a worker thread (boto3 has no asyncio
face), so the event loop is never blocked. A conditional write that fails
(``ConditionalCheckFailedException``) is a reply (``False``), not a failure.

One table, shared with :class:`DynamoDBDenyList`: a string partition key ``pk`` and a TTL
attribute ``expires_at`` (epoch seconds). Items (``<ns>`` is the namespace, ``<hash>`` a hash
of the key-set URI)::

    pk = "<ns>:jwks:<hash>"          document (B: the JSON of stores/_document.py), expires_at
    pk = "<ns>:refresh-lock:<hash>"  owner (S), lease_until (N, epoch ms), expires_at
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, TypeVar

from .._errors import ConfigurationError
from ._base import KeyStore, StoredKeySet
from ._document import build_document, key_digest, parse_document
from ._shared import (
    Plan,
    SharedStore,
    SharedStoreOptions,
    _Call,
    _positive,
    drive_plan,
    drive_plan_async,
)

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        'DynamoDBStore needs the boto3 package: pip install "cognito-jwt[dynamodb]"'
    ) from exc

__all__ = [
    "DEFAULT_TTL",
    "MAX_ITEM_BYTES",
    "DynamoDBStore",
    "DynamoDBStoreOptions",
    "create_table",
    "dynamodb_client",
]

logger = logging.getLogger("cognito_jwt")

DEFAULT_TTL = 7 * 24 * 3600.0
"""How long a stored key set lives in the table: well past ``RefreshPolicy.stale_if_error``."""

MAX_ITEM_BYTES = 350_000
"""The largest document written (DynamoDB's item limit is 400 KB, names and key included).

A document over it is written without its history; one still over it is not written (a
warning is logged): a JWKS that large is not a key set any issuer publishes.
"""

PARTITION_KEY = "pk"
TTL_ATTRIBUTE = "expires_at"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_LOCK_LINGER = 3600  # seconds a lock item stays in the table after its lease (TTL clean-up)

# Failures of DynamoDB itself: unreachable, timed out, throttled, refused (IAM), no table ...
# All degrade. (A failed condition is not one: the driver turns it into a reply.)
DYNAMODB_ERRORS: tuple[type[BaseException], ...] = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    OSError,
)

T = TypeVar("T")


class DynamoDBStoreOptions(SharedStoreOptions, total=False):
    """The options of :class:`DynamoDBStore` besides the table and the client (see the class)."""


def dynamodb_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    timeout: float = 1.0,
    what: str = "DynamoDBStore",
) -> Any:
    """A boto3 DynamoDB client with short timeouts and no retries (outages degrade, not wait).

    Credentials and, without *region_name*, the Region come from boto3's usual chain (on
    Lambda: the function's role and ``AWS_REGION``).

    Raises:
        ConfigurationError: *timeout* is not a positive number, or boto3 refuses the
            Region or endpoint.
    """
    seconds = _positive("timeout", timeout, what)
    config = botocore.config.Config(
        connect_timeout=seconds,
        read_timeout=seconds,
        retries={"total_max_attempts": 1},
    )
    try:
        session = boto3.session.Session()
        return session.client(
            "dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config
        )
    except (botocore.exceptions.BotoCoreError, ValueError) as exc:
        raise ConfigurationError(f"{what}: boto3 refused the client settings ({exc})") from None


def _close_client(client: Any) -> None:
    """Empty a boto3 client's connection pool (after a SnapStart restore); it reconnects."""
    client.close()


def create_table(client: Any, table_name: str, *, wait: bool = True) -> None:
    """Create *table_name* as the stores expect it: ``pk`` (string) key, TTL on ``expires_at``.

    On-demand capacity. For development and tests; in production create it with the
    CloudFormation template of the DynamoDB guide. With *wait*, returns once it is active.
    """
    client.create_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if wait:
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def _code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def call(client: Any, step: _Call) -> Any:
    """Perform one request of a plan: its response, or ``False`` if its condition failed."""
    try:
        return getattr(client, step.command)(**step.kwargs)
    except botocore.exceptions.ClientError as exc:
        if _code(exc) == _CONDITION_FAILED:
            return False
        raise


def drive(client: Any, plan: Plan[T], sleep: Callable[[float], object] = time.sleep) -> T:
    """Run *plan* with *client*; DynamoDB failures propagate (the plan is closed)."""
    return drive_plan(plan, functools.partial(call, client), sleep)


async def drive_async(
    client: Any, plan: Plan[T], sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
) -> T:
    """Like :func:`drive`, each request in a worker thread: the event loop never blocks."""

    async def call_in_thread(step: _Call) -> Any:
        return await asyncio.to_thread(call, client, step)

    return await drive_plan_async(plan, call_in_thread, sleep)


def client_of(
    client: Any,
    *,
    region_name: str | None,
    endpoint_url: str | None,
    timeout: float,
    what: str,
) -> Any:
    """*client*, or a new one (:func:`dynamodb_client`) when it is ``None``.

    Raises:
        ConfigurationError: *client* given together with *region_name* or *endpoint_url*
            (which it would silently ignore), or settings boto3 refuses.
    """
    if client is None:
        return dynamodb_client(
            region_name=region_name, endpoint_url=endpoint_url, timeout=timeout, what=what
        )
    if region_name is not None or endpoint_url is not None:
        raise ConfigurationError(
            f"{what}: pass either client or region_name/endpoint_url, not both"
        )
    return client


def describe(client: Any, table_name: str) -> str:
    """The table and where it is, without credentials: safe for logs and ``repr``."""
    region = getattr(getattr(client, "meta", None), "region_name", None) or "?"
    return f"dynamodb://{region}/{table_name}"


def check_table_and_client(table_name: object, client: object, what: str) -> str:
    """*table_name*, checked (DynamoDB's rules), and *client*, checked for the calls made.

    Raises:
        ConfigurationError: Either is unusable.
    """
    if (
        not isinstance(table_name, str)
        or not 3 <= len(table_name) <= 255
        or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in table_name)
    ):
        raise ConfigurationError(
            f"{what} table_name must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ - .)"
        )
    if not all(callable(getattr(client, m, None)) for m in ("get_item", "put_item")):
        raise ConfigurationError(
            f"{what} client must be a boto3 DynamoDB client, got {type(client).__name__}"
        )
    return table_name


class DynamoDBStore(SharedStore):
    """Key sets in a DynamoDB table, shared by every process of a fleet, one refresh for all.

    Implements the :class:`KeyStore` protocol (the last good key set of each key-set URI, its
    fetch time and a short history) and the optional refresh coordination: when several
    processes need the same refresh, one takes a lease with a conditional write (an item
    written only if no live lease exists: ``lease_until`` in the past; deleted when its fetch
    ends) and fetches, the others wait for its result in the table. The holder renews its
    lease while it fetches, so a slow fetch keeps it; a holder that dies loses it within one
    fetch timeout (see :meth:`coordinate`). Lease times are epoch times of the writers' clocks: the
    processes of a fleet must agree on the time to well under a fetch timeout (Lambda and EC2
    clocks are synchronised to the millisecond).

    Reads are strongly consistent (``ConsistentRead``): a process reads the key set another
    one saved a moment ago, and a cold start costs one ``GetItem`` when the table holds a
    fresh key set (a document of a few KB: 1 or 2 read units).

    The table is never trusted more than the network: the document is parsed with the strict
    JSON parser, size-capped and schema-checked, and the key source validates its keys
    exactly like a fetched JWKS. An item that fails (written by another party, corrupt, of
    another schema) is ignored with a warning. An item past its ``expires_at`` is absent
    (DynamoDB deletes expired items only within a day or two).

    A table that is unreachable, slow, throttling or refusing (IAM, no such table) never
    fails a verification: requests give up after *timeout* with no retries, one warning is
    logged for the outage, the *fallback* store (reads) and direct fetches take over, and the
    table is tried again every *retry_interval* seconds; one info line is logged when it is
    back. Saves are written to the fallback too.

    Args:
        table_name: The table (see :func:`create_table` and the DynamoDB guide).
        region_name: Its Region (default: boto3's, ``AWS_REGION`` on Lambda).
        endpoint_url: Another endpoint (DynamoDB Local, an emulator, a VPC endpoint).
        client: A boto3 DynamoDB client to use instead (then without *region_name* and
            *endpoint_url*; *timeout* is not used). Give it short timeouts and no retries.
            A :class:`DynamoDBDenyList` can share the store's: ``client=store.client``.
        timeout: Seconds to connect, and to wait for an answer, per request.
        namespace: Prefix of every partition key: ``<namespace>:jwks:<hash of the key-set
            URI>`` and ``<namespace>:refresh-lock:<hash>``.
        ttl: Seconds a stored key set lives in the table (``expires_at``); keep it well above
            ``RefreshPolicy.stale_if_error`` (default 7 days).
        history: How many earlier, different versions of each key set to keep (2 keeps a
            Cognito key set's item under 4 KB: one read unit per strongly consistent read).
        fallback: Where to read while the table is unavailable (and a copy of every save):
            ``"default"`` (the default :class:`FileStore`), another store, or ``None``.
        retry_interval: Seconds between attempts to reach the table during an outage.
        poll_interval: Seconds between reads of the table while waiting for another
            process's refresh (each is one ``GetItem`` and one conditional ``PutItem``).

    Raises:
        ConfigurationError: A bad table name or client, or an option out of range.
    """

    _what = "DynamoDBStore"
    _service = "DynamoDB"
    _entry_name = "DynamoDB item"
    _errors = DYNAMODB_ERRORS

    def __init__(
        self,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        timeout: float = 1.0,
        namespace: str = "cognito-jwt",
        ttl: float = DEFAULT_TTL,
        history: int = 2,
        fallback: KeyStore | Literal["default"] | None = "default",
        retry_interval: float = 5.0,
        poll_interval: float = 0.1,
    ) -> None:
        client = client_of(
            client,
            region_name=region_name,
            endpoint_url=endpoint_url,
            timeout=timeout,
            what="DynamoDBStore",
        )
        self.table_name = check_table_and_client(table_name, client, "DynamoDBStore")
        super().__init__(
            client,
            describe(client, table_name),
            disconnect=_close_client,
            namespace=namespace,
            ttl=ttl,
            history=history,
            fallback=fallback,
            retry_interval=retry_interval,
            poll_interval=poll_interval,
        )
        # Epoch time (item lifetimes, leases), replaced by tests.
        self._clock: Callable[[], float] = time.time

    @classmethod
    @classmethod
    def create_table(
        cls,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        """Create the table the store (and :class:`DynamoDBDenyList`) expect, and wait for it.

        A string partition key ``pk``, TTL on ``expires_at``, on-demand capacity. For
        development and tests; in production, create it with the DynamoDB guide's template.
        """
        client = client_of(
            client,
            region_name=region_name,
            endpoint_url=endpoint_url,
            timeout=10.0,
            what="DynamoDBStore.create_table",
        )
        create_table(client, table_name)

    def data_key(self, key: str) -> str:
        """The partition key of the item that holds the key set *key*."""
        return f"{self.namespace}:jwks:{key_digest(key)}"

    def lock_key(self, key: str) -> str:
        """The partition key of the refresh lease of *key*."""
        return f"{self.namespace}:refresh-lock:{key_digest(key)}"

    # Plans ---------------------------------------------------------------------------------------
    def _read(self, name: str) -> _Call:
        return _Call(
            "get_item",
            kwargs={
                "TableName": self.table_name,
                "Key": {PARTITION_KEY: {"S": name}},
                "ConsistentRead": True,
            },
        )

    def _document(self, key: str, reply: object, *, quiet: bool) -> dict[str, Any] | None:
        """The stored document in a GetItem reply, or ``None`` (absent, expired or unusable)."""
        item = reply.get("Item") if isinstance(reply, Mapping) else None
        if item is None:
            return None
        try:
            if not isinstance(item, Mapping):
                raise ValueError("is not an item")
            expires = _number(item.get(TTL_ATTRIBUTE))
            if expires is not None and expires <= self._clock():
                return None  # expired, not yet deleted by DynamoDB
            raw = item.get("document", {})
            data = raw.get("B") if isinstance(raw, Mapping) else None
            if not isinstance(data, bytes):
                raise ValueError("has no binary 'document' attribute")
            return parse_document(data, key)
        except ValueError as exc:
            if not quiet:
                logger.warning(
                    "key store: DynamoDB item %s in %s %s; ignoring it",
                    self.data_key(key),
                    self._name,
                    exc,
                )
            return None

    def _payload(self, key: str, record: StoredKeySet, previous: dict[str, Any] | None) -> bytes:
        """The document to write; without history if it is too large for an item.

        Raises:
            ValueError, TypeError: *record* does not serialise, or is too large even alone.
        """
        payload = build_document(key, record, previous, self.history_size)
        if len(payload) > MAX_ITEM_BYTES:
            payload = build_document(key, record, None, 0)
        if len(payload) > MAX_ITEM_BYTES:
            raise ValueError(f"the key set is larger than {MAX_ITEM_BYTES} bytes")
        return payload

    def _write(self, name: str, payload: bytes) -> _Call:
        item = {
            PARTITION_KEY: {"S": name},
            "document": {"B": payload},
            TTL_ATTRIBUTE: {"N": str(math.ceil(self._clock() + self.ttl))},
        }
        return _Call("put_item", kwargs={"TableName": self.table_name, "Item": item})

    def _lock_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        """Write the lease item if there is none or its lease has run out (``False`` if not)."""
        now_ms = round(self._clock() * 1000)
        until_ms = now_ms + max(1, round(timeout * 1000))
        item = {
            PARTITION_KEY: {"S": self.lock_key(key)},
            "owner": {"S": token},
            "lease_until": {"N": str(until_ms)},
            TTL_ATTRIBUTE: {"N": str(until_ms // 1000 + _LOCK_LINGER)},
        }
        reply = yield _Call(
            "put_item",
            kwargs={
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": (
                    "attribute_not_exists(pk) OR attribute_not_exists(lease_until)"
                    " OR lease_until < :now"
                ),
                "ExpressionAttributeValues": {":now": {"N": str(now_ms)}},
            },
        )
        return reply is not False

    def _renew_plan(self, key: str, token: str, timeout: float) -> Plan[bool]:
        """Extend this process's lease on the refresh of *key*: ``False`` if it lost it."""
        until_ms = round(self._clock() * 1000) + max(1, round(timeout * 1000))
        reply = yield _Call(
            "update_item",
            kwargs={
                "TableName": self.table_name,
                "Key": {PARTITION_KEY: {"S": self.lock_key(key)}},
                "UpdateExpression": "SET lease_until = :until, expires_at = :expires",
                "ConditionExpression": "#owner = :token",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {
                    ":until": {"N": str(until_ms)},
                    ":expires": {"N": str(until_ms // 1000 + _LOCK_LINGER)},
                    ":token": {"S": token},
                },
            },
        )
        return reply is not False

    def _release_plan(self, key: str, token: str) -> Plan[None]:
        yield _Call(
            "delete_item",
            kwargs={
                "TableName": self.table_name,
                "Key": {PARTITION_KEY: {"S": self.lock_key(key)}},
                "ConditionExpression": "#owner = :token",
                "ExpressionAttributeNames": {"#owner": "owner"},
                "ExpressionAttributeValues": {":token": {"S": token}},
            },
        )

    # Drivers: the only code that talks to DynamoDB -----------------------------------------------
    def _drive(self, plan: Plan[T]) -> T:
        return drive(self.client, plan, self._sleep)

    async def _drive_async(self, plan: Plan[T]) -> T:
        """Each request in a worker thread."""
        return await drive_async(self.client, plan, self._sleep_async)


def _number(attribute: object) -> float | None:
    """The value of a DynamoDB number attribute (``{"N": "..."}``), or ``None``."""
    if not isinstance(attribute, Mapping) or not isinstance(attribute.get("N"), str):
        return None
    try:
        value = float(attribute["N"])
    except ValueError:
        return None
    return value if math.isfinite(value) else None
