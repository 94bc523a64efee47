"""A deny-list shared by a fleet of processes without a VPC: a DynamoDB table.

Install the extra: ``pip install "cognito-jwt[dynamodb]"``. Imported only when
``cognito_jwt.stores.DynamoDBDenyList`` is first used. It shares the table layout, client
settings and drivers of :mod:`._dynamodb`, and the deny-list logic of :mod:`._shared_denylist`
with :class:`RedisDenyList`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from .._revocation import DEFAULT_LIFETIME
from ._dynamodb import (
    DYNAMODB_ERRORS,
    PARTITION_KEY,
    TTL_ATTRIBUTE,
    _close_client,
    check_table_and_client,
    client_of,
    describe,
    drive,
    drive_async,
)
from ._shared import Plan, _Call
from ._shared_denylist import KINDS, Query, SharedDenyList

__all__ = ["DynamoDBDenyList", "IncompleteReadError"]

T = TypeVar("T")


class IncompleteReadError(Exception):
    """DynamoDB left some keys of a check unprocessed (throttling): an outage, not an answer."""


class DynamoDBDenyList(SharedDenyList):
    """Revoked tokens in a DynamoDB table, shared by every process of a fleet.

    The same entries as :class:`DenyList` (by ``jti``, by Cognito's ``origin_jti``, by
    subject with a cut-off time), as items of the table :class:`DynamoDBStore` uses (the
    same layout: a string key ``pk``, TTL on ``expires_at``):
    ``pk = "<namespace>:deny:<jti|origin|sub>:<hash of the value>"``, with ``expires_at`` the
    covered tokens' expiry (plus 5 minutes' margin), and for a subject ``cutoff`` (epoch
    seconds). DynamoDB deletes an item some time after its ``expires_at``; until then a read
    ignores it.

    A check is one strongly consistent ``BatchGetItem`` of the token's ``jti``,
    ``origin_jti`` and ``sub`` entries (one read unit per key asked, so a Cognito access
    token costs 3): a revocation written a moment ago is seen by the next check anywhere.
    *local_ttl* lets a process reuse an answer for that long, trading that bound of
    staleness for fewer reads (see the DynamoDB guide for the measured costs).

    A revocation is a conditional ``PutItem`` (written when no live entry exists); when one
    does, conditional updates keep the later cut-off and the longer life: a revocation is
    never shortened or lost to a concurrent one.

    When the table cannot be used (unreachable, timed out, throttled, refused by IAM), and
    also when DynamoDB leaves keys of a check unprocessed, *on_error* decides, and one
    warning is logged per outage (the table is then left alone for *retry_interval*
    seconds: no timeout paid per request):

    * ``"closed"`` (the default): :class:`RevocationUnavailableError`, the token is refused
      (an HTTP adapter answers 503). An explicit security feature fails safe.
    * ``"open"``: the token is treated as not revoked.

    A revocation that DynamoDB did not record raises :class:`RevocationUnavailableError`
    whatever *on_error* says. The async methods run each request in a worker thread.

    Args:
        table_name: The table (see :meth:`DynamoDBStore.create_table`, the DynamoDB guide).
        region_name: Its Region (default: boto3's, ``AWS_REGION`` on Lambda).
        endpoint_url: Another endpoint (DynamoDB Local, an emulator, a VPC endpoint).
        client: A boto3 DynamoDB client to use instead (then without *region_name* and
            *endpoint_url*): short timeouts, no retries; ``client=store.client`` shares a
            :class:`DynamoDBStore`'s.
        timeout: Seconds to connect, and to wait for an answer, per request.
        namespace: Prefix of every partition key.
        default_lifetime: Seconds the covered tokens live when ``expires_at`` is not given
            (default a day, Cognito's longest access/ID token lifetime).
        local_ttl: Seconds an answer read from the table may be reused by this process
            (default 0: every check reads the table). A token revoked elsewhere may then be
            accepted here for up to *local_ttl* seconds: that is the staleness bound.
            Revocations made through this object clear the local cache at once.
        on_error: ``"closed"`` or ``"open"``, see above.
        retry_interval: Seconds between attempts to reach the table during an outage.
        clock: Returns the current time in epoch seconds (default ``time.time``).

    Raises:
        ConfigurationError: A bad table name or client, or an option out of range.
    """

    _service: ClassVar[str] = "DynamoDB"
    _errors: ClassVar[tuple[type[BaseException], ...]] = (*DYNAMODB_ERRORS, IncompleteReadError)

    def __init__(
        self,
        table_name: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        timeout: float = 1.0,
        namespace: str = "cognito-jwt",
        default_lifetime: float = DEFAULT_LIFETIME,
        local_ttl: float = 0.0,
        on_error: Literal["closed", "open"] = "closed",
        retry_interval: float = 5.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        client = client_of(
            client,
            region_name=region_name,
            endpoint_url=endpoint_url,
            timeout=timeout,
            what="DynamoDBDenyList",
        )
        self.table_name = check_table_and_client(table_name, client, "DynamoDBDenyList")
        super().__init__(
            client,
            describe(client, table_name),
            disconnect=_close_client,
            namespace=namespace,
            default_lifetime=default_lifetime,
            local_ttl=local_ttl,
            on_error=on_error,
            retry_interval=retry_interval,
            clock=clock,
        )

    # Plans ---------------------------------------------------------------------------------------
    @staticmethod
    def _reply_of(kind: str, item: Mapping[str, Any], now: float) -> object | None:
        """What a live entry says (``True``, or the ``cutoff`` of a subject), ``None`` if expired.

        An entry that does not parse is live (strict): a subject entry's unreadable
        ``cutoff`` covers every token of the subject.
        """
        expires = item.get(TTL_ATTRIBUTE)
        raw = expires.get("N") if isinstance(expires, Mapping) else None
        try:
            if isinstance(raw, str) and float(raw) <= now:
                return None
        except ValueError:
            pass
        if kind != "sub":
            return True
        cutoff = item.get("cutoff")
        value = cutoff.get("N") if isinstance(cutoff, Mapping) else None
        return value if isinstance(value, str) else "unreadable"

    def _lookup_plan(self, query: Query) -> Plan[list[Any]]:
        names = {
            kind: self.entry_key(kind, value)  # type: ignore[arg-type]
            for kind, value in zip(KINDS, query, strict=True)
            if value is not None
        }
        reply = yield _Call(
            "batch_get_item",
            kwargs={
                "RequestItems": {
                    self.table_name: {
                        "Keys": [{PARTITION_KEY: {"S": name}} for name in names.values()],
                        "ConsistentRead": True,
                    }
                }
            },
        )
        if reply.get("UnprocessedKeys"):
            raise IncompleteReadError(f"DynamoDB left keys of {self.table_name} unprocessed")
        now = self._clock()
        items: dict[str, Mapping[str, Any]] = {}
        for item in reply.get("Responses", {}).get(self.table_name, []):
            name = item.get(PARTITION_KEY, {}).get("S")
            if isinstance(name, str):
                items[name] = item
        found = {kind: items.get(name) for kind, name in names.items()}
        return [
            None if (item := found.get(kind)) is None else self._reply_of(kind, item, now)
            for kind in KINDS
        ]

    def _write_plan(self, name: str, value: float | None, expiry: float) -> Plan[None]:
        now = self._clock()
        if expiry <= now:  # the covered tokens have expired: nothing to remember
            return
        expires = str(math.ceil(expiry))
        item: dict[str, Any] = {PARTITION_KEY: {"S": name}, TTL_ATTRIBUTE: {"N": expires}}
        if value is not None:
            item["cutoff"] = {"N": repr(value)}
        written = yield _Call(
            "put_item",
            kwargs={
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                "ExpressionAttributeValues": {":now": {"N": str(math.floor(now))}},
            },
        )
        if written is not False:
            return
        # A live entry exists (another revocation of the same token or subject): keep the
        # later cut-off, then the longer life. Conditional updates; a failed condition means
        # the entry already says at least as much. Each creates the item if it vanished.
        key = {PARTITION_KEY: {"S": name}}
        if value is not None:
            yield _Call(
                "update_item",
                kwargs={
                    "TableName": self.table_name,
                    "Key": key,
                    "UpdateExpression": "SET cutoff = :cutoff",
                    "ConditionExpression": "attribute_not_exists(cutoff) OR cutoff < :cutoff",
                    "ExpressionAttributeValues": {":cutoff": {"N": repr(value)}},
                },
            )
        yield _Call(
            "update_item",
            kwargs={
                "TableName": self.table_name,
                "Key": key,
                "UpdateExpression": "SET expires_at = :expires",
                "ConditionExpression": "attribute_not_exists(expires_at) OR expires_at < :expires",
                "ExpressionAttributeValues": {":expires": {"N": expires}},
            },
        )

    # Drivers -------------------------------------------------------------------------------------
    def _drive(self, plan: Plan[T]) -> T:
        return drive(self.client, plan)

    async def _drive_async(self, plan: Plan[T]) -> T:
        return await drive_async(self.client, plan)
