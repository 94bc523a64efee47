from __future__ import annotations

import io
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cognito_jwt import JwtVerifier
from cognito_jwt._assertion import CLIENT_ASSERTION_TYPE
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


def test_keygen_writes_the_key_files_and_prints_no_private_key(tmp_path: Path) -> None:
    out = io.StringIO()
    assert (
        main(["keygen", "--alg", "ES256", "--out", str(tmp_path / "keys"), "--json"], out=out) == 0
    )
    summary = json.loads(out.getvalue())
    assert summary["alg"] == "ES256"
    assert "d" not in summary["jwk"]
    assert "PRIVATE KEY" not in out.getvalue()
    private = tmp_path / "keys" / "private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    jwks = json.loads((tmp_path / "keys" / "jwks.json").read_text())
    assert jwks["keys"][0]["kid"] == summary["kid"]
    # A second run refuses to overwrite the key; --force does.
    assert main(["keygen", "--out", str(tmp_path / "keys")], out=io.StringIO()) == 1
    assert main(["keygen", "--out", str(tmp_path / "keys"), "--force"], out=io.StringIO()) == 0


def test_sign_assertion_prints_a_verifiable_assertion(tmp_path: Path) -> None:
    assert main(["keygen", "--out", str(tmp_path), "--alg", "EdDSA"], out=io.StringIO()) == 0
    jwks = json.loads((tmp_path / "jwks.json").read_text())
    out = io.StringIO()
    args = ["sign-assertion", "--client-id", "client-1", "--key", str(tmp_path / "private.pem")]
    args += [
        "--audience",
        "https://idp.example/token",
        "--certificate",
        str(tmp_path / "public.crt"),
    ]
    assert main(args, out=out) == 0
    assertion = out.getvalue().strip()
    verifier = JwtVerifier(issuer="client-1", audience="https://idp.example/token", jwks=jwks)
    claims = verifier.verify(assertion)
    assert claims["sub"] == "client-1"
    assert claims["exp"] - claims["iat"] == 120
    out = io.StringIO()
    assert main([*args, "--json"], out=out) == 0
    fields = json.loads(out.getvalue())
    assert fields["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    verifier.verify(fields["client_assertion"])


def test_sign_assertion_reads_the_password_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEY_PASSWORD", "s3cret-passphrase")
    keygen = ["keygen", "--out", str(tmp_path), "--password-env", "KEY_PASSWORD"]
    assert main(keygen, out=io.StringIO()) == 0
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "private.pem").read_bytes()
    args = ["sign-assertion", "--client-id", "c", "--key", str(tmp_path / "private.pem")]
    args += ["--audience", "https://idp.example/token"]
    assert main([*args, "--password-env", "KEY_PASSWORD"], out=io.StringIO()) == 0
    # Without the password: a clear error, exit code 1, and never the password itself.
    assert main(args, out=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "ERR_CONFIGURATION" in err
    assert "encrypted" in err
    assert "s3cret" not in err
    monkeypatch.setenv("KEY_PASSWORD", "wrong-passphrase")
    assert main([*args, "--password-env", "KEY_PASSWORD"], out=io.StringIO()) == 1
    assert "wrong-passphrase" not in capsys.readouterr().err


def test_sign_assertion_refuses_a_certificate_as_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--out", str(tmp_path)], out=io.StringIO()) == 0
    args = ["sign-assertion", "--client-id", "c", "--key", str(tmp_path / "public.crt")]
    assert main([*args, "--audience", "https://idp.example/token"], out=io.StringIO()) == 1
    assert "no PEM private key block" in capsys.readouterr().err


def test_usage_errors_exit_with_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sign-assertion", "--client-id", "c"], out=io.StringIO())
    assert exc.value.code == 2
