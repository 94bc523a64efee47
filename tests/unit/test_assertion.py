"""ClientAssertionSigner: ``private_key_jwt`` client assertions (RFC 7523 §2.2, §3).

Every assertion a signer makes must be accepted by this library's own ``JwtVerifier`` given
only the signer's public JWK: that is the contract a provider relies on.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hypothesis import given
from hypothesis import strategies as st

from cognito_jwt import ClientAssertionSigner, JwtVerifier
from cognito_jwt._algorithms import ALGORITHMS, PrivateKey
from cognito_jwt._b64 import b64url_decode, b64url_encode
from cognito_jwt._client._assertion import CLIENT_ASSERTION_TYPE
from cognito_jwt._client._keygen import _certificate
from cognito_jwt._errors import ConfigurationError, JwtError, SigningError
from cognito_jwt._jwk import jwk_from_public_key, jwk_thumbprint
from tests.helpers import FIXED_NOW, all_keys, rsa_private
from tests.strategies import encodable_text
from tests.unit.test_private_keys import PASSWORD, pem, private_jwk, rsa_1024

CLIENT = "urn:gov:gsa:openidconnect.profiles:sp:sso:agency:app"
TOKEN_URL = "https://idp.example.com/api/openid_connect/token"
ISSUER = "https://idp.example.com/"
SIGN_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
ALL_SIGN_ALGS = (*SIGN_ALGS, "EdDSA", "Ed25519")
RESERVED = ("iss", "sub", "aud", "jti", "iat", "exp", "nbf")
JTI = re.compile(r"[A-Za-z0-9_-]{43,}")
# A self-signed certificate for an SM2 key: cryptography can't load its public key.
SM2_CERT = b"""-----BEGIN CERTIFICATE-----
MIIBcDCCARegAwIBAgIUfgp2Za3yBoFkAj4fYHpsXp+eKz8wCgYIKoZIzj0EAwIw
DjEMMAoGA1UEAwwDc20yMB4XDTI2MTEyMjA3MDI0M1oXDTM2MTExOTA3MDI0M1ow
DjEMMAoGA1UEAwwDc20yMFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE7SBAZWj9
oH8D/i1d/omgFn/giCnmPYskRCd4tyRDb8siwRUuAi0U46lUo2axBwf1bhP+VO5k
zySMcfFCpxSuB6NTMFEwHQYDVR0OBBYEFBzvrNaiacxRYS2GBISKPgOxpAoRMB8G
A1UdIwQYMBaAFBzvrNaiacxRYS2GBISKPgOxpAoRMA8GA1UdEwEB/wQFMAMBAf8w
CgYIKoZIzj0EAwIDRwAwRAIgCtwGOw3VpV3RN44l0A40ZYa4NcRgU0v/YfBw3NvD
EW4CIAGra5PGVgwhT0px6UIujEq//Kb43okfk2cIMHgF1eyV
-----END CERTIFICATE-----
"""
# A self-signed certificate for a 1024-bit DSA key (openssl req -x509): cryptography 51 warns
# when it loads the key, and that warning must not escape in place of a ConfigurationError.
DSA_CERT = b"""-----BEGIN CERTIFICATE-----
MIICzjCCAnygAwIBAgIUMaYRzR1kP/zb0MjWJZmo/X0JdnMwCwYJYIZIAWUDBAMC
MAwxCjAIBgNVBAMMAXgwHhcNMjYxMjA3MTQ1ODM4WhcNMjYxMjA5MTQ1ODM4WjAM
MQowCAYDVQQDDAF4MIIBvzCCATMGByqGSM44BAEwggEmAoGBAKotHB99EkSfx1e7
IU9mSp4mNfjTfxwn/YTkCGCGFJEtnM9PYTZnfSpHyCXGZIZzhRuCW1N1kIxuNfeh
YG4MX28MKnGULmSCcev8xxBImjiiSoXjnrTWxOAe+vD6JzqUPVz7NSAtr1aw/SBO
ENU3zMX9dQFc8I/Wicnq+fpDyeq9Ah0Atd7XLjtwd7EhPanfZBJQaUSaBhtIFFaq
TIu9+QKBgFdMpKWgdMinckTH609mWv6363eBFv93G5y6dYjePIT0F9vKwY2z8OkN
o6qqdtexQt+TiAQVAuMPEytdBNeSRolsaB9eTpqdwzJYO4sLVPSeIOWFumBCkG4/
wKAF3IRDVFCcoY13bmYoiYOtXq9BhVftctk9iH1zalheApqyT304A4GFAAKBgQCD
truIi3t4TNB4955T0wv66PX2Raotwnjyh6bkTn14P9OzCpKMnv0x/m6ccHLUvoqa
Mbo+FKZLpo5sfkHDd5dkxLZ8IEHv//0C4Rx0KY6c5275L03P1SeRtWgE/m/TSAqV
x1LAv8blRLRrE822+RhFG4vfhVmc8bTUadCTHXJz2qNTMFEwHQYDVR0OBBYEFL7X
HWlm6LzuKXiPW2Q0JBR92YA1MB8GA1UdIwQYMBaAFL7XHWlm6LzuKXiPW2Q0JBR9
2YA1MA8GA1UdEwEB/wQFMAMBAf8wCwYJYIZIAWUDBAMCAz8AMDwCHFlBTT3LxI6U
+JdQHZOnHjS/4cuIofkEOXniZrQCHC1GASDHNqIp+zGCRIQrF9I6l8gaBRON9+we
fHg=
-----END CERTIFICATE-----
"""


def clock() -> float:
    return float(FIXED_NOW)


def key_for(alg: str) -> PrivateKey:
    return all_keys()[alg].private


def signer_for(alg: str = "EdDSA", **options: Any) -> ClientAssertionSigner:
    options.setdefault("client_id", CLIENT)
    options.setdefault("clock", clock)
    options.setdefault("alg", alg)
    return ClientAssertionSigner(key=key_for(alg), **options)


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def verifier(
    signer: ClientAssertionSigner, audience: str = TOKEN_URL, now: float = FIXED_NOW
) -> JwtVerifier:
    assert signer.public_jwk is not None
    return JwtVerifier(
        issuer=signer.client_id,
        audience=audience,
        jwks={"keys": [signer.public_jwk]},
        clock=lambda: float(now),
    )


def refusal(call: Callable[..., Any], *args: Any, **kwargs: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)
    return info.value


def certificate_for(key: PrivateKey) -> x509.Certificate:
    return _certificate(key, "test client", 30, FIXED_NOW)


def sign_with(key: PrivateKey, alg: str) -> Callable[[bytes], bytes]:
    """A signer callable that signs locally, the way a KMS would, in JWS form."""

    def sign(data: bytes) -> bytes:
        return ALGORITHMS[alg].sign(key, data)

    return sign


def der_sign_with(key: ec.EllipticCurvePrivateKey, hash_alg: hashes.HashAlgorithm) -> Any:
    """Like AWS KMS ``Sign`` with ECDSA_SHA_*: returns a DER-encoded ECDSA signature."""

    def sign(data: bytes) -> bytes:
        return key.sign(data, ec.ECDSA(hash_alg))

    return sign


# === Header =======================================================================================
def test_header_has_alg_and_kid_only_by_default() -> None:
    header, _ = parts(signer_for("ES256").sign(TOKEN_URL))
    assert header == {"alg": "ES256", "kid": signer_for("ES256").kid}


@pytest.mark.parametrize("alg", ["RS256", "ES384", "EdDSA"])
def test_kid_defaults_to_the_rfc7638_thumbprint(alg: str) -> None:
    signer = signer_for(alg)
    expected = jwk_thumbprint(jwk_from_public_key(key_for(alg).public_key()))
    assert signer.kid == expected
    assert parts(signer.sign(TOKEN_URL))[0]["kid"] == expected
    assert signer.public_jwk is not None
    assert signer.public_jwk["kid"] == expected


def test_kid_can_be_given() -> None:
    signer = signer_for("PS256", kid="2024-key")
    assert signer.kid == "2024-key"
    assert parts(signer.sign(TOKEN_URL))[0]["kid"] == "2024-key"
    assert signer.public_jwk is not None
    assert signer.public_jwk["kid"] == "2024-key"


@pytest.mark.parametrize("kid", ["", 5, b"kid"])
def test_kid_must_be_a_non_empty_string(kid: Any) -> None:
    assert "kid" in str(refusal(signer_for, "ES256", kid=kid))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES512", "EdDSA"])
@pytest.mark.parametrize("form", ["object", "pem-bytes", "pem-str", "der"])
def test_x5t_s256_is_the_sha256_of_the_certificate_der(alg: str, form: str) -> None:
    cert = certificate_for(key_for(alg))
    der = cert.public_bytes(serialization.Encoding.DER)
    given_cert: Any = {
        "object": cert,
        "pem-bytes": cert.public_bytes(serialization.Encoding.PEM),
        "pem-str": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "der": der,
    }[form]
    signer = signer_for(alg, certificate=given_cert)
    header, _ = parts(signer.sign(TOKEN_URL))
    assert header["x5t#S256"] == b64url_encode(hashlib.sha256(der).digest())
    assert set(header) == {"alg", "kid", "x5t#S256"}
    verifier(signer).verify(signer.sign(TOKEN_URL))


def test_certificate_of_another_key_is_refused() -> None:
    other = certificate_for(ec.generate_private_key(ec.SECP256R1()))
    exc = refusal(signer_for, "ES256", certificate=other)
    assert "does not hold the signing key" in str(exc)
    # another key type altogether
    refusal(signer_for, "EdDSA", certificate=certificate_for(key_for("ES256")))
    refusal(signer_for, "RS256", certificate=certificate_for(key_for("EdDSA")))


def test_certificate_with_an_unsupported_key_is_refused() -> None:
    for key in (
        ec.generate_private_key(ec.SECP256K1()),
        rsa_1024(),
    ):
        cert = certificate_for(key)
        refusal(signer_for, "ES256", certificate=cert)
        refusal(signer_for, "ES256", certificate=cert.public_bytes(serialization.Encoding.PEM))
    refusal(signer_for, "ES256", certificate=SM2_CERT)
    refusal(signer_for, "ES256", certificate=x509.load_pem_x509_certificate(SM2_CERT))
    refusal(signer_for, "ES256", certificate=DSA_CERT)  # warnings are errors in the tests
    refusal(
        ClientAssertionSigner,
        client_id=CLIENT,
        sign=lambda d: d,
        alg="ES256",
        kid="k",
        certificate=SM2_CERT,
    )


@pytest.mark.parametrize(
    "certificate",
    [b"garbage", "not a cert", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", 5],
)
def test_certificate_that_is_not_one_is_refused(certificate: Any) -> None:
    assert "certificate" in str(refusal(signer_for, "ES256", certificate=certificate))


# === Claims =======================================================================================
def test_claims_of_an_assertion() -> None:
    token = signer_for("ES256").sign(TOKEN_URL)
    _, claims = parts(token)
    assert set(claims) == {"iss", "sub", "aud", "jti", "iat", "exp"}
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["aud"] == TOKEN_URL
    assert claims["iat"] == FIXED_NOW
    assert claims["exp"] == FIXED_NOW + 120
    assert JTI.fullmatch(claims["jti"])


def test_audience_list_is_kept_as_a_list() -> None:
    audience = [TOKEN_URL, ISSUER]
    _, claims = parts(signer_for().sign(audience))
    assert claims["aud"] == audience
    _, claims = parts(signer_for().sign((TOKEN_URL,)))
    assert claims["aud"] == [TOKEN_URL]


def test_default_audience_and_override() -> None:
    signer = signer_for(audience=ISSUER)
    assert parts(signer.sign())[1]["aud"] == ISSUER
    assert parts(signer.sign(TOKEN_URL))[1]["aud"] == TOKEN_URL
    assert parts(signer_for(audience=[ISSUER, TOKEN_URL]).sign())[1]["aud"] == [ISSUER, TOKEN_URL]


def test_no_audience_is_a_configuration_error() -> None:
    exc = refusal(signer_for().sign)
    assert "audience" in str(exc)


@pytest.mark.parametrize("audience", ["", [], [""], ["ok", ""], ["ok", 5], b"aud", 5, {"a": 1}])
def test_bad_audience_is_refused(audience: Any) -> None:
    refusal(signer_for().sign, audience)
    refusal(signer_for, audience=audience)


@pytest.mark.parametrize(("lifetime", "ttl"), [(1, 1), (60, 60), (300.9, 300), (600, 600)])
def test_lifetime_sets_exp(lifetime: float, ttl: int) -> None:
    _, claims = parts(signer_for(lifetime=lifetime).sign(TOKEN_URL))
    assert claims["exp"] - claims["iat"] == ttl
    _, claims = parts(signer_for().sign(TOKEN_URL, lifetime=lifetime))
    assert claims["exp"] - claims["iat"] == ttl


@pytest.mark.parametrize(
    "lifetime", [0, 0.5, -1, 601, 600.5, 10**9, True, False, float("nan"), float("inf"), "60"]
)
def test_lifetime_out_of_bounds_is_refused(lifetime: Any) -> None:
    assert "lifetime" in str(refusal(signer_for, lifetime=lifetime))
    assert "lifetime" in str(refusal(signer_for().sign, TOKEN_URL, lifetime=lifetime))


def test_not_before_adds_nbf_equal_to_iat() -> None:
    _, claims = parts(signer_for(not_before=True).sign(TOKEN_URL))
    assert claims["nbf"] == claims["iat"] == FIXED_NOW
    assert "nbf" not in parts(signer_for().sign(TOKEN_URL))[1]


def test_fractional_clock_gives_integer_times() -> None:
    signer = signer_for(clock=lambda: FIXED_NOW + 0.999)
    _, claims = parts(signer.sign(TOKEN_URL))
    assert claims["iat"] == FIXED_NOW
    assert isinstance(claims["exp"], int)


def test_extra_claims_are_added() -> None:
    extra = {"purpose": "test", "n": [1, 2, {"x": None}], "ok": True}
    _, claims = parts(signer_for().sign(TOKEN_URL, extra_claims=extra))
    for name, value in extra.items():
        assert claims[name] == value


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_extra_claims_are_refused(name: str) -> None:
    exc = refusal(signer_for().sign, TOKEN_URL, extra_claims={name: "evil", "fine": 1})
    assert name in str(exc)


def test_extra_claims_must_be_a_mapping() -> None:
    # A list of pairs would slip a reserved name past the check (`dict.update` accepts pairs).
    refusal(signer_for().sign, TOKEN_URL, extra_claims=[("iss", "evil")])
    refusal(signer_for().sign, TOKEN_URL, extra_claims=[("fine", 1)])


@pytest.mark.parametrize(
    "value", [{1, 2}, b"bytes", float("nan"), float("inf"), object(), "\ud800"]
)
def test_extra_claims_that_are_not_json_are_refused(value: Any) -> None:
    refusal(signer_for().sign, TOKEN_URL, extra_claims={"bad": value})


def test_absurdly_nested_extra_claims_are_refused() -> None:
    deep: list[Any] = []
    node = deep
    for _ in range(50_000):
        child: list[Any] = []
        node.append(child)
        node = child
    refusal(signer_for().sign, TOKEN_URL, extra_claims={"deep": deep})


def test_ten_thousand_assertions_carry_distinct_jtis() -> None:
    signer = signer_for("EdDSA")
    jtis = {parts(signer.sign(TOKEN_URL))[1]["jti"] for _ in range(10_000)}
    assert len(jtis) == 10_000
    assert all(JTI.fullmatch(jti) for jti in jtis)


# === Algorithms ===================================================================================
@pytest.mark.parametrize("alg", ALL_SIGN_ALGS)
def test_every_algorithm_signs_what_the_verifier_accepts(alg: str) -> None:
    signer = signer_for(alg, not_before=True)
    token = signer.sign(TOKEN_URL, extra_claims={"purpose": alg})
    claims = verifier(signer).verify(token)
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["purpose"] == alg
    assert parts(token)[0]["alg"] == alg
    assert signer.alg == alg
    assert signer.public_jwk is not None
    assert signer.public_jwk["alg"] == alg
    assert signer.public_jwk["use"] == "sig"


def test_verifier_rejects_an_assertion_once_expired() -> None:
    signer = signer_for("ES256", lifetime=60)
    token = signer.sign(TOKEN_URL)
    verifier(signer, now=FIXED_NOW + 59).verify(token)
    with pytest.raises(JwtError):
        verifier(signer, now=FIXED_NOW + 3600).verify(token)


@pytest.mark.parametrize(
    ("key_alg", "expected"),
    [
        ("RS256", "RS256"),
        ("ES256", "ES256"),
        ("ES384", "ES384"),
        ("ES512", "ES512"),
        ("EdDSA", "EdDSA"),
    ],
)
def test_default_alg_per_key_type(key_alg: str, expected: str) -> None:
    signer = ClientAssertionSigner(client_id=CLIENT, key=key_for(key_alg))
    assert signer.alg == expected


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "HS384", "hs512", "RS1", "ES256K", "", 7])
def test_none_hmac_and_unknown_algorithms_are_refused(alg: Any) -> None:
    refusal(ClientAssertionSigner, client_id=CLIENT, key=key_for("RS256"), alg=alg)
    refusal(ClientAssertionSigner, client_id=CLIENT, sign=lambda d: d, alg=alg, kid="k")


@pytest.mark.parametrize(
    ("key_alg", "alg"),
    [
        ("RS256", "ES256"),
        ("ES384", "ES256"),
        ("ES256", "ES512"),
        ("EdDSA", "RS256"),
        ("ES256", "EdDSA"),
    ],
)
def test_key_alg_mismatch_is_refused(key_alg: str, alg: str) -> None:
    exc = refusal(ClientAssertionSigner, client_id=CLIENT, key=key_for(key_alg), alg=alg)
    assert "does not fit" in str(exc)


# === Construction =================================================================================
@pytest.mark.parametrize("client_id", ["", None, 5, b"client"])
def test_client_id_must_be_a_non_empty_string(client_id: Any) -> None:
    refusal(ClientAssertionSigner, client_id=client_id, key=key_for("EdDSA"))


def test_exactly_one_of_key_and_sign() -> None:
    refusal(ClientAssertionSigner, client_id=CLIENT)
    refusal(
        ClientAssertionSigner,
        client_id=CLIENT,
        key=key_for("EdDSA"),
        sign=sign_with(key_for("EdDSA"), "EdDSA"),
        alg="EdDSA",
        kid="k",
    )


@pytest.mark.parametrize(
    "key",
    [
        "-----BEGIN PRIVATE KEY-----",
        b"key",
        rsa_private().public_key(),
        ec.generate_private_key(ec.SECP256K1()),
    ],
    ids=["str", "bytes", "public", "secp256k1"],
)
def test_key_must_be_a_supported_private_key(key: Any) -> None:
    refusal(ClientAssertionSigner, client_id=CLIENT, key=key)


def test_rsa_1024_key_is_refused() -> None:
    small = rsa_1024()
    assert "1024" in str(refusal(ClientAssertionSigner, client_id=CLIENT, key=small))


def test_public_key_is_only_for_sign_callables() -> None:
    key = key_for("ES256")
    refusal(ClientAssertionSigner, client_id=CLIENT, key=key, public_key=key.public_key())


def test_signature_encoding_must_be_raw_or_der() -> None:
    refusal(signer_for, "ES256", signature_encoding="base64")


def test_repr_names_the_client_and_hides_the_key() -> None:
    key = key_for("RS256")
    signer = ClientAssertionSigner(client_id=CLIENT, key=key)
    text = repr(signer)
    assert text == f"ClientAssertionSigner(client_id={CLIENT!r}, alg='RS256', kid={signer.kid!r})"
    nums = key.private_numbers()  # type: ignore[union-attr]
    for secret in (str(nums.d), str(nums.p), private_jwk(key)["d"], pem(key).decode()[40:80]):
        assert secret not in text
        assert secret not in str(signer)


def test_public_jwk_is_public_and_a_copy() -> None:
    signer = signer_for("RS256")
    jwk = signer.public_jwk
    assert jwk is not None
    assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}
    jwk["kid"] = "changed"
    assert signer.public_jwk is not None
    assert signer.public_jwk["kid"] == signer.kid


# === Constructors =================================================================================
def test_from_pem_and_from_pem_file(tmp_path: Path) -> None:
    data = pem(key_for("ES384"))
    path = tmp_path / "private.pem"
    path.write_bytes(data)
    for signer in (
        ClientAssertionSigner.from_pem(data, client_id=CLIENT, clock=clock),
        ClientAssertionSigner.from_pem(data.decode(), client_id=CLIENT, clock=clock),
        ClientAssertionSigner.from_pem_file(path, client_id=CLIENT, clock=clock),
        ClientAssertionSigner.from_pem_file(str(path), client_id=CLIENT, clock=clock),
    ):
        assert signer.alg == "ES384"
        verifier(signer).verify(signer.sign(TOKEN_URL))


def test_from_pem_encrypted_and_with_options() -> None:
    data = pem(key_for("RS256"), password=PASSWORD)
    signer = ClientAssertionSigner.from_pem(
        data, client_id=CLIENT, password=PASSWORD, alg="PS384", kid="mine", clock=clock
    )
    assert (signer.alg, signer.kid) == ("PS384", "mine")
    verifier(signer).verify(signer.sign(TOKEN_URL))
    exc = refusal(ClientAssertionSigner.from_pem, data, client_id=CLIENT, password="wrong-one")
    assert "wrong-one" not in str(exc)
    assert PASSWORD not in str(exc)


def test_from_pem_file_that_cannot_be_read(tmp_path: Path) -> None:
    exc = refusal(ClientAssertionSigner.from_pem_file, tmp_path / "missing.pem", client_id=CLIENT)
    assert "missing.pem" in str(exc)
    refusal(ClientAssertionSigner.from_pem_file, tmp_path, client_id=CLIENT)  # a directory


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES512", "EdDSA"])
@pytest.mark.parametrize("form", ["mapping", "str", "bytes"])
def test_from_jwk(alg: str, form: str) -> None:
    jwk = private_jwk(key_for(alg), kid="from-jwk")
    given_jwk: Any = {"mapping": jwk, "str": json.dumps(jwk), "bytes": json.dumps(jwk).encode()}[
        form
    ]
    signer = ClientAssertionSigner.from_jwk(given_jwk, client_id=CLIENT, clock=clock)
    assert signer.kid == "from-jwk"
    assert signer.public_jwk is not None
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(signer.public_jwk)
    verifier(signer).verify(signer.sign(TOKEN_URL))


def test_from_jwk_without_crt_members() -> None:
    signer = ClientAssertionSigner.from_jwk(
        private_jwk(key_for("RS256"), crt=False), client_id=CLIENT, clock=clock
    )
    verifier(signer).verify(signer.sign(TOKEN_URL))


def test_from_jwk_without_kid_uses_the_thumbprint() -> None:
    signer = ClientAssertionSigner.from_jwk(private_jwk(key_for("ES256")), client_id=CLIENT)
    assert signer.kid == jwk_thumbprint(jwk_from_public_key(key_for("ES256").public_key()))


def test_from_jwk_alg_pins_the_algorithm() -> None:
    jwk = private_jwk(key_for("RS256"), alg="PS512", key_ops=["sign"])
    signer = ClientAssertionSigner.from_jwk(jwk, client_id=CLIENT, clock=clock)
    assert signer.alg == "PS512"
    assert signer.public_jwk is not None
    assert signer.public_jwk["alg"] == "PS512"
    assert "key_ops" not in signer.public_jwk
    assert ClientAssertionSigner.from_jwk(jwk, client_id=CLIENT, alg="PS512").alg == "PS512"
    exc = refusal(ClientAssertionSigner.from_jwk, jwk, client_id=CLIENT, alg="RS256")
    assert "contradicts" in str(exc)


def test_from_jwk_without_alg_takes_alg_option() -> None:
    jwk = private_jwk(key_for("RS256"))
    assert ClientAssertionSigner.from_jwk(jwk, client_id=CLIENT, alg="PS256").alg == "PS256"
    refusal(ClientAssertionSigner.from_jwk, jwk, client_id=CLIENT, alg="ES256")


@pytest.mark.parametrize(
    "jwk",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '{"kty": "RSA", "kty": "EC"}',
        "[" * 100_000,
        {"kty": "oct", "k": "c2VjcmV0"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        5,
    ],
)
def test_from_jwk_refuses_what_is_not_a_private_jwk(jwk: Any) -> None:
    refusal(ClientAssertionSigner.from_jwk, jwk, client_id=CLIENT)


def test_from_jwk_refuses_a_public_jwk() -> None:
    public = jwk_from_public_key(key_for("ES256").public_key())
    refusal(ClientAssertionSigner.from_jwk, public, client_id=CLIENT)
    refusal(ClientAssertionSigner.from_jwk, json.dumps(public), client_id=CLIENT)


# === Signer callables =============================================================================
@pytest.mark.parametrize("alg", ALL_SIGN_ALGS)
def test_sync_callable_returning_a_jws_signature(alg: str) -> None:
    key = key_for(alg)
    seen: list[bytes] = []

    def sign(data: bytes) -> bytes:
        seen.append(data)
        return ALGORITHMS[alg].sign(key, data)

    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign, alg=alg, public_key=key.public_key(), clock=clock
    )
    token = signer.sign(TOKEN_URL)
    assert seen == [token.rsplit(".", 1)[0].encode("ascii")]
    verifier(signer).verify(token)
    assert signer.kid == jwk_thumbprint(jwk_from_public_key(key.public_key()))


def test_sync_callable_with_declared_kid_and_no_public_key() -> None:
    key = key_for("RS256")
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign_with(key, "RS256"), alg="RS256", kid="kms-key-1", clock=clock
    )
    assert signer.public_jwk is None
    token = signer.sign(TOKEN_URL)
    assert parts(token)[0] == {"alg": "RS256", "kid": "kms-key-1"}
    jwk = {**jwk_from_public_key(key.public_key()), "kid": "kms-key-1"}
    JwtVerifier(issuer=CLIENT, audience=TOKEN_URL, jwks={"keys": [jwk]}, clock=clock).verify(token)


@pytest.mark.parametrize(
    ("alg", "hash_alg"),
    [("ES256", hashes.SHA256()), ("ES384", hashes.SHA384()), ("ES512", hashes.SHA512())],
)
def test_ecdsa_der_signatures_like_kms(alg: str, hash_alg: hashes.HashAlgorithm) -> None:
    key = key_for(alg)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signer = ClientAssertionSigner(
        client_id=CLIENT,
        sign=der_sign_with(key, hash_alg),
        alg=alg,
        public_key=key.public_key(),
        signature_encoding="der",
        clock=clock,
    )
    for _ in range(5):  # DER lengths vary with leading zeros of r and s
        token = signer.sign(TOKEN_URL)
        assert len(b64url_decode(token.rsplit(".", 1)[1])) == 2 * ALGORITHMS_SIZE[alg]
        verifier(signer).verify(token)


ALGORITHMS_SIZE = {"ES256": 32, "ES384": 48, "ES512": 66}


def test_der_signature_without_der_encoding_is_a_signing_error() -> None:
    key = key_for("ES256")
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=der_sign_with(key, hashes.SHA256()), alg="ES256", kid="k"
    )
    with pytest.raises(SigningError, match="der"):
        signer.sign(TOKEN_URL)


@pytest.mark.parametrize("result", [b"", b"\x30\x00", b"\x30\x06\x02\x01\x01\x02\x01", b"x" * 64])
def test_invalid_der_is_a_signing_error(result: bytes) -> None:
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda _d: result, alg="ES256", kid="k", signature_encoding="der"
    )
    with pytest.raises(SigningError):
        signer.sign(TOKEN_URL)


@pytest.mark.parametrize(
    "der",
    [
        encode_dss_signature(2**300, 1),  # r does not fit in 32 bytes
        b"\x30\x06\x02\x01\x01\x02\x01\xfb",  # s = -5
    ],
    ids=["too-large", "negative"],
)
def test_der_with_integers_that_do_not_fit_is_a_signing_error(der: bytes) -> None:
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda _d: der, alg="ES256", kid="k", signature_encoding="der"
    )
    with pytest.raises(SigningError):
        signer.sign(TOKEN_URL)


def test_der_encoding_is_ignored_for_rsa() -> None:
    key = key_for("RS256")
    signer = ClientAssertionSigner(
        client_id=CLIENT,
        sign=sign_with(key, "RS256"),
        alg="RS256",
        public_key=key.public_key(),
        signature_encoding="der",
        clock=clock,
    )
    verifier(signer).verify(signer.sign(TOKEN_URL))


@pytest.mark.parametrize(
    ("alg", "size"), [("ES256", 63), ("ES256", 65), ("ES512", 128), ("EdDSA", 65), ("EdDSA", 0)]
)
def test_signature_of_the_wrong_length_is_a_signing_error(alg: str, size: int) -> None:
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda _d: b"\x01" * size, alg=alg, kid="k"
    )
    with pytest.raises(SigningError, match="bytes"):
        signer.sign(TOKEN_URL)


@pytest.mark.parametrize("alg", ["RS256", "PS512"])
@pytest.mark.parametrize("size", [0, 1, 128, 255, 1025])
def test_rsa_signature_of_an_impossible_length_is_a_signing_error(alg: str, size: int) -> None:
    # Without public_key nothing can be verified, but an RSA signature is as long as the
    # modulus: 256 to 1024 bytes for the 2048-8192-bit keys this library accepts.
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda _d: b"\x01" * size, alg=alg, kid="k"
    )
    with pytest.raises(SigningError, match="bytes"):
        signer.sign(TOKEN_URL)


@pytest.mark.parametrize("size", [256, 384, 512, 1024])
def test_rsa_signature_lengths_of_supported_key_sizes_pass_the_length_check(size: int) -> None:
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda _d: b"\x01" * size, alg="RS256", kid="k"
    )
    assert len(b64url_decode(signer.sign(TOKEN_URL).rsplit(".", 1)[1])) == size


@pytest.mark.parametrize("result", [None, "signature", 5, [b"x"]])
def test_callable_returning_something_other_than_bytes(result: Any) -> None:
    signer = ClientAssertionSigner(client_id=CLIENT, sign=lambda _d: result, alg="RS256", kid="k")
    with pytest.raises(SigningError, match="not bytes"):
        signer.sign(TOKEN_URL)


def test_bytearray_and_memoryview_are_accepted() -> None:
    key = key_for("EdDSA")
    for wrap in (bytearray, memoryview):
        signer = ClientAssertionSigner(
            client_id=CLIENT,
            sign=lambda d, wrap=wrap: wrap(ALGORITHMS["EdDSA"].sign(key, d)),
            alg="EdDSA",
            public_key=key.public_key(),
            clock=clock,
        )
        verifier(signer).verify(signer.sign(TOKEN_URL))


def test_callable_that_raises_becomes_a_signing_error_with_the_cause_chained() -> None:
    boom = RuntimeError("KMS said AccessDenied for arn:aws:kms:secret-key-id")

    def sign(_data: bytes) -> bytes:
        raise boom

    signer = ClientAssertionSigner(client_id=CLIENT, sign=sign, alg="RS256", kid="k")
    with pytest.raises(SigningError) as info:
        signer.sign(TOKEN_URL)
    assert info.value.__cause__ is boom
    assert "RuntimeError" in str(info.value)
    assert "secret-key-id" not in str(info.value)
    assert info.value.code == "ERR_SIGNING"


def test_async_callable_with_sign_is_a_signing_error_and_never_left_unawaited() -> None:
    key = key_for("EdDSA")

    async def sign(data: bytes) -> bytes:
        return ALGORITHMS["EdDSA"].sign(key, data)

    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign, alg="EdDSA", public_key=key.public_key(), clock=clock
    )
    # filterwarnings=error: a coroutine never awaited would fail the test when collected.
    with pytest.raises(SigningError, match="sign_async"):
        signer.sign(TOKEN_URL)
    token = asyncio.run(signer.sign_async(TOKEN_URL))
    verifier(signer).verify(token)


def test_async_callable_that_raises_in_sign_async() -> None:
    boom = ConnectionError("kms unreachable")

    async def sign(_data: bytes) -> bytes:
        raise boom

    signer = ClientAssertionSigner(client_id=CLIENT, sign=sign, alg="ES256", kid="k")
    with pytest.raises(SigningError) as info:
        asyncio.run(signer.sign_async(TOKEN_URL))
    assert info.value.__cause__ is boom


def test_async_callable_object_works_with_sign_async() -> None:
    key = key_for("ES256")

    class KmsSigner:
        async def __call__(self, data: bytes) -> bytes:
            await asyncio.sleep(0)
            return ALGORITHMS["ES256"].sign(key, data)

    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=KmsSigner(), alg="ES256", public_key=key.public_key(), clock=clock
    )
    verifier(signer).verify(asyncio.run(signer.sign_async(TOKEN_URL)))


def test_sync_callable_in_sign_async_runs_in_a_worker_thread() -> None:
    key = key_for("EdDSA")
    threads: list[int] = []

    def sign(data: bytes) -> bytes:
        threads.append(threading.get_ident())
        return ALGORITHMS["EdDSA"].sign(key, data)

    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign, alg="EdDSA", public_key=key.public_key(), clock=clock
    )

    async def main() -> tuple[str, int]:
        return await signer.sign_async(TOKEN_URL), threading.get_ident()

    token, loop_thread = asyncio.run(main())
    assert threads
    assert threads[0] != loop_thread
    verifier(signer).verify(token)


def test_sync_callable_that_raises_in_sign_async() -> None:
    boom = TimeoutError("slow HSM")

    def sign(_data: bytes) -> bytes:
        raise boom

    signer = ClientAssertionSigner(client_id=CLIENT, sign=sign, alg="EdDSA", kid="k")
    with pytest.raises(SigningError) as info:
        asyncio.run(signer.sign_async(TOKEN_URL))
    assert info.value.__cause__ is boom


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_signature_from_the_wrong_key_is_caught_with_public_key(alg: str) -> None:
    right = key_for(alg)
    wrong: PrivateKey = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "PS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "EdDSA": ed25519.Ed25519PrivateKey.generate(),
    }[alg]
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign_with(wrong, alg), alg=alg, public_key=right.public_key()
    )
    with pytest.raises(SigningError, match="does not verify"):
        signer.sign(TOKEN_URL)
    with pytest.raises(SigningError, match="does not verify"):
        asyncio.run(signer.sign_async(TOKEN_URL))


def test_callable_needs_alg_and_kid() -> None:
    key = key_for("EdDSA")
    sign = sign_with(key, "EdDSA")
    assert "alg" in str(refusal(ClientAssertionSigner, client_id=CLIENT, sign=sign, kid="k"))
    assert "kid" in str(refusal(ClientAssertionSigner, client_id=CLIENT, sign=sign, alg="EdDSA"))
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=sign, alg="EdDSA", public_key=key.public_key()
    )
    assert signer.kid == jwk_thumbprint(jwk_from_public_key(key.public_key()))


@pytest.mark.parametrize("sign", ["not callable", b"sig", 5])
def test_sign_must_be_callable(sign: Any) -> None:
    refusal(ClientAssertionSigner, client_id=CLIENT, sign=sign, alg="RS256", kid="k")


def test_callable_public_key_must_fit_the_alg() -> None:
    sign = sign_with(key_for("ES384"), "ES384")
    public = key_for("ES384").public_key()
    refusal(ClientAssertionSigner, client_id=CLIENT, sign=sign, alg="ES256", public_key=public)


@pytest.mark.parametrize(
    ("public_key", "alg"),
    [
        (rsa_private(), "RS256"),  # the private key, passed by mistake
        (all_keys()["ES256"].private, "ES256"),
        (all_keys()["EdDSA"].private, "EdDSA"),
        (rsa_1024().public_key(), "RS256"),
        (ec.generate_private_key(ec.SECP256K1()).public_key(), "ES256"),
        ("public key", "RS256"),
    ],
    ids=["rsa-private", "ec-private", "ed-private", "rsa-1024", "secp256k1", "str"],
)
def test_callable_public_key_must_be_a_supported_public_key(public_key: Any, alg: str) -> None:
    refusal(
        ClientAssertionSigner, client_id=CLIENT, sign=lambda d: d, alg=alg, public_key=public_key
    )


def test_callable_with_certificate_for_its_public_key() -> None:
    key = key_for("ES256")
    cert = certificate_for(key)
    signer = ClientAssertionSigner(
        client_id=CLIENT,
        sign=sign_with(key, "ES256"),
        alg="ES256",
        public_key=key.public_key(),
        certificate=cert,
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    assert parts(signer.sign(TOKEN_URL))[0]["x5t#S256"] == b64url_encode(
        hashlib.sha256(der).digest()
    )
    refusal(
        ClientAssertionSigner,
        client_id=CLIENT,
        sign=sign_with(key, "ES256"),
        alg="ES256",
        public_key=key.public_key(),
        certificate=certificate_for(key_for("ES384")),
    )


def test_callable_is_not_called_when_claims_are_refused() -> None:
    calls: list[bytes] = []
    signer = ClientAssertionSigner(
        client_id=CLIENT, sign=lambda d: calls.append(d) or b"", alg="RS256", kid="k"
    )
    refusal(signer.sign)  # no audience
    refusal(signer.sign, TOKEN_URL, extra_claims={"iss": "x"})
    assert calls == []


# === Form fields ==================================================================================
def _check_fields(fields: Mapping[str, str], signer: ClientAssertionSigner) -> dict[str, Any]:
    assert set(fields) == {"client_assertion_type", "client_assertion"}
    assert fields["client_assertion_type"] == CLIENT_ASSERTION_TYPE
    assert CLIENT_ASSERTION_TYPE == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assert all(isinstance(v, str) for v in fields.values())
    verifier(signer).verify(fields["client_assertion"])
    return parts(fields["client_assertion"])[1]


def test_form_fields() -> None:
    signer = signer_for("PS256", audience=TOKEN_URL)
    _check_fields(signer.form_fields(), signer)
    claims = _check_fields(
        signer.form_fields(TOKEN_URL, lifetime=30, extra_claims={"x": 1}), signer
    )
    assert claims["exp"] - claims["iat"] == 30
    assert claims["x"] == 1


def test_form_fields_async() -> None:
    signer = signer_for("ES256", audience=TOKEN_URL)
    _check_fields(asyncio.run(signer.form_fields_async()), signer)
    claims = _check_fields(asyncio.run(signer.form_fields_async(TOKEN_URL, lifetime=45)), signer)
    assert claims["exp"] - claims["iat"] == 45


def test_form_fields_each_time_a_new_assertion() -> None:
    signer = signer_for("EdDSA")
    first, second = signer.form_fields(TOKEN_URL), signer.form_fields(TOKEN_URL)
    assert first["client_assertion"] != second["client_assertion"]


def test_sign_async_with_a_key() -> None:
    signer = signer_for("RS512", not_before=True)
    token = asyncio.run(signer.sign_async(TOKEN_URL, lifetime=10, extra_claims={"a": "b"}))
    claims = verifier(signer).verify(token)
    assert claims["a"] == "b"
    assert claims["exp"] - claims["iat"] == 10


# === Property: whatever the inputs, the verifier accepts exactly the expected claims ==============
PROPERTY_ALGS = ("RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA")  # keys: cached helpers

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | encodable_text
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(encodable_text, children, max_size=4)
    ),
    max_leaves=12,
)
claim_names = encodable_text.filter(lambda name: name not in RESERVED)
audiences = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


@given(
    alg=st.sampled_from(PROPERTY_ALGS),
    lifetime=st.integers(min_value=1, max_value=600) | st.floats(min_value=1, max_value=600),
    extra=st.dictionaries(claim_names, json_values, max_size=6),
    audience=audiences | st.lists(audiences, min_size=1, max_size=3),
    not_before=st.booleans(),
    use_async=st.booleans(),
)
def test_any_assertion_is_accepted_by_our_verifier(
    alg: str,
    lifetime: float,
    extra: dict[str, Any],
    audience: str | list[str],
    not_before: bool,
    use_async: bool,
) -> None:
    signer = signer_for(alg, not_before=not_before)
    if use_async:
        token = asyncio.run(signer.sign_async(audience, lifetime=lifetime, extra_claims=extra))
    else:
        token = signer.sign(audience, lifetime=lifetime, extra_claims=extra)
    wanted = audience if isinstance(audience, str) else audience[-1]
    claims = dict(verifier(signer, audience=wanted).verify(token))
    expected: dict[str, Any] = {
        **extra,
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": audience,
        "iat": FIXED_NOW,
        "exp": FIXED_NOW + int(lifetime),
    }
    if not_before:
        expected["nbf"] = FIXED_NOW
    jti = claims.pop("jti")
    assert JTI.fullmatch(jti)
    assert claims == expected
    assert parts(token)[0] == {"alg": alg, "kid": signer.kid}
