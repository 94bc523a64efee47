"""``CognitoVerifier`` and the pool-id / issuer helpers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cognito_jwt import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    Claims,
    CognitoVerifier,
    ConfigurationError,
    CustomCheckError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyNotFoundError,
    KeySet,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    TokenUseMismatchError,
)
from cognito_jwt._cognito import cognito_issuer, parse_user_pool_id
from tests.helpers import (
    CLIENT_ID,
    FIXED_NOW,
    ISSUER,
    POOL_ID,
    access_claims,
    id_claims,
    jwks_of,
)

REGION_ISSUERS = [
    ("eu-west-1_AbCdEf123", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"),
    ("us-east-1_abc", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"),
    ("ap-southeast-2_X", "https://cognito-idp.ap-southeast-2.amazonaws.com/ap-southeast-2_X"),
    ("us-gov-west-1_abc", "https://cognito-idp.us-gov-west-1.amazonaws.com/us-gov-west-1_abc"),
    ("cn-north-1_abc", "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc"),
    (
        "cn-northwest-1_abc",
        "https://cognito-idp.cn-northwest-1.amazonaws.com.cn/cn-northwest-1_abc",
    ),
    ("eusc-de-east-1_abc", "https://cognito-idp.eusc-de-east-1.amazonaws.eu/eusc-de-east-1_abc"),
    ("us-iso-east-1_abc", "https://cognito-idp.us-iso-east-1.c2s.ic.gov/us-iso-east-1_abc"),
    ("us-isob-east-1_abc", "https://cognito-idp.us-isob-east-1.sc2s.sgov.gov/us-isob-east-1_abc"),
    ("eu-isoe-west-1_abc", "https://cognito-idp.eu-isoe-west-1.cloud.adc-e.uk/eu-isoe-west-1_abc"),
    (
        "us-isof-south-1_abc",
        "https://cognito-idp.us-isof-south-1.csp.hci.ic.gov/us-isof-south-1_abc",
    ),
]

BAD_POOL_IDS = [
    "",
    "eu-west-1",
    "_abc",
    "EU-WEST-1_abc",
    "eu-west-1_",
    "eu-west-1_abc!",
    "eu-west-1_abc def",
    "eu-west-1_ab-c",
    " eu-west-1_abc",
    "eu-west-1_abc\n",
    "eu-west_abc",
    "euwest1_abc",
    "eu-west-1__abc",
    "eu-west-1_" + "a" * 33,
    "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc",
    None,
    123,
    b"eu-west-1_abc",
]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# === Pool id and issuer =========================================================================
@pytest.mark.parametrize(("pool_id", "issuer"), REGION_ISSUERS)
def test_cognito_issuer(pool_id, issuer):
    assert cognito_issuer(pool_id) == issuer


@pytest.mark.parametrize(("pool_id", "issuer"), REGION_ISSUERS)
def test_issuer_property(pool_id, issuer, jwks):
    verifier = CognitoVerifier(user_pool_id=pool_id, client_id=None, token_use=None, jwks=jwks)
    assert verifier.issuer == issuer
    # Both issuer formats where AWS documents the updated host (the commercial partition).
    region = pool_id.split("_")[0]
    updated = f"https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}"
    commercial = not region.startswith(("us-gov-", "us-iso", "eu-isoe-", "eusc-", "cn-"))
    assert verifier.issuers == frozenset({issuer, updated} if commercial else {issuer})
    assert verifier.user_pool_id == pool_id
    original_only = CognitoVerifier(
        user_pool_id=pool_id, client_id=None, token_use=None, jwks=jwks, issuer_format="original"
    )
    assert original_only.issuers == frozenset({issuer})


@pytest.mark.parametrize(("pool_id", "issuer"), REGION_ISSUERS)
def test_parse_user_pool_id_returns_region(pool_id, issuer):
    region = pool_id.split("_")[0]
    assert parse_user_pool_id(pool_id) == region
    assert f"cognito-idp.{region}." in issuer


@pytest.mark.parametrize(("pool_id", "issuer"), REGION_ISSUERS[3:])
def test_tokens_of_other_partitions_verify(pool_id, issuer, keys, make_cognito):
    verifier = make_cognito(user_pool_id=pool_id)
    assert verifier.verify(keys["RS256"].sign(access_claims(iss=issuer))).issuer == issuer
    with pytest.raises(IssuerMismatchError):
        verifier.verify(keys["RS256"].sign(access_claims()))


def test_helper_issuer_matches():
    assert cognito_issuer(POOL_ID) == ISSUER


@pytest.mark.parametrize("pool_id", BAD_POOL_IDS, ids=repr)
def test_malformed_pool_ids_in_helpers(pool_id):
    with pytest.raises(ConfigurationError, match="user_pool_id"):
        parse_user_pool_id(pool_id)
    with pytest.raises(ConfigurationError, match="user_pool_id"):
        cognito_issuer(pool_id)


@pytest.mark.parametrize("pool_id", BAD_POOL_IDS, ids=repr)
def test_malformed_pool_ids_in_constructor(pool_id, make_cognito):
    with pytest.raises(ConfigurationError) as excinfo:
        make_cognito(user_pool_id=pool_id)
    assert isinstance(excinfo.value, ValueError)
    assert "eu-west-1_AbCdEf123" in str(excinfo.value)  # the message shows the expected form


# === Construction ===============================================================================
@pytest.mark.parametrize("omitted", ["user_pool_id", "client_id", "token_use"])
def test_required_keywords(omitted, jwks):
    options: dict[str, Any] = {
        "user_pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "jwks": jwks,
    }
    del options[omitted]
    with pytest.raises(TypeError, match=omitted):
        CognitoVerifier(**options)


def test_arguments_are_keyword_only(jwks):
    with pytest.raises(TypeError):
        CognitoVerifier(POOL_ID, CLIENT_ID, "access", jwks=jwks)  # type: ignore[misc]


@pytest.mark.parametrize(
    "token_use", ["refresh", "ID", "Access", "", "id ", "both", 1, True, ["id"]], ids=repr
)
def test_invalid_token_use(token_use, make_cognito):
    with pytest.raises(ConfigurationError, match="token_use"):
        make_cognito(token_use=token_use)


def test_without_jwks_keys_come_from_the_pool_well_known_uri(jwks):
    # No network at construction: the key source only knows where to fetch from.
    verifier = CognitoVerifier(
        user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", store=None
    )
    assert {issuer: state.url for issuer, state in verifier.key_state.items()} == {
        issuer: f"{issuer}/.well-known/jwks.json" for issuer in verifier.issuers
    }
    # each issuer's key source is made on first use: nothing is held yet
    assert all(not state.kids and state.source is None for state in verifier.key_state.values())
    assert verifier.stats.fetches == 0


@pytest.mark.parametrize("jwks", [{}, {"keys": []}, "nope", 1], ids=repr)
def test_invalid_jwks(jwks):
    with pytest.raises(InvalidJwksError):
        CognitoVerifier(user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", jwks=jwks)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("client_id", ""),
        ("client_id", []),
        ("client_id", [CLIENT_ID, 1]),
        ("client_id", b"abc"),
        ("groups", ""),
        ("groups", []),
        ("groups", [None]),
        ("scopes", ""),
        ("scopes", ()),
        ("algorithms", "RS256"),
        ("algorithms", ["HS256"]),
        ("algorithms", []),
        ("leeway", -1),
        ("leeway", float("nan")),
        ("leeway", True),
        ("clock", "now"),
        ("custom_check", 3),
        ("required_claims", [""]),
        ("limits", 1024),
    ],
    ids=repr,
)
def test_configuration_errors(option, value, make_cognito):
    with pytest.raises(ConfigurationError):
        make_cognito(**{option: value})


def test_default_algorithms_is_rs256_only(make_cognito):
    assert make_cognito().algorithms == frozenset({"RS256"})


# === Algorithms =================================================================================
@pytest.mark.parametrize("alg", ["ES256", "PS256", "RS384", "EdDSA"])
def test_other_algorithms_rejected_by_default(alg, keys, make_cognito):
    token = keys[alg].sign(access_claims())  # correct iss and client: only the alg is wrong
    with pytest.raises(AlgorithmNotAllowedError) as excinfo:
        make_cognito().verify(token)
    assert "allowed: RS256" in str(excinfo.value)
    assert excinfo.value.unverified_header == {"alg": alg, "kid": keys[alg].kid}


def test_algorithms_can_be_widened(keys, make_cognito):
    verifier = make_cognito(algorithms=["RS256", "ES256"])
    assert verifier.verify(keys["ES256"].sign(access_claims())).header["alg"] == "ES256"
    assert verifier.verify(keys["RS256"].sign(access_claims())).header["alg"] == "RS256"


# === Access tokens ==============================================================================
def test_access_token(keys, make_cognito):
    claims = make_cognito().verify(keys["RS256"].sign(access_claims()))
    assert type(claims) is Claims
    assert claims.to_dict() == access_claims()
    assert claims.token_use == "access"
    assert claims.client_id == CLIENT_ID
    assert claims.username == "alice"
    assert claims.groups == ("admins", "staff")


@pytest.mark.parametrize(
    ("client_id", "ok"),
    [
        ("other-client", False),
        (CLIENT_ID.upper(), False),
        (CLIENT_ID + " ", False),
        ("", False),
        (CLIENT_ID, True),
    ],
)
def test_access_token_client_id_checked(client_id, ok, keys, make_cognito):
    token = keys["RS256"].sign(access_claims(client_id=client_id))
    if ok:
        assert make_cognito().verify(token).client_id == CLIENT_ID
    else:
        with pytest.raises(AudienceMismatchError, match="access token is for client"):
            make_cognito().verify(token)


@pytest.mark.parametrize("value", [None, 5, [CLIENT_ID], {"id": CLIENT_ID}], ids=repr)
def test_access_token_client_id_missing_or_wrong_type(value, keys, make_cognito):
    payload = {**access_claims(), "client_id": value}
    if value is None:
        del payload["client_id"]
    with pytest.raises(AudienceMismatchError, match="'client_id' is missing or not a string"):
        make_cognito().verify(keys["RS256"].sign(payload))


def test_access_token_aud_does_not_stand_in_for_client_id(keys, make_cognito):
    payload = {k: v for k, v in access_claims(aud=CLIENT_ID).items() if k != "client_id"}
    with pytest.raises(AudienceMismatchError):
        make_cognito().verify(keys["RS256"].sign(payload))


def test_access_token_ignores_aud_value(keys, make_cognito):
    # Access tokens name the client in client_id; an unrelated aud does not matter.
    claims = make_cognito().verify(keys["RS256"].sign(access_claims(aud="something-else")))
    assert claims.client_id == CLIENT_ID


def test_long_client_id_is_truncated_in_message(keys, make_cognito):
    with pytest.raises(AudienceMismatchError) as excinfo:
        make_cognito().verify(keys["RS256"].sign(access_claims(client_id="c" * 5000)))
    assert len(str(excinfo.value)) < 200


# === ID tokens ==================================================================================
def test_id_token(keys, make_cognito):
    claims = make_cognito(token_use="id").verify(keys["RS256"].sign(id_claims()))
    assert claims.to_dict() == id_claims()
    assert claims.audience == (CLIENT_ID,)
    assert claims["email"] == "alice@example.com"
    assert claims.username == "alice"


@pytest.mark.parametrize(
    ("client_id", "aud", "ok"),
    [
        (CLIENT_ID, CLIENT_ID, True),
        (CLIENT_ID, "other", False),
        (CLIENT_ID, CLIENT_ID.upper(), False),
        (["a", CLIENT_ID], CLIENT_ID, True),
        (["a", "b"], "b", True),
        (["a", "b"], CLIENT_ID, False),
    ],
)
def test_id_token_aud_checked(client_id, aud, ok, keys, make_cognito):
    verifier = make_cognito(token_use="id", client_id=client_id)
    token = keys["RS256"].sign(id_claims(aud=aud))
    if ok:
        assert verifier.verify(token).audience == (aud,)
    else:
        with pytest.raises(AudienceMismatchError, match="id token is for client"):
            verifier.verify(token)


@pytest.mark.parametrize("aud", [None, [CLIENT_ID], 7], ids=repr)
def test_id_token_aud_missing_or_not_a_string(aud, keys, make_cognito):
    payload = {**id_claims(), "aud": aud}
    if aud is None:
        del payload["aud"]
    with pytest.raises(AudienceMismatchError, match="'aud' is missing or not a string"):
        make_cognito(token_use="id").verify(keys["RS256"].sign(payload))


def test_id_token_client_id_claim_does_not_stand_in_for_aud(keys, make_cognito):
    payload = {k: v for k, v in id_claims(client_id=CLIENT_ID).items() if k != "aud"}
    with pytest.raises(AudienceMismatchError):
        make_cognito(token_use="id").verify(keys["RS256"].sign(payload))


# === token_use ==================================================================================
@pytest.mark.parametrize(
    ("expected", "make_payload"),
    [("access", id_claims), ("id", access_claims)],
)
def test_token_use_mismatch(expected, make_payload, keys, make_cognito):
    with pytest.raises(TokenUseMismatchError) as excinfo:
        make_cognito(token_use=expected).verify(keys["RS256"].sign(make_payload()))
    assert repr(expected) in str(excinfo.value)


@pytest.mark.parametrize("make_payload", [access_claims, id_claims])
def test_token_use_none_accepts_both(make_payload, keys, make_cognito):
    claims = make_cognito(token_use=None).verify(keys["RS256"].sign(make_payload()))
    assert claims.token_use == make_payload()["token_use"]


@pytest.mark.parametrize("token_use", [None, "refresh", "ID", "Access", "", 1, ["id"]], ids=repr)
@pytest.mark.parametrize("configured", [None, "id", "access"])
def test_token_use_claim_must_be_id_or_access(configured, token_use, keys, make_cognito):
    payload = {**access_claims(), "aud": CLIENT_ID, "token_use": token_use}
    if token_use is None:
        del payload["token_use"]
    with pytest.raises(TokenUseMismatchError, match="must be 'id' or 'access'"):
        make_cognito(token_use=configured).verify(keys["RS256"].sign(payload))


def test_token_use_none_still_checks_client_per_kind(keys, make_cognito):
    verifier = make_cognito(token_use=None)
    with pytest.raises(AudienceMismatchError):
        verifier.verify(keys["RS256"].sign(id_claims(aud="other")))
    with pytest.raises(AudienceMismatchError):
        verifier.verify(keys["RS256"].sign(access_claims(client_id="other")))


# === client_id None =============================================================================
@pytest.mark.parametrize(
    "payload",
    [
        access_claims(client_id="whatever"),
        {k: v for k, v in access_claims().items() if k != "client_id"},
        id_claims(aud="whatever"),
        {k: v for k, v in id_claims().items() if k != "aud"},
    ],
)
def test_client_id_none_skips_client_check(payload, keys, make_cognito):
    claims = make_cognito(client_id=None, token_use=None).verify(keys["RS256"].sign(payload))
    assert claims.to_dict() == payload


# === Several app clients ========================================================================
@pytest.mark.parametrize(
    ("client", "ok"), [("web", True), ("mobile", True), ("cli", True), ("other", False)]
)
def test_several_app_clients(client, ok, keys, make_cognito):
    verifier = make_cognito(client_id=["web", "mobile", "cli"], token_use=None)
    for token in (
        keys["RS256"].sign(access_claims(client_id=client)),
        keys["RS256"].sign(id_claims(aud=client)),
    ):
        if ok:
            assert verifier.verify(token)["sub"]
        else:
            with pytest.raises(AudienceMismatchError):
                verifier.verify(token)


# === Groups and scopes ==========================================================================
@pytest.mark.parametrize(
    ("groups", "ok"),
    [
        ("admins", True),
        ("staff", True),
        (["nobody", "staff"], True),
        (["nobody"], False),
        ("Admins", False),
        (["admin"], False),
    ],
)
def test_groups_any_of(groups, ok, keys, make_cognito):
    verifier = make_cognito(groups=groups)
    token = keys["RS256"].sign(access_claims())  # cognito:groups = ["admins", "staff"]
    if ok:
        assert verifier.verify(token).groups == ("admins", "staff")
    else:
        with pytest.raises(MissingGroupError, match="none of the groups"):
            verifier.verify(token)


@pytest.mark.parametrize("value", [None, "admins", [], ["admins", 1]], ids=repr)
def test_groups_claim_missing_or_wrong_type(value, keys, make_cognito):
    payload = {**access_claims(), "cognito:groups": value}
    if value is None:
        del payload["cognito:groups"]
    with pytest.raises(MissingGroupError):
        make_cognito(groups="admins").verify(keys["RS256"].sign(payload))


def test_groups_on_id_tokens(keys, make_cognito):
    verifier = make_cognito(token_use="id", groups=["staff"])
    assert verifier.verify(keys["RS256"].sign(id_claims())).groups == ("admins", "staff")
    with pytest.raises(MissingGroupError):
        verifier.verify(keys["RS256"].sign(id_claims(**{"cognito:groups": ["guests"]})))


def test_groups_not_required_when_not_configured(keys, make_cognito):
    payload = {k: v for k, v in access_claims().items() if k != "cognito:groups"}
    assert make_cognito().verify(keys["RS256"].sign(payload)).groups == ()


@pytest.mark.parametrize(
    ("scopes", "ok"),
    [
        ("orders/read", True),
        (["admin", "orders/write"], True),
        (["admin"], False),
        ("orders", False),
        ("orders/READ", False),
    ],
)
def test_scopes_any_of(scopes, ok, keys, make_cognito):
    verifier = make_cognito(scopes=scopes)
    token = keys["RS256"].sign(access_claims())  # scope = "orders/read orders/write"
    if ok:
        assert verifier.verify(token).scopes == frozenset({"orders/read", "orders/write"})
    else:
        with pytest.raises(InsufficientScopeError):
            verifier.verify(token)


@pytest.mark.parametrize("value", [None, "", ["orders/read"]], ids=repr)
def test_scope_claim_missing_or_wrong_type(value, keys, make_cognito):
    payload = {**access_claims(), "scope": value}
    if value is None:
        del payload["scope"]
    with pytest.raises(InsufficientScopeError):
        make_cognito(scopes="orders/read").verify(keys["RS256"].sign(payload))


# === Issuer, keys, signature ====================================================================
@pytest.mark.parametrize(
    "iss",
    [
        ISSUER + "/",
        ISSUER.replace("eu-west-1", "us-east-1"),
        ISSUER.replace("TestPool1", "TestPool2"),
        ISSUER.replace("TestPool1", "testpool1"),
        "https://evil.example/" + POOL_ID,
    ],
)
def test_wrong_issuer(iss, keys, make_cognito):
    with pytest.raises(IssuerMismatchError):
        make_cognito().verify(keys["RS256"].sign(access_claims(iss=iss)))


def test_unknown_kid(keys, make_cognito):
    with pytest.raises(KeyNotFoundError):
        make_cognito(jwks=jwks_of(keys["RS256"])).verify(
            keys["RS256"].sign(access_claims(), kid="rotated-away")
        )


def test_tampered_payload(keys, make_cognito):
    good = keys["RS256"].sign(access_claims())
    evil = keys["RS256"].sign(access_claims(**{"cognito:groups": ["root"]}))
    forged = f"{good.split('.')[0]}.{evil.split('.')[1]}.{good.split('.')[2]}"
    with pytest.raises(InvalidSignatureError) as excinfo:
        make_cognito().verify(forged)
    assert excinfo.value.unverified_claims is None


# === Time =======================================================================================
@pytest.mark.parametrize(("leeway", "ok"), [(0, False), (59, False), (60, False), (61, True)])
def test_leeway(leeway, ok, keys, make_cognito):
    token = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 60))
    verifier = make_cognito(leeway=leeway)
    if ok:
        assert verifier.verify(token)["exp"] == FIXED_NOW - 60
    else:
        with pytest.raises(ExpiredTokenError):
            verifier.verify(token)


def test_clock(keys, make_cognito):
    token = keys["RS256"].sign(access_claims())  # exp = FIXED_NOW + 3600, iat = FIXED_NOW - 60
    assert make_cognito(clock=lambda: FIXED_NOW + 3599.5).verify(token)["sub"]
    with pytest.raises(ExpiredTokenError):
        make_cognito(clock=lambda: FIXED_NOW + 3600.0).verify(token)
    with pytest.raises(NotYetValidError):  # iat 61 s ahead: beyond the default 60 s skew
        make_cognito(clock=lambda: FIXED_NOW - 121.0).verify(token)
    assert make_cognito(clock=lambda: FIXED_NOW - 121.0, leeway=61).verify(token)["sub"]


# === Check order ================================================================================
def test_time_checked_before_issuer_and_token_use(keys, make_cognito):
    token = keys["RS256"].sign(id_claims(iss="https://evil", exp=FIXED_NOW - 1))
    with pytest.raises(ExpiredTokenError):
        make_cognito().verify(token)


def test_issuer_checked_before_token_use(keys, make_cognito):
    with pytest.raises(IssuerMismatchError):
        make_cognito().verify(keys["RS256"].sign(id_claims(iss="https://evil")))


def test_token_use_checked_before_client(keys, make_cognito):
    with pytest.raises(TokenUseMismatchError):
        make_cognito().verify(keys["RS256"].sign(id_claims(aud="other")))


def test_client_checked_before_groups_and_scopes(keys, make_cognito):
    token = keys["RS256"].sign(access_claims(client_id="other", scope="none"))
    with pytest.raises(AudienceMismatchError):
        make_cognito(groups="nobody", scopes="x").verify(token)


def test_groups_checked_before_scopes(keys, make_cognito):
    with pytest.raises(MissingGroupError):
        make_cognito(groups="nobody", scopes="x").verify(keys["RS256"].sign(access_claims()))


# === required_claims, custom_check ==============================================================
def test_required_claims(keys, make_cognito):
    verifier = make_cognito(required_claims=["username", "origin_jti"])
    assert verifier.verify(keys["RS256"].sign(access_claims()))["origin_jti"]
    payload = {k: v for k, v in access_claims().items() if k != "origin_jti"}
    with pytest.raises(MissingClaimError, match="'origin_jti'"):
        verifier.verify(keys["RS256"].sign(payload))


def test_custom_check_receives_claims(keys, make_cognito):
    seen: list[Any] = []

    def check(claims: Claims) -> None:
        seen.append(claims)

    make_cognito(custom_check=check).verify(keys["RS256"].sign(access_claims()))
    assert len(seen) == 1
    assert isinstance(seen[0], Claims)
    assert seen[0].to_dict() == access_claims()
    assert seen[0].username == "alice"
    assert seen[0].header["kid"] == "rsa-rs256"


def test_custom_check_rejects(keys, make_cognito):
    verifier = make_cognito(custom_check=lambda c: c.username == "bob")
    payload = access_claims()
    with pytest.raises(CustomCheckError) as excinfo:
        verifier.verify(keys["RS256"].sign(payload))
    assert excinfo.value.unverified_claims == payload
    assert verifier.verify(keys["RS256"].sign(access_claims(username="bob"))).username == "bob"


def test_custom_check_not_called_when_other_checks_fail(keys, make_cognito):
    calls: list[Claims] = []
    verifier = make_cognito(custom_check=calls.append, groups="nobody")
    with pytest.raises(MissingGroupError):
        verifier.verify(keys["RS256"].sign(access_claims()))
    assert calls == []


def test_custom_check_exception_wrapped(keys, make_cognito):
    def check(_claims: Claims) -> None:
        raise RuntimeError("db password=hunter2")

    with pytest.raises(CustomCheckError) as excinfo:
        make_cognito(custom_check=check).verify(keys["RS256"].sign(access_claims()))
    assert "hunter2" not in str(excinfo.value)
    assert isinstance(excinfo.value.__cause__, RuntimeError)


# === Error context, async, hydrate ==============================================================
@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (id_claims(), TokenUseMismatchError),
        (access_claims(client_id="x"), AudienceMismatchError),
        (access_claims(exp=FIXED_NOW - 1), ExpiredTokenError),
    ],
)
def test_claim_errors_carry_context(payload, error, keys, make_cognito):
    with pytest.raises(error) as excinfo:
        make_cognito().verify(keys["RS256"].sign(payload))
    assert excinfo.value.unverified_claims == payload
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "rsa-rs256"}


def test_verify_async_matches_verify(keys, make_cognito):
    verifier = make_cognito(groups=["admins"])
    tokens = [
        keys["RS256"].sign(access_claims()),
        keys["RS256"].sign(id_claims()),
        keys["RS256"].sign(access_claims(client_id="x")),
        keys["RS256"].sign(access_claims(**{"cognito:groups": ["guests"]})),
        keys["ES256"].sign(access_claims()),
        keys["RS256"].sign(access_claims(), kid="gone"),
    ]
    kinds = []
    for token in tokens:
        try:
            sync: Any = ("ok", verifier.verify(token).to_dict())
        except JwtError as exc:
            sync = (type(exc).__name__, str(exc))
        try:
            asynchronous: Any = ("ok", run(verifier.verify_async(token)).to_dict())
        except JwtError as exc:
            asynchronous = (type(exc).__name__, str(exc))
        assert sync == asynchronous
        kinds.append(sync[0])
    assert kinds == [
        "ok",
        "TokenUseMismatchError",
        "AudienceMismatchError",
        "MissingGroupError",
        "AlgorithmNotAllowedError",
        "KeyNotFoundError",
    ]


def test_hydrate_with_keys_in_memory_fetches_nothing_and_reports_them(keys, make_cognito):
    verifier = make_cognito()
    report = verifier.hydrate()
    assert set(report) == verifier.issuers
    assert all(isinstance(result, KeySet) for result in report.values())
    assert run(verifier.hydrate_async()) == report
    assert verifier.stats.fetches == 0
    assert verifier.verify(keys["RS256"].sign(access_claims())).sub


# === Cognito's claim errors name the claim, as every ClaimError does ============================
@pytest.mark.parametrize(
    ("payload", "claim", "found"),
    [
        ({"token_use": "id"}, "token_use", "'id'"),
        ({"token_use": "x" * 10_000}, "token_use", None),
        ({"token_use": {"nested": ["x" * 500]}}, "token_use", "a dict"),
        ({"client_id": "other"}, "client_id", "'other'"),
        ({"client_id": ["x" * 500]}, "client_id", "a list"),
    ],
    ids=["token_use", "token_use-huge", "token_use-object", "client_id", "client_id-list"],
)
def test_cognito_claim_errors_name_the_claim(payload, claim, found, keys, make_cognito):
    with pytest.raises(JwtError) as info:
        make_cognito().verify(keys["RS256"].sign({**access_claims(), **payload}))
    exc = info.value
    assert isinstance(exc, TokenUseMismatchError | AudienceMismatchError)
    assert exc.claim == claim
    assert exc.expected is not None
    if found is not None:
        assert exc.found == found
    assert len(str(exc)) < 300


def test_a_huge_integer_leeway_is_a_configuration_error(make_cognito):
    with pytest.raises(ConfigurationError, match="leeway"):
        make_cognito(leeway=10**5000)
