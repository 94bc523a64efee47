"""MiniStack, a local AWS emulator (PyPI ``ministack``), as a child process on 127.0.0.1.

`MiniStack` starts ``python -m ministack`` with the interpreter running the tests (so the
emulator imports ``cryptography`` from the same environment: without it MiniStack signs Cognito
tokens with random bytes and serves a dummy JWKS that no library can use), on a free port of
127.0.0.1, with a private working directory, and waits until it answers. `MiniStack.client`
builds boto3 clients bound to it alone. `MiniStack.stop` ends it and every process it started.

What the tests rely on, and how MiniStack 1.5.33 behaves (read from its source and measured):

* **Binding.** ``BIND_HOST`` and ``GATEWAY_PORT`` choose the HTTP listener; its default is
  0.0.0.0:4566. MiniStack also opens an IoT MQTT-over-TLS listener on **0.0.0.0:8883** when
  ``cryptography`` is importable (``IOT_MTLS_ENABLED=0`` turns it off) and an SFTP listener on
  demand (``SFTP_ENABLED=0``). Both are switched off here, and `start` checks (Linux, from
  ``/proc``) that every listening socket of the process is on 127.0.0.1; if not, it fails.
* **State.** Cognito's signing keys are written under ``STATE_DIR`` (default
  ``/tmp/ministack-state``, shared by every MiniStack on the machine); a pid file and detached
  logs go to ``TMPDIR``. Both point into a private temporary directory, removed at `stop`.
* **Environment.** MiniStack passes its own environment on to every Lambda function it runs
  (``{**os.environ, **function variables}``), so the child gets a minimal environment: ``PATH``,
  locale, ``HOME``/``TMPDIR`` in the private directory and MiniStack's settings. No ``AWS_*``,
  proxy, ``PYTHONPATH`` or ``COGNITO_JWT_*`` variable of the test process reaches it.
* **Readiness.** ``GET /_ministack/ready`` answers 200 once the gateway serves requests.
* **Cognito.** Tokens carry the real AWS issuer, ``https://cognito-idp.{region}.amazonaws.com/
  {pool}`` (the ORIGINAL issuer format; MiniStack has no ``IssuerConfiguration`` and never
  issues the UPDATED ``issuer-cognito-idp`` format). Each pool signs ID and access tokens with
  two RSA-2048 keys of its own (``kid``: base64 of the SHA-256 of the public key). The
  discovery document (``{endpoint}/{pool}/.well-known/openid-configuration``) names that
  issuer and a ``jwks_uri`` on the emulator (``http://127.0.0.1:{port}/{pool}/.well-known/
  jwks.json``); AWS serves both under the issuer's own host. ``/oauth2/token`` is served at the
  emulator's root for every pool (AWS: on the pool's domain), and grants ``client_credentials``
  with resource-server scopes.
* **API Gateway.** An API is reached by ``Host: {api_id}.execute-api.localhost:{port}`` on the
  emulator's port (`MiniStack.execute_api`). Authorizer results are cached by identity source
  values for ``authorizerResultTtlInSeconds`` (default 300, as on AWS); a cached policy is
  evaluated again against each request's own ARN, and a cached simple answer applies to every
  route unless the route is part of the identity sources, as AWS documents.
* **Lambda.** The local executor keeps one warm worker process per function (idle for up to
  ``LAMBDA_WARM_TTL_SECONDS``, 300 s); a cold start unzips the package and imports the handler.

Where MiniStack 1.5.33 differs from AWS's documentation, and what the tests do about it:

1. Cognito issuer: only the ORIGINAL format; no ``IssuerConfiguration`` on pools, no UPDATED
   ``https://issuer-cognito-idp.{region}.amazonaws.com/{pool}`` issuer, no replicas. The tests
   cover the original issuer only.
2. Cognito keys and discovery are served by the emulator, not under the issuer's host; the
   discovery document's ``jwks_uri`` and endpoints point at ``http://127.0.0.1:{port}``. The
   tests read ``jwks_uri`` from that document and pass it to ``CognitoVerifier(jwks_uri=...)``
   (loopback ``http`` is allowed by the library without ``allow_insecure_http``).
3. ``/oauth2/token`` answers at the emulator's root for every pool, without a user pool domain
   (AWS: ``https://{domain}.auth.{region}.amazoncognito.com/oauth2/token`` once a domain
   exists); ``{endpoint}/{pool}/oauth2/token`` is 405. The tests post to the root.
4. Token claims: no ``version`` or ``event_id`` claim; ``client_credentials`` access tokens
   carry ``auth_time`` and ``origin_jti``. Nothing in the tests depends on these.
5. Lambda runs every Python function with the emulator's own interpreter (whatever
   ``Runtime`` says), with its site-packages importable and its whole environment inherited.
   The harness gives the emulator a minimal environment; the deployed handler hides everything
   but the standard library and its package, and checks where its modules came from.
6. ``Invoke`` with ``LogType="Tail"`` returns no log, so no ``REPORT ... Init Duration``: the
   handler measures its own init phase and returns it in the authorizer context.
7. An HTTP API authorizer (payload 2.0, IAM policy responses) that raises
   ``Exception("Unauthorized")`` gets a 500 from MiniStack (REST APIs: 401, as AWS documents;
   for HTTP APIs we found no AWS statement either way). The HTTP API with IAM responses
   therefore uses ``on_invalid="deny"`` (explicit Deny, 403), whose outcome is documented.
8. Listening sockets: 0.0.0.0 by default, plus an IoT MQTT listener on 0.0.0.0:8883; state in a
   machine-wide ``/tmp/ministack-state``. Handled by the settings above.
9. ``AUTH=true`` (not used by this harness's default server) turns on SigV4/IAM enforcement,
   and only with it does ``GetUser`` refuse a revoked token ("Access Token has been
   revoked") after ``GlobalSignOut``, ``AdminUserGlobalSignOut`` or ``RevokeToken``, and does
   refreshing a revoked family fail. ``tests/e2e/test_cognito_revocation.py`` starts its own
   server with ``AUTH=true`` for the online check.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from typing_extensions import Self

from tests.servers.aws_client import isolated_client

__all__ = ["MINISTACK_VERSION", "MiniStack", "MiniStackError"]

LOOPBACK = "127.0.0.1"
# The version the tests are written against (pinned in pyproject.toml's test group).
MINISTACK_VERSION = "1.5.33"
_STOP_TIMEOUT = 10.0
# The execute-api host suffix: requests carry Host: {api}.execute-api.localhost.
_VIRTUAL_HOST = "localhost"


# The only variables of the test process the emulator (and the functions it runs) may see.
_PASSED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "SYSTEMROOT")


class MiniStackError(RuntimeError):
    """MiniStack is not installed, did not start, or listens where it must not."""


_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """End *process* and the Lambda workers it started (its own process group)."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT)
    # Workers left behind (they end by themselves when their stdin closes; make sure).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@atexit.register
def _kill_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for process in live:
        _kill_group(process)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _listening_addresses(pid: int) -> list[str] | None:
    """``host:port`` of every TCP socket *pid* listens on, or ``None`` where /proc can't tell."""
    fd_dir = Path(f"/proc/{pid}/fd")
    if not fd_dir.is_dir():
        return None
    inodes: set[str] = set()
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found: list[str] = []
    for table, width in (("tcp", 8), ("tcp6", 32)):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) < 10 or fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            host_hex, port_hex = fields[1].split(":")
            raw = bytes.fromhex(host_hex)
            if width == 8:
                host = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:  # four little-endian 32-bit words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                host = socket.inet_ntop(socket.AF_INET6, words)
            found.append(f"{host}:{int(port_hex, 16)}")
    return found


class MiniStack:
    """A MiniStack server on 127.0.0.1, as a context manager or with `start` / `stop`.

    Args:
        region: The region of every client (and MiniStack's default region).
        port: TCP port; ``None`` picks a free one at the first start.
        startup_timeout: Seconds to wait for the emulator to answer before failing.

    Attributes:
        startup_seconds: Wall time `start` took, once started.
    """

    def __init__(
        self, *, region: str = "eu-west-1", port: int | None = None, startup_timeout: float = 60.0
    ) -> None:
        self.region = region
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None

    # --- addresses ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (known once started)."""
        if self._port is None:
            raise MiniStackError("MiniStack has not been started")
        return self._port

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:{port}``: the endpoint of every service."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def workdir(self) -> Path:
        """The emulator's private directory (its ``STATE_DIR``, ``TMPDIR`` and ``HOME``)."""
        if self._workdir is None:
            raise MiniStackError("MiniStack has not been started")
        return Path(self._workdir.name)

    @property
    def log_path(self) -> Path:
        """The emulator's stdout and stderr."""
        return self.workdir / "ministack.log"

    def log_tail(self, size: int = 4000) -> str:
        """The end of the emulator's log (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def discovery_url(self, user_pool_id: str) -> str:
        """The pool's OpenID discovery document on the emulator."""
        return f"{self.endpoint_url}/{user_pool_id}/.well-known/openid-configuration"

    def execute_api_host(self, api_id: str) -> str:
        """The ``Host`` header that reaches *api_id* (AWS: ``{api}.execute-api.{region}...``)."""
        return f"{api_id}.execute-api.{_VIRTUAL_HOST}:{self.port}"

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def pid(self) -> int:
        """The emulator's process id (also its process group id)."""
        if self._process is None:
            raise MiniStackError("MiniStack is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the emulator process is alive."""
        return self._process is not None and self._process.poll() is None

    def _env(self) -> dict[str, str]:
        work = self.workdir
        env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
        env.update(
            HOME=str(work / "home"),
            TMPDIR=str(work / "tmp"),
            STATE_DIR=str(work / "state"),
            S3_DATA_DIR=str(work / "s3"),
            BIND_HOST=LOOPBACK,
            GATEWAY_PORT=str(self.port),
            MINISTACK_HOST=_VIRTUAL_HOST,
            MINISTACK_REGION=self.region,
            IOT_MTLS_ENABLED="0",  # else a TLS listener on 0.0.0.0:8883
            SFTP_ENABLED="0",
            LAMBDA_EXECUTOR="local",
            LOG_LEVEL="WARNING",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> Self:
        """Start the emulator and wait until it serves requests.

        Raises:
            MiniStackError: Not installed, exited, did not answer in time, or listens on
                something other than 127.0.0.1 (the message holds its log).
        """
        if self.running:
            return self
        began = time.perf_counter()
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="cognito-jwt-ministack-")
        for sub in ("home", "tmp", "state", "s3"):
            (self.workdir / sub).mkdir(exist_ok=True)
        if self._port is None:
            self._port = _free_port()
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ministack"],
                cwd=self.workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stop() ends the Lambda workers too
            )
        with _LIVE_LOCK:
            _LIVE.add(process)
        self._process = process
        try:
            self._wait_ready(process)
            self._check_loopback_only(process)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"{self.endpoint_url}/_ministack/ready"
        with httpx.Client(trust_env=False, timeout=2.0) as http:
            while True:
                if process.poll() is not None:
                    raise MiniStackError(
                        f"MiniStack exited with status {process.returncode} "
                        f"(is `ministack=={MINISTACK_VERSION}` installed in {sys.executable}?):\n"
                        f"{self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(url).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise MiniStackError(
                        f"MiniStack did not answer on {self.endpoint_url} within "
                        f"{self.startup_timeout:.0f}s:\n{self.log_tail()}"
                    )
                time.sleep(0.05)

    def _check_loopback_only(self, process: subprocess.Popen[bytes]) -> None:
        addresses = _listening_addresses(process.pid)
        if addresses is None:
            return  # no /proc (not Linux): BIND_HOST is all we can do
        outside = [a for a in addresses if not a.startswith(f"{LOOPBACK}:")]
        if outside or f"{LOOPBACK}:{self.port}" not in addresses:
            raise MiniStackError(f"MiniStack listens on {addresses}; only {LOOPBACK} is allowed")

    def stop(self) -> None:
        """Stop the emulator and its Lambda workers, and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            with _LIVE_LOCK:
                _LIVE.discard(process)
            _kill_group(process)
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
        self.stop()

    # --- clients --------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for *service* bound to this emulator and nothing else.

        Dummy credentials, the local endpoint, no proxies, no profile or config file of the
        developer's or CI's.
        """
        return isolated_client(
            service, region=self.region, endpoint_url=self.endpoint_url, read_timeout=60
        )

    def http(self) -> httpx.Client:
        """An ``httpx.Client`` for the emulator's own URLs (no proxies from the environment)."""
        return httpx.Client(base_url=self.endpoint_url, trust_env=False, timeout=60.0)

    def execute_api(
        self,
        http: httpx.Client,
        api_id: str,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send a request through API Gateway to *path* (``/{stage}/...``) of API *api_id*."""
        sent = {"Host": self.execute_api_host(api_id), **(headers or {})}
        return http.request(method, f"{self.endpoint_url}{path}", headers=sent)
