from __future__ import annotations

import io
import re
import subprocess
import sys

from cognito_jwt._cli import main


def test_demo_goes_through_discovery_the_cache_and_rejections() -> None:
    out = io.StringIO()
    assert main(["demo"], out=out) == 0
    text = out.getvalue()
    assert "found the keys by OIDC discovery" in text
    assert '"token_use": "access"' in text
    assert "'unknown_kid': 1" in text  # the rotation cost exactly one refresh
    for code in (
        "ERR_INVALID_SIGNATURE",
        "ERR_TOKEN_EXPIRED",
        "ERR_TOKEN_USE_MISMATCH",
        "ERR_AUDIENCE_MISMATCH",
        "ERR_ALG_NOT_ALLOWED",
    ):
        assert code in text
    assert re.search(r"1000 tokens with random kids: 1000 rejected, 0 extra fetch", text)
    assert "verified from the file store: 0 fetches, 1 store load" in text
    assert "ACCEPTED" not in text


def test_python_dash_m_runs_the_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cognito_jwt", "demo"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "rejected, ERR_INVALID_SIGNATURE" in result.stdout
