"""The pure parts of the ALB verifier: ARNs, the key endpoint, token parsing, PEM keys, config.

`AlbVerifier` is imported from `cognito_jwt._alb` until `cognito_jwt` exports it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from cognito_jwt import (
    ClaimError,
    ConfigurationError,
    InvalidJwksError,
    MalformedTokenError,
    TokenLimits,
    UnsupportedCriticalHeaderError,
)
from cognito_jwt._alb import (
    MAX_PEM_BYTES,
    AlbVerifier,
    alb_public_key_url,
    is_alb_kid,
    parse_alb_arn,
    parse_alb_token,
    pem_document,
)
from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt.adapters.alb import AlbIdentity, authenticate
from cognito_jwt.adapters.asgi import BearerAuthMiddleware as AsgiMiddleware
from cognito_jwt.adapters.wsgi import BearerAuthMiddleware as WsgiMiddleware

from ..helpers import rsa_private

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188"
GOV_ARN = (
    "arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/gov/0123abcd"
)
CN_ARN = "arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/cn/0123abcd"
KID = "e38c2a2d-bf84-4c42-ba20-ad9eedfa9a47"
P256 = ec.generate_private_key(ec.SECP256R1())


def pem(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def padded(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def token(header: dict[str, Any], payload: dict[str, Any], *, pad: bool = True) -> str:
    """A token signed the way ALB signs: over the segments as sent."""
    enc = padded if pad else (lambda d: padded(d).rstrip("="))
    data = f"{enc(json.dumps(header).encode())}.{enc(json.dumps(payload).encode())}"
    return f"{data}.{enc(ALGORITHMS['ES256'].sign(P256, data.encode()))}"


HEADER = {"alg": "ES256", "kid": KID, "signer": ARN, "client": "c", "iss": "i", "exp": 1}


# --- ARNs and the key endpoint -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("arn", "partition", "region", "url"),
    [
        (ARN, "aws", "eu-west-1", "https://public-keys.auth.elb.eu-west-1.amazonaws.com"),
        (
            GOV_ARN,
            "aws-us-gov",
            "us-gov-west-1",
            "https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1",
        ),
        (
            GOV_ARN.replace("us-gov-west-1", "us-gov-east-1"),
            "aws-us-gov",
            "us-gov-east-1",
            "https://s3-us-gov-east-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-east-1",
        ),
        (
            CN_ARN,
            "aws-cn",
            "cn-north-1",
            "https://public-keys.auth.elb.cn-north-1.amazonaws.com.cn",
        ),
    ],
)
def test_arns_choose_the_key_endpoint(arn: str, partition: str, region: str, url: str) -> None:
    assert parse_alb_arn(arn) == (partition, region)
    assert alb_public_key_url(partition, region) == url
    verifier = AlbVerifier(alb_arn=arn, issuer=None, client_id=None, store=None)
    assert verifier.public_key_url == url
    assert (verifier.partition, verifier.region) == (partition, region)


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/nlb/50dc6c495c0c9188",
        "arn:aws:elasticloadbalancing:eu-west-1:12345:loadbalancer/app/my-alb/50dc6c495c0c9188",
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/50dc6c495c0c9188",
        "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC",
        "arn:aws:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/a/0123",
        "arn:aws-us-gov:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/0123",
        "arn:aws-cn:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/a/0123",
        "arn:aws-iso:elasticloadbalancing:us-iso-east-1:123456789012:loadbalancer/app/a/0123",
        ARN + "/extra",
        ARN.replace("eu-west-1", "EU-WEST-1"),
        ARN.replace("my-alb", "-bad-"),
    ],
)
def test_other_arns_are_configuration_errors(arn: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_alb_arn(arn)
    with pytest.raises(ConfigurationError):
        AlbVerifier(alb_arn=arn, issuer=None, client_id=None, store=None)


def test_several_arns_share_one_region() -> None:
    other = ARN.replace("my-alb", "other")
    verifier = AlbVerifier(alb_arn=[ARN, other], issuer=None, client_id=None, store=None)
    assert verifier.alb_arns == {ARN, other}
    with pytest.raises(ConfigurationError, match="same region"):
        AlbVerifier(
            alb_arn=[ARN, ARN.replace("eu-west-1", "us-east-1")],
            issuer=None,
            client_id=None,
            store=None,
        )


@pytest.mark.parametrize(
    "options",
    [
        {"alb_arn": None},
        {"alb_arn": []},
        {"alb_arn": 3},
        {"issuer": ""},
        {"client_id": [""]},
        {"public_key_url": "http://keys.example.com"},
        {"public_key_url": "ftp://127.0.0.1/keys"},
        {"public_key_url": "https://keys.example.com/k?x=1"},
        {"public_key_url": "https://keys.example.com/k#f"},
        {"max_cached_keys": 0},
        {"max_cached_keys": True},
        {"leeway": -1},
        {"fetch": "fast"},
        {"refresh": {"cooldown": 1}},
    ],
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"alb_arn": ARN, "issuer": None, "client_id": None, "store": None}
    with pytest.raises(ConfigurationError):
        AlbVerifier(**{**settings, **options})


def test_issuer_and_client_id_must_be_written_out() -> None:
    with pytest.raises(TypeError):
        AlbVerifier(alb_arn=ARN, issuer=None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        AlbVerifier(alb_arn=ARN, client_id=None)  # type: ignore[call-arg]


def test_public_key_url_may_be_loopback_http_or_any_https() -> None:
    for url in ("http://127.0.0.1:8080/keys/", "http://localhost:1", "https://proxy.example/k"):
        verifier = AlbVerifier(
            alb_arn=ARN, issuer=None, client_id=None, store=None, public_key_url=url
        )
        assert verifier.public_key_url == url


@pytest.mark.parametrize(
    ("kid", "ok"),
    [
        (KID, True),
        (KID.upper(), True),
        ("12345678-1234-1234-1234-123456789012", True),
        ("", False),
        (KID + "\n", False),
        (KID[:-1], False),
        ("../../../../etc/passwd", False),
        ("e38c2a2d/bf84-4c42-ba20-ad9eedfa9a47", False),
        ("e38c2a2d-bf84-4c42-ba20-ad9eedfa9a4%", False),
        ("%2e%2e-bf84-4c42-ba20-ad9eedfa9a47", False),
        ("e38c2a2d-bf84-4c42-ba20-ad9eedfa9a4g", False),
        ("٣8c2a2d-bf84-4c42-ba20-ad9eedfa9a47", False),  # a non-ASCII digit
        (12345678, False),
        (None, False),
    ],
)
def test_kid_shape(kid: object, ok: bool) -> None:
    assert is_alb_kid(kid) is ok


# --- Parsing the padded tokens ALB sends ---------------------------------------------------------
def test_the_signing_input_is_the_token_as_sent() -> None:
    sent = token(HEADER, {"sub": "alice"})
    assert "=" in sent  # this header/payload pair needs padding
    parsed = parse_alb_token(sent)
    header_b64, payload_b64, _ = sent.split(".")
    assert parsed.signing_input == f"{header_b64}.{payload_b64}".encode()
    assert parsed.header["signer"] == ARN
    assert parsed.kid == KID
    assert len(parsed.signature) == 64
    assert parsed.payload_b64 == payload_b64.rstrip("=").encode()
    assert parse_alb_token(sent.encode()).signing_input == parsed.signing_input


def test_unpadded_tokens_parse_as_usual() -> None:
    sent = token(HEADER, {"sub": "alice"}, pad=False)
    assert "=" not in sent
    assert parse_alb_token(sent).signing_input == sent.rsplit(".", 1)[0].encode()


def _with_segment(sent: str, index: int, value: str) -> str:
    parts = sent.split(".")
    parts[index] = value
    return ".".join(parts)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: _with_segment(t, 0, t.split(".")[0] + "="),  # one '=' too many
        lambda t: _with_segment(t, 2, t.split(".")[2].rstrip("=") + "="),  # one too few
        lambda t: _with_segment(t, 2, t.split(".")[2] + "=="),
        lambda t: _with_segment(t, 1, "e30" + "=="),  # '{}' needs one '=', not two
        lambda t: _with_segment(t, 1, "e3=0"),  # padding inside
        lambda t: _with_segment(t, 1, "=" * 4),
        lambda t: _with_segment(t, 2, "=="),
        lambda t: _with_segment(t, 1, "e30+"),  # the standard alphabet
        lambda t: _with_segment(t, 1, "e3/="),
        lambda t: t + ".",
        lambda t: t.replace(".", "..", 1),
        lambda t: " " + t,
        lambda t: t + "\n",
        # non-zero unused bits: not canonical (the payload is only decoded once verified)
        lambda t: _with_segment(t, 2, t.split(".")[2].rstrip("=")[:-1] + "B=="),
    ],
)
def test_anything_looser_than_alb_or_rfc_7515_is_malformed(mangle: Any) -> None:
    with pytest.raises(MalformedTokenError):
        parse_alb_token(mangle(token(HEADER, {"sub": "alice"})))


def test_header_rules_and_size_caps_still_apply() -> None:
    with pytest.raises(UnsupportedCriticalHeaderError):
        parse_alb_token(token({**HEADER, "crit": ["exp"]}, {}))
    big = token(HEADER, {"sub": "x" * 5000})
    with pytest.raises(MalformedTokenError, match="above the limit"):
        parse_alb_token(big, TokenLimits(max_token_length=4096))
    with pytest.raises(MalformedTokenError):
        parse_alb_token(token({**HEADER, "alg": 5}, {}))
    with pytest.raises(MalformedTokenError):
        parse_alb_token(3)
    with pytest.raises(MalformedTokenError):
        parse_alb_token("é.é=.é")


# --- Keys from PEM -------------------------------------------------------------------------------
def test_a_p256_pem_becomes_a_pinned_jwk() -> None:
    document = pem_document(KID, pem(P256), "https://keys/x")
    (jwk,) = document["keys"]
    assert jwk["kid"] == KID
    assert jwk["alg"] == "ES256"
    assert jwk["crv"] == "P-256"
    assert "d" not in jwk


@pytest.mark.parametrize(
    "body",
    [
        pem(ec.generate_private_key(ec.SECP384R1())),
        pem(ec.generate_private_key(ec.SECP256K1())),
        pem(rsa_private()),
        pem(ed25519.Ed25519PrivateKey.generate()),
        pem(P256) + pem(P256),
        b"",
        b"not a key",
        b'{"keys": []}',
        pem(P256).replace(b"PUBLIC KEY", b"CERTIFICATE"),
        pem(P256)[:-40] + b"\n-----END PUBLIC KEY-----\n",
        pem(P256) + b" " * MAX_PEM_BYTES,
        P256.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    ],
)
def test_anything_else_from_the_key_endpoint_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidJwksError):
        pem_document(KID, body, "https://keys/x")


# A DSA public key (openssl pkey -pubout): cryptography 51 warns on loading it, and that warning
# must not escape in place of the InvalidJwksError (the tests turn warnings into errors).
DSA_PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIIBvzCCATMGByqGSM44BAEwggEmAoGBAKotHB99EkSfx1e7IU9mSp4mNfjTfxwn
/YTkCGCGFJEtnM9PYTZnfSpHyCXGZIZzhRuCW1N1kIxuNfehYG4MX28MKnGULmSC
cev8xxBImjiiSoXjnrTWxOAe+vD6JzqUPVz7NSAtr1aw/SBOENU3zMX9dQFc8I/W
icnq+fpDyeq9Ah0Atd7XLjtwd7EhPanfZBJQaUSaBhtIFFaqTIu9+QKBgFdMpKWg
dMinckTH609mWv6363eBFv93G5y6dYjePIT0F9vKwY2z8OkNo6qqdtexQt+TiAQV
AuMPEytdBNeSRolsaB9eTpqdwzJYO4sLVPSeIOWFumBCkG4/wKAF3IRDVFCcoY13
bmYoiYOtXq9BhVftctk9iH1zalheApqyT304A4GFAAKBgQCDtruIi3t4TNB4955T
0wv66PX2Raotwnjyh6bkTn14P9OzCpKMnv0x/m6ccHLUvoqaMbo+FKZLpo5sfkHD
d5dkxLZ8IEHv//0C4Rx0KY6c5275L03P1SeRtWgE/m/TSAqVx1LAv8blRLRrE822
+RhFG4vfhVmc8bTUadCTHXJz2g==
-----END PUBLIC KEY-----
"""


def test_a_dsa_key_from_the_key_endpoint_is_refused_without_a_warning() -> None:
    with pytest.raises(InvalidJwksError, match="not an EC P-256 key"):
        pem_document(KID, DSA_PUBLIC_PEM, "https://keys/x")


# --- The shared pieces of the web adapters -------------------------------------------------------
def _app(*args: Any) -> None:  # pragma: no cover - never called
    return None


@pytest.mark.parametrize("middleware", [WsgiMiddleware, AsgiMiddleware])
def test_alb_mode_takes_only_the_alb_header(middleware: Any) -> None:
    verifier = AlbVerifier(alb_arn=ARN, issuer=None, client_id=None, store=None)
    with pytest.raises(ValueError, match="token_source"):
        middleware(_app, verifier, token_source="cookie")
    with pytest.raises(ValueError, match="x-amzn-oidc-data only"):
        middleware(_app, verifier, token_source="alb", cookie="session")
    with pytest.raises(ValueError, match="x-amzn-oidc-data only"):
        middleware(_app, verifier, token_source="alb", header="x-token")


class _Verifier:
    """Accepts one token and says its sub is alice."""

    def verify(self, token: str | bytes) -> Any:
        from cognito_jwt import Claims

        assert token == "the-token"
        return Claims({"sub": "alice"})


def test_authenticate_pairs_the_verified_claims_with_the_unsigned_headers() -> None:
    headers = {
        "X-Amzn-Oidc-Data": "the-token",
        "x-amzn-oidc-identity": "alice",
        "X-AMZN-OIDC-ACCESSTOKEN": "at",
    }
    user = authenticate(_Verifier(), headers)
    assert isinstance(user, AlbIdentity)
    assert (user.identity, user.access_token, user.claims.sub) == ("alice", "at", "alice")
    only_data = authenticate(_Verifier(), [("x-amzn-oidc-data", "the-token")])
    assert only_data is not None
    assert (only_data.identity, only_data.access_token) == (None, None)
    assert authenticate(_Verifier(), {"x-amzn-oidc-identity": "alice"}) is None


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ([("x-amzn-oidc-data", "the-token"), ("x-amzn-oidc-identity", "mallory")], ClaimError),
        ([("x-amzn-oidc-data", "the-token")] * 2, MalformedTokenError),
        ([("x-amzn-oidc-data", "the-token other")], MalformedTokenError),
        ([("x-amzn-oidc-data", "the-token,other")], MalformedTokenError),
        (
            [("x-amzn-oidc-data", "the-token")] + [("x-amzn-oidc-accesstoken", "a")] * 2,
            MalformedTokenError,
        ),
    ],
)
def test_authenticate_refuses_inconsistent_headers(
    headers: list[tuple[str, str]], error: type[Exception]
) -> None:
    with pytest.raises(error):
        authenticate(_Verifier(), headers)


# --- kid is required (hardening 2.11) ------------------------------------------------------------
@pytest.mark.parametrize("header", [{"alg": "ES256"}, {"alg": "ES256", "kid": None}])
def test_a_token_without_kid_is_malformed_before_any_lookup(header: dict[str, Any]) -> None:
    verifier = AlbVerifier(
        alb_arn=ARN, issuer=None, client_id=None, store=None, public_key_url="http://127.0.0.1:9"
    )
    claims = {"sub": "u", "exp": 2**31}
    with pytest.raises(MalformedTokenError, match="'kid'"):
        verifier.verify(
            token(
                {**HEADER, **header}
                if "kid" in header
                else {k: v for k, v in HEADER.items() if k != "kid"},
                claims,
            )
        )
    assert verifier.stats.fetches == 0


@pytest.mark.parametrize(
    ("header", "claim"),
    [({"signer": ARN.replace("my-alb", "evil")}, "signer"), ({"client": "other"}, "client")],
)
def test_signer_and_client_errors_name_the_member(header: dict[str, Any], claim: str) -> None:
    verifier = AlbVerifier(
        alb_arn=ARN, issuer=None, client_id="c", store=None, public_key_url="http://127.0.0.1:9"
    )
    with pytest.raises(ClaimError) as info:
        verifier.verify(token({**HEADER, **header}, {"sub": "u", "exp": 2**31}))
    assert info.value.claim == claim
    assert info.value.found == repr(header[claim])
    assert verifier.stats.fetches == 0
