"""The pure claim checks in ``_validate``."""

from __future__ import annotations

from typing import Any

import pytest

from cognito_jwt import (
    AudienceMismatchError,
    ClaimError,
    ConfigurationError,
    CustomCheckError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    TokenUseMismatchError,
)
from cognito_jwt._normalise import string_set
from cognito_jwt._validate import (
    FUTURE_SKEW,
    check_any_group,
    check_any_scope,
    check_audience,
    check_custom,
    check_issuer,
    check_required,
    check_times,
    numeric_date,
    scopes_of,
)

EXP = 1_000_000.0


# --- numeric_date -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value", [0, 1, -5, 1_800_000_000, 1.5, 0.0, -0.5, 253_402_300_799, -62_135_596_800]
)
def test_numeric_date_accepts_finite_numbers(value):
    result = numeric_date({"exp": value}, "exp")
    assert result == value
    assert type(result) is type(value)


def test_numeric_date_absent_is_none():
    assert numeric_date({}, "exp") is None
    assert numeric_date({"iat": 5}, "exp") is None


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (None, "NoneType"),
        ("1800000000", "str"),
        ("", "str"),
        (True, "bool"),
        (False, "bool"),
        ([1], "list"),
        ([], "list"),
        ({"t": 1}, "dict"),
        (float("nan"), "float"),
        (float("inf"), "float"),
        (float("-inf"), "float"),
    ],
    ids=repr,
)
def test_numeric_date_rejects_non_numbers(value, type_name):
    with pytest.raises(ClaimError) as excinfo:
        numeric_date({"nbf": value}, "nbf")
    assert type(excinfo.value) is ClaimError
    assert "'nbf'" in str(excinfo.value)
    assert "NumericDate" in str(excinfo.value)
    assert type_name in str(excinfo.value)


# --- check_times: exp -------------------------------------------------------------------------
def test_exp_missing_is_missing_claim():
    with pytest.raises(MissingClaimError, match="'exp'"):
        check_times({"iat": EXP - 10}, EXP - 5, 0.0)


def test_exp_null_is_a_type_error_not_missing():
    with pytest.raises(ClaimError) as excinfo:
        check_times({"exp": None}, EXP - 5, 0.0)
    assert type(excinfo.value) is ClaimError


@pytest.mark.parametrize(
    ("now", "leeway", "expired"),
    [
        (EXP, 0.0, True),
        (EXP - 0.001, 0.0, False),
        (EXP + 0.001, 0.0, True),
        (EXP - 3600, 0.0, False),
        (EXP + 3600, 0.0, True),
        (EXP, 5.0, False),
        (EXP + 4.999, 5.0, False),
        (EXP + 5, 5.0, True),
        (EXP + 5.001, 5.0, True),
        (EXP + 59, 60.0, False),
        (EXP + 60, 60.0, True),
    ],
)
def test_exp_boundaries(now, leeway, expired):
    payload = {"exp": EXP}
    if expired:
        with pytest.raises(ExpiredTokenError) as excinfo:
            check_times(payload, now, leeway)
        assert "expired" in str(excinfo.value)
    else:
        assert check_times(payload, now, leeway) is None


def test_exp_as_int_boundary():
    with pytest.raises(ExpiredTokenError):
        check_times({"exp": 1000}, 1000.0, 0.0)
    check_times({"exp": 1000}, 999.999, 0.0)


@pytest.mark.parametrize(
    "value", ["1000", True, [1000], {"a": 1}, float("nan"), float("inf"), None], ids=repr
)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_type_strictness(claim, value):
    payload: dict[str, Any] = {"exp": EXP}
    payload[claim] = value
    with pytest.raises(ClaimError) as excinfo:
        check_times(payload, EXP - 100, 0.0)
    assert type(excinfo.value) is ClaimError
    assert repr(claim) in str(excinfo.value)


# --- check_times: nbf -------------------------------------------------------------------------
NBF = EXP - 1000


@pytest.mark.parametrize(
    ("now", "leeway", "rejected"),
    [
        (NBF, 0.0, False),
        (NBF + 1, 0.0, False),
        (NBF - 0.001, 0.0, True),
        (NBF - 1, 0.0, True),
        (NBF - 10, 10.0, False),  # now + leeway == nbf is ok
        (NBF - 10.001, 10.0, True),
        (NBF - 9, 10.0, False),
        (NBF - 11, 10.0, True),
    ],
)
def test_nbf_boundaries(now, leeway, rejected):
    payload = {"exp": EXP, "nbf": NBF}
    if rejected:
        with pytest.raises(NotYetValidError, match="not valid before") as info:
            check_times(payload, now, leeway, future_skew=0)
        assert info.value.claim == "nbf"
    else:
        assert check_times(payload, now, leeway, future_skew=0) is None


# --- check_times: iat -------------------------------------------------------------------------
IAT = EXP - 1000


@pytest.mark.parametrize(
    ("now", "leeway", "rejected"),
    [
        (IAT, 0.0, False),  # issued right now
        (IAT + 100, 0.0, False),
        (IAT - 0.001, 0.0, True),
        (IAT - 5, 5.0, False),  # iat == now + leeway is ok
        (IAT - 5.001, 5.0, True),
        (IAT - 30, 60.0, False),
    ],
)
def test_iat_boundaries(now, leeway, rejected):
    payload = {"exp": EXP, "iat": IAT}
    if rejected:
        with pytest.raises(NotYetValidError, match="issued in the future") as info:
            check_times(payload, now, leeway, future_skew=0)
        assert info.value.claim == "iat"
    else:
        assert check_times(payload, now, leeway, future_skew=0) is None


# Paper cut (ii): by default nbf and iat may lie up to FUTURE_SKEW (60 s) ahead of the clock
# (an issuer whose clock runs 1-3 s fast is ordinary); exp keeps leeway alone (0 by default).
@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize(
    ("ahead", "leeway", "rejected"),
    [
        (1, 0.0, False),
        (3, 0.0, False),
        (60, 0.0, False),
        (60.001, 0.0, True),
        (3600, 0.0, True),
        (90, 120.0, False),  # a larger leeway wins
        (120.001, 120.0, True),
    ],
)
def test_default_future_skew_for_nbf_and_iat(claim, ahead, leeway, rejected):
    assert FUTURE_SKEW == 60
    now = EXP - 1000
    payload = {"exp": EXP, claim: now + ahead}
    if rejected:
        with pytest.raises(NotYetValidError):
            check_times(payload, now, leeway)
    else:
        assert check_times(payload, now, leeway) is None


def test_exp_gets_no_future_skew():
    with pytest.raises(ExpiredTokenError) as info:
        check_times({"exp": EXP}, EXP, 0.0)
    assert (info.value.claim, info.value.found) == ("exp", f"{EXP:.0f}")


def test_expiry_is_checked_before_nbf_and_iat():
    with pytest.raises(ExpiredTokenError):
        check_times({"exp": EXP, "nbf": EXP + 10, "iat": "bad"}, EXP + 1, 0.0)


def test_nbf_is_checked_before_iat():
    with pytest.raises(NotYetValidError, match="not valid before"):
        check_times({"exp": EXP, "nbf": EXP - 10, "iat": EXP - 10}, EXP - 200, 0.0)


def test_optional_nbf_and_iat_may_be_absent():
    assert check_times({"exp": EXP}, EXP - 1, 0.0) is None


# Hardening 2.11: a NumericDate beyond what a date can be (year 9999) is not "never expires".
# Python's JSON parser turns a long digit string into an int too large for a float; such a
# NumericDate is valid JSON and a signed token may carry it: a ClaimError, never OverflowError.
BEYOND = [
    10**400,
    -(10**400),
    2**1024,
    1e308,
    -1e308,
    253_402_300_800,  # 10000-01-01T00:00:00Z
    253_402_300_799.5,
    -62_135_596_801,
    10**20,
]


@pytest.mark.parametrize(
    "value", BEYOND, ids=lambda v: f"{float(v) if abs(v) < 1e300 else v / 10**300:.3g}"
)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_time_claims_beyond_year_9999_are_claim_errors(claim, value):
    payload: dict[str, Any] = {"exp": EXP}
    payload[claim] = value
    with pytest.raises(ClaimError, match="beyond what a date can be") as info:
        check_times(payload, EXP - 100, 0.0)
    assert type(info.value) is ClaimError
    assert info.value.claim == claim
    assert info.value.expected == "a NumericDate from year 1 to 9999"
    assert len(info.value.found or "") <= 40


def test_exp_at_the_last_second_of_year_9999_is_fine():
    assert check_times({"exp": 253_402_300_799}, EXP, 0.0) is None


# --- check_issuer -----------------------------------------------------------------------------
ISS = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool"


@pytest.mark.parametrize("issuers", [{ISS}, {ISS, "https://other.example"}])
def test_issuer_exact_match(issuers):
    assert check_issuer({"iss": ISS}, frozenset(issuers)) is None


@pytest.mark.parametrize(
    "iss",
    [
        ISS + "/",
        ISS.upper(),
        ISS.replace("https://", "HTTPS://"),
        ISS.replace("eu-west-1_Pool", "eu-west-1_pool"),
        " " + ISS,
        ISS + " ",
        ISS.replace("https", "http"),
        ISS + "/.well-known/jwks.json",
        ISS[:-1],
        "",
    ],
)
def test_issuer_no_normalisation(iss):
    with pytest.raises(IssuerMismatchError) as excinfo:
        check_issuer({"iss": iss}, frozenset({ISS}))
    assert ISS in str(excinfo.value)


@pytest.mark.parametrize("iss", [None, 1, True, [ISS], {"iss": ISS}, b"x"], ids=repr)
def test_issuer_not_a_string(iss):
    with pytest.raises(IssuerMismatchError, match="missing or not a string"):
        check_issuer({"iss": iss}, frozenset({ISS}))


def test_issuer_missing():
    with pytest.raises(IssuerMismatchError, match="missing or not a string"):
        check_issuer({}, frozenset({ISS}))


def test_issuer_error_message_truncates_long_values():
    with pytest.raises(IssuerMismatchError) as excinfo:
        check_issuer({"iss": "x" * 10_000}, frozenset({ISS}))
    assert len(str(excinfo.value)) < 300
    assert "..." in str(excinfo.value)


# --- check_audience ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("aud", "audiences"),
    [
        ("api", {"api"}),
        ("api", {"api", "other"}),
        (["api"], {"api"}),
        (["x", "api"], {"api"}),
        (["x", "api", "y"], {"api", "z"}),
        (["api", "api"], {"api"}),
    ],
)
def test_audience_accepted(aud, audiences):
    assert check_audience({"aud": aud}, frozenset(audiences)) is None


@pytest.mark.parametrize(
    "aud",
    ["API", "api ", "", "other", ["other"], ["x", "y"], ["API"]],
)
def test_audience_mismatch(aud):
    with pytest.raises(AudienceMismatchError) as excinfo:
        check_audience({"aud": aud}, frozenset({"api"}))
    assert "'api'" in str(excinfo.value)


@pytest.mark.parametrize(
    "aud",
    [[], ["api", 1], [1], ["api", None], [["api"]], {"api": True}, 5, True, 1.5, ("api",)],
    ids=repr,
)
def test_audience_wrong_type(aud):
    with pytest.raises(AudienceMismatchError, match="must be a string or a non-empty list"):
        check_audience({"aud": aud}, frozenset({"api"}))


@pytest.mark.parametrize("payload", [{}, {"aud": None}])
def test_audience_missing(payload):
    with pytest.raises(AudienceMismatchError, match="missing"):
        check_audience(payload, frozenset({"api"}))


# --- check_required ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ({"a": 1, "b": "x"}, ("a", "b")),
        ({"a": 0}, ("a",)),
        ({"a": ""}, ("a",)),
        ({"a": False}, ("a",)),
        ({"a": []}, ("a",)),
        ({"a": {}}, ("a",)),
        ({}, ()),
    ],
    ids=repr,
)
def test_required_present(payload, names):
    assert check_required(payload, names) is None


@pytest.mark.parametrize(
    ("payload", "names", "missing"),
    [
        ({}, ("email",), "email"),
        ({"email": None}, ("email",), "email"),
        ({"a": 1}, ("a", "b"), "b"),
        ({"b": 1}, ("a", "b"), "a"),
    ],
)
def test_required_missing(payload, names, missing):
    with pytest.raises(MissingClaimError) as excinfo:
        check_required(payload, names)
    assert repr(missing) in str(excinfo.value)


# --- check_any_scope --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "required"),
    [
        ("a", {"a"}),
        ("a b c", {"c"}),
        ("a b c", {"x", "b"}),
        ("orders/read orders/write", {"orders/write", "admin"}),
        ("!#[]~", {"!#[]~"}),
    ],
)
def test_any_scope_accepted(scope, required):
    assert check_any_scope({"scope": scope}, frozenset(required)) is None


@pytest.mark.parametrize(
    ("scope", "required"),
    [
        ("a b", {"c"}),
        ("ab", {"a"}),
        ("A", {"a"}),
        ("orders/read", {"orders"}),
        ("a,b", {"a"}),
    ],
)
def test_any_scope_rejected(scope, required):
    with pytest.raises(InsufficientScopeError, match="none of the scopes") as info:
        check_any_scope({"scope": scope}, frozenset(required))
    assert info.value.claim == "scope"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"scope": None},
        {"scope": ["a"]},
        {"scope": 1},
        {"scp": ["a"]},
        {"scp": "a"},
        {"scope": ""},
        # Only U+0020 separates scope tokens (RFC 6749 section 3.3, hardening 2.7).
        {"scope": "openid\u00a0a"},
        {"scope": "openid\u3000a"},
        {"scope": "openid\ta"},
        {"scope": "openid\na"},
        {"scope": "openid\x0ba"},
        {"scope": "  a\tb "},
        {"scope": "a  b"},
        {"scope": " a"},
        {"scope": "a "},
        {"scope": "a\\ b"},
        {"scope": "\u0430"},  # Cyrillic a
    ],
    ids=repr,
)
def test_any_scope_missing_or_not_rfc_6749(payload):
    with pytest.raises(InsufficientScopeError) as info:
        check_any_scope(payload, frozenset({"a"}))
    if isinstance(payload.get("scope"), str):
        assert "not a list of scope tokens separated by single spaces" in str(info.value)
    else:
        assert "is missing or not a string" in str(info.value)
    assert info.value.claim == "scope"


def test_scope_tokens_with_other_spaces_are_not_split():
    # The audit's reproduction: a no-break space does not make "admin" a granted scope.
    assert scopes_of({"scope": "openid\u00a0admin"}) is None
    assert scopes_of({"scope": "openid admin"}) == {"openid", "admin"}


# --- check_any_group --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("groups", "required"),
    [
        (["admins"], {"admins"}),
        (["admins", "staff"], {"staff"}),
        (["admins", "staff"], {"nobody", "admins"}),
    ],
)
def test_any_group_accepted(groups, required):
    assert check_any_group({"cognito:groups": groups}, frozenset(required)) is None


@pytest.mark.parametrize(
    ("groups", "required"),
    [
        ([], {"admins"}),
        (["staff"], {"admins"}),
        (["Admins"], {"admins"}),
        (["admins staff"], {"admins"}),
    ],
)
def test_any_group_rejected(groups, required):
    with pytest.raises(MissingGroupError, match="none of the groups"):
        check_any_group({"cognito:groups": groups}, frozenset(required))


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"cognito:groups": None},
        {"cognito:groups": "admins"},
        {"cognito:groups": ["admins", 1]},
        {"cognito:groups": {"admins": 1}},
        {"groups": ["admins"]},
    ],
    ids=repr,
)
def test_any_group_missing_or_wrong_type(payload):
    with pytest.raises(MissingGroupError, match="missing or not a list of strings"):
        check_any_group(payload, frozenset({"admins"}))


# --- check_custom -----------------------------------------------------------------------------
@pytest.mark.parametrize("result", [None, True])
def test_custom_accepts_none_and_true(result):
    seen = []

    def check(claims: object) -> object:
        seen.append(claims)
        return result

    marker = object()
    assert check_custom(check, marker) is None
    assert seen == [marker]


@pytest.mark.parametrize(
    "result", [False, 0, 1, "", "yes", "True", 1.0, [], [True], {}, object()], ids=repr
)
def test_custom_rejects_any_other_return_value(result):
    with pytest.raises(CustomCheckError, match="rejected"):
        check_custom(lambda _c: result, {})


@pytest.mark.parametrize(
    "error",
    [
        CustomCheckError("nope"),
        ExpiredTokenError("custom expiry"),
        TokenUseMismatchError("wrong use"),
        InvalidSignatureError("odd but allowed"),
        ConfigurationError("config"),
        JwtError("base"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_custom_jwt_errors_pass_through_unchanged(error):
    def check(_claims: object) -> object:
        raise error

    with pytest.raises(JwtError) as excinfo:
        check_custom(check, {})
    assert excinfo.value is error
    assert type(excinfo.value) is type(error)
    assert excinfo.value.__cause__ is None


@pytest.mark.parametrize(
    "error",
    [
        ValueError("secret-db-row-42"),
        KeyError("secret-db-row-42"),
        RuntimeError("secret-db-row-42"),
        TypeError("secret-db-row-42"),
        ZeroDivisionError("secret-db-row-42"),
        LookupError("secret-db-row-42"),
        OSError("secret-db-row-42"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_custom_other_exceptions_become_custom_check_error(error):
    def check(_claims: object) -> object:
        raise error

    with pytest.raises(CustomCheckError) as excinfo:
        check_custom(check, {})
    assert type(excinfo.value) is CustomCheckError
    assert excinfo.value.__cause__ is error
    assert "secret-db-row-42" not in str(excinfo.value)
    assert "secret-db-row-42" not in repr(excinfo.value)
    assert type(error).__name__ in str(excinfo.value)


def test_custom_base_exceptions_are_not_swallowed():
    class Stop(BaseException):
        pass

    def check(_claims: object) -> object:
        raise Stop

    with pytest.raises(Stop):
        check_custom(check, {})


# --- string_set (the one normaliser, in _normalise) --------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a", {"a"}),
        (["a"], {"a"}),
        (["a", "b"], {"a", "b"}),
        (["a", "b", "a"], {"a", "b"}),
        (("a", "b"), {"a", "b"}),
        ({"a", "b"}, {"a", "b"}),
        (frozenset({"a"}), {"a"}),
        ((s for s in ("x", "y")), {"x", "y"}),
        (" a ", {" a "}),
    ],
    ids=repr,
)
def test_string_set_normalises(value, expected):
    result = string_set(value, "audience")
    assert type(result) is frozenset
    assert result == frozenset(expected)


def test_string_set_none_is_none():
    assert string_set(None, "audience") is None


@pytest.mark.parametrize(
    "value",
    [
        b"api",
        b"",
        "",
        [],
        (),
        set(),
        [""],
        ["a", ""],
        ["a", 1],
        [None],
        [b"a"],
        1,
        0,
        1.5,
        True,
        object(),
    ],
    ids=repr,
)
def test_string_set_configuration_errors(value):
    with pytest.raises(ConfigurationError) as excinfo:
        string_set(value, "my_option")
    assert "my_option" in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("value", [[["a"]], [{"a"}], [{"a": 1}]], ids=repr)
def test_string_set_unhashable_members_are_configuration_errors(value):
    # A nested list is a plausible config mistake; it must surface as ConfigurationError,
    # not as a bare TypeError from building the frozenset.
    with pytest.raises(ConfigurationError):
        string_set(value, "my_option")


# --- Hostile values in a payload built in Python (hardening 2.5) --------------------------------
HUGE = 10**5000  # more digits than str() will print


@pytest.mark.parametrize(
    ("check", "payload"),
    [
        (lambda p: check_issuer(p, frozenset({ISS})), {"iss": HUGE}),
        (lambda p: check_audience(p, frozenset({"a"})), {"aud": HUGE}),
        (lambda p: check_audience(p, frozenset({"a"})), {"aud": [HUGE]}),
        (lambda p: check_any_scope(p, frozenset({"a"})), {"scope": HUGE}),
        (lambda p: check_any_group(p, frozenset({"a"})), {"cognito:groups": [HUGE]}),
        (lambda p: check_any_group(p, frozenset({"a"})), {"cognito:groups": HUGE}),
        (lambda p: check_times(p, EXP, 0.0), {"exp": HUGE}),
        (lambda p: check_times(p, EXP, 0.0), {"exp": EXP + 10, "nbf": -HUGE}),
        (lambda p: check_required(p, ("x",)), {"x": None}),
    ],
)
def test_unprintable_values_give_bounded_claim_errors(check, payload):
    with pytest.raises(ClaimError) as info:
        check(payload)
    assert len(str(info.value)) < 300
    assert len(info.value.found or "") <= 80
    assert info.value.claim is not None
