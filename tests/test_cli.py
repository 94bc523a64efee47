from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import re
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cognito_jwt import FileStore, JwtVerifier, StoredKeySet
from cognito_jwt._cli import main
from cognito_jwt._client._assertion import CLIENT_ASSERTION_TYPE
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.testing import LocalIssuer


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


# --- verify, decode, discover -------------------------------------------------------------------
POOL = "eu-west-1_AbCdEf123"
APP_CLIENT = "1example23456789abcdefghij"


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    """Run the command line in-process: exit code, stdout, and what went to stderr."""
    out, err = io.StringIO(), io.StringIO()
    real_err = sys.stderr
    sys.stderr = err
    try:
        code = main(argv, out=out, stdin=io.StringIO(stdin))
    finally:
        sys.stderr = real_err
    return code, out.getvalue(), err.getvalue()


def cognito_args(issuer: LocalIssuer, client_id: str = APP_CLIENT) -> list[str]:
    return [
        *("--user-pool-id", POOL, "--client-id", client_id, "--token-use", "access"),
        *("--jwks-uri", issuer.jwks_uri, "--no-cache"),
    ]


def test_verify_prints_the_claims_with_readable_times_and_never_the_token(
    issuer: LocalIssuer,
) -> None:
    token = issuer.cognito_access_token(user_pool_id=POOL, client_id=APP_CLIENT, scope="a b")
    code, out, err = run(["verify", token, *cognito_args(issuer)])
    assert (code, err) == (0, "")
    assert out.startswith("VALID: signature and claims verified")
    assert '"token_use"' not in out  # fields are listed, not dumped as JSON
    assert re.search(r"token_use\s+\"access\"", out)
    assert re.search(r"exp\s+\d+\s+\(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, expires in 60 min\)", out)
    assert token not in out
    assert token.split(".")[2] not in out
    code, out, _ = run(["verify", token, *cognito_args(issuer), "--show-token"])
    assert code == 0
    assert token in out


def test_verify_refuses_an_expired_token_with_its_code_and_exit_1(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "a", "aud": "api"}, lifetime=-3 * 3600)
    code, out, err = run(["verify", token, "--issuer", issuer.issuer, "--audience", "api"])
    assert (code, out) == (1, "")
    assert err.startswith("error: ERR_TOKEN_EXPIRED: token expired at")
    assert "exp (UNVERIFIED): " in err
    assert "expired 3 h ago" in err
    assert token not in err


def test_verify_refuses_the_wrong_audience_and_client(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "a", "aud": "api"})
    code, _, err = run(["verify", token, "--issuer", issuer.issuer, "--audience", "other"])
    assert code == 1
    assert "ERR_AUDIENCE_MISMATCH" in err
    access = issuer.cognito_access_token(user_pool_id=POOL, client_id="someone-else")
    code, _, err = run(["verify", access, *cognito_args(issuer)])
    assert code == 1
    assert "ERR_AUDIENCE_MISMATCH" in err


def test_verify_refuses_a_tampered_token(issuer: LocalIssuer) -> None:
    header, payload, signature = issuer.cognito_access_token(
        user_pool_id=POOL, client_id=APP_CLIENT
    ).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    code, _, err = run(["verify", f"{header}.{forged}.{signature}", *cognito_args(issuer)])
    assert code == 1
    assert "ERR_INVALID_SIGNATURE" in err


def test_verify_reads_stdin_and_strips_bearer_and_whitespace(issuer: LocalIssuer) -> None:
    token = issuer.cognito_access_token(user_pool_id=POOL, client_id=APP_CLIENT)
    for given in (f"{token}\n", f"  Bearer {token}  \n", f"bearer {token}"):
        code, out, _ = run(["verify", "-", *cognito_args(issuer)], stdin=given)
        assert code == 0, given
        assert out.startswith("VALID")
    code, _, _ = run(["verify", f"Bearer {token}", *cognito_args(issuer)])
    assert code == 0
    code, _, err = run(["verify", "-", *cognito_args(issuer)], stdin="  \n")
    assert code == 1
    assert "ERR_MALFORMED_TOKEN: no token given" in err


def test_verify_json_output_shapes(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "alice", "aud": "api"})
    args = ["verify", token, "--issuer", issuer.issuer, "--audience", "api", "--json"]
    code, out, _ = run(args)
    result = json.loads(out)
    assert code == 0
    assert set(result) == {"valid", "header", "claims", "times"}
    assert result["valid"] is True
    assert result["claims"]["sub"] == "alice"
    assert result["header"]["kid"] == issuer.kids[0]
    assert result["times"]["exp"].endswith("expires in 60 min")
    assert token not in out
    code, out, _ = run([*args, "--show-token"])
    assert json.loads(out)["token"] == token
    code, out, _ = run([*args[:5], "other", "--json"])
    assert code == 1
    assert json.loads(out) == {
        "valid": False,
        "code": "ERR_AUDIENCE_MISMATCH",
        "message": "audience 'api' is not 'other'",
    }


def test_verify_offline_from_a_jwks_file(issuer: LocalIssuer, tmp_path: Path) -> None:
    token = issuer.cognito_access_token(user_pool_id=POOL, client_id=APP_CLIENT)
    (tmp_path / "jwks.json").write_text(json.dumps(issuer.jwks()))
    issuer.stop()
    args = ["verify", token, "--user-pool-id", POOL, "--no-client-check", "--any-token-use"]
    code, out, _ = run([*args, "--jwks-file", str(tmp_path / "jwks.json")])
    assert code == 0
    assert "VALID" in out


def test_verify_exits_with_3_when_the_issuer_is_down_or_failing(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "a", "aud": "api"})
    args = ["verify", token, "--issuer", issuer.issuer, "--audience", "api", "--no-cache"]
    issuer.fail(500)
    code, _, err = run(args)
    assert code == 3
    assert "ERR_JWKS_UNAVAILABLE" in err
    assert "HTTP 500" in err
    issuer.recover()
    assert run(args)[0] == 0
    issuer.stop()
    code, out, _ = run([*args, "--json"])
    assert code == 3
    assert json.loads(out)["valid"] is None
    assert json.loads(out)["code"] == "ERR_JWKS_UNAVAILABLE"


def test_verify_times_out_on_a_slow_issuer(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "a", "aud": "api"})
    issuer.slow(1.0)
    args = ["verify", token, "--issuer", issuer.issuer, "--audience", "api", "--no-cache"]
    code, _, err = run([*args, "--timeout", "0.2"])
    assert code == 3
    assert "timed out" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--user-pool-id needs --client-id"),
        (["--client-id", "c"], "--user-pool-id needs --token-use"),
        (["--client-id", "c", "--token-use", "id", "--audience", "a"], "--audience is for"),
    ],
)
def test_verify_usage_errors_exit_with_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", "x.y.z", "--user-pool-id", POOL, *extra], out=io.StringIO())
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_verify_without_issuer_or_audience_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["verify", "x.y.z"], out=io.StringIO())
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["verify", "x.y.z", "--issuer", "https://login.example.com"], out=io.StringIO())
    assert exc.value.code == 2
    assert "--no-audience-check" in capsys.readouterr().err


def test_decode_labels_everything_unverified_and_never_fetches(issuer: LocalIssuer) -> None:
    token = issuer.mint({"sub": "alice", "aud": "api"}, lifetime=-3 * 3600)
    requests_before = sum(issuer.requests.values())
    issuer.stop()  # nothing to fetch from: decode must not try
    code, out, err = run(["decode", token])
    assert (code, err) == (0, "")
    assert out.startswith("UNVERIFIED: decoded without checking the signature")
    assert "header (UNVERIFIED):" in out
    assert "claims (UNVERIFIED):" in out
    assert "expired 3 h ago" in out
    assert token not in out
    code, out, _ = run(["decode", "-", "--json"], stdin=f"Bearer {token}\n")
    result = json.loads(out)
    assert code == 0
    assert result["unverified"] is True
    assert result["warning"].startswith("UNVERIFIED")
    assert result["claims"]["sub"] == "alice"
    assert result["header"]["alg"] == "RS256"
    assert result["times"]["exp"].endswith("expired 3 h ago")
    assert sum(issuer.requests.values()) == requests_before


def test_decode_refuses_malformed_input_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "not-a-jwt"], out=io.StringIO()) == 1
    assert "error: ERR_MALFORMED_TOKEN" in capsys.readouterr().err
    out = io.StringIO()
    assert main(["decode", "a.b", "--json"], out=out) == 1
    assert json.loads(out.getvalue())["code"] == "ERR_MALFORMED_TOKEN"


def test_discover_summarises_the_keys_and_flags_refused_ones(issuer: LocalIssuer) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    issuer.add_jwk({**jwk_from_public_key(weak.public_key()), "kid": "weak", "use": "sig"})
    issuer.add_jwk({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0LWtleQ"})
    code, out, _ = run(["discover", issuer.issuer])
    assert code == 0
    assert re.search(rf"\n  jwks_uri\s+{re.escape(issuer.jwks_uri)}\n", out)
    assert "3 published, 1 usable, 2 refused" in out
    assert re.search(rf"{issuer.kids[0]}\s+RSA\s+RS256\s+2048 bits\s+sig\s+ok", out)
    assert re.search(r"weak\s+RSA\s+-\s+1024 bits\s+sig\s+REFUSED: RSA modulus has 1024 bits", out)
    assert re.search(r"hmac\s+oct\s+HS256.*REFUSED: private or secret key members", out)
    assert "c2VjcmV0LWtleQ" not in out  # key material is never printed
    code, out, _ = run(["discover", issuer.issuer, "--json"])
    report = json.loads(out)
    assert code == 0
    assert report["metadata"]["issuer"] == issuer.issuer
    assert report["jwks_uri"] == issuer.jwks_uri
    assert (report["usable"], report["refused"], report["problem"]) == (1, 2, None)
    assert [k["usable"] for k in report["keys"]] == [True, False, False]
    assert report["keys"][1] == {
        "kid": "weak",
        "kty": "RSA",
        "alg": None,
        "size": "1024 bits",
        "use": "sig",
        "usable": False,
        "reason": "RSA modulus has 1024 bits, the minimum is 2048",
    }


def test_discover_with_no_usable_key_exits_with_3(tmp_path: Path) -> None:
    with LocalIssuer() as issuer:
        issuer.add_jwk({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LWtleQ"})
        issuer.retire()
        issuer._keys.clear()  # publish only the refused key
        code, out, _ = run(["discover", "--jwks-uri", issuer.jwks_uri])
    assert code == 3
    assert "1 published, 0 usable, 1 refused" in out
    assert "this key set is unusable: JWKS has no usable key" in out


def test_discover_exits_with_3_when_the_issuer_is_down_or_failing(issuer: LocalIssuer) -> None:
    issuer.fail(503)
    code, _, err = run(["discover", issuer.issuer])
    assert code == 3
    assert "HTTP 503" in err
    issuer.recover()
    issuer.stop()
    code, out, _ = run(["discover", issuer.issuer, "--json"])
    assert code == 3
    assert json.loads(out)["code"] == "ERR_JWKS_UNAVAILABLE"


def test_discover_checks_the_issuer_the_document_names(issuer: LocalIssuer) -> None:
    code, _, err = run(["discover", issuer.issuer + "/"])
    assert code == 3
    assert "ERR_DISCOVERY" in err


def test_discover_refuses_plain_http_to_a_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["discover", "http://login.example.com"], out=io.StringIO())
    assert exc.value.code == 2
    assert "plain http" in capsys.readouterr().err


def test_every_command_documents_the_exit_codes() -> None:
    for command in ("verify", "decode", "discover", "keygen", "sign-assertion"):
        out = io.StringIO()
        with pytest.raises(SystemExit), contextlib.redirect_stdout(out):
            main([command, "--help"])
        assert "3  network problem or key set unavailable" in out.getvalue(), command


def test_python_dash_m_verify_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cognito_jwt", "verify", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--user-pool-id" in result.stdout
    assert "exit codes:" in result.stdout


# --- docs/cli.md: every example line runs -------------------------------------------------------
CLI_PAGE = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
_BASH = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
_EXPECT = re.compile(r"\s+#\s*exit (\d+)(?::\s*(\S+))?\s*$")


def _doc_examples() -> list[list[str]]:
    """The command lines of each ```bash block of docs/cli.md (a block runs in order)."""
    blocks = _BASH.findall(CLI_PAGE.read_text(encoding="utf-8"))
    return [[line for line in block.splitlines() if "cognito-jwt " in line] for block in blocks]


def test_the_cli_page_has_examples_for_every_command() -> None:
    lines = [line for block in _doc_examples() for line in block]
    commands = {shlex.split(line.split("| ")[-1])[1] for line in lines}
    assert commands == {"verify", "decode", "discover", "keygen", "sign-assertion", "demo"}


@pytest.mark.parametrize("block", _doc_examples())
def test_cli_page_examples_run(
    block: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, issuer: LocalIssuer
) -> None:
    # The Cognito examples without --jwks-file find the pool's keys in the default file store,
    # as a second run on a developer's machine would: seed a fresh one with the local keys.
    monkeypatch.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "cache"))
    uri = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}/.well-known/jwks.json"
    FileStore().save(uri, StoredKeySet(issuer.jwks(), time.time(), 3600, uri))
    token = issuer.cognito_access_token(user_pool_id=POOL, client_id=APP_CLIENT)
    monkeypatch.chdir(tmp_path)
    Path("jwks.json").write_text(json.dumps(issuer.jwks()))
    Path("token.txt").write_text(token + "\n")
    values = {
        "TOKEN": token,
        "OIDC_TOKEN": issuer.mint({"sub": "user-42", "aud": "api://orders"}),
        "ISSUER": issuer.issuer,
    }
    for line in block:
        expect = _EXPECT.search(line)
        command = _EXPECT.sub("", line)
        for name, value in values.items():
            command = command.replace(f"${name}", value)
        stdin = ""
        if " | " in command:  # echo "..." | cognito-jwt ...
            echo, command = command.split(" | ")
            stdin = " ".join(shlex.split(echo)[1:]) + "\n"
        if " < " in command:  # cognito-jwt ... < file
            command, source = command.split(" < ")
            stdin = Path(source.strip()).read_text()
        argv = shlex.split(command)
        assert argv[0] == "cognito-jwt"
        code, out, err = run(argv[1:], stdin=stdin)
        assert code == (int(expect.group(1)) if expect else 0), (line, err)
        if expect and expect.group(2):
            assert expect.group(2) in out + err
        assert token not in out + err


# --- Paper cuts (hardening 4f) ---------------------------------------------------------------
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from cognito_jwt._cli import _parser

    parser = _parser()
    found: dict[str, argparse.ArgumentParser] = {"": parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


@pytest.mark.parametrize("name", sorted(_subparsers()))
def test_every_default_is_shown_in_the_help(name: str) -> None:
    parser = _subparsers()[name]
    text = parser.format_help()
    for action in parser._actions:
        if action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            continue
        assert action.help is not None
        shown = f"{action.default:g}" if isinstance(action.default, float) else str(action.default)
        assert shown in (action.help % {"default": action.default}), action.dest
        assert shown in " ".join(text.split()), action.dest


@pytest.mark.parametrize("name", sorted(n for n in _subparsers() if n))
def test_every_command_has_a_description(name: str) -> None:
    parser = _subparsers()[name]
    assert parser.description, name
    assert parser.description.split()[0] in parser.format_help()


def test_the_overwrite_hint_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--out", str(tmp_path)], out=io.StringIO()) == 0
    capsys.readouterr()
    assert main(["keygen", "--out", str(tmp_path)], out=io.StringIO()) == 1
    error = capsys.readouterr().err
    assert "--force" in error
    assert "overwrite=True" not in error
