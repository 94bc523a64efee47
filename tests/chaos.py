"""Chaos: verifiers under threads and asyncio tasks against an issuer that misbehaves on purpose.

``python -m tests.chaos --seconds 60`` (what ``python -m nox -s chaos`` runs; not part of CI)
serves a JWKS on 127.0.0.1 from a raw socket server that answers each request with a fault
picked at random: HTTP 500, a connection reset, a hang, a truncated body, a huge body (announced
or not), headers or a body trickled a byte at a time, a page that is not JSON, or a key set
missing the newest key. The signing key rotates every few seconds. Sync verifiers run on
threads, async verifiers on tasks of one event loop, and one verifier serves both faces; they
verify good tokens, tokens with random ``kid`` values (a flood) and forgeries. Then the issuer
recovers and every good token must verify again.

It fails (exit status 1) when: anything but a ``JwtError`` escapes a verification; a forgery is
accepted; a call takes longer than a fetch may; a good token still fails after recovery; the
issuer got more requests than the refresh policy allows; threads or tasks are left behind.
Everything is bounded: the run stops by itself after ``--seconds`` plus a recovery budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import socket
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cognito_jwt import (
    FetchOptions,
    FileStore,
    JwtError,
    JwtVerifier,
    RefreshPolicy,
)
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._keysource import RemoteKeySource
from cognito_jwt.testing import LocalIssuer

AUDIENCE = "chaos-api"
TIMEOUT = 0.5  # FetchOptions.timeout: every fault must be cut by it
FETCH = FetchOptions(timeout=TIMEOUT, connect_timeout=TIMEOUT, retries=1, max_bytes=64 * 1024)
POLICY = RefreshPolicy(
    max_age=2,
    min_max_age=1,
    max_stale=4,
    stale_if_error=600,
    cooldown=0.5,
    negative_kid_ttl=1,
    backoff_initial=0.2,
    backoff_max=1,
)
# The longest one verification may take: waiting for a fetch that someone else leads
# (discovery is off, so one request with its retry), plus the verifier's margin.
CALL_LIMIT = 3 * TIMEOUT * (FETCH.retries + 1) + 5
LOOP_FROZEN = 5.0  # seconds without a loop turn that count as a frozen event loop
RECOVERY = 20.0  # seconds the recovered issuer gets to be trusted again
ROTATE_EVERY = 3.0
FAULTS: dict[str, int] = {  # fault -> weight
    "ok": 30,
    "500": 8,
    "reset": 6,
    "hang": 8,
    "truncated": 6,
    "huge": 4,
    "huge_stream": 4,
    "trickle_headers": 4,
    "trickle_body": 4,
    "not_json": 5,
    "missing_kid": 10,
}


# === The misbehaving issuer =======================================================================
class ChaosServer:
    """Serves *issuer*'s JWKS on 127.0.0.1, each answer a fault from :data:`FAULTS` (or all
    ``"ok"`` once :attr:`calm` is set). One thread per connection; :meth:`close` ends them."""

    def __init__(self, issuer: LocalIssuer, rng: random.Random) -> None:
        self.issuer = issuer
        self.rng = rng
        self.rng_lock = threading.Lock()
        self.calm = threading.Event()
        self.stopped = threading.Event()
        self.faults: Counter[str] = Counter()
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/jwks.json"
        self.handlers: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._serve, name="chaos-server", daemon=True)
        self.thread.start()

    def _pick(self) -> str:
        if self.calm.is_set():
            return "ok"
        with self.rng_lock:
            return self.rng.choices(list(FAULTS), weights=list(FAULTS.values()))[0]

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.requests += 1
            fault = self._pick()
            self.faults[fault] += 1
            handler = threading.Thread(target=self._answer, args=(conn, fault), daemon=True)
            self.handlers = [t for t in self.handlers if t.is_alive()]
            self.handlers.append(handler)
            handler.start()

    def _answer(self, conn: socket.socket, fault: str) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            conn.recv(65536)
            document = self.issuer.jwks()
            if fault == "missing_kid":
                document = {"keys": document["keys"][:-1] or document["keys"]}
            body = json.dumps(document).encode()
            if fault == "500":
                self._send(conn, "500 Internal Server Error", b'{"error": "oops"}')
            elif fault == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif fault == "hang":
                self.stopped.wait(4 * TIMEOUT)
            elif fault == "truncated":
                conn.sendall(self._head("200 OK", len(body) + 100) + body[: len(body) // 2])
            elif fault == "huge":
                conn.sendall(self._head("200 OK", 50_000_000))
                for _ in range(200):
                    conn.sendall(b" " * 16384)
            elif fault == "huge_stream":  # no length announced: only the running count can cut it
                conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                for _ in range(200):
                    conn.sendall(b" " * 16384)
            elif fault == "trickle_headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                self._trickle(conn, b"X-Slow: " + b"a" * 1000)
            elif fault == "trickle_body":
                conn.sendall(self._head("200 OK", len(body)))
                self._trickle(conn, body)
            elif fault == "not_json":
                self._send(conn, "200 OK", b"<html><body>Service Unavailable</body></html>")
            else:
                self._send(conn, "200 OK", body)

    def _trickle(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self.stopped.wait(TIMEOUT / 10):
                return
            conn.sendall(bytes([byte]))

    @staticmethod
    def _head(status: str, length: int) -> bytes:
        return (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
        ).encode()

    def _send(self, conn: socket.socket, status: str, body: bytes) -> None:
        conn.sendall(self._head(status, len(body)) + body)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        for handler in self.handlers:
            handler.join(5)
        self.sock.close()


# === Bookkeeping ==================================================================================
@dataclass
class Tally:
    """What the workers saw; appended to from threads and tasks (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    calls: int = 0
    slowest: float = 0.0

    def record(self, kind: str, started: float, outcome: str, problem: str | None) -> None:
        elapsed = time.monotonic() - started
        with self.lock:
            self.calls += 1
            self.slowest = max(self.slowest, elapsed)
            self.outcomes[f"{kind}:{outcome}"] += 1
            if problem is not None and len(self.problems) < 50:
                self.problems.append(problem)
            if elapsed > CALL_LIMIT and len(self.problems) < 50:
                self.problems.append(f"a {kind} call took {elapsed:.1f} s")


class Tokens:
    """Good tokens (one per published key, re-minted on rotation), floods and forgeries."""

    def __init__(self, issuer: LocalIssuer, rng: random.Random) -> None:
        self.issuer = issuer
        self.rng = rng
        self.lock = threading.Lock()
        self.impostor = LocalIssuer(algorithm=issuer.algorithm)  # never started: its key only
        self.good: list[str] = []
        self.refresh()

    def mint(self, issuer: LocalIssuer, kid: str | None = None) -> str:
        claims = {"sub": "chaos", "aud": AUDIENCE, "iss": self.issuer.issuer}
        return issuer.mint(claims, lifetime=3600, kid=kid)

    def refresh(self) -> None:
        good = [self.mint(self.issuer, kid) for kid in self.issuer.kids]
        with self.lock:
            self.good = good

    def pick(self) -> tuple[str, str]:
        """``(kind, token)``: ``good`` (must verify once the issuer is well), ``flood`` (a
        random kid) or ``forged`` (a published kid, another key): never accepted."""
        with self.lock:
            roll = self.rng.random()
            if roll < 0.7:
                return "good", self.rng.choice(self.good)
            published = self.rng.choice(self.issuer.kids)
        if roll < 0.9:
            return "flood", self._foreign(f"random-{self.rng.getrandbits(64):016x}")
        return "forged", self._foreign(published)

    def _foreign(self, kid: str) -> str:
        """A token signed by a key the issuer never published, its header naming *kid*."""
        now = int(time.time())
        claims: dict[str, Any] = {"sub": "mallory", "aud": AUDIENCE, "iss": self.issuer.issuer}
        claims.update(iat=now, exp=now + 3600)
        key = self.impostor._keys[-1].private
        return encode_compact(claims, key, alg=self.impostor.algorithm, kid=kid)


def classify(kind: str, outcome: Any) -> tuple[str, str | None]:
    """The outcome's label and, if it breaks a rule, the problem."""
    if isinstance(outcome, JwtError):
        return type(outcome).__name__, None
    if isinstance(outcome, BaseException):
        return "CRASH", f"{type(outcome).__name__} escaped a {kind} call: {outcome!r}"
    if kind != "good":
        return "ACCEPTED", f"a {kind} token was accepted"
    return "ok", None


# === Workers ======================================================================================
def thread_worker(
    verifier: JwtVerifier, tokens: Tokens, tally: Tally, stop: threading.Event
) -> None:
    while not stop.is_set():
        kind, token = tokens.pick()
        started = time.monotonic()
        try:
            outcome: Any = verifier.verify(token)
        except BaseException as exc:  # noqa: BLE001 - every escape is recorded as a problem
            outcome = exc
        tally.record(kind, started, *classify(kind, outcome))


async def task_worker(
    verifier: JwtVerifier, tokens: Tokens, tally: Tally, stop: threading.Event
) -> None:
    while not stop.is_set():
        kind, token = tokens.pick()
        started = time.monotonic()
        try:
            outcome: Any = await verifier.verify_async(token)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every escape is recorded as a problem
            outcome = exc
        tally.record(kind, started, *classify(kind, outcome))
        await asyncio.sleep(0)  # let the loop breathe: a verification may never block it


class LoopWatch:
    """Measures the event loop's longest stall (a blocking call on the loop shows here)."""

    def __init__(self) -> None:
        self.worst = 0.0

    async def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.monotonic() - before - 0.01)


@contextlib.contextmanager
def watched(tally: Tally) -> Iterator[Counter[str]]:
    """For the run: a problem whenever a blocking fetch runs on a thread with a running event
    loop (it would freeze every task); library warnings counted instead of printed."""
    original = RemoteKeySource._fetch_sync

    def guarded(self: RemoteKeySource, seq: int, reason: str) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return original(self, seq, reason)
        with tally.lock:
            tally.problems.append(f"a blocking fetch ({reason}) ran on the event loop")
        return original(self, seq, reason)

    warnings: Counter[str] = Counter()

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings[record.levelname] += 1

    log = logging.getLogger("cognito_jwt")
    handler, propagate = Count(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    RemoteKeySource._fetch_sync = guarded  # type: ignore[method-assign]
    try:
        yield warnings
    finally:
        RemoteKeySource._fetch_sync = original  # type: ignore[method-assign]
        log.removeHandler(handler)
        log.propagate = propagate


# === The run ======================================================================================
@dataclass
class ChaosResult:
    """What one chaos run saw."""

    seconds: float
    calls: int
    outcomes: dict[str, int]
    faults: dict[str, int]
    issuer_requests: int
    request_limit: int
    slowest_call: float
    loop_stall: float
    recovered: bool
    leftover_threads: list[str]
    leftover_tasks: int
    problems: list[str]
    log_records: dict[str, int]

    @property
    def healthy(self) -> bool:
        return (
            not self.problems
            and self.recovered
            and self.issuer_requests <= self.request_limit
            and not self.leftover_threads
            and self.leftover_tasks == 0
        )


def run_chaos(
    seconds: float = 60.0, *, threads: int = 4, tasks: int = 50, seed: int = 16
) -> ChaosResult:
    """Run the chaos for *seconds*, then recover and check; returns what was seen."""
    rng = random.Random(seed)  # noqa: S311 - chaos, not crypto
    started = time.monotonic()
    threads_before = {t.ident for t in threading.enumerate()}
    tally = Tally()
    with (
        watched(tally) as log_records,
        LocalIssuer(algorithm="ES256") as issuer,
        tempfile.TemporaryDirectory() as tmp,
    ):
        server = ChaosServer(issuer, rng)
        tokens = Tokens(issuer, random.Random(seed + 1))  # noqa: S311

        def verifier(**options: Any) -> JwtVerifier:
            settings: dict[str, Any] = {"store": None, **options}
            return JwtVerifier(
                issuer=issuer.issuer,
                audience=AUDIENCE,
                jwks_uri=server.url,
                algorithms=("ES256",),
                fetch=FETCH,
                refresh=POLICY,
                **settings,
            )

        sync_only = verifier()
        async_only = verifier(store=FileStore(tmp))
        both = verifier()
        verifiers = [sync_only, async_only, both]
        stop = threading.Event()
        watch = LoopWatch()
        loop_result: dict[str, Any] = {}

        async def async_side() -> None:
            workers = [
                asyncio.create_task(task_worker(async_only if i % 2 else both, tokens, tally, stop))
                for i in range(tasks)
            ]
            watcher = asyncio.create_task(watch.run(stop))
            await asyncio.gather(*workers, watcher)
            sources: list[Any] = [async_only._keys, both._keys]
            for source in sources:  # background refreshes still running: let them finish
                pending = [
                    t
                    for t in [*source._flights.tasks, *source._flights.by_loop.values()]
                    if not t.done()
                ]
                if pending:
                    await asyncio.wait(pending, timeout=CALL_LIMIT)
            loop_result["recovered"] = await recover_async()
            loop_result["tasks"] = len(asyncio.all_tasks()) - 1

        async def recover_async() -> bool:
            deadline = time.monotonic() + RECOVERY
            for candidate in (async_only, both):
                while True:
                    with tokens.lock:
                        good = list(tokens.good)
                    try:
                        for token in good:
                            await candidate.verify_async(token)
                        break
                    except JwtError:
                        if time.monotonic() > deadline:
                            return False
                        await asyncio.sleep(0.1)
            return True

        loop_thread = threading.Thread(
            target=lambda: asyncio.run(async_side()), name="chaos-loop", daemon=True
        )
        workers = [
            threading.Thread(
                target=thread_worker,
                args=(both if i % 2 else sync_only, tokens, tally, stop),
                name=f"chaos-worker-{i}",
                daemon=True,
            )
            for i in range(threads)
        ]
        for worker in workers:
            worker.start()
        loop_thread.start()

        rotations = 0
        next_rotation = time.monotonic() + ROTATE_EVERY
        end = started + seconds
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            if time.monotonic() >= next_rotation:
                issuer.rotate()
                with issuer._lock:
                    del issuer._keys[:-2]
                tokens.refresh()
                rotations += 1
                next_rotation += ROTATE_EVERY

        # Recovery: the issuer behaves; every good token must verify again, on every face.
        server.calm.set()
        stop.set()
        for worker in workers:
            worker.join(CALL_LIMIT + 1)
        loop_thread.join(CALL_LIMIT + RECOVERY + 5)
        chaos_requests = server.requests
        recovered = bool(loop_result.get("recovered"))
        deadline = time.monotonic() + RECOVERY
        for candidate in (sync_only, both):
            while True:
                try:
                    for token in list(tokens.good):
                        candidate.verify(token)
                    break
                except JwtError:
                    if time.monotonic() > deadline:
                        recovered = False
                        break
                    time.sleep(0.1)
        for candidate in verifiers:
            keys: Any = candidate._keys
            keys.join_background(CALL_LIMIT)
        problems = list(tally.problems)
        if any(w.is_alive() for w in [*workers, loop_thread]):
            problems.append("a worker never finished")
        # Busy worker threads hold the GIL, so the loop waits sub-second at times; a loop frozen
        # for seconds means a blocking call on it (the fetch guard names the usual suspect).
        if watch.worst > LOOP_FROZEN:
            problems.append(f"the event loop stalled for {watch.worst:.2f} s")
        elapsed = time.monotonic() - started
        server.close()
    # The policy allows, per verifier and face: a retry per fetch, and per second at most
    # 2 unknown-kid fetches per cooldown, one expiry refresh, failure-rate refreshes and
    # backoff-paced retries (>= 0.2 s apart). Generous, but far below one fetch per call.
    faces = 4  # sync_only, async_only, both (sync and async)
    per_second = (FETCH.retries + 1) * (2 / POLICY.cooldown + 1 / POLICY.backoff_initial + 2)
    request_limit = int(faces * per_second * (elapsed + 5))
    time.sleep(0.1)  # daemon server threads that answered last exit
    leftover = [
        t.name
        for t in threading.enumerate()
        if t.ident not in threads_before and t.is_alive() and t is not threading.current_thread()
    ]
    return ChaosResult(
        seconds=round(elapsed, 1),
        calls=tally.calls,
        outcomes=dict(sorted(tally.outcomes.items())),
        faults=dict(sorted(server.faults.items())),
        issuer_requests=chaos_requests,
        request_limit=request_limit,
        slowest_call=round(tally.slowest, 2),
        loop_stall=round(watch.worst, 3),
        recovered=recovered,
        leftover_threads=leftover,
        leftover_tasks=int(loop_result.get("tasks", -1)),
        problems=problems,
        log_records=dict(log_records),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="chaos time (default: 60)")
    parser.add_argument("--threads", type=int, default=4, help="sync worker threads (default: 4)")
    parser.add_argument("--tasks", type=int, default=50, help="async worker tasks (default: 50)")
    parser.add_argument("--seed", type=int, default=16, help="random seed (default: 16)")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 3600 or not 1 <= args.threads <= 64 or not 1 <= args.tasks <= 1000:
        parser.error("bounded runs only: 1-3600 s, 1-64 threads, 1-1000 tasks")
    result = run_chaos(args.seconds, threads=args.threads, tasks=args.tasks, seed=args.seed)
    for name, value in vars(result).items():
        print(f"{name:>16}: {value}")
    print("chaos:", "OK" if result.healthy else "FAILED")
    return 0 if result.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
