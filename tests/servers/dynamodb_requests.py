"""What a boto3 DynamoDB client sends, and DynamoDB's own error answers injected into it.

:class:`Requests` hooks a real client (bound to the emulator): it records each operation, and
while :attr:`Requests.answer` is set, answers every request with that HTTP status and JSON body
instead of sending it, as DynamoDB would (botocore parses it exactly like AWS's answer:
``THROTTLED`` becomes a ``ProvisionedThroughputExceededException``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

__all__ = ["THROTTLED", "Requests"]

THROTTLED = (
    400,
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded.",
    },
)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Requests:
    """The operations *client* sends (``sent``), and the answer given instead while ``answer``."""

    def __init__(self, client: Any) -> None:
        self.sent: list[str] = []
        self.answer: tuple[int, dict[str, Any]] | None = None
        client.meta.events.register("before-call.dynamodb", self._called)
        client.meta.events.register("before-send.dynamodb", self._send)

    def _called(self, model: Any, **_: Any) -> None:
        self.sent.append(model.name)

    def _send(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.answer is None:
            return None
        status, body = self.answer
        headers = {"content-type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(body).encode()))
