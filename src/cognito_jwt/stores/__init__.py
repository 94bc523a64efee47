"""Persistent (L2) key set stores: the default :class:`FileStore` and the store protocol.

:class:`RedisStore`, for fleets (``pip install "cognito-jwt[redis]"``), is imported on first
use, so importing this package never imports ``redis``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._base import KeyStore, MemoryStore, RefreshCoordinator, StoredKeySet
from ._file import FileStore, default_cache_dir

if TYPE_CHECKING:
    from ._redis import RedisStore

__all__ = [
    "FileStore",
    "KeyStore",
    "MemoryStore",
    "RedisStore",
    "RefreshCoordinator",
    "StoredKeySet",
    "default_cache_dir",
]


def __getattr__(name: str) -> Any:
    if name == "RedisStore":
        from ._redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
