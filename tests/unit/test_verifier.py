"""``JwtVerifier`` and ``MultiIssuerVerifier``."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from typing import Any

import pytest

from cognito_jwt import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    ClaimError,
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
    JwtVerifier,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySet,
    MalformedTokenError,
    MissingClaimError,
    MultiIssuerVerifier,
    NotYetValidError,
    TokenLimits,
)
from tests.helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    ISSUER,
    OIDC_ISSUER,
    SigningKey,
    _signing_key,
    access_claims,
    jwks_of,
    oidc_claims,
    raw_token,
    rsa_private,
)

POOL_B_ID = "us-east-1_PoolB2"
POOL_B_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_B_ID}"
POOL_B_CLIENT = "pool-b-client"


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    """A second RSA key with its own kid (pool B)."""
    return _signing_key("RS256", rsa_private(2048, 1), "pool-b-rs256")


@pytest.fixture(scope="module")
def key_b_same_kid(keys: dict[str, SigningKey]) -> SigningKey:
    """A different RSA key that reuses the kid of ``keys['RS256']``."""
    return _signing_key("RS256", rsa_private(2048, 1), keys["RS256"].kid)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def outcome(call: Any) -> tuple[str, Any]:
    """Summarise a verification: the claims on success, error class and message on failure."""
    try:
        claims = call()
    except JwtError as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", (claims.to_dict(), dict(claims.header)))


# === JwtVerifier: construction ==================================================================
def test_issuer_keyword_is_required(jwks):
    with pytest.raises(TypeError, match="issuer"):
        JwtVerifier(audience=AUDIENCE, jwks=jwks)  # type: ignore[call-arg]


def test_audience_keyword_is_required(jwks):
    with pytest.raises(TypeError, match="audience"):
        JwtVerifier(issuer=OIDC_ISSUER, jwks=jwks)  # type: ignore[call-arg]


def test_arguments_are_keyword_only(jwks):
    with pytest.raises(TypeError):
        JwtVerifier(OIDC_ISSUER, AUDIENCE, jwks)  # type: ignore[misc]


def test_without_jwks_the_key_set_is_discovered_from_the_issuer():
    verifier = JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, store=None)
    assert verifier._keys.cache_key == f"discovery:{OIDC_ISSUER}"
    assert verifier.stats.fetches == 0  # nothing is fetched at construction


@pytest.mark.parametrize("issuer", [None, [OIDC_ISSUER, "https://other.example.com"]])
def test_a_key_set_needs_jwks_or_one_issuer_to_discover(issuer):
    with pytest.raises(ConfigurationError, match="jwks"):
        JwtVerifier(issuer=issuer, audience=AUDIENCE, store=None)


def test_jwks_and_jwks_uri_are_exclusive(jwks):
    with pytest.raises(ConfigurationError, match="not both"):
        JwtVerifier(
            issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=jwks, jwks_uri="https://x.example/jwks"
        )


@pytest.mark.parametrize("form", ["dict", "json_str", "json_bytes", "keyset"], ids=str)
def test_jwks_forms(form, keys, make_oidc):
    document = jwks_of(keys["RS256"], keys["ES256"])
    jwks: Any = {
        "dict": document,
        "json_str": json.dumps(document),
        "json_bytes": json.dumps(document).encode(),
        "keyset": KeySet.from_jwks(document),
    }[form]
    verifier = make_oidc(jwks=jwks)
    for alg in ("RS256", "ES256"):
        assert verifier.verify(keys[alg].sign(oidc_claims())).header["alg"] == alg
    with pytest.raises(KeyNotFoundError):
        verifier.verify(keys["PS256"].sign(oidc_claims()))


@pytest.mark.parametrize(
    "jwks",
    [
        {},
        {"keys": []},
        {"keys": "nope"},
        {"keys": {}},
        {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]},
        {"keys": [{"kty": "RSA", "kid": "x"}]},
        {"keys": [1, "two", None]},
        "not json",
        "",
        "[]",
        b"{",
        b'{"keys": []}',
        [],
        42,
    ],
    ids=repr,
)
def test_invalid_jwks(jwks):
    with pytest.raises(InvalidJwksError):
        JwtVerifier(issuer=OIDC_ISSUER, audience=AUDIENCE, jwks=jwks)


@pytest.mark.parametrize(
    "leeway",
    [-1, -0.001, float("nan"), float("inf"), float("-inf"), True, False, "5", None, [1]],
    ids=repr,
)
def test_invalid_leeway(leeway, make_oidc):
    with pytest.raises(ConfigurationError, match="leeway"):
        make_oidc(leeway=leeway)


@pytest.mark.parametrize("leeway", [0, 0.0, 1, 2.5, 300])
def test_valid_leeway(leeway, keys, make_oidc):
    verifier = make_oidc(leeway=leeway)
    assert verifier.verify(keys["RS256"].sign(oidc_claims()))["sub"] == "user-42"


def test_leeway_beyond_float_range_is_a_configuration_error(make_oidc):
    # math.isfinite() raises OverflowError for such ints; the constructor must not leak it.
    with pytest.raises(ConfigurationError):
        make_oidc(leeway=10**400)


@pytest.mark.parametrize(
    "algorithms",
    [
        "RS256",
        b"RS256",
        [],
        (),
        ["HS256"],
        ["RS256", "HS256"],
        ["none"],
        ["None"],
        ["hs512"],
        ["XX999"],
        ["rs256"],
        [256],
    ],
    ids=repr,
)
def test_invalid_algorithms(algorithms, make_oidc):
    with pytest.raises(ConfigurationError):
        make_oidc(algorithms=algorithms)


@pytest.mark.parametrize("algorithms", [[["RS256"]], 5], ids=repr)
def test_unusable_algorithms_container_is_a_configuration_error(algorithms, make_oidc):
    # frozenset() of these raises TypeError; the constructor promises ConfigurationError.
    with pytest.raises(ConfigurationError):
        make_oidc(algorithms=algorithms)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("issuer", ""),
        ("issuer", []),
        ("issuer", [""]),
        ("issuer", b"https://x"),
        ("issuer", [1]),
        ("issuer", 5),
        ("audience", ""),
        ("audience", []),
        ("audience", ["a", None]),
        ("audience", b"api"),
        ("scopes", ""),
        ("scopes", []),
        ("scopes", [1]),
        ("required_claims", [1]),
        ("required_claims", [""]),
        ("required_claims", 5),
        ("clock", 123),
        ("clock", "time"),
        ("custom_check", "not callable"),
        ("custom_check", 1),
        ("limits", {"max_token_length": 100}),
        ("limits", 100),
        ("limits", "small"),
    ],
    ids=repr,
)
def test_configuration_errors(option, value, make_oidc):
    with pytest.raises(ConfigurationError) as excinfo:
        make_oidc(**{option: value})
    assert isinstance(excinfo.value, ValueError)


# === One normaliser for every name option (hardening 2.2) ======================================
_ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188"
)


def _alb(**options: Any) -> Any:
    from cognito_jwt import AlbVerifier

    base: dict[str, Any] = {"alb_arn": _ALB_ARN, "issuer": None, "client_id": None, "store": None}
    return AlbVerifier(**{**base, **options})


NAME_OPTIONS = [
    ("oidc", "issuer"),
    ("oidc", "audience"),
    ("oidc", "scopes"),
    ("oidc", "required_claims"),
    ("cognito", "client_id"),
    ("cognito", "groups"),
    ("cognito", "scopes"),
    ("cognito", "required_claims"),
    ("alb", "alb_arn"),
    ("alb", "issuer"),
    ("alb", "client_id"),
    ("alb", "required_claims"),
]


@pytest.fixture
def build(make_oidc, make_cognito):
    return {"oidc": make_oidc, "cognito": make_cognito, "alb": _alb}


@pytest.mark.parametrize(("kind", "option"), NAME_OPTIONS, ids=str)
@pytest.mark.parametrize(
    "value", [5, b"x", ["ok", 3], ["ok", ""], [""], "", [None], object(), 1.5], ids=repr
)
def test_every_name_option_refuses_what_is_not_names(kind, option, value, build):
    with pytest.raises(ConfigurationError, match=option):
        build[kind](**{option: value})


@pytest.mark.parametrize(
    ("kind", "option"),
    [(k, o) for k, o in NAME_OPTIONS if o != "required_claims"],
    ids=str,
)
def test_an_empty_collection_is_not_a_way_to_turn_a_check_off(kind, option, build):
    with pytest.raises(ConfigurationError, match=option):
        build[kind](**{option: []})


def test_one_string_is_one_name(keys, make_oidc, make_cognito):
    in_a = keys["RS256"].sign(access_claims(**{"cognito:groups": ["a"], "scope": "o"}))
    with pytest.raises(JwtError):
        make_cognito(groups="admins").verify(in_a)
    with pytest.raises(JwtError):
        make_cognito(scopes="orders").verify(in_a)
    with pytest.raises(JwtError):
        make_cognito(client_id=CLIENT_ID[:1]).verify(in_a)
    admins = keys["RS256"].sign(access_claims(**{"cognito:groups": ["admins"], "scope": "orders"}))
    assert make_cognito(groups="admins", scopes="orders").verify(admins)["scope"] == "orders"
    token = keys["RS256"].sign(oidc_claims())
    with pytest.raises(MissingClaimError):
        make_oidc(required_claims="email").verify(token)
    assert make_oidc(required_claims="sub").verify(token)["sub"]
    with pytest.raises(AudienceMismatchError):
        make_oidc(audience=AUDIENCE[:1]).verify(token)
    assert _alb(alb_arn=_ALB_ARN).alb_arns == frozenset({_ALB_ARN})


def test_properties(make_oidc):
    verifier = make_oidc()
    assert verifier.issuers == frozenset({OIDC_ISSUER})
    assert verifier.algorithms == frozenset(
        {
            "RS256",
            "RS384",
            "RS512",
            "PS256",
            "PS384",
            "PS512",
            "ES256",
            "ES384",
            "ES512",
            "EdDSA",
            "Ed25519",
        }
    )
    assert make_oidc(issuer=None).issuers is None
    assert make_oidc(issuer=["a", "b", "a"]).issuers == frozenset({"a", "b"})
    assert make_oidc(algorithms=["ES256", "RS256"]).algorithms == frozenset({"ES256", "RS256"})


# === JwtVerifier: issuer and audience ===========================================================
def test_valid_token(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    claims = make_oidc().verify(token)
    assert isinstance(claims, Claims)
    assert claims.to_dict() == oidc_claims()
    assert claims.header == {"alg": "RS256", "kid": "rsa-rs256"}
    assert claims.issuer == OIDC_ISSUER
    assert claims.audience == (AUDIENCE,)


def test_token_as_bytes(keys, make_oidc):
    token = keys["ES256"].sign(oidc_claims())
    assert make_oidc().verify(token.encode("ascii"))["sub"] == "user-42"


@pytest.mark.parametrize(
    "iss", ["https://evil.example", OIDC_ISSUER + "/", OIDC_ISSUER.upper(), 7, None]
)
def test_issuer_mismatch(iss, keys, make_oidc):
    token = keys["RS256"].sign({**oidc_claims(), "iss": iss})
    with pytest.raises(IssuerMismatchError):
        make_oidc().verify(token)


@pytest.mark.parametrize(
    "payload",
    [
        oidc_claims(iss="https://anyone.example"),
        {k: v for k, v in oidc_claims().items() if k != "iss"},
        {**oidc_claims(), "iss": 12},
    ],
)
def test_issuer_none_disables_the_check(payload, keys, make_oidc):
    claims = make_oidc(issuer=None).verify(keys["RS256"].sign(payload))
    assert claims.to_dict() == payload


@pytest.mark.parametrize(
    "payload",
    [
        oidc_claims(aud="someone-else"),
        oidc_claims(aud=["x", "y"]),
        {k: v for k, v in oidc_claims().items() if k != "aud"},
        {**oidc_claims(), "aud": 5},
    ],
)
def test_audience_none_disables_the_check(payload, keys, make_oidc):
    claims = make_oidc(audience=None).verify(keys["RS256"].sign(payload))
    assert claims.to_dict() == payload


def test_both_checks_disabled(keys, make_oidc):
    payload = {"exp": FIXED_NOW + 10}
    assert make_oidc(issuer=None, audience=None).verify(keys["RS256"].sign(payload)) == payload


@pytest.mark.parametrize(
    ("iss", "ok"),
    [("https://a.example", True), ("https://b.example", True), ("https://c.example", False)],
)
def test_issuer_list(iss, ok, keys, make_oidc):
    verifier = make_oidc(issuer=["https://a.example", "https://b.example"])
    token = keys["RS256"].sign(oidc_claims(iss=iss))
    if ok:
        assert verifier.verify(token).issuer == iss
    else:
        with pytest.raises(IssuerMismatchError):
            verifier.verify(token)


@pytest.mark.parametrize(
    ("audience", "aud", "ok"),
    [
        (AUDIENCE, AUDIENCE, True),
        (AUDIENCE, [AUDIENCE, "other"], True),
        (AUDIENCE, "other", False),
        (["a", "b"], "b", True),
        (["a", "b"], ["c", "a"], True),
        (["a", "b"], ["c", "d"], False),
        (["a", "b"], [], False),
        (["a", "b"], ["a", 1], False),
        ("a", {"a": 1}, False),
    ],
)
def test_audience_any_of(audience, aud, ok, keys, make_oidc):
    verifier = make_oidc(audience=audience)
    token = keys["RS256"].sign({**oidc_claims(), "aud": aud})
    if ok:
        assert verifier.verify(token)["aud"] == aud
    else:
        with pytest.raises(AudienceMismatchError):
            verifier.verify(token)


def test_audience_missing(keys, make_oidc):
    payload = {k: v for k, v in oidc_claims().items() if k != "aud"}
    with pytest.raises(AudienceMismatchError, match="missing"):
        make_oidc().verify(keys["RS256"].sign(payload))


# === JwtVerifier: algorithms ====================================================================
@pytest.mark.parametrize(
    ("allowed", "alg", "listed"),
    [
        (["RS256"], "PS256", "RS256"),
        (["RS256"], "ES256", "RS256"),
        (["RS256", "ES256"], "EdDSA", "ES256, RS256"),
        (["PS512", "ES384", "Ed25519"], "RS256", "ES384, Ed25519, PS512"),
    ],
)
def test_allowlist_restricts(allowed, alg, listed, keys, make_oidc):
    verifier = make_oidc(algorithms=allowed)
    with pytest.raises(AlgorithmNotAllowedError) as excinfo:
        verifier.verify(keys[alg].sign(oidc_claims()))
    message = str(excinfo.value)
    assert repr(alg) in message
    assert f"allowed: {listed}" in message
    assert excinfo.value.unverified_header == {"alg": alg, "kid": keys[alg].kid}
    assert excinfo.value.unverified_claims is None


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_allowlist_permits_listed(alg, keys, make_oidc):
    verifier = make_oidc(algorithms=["RS256", "ES256", "EdDSA"])
    assert verifier.verify(keys[alg].sign(oidc_claims())).header["alg"] == alg


@pytest.mark.parametrize("alg", ["none", "None", "HS256", "hs384", "HS512"])
def test_forbidden_algorithms_refused(alg, make_oidc):
    token = raw_token({"alg": alg, "kid": "rsa-rs256"}, oidc_claims(), b"sig")
    with pytest.raises(AlgorithmNotAllowedError, match="never accepted"):
        make_oidc().verify(token)


def test_unknown_algorithm_refused(make_oidc):
    token = raw_token({"alg": "XS999"}, oidc_claims(), b"sig")
    with pytest.raises(AlgorithmNotAllowedError, match="not supported"):
        make_oidc().verify(token)


# === JwtVerifier: time and clock ================================================================
def test_clock_is_used(keys, make_oidc):
    now = [float(FIXED_NOW)]
    verifier = make_oidc(clock=lambda: now[0])
    token = keys["RS256"].sign(oidc_claims())  # exp = FIXED_NOW + 600, iat = FIXED_NOW - 10
    assert verifier.verify(token)["sub"] == "user-42"
    now[0] = FIXED_NOW + 599.999
    assert verifier.verify(token)["sub"] == "user-42"
    now[0] = FIXED_NOW + 600
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)
    now[0] = FIXED_NOW - 10
    assert verifier.verify(token)["sub"] == "user-42"
    now[0] = FIXED_NOW - 70.001  # iat ahead by more than the default 60 s skew
    with pytest.raises(NotYetValidError):
        verifier.verify(token)


def test_clock_is_called_on_each_verification(keys, make_oidc):
    calls = []

    def clock() -> float:
        calls.append(1)
        return float(FIXED_NOW)

    verifier = make_oidc(clock=clock)
    token = keys["RS256"].sign(oidc_claims())
    verifier.verify(token)
    verifier.verify(token)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("leeway", "ok"), [(0, False), (29, False), (30, False), (30.5, True), (60, True)]
)
def test_leeway_extends_exp(leeway, ok, keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims(exp=FIXED_NOW - 30, iat=FIXED_NOW - 100))
    verifier = make_oidc(leeway=leeway)
    if ok:
        assert verifier.verify(token)["exp"] == FIXED_NOW - 30
    else:
        with pytest.raises(ExpiredTokenError):
            verifier.verify(token)


@pytest.mark.parametrize(("leeway", "ok"), [(0, False), (79, False), (80, True)])
def test_leeway_applies_to_nbf(leeway, ok, keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims(nbf=FIXED_NOW + 80, iat=FIXED_NOW - 100))
    verifier = make_oidc(leeway=leeway)
    if ok:
        assert verifier.verify(token)["nbf"] == FIXED_NOW + 80
    else:
        with pytest.raises(NotYetValidError):
            verifier.verify(token)


def test_exp_is_always_required(keys, make_oidc):
    payload = {k: v for k, v in oidc_claims().items() if k != "exp"}
    with pytest.raises(MissingClaimError, match="'exp'"):
        make_oidc().verify(keys["RS256"].sign(payload))


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_huge_numeric_dates_never_escape_as_non_jwt_errors(claim, keys, make_oidc):
    # A signed token may carry a NumericDate larger than a float; verify() promises that only
    # JwtError subclasses escape for bad input. Beyond year 9999 it is not a date at all.
    token = keys["RS256"].sign(oidc_claims(**{claim: 10**400}))
    with pytest.raises(ClaimError, match="beyond what a date can be"):
        make_oidc().verify(token)


# === JwtVerifier: scopes, required claims, custom check =========================================
@pytest.mark.parametrize(
    ("scopes", "scope", "ok"),
    [
        ("orders:read", "orders:read", True),
        (["orders:write", "orders:read"], "orders:read", True),
        (["orders:write", "orders:read"], "a orders:write b", True),
        (["orders:write"], "orders:read", False),
        ("orders", "orders:read", False),
        ("orders:read", "", False),
        ("orders:read", None, False),
    ],
)
def test_scopes_any_of(scopes, scope, ok, keys, make_oidc):
    verifier = make_oidc(scopes=scopes)
    token = keys["RS256"].sign(oidc_claims(scope=scope))
    if ok:
        assert verifier.verify(token).scopes >= frozenset(s for s in scope.split())
    else:
        with pytest.raises(InsufficientScopeError):
            verifier.verify(token)


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        (oidc_claims(), "email"),
        ({**oidc_claims(), "email": None}, "email"),
        ({**oidc_claims(), "email": "a@b"}, "tenant"),
    ],
)
def test_required_claims(payload, missing, keys, make_oidc):
    verifier = make_oidc(required_claims=["email", "tenant"])
    with pytest.raises(MissingClaimError) as excinfo:
        verifier.verify(keys["RS256"].sign(payload))
    assert repr(missing) in str(excinfo.value)
    ok = {**oidc_claims(), "email": "a@b", "tenant": 0}
    assert verifier.verify(keys["RS256"].sign(ok))["tenant"] == 0


def test_custom_check_receives_claims(keys, make_oidc):
    seen: list[Any] = []

    def check(claims: Claims) -> bool:
        seen.append(claims)
        return True

    token = keys["ES256"].sign(oidc_claims(tenant="acme"))
    result = make_oidc(custom_check=check).verify(token)
    assert len(seen) == 1
    arg = seen[0]
    assert type(arg) is Claims
    assert arg.to_dict() == oidc_claims(tenant="acme")
    assert arg["tenant"] == "acme"
    assert arg.header == {"alg": "ES256", "kid": "ec-es256"}
    assert result.to_dict() == arg.to_dict()


@pytest.mark.parametrize("verdict", [False, 0, "", "no", 1])
def test_custom_check_can_reject(verdict, keys, make_oidc):
    verifier = make_oidc(custom_check=lambda _c: verdict)
    payload = oidc_claims()
    with pytest.raises(CustomCheckError) as excinfo:
        verifier.verify(keys["RS256"].sign(payload))
    assert excinfo.value.unverified_claims == payload
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "rsa-rs256"}


def test_custom_check_exception_is_wrapped(keys, make_oidc):
    def check(_claims: Claims) -> bool:
        raise LookupError("tenant acme-secret not found")

    with pytest.raises(CustomCheckError) as excinfo:
        make_oidc(custom_check=check).verify(keys["RS256"].sign(oidc_claims()))
    assert isinstance(excinfo.value.__cause__, LookupError)
    assert "acme-secret" not in str(excinfo.value)


def test_custom_check_jwt_error_passes_through_with_context(keys, make_oidc):
    raised = AudienceMismatchError("wrong tenant")

    def check(_claims: Claims) -> None:
        raise raised

    payload = oidc_claims()
    with pytest.raises(AudienceMismatchError) as excinfo:
        make_oidc(custom_check=check).verify(keys["RS256"].sign(payload))
    assert excinfo.value is raised
    assert excinfo.value.unverified_claims == payload


def test_custom_check_runs_after_the_other_checks(keys, make_oidc):
    calls: list[Claims] = []
    verifier = make_oidc(custom_check=calls.append)
    for payload in (oidc_claims(exp=FIXED_NOW - 1), oidc_claims(aud="x"), oidc_claims(iss="y")):
        with pytest.raises(JwtError):
            verifier.verify(keys["RS256"].sign(payload))
    assert calls == []


# === JwtVerifier: limits and malformed input ====================================================
def test_limits_are_applied(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    with pytest.raises(MalformedTokenError, match="above the limit"):
        make_oidc(limits=TokenLimits(max_token_length=len(token) - 1)).verify(token)
    assert make_oidc(limits=TokenLimits(max_token_length=len(token))).verify(token)["sub"]


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", 123, None, b"\xff.a.b"], ids=repr)
def test_malformed_tokens(token, make_oidc):
    with pytest.raises(MalformedTokenError) as excinfo:
        make_oidc().verify(token)
    assert excinfo.value.unverified_claims is None


# === JwtVerifier: error context =================================================================
def test_signature_error_context(keys, make_oidc):
    good = keys["RS256"].sign(oidc_claims())
    other = keys["RS256"].sign(oidc_claims(sub="mallory"))
    forged = ".".join([good.split(".")[0], other.split(".")[1], good.split(".")[2]])
    with pytest.raises(InvalidSignatureError) as excinfo:
        make_oidc().verify(forged)
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "rsa-rs256"}
    assert excinfo.value.unverified_claims is None
    assert "mallory" not in str(excinfo.value)


def test_unknown_kid_context(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims(), kid="nope")
    with pytest.raises(KeyNotFoundError) as excinfo:
        make_oidc().verify(token)
    assert type(excinfo.value) is KeyNotFoundError
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "nope"}
    assert excinfo.value.unverified_claims is None


def test_kid_of_a_key_for_another_alg(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims(), kid=keys["ES256"].kid)
    with pytest.raises(KeyAlgorithmMismatchError) as excinfo:
        make_oidc().verify(token)
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "ec-es256"}


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (oidc_claims(exp=FIXED_NOW - 1), ExpiredTokenError),
        (oidc_claims(nbf=FIXED_NOW + 100), NotYetValidError),
        (oidc_claims(iss="https://evil"), IssuerMismatchError),
        (oidc_claims(aud="evil"), AudienceMismatchError),
    ],
)
def test_claim_error_context(payload, error, keys, make_oidc):
    with pytest.raises(error) as excinfo:
        make_oidc().verify(keys["PS256"].sign(payload, headers={"typ": "at+jwt"}))
    assert excinfo.value.unverified_header == {"alg": "PS256", "kid": "rsa-ps256", "typ": "at+jwt"}
    assert excinfo.value.unverified_claims == payload


# === JwtVerifier: async, hydrate ================================================================
def _cases(keys: dict[str, SigningKey]) -> list[Any]:
    good = keys["RS256"].sign(oidc_claims())
    other = keys["RS256"].sign(oidc_claims(sub="x"))
    return [
        good,
        keys["EdDSA"].sign(oidc_claims()),
        keys["RS256"].sign(oidc_claims(exp=FIXED_NOW)),
        keys["RS256"].sign(oidc_claims(aud="x")),
        keys["RS256"].sign(oidc_claims(iss="x")),
        keys["RS256"].sign(oidc_claims(scope="nothing")),
        keys["RS256"].sign(oidc_claims(), kid="unknown"),
        ".".join([*good.split(".")[:1], other.split(".")[1], good.split(".")[2]]),
        raw_token({"alg": "HS256"}, oidc_claims()),
        "garbage",
        42,
    ]


def test_verify_async_matches_verify(keys, make_oidc):
    verifier = make_oidc(scopes=["orders:read"])
    results = []
    for token in _cases(keys):
        sync = outcome(lambda t=token: verifier.verify(t))
        asynchronous = outcome(lambda t=token: run(verifier.verify_async(t)))
        assert sync == asynchronous
        results.append(sync[0])
    assert results == [
        "ok",
        "ok",
        "ExpiredTokenError",
        "AudienceMismatchError",
        "IssuerMismatchError",
        "InsufficientScopeError",
        "KeyNotFoundError",
        "InvalidSignatureError",
        "AlgorithmNotAllowedError",
        "MalformedTokenError",
        "MalformedTokenError",
    ]


def test_verify_async_returns_claims(keys, make_oidc):
    claims = run(make_oidc().verify_async(keys["ES384"].sign(oidc_claims())))
    assert type(claims) is Claims
    assert claims.to_dict() == oidc_claims()


def test_hydrate_with_keys_in_memory_fetches_nothing_and_reports_them(keys, make_oidc):
    verifier = make_oidc()
    report = verifier.hydrate()
    assert list(report) == [OIDC_ISSUER]
    assert report[OIDC_ISSUER].kids == {key.kid for key in keys.values()}
    assert run(verifier.hydrate_async()) == report
    assert verifier.stats.fetches == 0
    assert verifier.verify(keys["RS256"].sign(oidc_claims()))["sub"] == "user-42"


# === MultiIssuerVerifier ========================================================================
@pytest.fixture
def multi_parts(keys, key_b, make_cognito, make_oidc):
    pool_a = make_cognito(jwks=jwks_of(keys["RS256"]))
    pool_b = make_cognito(
        user_pool_id=POOL_B_ID, client_id=POOL_B_CLIENT, jwks=jwks_of(key_b), token_use="access"
    )
    oidc = make_oidc(jwks=jwks_of(keys["ES256"]), algorithms=["ES256"])
    return pool_a, pool_b, oidc


@pytest.fixture
def multi(multi_parts):
    return MultiIssuerVerifier(multi_parts)


def test_multi_issuers(multi):
    # Each pool in both of its issuer formats.
    updated = {
        i.replace("https://cognito-idp.", "https://issuer-cognito-idp.")
        for i in (ISSUER, POOL_B_ISSUER)
    }
    assert multi.issuers == frozenset({ISSUER, POOL_B_ISSUER, OIDC_ISSUER, *updated})


def test_multi_routes_each_issuer(multi, keys, key_b):
    a = multi.verify(keys["RS256"].sign(access_claims()))
    assert a.issuer == ISSUER
    assert a.client_id == CLIENT_ID
    b = multi.verify(key_b.sign(access_claims(iss=POOL_B_ISSUER, client_id=POOL_B_CLIENT)))
    assert b.issuer == POOL_B_ISSUER
    assert b.header["kid"] == "pool-b-rs256"
    o = multi.verify(keys["ES256"].sign(oidc_claims()))
    assert o.issuer == OIDC_ISSUER
    assert o.audience == (AUDIENCE,)


def test_multi_applies_the_routed_verifiers_rules(multi, key_b):
    # Pool B's verifier wants POOL_B_CLIENT: a token for pool A's client is refused.
    token = key_b.sign(access_claims(iss=POOL_B_ISSUER))
    with pytest.raises(AudienceMismatchError):
        multi.verify(token)
    expired = key_b.sign(
        access_claims(iss=POOL_B_ISSUER, client_id=POOL_B_CLIENT, exp=FIXED_NOW - 1)
    )
    with pytest.raises(ExpiredTokenError):
        multi.verify(expired)


@pytest.mark.parametrize(
    "iss",
    ["https://unknown.example", ISSUER + "/", OIDC_ISSUER.upper(), None, 5, [ISSUER]],
    ids=repr,
)
def test_multi_unknown_issuer(iss, multi, keys):
    payload = {**access_claims(), "iss": iss}
    with pytest.raises(IssuerMismatchError) as excinfo:
        multi.verify(keys["RS256"].sign(payload))
    assert excinfo.value.unverified_claims == payload
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "rsa-rs256"}


def test_multi_missing_issuer(multi, keys):
    payload = {k: v for k, v in access_claims().items() if k != "iss"}
    with pytest.raises(IssuerMismatchError):
        multi.verify(keys["RS256"].sign(payload))


def test_multi_pool_a_token_signed_with_pool_b_key(multi, key_b):
    with pytest.raises(KeyNotFoundError) as excinfo:
        multi.verify(key_b.sign(access_claims()))
    assert excinfo.value.unverified_header == {"alg": "RS256", "kid": "pool-b-rs256"}


def test_multi_pool_b_token_signed_with_pool_a_key(multi, keys):
    with pytest.raises(KeyNotFoundError):
        multi.verify(keys["RS256"].sign(access_claims(iss=POOL_B_ISSUER, client_id=POOL_B_CLIENT)))


def test_multi_reused_kid_with_wrong_key_fails_signature(multi, key_b_same_kid):
    with pytest.raises(InvalidSignatureError) as excinfo:
        multi.verify(key_b_same_kid.sign(access_claims()))
    assert excinfo.value.unverified_claims is None


def test_multi_applies_each_verifiers_allowlist(multi, keys):
    # Pool A allows RS256 only, even though the OIDC verifier in the same router allows ES256.
    with pytest.raises(AlgorithmNotAllowedError, match="allowed: RS256"):
        multi.verify(keys["ES256"].sign(access_claims()))
    # The OIDC verifier allows ES256 only.
    with pytest.raises(AlgorithmNotAllowedError, match="allowed: ES256"):
        multi.verify(keys["RS256"].sign(oidc_claims()))


def test_multi_claim_errors_carry_context(multi, keys):
    payload = oidc_claims(aud="other")
    with pytest.raises(AudienceMismatchError) as excinfo:
        multi.verify(keys["ES256"].sign(payload))
    assert excinfo.value.unverified_claims == payload
    assert excinfo.value.unverified_header == {"alg": "ES256", "kid": "ec-es256"}


def test_multi_malformed(multi):
    with pytest.raises(MalformedTokenError):
        multi.verify("not.a.jwt!")


def test_multi_verify_async_matches_verify(multi, keys, key_b, key_b_same_kid):
    tokens = [
        keys["RS256"].sign(access_claims()),
        key_b.sign(access_claims(iss=POOL_B_ISSUER, client_id=POOL_B_CLIENT)),
        keys["ES256"].sign(oidc_claims()),
        keys["RS256"].sign(access_claims(iss="https://unknown")),
        key_b.sign(access_claims()),
        key_b_same_kid.sign(access_claims()),
        keys["ES256"].sign(access_claims()),
        keys["RS256"].sign(access_claims(exp=FIXED_NOW)),
        "x.y.z",
    ]
    kinds = []
    for token in tokens:
        sync = outcome(lambda t=token: multi.verify(t))
        asynchronous = outcome(lambda t=token: run(multi.verify_async(t)))
        assert sync == asynchronous
        kinds.append(sync[0])
    assert kinds == [
        "ok",
        "ok",
        "ok",
        "IssuerMismatchError",
        "KeyNotFoundError",
        "InvalidSignatureError",
        "AlgorithmNotAllowedError",
        "ExpiredTokenError",
        "MalformedTokenError",
    ]


def test_multi_hydrate_reports_every_issuer(multi, keys):
    report = multi.hydrate()
    assert set(report) == multi.issuers
    assert run(multi.hydrate_async()) == report
    assert multi.verify(keys["RS256"].sign(access_claims())).issuer == ISSUER


def test_multi_with_a_multi_issuer_jwt_verifier(keys, make_oidc):
    verifier = make_oidc(issuer=["https://a.example", "https://b.example"])
    multi = MultiIssuerVerifier([verifier])
    assert multi.issuers == frozenset({"https://a.example", "https://b.example"})
    for iss in ("https://a.example", "https://b.example"):
        assert multi.verify(keys["RS256"].sign(oidc_claims(iss=iss))).issuer == iss


def test_multi_accepts_any_iterable(multi_parts, keys):
    multi = MultiIssuerVerifier(v for v in multi_parts)
    assert len(multi.issuers) == 5  # two pools in both issuer formats, one OIDC issuer
    assert multi.verify(keys["RS256"].sign(access_claims())).issuer == ISSUER


def test_multi_empty():
    with pytest.raises(ConfigurationError, match="at least one"):
        MultiIssuerVerifier([])


def test_multi_verifier_without_issuer(make_oidc):
    with pytest.raises(ConfigurationError, match="needs an issuer"):
        MultiIssuerVerifier([make_oidc(issuer=None)])


def test_multi_same_issuer_twice(make_cognito, make_oidc):
    with pytest.raises(ConfigurationError, match="two verifiers"):
        MultiIssuerVerifier([make_cognito(), make_cognito(token_use="id")])
    with pytest.raises(ConfigurationError, match="two verifiers"):
        MultiIssuerVerifier([make_oidc(issuer=["a", "b"]), make_oidc(issuer=["b", "c"])])
    with pytest.raises(ConfigurationError, match="two verifiers"):
        MultiIssuerVerifier([make_cognito(), make_oidc(issuer=ISSUER)])


def test_multi_same_verifier_twice(make_oidc):
    verifier = make_oidc()
    with pytest.raises(ConfigurationError):
        MultiIssuerVerifier([verifier, verifier])


@pytest.mark.parametrize("bad", [object(), "https://a", None, 1, {"issuer": "x"}], ids=repr)
def test_multi_non_verifier_objects(bad, make_oidc):
    with pytest.raises(ConfigurationError, match="not a verifier"):
        MultiIssuerVerifier([make_oidc(), bad])


def test_multi_rejects_nested_multi(multi):
    with pytest.raises(ConfigurationError, match="not a verifier"):
        MultiIssuerVerifier([multi])


def test_multi_limits(multi_parts, keys):
    token = keys["RS256"].sign(access_claims())
    with pytest.raises(MalformedTokenError, match="above the limit"):
        MultiIssuerVerifier(multi_parts, limits=TokenLimits(max_token_length=100)).verify(token)


def test_multi_cognito_type(multi_parts):
    assert isinstance(multi_parts[0], CognitoVerifier)


# === An async custom_check (hardening 2.3) =====================================================
class AsyncCheck:
    """A callable object with an ``async def __call__`` that counts its calls."""

    def __init__(self, verdict: object = True) -> None:
        self.verdict = verdict
        self.calls = 0

    async def __call__(self, claims: Claims) -> object:
        self.calls += 1
        await asyncio.sleep(0)  # a real suspension point
        return self.verdict


async def _async_verdict(verdict: object, claims: Claims) -> object:
    await asyncio.sleep(0)
    return verdict


async def _async_sub_is_known(claims: Claims) -> bool:
    await asyncio.sleep(0)
    return claims.sub == oidc_claims()["sub"]


async def _async_refuse(claims: Claims) -> bool:
    await asyncio.sleep(0)
    return False


ASYNC_CHECKS = {
    "async def": lambda verdict: _async_sub_is_known if verdict is True else _async_refuse,
    "partial": lambda verdict: functools.partial(_async_verdict, verdict),
    "async __call__": AsyncCheck,
    "partial of async __call__": lambda verdict: functools.partial(AsyncCheck(verdict)),
}


@pytest.mark.parametrize("make_check", ASYNC_CHECKS.values(), ids=ASYNC_CHECKS.keys())
@pytest.mark.parametrize("cache", [0, 8], ids=["no-cache", "token-cache"])
def test_an_async_custom_check_is_awaited_by_verify_async(make_check, cache, keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    verifier = make_oidc(custom_check=make_check(True), token_cache_size=cache)
    for _ in range(3):  # with the cache on, the second and third calls are hits
        assert run(verifier.verify_async(token))["sub"] == oidc_claims()["sub"]
    refusing = make_oidc(custom_check=make_check(False), token_cache_size=cache)
    with pytest.raises(CustomCheckError, match="rejected") as excinfo:
        run(refusing.verify_async(token))
    assert excinfo.value.unverified_claims == oidc_claims()


def test_an_async_custom_check_runs_again_on_every_cache_hit(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    check = AsyncCheck()
    verifier = make_oidc(custom_check=check, token_cache_size=8)
    for _ in range(3):
        run(verifier.verify_async(token))
    assert check.calls == 3
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["hits"] == 2
    check.verdict = False
    with pytest.raises(CustomCheckError):
        run(verifier.verify_async(token))


def test_what_an_async_custom_check_raises(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())

    async def broken(claims: Claims) -> bool:
        await asyncio.sleep(0)
        raise LookupError("secret detail")

    async def refuses(claims: Claims) -> bool:
        await asyncio.sleep(0)
        raise AudienceMismatchError("not for us")

    with pytest.raises(CustomCheckError, match="raised LookupError") as excinfo:
        run(make_oidc(custom_check=broken).verify_async(token))
    assert "secret" not in str(excinfo.value)
    with pytest.raises(AudienceMismatchError, match="not for us") as caught:
        run(make_oidc(custom_check=refuses).verify_async(token))
    assert caught.value.unverified_claims == oidc_claims()


@pytest.mark.parametrize("make_check", ASYNC_CHECKS.values(), ids=ASYNC_CHECKS.keys())
def test_sync_verify_refuses_an_async_custom_check_before_any_work(make_check, make_oidc):
    verifier = make_oidc(custom_check=make_check(True))
    with pytest.raises(ConfigurationError, match="verify_async"):
        verifier.verify("not even a token")  # refused before parsing: it is the configuration


def test_a_sync_check_returning_an_awaitable_is_closed_under_sync_verify(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    made: list[Any] = []

    def sneaky(claims: Claims) -> Any:  # looks sync; returns a coroutine
        made.append(_async_verdict(True, claims))
        return made[-1]

    verifier = make_oidc(custom_check=sneaky)
    with pytest.raises(ConfigurationError, match="verify_async"):
        verifier.verify(token)
    assert inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED  # no RuntimeWarning
    assert run(verifier.verify_async(token))["sub"] == oidc_claims()["sub"]  # awaited there


def test_a_check_returning_a_falsy_non_awaitable_still_rejects(keys, make_oidc):
    token = keys["RS256"].sign(oidc_claims())
    for verdict in (False, 0, "", "no"):
        with pytest.raises(CustomCheckError):
            run(make_oidc(custom_check=lambda c, v=verdict: v).verify_async(token))


def test_an_async_custom_check_in_a_routed_verifier(keys, key_b, make_cognito, make_oidc):
    check = AsyncCheck()
    multi = MultiIssuerVerifier([make_oidc(custom_check=check), make_cognito()])
    token = keys["RS256"].sign(oidc_claims())
    assert run(multi.verify_async(token))["sub"] == oidc_claims()["sub"]
    assert check.calls == 1
    with pytest.raises(ConfigurationError, match="verify_async"):
        multi.verify(token)


# === MultiIssuerVerifier: one routed entry (hardening 2.9) =====================================
def test_multi_uses_the_inner_verifiers_token_cache(keys, make_cognito, make_oidc):
    inner = make_oidc(token_cache_size=8)
    multi = MultiIssuerVerifier([inner, make_cognito()])
    token = keys["RS256"].sign(oidc_claims())
    for _ in range(3):
        assert multi.verify(token)["sub"] == oidc_claims()["sub"]
    assert inner.token_cache_stats == {"hits": 2, "misses": 1, "size": 1, "max_size": 8}
    for _ in range(2):
        run(multi.verify_async(token))
    assert inner.token_cache_stats["hits"] == 4


def test_multi_cache_hits_still_apply_the_inner_rules(keys, make_cognito, make_oidc):
    now = [float(FIXED_NOW)]
    inner = make_oidc(token_cache_size=8, clock=lambda: now[0])
    multi = MultiIssuerVerifier([inner, make_cognito()])
    token = keys["RS256"].sign(oidc_claims(exp=FIXED_NOW + 10))
    multi.verify(token)
    now[0] += 10
    with pytest.raises(ExpiredTokenError):
        multi.verify(token)


def test_multi_refuses_verifiers_it_cannot_route(make_oidc):
    from cognito_jwt import AlbVerifier

    alb = AlbVerifier(alb_arn=_ALB_ARN, issuer="https://alb.example", client_id=None, store=None)
    with pytest.raises(ConfigurationError, match="AlbVerifier"):
        MultiIssuerVerifier([make_oidc(), alb])
    with pytest.raises(ConfigurationError, match="not a verifier"):
        MultiIssuerVerifier([make_oidc(), object()])  # type: ignore[list-item]
