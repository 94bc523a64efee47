"""What the shared deny-lists' tests (Redis, DynamoDB) have in common: the ids they revoke."""

from __future__ import annotations

JTI = "f00dfeed-0000-4000-8000-000000000002"
ORIGIN = "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee"
SUB = "8d2f5f0e-1111-4222-8333-444455556666"
