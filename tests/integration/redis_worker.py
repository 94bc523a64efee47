"""One process of a fleet, for the Redis and DynamoDB tests and benchmarks/bench_fleet.py.

The child side runs as ``python -m tests.integration.redis_worker SPEC``; :class:`Worker` starts
one from the parent. *SPEC* is a JSON object: ``issuer``, ``token``, ``cache_dir`` (the process's
own file store), ``store`` (``"redis"``: a :class:`RedisStore` on ``redis_url`` in ``namespace``
with that file store as its fallback; ``"dynamodb"``: a :class:`DynamoDBStore` on the table
``table`` of the emulator at ``endpoint_url``, same fallback; ``"file"``: the file store
alone), ``mode`` (``"sync"`` or
``"async"``), ``fetch_timeout``, and ``barrier``: when true, the worker builds its verifier,
prints ``ready`` and waits for a line on stdin before verifying, so a whole fleet can be
released at once.

The child prints one JSON line: ``ok``, ``sub`` or ``error``, ``ms`` (the verification's wall
time), its key source's counters and ``logs``: what the library logged at INFO and above (to
explain an unexpected fetch in a failed assertion).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # bound on every wait for a worker; never reached when all is well


class Worker:
    """A fleet member started from the parent (cwd: the repository root)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        env = {**os.environ, "COGNITO_JWT_CACHE_DIR": spec["cache_dir"]}
        if spec.get("store") == "dynamodb":  # the emulator's dummy account, nothing of ours
            env.update(
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_SESSION_TOKEN="testing",
                AWS_CONFIG_FILE=os.devnull,
                AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            )
            for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
                env.pop(name, None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.redis_worker", json.dumps(spec)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> None:
        """Wait until the worker has built its verifier (``barrier`` specs only)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line != "ready\n":
            self.process.kill()
            raise RuntimeError(f"worker not ready: {line!r}\n{self.process.communicate()[1]}")

    def go(self) -> None:
        """Release a worker waiting at the barrier."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def result(self, timeout: float = WAIT) -> dict[str, Any]:
        """The worker's answer, once it has exited (waiting at most *timeout* seconds)."""
        out, err = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"worker failed (exit {self.process.returncode}):\n{err}")
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return result

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is (mid-fetch, holding a lock ...)."""
        self.process.kill()
        self.process.communicate(timeout=WAIT)


class _Logs(logging.Handler):
    """What the library logs, as ``LEVEL: message`` lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname}: {record.getMessage()}")


def main(spec: dict[str, Any]) -> dict[str, Any]:
    """The child: build a verifier like a fresh process of the fleet, verify one token."""
    from cognito_jwt import FetchOptions, FileStore, JwtError, JwtVerifier
    from cognito_jwt.stores import DynamoDBStore, KeyStore, RedisStore

    logs = _Logs()
    library = logging.getLogger("cognito_jwt")
    library.addHandler(logs)
    library.setLevel(logging.INFO)
    store: KeyStore = FileStore(spec["cache_dir"])
    kind = spec.get("store", "redis")
    if kind == "redis":
        store = RedisStore.from_url(spec["redis_url"], namespace=spec["namespace"], fallback=store)
    elif kind == "dynamodb":
        store = DynamoDBStore(
            spec["table"],
            region_name="eu-west-1",
            endpoint_url=spec["endpoint_url"],
            timeout=spec["fetch_timeout"],
            namespace=spec["namespace"],
            fallback=store,
        )
    verifier = JwtVerifier(
        issuer=spec["issuer"],
        audience="api",
        store=store,
        fetch=FetchOptions(timeout=spec["fetch_timeout"], retries=0),
    )
    if spec.get("barrier"):
        print("ready", flush=True)
        sys.stdin.readline()
    began = time.perf_counter()
    try:
        if spec["mode"] == "async":
            claims = asyncio.run(verifier.verify_async(spec["token"]))
        else:
            claims = verifier.verify(spec["token"])
    except JwtError as exc:
        result: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    else:
        result = {"ok": True, "sub": claims.sub}
    stats = verifier.stats
    result.update(
        ms=(time.perf_counter() - began) * 1e3,
        fetches=stats.fetches,
        l2_loads=stats.l2_loads,
        refreshes=stats.refreshes,
        logs=logs.lines,
    )
    return result


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
