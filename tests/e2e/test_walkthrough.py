"""The MiniStack walk-through of docs/guides/lambda-deploy.md runs as shown.

The guide includes ``tests/e2e/samples/walkthrough.py`` and ``authorizer.py`` verbatim
(``--8<--``); this runs the script's ``main`` against the session's emulator, installing this
tree's wheel (pinned by the lock) instead of the published ``cognito-jwt``, for the emulator's
Python (MiniStack runs functions with its own interpreter, whatever ``Runtime`` says).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import PROJECT_ROOT
from tests.e2e.package import DeploymentPackage, _pip
from tests.e2e.samples import walkthrough
from tests.servers.ministack import MiniStack


def test_walkthrough_runs_as_documented(
    ministack: MiniStack,
    deployment_package: DeploymentPackage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    lock = PROJECT_ROOT / "requirements" / "lock.txt"
    seen = walkthrough.main(
        endpoint=ministack.endpoint_url,
        requirements=[str(deployment_package.wheel), "-c", str(lock), "--no-cache-dir"],
        pip=_pip(tmp_path),
        python=here,
    )
    assert seen == {
        "alice /me": 200,
        "alice /admin": 200,
        "bob /me": 200,
        "bob /admin": 403,
        "no token /me": 401,
        "garbage /me": 403,
    }
    # What it prints is what the guide says it prints.
    guide = (PROJECT_ROOT / "docs" / "guides" / "lambda-deploy.md").read_text(encoding="utf-8")
    (shown,) = re.findall(r"^```text\n(deployment package:.*?)^```", guide, re.S | re.M)
    assert capsys.readouterr().out == shown
