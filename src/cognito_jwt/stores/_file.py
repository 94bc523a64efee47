"""The default L2 store: one JSON file per key set, written atomically, readable only by us."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .._json import loads_object
from ._base import StoredKeySet

__all__ = ["FileStore", "default_cache_dir"]

logger = logging.getLogger("cognito_jwt")

SCHEMA = 1
_MAX_FILE_BYTES = 4 * 1024 * 1024


def default_cache_dir() -> Path:
    """Where key sets are stored by default.

    ``$COGNITO_JWT_CACHE_DIR`` if set; on AWS Lambda ``/tmp/cognito-jwt`` (the only writable
    path there); otherwise ``$XDG_CACHE_HOME/cognito-jwt`` or ``~/.cache/cognito-jwt``.
    """
    explicit = os.environ.get("COGNITO_JWT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return Path(tempfile.gettempdir()) / "cognito-jwt"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cognito-jwt"


class FileStore:
    """Key sets in JSON files: the last good document with its fetch time, plus history.

    Each key set lives in ``<directory>/<sha256 of its key>.json``, written to a temporary file
    and renamed into place (readers never see half a file), mode 0600 in a 0700 directory.
    A file that is corrupt, too large, of another schema, not owned by this user or writable
    by others is ignored with a warning: it could have been planted, and the store is never
    trusted more than the network (key sets are validated again on load).

    Args:
        directory: Where to keep the files; default :func:`default_cache_dir`.
        history: How many earlier, different versions of each key set to keep.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, history: int = 3):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        if isinstance(history, bool) or not isinstance(history, int) or history < 0:
            raise ValueError("history must be a non-negative int")
        self.history_size = history

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"

    def path_for(self, key: str) -> Path:
        """The file that holds *key*."""
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")

    # Reading ------------------------------------------------------------------------------------
    def _read(self, key: str) -> dict[str, Any] | None:  # noqa: PLR0911 - one exit per refusal
        path = self.path_for(key)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("key store: cannot open %s (%s); ignoring it", path, exc.strerror)
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                logger.warning("key store: %s is owned by another user; ignoring it", path)
                return None
            if info.st_mode & 0o022:
                logger.warning("key store: %s is writable by others; ignoring it", path)
                return None
            raw = handle.read(_MAX_FILE_BYTES + 1)
        if len(raw) > _MAX_FILE_BYTES:
            logger.warning(
                "key store: %s is larger than %d bytes; ignoring it", path, _MAX_FILE_BYTES
            )
            return None
        try:
            data = loads_object(raw)
        except ValueError as exc:
            logger.warning("key store: %s is corrupt (%s); ignoring it", path, exc)
            return None
        if data.get("schema") != SCHEMA or data.get("key") != key:
            logger.warning("key store: %s has another schema or key; ignoring it", path)
            return None
        return data

    @staticmethod
    def _record(entry: object) -> StoredKeySet | None:
        if not isinstance(entry, dict):
            return None
        jwks, jwks_uri = entry.get("jwks"), entry.get("jwks_uri")
        times = [entry.get("fetched_at"), entry.get("max_age")]
        numbers = [
            float(t) for t in times if isinstance(t, int | float) and not isinstance(t, bool)
        ]
        if (
            not isinstance(jwks, dict)
            or not isinstance(jwks_uri, str)
            or len(numbers) != 2
            or not all(math.isfinite(t) for t in numbers)
        ):
            return None
        return StoredKeySet(jwks, numbers[0], numbers[1], jwks_uri)

    def load(self, key: str) -> StoredKeySet | None:
        """Return the current key set for *key*, or ``None`` (absent, unreadable or invalid)."""
        data = self._read(key)
        if data is None:
            return None
        record = self._record(data.get("current"))
        if record is None:
            logger.warning(
                "key store: %s has no valid current entry; ignoring it", self.path_for(key)
            )
        return record

    def history(self, key: str) -> list[StoredKeySet]:
        """Earlier versions of the key set for *key*, newest first."""
        data = self._read(key)
        entries = data.get("history") if data else None
        if not isinstance(entries, list):
            return []
        return [r for r in map(self._record, entries) if r is not None]

    # Writing ------------------------------------------------------------------------------------
    @staticmethod
    def _entry(record: StoredKeySet) -> dict[str, Any]:
        return {
            "jwks": dict(record.jwks),
            "fetched_at": record.fetched_at,
            "max_age": record.max_age,
            "jwks_uri": record.jwks_uri,
        }

    def save(self, key: str, record: StoredKeySet) -> None:
        """Write *record* as the current key set of *key*; the previous one joins the history.

        Best effort: an error is logged, never raised.
        """
        try:
            self._save(key, record)
        except (OSError, TypeError, ValueError) as exc:
            logger.warning("key store: cannot write %s (%s)", self.path_for(key), exc)

    def _save(self, key: str, record: StoredKeySet) -> None:
        previous = self._read(key) or {}
        new_jwks = dict(record.jwks)
        earlier = previous.get("history")
        history = [
            e
            for e in (earlier if isinstance(earlier, list) else [])
            if self._record(e) is not None and e.get("jwks") != new_jwks
        ]
        old = previous.get("current")
        if isinstance(old, dict) and self._record(old) is not None and old.get("jwks") != new_jwks:
            history.insert(0, old)
        document = {
            "schema": SCHEMA,
            "key": key,
            "current": self._entry(record),
            "history": history[: self.history_size],
        }
        payload = json.dumps(document, separators=(",", ":"), allow_nan=False).encode()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path_for(key))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    async def load_async(self, key: str) -> StoredKeySet | None:
        """Like :meth:`load`, in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.load, key)

    async def save_async(self, key: str, record: StoredKeySet) -> None:
        """Like :meth:`save`, in a worker thread."""
        import asyncio

        await asyncio.to_thread(self.save, key, record)
