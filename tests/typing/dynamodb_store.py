"""Type-checked with mypy --strict, never run: DynamoDBStore and DynamoDBDenyList in use."""

from __future__ import annotations

from cognito_jwt import CognitoVerifier, FileStore, KeyStore, StoredKeySet
from cognito_jwt.stores import DynamoDBDenyList, DynamoDBStore, RefreshCoordinator

DynamoDBStore.create_table("cognito-jwt", region_name="eu-west-1")
store = DynamoDBStore(
    "cognito-jwt",
    region_name="eu-west-1",
    namespace="orders-api",
    timeout=0.5,
    fallback=FileStore("/var/cache/cognito-jwt"),
)
local = DynamoDBStore("cognito-jwt", endpoint_url="http://127.0.0.1:8000", fallback=None)
deny = DynamoDBDenyList("cognito-jwt", local_ttl=1.0, on_error="closed")
as_store: KeyStore = store
as_coordinator: RefreshCoordinator = local
available: bool = store.available and deny.available
record: StoredKeySet | None = store.load("https://login.example.com/jwks")
history: list[StoredKeySet] = store.history("https://login.example.com/jwks")
deny.revoke_subject("0d1f-user", before=1_800_000_000.0)

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123",
    client_id="abc",
    token_use="access",
    store=store,
    revocation=deny,
)
with store.coordinate("https://login.example.com/jwks", newer_than=None, timeout=5.0) as shared:
    stand_in: StoredKeySet | None = shared
