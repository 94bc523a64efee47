"""Type-checked with mypy --strict, never run: RedisStore as users write it."""

from __future__ import annotations

import redis
import redis.asyncio

from cognito_jwt import CognitoVerifier, FileStore, JwtVerifier, KeyStore, StoredKeySet
from cognito_jwt.stores import RedisStore, RefreshCoordinator

store = RedisStore.from_url(
    "rediss://jwks-reader:secret@cache.internal:6379/0",
    namespace="orders-api",
    ttl=3 * 24 * 3600,
    socket_timeout=0.1,
    fallback=FileStore("/var/cache/cognito-jwt"),
    client_options={"ssl_ca_certs": "/etc/ssl/certs/ca-certificates.crt"},
)
own = RedisStore(
    redis.Redis(host="cache.internal", socket_timeout=0.2),
    async_client=lambda: redis.asyncio.Redis(host="cache.internal", socket_timeout=0.2),
    fallback=None,
)
as_store: KeyStore = store
as_coordinator: RefreshCoordinator = own
available: bool = store.available
record: StoredKeySet | None = store.load("https://login.example.com/jwks")
history: list[StoredKeySet] = store.history("https://login.example.com/jwks")

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="abc", token_use="access", store=store
)
generic = JwtVerifier(issuer="https://login.example.com", audience="api", store=own)
store.close()

# The refresh coordination the key source drives (a lease renewed while the block runs).
with store.coordinate("https://login.example.com/jwks", newer_than=None, timeout=5.0) as shared:
    stand_in: StoredKeySet | None = shared
