"""Persistent (L2) key set stores: the default :class:`FileStore` and the store protocol.

:class:`RedisStore` and :class:`RedisDenyList` (a revocation deny-list), for fleets
(``pip install "cognito-jwt[redis]"``), and :class:`DynamoDBStore` and
:class:`DynamoDBDenyList`, for fleets without a VPC (``pip install "cognito-jwt[dynamodb]"``),
are imported on first use, so importing this package never imports ``redis`` or ``boto3``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import KeyStore, MemoryStore, RefreshCoordinator, StoredKeySet

if TYPE_CHECKING:
    from ._dynamodb import DynamoDBStore
    from ._dynamodb_denylist import DynamoDBDenyList
    from ._file import FileStore, default_cache_dir
    from ._redis import RedisStore
    from ._redis_denylist import RedisDenyList

__all__ = [
    "DynamoDBDenyList",
    "DynamoDBStore",
    "FileStore",
    "KeyStore",
    "MemoryStore",
    "RedisDenyList",
    "RedisStore",
    "RefreshCoordinator",
    "StoredKeySet",
    "default_cache_dir",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: the file store pulls in tempfile and logging, Redis needs redis,
    # DynamoDB boto3.
    if name == "RedisStore":
        from ._redis import RedisStore

        return RedisStore
    if name == "RedisDenyList":
        from ._redis_denylist import RedisDenyList

        return RedisDenyList
    if name == "DynamoDBStore":
        from ._dynamodb import DynamoDBStore

        return DynamoDBStore
    if name == "DynamoDBDenyList":
        from ._dynamodb_denylist import DynamoDBDenyList

        return DynamoDBDenyList
    if name in ("FileStore", "default_cache_dir"):
        from . import _file

        return getattr(_file, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
