"""The default L2 store: one JSON file per key set, written atomically, readable only by us."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
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

# A store file is opened without blocking (a FIFO planted there would block open() until a
# writer came), without following a symlink (it could point anywhere), and never becomes a
# controlling terminal. What was opened is then checked: a regular file, or nothing.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
for _flag in ("O_NONBLOCK", "O_NOFOLLOW", "O_NOCTTY", "O_CLOEXEC"):
    _OPEN_FLAGS |= getattr(os, _flag, 0)

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


# What tempfile.mkstemp does (a new file, 0600, never through a symlink), without importing
# tempfile (with shutil and random) on a cold start.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temporary(directory: Path) -> tuple[int, str]:
    """Create a new, private file with a random name in *directory*: (fd, path)."""
    for _ in range(100):
        path = str(directory / f".tmp-{os.urandom(8).hex()}.json")
        try:
            return os.open(path, _CREATE, 0o600), path
        except FileExistsError:  # a name taken (64 random bits): draw again
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def default_cache_dir() -> Path:
    """Where key sets are stored by default.

    ``$COGNITO_JWT_CACHE_DIR`` if set; on AWS Lambda ``/tmp/cognito-jwt`` (the only writable
    path there); otherwise ``$XDG_CACHE_HOME/cognito-jwt`` or ``~/.cache/cognito-jwt``.
    """
    explicit = os.environ.get("COGNITO_JWT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        # Lambda runs Linux, where /tmp is writable (tempfile.gettempdir() would say the same,
        # at the price of importing tempfile on every cold start).
        return Path(os.environ.get("TMPDIR") or "/tmp") / "cognito-jwt"  # noqa: S108
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "cognito-jwt"


class FileStore:
    """Key sets in JSON files: the last good document with its fetch time, plus history.

    Each key set lives in ``<directory>/<sha256 of its key>.json``, written to a temporary file
    and renamed into place (readers never see half a file), mode 0600 in a 0700 directory.
    A file that is corrupt, too large, of another schema, not owned by this user or writable
    by others is ignored with a warning: it could have been planted, and the store is never
    trusted more than the network (key sets are validated again on load).

    Anything else at a file's path (a directory, a FIFO, a socket or device, a symlink, a
    file this process may not read) is an absent entry, never an error or a wait: files are
    opened without blocking and without following symlinks, and only a regular file is read.
    Each unusable path is warned about once (reads and writes alike) until it works again;
    saving over a FIFO, a socket or a symlink replaces it (a symlink's target is untouched).

    Args:
        directory: Where to keep the files; default :func:`default_cache_dir`.
        history: How many earlier, different versions of each key set to keep.

    Raises:
        ConfigurationError: *history* is not a non-negative int.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, history: int = 3):
        if directory is not None and not isinstance(directory, str | os.PathLike):
            raise ConfigurationError(
                f"FileStore directory must be a path, got {type(directory).__name__}"
            )
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        if isinstance(history, bool) or not isinstance(history, int) or history < 0:
            raise ConfigurationError(
                f"FileStore history must be a non-negative int, got {history!r}"
            )
        self.history_size = history
        self._reported: set[Path] = set()  # unusable paths already warned about
        self._reported_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileStore({str(self.directory)!r})"

    def path_for(self, key: str) -> Path:
        """The file that holds *key*."""
        return self.directory / (key_digest(key) + ".json")

    # One warning per unusable path -------------------------------------------------------------
    def _unusable(self, path: Path, message: str, *args: object, quiet: bool = False) -> None:
        """Log *message* about *path*: a warning the first time, until the path works again.

        *quiet*: a debug line only (the path is not marked as reported).
        """
        first = False
        if not quiet:
            with self._reported_lock:
                first = path not in self._reported
                self._reported.add(path)
        (logger.warning if first else logger.debug)(message, path, *args)

    def _usable(self, path: Path) -> None:
        if self._reported:  # the common case: nothing reported, no lock
            with self._reported_lock:
                self._reported.discard(path)

    # Reading ------------------------------------------------------------------------------------
    def _read(self, key: str, *, quiet: bool = False) -> dict[str, Any] | None:
        """The document stored for *key*, or ``None``; *quiet*: nothing above a debug line."""
        path = self.path_for(key)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._unusable(
                path, "key store: cannot open %s (%s); ignoring it", exc.strerror, quiet=quiet
            )
            return None
        try:
            raw = self._read_regular(path, fd, quiet=quiet)
        except OSError as exc:
            self._unusable(
                path, "key store: cannot read %s (%s); ignoring it", exc.strerror, quiet=quiet
            )
            return None
        finally:
            os.close(fd)
        if raw is None:
            return None
        try:
            document = parse_document(raw, key)
        except ValueError as exc:
            self._unusable(path, "key store: %s %s; ignoring it", exc, quiet=quiet)
            return None
        self._usable(path)
        return document

    def _read_regular(self, path: Path, fd: int, *, quiet: bool) -> bytes | None:
        """The first bytes of the file open at *fd*, if it is one this store may trust."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            self._unusable(
                path, "key store: %s is %s; ignoring it", _kind(info.st_mode), quiet=quiet
            )
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            self._unusable(path, "key store: %s is owned by another user; ignoring it", quiet=quiet)
            return None
        if info.st_mode & 0o022:
            self._unusable(path, "key store: %s is writable by others; ignoring it", quiet=quiet)
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_DOCUMENT_BYTES + 1)

    def load(self, key: str) -> StoredKeySet | None:
        """Return the current key set for *key*, or ``None`` (absent, unreadable or invalid)."""
        data = self._read(key)
        if data is None:
            return None
        record = current_of(data)
        if record is None:
            self._unusable(
                self.path_for(key), "key store: %s has no valid current entry; ignoring it"
            )
        return record

    def history(self, key: str) -> list[StoredKeySet]:
        """Earlier versions of the key set for *key*, newest first."""
        return history_of(self._read(key))

    # Writing ------------------------------------------------------------------------------------
    def save(self, key: str, record: StoredKeySet) -> None:
        """Write *record* as the current key set of *key*; the previous one joins the history.

        Best effort: an error is logged (once per path, see the class), never raised.
        """
        path = self.path_for(key)
        try:
            self._save(key, record)
        except (OSError, TypeError, ValueError) as exc:
            self._unusable(path, "key store: cannot write %s (%s)", exc)
        else:
            self._usable(path)

    def _save(self, key: str, record: StoredKeySet) -> None:
        # The previous document, for the history: an unusable one is simply replaced.
        previous = self._read(key, quiet=True)
        payload = build_document(key, record, previous, self.history_size)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = _create_temporary(self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
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
