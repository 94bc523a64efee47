"""Smoke tests of the moto Cognito harness: the tokens and JWKS it serves look like Cognito's."""

# ruff: noqa: F811  (pytest fixtures are imported, then named as test parameters)

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cognito_jwt._b64 import b64url_decode
from tests.servers.moto_cognito import LOOPBACK, MotoCognito
from tests.servers.moto_fixtures import moto_cognito  # noqa: F401


def _part(token: str, index: int) -> dict[str, Any]:
    decoded = json.loads(b64url_decode(token.split(".")[index]))
    assert isinstance(decoded, dict)
    return decoded


def header(token: str) -> dict[str, Any]:
    return _part(token, 0)


def claims(token: str) -> dict[str, Any]:
    return _part(token, 1)


def _fetch_jwks(url: str) -> dict[str, Any]:
    response = httpx.get(url, trust_env=False, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert isinstance(document, dict)
    return document


def _rsa_key(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(b64url_decode(jwk["n"]), "big")
    e = int.from_bytes(b64url_decode(jwk["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def _refused(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except OSError:
            return True
        return False


# --- the server ----------------------------------------------------------------------------------
def test_server_binds_loopback_only(moto_cognito: MotoCognito) -> None:
    assert moto_cognito.host == LOOPBACK == "127.0.0.1"
    assert ipaddress.ip_address(moto_cognito.host).is_loopback
    assert 0 < moto_cognito.port < 65536
    assert moto_cognito.endpoint_url == f"http://127.0.0.1:{moto_cognito.port}"
    assert moto_cognito.jwks_uri.startswith(moto_cognito.endpoint_url + "/")
    assert moto_cognito.startup_seconds is not None


def test_pool_layout(moto_cognito: MotoCognito) -> None:
    assert moto_cognito.user_pool_id.startswith(f"{moto_cognito.region}_")
    assert moto_cognito.client_id != moto_cognito.other_client_id
    assert moto_cognito.jwks_uri == (
        f"{moto_cognito.endpoint_url}/{moto_cognito.user_pool_id}/.well-known/jwks.json"
    )
    assert moto_cognito.issuer == (
        f"https://cognito-idp.eu-west-1.amazonaws.com/{moto_cognito.user_pool_id}"
    )
    client = moto_cognito.cognito.describe_user_pool_client(
        UserPoolId=moto_cognito.user_pool_id, ClientId=moto_cognito.client_id
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    groups = moto_cognito.cognito.admin_list_groups_for_user(
        UserPoolId=moto_cognito.user_pool_id, Username=moto_cognito.username
    )["Groups"]
    assert [g["GroupName"] for g in groups] == ["admins"]


# --- JWKS ----------------------------------------------------------------------------------------
def test_jwks_serves_the_signing_key(moto_cognito: MotoCognito) -> None:
    jwks = _fetch_jwks(moto_cognito.jwks_uri)
    keys = jwks["keys"]
    assert isinstance(keys, list)
    assert keys
    tokens = moto_cognito.tokens()
    kids = {header(tokens["IdToken"])["kid"], header(tokens["AccessToken"])["kid"]}
    assert len(kids) == 1
    (jwk,) = [k for k in keys if k.get("kid") in kids]
    assert jwk["kty"] == "RSA"
    assert jwk["alg"] == "RS256"
    assert jwk["use"] == "sig"
    public_key = _rsa_key(jwk)
    assert public_key.key_size == 2048
    for name in ("IdToken", "AccessToken"):
        token = tokens[name]
        assert header(token)["alg"] == "RS256"
        signing_input, _, signature = token.rpartition(".")
        public_key.verify(  # raises InvalidSignature if moto signed with another key
            b64url_decode(signature),
            signing_input.encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )


# --- tokens --------------------------------------------------------------------------------------
def test_id_token_claims(moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["IdToken"]
    c = claims(token)
    assert c["token_use"] == "id"
    assert c["aud"] == moto_cognito.client_id
    assert "client_id" not in c
    assert c["iss"] == moto_cognito.issuer
    assert c["sub"] == moto_cognito.user_sub
    assert c["cognito:username"] == moto_cognito.username
    assert c["cognito:groups"] == ["admins"]
    assert c["email"] == moto_cognito.email
    assert c["exp"] - c["iat"] == 3600
    assert c["auth_time"] == c["iat"]
    assert isinstance(c["jti"], str)
    assert isinstance(c["origin_jti"], str)


def test_access_token_claims(moto_cognito: MotoCognito) -> None:
    token = moto_cognito.tokens()["AccessToken"]
    c = claims(token)
    assert c["token_use"] == "access"
    assert c["client_id"] == moto_cognito.client_id
    assert "aud" not in c  # as in real Cognito access tokens
    assert c["iss"] == moto_cognito.issuer
    assert c["sub"] == moto_cognito.user_sub
    assert c["username"] == moto_cognito.username
    assert c["cognito:groups"] == ["admins"]
    assert c["scope"] == "aws.cognito.signin.user.admin"
    assert c["exp"] - c["iat"] == 3600


def test_tokens_of_one_sign_in_share_origin_jti(moto_cognito: MotoCognito) -> None:
    tokens = moto_cognito.tokens()
    id_claims, access_claims = claims(tokens["IdToken"]), claims(tokens["AccessToken"])
    assert id_claims["origin_jti"] == access_claims["origin_jti"]
    assert id_claims["jti"] != access_claims["jti"]
    assert tokens["TokenType"] == "Bearer"
    assert tokens["ExpiresIn"] == 3600


def test_other_client_tokens_carry_its_id(moto_cognito: MotoCognito) -> None:
    tokens = moto_cognito.tokens("other")
    assert claims(tokens["IdToken"])["aud"] == moto_cognito.other_client_id
    assert claims(tokens["AccessToken"])["client_id"] == moto_cognito.other_client_id
    same = moto_cognito.tokens(moto_cognito.other_client_id)
    assert claims(same["AccessToken"])["client_id"] == moto_cognito.other_client_id


def test_refresh_token_flow(moto_cognito: MotoCognito) -> None:
    first = moto_cognito.tokens()
    refreshed = moto_cognito.refresh(first["RefreshToken"])
    before, after = claims(first["AccessToken"]), claims(refreshed["AccessToken"])
    assert after["origin_jti"] == before["origin_jti"]
    assert after["jti"] != before["jti"]
    assert claims(refreshed["IdToken"])["aud"] == moto_cognito.client_id


# --- lifecycle -----------------------------------------------------------------------------------
def test_attributes_need_start() -> None:
    server = MotoCognito()
    with pytest.raises(RuntimeError, match="after start"):
        _ = server.user_pool_id
    server.stop()  # stopping what never started is harmless


def test_client_ignores_aws_environment(
    moto_cognito: MotoCognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None of these may break the harness's boto3 client or send it anywhere but 127.0.0.1.
    monkeypatch.setenv("AWS_PROFILE", "cognito-jwt-no-such-profile")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "cognito-jwt-no-such-profile")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/cognito-jwt/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cognito-jwt/credentials")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.2:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", "http://127.0.0.2:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.2:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.2:9")
    client = moto_cognito._make_client()
    try:
        assert client.meta.endpoint_url == moto_cognito.endpoint_url
        assert client.meta.region_name == moto_cognito.region
        pool = client.describe_user_pool(UserPoolId=moto_cognito.user_pool_id)["UserPool"]
        assert pool["Id"] == moto_cognito.user_pool_id
    finally:
        client.close()


def test_thread_mode_start_stop() -> None:
    server = MotoCognito(mode="thread")
    with server:
        assert server.mode == "thread"
        assert server.host == LOOPBACK
        port = server.port
        assert claims(server.tokens()["AccessToken"])["client_id"] == server.client_id
    assert not server.running
    assert _refused(LOOPBACK, port)
    server.stop()


def test_subprocess_mode_under_aws_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    # An in-process moto builds boto3.Session() from the environment and fails on a profile
    # that does not exist; "auto" must then run moto in a child with a scrubbed environment.
    monkeypatch.setenv("AWS_PROFILE", "cognito-jwt-no-such-profile")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.2:9")
    server = MotoCognito()
    with server:
        assert server.mode == "subprocess"
        assert server.host == LOOPBACK
        port = server.port
        tokens = server.tokens()
        assert claims(tokens["IdToken"])["aud"] == server.client_id
        assert claims(tokens["AccessToken"])["iss"] == server.issuer
        assert _fetch_jwks(server.jwks_uri)["keys"][0]["kid"] == header(tokens["IdToken"])["kid"]
    assert not server.running
    assert _refused(LOOPBACK, port)
    server.stop()
