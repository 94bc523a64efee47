"""The exception tree: codes, hierarchy, str/repr and the unverified context."""

from __future__ import annotations

import pickle

import pytest

import cognito_jwt
from cognito_jwt import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    ClaimError,
    ConfigurationError,
    CustomCheckError,
    DiscoveryError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidClientError,
    InvalidGrantError,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    OAuthError,
    RevocationUnavailableError,
    SigningError,
    TenantRateLimitError,
    TokenEndpointUnavailableError,
    TokenRevokedError,
    TokenUseMismatchError,
    UnsupportedCriticalHeaderError,
    _errors,
)

# The stable contract: callers log, count and branch on these strings.
CODES: dict[type[JwtError], str] = {
    JwtError: "ERR_JWT",
    ConfigurationError: "ERR_CONFIGURATION",
    MalformedTokenError: "ERR_MALFORMED_TOKEN",
    UnsupportedCriticalHeaderError: "ERR_CRIT_UNSUPPORTED",
    AlgorithmNotAllowedError: "ERR_ALG_NOT_ALLOWED",
    KeyNotFoundError: "ERR_KEY_NOT_FOUND",
    KeyAlgorithmMismatchError: "ERR_KEY_ALG_MISMATCH",
    InvalidSignatureError: "ERR_INVALID_SIGNATURE",
    ClaimError: "ERR_CLAIM_INVALID",
    ExpiredTokenError: "ERR_TOKEN_EXPIRED",
    NotYetValidError: "ERR_TOKEN_NOT_YET_VALID",
    MissingClaimError: "ERR_CLAIM_MISSING",
    IssuerMismatchError: "ERR_ISSUER_MISMATCH",
    AudienceMismatchError: "ERR_AUDIENCE_MISMATCH",
    TokenUseMismatchError: "ERR_TOKEN_USE_MISMATCH",
    InsufficientScopeError: "ERR_SCOPE_MISSING",
    MissingGroupError: "ERR_GROUP_MISSING",
    CustomCheckError: "ERR_CUSTOM_CHECK_FAILED",
    TokenRevokedError: "ERR_TOKEN_REVOKED",
    KeySetUnavailableError: "ERR_JWKS_UNAVAILABLE",
    InvalidJwksError: "ERR_JWKS_INVALID",
    DiscoveryError: "ERR_DISCOVERY",
    TenantRateLimitError: "ERR_TENANT_RATE_LIMITED",
    RevocationUnavailableError: "ERR_REVOCATION_UNAVAILABLE",
    SigningError: "ERR_SIGNING",
    OAuthError: "ERR_OAUTH",
    InvalidClientError: "ERR_OAUTH_INVALID_CLIENT",
    InvalidGrantError: "ERR_OAUTH_INVALID_GRANT",
    TokenEndpointUnavailableError: "ERR_TOKEN_ENDPOINT_UNAVAILABLE",
}

# Each class and its direct library parent (JwtError's parent is Exception).
PARENTS: dict[type[Exception], type[Exception]] = {
    JwtError: Exception,
    ConfigurationError: JwtError,
    MalformedTokenError: JwtError,
    UnsupportedCriticalHeaderError: MalformedTokenError,
    AlgorithmNotAllowedError: JwtError,
    KeyNotFoundError: JwtError,
    KeyAlgorithmMismatchError: KeyNotFoundError,
    InvalidSignatureError: JwtError,
    ClaimError: JwtError,
    ExpiredTokenError: ClaimError,
    NotYetValidError: ClaimError,
    MissingClaimError: ClaimError,
    IssuerMismatchError: ClaimError,
    AudienceMismatchError: ClaimError,
    TokenUseMismatchError: ClaimError,
    InsufficientScopeError: ClaimError,
    MissingGroupError: ClaimError,
    CustomCheckError: ClaimError,
    TokenRevokedError: ClaimError,
    KeySetUnavailableError: JwtError,
    InvalidJwksError: KeySetUnavailableError,
    DiscoveryError: KeySetUnavailableError,
    TenantRateLimitError: KeySetUnavailableError,
    RevocationUnavailableError: KeySetUnavailableError,
    SigningError: JwtError,
    OAuthError: JwtError,
    InvalidClientError: OAuthError,
    InvalidGrantError: OAuthError,
    TokenEndpointUnavailableError: OAuthError,
}

ALL = list(CODES)
FAMILIES = (
    ConfigurationError,
    MalformedTokenError,
    AlgorithmNotAllowedError,
    KeyNotFoundError,
    InvalidSignatureError,
    ClaimError,
    KeySetUnavailableError,
    SigningError,
    OAuthError,
)


def test_code_table_covers_every_error_class_in_the_module():
    defined = {
        obj for obj in vars(_errors).values() if isinstance(obj, type) and issubclass(obj, JwtError)
    }
    assert defined == set(CODES)
    assert set(_errors.__all__) == {cls.__name__ for cls in CODES}


def test_every_error_class_is_exported_from_the_package():
    for cls in CODES:
        assert getattr(cognito_jwt, cls.__name__) is cls
        assert cls.__name__ in cognito_jwt.__all__


@pytest.mark.parametrize(
    ("cls", "code"), list(CODES.items()), ids=lambda v: getattr(v, "__name__", v)
)
def test_code_is_the_documented_literal(cls, code):
    assert cls.code == code
    assert cls("m").code == code


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_code_is_prefixed_and_upper_snake_case(cls):
    assert cls.code.startswith("ERR_")
    assert cls.code == cls.code.upper()
    assert " " not in cls.code


def test_codes_are_unique():
    codes = [cls.code for cls in ALL]
    assert len(codes) == len(set(codes)) == 29


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_code_is_defined_on_the_class_itself_not_inherited(cls):
    assert "code" in vars(cls)


@pytest.mark.parametrize(("cls", "parent"), list(PARENTS.items()), ids=lambda c: c.__name__)
def test_direct_parent(cls, parent):
    assert issubclass(cls, parent)
    library_bases = [b for b in cls.__mro__[1:] if b in PARENTS or b is Exception]
    assert library_bases[0] is parent


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_class_is_a_jwt_error_and_an_exception(cls):
    assert issubclass(cls, JwtError)
    assert issubclass(cls, Exception)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_families_are_disjoint(cls):
    # Apart from the root, a class belongs to exactly one top-level family.
    families = [f for f in FAMILIES if issubclass(cls, f)]
    if cls is JwtError:
        assert families == []
    else:
        assert len(families) == 1


@pytest.mark.parametrize(
    ("cls", "ancestor", "expected"),
    [
        (ExpiredTokenError, ClaimError, True),
        (NotYetValidError, ClaimError, True),
        (CustomCheckError, ClaimError, True),
        (MissingGroupError, ClaimError, True),
        (InvalidJwksError, KeySetUnavailableError, True),
        (KeyAlgorithmMismatchError, KeyNotFoundError, True),
        (UnsupportedCriticalHeaderError, MalformedTokenError, True),
        (InvalidSignatureError, ClaimError, False),
        (KeyNotFoundError, KeySetUnavailableError, False),
        (InvalidJwksError, ConfigurationError, False),
        (AlgorithmNotAllowedError, MalformedTokenError, False),
        (ExpiredTokenError, NotYetValidError, False),
        (MissingClaimError, AudienceMismatchError, False),
        (ClaimError, ExpiredTokenError, False),
        (KeySetUnavailableError, InvalidJwksError, False),
    ],
)
def test_issubclass_table(cls, ancestor, expected):
    assert issubclass(cls, ancestor) is expected


def test_configuration_error_is_also_a_value_error():
    assert issubclass(ConfigurationError, ValueError)
    with pytest.raises(ValueError, match="bad option"):
        raise ConfigurationError("bad option")


@pytest.mark.parametrize(
    "cls", [c for c in ALL if c is not ConfigurationError], ids=lambda c: c.__name__
)
def test_only_configuration_error_is_a_value_error(cls):
    assert not issubclass(cls, ValueError)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_str_is_the_message(cls):
    err = cls("expected X, found Y", unverified_header={"alg": "RS256"})
    assert str(err) == "expected X, found Y"
    assert err.message == "expected X, found Y"
    assert err.args == ("expected X, found Y",)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_repr_shows_class_and_message_only(cls):
    err = cls(
        "the message",
        unverified_header={"alg": "RS256", "kid": "header-secret-kid"},
        unverified_claims={"sub": "claims-secret-sub", "email": "bob@example.com"},
    )
    text = repr(err)
    assert text == f"{cls.__name__}('the message')"
    for secret in ("header-secret-kid", "claims-secret-sub", "bob@example.com", "RS256"):
        assert secret not in text
        assert secret not in str(err)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_unverified_context_defaults_to_none(cls):
    err = cls("m")
    assert err.unverified_header is None
    assert err.unverified_claims is None


def test_unverified_context_is_kept_as_given():
    header = {"alg": "ES256", "kid": "k1"}
    claims = {"sub": "u", "exp": 1}
    err = ExpiredTokenError("m", unverified_header=header, unverified_claims=claims)
    assert err.unverified_header == {"alg": "ES256", "kid": "k1"}
    assert err.unverified_claims == {"sub": "u", "exp": 1}


def test_unverified_context_is_keyword_only():
    with pytest.raises(TypeError):
        JwtError("m", {"alg": "RS256"})  # type: ignore[misc]


def test_message_is_required():
    with pytest.raises(TypeError):
        JwtError()  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", [ExpiredTokenError, InvalidJwksError, ConfigurationError])
def test_catchable_as_base_class(cls):
    with pytest.raises(JwtError) as excinfo:
        raise cls("boom")
    assert type(excinfo.value) is cls
    assert excinfo.value.code == CODES[cls]


def test_pickle_round_trip_keeps_message_code_and_context():
    err = MissingGroupError(
        "no group", unverified_header={"alg": "RS256"}, unverified_claims={"sub": "x"}
    )
    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(copy) is MissingGroupError
    assert str(copy) == "no group"
    assert copy.code == "ERR_GROUP_MISSING"
    assert copy.unverified_header == {"alg": "RS256"}
    assert copy.unverified_claims == {"sub": "x"}


def test_oauth_error_carries_the_server_answer_and_pickles():
    err = InvalidGrantError(
        "refused", error="invalid_grant", error_description="code used", status_code=400
    )
    assert (err.error, err.error_description, err.error_uri, err.status_code) == (
        "invalid_grant",
        "code used",
        None,
        400,
    )
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(back) is InvalidGrantError
    assert (back.error, back.error_description, back.status_code) == (
        "invalid_grant",
        "code used",
        400,
    )


def test_claim_error_carries_claim_expected_found_and_pickles():
    err = IssuerMismatchError(
        "issuer 'x' is not 'y'", claim="iss", expected="'y'", found="'x'", unverified_claims={}
    )
    assert (err.claim, err.expected, err.found) == ("iss", "'y'", "'x'")
    back = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert type(back) is IssuerMismatchError
    assert (back.claim, back.expected, back.found) == ("iss", "'y'", "'x'")
    bare = ClaimError("m")
    assert (bare.claim, bare.expected, bare.found) == (None, None, None)


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("repr ran")


class _HostileStr(str):
    __slots__ = ()

    def __repr__(self) -> str:
        raise RuntimeError("repr ran")

    def __getitem__(self, key: object) -> str:
        raise RuntimeError("getitem ran")


def _deep(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("kid-1", "'kid-1'"),
        ("a" * 100, "'" + "a" * 36 + "..."),
        (b"\x00x", "b'\\x00x'"),
        (None, "None"),
        (True, "True"),
        (7, "7"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (10**5000, "an int of 16610 bits"),
        (-(10**5000), "an int of 16610 bits"),
        ([1, 2], "a list"),
        ({"a": 1}, "a dict"),
        (_deep(100_000), "a list"),
        (_Hostile(), "a _Hostile"),
        (_HostileStr("abc"), "'abc'"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else type(v).__name__,
)
def test_bounded_repr_is_safe_and_bounded(value: object, shown: str) -> None:
    text = _errors.bounded_repr(value)
    assert text == shown
    assert len(text) <= 40


def test_every_exported_error_is_documented_in_errors_md():
    # Paper cut (vii): docs/errors.md named neither DiscoveryError, SigningError nor the OAuth
    # errors. Every JwtError subclass the package exports has a row with its code.
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "errors.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip(" `")
        for line in page.splitlines()
        if line.startswith("| `")
    }
    exported = {
        getattr(cognito_jwt, name)
        for name in cognito_jwt.__all__
        if isinstance(getattr(cognito_jwt, name), type)
        and issubclass(getattr(cognito_jwt, name), JwtError)
    }
    assert exported == set(CODES)
    for cls in exported:
        assert rows.get(cls.__name__) == cls.code, cls.__name__
