"""generate_client_key / ClientKey: a key pair and what to register with the provider."""

from __future__ import annotations

import datetime
import json
import os
import stat
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from cognito_jwt import ClientAssertionSigner, JwtVerifier
from cognito_jwt._b64 import b64url_decode
from cognito_jwt._client._keygen import ClientKey, generate_client_key
from cognito_jwt._errors import ConfigurationError
from cognito_jwt._jwk import jwk_from_public_key, jwk_thumbprint, parse_jwk, parse_jwks
from tests.helpers import FIXED_NOW

CLIENT = "my-client"
TOKEN_URL = "https://idp.example.com/token"
PASSWORD = "keep-this-secret-0600"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
KEY_TYPES = {
    "RS256": (rsa.RSAPrivateKey, None),
    "RS384": (rsa.RSAPrivateKey, None),
    "RS512": (rsa.RSAPrivateKey, None),
    "PS256": (rsa.RSAPrivateKey, None),
    "PS384": (rsa.RSAPrivateKey, None),
    "PS512": (rsa.RSAPrivateKey, None),
    "ES256": (ec.EllipticCurvePrivateKey, "secp256r1"),
    "ES384": (ec.EllipticCurvePrivateKey, "secp384r1"),
    "ES512": (ec.EllipticCurvePrivateKey, "secp521r1"),
    "EdDSA": (ed25519.Ed25519PrivateKey, None),
    "Ed25519": (ed25519.Ed25519PrivateKey, None),
}


def clock() -> float:
    return float(FIXED_NOW)


@cache
def client_key(alg: str = "ES256") -> ClientKey:
    """One generated key per algorithm for the whole module (RSA generation is slow)."""
    return generate_client_key(alg, clock=clock)


def refusal(call: Any, *args: Any, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)
    return info.value


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# === generate_client_key ==========================================================================
@pytest.mark.parametrize("alg", sorted(KEY_TYPES))
def test_each_algorithm_makes_the_right_key(alg: str) -> None:
    key = client_key(alg)
    kind, curve = KEY_TYPES[alg]
    assert key.alg == alg
    assert isinstance(key.private_key, kind)
    if curve is not None:
        assert key.private_key.curve.name == curve  # type: ignore[union-attr]
    if isinstance(key.private_key, rsa.RSAPrivateKey):
        assert key.private_key.key_size == 2048
        assert key.private_key.public_key().public_numbers().e == 65537
    assert key.kid == jwk_thumbprint(jwk_from_public_key(key.private_key.public_key()))


@pytest.mark.parametrize("alg", sorted(KEY_TYPES))
def test_signer_of_each_key_is_accepted_with_its_jwks(alg: str) -> None:
    key = client_key(alg)
    signer = key.signer(CLIENT, clock=clock)
    assert (signer.alg, signer.kid) == (key.alg, key.kid)
    assert signer.public_jwk == key.public_jwk
    verifier = JwtVerifier(issuer=CLIENT, audience=TOKEN_URL, jwks=key.jwks, clock=clock)
    claims = verifier.verify(signer.sign(TOKEN_URL))
    assert claims["sub"] == CLIENT


def test_default_is_rs256() -> None:
    key = generate_client_key()
    assert key.alg == "RS256"
    assert isinstance(key.private_key, rsa.RSAPrivateKey)


def test_each_call_makes_a_new_key() -> None:
    first, second = generate_client_key("EdDSA"), generate_client_key("EdDSA")
    assert first.kid != second.kid


def test_signer_takes_options() -> None:
    key = client_key("ES256")
    signer = key.signer(CLIENT, audience=TOKEN_URL, lifetime=30, not_before=True, clock=clock)
    token = signer.sign()
    verifier = JwtVerifier(issuer=CLIENT, audience=TOKEN_URL, jwks=key.jwks, clock=clock)
    claims = verifier.verify(token)
    assert claims["exp"] - claims["iat"] == 30
    assert claims["nbf"] == FIXED_NOW
    # with the certificate: x5t#S256 in the header
    token = key.signer(CLIENT, certificate=key.certificate).sign(TOKEN_URL)
    assert "x5t#S256" in json.loads(b64url_decode(token.split(".")[0]))


def test_rsa_bits_within_bounds() -> None:
    key = generate_client_key("PS256", rsa_bits=2056)
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    assert key.private_key.key_size == 2056


@pytest.mark.parametrize("bits", [1024, 2040, 2047, 2049, 8193, 8200, 16384, 0, -2048])
def test_rsa_bits_out_of_bounds_or_not_a_multiple_of_8(bits: int) -> None:
    assert "rsa_bits" in str(refusal(generate_client_key, "RS256", rsa_bits=bits))


@pytest.mark.parametrize("bits", [True, 2048.0, "2048", None])
def test_rsa_bits_must_be_an_int(bits: Any) -> None:
    assert "rsa_bits" in str(refusal(generate_client_key, "RS256", rsa_bits=bits))


def test_rsa_bits_is_checked_for_every_alg() -> None:
    # A bad size is a bad call even when the algorithm does not use it.
    refusal(generate_client_key, "ES256", rsa_bits=1024)


@pytest.mark.parametrize("days", [1, 30, 3650])
def test_days_sets_the_certificate_validity(days: int) -> None:
    key = generate_client_key("EdDSA", days=days, clock=clock)
    start = datetime.datetime.fromtimestamp(FIXED_NOW, datetime.timezone.utc)
    assert key.certificate.not_valid_before_utc == start - datetime.timedelta(minutes=5)
    assert key.certificate.not_valid_after_utc == start + datetime.timedelta(days=days)


@pytest.mark.parametrize("days", [0, -1, 3651, True, 1.5, "365", None])
def test_days_out_of_bounds(days: Any) -> None:
    assert "days" in str(refusal(generate_client_key, "EdDSA", days=days))


@pytest.mark.parametrize(
    "alg", ["none", "HS256", "hs256", "RS1", "ES256K", "Ed448", "", None, 256, "rs256"]
)
def test_unsupported_or_forbidden_alg(alg: Any) -> None:
    refusal(generate_client_key, alg)


def test_kid_override() -> None:
    key = generate_client_key("EdDSA", kid="client-key-2024")
    assert key.kid == "client-key-2024"
    assert key.public_jwk["kid"] == "client-key-2024"
    assert key.signer(CLIENT).kid == "client-key-2024"


@pytest.mark.parametrize("kid", ["", 5, b"kid"])
def test_kid_must_be_a_non_empty_string(kid: Any) -> None:
    assert "kid" in str(refusal(generate_client_key, "EdDSA", kid=kid))


@pytest.mark.parametrize("name", ["", "x" * 65, 5, None])
def test_common_name_bounds(name: Any) -> None:
    assert "common_name" in str(refusal(generate_client_key, "EdDSA", common_name=name))


# === Registration material ========================================================================
@pytest.mark.parametrize(
    ("alg", "members"),
    [
        ("RS256", {"kty", "n", "e"}),
        ("PS512", {"kty", "n", "e"}),
        ("ES256", {"kty", "crv", "x", "y"}),
        ("ES512", {"kty", "crv", "x", "y"}),
        ("EdDSA", {"kty", "crv", "x"}),
    ],
)
def test_public_jwk_shape(alg: str, members: set[str]) -> None:
    key = client_key(alg)
    jwk = key.public_jwk
    assert set(jwk) == members | {"kid", "alg", "use"}
    assert not PRIVATE_MEMBERS & set(jwk)
    assert (jwk["kid"], jwk["alg"], jwk["use"]) == (key.kid, alg, "sig")
    assert json.loads(json.dumps(jwk)) == jwk
    prepared = parse_jwk(jwk)  # a verifier accepts it: no private members, alg fits
    assert prepared.algorithms == frozenset({alg})
    assert jwk_from_public_key(prepared.key) == jwk_from_public_key(key.private_key.public_key())


@pytest.mark.parametrize("alg", ["RS256", "ES384", "EdDSA"])
def test_jwks_shape(alg: str) -> None:
    key = client_key(alg)
    assert key.jwks == {"keys": [key.public_jwk]}
    assert parse_jwks(key.jwks).kids == {key.kid}
    assert "PRIVATE" not in json.dumps(key.jwks)


def test_public_jwk_is_a_fresh_copy() -> None:
    key = client_key("ES256")
    key.public_jwk["kid"] = "changed"
    key.jwks["keys"].clear()
    assert key.public_jwk["kid"] == key.kid
    assert len(key.jwks["keys"]) == 1


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES384", "ES512", "EdDSA"])
def test_certificate_matches_the_key_and_has_the_cn(alg: str) -> None:
    key = generate_client_key(alg, common_name="login.gov sandbox client", clock=clock)
    cert = key.certificate
    assert jwk_from_public_key(cert.public_key()) == jwk_from_public_key(  # type: ignore[arg-type]
        key.private_key.public_key()
    )
    cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    assert cn == ["login.gov sandbox client"]
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # self-signed with this very key
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is False


def test_default_common_name_and_validity() -> None:
    cert = client_key("ES256").certificate
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "cognito-jwt client"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(
        days=365, minutes=5
    )


def test_certificate_pem() -> None:
    key = client_key("ES256")
    data = key.certificate_pem
    assert data.startswith(b"-----BEGIN CERTIFICATE-----")
    assert x509.load_pem_x509_certificate(data) == key.certificate


def test_repr_hides_the_private_key() -> None:
    key = client_key("RS256")
    text = repr(key)
    assert key.kid in text
    assert "private_key" not in text
    assert "RSAPrivateKey" not in text
    nums = key.private_key.private_numbers()  # type: ignore[union-attr]
    assert str(nums.d) not in text


# === private_pem ==================================================================================
@pytest.mark.parametrize("alg", ["RS256", "ES512", "EdDSA"])
def test_private_pem_is_pkcs8_and_loads(alg: str) -> None:
    key = client_key(alg)
    data = key.private_pem()
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    signer = ClientAssertionSigner.from_pem(data, client_id=CLIENT, alg=alg)
    assert signer.kid == key.kid  # the thumbprint of the same public key


@pytest.mark.parametrize("password", [PASSWORD, PASSWORD.encode()])
@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_encrypted_private_pem_round_trips_through_from_pem(
    alg: str, password: str | bytes
) -> None:
    key = client_key(alg)
    data = key.private_pem(password)
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert PASSWORD.encode() not in data
    signer = ClientAssertionSigner.from_pem(
        data, client_id=CLIENT, password=password, alg=alg, clock=clock
    )
    assert signer.kid == key.kid
    verifier = JwtVerifier(issuer=CLIENT, audience=TOKEN_URL, jwks=key.jwks, clock=clock)
    verifier.verify(signer.sign(TOKEN_URL))
    with pytest.raises(ConfigurationError) as info:
        ClientAssertionSigner.from_pem(data, client_id=CLIENT)
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize("password", [None, "", b""])
def test_empty_password_means_unencrypted(password: Any) -> None:
    assert client_key("EdDSA").private_pem(password).startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("password", [5, ["pw"], 1.5])
def test_password_of_the_wrong_type_is_a_configuration_error(password: Any) -> None:
    refusal(client_key("EdDSA").private_pem, password)


# === write() ======================================================================================
def test_write_creates_the_four_files(tmp_path: Path) -> None:
    key = client_key("ES256")
    folder = tmp_path / "keys" / "nested"
    paths = key.write(folder)
    assert paths == {
        "private_key": folder / "private.pem",
        "certificate": folder / "public.crt",
        "public_jwk": folder / "public.jwk.json",
        "jwks": folder / "jwks.json",
    }
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())
    assert mode_of(paths["private_key"]) == 0o600
    assert mode_of(folder) == 0o700
    for kind in ("certificate", "public_jwk", "jwks"):
        assert mode_of(paths[kind]) & 0o600 == 0o600  # public material: readable ...
        assert mode_of(paths[kind]) & 0o022 == 0  # ... but never writable by others
    assert json.loads(paths["jwks"].read_text()) == key.jwks
    assert json.loads(paths["public_jwk"].read_text()) == key.public_jwk
    assert x509.load_pem_x509_certificate(paths["certificate"].read_bytes()) == key.certificate
    signer = ClientAssertionSigner.from_pem_file(paths["private_key"], client_id=CLIENT)
    assert signer.kid == key.kid
    for path in paths.values():
        assert b"PRIVATE" not in path.read_bytes() or path == paths["private_key"]


def test_write_into_an_existing_directory(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    paths = client_key("EdDSA").write(tmp_path)
    assert mode_of(paths["private_key"]) == 0o600
    assert mode_of(tmp_path) == 0o755  # an existing directory is left as it is


def test_write_with_a_password(tmp_path: Path) -> None:
    key = client_key("RS256")
    paths = key.write(str(tmp_path), password=PASSWORD)
    data = paths["private_key"].read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    signer = ClientAssertionSigner.from_pem_file(
        paths["private_key"], client_id=CLIENT, password=PASSWORD
    )
    assert signer.kid == key.kid


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    first = client_key("ES256")
    paths = first.write(tmp_path)
    before = {kind: path.read_bytes() for kind, path in paths.items()}
    exc = refusal(generate_client_key("ES256").write, tmp_path)
    assert "overwrite" in str(exc)
    assert str(paths["private_key"]) in str(exc)
    assert {kind: path.read_bytes() for kind, path in paths.items()} == before


@pytest.mark.parametrize("name", ["private.pem", "public.crt", "public.jwk.json", "jwks.json"])
def test_any_one_existing_file_is_enough_to_refuse(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("keep me")
    exc = refusal(client_key("EdDSA").write, tmp_path)
    assert name in str(exc)
    assert (tmp_path / name).read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_overwrite_replaces_every_file_and_keeps_0600(tmp_path: Path) -> None:
    paths = client_key("ES256").write(tmp_path)
    paths["private_key"].chmod(0o644)  # someone loosened it: the new file must not inherit that
    second = generate_client_key("EdDSA")
    again = second.write(tmp_path, overwrite=True)
    assert again == paths
    assert mode_of(paths["private_key"]) == 0o600
    signer = ClientAssertionSigner.from_pem_file(paths["private_key"], client_id=CLIENT)
    assert signer.kid == second.kid
    assert json.loads(paths["jwks"].read_text()) == second.jwks
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_where_a_file_blocks_the_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    refusal(client_key("EdDSA").write, blocker)
    refusal(client_key("EdDSA").write, blocker / "below")


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    client_key("EdDSA").write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "jwks.json",
        "private.pem",
        "public.crt",
        "public.jwk.json",
    ]


def test_private_pem_file_is_never_readable_by_others_even_while_written(tmp_path: Path) -> None:
    # The file is created with its mode (O_CREAT with 0600), not chmod-ed afterwards: with a
    # permissive umask the result is still 0600.
    old = os.umask(0)
    try:
        paths = client_key("EdDSA").write(tmp_path / "k")
    finally:
        os.umask(old)
    assert mode_of(paths["private_key"]) == 0o600
    assert mode_of(tmp_path / "k") == 0o700


def test_private_pem_bytes_match_serialization() -> None:
    key = client_key("ES256")
    loaded = serialization.load_pem_private_key(key.private_pem(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers() == key.private_key.private_numbers()  # type: ignore[union-attr]


def test_write_with_a_bad_password_writes_nothing(tmp_path: Path) -> None:
    refusal(client_key("EdDSA").write, tmp_path / "k", password=5)
    assert not (tmp_path / "k").exists()


def test_signer_alg_and_kid_can_be_overridden() -> None:
    key = generate_client_key("RS256")
    signer = key.signer("client-1", alg="PS256", kid="my-kid")
    assert (signer.alg, signer.kid) == ("PS256", "my-kid")
