"""Persistent (L2) key set stores: the default :class:`FileStore` and the store protocol."""

from ._base import KeyStore, MemoryStore, StoredKeySet
from ._file import FileStore, default_cache_dir

__all__ = ["FileStore", "KeyStore", "MemoryStore", "StoredKeySet", "default_cache_dir"]
