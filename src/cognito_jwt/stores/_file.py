"""The default L2 store: one JSON file per key set, written atomically, readable only by us."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from .._log import logger
from ._base import StoredKeySet
from ._document import (
    MAX_DOCUMENT_BYTES,
    build_document,
    current_of,
    history_of,
    key_digest,
    parse_document,
)

__all__ = ["FileStore", "default_cache_dir"]


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
        return self.directory / (key_digest(key) + ".json")

    # Reading ------------------------------------------------------------------------------------
    def _read(self, key: str) -> dict[str, Any] | None:
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
            raw = handle.read(MAX_DOCUMENT_BYTES + 1)
        try:
            return parse_document(raw, key)
        except ValueError as exc:
            logger.warning("key store: %s %s; ignoring it", path, exc)
            return None

    def load(self, key: str) -> StoredKeySet | None:
        """Return the current key set for *key*, or ``None`` (absent, unreadable or invalid)."""
        data = self._read(key)
        if data is None:
            return None
        record = current_of(data)
        if record is None:
            logger.warning(
                "key store: %s has no valid current entry; ignoring it", self.path_for(key)
            )
        return record

    def history(self, key: str) -> list[StoredKeySet]:
        """Earlier versions of the key set for *key*, newest first."""
        return history_of(self._read(key))

    # Writing ------------------------------------------------------------------------------------
    def save(self, key: str, record: StoredKeySet) -> None:
        """Write *record* as the current key set of *key*; the previous one joins the history.

        Best effort: an error is logged, never raised.
        """
        try:
            self._save(key, record)
        except (OSError, TypeError, ValueError) as exc:
            logger.warning("key store: cannot write %s (%s)", self.path_for(key), exc)

    def _save(self, key: str, record: StoredKeySet) -> None:
        payload = build_document(key, record, self._read(key), self.history_size)
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
