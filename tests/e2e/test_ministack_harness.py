"""The MiniStack harness itself: loopback only, nothing of the test environment leaks in."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.servers.ministack import LOOPBACK, MiniStack, MiniStackError, _listening_addresses

# The first two read /proc: the tests run on Linux (as CI does).


def test_emulator_listens_on_loopback_only(ministack: MiniStack) -> None:
    assert _listening_addresses(ministack.pid) == [f"{LOOPBACK}:{ministack.port}"]


def test_emulator_environment_holds_nothing_of_the_tests(ministack: MiniStack) -> None:
    raw = Path(f"/proc/{ministack.pid}/environ").read_bytes()
    env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    assert not [k for k in env if k.startswith("AWS_") or "PROXY" in k.upper()]
    assert "PYTHONPATH" not in env
    assert "COGNITO_JWT_CACHE_DIR" not in env
    assert env["BIND_HOST"] == LOOPBACK
    assert env["STATE_DIR"].startswith(str(ministack.workdir))


def test_clients_ignore_the_aws_environment(
    ministack: MiniStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://192.0.2.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("HTTPS_PROXY", "http://192.0.2.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:9")
    pools = ministack.client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert isinstance(pools, list)


def test_start_fails_when_the_port_is_taken() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        server = MiniStack(port=taken.getsockname()[1], startup_timeout=30)
        with pytest.raises(MiniStackError, match="exited"):
            server.start()
        assert not server.running


def test_stop_ends_the_process_group_and_removes_its_folder() -> None:
    server = MiniStack().start()
    pid, workdir = server.pid, server.workdir
    assert workdir.is_dir()
    server.stop()
    assert not workdir.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
