"""The backend the end-to-end APIs front: echoes what API Gateway passed on (Lambda proxy)."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    body = {
        "authorizer": request.get("authorizer"),
        "path": event.get("rawPath") or event.get("path"),
        "route": event.get("routeKey") or event.get("resource"),
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }
