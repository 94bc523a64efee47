"""A local Amazon Cognito user pool, served by moto in server mode on 127.0.0.1.

`MotoCognito` starts moto's ``ThreadedMotoServer`` bound to 127.0.0.1 on a free port (in this
process by default, or in a child process, see `MotoCognito`'s ``mode``), and provisions
through boto3 (against that endpoint only, with dummy credentials):

* a user pool (region ``eu-west-1`` unless told otherwise);
* a primary app client with no secret and the ``ALLOW_USER_PASSWORD_AUTH`` /
  ``ALLOW_REFRESH_TOKEN_AUTH`` explicit auth flows, and a second app client like it;
* a group ``admins`` and a confirmed user (permanent password) who belongs to it.

`MotoCognito.tokens` signs the user in with ``USER_PASSWORD_AUTH`` and returns the
``AuthenticationResult`` (``IdToken``, ``AccessToken``, ``RefreshToken``, ...): real
Cognito-shaped RS256 JWTs signed with the fixed RSA key moto ships
(``moto/cognitoidp/resources/jwks-private.json``, header ``kid`` ``"dummy"``), whose public
half moto serves at `MotoCognito.jwks_uri`.

Nothing here reaches AWS: the boto3 client is built on a botocore session that ignores
``AWS_PROFILE`` / ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE``, is given explicit
dummy credentials, a fixed region, ``endpoint_url`` pointing at the local server, and no
proxies (so ``HTTP(S)_PROXY`` cannot divert it either).

In ``"thread"`` mode moto keeps its state in this process's global backends: a
``moto.mock_aws`` started elsewhere in the same process resets them (wiping the pool), and moto
itself builds a default boto3 session from the environment, which fails on an ``AWS_PROFILE``
that names no profile. ``"subprocess"`` mode runs the same server in a child whose environment
has every ``AWS_*`` and proxy variable removed; ``"auto"`` (the default) picks it only when the
environment holds variables that would disturb an in-process moto.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from types import TracebackType
from typing import IO, Any, Literal, Protocol

from moto.server import ThreadedMotoServer
from typing_extensions import Self

from tests.servers.aws_client import isolated_client

__all__ = ["MotoCognito"]

LOOPBACK = "127.0.0.1"
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0

Mode = Literal["auto", "thread", "subprocess"]

# Environment variables an in-process moto would read (through its own boto3 Session()).
_DISTURBING_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DATA_PATH",
)

# The boto3 clients switch off botocore's environment lookups (tests/servers/aws_client.py),
# so that neither a developer's AWS configuration nor CI's can change where (or as whom) the
# client talks.


class _Server(Protocol):
    def start(self) -> tuple[str, int]: ...
    def stop(self) -> None: ...


class _ThreadServer:
    """moto's ThreadedMotoServer in this process."""

    def __init__(self) -> None:
        self._server: ThreadedMotoServer | None = None

    def start(self) -> tuple[str, int]:
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        # ThreadedMotoServer.start() waits, without a time limit, for an event that is never set
        # if binding fails; wait on it from a helper thread so a broken start fails instead.
        starter = threading.Thread(target=server.start, name="moto-cognito-start", daemon=True)
        starter.start()
        starter.join(_START_TIMEOUT)
        if starter.is_alive():
            raise RuntimeError(
                f"moto server did not start on {LOOPBACK} within {_START_TIMEOUT:.0f}s"
            )
        self._server = server
        return server.get_host_and_port()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()


# Runs in the child: the same ThreadedMotoServer, announced on stdout as "HOST PORT", and stopped
# when stdin closes (which also happens if the parent dies).
_CHILD = """\
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address=sys.argv[1], port=0, verbose=False)
server.start()
print(*server.get_host_and_port(), flush=True)
sys.stdin.read()
server.stop()
"""


def _child_env() -> dict[str, str]:
    proxies = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    return {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("AWS_") and k.lower() not in proxies
    }


class _ProcessServer:
    """moto's ThreadedMotoServer in a child Python with a scrubbed environment."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self) -> tuple[str, int]:
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, LOOPBACK],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=_child_env(),
            text=True,
        )
        line: list[str] = []
        stdout = self._proc.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(_START_TIMEOUT)
        if not line or not line[0].strip():
            self._log.seek(0)
            detail = self._log.read()[-4000:]
            self.stop()
            raise RuntimeError(f"moto server subprocess did not start:\n{detail}")
        host, port = line[0].split()
        return host, int(port)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(_STOP_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait(_STOP_TIMEOUT)
            finally:
                if proc.stdout is not None:
                    proc.stdout.close()
        log, self._log = self._log, None
        if log is not None:
            log.close()


class MotoCognito:
    """A moto Cognito IdP server with one user pool, two app clients, a group and a user.

    Use as a context manager, or call `start` and `stop` (both idempotent). After `start`,
    the attributes below describe the pool; `tokens` mints fresh tokens.

    ``mode``: ``"thread"`` runs moto in this process (fastest); ``"subprocess"`` in a child
    Python whose environment has no ``AWS_*`` or proxy variables; ``"auto"`` is ``"thread"``
    unless one of ``AWS_PROFILE``, ``AWS_DEFAULT_PROFILE``, ``AWS_CONFIG_FILE``,
    ``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_DATA_PATH`` is set (an in-process moto would read it).

    Attributes:
        mode: the mode actually used (``"thread"`` or ``"subprocess"``) once started.
        region: AWS region of the pool (also the one in ``iss``).
        username / password / email / group: the provisioned user and their group.
        user_pool_id: the pool id, ``"{region}_{...}"``.
        client_id: the primary app client (no secret).
        other_client_id: a second app client of the same pool.
        user_sub: the user's ``sub`` claim.
        host / port: the address the server is bound to (host is always ``127.0.0.1``).
        endpoint_url: ``http://127.0.0.1:{port}``.
        jwks_uri: ``{endpoint_url}/{user_pool_id}/.well-known/jwks.json``.
        issuer: ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``: the ``iss`` moto
            writes into its tokens (an AWS host name, not the local server).
        startup_seconds: wall time `start` took (server up + pool provisioned).
    """

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        username: str = "alice",
        password: str = "Corr3ct-Horse-Battery!",  # noqa: S107 - a moto-only test user
        email: str = "alice@example.com",
        group: str = "admins",
        mode: Mode = "auto",
    ) -> None:
        if mode not in ("auto", "thread", "subprocess"):
            raise ValueError(f"unknown mode {mode!r}")
        self.requested_mode: Mode = mode
        self.mode: Literal["thread", "subprocess"] | None = None
        self.region = region
        self.username = username
        self.password = password
        self.email = email
        self.group = group
        self.startup_seconds: float | None = None
        self._server: _Server | None = None
        self._client: Any = None
        self._host: str | None = None
        self._port: int | None = None
        self._user_pool_id: str | None = None
        self._client_id: str | None = None
        self._other_client_id: str | None = None
        self._user_sub: str | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is started (and not yet stopped)."""
        return self._server is not None

    def start(self) -> Self:
        """Start the server on 127.0.0.1 (free port) and provision the pool; raise on failure."""
        if self._server is not None:
            return self
        began = time.perf_counter()
        mode = self.requested_mode
        if mode == "auto":
            mode = "subprocess" if any(os.environ.get(k) for k in _DISTURBING_ENV) else "thread"
        server: _Server = _ThreadServer() if mode == "thread" else _ProcessServer()
        self._server = server
        self.mode = mode
        try:
            host, port = server.start()
            if host != LOOPBACK:
                raise RuntimeError(f"moto server bound {host!r}, expected {LOOPBACK!r}")
            self._host, self._port = host, port
            self._client = self._make_client()
            self._provision()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Shut the server down (thread joined, or child process ended); safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        client, self._client = self._client, None
        if client is not None:
            client.close()
        server.stop()

    # --- the pool ------------------------------------------------------------------------------
    def _make_client(self) -> Any:
        return self.client("cognito-idp")

    def client(self, service: str) -> Any:
        """A boto3 client for *service* (``"kms"`` ...) of this moto server, and nothing else.

        Isolated like the pool's own client: dummy credentials, the local endpoint, no proxies.
        """
        return isolated_client(
            service, region=self.region, endpoint_url=self.endpoint_url, read_timeout=30
        )

    def _provision(self) -> None:
        cognito = self._client
        pool = cognito.create_user_pool(
            PoolName="cognito-jwt-tests",
            Policies={
                "PasswordPolicy": {
                    "MinimumLength": 8,
                    "RequireUppercase": True,
                    "RequireLowercase": True,
                    "RequireNumbers": True,
                    "RequireSymbols": True,
                }
            },
        )["UserPool"]
        self._user_pool_id = pool["Id"]
        flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        # moto puts an attribute into ID tokens only if the client lists it as readable (real
        # Cognito treats an empty ReadAttributes as "all readable"); list what we want to see.
        readable = ["email", "email_verified"]
        self._client_id = cognito.create_user_pool_client(
            UserPoolId=self.user_pool_id,
            ClientName="primary",
            GenerateSecret=False,
            ExplicitAuthFlows=flows,
            ReadAttributes=readable,
        )["UserPoolClient"]["ClientId"]
        self._other_client_id = cognito.create_user_pool_client(
            UserPoolId=self.user_pool_id,
            ClientName="other",
            GenerateSecret=False,
            ExplicitAuthFlows=flows,
            ReadAttributes=readable,
        )["UserPoolClient"]["ClientId"]
        cognito.create_group(GroupName=self.group, UserPoolId=self.user_pool_id)
        cognito.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=self.username,
            UserAttributes=[
                {"Name": "email", "Value": self.email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=self.user_pool_id,
            Username=self.username,
            Password=self.password,
            Permanent=True,
        )
        cognito.admin_add_user_to_group(
            UserPoolId=self.user_pool_id, Username=self.username, GroupName=self.group
        )
        attributes = cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=self.username)
        self._user_sub = next(
            a["Value"] for a in attributes["UserAttributes"] if a["Name"] == "sub"
        )

    def tokens(self, client: str = "primary") -> dict[str, Any]:
        """Sign the user in (``USER_PASSWORD_AUTH``) and return the ``AuthenticationResult``.

        Args:
            client: ``"primary"``, ``"other"``, or an app client id of this pool.

        Returns:
            ``{"IdToken", "AccessToken", "RefreshToken", "ExpiresIn", "TokenType"}``.
        """
        client_id = {"primary": self.client_id, "other": self.other_client_id}.get(client, client)
        response = self.cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.username, "PASSWORD": self.password},
        )
        if "AuthenticationResult" not in response:
            raise RuntimeError(f"moto answered with a challenge: {response.get('ChallengeName')}")
        result: dict[str, Any] = response["AuthenticationResult"]
        return result

    def refresh(self, refresh_token: str, client: str = "primary") -> dict[str, Any]:
        """Exchange a refresh token (``REFRESH_TOKEN_AUTH``); moto returns no new refresh token."""
        client_id = {"primary": self.client_id, "other": self.other_client_id}.get(client, client)
        response = self.cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": refresh_token},
        )
        result: dict[str, Any] = response["AuthenticationResult"]
        return result

    # --- accessors (fail loudly when used before start()) --------------------------------------
    @staticmethod
    def _require(value: Any, name: str) -> Any:
        if value is None:
            raise RuntimeError(f"MotoCognito.{name} is only available after start()")
        return value

    @property
    def cognito(self) -> Any:
        """The boto3 ``cognito-idp`` client bound to the local server."""
        return self._require(self._client, "cognito")

    @property
    def host(self) -> str:
        """The address the server socket is bound to."""
        return str(self._require(self._host, "host"))

    @property
    def port(self) -> int:
        """The port the server socket is bound to."""
        return int(self._require(self._port, "port"))

    @property
    def endpoint_url(self) -> str:
        """Base URL of the local moto server."""
        return f"http://{self.host}:{self.port}"

    @property
    def user_pool_id(self) -> str:
        """The pool id, ``"{region}_{...}"``."""
        return str(self._require(self._user_pool_id, "user_pool_id"))

    @property
    def client_id(self) -> str:
        """The primary app client id."""
        return str(self._require(self._client_id, "client_id"))

    @property
    def other_client_id(self) -> str:
        """The second app client id."""
        return str(self._require(self._other_client_id, "other_client_id"))

    @property
    def user_sub(self) -> str:
        """The user's ``sub``."""
        return str(self._require(self._user_sub, "user_sub"))

    @property
    def jwks_uri(self) -> str:
        """Where the local server serves the pool's JWKS."""
        return f"{self.endpoint_url}/{self.user_pool_id}/.well-known/jwks.json"

    @property
    def issuer(self) -> str:
        """The ``iss`` moto writes into this pool's tokens."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"
