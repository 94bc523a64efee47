"""Private keys for signing: PEM and private JWK loading, and which algorithms fit a key.

Every refusal is a ``ConfigurationError`` whose message never carries key material or a password.
"""

from __future__ import annotations

import math
import warnings
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519

from cognito_jwt._algorithms import ALGORITHMS, PrivateKey
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._client._keygen import generate_client_key
from cognito_jwt._client._private_keys import (
    algorithms_for,
    check_key_alg,
    check_private_key,
    default_alg,
    load_pem_private_key,
    private_key_from_jwk,
)
from cognito_jwt._errors import ConfigurationError, JwtError
from cognito_jwt._jwk import jwk_from_public_key, parse_jwk
from tests.helpers import all_keys, rsa_private

PASSWORD = "correct horse battery staple"
# A PKCS#8 SM2 key (openssl genpkey -algorithm SM2): a curve OID cryptography does not know.
SM2_PEM = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg5rzKn/s+bBaWmW75
twNa5p3SmPq76TBzQoXaoswDURShRANCAAT+3FClqWsDwN2CAp/aaaF/JjElRQLR
n1JV7uhKKax6ExdcKG/Xg4IbejQp1CZaQT6DyAUS3ZNEahSTk0rvqml2
-----END PRIVATE KEY-----
"""
OPENSSH_PEM = b"""-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
-----END OPENSSH PRIVATE KEY-----
"""
# A 1024-bit DSA key, a type this library never signs with, made once with openssl (dsaparam,
# gendsa, pkey -traditional, pkcs8 -topk8 [-v2 aes-256-cbc] with PASSWORD). Fixed PEMs rather
# than keys generated here: cryptography deprecates DSA (51.0 warns on every use) and may drop
# it, and these tests must not depend on what a dependency warns about.
DSA_TRADITIONAL_PEM = b"""-----BEGIN DSA PRIVATE KEY-----
MIIBzAIBAAKBgQCqLRwffRJEn8dXuyFPZkqeJjX4038cJ/2E5AhghhSRLZzPT2E2
Z30qR8glxmSGc4UbgltTdZCMbjX3oWBuDF9vDCpxlC5kgnHr/McQSJo4okqF4560
1sTgHvrw+ic6lD1c+zUgLa9WsP0gThDVN8zF/XUBXPCP1onJ6vn6Q8nqvQIdALXe
1y47cHexIT2p32QSUGlEmgYbSBRWqkyLvfkCgYBXTKSloHTIp3JEx+tPZlr+t+t3
gRb/dxucunWI3jyE9BfbysGNs/DpDaOqqnbXsULfk4gEFQLjDxMrXQTXkkaJbGgf
Xk6ancMyWDuLC1T0niDlhbpgQpBuP8CgBdyEQ1RQnKGNd25mKImDrV6vQYVX7XLZ
PYh9c2pYXgKask99OAKBgQCDtruIi3t4TNB4955T0wv66PX2Raotwnjyh6bkTn14
P9OzCpKMnv0x/m6ccHLUvoqaMbo+FKZLpo5sfkHDd5dkxLZ8IEHv//0C4Rx0KY6c
5275L03P1SeRtWgE/m/TSAqVx1LAv8blRLRrE822+RhFG4vfhVmc8bTUadCTHXJz
2gIdAJPCKn7iI/KcZh4d3vmFeWCB43Jf3K2O3AEChqA=
-----END DSA PRIVATE KEY-----
"""
DSA_PKCS8_PEM = b"""-----BEGIN PRIVATE KEY-----
MIIBWwIBADCCATMGByqGSM44BAEwggEmAoGBAKotHB99EkSfx1e7IU9mSp4mNfjT
fxwn/YTkCGCGFJEtnM9PYTZnfSpHyCXGZIZzhRuCW1N1kIxuNfehYG4MX28MKnGU
LmSCcev8xxBImjiiSoXjnrTWxOAe+vD6JzqUPVz7NSAtr1aw/SBOENU3zMX9dQFc
8I/Wicnq+fpDyeq9Ah0Atd7XLjtwd7EhPanfZBJQaUSaBhtIFFaqTIu9+QKBgFdM
pKWgdMinckTH609mWv6363eBFv93G5y6dYjePIT0F9vKwY2z8OkNo6qqdtexQt+T
iAQVAuMPEytdBNeSRolsaB9eTpqdwzJYO4sLVPSeIOWFumBCkG4/wKAF3IRDVFCc
oY13bmYoiYOtXq9BhVftctk9iH1zalheApqyT304BB8CHQCTwip+4iPynGYeHd75
hXlggeNyX9ytjtwBAoag
-----END PRIVATE KEY-----
"""
DSA_ENCRYPTED_PEM = b"""-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQISbPtNyW5pxgCAggA
MAwGCCqGSIb3DQIJBQAwHQYJYIZIAWUDBAEqBBADOMZQQXmYYXRvaSBQ4wTJBIIB
YPGpUrbHFTt/oYLvmcEH7cTzpj3PiYlqiwn2NZohrIaL3wAqMakgpRMGKQr5HF3P
HcWgdrTk1WYW0rBhYiaCHSYrp858JU8sS2aNp90xCmF/YbbWhnHjO2OmkGkgeffI
Vuny84t/WFOQTxud12QjC9kdWXokKm1w0bOr6Lu2G/yY+e1pjbW10ZtQpBpGgBqJ
bt2Ka0EpR7tp3nx7TJ4RhghZEj6x3viLGHFKyg/wDOoztN+Wc6WrM6NjfgNmsUXp
4VEYEeCkYashXzZ1sygsAuJZNI3Mq/VCKA+yvU2k4mqAOL5UskZbEWireXxql8Xn
IdK/hn+fO/vNXOhnirjuY1qcj1liT8xsw/G1dpJt/tOJ8rTn1iUCtxOEX+v/W9Tn
uZ9bUSqcUEl8AJZ5kGA89CBdqM7pVYmB4WLE7rkAao+R1e4u+OMu3KuLmde05AXb
tbNiYnJ0690rh/VKM7rvzQc=
-----END ENCRYPTED PRIVATE KEY-----
"""
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL


def _key(name: str) -> PrivateKey:
    return {
        "RSA": rsa_private(),
        "P-256": all_keys()["ES256"].private,
        "P-384": all_keys()["ES384"].private,
        "P-521": all_keys()["ES512"].private,
        "Ed25519": all_keys()["EdDSA"].private,
    }[name]


KEY_NAMES = ("RSA", "P-256", "P-384", "P-521", "Ed25519")


@cache
def rsa_1024() -> rsa.RSAPrivateKey:
    """A key too small to sign with: the tests check that it is refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


def pem(
    key: Any, fmt: serialization.PrivateFormat = PKCS8, password: bytes | str | None = None
) -> bytes:
    """Serialise any ``cryptography`` private key as PEM, encrypted if *password* is given."""
    encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
    if password is not None:
        secret = password.encode() if isinstance(password, str) else password
        encryption = serialization.BestAvailableEncryption(secret)
    data: bytes = key.private_bytes(serialization.Encoding.PEM, fmt, encryption)
    return data


def _b64int(value: int, size: int | None = None) -> str:
    return b64url_encode(value.to_bytes(size or max(1, (value.bit_length() + 7) // 8), "big"))


def private_jwk(key: PrivateKey, *, crt: bool = True, **members: Any) -> dict[str, Any]:
    """The private JWK of *key* (RFC 7518 §6.3.2, §6.2.2, RFC 8037 §2), *members* added."""
    jwk: dict[str, Any] = dict(jwk_from_public_key(key.public_key()))
    if isinstance(key, rsa.RSAPrivateKey):
        nums = key.private_numbers()
        jwk["d"] = _b64int(nums.d)
        if crt:
            jwk.update(
                p=_b64int(nums.p),
                q=_b64int(nums.q),
                dp=_b64int(nums.dmp1),
                dq=_b64int(nums.dmq1),
                qi=_b64int(nums.iqmp),
            )
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        jwk["d"] = _b64int(key.private_numbers().private_value, size)
    else:
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        jwk["d"] = b64url_encode(raw)
    jwk.update(members)
    return jwk


def same_key(a: PrivateKey, b: PrivateKey) -> bool:
    return jwk_from_public_key(a.public_key()) == jwk_from_public_key(b.public_key())


def refusal(call: Any, *args: Any, **kwargs: Any) -> ConfigurationError:
    """Run *call*, expect a ConfigurationError, and return it."""
    with pytest.raises(ConfigurationError) as info:
        call(*args, **kwargs)
    return info.value


def assert_secret_free(exc: BaseException, *secrets: str | bytes) -> None:
    text = f"{exc} {exc!r} {getattr(exc, 'message', '')}"
    for secret in secrets:
        shown = secret.decode() if isinstance(secret, bytes) else secret
        assert shown not in text


def pem_body_lines(data: bytes) -> list[str]:
    """The base64 lines of a PEM document: the key material."""
    return [
        line.decode()
        for line in data.splitlines()
        if line and not line.startswith(b"-----") and b":" not in line
    ]


# === PEM: what loads =============================================================================
@pytest.mark.parametrize("name", KEY_NAMES)
def test_pkcs8_pem_loads(name: str) -> None:
    key = _key(name)
    loaded = load_pem_private_key(pem(key))
    assert type(loaded) is type(key)
    assert same_key(loaded, key)


@pytest.mark.parametrize("name", ["RSA", "P-256", "P-384", "P-521"])
def test_traditional_pem_loads(name: str) -> None:
    key = _key(name)
    data = pem(key, TRADITIONAL)
    assert data.startswith(
        b"-----BEGIN RSA PRIVATE KEY-----" if name == "RSA" else b"-----BEGIN EC"
    )
    assert same_key(load_pem_private_key(data), key)


@pytest.mark.parametrize("name", KEY_NAMES)
def test_str_and_bytes_and_bytearray_load_the_same_key(name: str) -> None:
    data = pem(_key(name))
    from_bytes = load_pem_private_key(data)
    assert same_key(load_pem_private_key(data.decode("ascii")), from_bytes)
    assert same_key(load_pem_private_key(bytearray(data)), from_bytes)


def test_crlf_line_endings_and_surrounding_text_are_fine() -> None:
    data = pem(_key("P-256")).replace(b"\n", b"\r\n")
    assert same_key(load_pem_private_key(b"my key:\r\n" + data + b"\r\ntrailer"), _key("P-256"))


def test_certificate_before_the_key_is_skipped() -> None:
    client_key = generate_client_key("ES256")
    bundle = client_key.certificate_pem + client_key.private_pem()
    assert bundle.startswith(b"-----BEGIN CERTIFICATE-----")
    assert same_key(load_pem_private_key(bundle), client_key.private_key)


def test_first_of_two_private_keys_is_used() -> None:
    bundle = pem(_key("P-384")) + pem(_key("P-256"))
    assert same_key(load_pem_private_key(bundle), _key("P-384"))


def test_openssl_req_style_pem_loads() -> None:
    # `openssl req -nodes -x509 -newkey rsa:2048 -keyout private.pem` writes PKCS#8, unencrypted.
    data = pem(rsa_private())
    assert data.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert isinstance(load_pem_private_key(data), rsa.RSAPrivateKey)


# === PEM: encrypted ==============================================================================
@pytest.mark.parametrize("name", KEY_NAMES)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_encrypted_pkcs8_with_the_right_password(name: str, as_bytes: bool) -> None:
    key = _key(name)
    data = pem(key, password=PASSWORD)
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    password: str | bytes = PASSWORD.encode() if as_bytes else PASSWORD
    assert same_key(load_pem_private_key(data, password), key)


@pytest.mark.parametrize("name", ["RSA", "P-256"])
def test_encrypted_traditional_with_the_right_password(name: str) -> None:
    key = _key(name)
    data = pem(key, TRADITIONAL, password=PASSWORD)
    assert b"Proc-Type: 4,ENCRYPTED" in data
    assert same_key(load_pem_private_key(data, PASSWORD), key)


def test_non_ascii_password_is_utf8() -> None:
    password = "pässwörd-🔑"
    data = pem(_key("Ed25519"), password=password)
    assert same_key(load_pem_private_key(data, password), _key("Ed25519"))
    assert same_key(load_pem_private_key(data, password.encode("utf-8")), _key("Ed25519"))


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL])
def test_wrong_password_is_refused_without_echoing_it(fmt: serialization.PrivateFormat) -> None:
    data = pem(_key("P-256"), fmt, password=PASSWORD)
    wrong = "Tr0ub4dor&3-not-the-password"
    exc = refusal(load_pem_private_key, data, wrong)
    assert "wrong password" in str(exc)
    assert_secret_free(exc, wrong, PASSWORD, *pem_body_lines(data))


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL])
@pytest.mark.parametrize("password", [None, "", b""])
def test_missing_password_is_refused(
    fmt: serialization.PrivateFormat, password: str | bytes | None
) -> None:
    data = pem(_key("RSA"), fmt, password=PASSWORD)
    exc = refusal(load_pem_private_key, data, password)
    assert "encrypted" in str(exc)
    assert "password" in str(exc)
    assert_secret_free(exc, PASSWORD, *pem_body_lines(data))


@pytest.mark.parametrize("fmt", [PKCS8, TRADITIONAL])
@pytest.mark.parametrize("password", [PASSWORD, PASSWORD.encode()])
def test_password_for_an_unencrypted_key_is_refused(
    fmt: serialization.PrivateFormat, password: str | bytes
) -> None:
    data = pem(_key("P-256"), fmt)
    exc = refusal(load_pem_private_key, data, password)
    assert "not encrypted" in str(exc)
    assert_secret_free(exc, PASSWORD, *pem_body_lines(data))


@pytest.mark.parametrize("password", [5, ["x"], 1.5])
def test_password_of_the_wrong_type_is_a_configuration_error(password: Any) -> None:
    data = pem(_key("P-256"), password=PASSWORD)
    refusal(load_pem_private_key, data, password)


# === PEM: what is refused ========================================================================
def test_certificate_only_pem_is_refused_with_a_hint() -> None:
    exc = refusal(load_pem_private_key, generate_client_key("ES256").certificate_pem)
    assert "no PEM private key block" in str(exc)
    assert "certificate or public key" in str(exc)


def test_public_key_pem_is_refused() -> None:
    public = (
        _key("RSA")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    exc = refusal(load_pem_private_key, public)
    assert "no PEM private key block" in str(exc)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        b"garbage",
        b"\x00\xff" * 50,
        "not a key at all \u2603",
        b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",  # mismatched END
        b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\n!!!not base64!!!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n",
    ],
)
def test_garbage_is_a_configuration_error(data: bytes | str) -> None:
    refusal(load_pem_private_key, data)


def test_truncated_key_is_refused_without_echoing_it() -> None:
    data = pem(_key("RSA"))
    lines = data.splitlines()
    truncated = b"\n".join([*lines[:5], lines[-1]]) + b"\n"
    exc = refusal(load_pem_private_key, truncated)
    assert "corrupt" in str(exc)
    assert_secret_free(exc, *pem_body_lines(truncated))


@pytest.mark.parametrize("data", [None, 5, ["-----BEGIN PRIVATE KEY-----"], object()])
def test_input_of_the_wrong_type_is_refused(data: Any) -> None:
    exc = refusal(load_pem_private_key, data)
    assert "bytes or str" in str(exc)


def test_too_large_input_is_refused_before_parsing() -> None:
    valid = pem(_key("P-256"))
    huge = valid + b"#" * (64 * 1024)
    exc = refusal(load_pem_private_key, huge)
    assert "larger than" in str(exc)
    assert_secret_free(exc, *pem_body_lines(valid))
    refusal(load_pem_private_key, "A" * (64 * 1024 + 1))
    # Right at the cap is fine (size is not the problem there).
    at_cap = valid + b" " * (64 * 1024 - len(valid))
    assert same_key(load_pem_private_key(at_cap), _key("P-256"))


def test_rsa_1024_is_refused() -> None:
    small = rsa_1024()
    data = pem(small)
    exc = refusal(load_pem_private_key, data)
    assert "1024 bits" in str(exc)
    assert "2048" in str(exc)
    assert_secret_free(exc, *pem_body_lines(data))
    exc = refusal(load_pem_private_key, pem(small, TRADITIONAL, password=PASSWORD), PASSWORD)
    assert_secret_free(exc, PASSWORD)


def test_secp256k1_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    for data in (pem(key), pem(key, TRADITIONAL)):
        exc = refusal(load_pem_private_key, data)
        assert "secp256k1" in str(exc)
        assert_secret_free(exc, *pem_body_lines(data))


@pytest.mark.parametrize(
    "make",
    [ed448.Ed448PrivateKey.generate, x25519.X25519PrivateKey.generate],
    ids=["Ed448", "X25519"],
)
def test_other_key_types_are_refused(make: Any) -> None:
    key = make()
    data = pem(key)
    exc = refusal(load_pem_private_key, data)
    assert "unsupported private key type" in str(exc)
    assert_secret_free(exc, *pem_body_lines(data))
    # Encrypted: the password is right, the key type still wrong.
    exc = refusal(load_pem_private_key, pem(key, password=PASSWORD), PASSWORD)
    assert_secret_free(exc, PASSWORD)


def test_dsa_keys_are_refused_without_a_warning_escaping() -> None:
    # pytest turns warnings into errors here: a DeprecationWarning from cryptography about DSA
    # (51.0 and newer) would escape as an exception that is not a ConfigurationError.
    for data, password in ((DSA_PKCS8_PEM, None), (DSA_ENCRYPTED_PEM, PASSWORD)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exc = refusal(load_pem_private_key, data, password)
        assert "DSA" in str(exc) or "unsupported" in str(exc)
        assert_secret_free(exc, *pem_body_lines(data))
        if password:
            assert_secret_free(exc, password)


def test_traditional_dsa_block_is_not_a_private_key_block() -> None:
    assert DSA_TRADITIONAL_PEM.startswith(b"-----BEGIN DSA PRIVATE KEY-----")
    exc = refusal(load_pem_private_key, DSA_TRADITIONAL_PEM)
    assert "no PEM private key block" in str(exc)


def test_key_on_a_curve_cryptography_does_not_know_is_a_configuration_error() -> None:
    # cryptography raises UnsupportedAlgorithm (not a ValueError) for this one.
    exc = refusal(load_pem_private_key, SM2_PEM)
    assert_secret_free(exc, *pem_body_lines(SM2_PEM))


def test_openssh_key_is_refused() -> None:
    refusal(load_pem_private_key, OPENSSH_PEM)


def test_refusals_are_also_value_errors() -> None:
    # ConfigurationError subclasses ValueError, so `except ValueError` code keeps working.
    with pytest.raises(ValueError, match="no PEM private key block"):
        load_pem_private_key(b"nothing here")


# === check_private_key / algorithms ==============================================================
@pytest.mark.parametrize("name", KEY_NAMES)
def test_check_private_key_returns_supported_keys(name: str) -> None:
    assert check_private_key(_key(name)) is _key(name)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "-----BEGIN PRIVATE KEY-----",
        b"key",
        rsa_private().public_key(),
        all_keys()["ES256"].private.public_key(),
        all_keys()["EdDSA"].private.public_key(),
    ],
    ids=["None", "str", "bytes", "rsa-public", "ec-public", "ed-public"],
)
def test_check_private_key_refuses_non_private_keys(value: object) -> None:
    exc = refusal(check_private_key, value)
    assert "unsupported private key type" in str(exc)


def _rsa_with_exponent(e: int) -> rsa.RSAPrivateKey:
    """An RSA key with a chosen (odd, coprime) public exponent, from the cached key's primes."""
    nums = rsa_private().private_numbers()
    p, q = nums.p, nums.q
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    while math.gcd(e, lam) != 1:
        e += 2
    d = pow(e, -1, lam)
    public = rsa.RSAPublicNumbers(e, p * q)
    return rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), public
    ).private_key()


def test_rsa_exponent_of_more_than_32_bits_is_refused() -> None:
    exc = refusal(check_private_key, _rsa_with_exponent(2**32 + 15))
    assert "exponent" in str(exc)
    assert check_private_key(_rsa_with_exponent(3)).key_size == 2048


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("RSA", ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")),
        ("P-256", ("ES256",)),
        ("P-384", ("ES384",)),
        ("P-521", ("ES512",)),
        ("Ed25519", ("EdDSA", "Ed25519")),
    ],
)
def test_algorithms_for_each_key_type(name: str, expected: tuple[str, ...]) -> None:
    key = _key(name)
    assert algorithms_for(key) == expected
    assert algorithms_for(key.public_key()) == expected
    assert default_alg(key) == expected[0]
    for alg in expected:
        assert check_key_alg(key, alg) == alg
        assert check_key_alg(key.public_key(), alg) == alg


def test_algorithms_for_an_unsupported_curve_is_empty() -> None:
    key = ec.generate_private_key(ec.SECP256K1())
    assert algorithms_for(key) == ()
    exc = refusal(default_alg, key)
    assert "no supported algorithm" in str(exc)


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_check_key_alg_without_a_key_accepts_every_supported_alg(alg: str) -> None:
    assert check_key_alg(None, alg) == alg


@pytest.mark.parametrize(
    ("alg", "words"),
    [
        ("none", "never used"),
        ("None", "never used"),
        ("HS256", "never used"),
        ("hs512", "never used"),
        ("HS1024", "never used"),
        ("RS1", "unsupported algorithm"),
        ("ES256K", "unsupported algorithm"),
        ("Ed448", "unsupported algorithm"),
        ("rs256", "unsupported algorithm"),
        ("", "non-empty string"),
        (None, "non-empty string"),
        (256, "non-empty string"),
        (b"RS256", "non-empty string"),
    ],
)
def test_check_key_alg_refuses_bad_algorithms(alg: Any, words: str) -> None:
    for key in (None, _key("RSA")):
        exc = refusal(check_key_alg, key, alg)
        assert words in str(exc)


@pytest.mark.parametrize(
    ("name", "alg"),
    [
        ("RSA", "ES256"),
        ("RSA", "EdDSA"),
        ("P-384", "ES256"),
        ("P-256", "ES512"),
        ("P-521", "ES384"),
        ("P-256", "RS256"),
        ("Ed25519", "RS256"),
        ("Ed25519", "ES256"),
        ("P-256", "EdDSA"),
    ],
)
def test_check_key_alg_refuses_a_key_alg_mismatch(name: str, alg: str) -> None:
    exc = refusal(check_key_alg, _key(name), alg)
    assert "does not fit" in str(exc)
    assert alg in str(exc)


def test_mismatch_messages_name_the_key() -> None:
    assert "RSA-2048 key" in str(refusal(check_key_alg, _key("RSA"), "ES256"))
    assert "EC P-384 key" in str(refusal(check_key_alg, _key("P-384"), "ES256"))
    assert "Ed25519 key" in str(refusal(check_key_alg, _key("Ed25519"), "RS256"))


# === Private JWK: what loads =====================================================================
@pytest.mark.parametrize("name", KEY_NAMES)
def test_private_jwk_loads(name: str) -> None:
    key = _key(name)
    loaded, public = private_key_from_jwk(private_jwk(key, kid="k-1"))
    assert type(loaded) is type(key)
    assert same_key(loaded, key)
    assert public == {**jwk_from_public_key(key.public_key()), "kid": "k-1"}
    parse_jwk(public)  # the public part is a JWK a verifier takes


def test_rsa_private_jwk_with_crt_members_is_the_same_key() -> None:
    loaded, _ = private_key_from_jwk(private_jwk(rsa_private()))
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == rsa_private().private_numbers()


def test_rsa_private_jwk_with_only_n_e_d_recovers_the_primes() -> None:
    jwk = private_jwk(rsa_private(), crt=False)
    assert set(jwk) == {"kty", "n", "e", "d"}
    loaded, _ = private_key_from_jwk(jwk)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    ours, theirs = loaded.private_numbers(), rsa_private().private_numbers()
    assert {ours.p, ours.q} == {theirs.p, theirs.q}
    assert ours.d == theirs.d
    # and it signs what the original key's public half verifies
    data = b"header.payload"
    signature = ALGORITHMS["RS256"].sign(loaded, data)
    assert ALGORITHMS["RS256"].verify(rsa_private().public_key(), signature, data)


def test_public_jwk_keeps_kid_alg_use_and_turns_key_ops_into_verify() -> None:
    jwk = private_jwk(_key("P-256"), kid="ec-1", alg="ES256", use="sig", key_ops=["sign"])
    _, public = private_key_from_jwk(jwk)
    assert public["kid"] == "ec-1"
    assert public["alg"] == "ES256"
    assert public["use"] == "sig"
    assert public["key_ops"] == ["verify"]
    assert not {"d", "p", "q", "dp", "dq", "qi", "oth", "k"} & set(public)


def test_key_ops_with_sign_among_others_is_fine() -> None:
    private_key_from_jwk(private_jwk(_key("Ed25519"), key_ops=["verify", "sign"]))


def test_private_jwk_input_is_not_modified() -> None:
    jwk = private_jwk(_key("RSA"), key_ops=["sign"])
    before = dict(jwk)
    private_key_from_jwk(jwk)
    assert jwk == before


# === Private JWK: what is refused ================================================================
def _d_of(jwk: dict[str, Any]) -> list[str]:
    return [jwk[m] for m in ("d", "p", "q", "dp", "dq", "qi", "k") if isinstance(jwk.get(m), str)]


@pytest.mark.parametrize("name", KEY_NAMES)
def test_public_jwk_is_refused(name: str) -> None:
    exc = refusal(private_key_from_jwk, jwk_from_public_key(_key(name).public_key()))
    assert "no private member 'd'" in str(exc)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"},
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "d": "AAAA"},
    ],
)
def test_symmetric_jwk_is_refused_as_symmetric(jwk: dict[str, Any]) -> None:
    exc = refusal(private_key_from_jwk, jwk)
    assert "oct" in str(exc)
    assert "public key" not in str(exc)
    assert_secret_free(exc, jwk["k"])


@pytest.mark.parametrize("value", [None, "{}", b"{}", ["d"], 5])
def test_private_jwk_must_be_a_mapping(value: Any) -> None:
    assert "JSON object" in str(refusal(private_key_from_jwk, value))


@pytest.mark.parametrize("key_ops", [["verify"], [], "sign", None, ["SIGN"], {"sign": True}])
def test_key_ops_without_sign_is_refused(key_ops: Any) -> None:
    jwk = private_jwk(_key("P-256"), key_ops=key_ops)
    exc = refusal(private_key_from_jwk, jwk)
    assert "key_ops" in str(exc)
    assert_secret_free(exc, *_d_of(jwk))


@pytest.mark.parametrize("use", ["enc", "", None])
def test_use_other_than_sig_is_refused(use: Any) -> None:
    jwk = private_jwk(_key("P-256"), use=use)
    exc = refusal(private_key_from_jwk, jwk)
    assert "unusable JWK" in str(exc)
    assert_secret_free(exc, *_d_of(jwk))


def test_rsa_crt_members_must_be_all_or_none() -> None:
    jwk = private_jwk(rsa_private())
    for missing in ("p", "q", "dp", "dq", "qi"):
        partial = {k: v for k, v in jwk.items() if k != missing}
        exc = refusal(private_key_from_jwk, partial)
        assert "p, q, dp, dq, qi" in str(exc)
        assert_secret_free(exc, *_d_of(partial))


def test_rsa_multi_prime_is_refused() -> None:
    jwk = private_jwk(rsa_private(), oth=[{"r": "AQ", "d": "AQ", "t": "AQ"}])
    assert "oth" in str(refusal(private_key_from_jwk, jwk))


def test_rsa_private_exponent_of_another_key_is_refused() -> None:
    other = _rsa_with_exponent(3)  # same primes, other exponent: a d that does not fit e=65537
    jwk = {**private_jwk(rsa_private(), crt=False), "d": private_jwk(other)["d"]}
    exc = refusal(private_key_from_jwk, jwk)
    assert "does not match" in str(exc)
    assert_secret_free(exc, *_d_of(jwk))


def test_rsa_private_jwk_of_another_modulus_is_refused() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mine, theirs = private_jwk(rsa_private()), private_jwk(other)
    for members in (("d",), ("d", "p", "q", "dp", "dq", "qi")):
        mixed = {**mine, **{m: theirs[m] for m in members}}
        if members == ("d",):
            mixed = {k: v for k, v in mixed.items() if k not in ("p", "q", "dp", "dq", "qi")}
        exc = refusal(private_key_from_jwk, mixed)
        assert_secret_free(exc, *_d_of(mixed))


def test_rsa_crt_member_that_is_wrong_is_refused() -> None:
    jwk = private_jwk(rsa_private())
    jwk["dp"] = _b64int(rsa_private().private_numbers().dmp1 + 2)
    exc = refusal(private_key_from_jwk, jwk)
    assert "inconsistent" in str(exc)
    assert_secret_free(exc, *_d_of(jwk))


@pytest.mark.parametrize("name", ["P-256", "P-384", "P-521", "Ed25519"])
def test_curve_private_part_of_another_key_is_refused(name: str) -> None:
    key = _key(name)
    other = (
        ed25519.Ed25519PrivateKey.generate()
        if name == "Ed25519"
        else ec.generate_private_key(key.curve)  # type: ignore[union-attr]
    )
    jwk = {**private_jwk(key), "d": private_jwk(other)["d"]}
    exc = refusal(private_key_from_jwk, jwk)
    assert "does not belong" in str(exc)
    assert_secret_free(exc, jwk["d"])


@pytest.mark.parametrize(
    "d",
    [
        _b64int(0, 32),
        _b64int(2**256 - 1, 32),  # above the P-256 group order
        "",
        "not base64!",
        "AAAA====",
        5,
        None,
    ],
)
def test_ec_private_scalar_out_of_range_or_malformed_is_refused(d: Any) -> None:
    jwk = {**private_jwk(_key("P-256")), "d": d}
    exc = refusal(private_key_from_jwk, jwk)
    if isinstance(d, str) and d:
        assert_secret_free(exc, d)


@pytest.mark.parametrize(
    "d", [b64url_encode(b"\x01" * 31), b64url_encode(b"\x01" * 33), "", "!", 7]
)
def test_ed25519_private_member_must_be_32_octets(d: Any) -> None:
    jwk = {**private_jwk(_key("Ed25519")), "d": d}
    assert "32 octets" in str(refusal(private_key_from_jwk, jwk))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi"])
@pytest.mark.parametrize("value", [None, 12345, "", "%%%"])
def test_malformed_rsa_members_are_refused(member: str, value: Any) -> None:
    jwk = {**private_jwk(rsa_private()), member: value}
    exc = refusal(private_key_from_jwk, jwk)
    assert repr(member) in str(exc)


def test_rsa_1024_private_jwk_is_refused() -> None:
    small = rsa_1024()
    jwk = private_jwk(small)
    exc = refusal(private_key_from_jwk, jwk)
    assert "1024 bits" in str(exc)
    assert_secret_free(exc, *_d_of(jwk))


def test_ed448_and_unsupported_curves_are_refused() -> None:
    ed448_key = ed448.Ed448PrivateKey.generate()
    raw = ed448_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = ed448_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    okp = {"kty": "OKP", "crv": "Ed448", "x": b64url_encode(public), "d": b64url_encode(raw)}
    exc = refusal(private_key_from_jwk, okp)
    assert "Ed448" in str(exc)
    assert_secret_free(exc, okp["d"])
    k1 = ec.generate_private_key(ec.SECP256K1())
    nums = k1.private_numbers()
    ec_jwk = {
        "kty": "EC",
        "crv": "secp256k1",
        "x": _b64int(nums.public_numbers.x, 32),
        "y": _b64int(nums.public_numbers.y, 32),
        "d": _b64int(nums.private_value, 32),
    }
    exc = refusal(private_key_from_jwk, ec_jwk)
    assert "secp256k1" in str(exc)
    assert_secret_free(exc, ec_jwk["d"])


@pytest.mark.parametrize("alg", ["ES256", "RS256", "none", "HS256", "bogus"])
def test_jwk_alg_that_does_not_fit_the_key_is_refused(alg: str) -> None:
    jwk = private_jwk(_key("P-384"), alg=alg)
    exc = refusal(private_key_from_jwk, jwk)
    assert_secret_free(exc, *_d_of(jwk))


@pytest.mark.parametrize("kty", ["RSA-PSS", "", None, 5])
def test_unknown_kty_is_refused(kty: Any) -> None:
    refusal(private_key_from_jwk, {"kty": kty, "d": "AQAB"})


def test_every_failure_is_a_jwt_error() -> None:
    # A grab bag of hostile inputs: nothing but ConfigurationError may come out.
    base = private_jwk(rsa_private())
    for jwk in (
        {**base, "n": 5},
        {**base, "e": "AAAAAAAB"},
        {**base, "kid": 7},
        {**base, "d": "A" * 5000},
        {"kty": "EC", "crv": "P-256", "d": "AQ"},
        {"kty": "OKP", "d": "AQ"},
        {"d": "AQ"},
    ):
        with pytest.raises(JwtError):
            private_key_from_jwk(jwk)
