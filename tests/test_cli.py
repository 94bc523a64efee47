from __future__ import annotations

import io
import subprocess
import sys

from cognito_jwt._cli import main


def test_demo_verifies_and_rejects() -> None:
    out = io.StringIO()
    assert main(["demo"], out=out) == 0
    text = out.getvalue()
    assert '"token_use": "access"' in text
    for code in (
        "ERR_INVALID_SIGNATURE",
        "ERR_TOKEN_EXPIRED",
        "ERR_TOKEN_USE_MISMATCH",
        "ERR_ALG_NOT_ALLOWED",
    ):
        assert code in text
    assert "ACCEPTED" not in text


def test_python_dash_m_runs_the_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cognito_jwt", "demo"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "rejected, ERR_INVALID_SIGNATURE" in result.stdout
