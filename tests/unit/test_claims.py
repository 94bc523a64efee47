"""``Claims``: a read-only mapping of the payload with typed helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from cognito_jwt import Claims, InsufficientScopeError, MissingGroupError
from cognito_jwt._validate import check_any_group, check_any_scope
from tests.helpers import CLIENT_ID, FIXED_NOW, ISSUER, access_claims, id_claims

FIXED_DT = datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)


# --- Mapping behaviour ----------------------------------------------------------------------------
def test_fixed_now_constant_is_the_documented_instant():
    assert datetime.fromtimestamp(FIXED_NOW, tz=timezone.utc) == FIXED_DT


def test_is_a_mapping():
    claims = Claims({"a": 1})
    assert isinstance(claims, Mapping)
    assert not isinstance(claims, dict)


def test_getitem_returns_value_and_raises_key_error_when_absent():
    claims = Claims({"sub": "alice", "n": 0, "null": None})
    assert claims["sub"] == "alice"
    assert claims["n"] == 0
    assert claims["null"] is None
    with pytest.raises(KeyError):
        claims["missing"]


def test_get_with_default():
    claims = Claims({"sub": "alice"})
    assert claims.get("sub") == "alice"
    assert claims.get("missing") is None
    assert claims.get("missing", 42) == 42


def test_iter_len_keys_values_items_preserve_payload_order():
    payload = {"z": 1, "a": 2, "m": [3]}
    claims = Claims(payload)
    assert list(claims) == ["z", "a", "m"]
    assert len(claims) == 3
    assert list(claims.keys()) == ["z", "a", "m"]
    assert list(claims.values()) == [1, 2, [3]]
    assert list(claims.items()) == [("z", 1), ("a", 2), ("m", [3])]


def test_empty_claims():
    claims = Claims({})
    assert len(claims) == 0
    assert list(claims) == []
    assert claims.to_dict() == {}
    assert claims.header == {}


@pytest.mark.parametrize(
    ("key", "expected"), [("sub", True), ("null", True), ("nope", False), (1, False), (None, False)]
)
def test_contains(key, expected):
    claims = Claims({"sub": "alice", "null": None})
    assert (key in claims) is expected


def test_equality_with_a_dict():
    assert Claims({"a": 1, "b": [2]}) == {"a": 1, "b": [2]}
    assert Claims({"a": 1}) != {"a": 2}


def test_repr_names_the_class_and_payload():
    assert repr(Claims({"sub": "alice"})) == "Claims({'sub': 'alice'})"


def test_to_dict_is_an_independent_copy():
    claims = Claims({"sub": "alice", "n": 1})
    copy = claims.to_dict()
    assert type(copy) is dict
    assert copy == {"sub": "alice", "n": 1}
    copy["sub"] = "mallory"
    copy["extra"] = True
    del copy["n"]
    assert claims["sub"] == "alice"
    assert "extra" not in claims
    assert claims["n"] == 1
    assert claims.to_dict() is not claims.to_dict()


def test_to_dict_copies_nested_values_so_claims_stay_read_only():
    claims = Claims({"cognito:groups": ["staff"], "address": {"country": "FR"}})
    copy = claims.to_dict()
    copy["cognito:groups"].append("admins")
    copy["address"]["country"] = "XX"
    assert claims.groups == ("staff",)
    assert claims["address"] == {"country": "FR"}


def test_json_dumps_of_to_dict_round_trips():
    # Paper cut (iii): json.dumps(claims) raises TypeError (Claims is a Mapping, not a dict);
    # the documented way is json.dumps(claims.to_dict()).
    payload = access_claims(address={"country": "FR"}, score=1.5, ok=True, none=None)
    claims = Claims(payload, {"alg": "RS256"})
    assert json.loads(json.dumps(claims.to_dict())) == payload
    assert "json.dumps(claims.to_dict())" in (Claims.__doc__ or "")
    assert "json.dumps(claims.to_dict())" in (Claims.to_dict.__doc__ or "")


def test_constructor_copies_the_payload_and_header():
    payload = {"sub": "alice"}
    header = {"alg": "RS256"}
    claims = Claims(payload, header)
    payload["sub"] = "mallory"
    payload["new"] = 1
    header["alg"] = "none"
    assert claims["sub"] == "alice"
    assert "new" not in claims
    assert claims.header["alg"] == "RS256"


# --- Read-only --------------------------------------------------------------------------------
def test_has_no_mutating_methods():
    claims = Claims({"a": 1})
    for name in ("__setitem__", "__delitem__", "pop", "popitem", "update", "setdefault", "clear"):
        assert not hasattr(claims, name), name


def test_item_assignment_raises_type_error():
    claims = Claims({"a": 1})
    with pytest.raises(TypeError):
        claims["a"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        claims["b"] = 2  # type: ignore[index]
    assert claims.to_dict() == {"a": 1}


def test_item_deletion_raises_type_error():
    claims = Claims({"a": 1})
    with pytest.raises(TypeError):
        del claims["a"]  # type: ignore[attr-defined]
    assert claims["a"] == 1


@pytest.mark.parametrize("name", ["sub", "issuer", "scopes", "expires_at", "header"])
def test_helper_properties_cannot_be_assigned(name):
    claims = Claims({"sub": "alice"})
    with pytest.raises(AttributeError):
        setattr(claims, name, "x")


def test_no_arbitrary_attributes():
    claims = Claims({"sub": "alice"})
    with pytest.raises(AttributeError):
        claims.anything = 1  # type: ignore[attr-defined]


def test_not_hashable_like_other_mappings():
    with pytest.raises(TypeError):
        hash(Claims({"a": 1}))


# --- String helpers ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prop", "claim"),
    [("sub", "sub"), ("issuer", "iss"), ("token_use", "token_use"), ("jti", "jti")],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("value-1", "value-1"),
        ("", ""),
        (123, None),
        (1.5, None),
        (True, None),
        (None, None),
        (["value-1"], None),
        ({"a": "b"}, None),
    ],
)
def test_string_helpers(prop, claim, value, expected):
    assert getattr(Claims({claim: value}), prop) == expected


@pytest.mark.parametrize("prop", ["sub", "issuer", "token_use", "jti", "client_id", "username"])
def test_string_helpers_absent(prop):
    assert getattr(Claims({}), prop) is None


def test_helpers_on_a_real_access_token():
    claims = Claims(access_claims())
    assert claims.sub == "8d2f5f0e-1111-4222-8333-444455556666"
    assert claims.issuer == ISSUER
    assert claims.client_id == CLIENT_ID
    assert claims.token_use == "access"
    assert claims.username == "alice"
    assert claims.scopes == frozenset({"orders/read", "orders/write"})
    assert claims.groups == ("admins", "staff")
    assert claims.jti == "f00dfeed-0000-4000-8000-000000000002"
    assert claims.audience == ()
    assert claims.expires_at == FIXED_DT + timedelta(hours=1)
    assert claims.issued_at == FIXED_DT - timedelta(minutes=1)
    assert claims.auth_time == FIXED_DT - timedelta(minutes=1)
    assert claims.not_before is None


def test_helpers_on_a_real_id_token():
    claims = Claims(id_claims())
    assert claims.audience == (CLIENT_ID,)
    assert claims.client_id is None
    assert claims.token_use == "id"
    assert claims.username == "alice"
    assert claims.scopes == frozenset()
    assert claims["email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"aud": "api"}, ("api",)),
        ({"aud": ""}, ("",)),
        ({"aud": ["a", "b"]}, ("a", "b")),
        ({"aud": ["a", 1, None, "b", ["c"], True]}, ("a", "b")),
        ({"aud": []}, ()),
        ({"aud": [1, 2]}, ()),
        ({"aud": 5}, ()),
        ({"aud": {"a": "b"}}, ()),
        ({"aud": ("a", "b")}, ()),
        ({"aud": None}, ()),
        ({}, ()),
    ],
)
def test_audience(payload, expected):
    audience = Claims(payload).audience
    assert type(audience) is tuple
    assert audience == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"client_id": "c1"}, "c1"),
        ({"azp": "a1"}, "a1"),
        ({"client_id": "c1", "azp": "a1"}, "c1"),
        ({"client_id": 123, "azp": "a1"}, "a1"),
        ({"client_id": None, "azp": "a1"}, "a1"),
        ({"client_id": ["c1"]}, None),
        ({"azp": 5}, None),
        ({"client_id": 1, "azp": 2}, None),
        ({}, None),
    ],
)
def test_client_id(payload, expected):
    assert Claims(payload).client_id == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"username": "alice"}, "alice"),
        ({"cognito:username": "bob"}, "bob"),
        ({"username": "alice", "cognito:username": "bob"}, "alice"),
        ({"username": 7, "cognito:username": "bob"}, "bob"),
        ({"username": None, "cognito:username": "bob"}, "bob"),
        ({"username": ["alice"]}, None),
        ({"cognito:username": True}, None),
        ({}, None),
    ],
)
def test_username(payload, expected):
    assert Claims(payload).username == expected


# One table for the helpers and the verifier's checks (hardening 2.7, 2.8): what Claims.scopes
# and Claims.groups return is exactly what scopes=/groups= accept.
SCOPE_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"scope": "a b c"}, {"a", "b", "c"}),
    ({"scope": "a a b"}, {"a", "b"}),
    ({"scope": "orders/read"}, {"orders/read"}),
    ({"scope": "openid admin"}, {"openid", "admin"}),
    # RFC 6749 §3.3: single U+0020 between printable-ASCII tokens, nothing else.
    ({"scope": "openid\u00a0admin"}, set()),
    ({"scope": "openid\u2003admin"}, set()),
    ({"scope": "openid\tadmin"}, set()),
    ({"scope": "openid\nadmin"}, set()),
    ({"scope": "  a b"}, set()),
    ({"scope": "a b "}, set()),
    ({"scope": "a  b"}, set()),
    ({"scope": 'a "b"'}, set()),
    ({"scope": "caf\u00e9"}, set()),
    ({"scope": ""}, set()),
    ({"scope": "   "}, set()),
    # scp is never read, whatever scope holds.
    ({"scp": ["a", "b"]}, set()),
    ({"scp": "a b"}, set()),
    ({"scope": "x", "scp": ["y"]}, {"x"}),
    ({"scope": ["x"], "scp": ["y"]}, set()),
    ({"scope": ["x"]}, set()),
    ({"scope": 5}, set()),
    ({"scope": None}, set()),
    ({}, set()),
]
GROUP_CASES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"cognito:groups": ["admins", "staff"]}, ("admins", "staff")),
    ({"cognito:groups": []}, ()),
    ({"cognito:groups": ["admins staff"]}, ("admins staff",)),
    # A list with a non-string, or a single string, is not a list of groups: no group at all.
    ({"cognito:groups": ["admins", 3, None]}, ()),
    ({"cognito:groups": "admins"}, ()),
    ({"cognito:groups": 3}, ()),
    ({"cognito:groups": {"admins": True}}, ()),
    ({"groups": ["admins"]}, ()),
    ({}, ()),
]


@pytest.mark.parametrize(("payload", "expected"), SCOPE_CASES, ids=repr)
def test_scopes(payload, expected):
    scopes = Claims(payload).scopes
    assert type(scopes) is frozenset
    assert scopes == frozenset(expected)


@pytest.mark.parametrize(("payload", "expected"), SCOPE_CASES, ids=repr)
@pytest.mark.parametrize("wanted", ["a", "admin", "x", "y", "b", "openid"])
def test_scopes_agree_with_the_verifier_check(payload, expected, wanted):
    granted = wanted in Claims(payload).scopes
    try:
        check_any_scope(payload, frozenset({wanted}))
    except InsufficientScopeError:
        assert not granted
    else:
        assert granted


@pytest.mark.parametrize(("payload", "expected"), GROUP_CASES, ids=repr)
def test_groups(payload, expected):
    groups = Claims(payload).groups
    assert type(groups) is tuple
    assert groups == expected


@pytest.mark.parametrize(("payload", "expected"), GROUP_CASES, ids=repr)
@pytest.mark.parametrize("wanted", ["admins", "staff", "a"])
def test_groups_agree_with_the_verifier_check(payload, expected, wanted):
    member = wanted in Claims(payload).groups
    try:
        check_any_group(payload, frozenset({wanted}))
    except MissingGroupError:
        assert not member
    else:
        assert member


# --- Time helpers -----------------------------------------------------------------------------
TIME_HELPERS = [
    ("expires_at", "exp"),
    ("issued_at", "iat"),
    ("not_before", "nbf"),
    ("auth_time", "auth_time"),
]


@pytest.mark.parametrize(("prop", "claim"), TIME_HELPERS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (FIXED_NOW, FIXED_DT),
        (float(FIXED_NOW), FIXED_DT),
        (FIXED_NOW + 0.5, FIXED_DT + timedelta(milliseconds=500)),
        (0, datetime(1970, 1, 1, tzinfo=timezone.utc)),
        (-86400, datetime(1969, 12, 31, tzinfo=timezone.utc)),
        (4_102_444_800, datetime(2100, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_time_helpers_return_aware_utc_datetimes(prop, claim, value, expected):
    result = getattr(Claims({claim: value}), prop)
    assert isinstance(result, datetime)
    assert result == expected
    assert result.tzinfo is timezone.utc
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("prop", "claim"), TIME_HELPERS)
@pytest.mark.parametrize(
    "value",
    [
        "1800000000",
        "",
        True,
        False,
        None,
        [FIXED_NOW],
        {"t": FIXED_NOW},
        1e300,
        -1e300,
        10**400,
        -(10**400),
        float("nan"),
        float("inf"),
        float("-inf"),
    ],
    ids=repr,
)
def test_time_helpers_return_none_for_unusable_values(prop, claim, value):
    assert getattr(Claims({claim: value}), prop) is None


@pytest.mark.parametrize(("prop", "claim"), TIME_HELPERS)
def test_time_helpers_absent(prop, claim):
    assert getattr(Claims({"other": FIXED_NOW}), prop) is None


def test_time_helpers_are_independent():
    claims = Claims(
        {
            "exp": FIXED_NOW + 10,
            "iat": FIXED_NOW,
            "nbf": FIXED_NOW - 10,
            "auth_time": FIXED_NOW - 20,
        }
    )
    assert claims.expires_at == FIXED_DT + timedelta(seconds=10)
    assert claims.issued_at == FIXED_DT
    assert claims.not_before == FIXED_DT - timedelta(seconds=10)
    assert claims.auth_time == FIXED_DT - timedelta(seconds=20)
    assert claims.expires_at is not None
    assert math.isclose(claims.expires_at.timestamp(), FIXED_NOW + 10)


# --- Header -----------------------------------------------------------------------------------
def test_header_mapping():
    claims = Claims({"sub": "a"}, {"alg": "RS256", "kid": "k1", "typ": "JWT"})
    assert isinstance(claims.header, Mapping)
    assert claims.header == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    assert claims.header["kid"] == "k1"
    assert "alg" not in claims  # the header is not mixed into the claims
    assert len(claims) == 1


@pytest.mark.parametrize("header", [None, {}])
def test_header_defaults_to_empty(header):
    assert dict(Claims({"a": 1}, header).header) == {}
