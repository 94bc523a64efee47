"""Pure claim checks: no I/O, the current time passed in.

Each check reads the payload dict, raises a :class:`ClaimError` subclass naming what was
expected and what was found, and returns nothing. They are plain functions so the verifiers
can call exactly the checks they need, in a fixed order, with no registry on the hot path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, cast

from ._errors import (
    AudienceMismatchError,
    ClaimError,
    ConfigurationError,
    CustomCheckError,
    ExpiredTokenError,
    InsufficientScopeError,
    IssuerMismatchError,
    JwtError,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    bounded_repr,
)

__all__ = [
    "check_any_group",
    "check_any_scope",
    "check_audience",
    "check_custom",
    "check_issuer",
    "check_required",
    "check_times",
    "numeric_date",
    "string_set",
]


def string_set(value: object, name: str) -> frozenset[str] | None:
    """Normalise a configuration value that is ``None``, one string, or a collection of strings.

    Raises:
        ConfigurationError: Empty strings, non-strings, bytes, or an empty collection.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    if isinstance(value, bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{name} must be a string or a collection of strings")
    try:
        result = frozenset(value)
    except TypeError:
        raise ConfigurationError(f"{name} must be a string or a collection of strings") from None
    if not result or not all(isinstance(v, str) and v for v in result):
        raise ConfigurationError(f"{name} must be a non-empty string or collection of them")
    return cast("frozenset[str]", result)


_FLOAT_SAFE = 2**1000


def numeric_date(payload: dict[str, Any], name: str) -> float | None:
    """Return a NumericDate claim, ``None`` when absent.

    Raises:
        ClaimError: Present but not a finite JSON number (strings, booleans, null refused).
    """
    value = payload.get(name)
    if value is None and name not in payload:
        return None
    if type(value) is int:
        if -_FLOAT_SAFE < value < _FLOAT_SAFE:
            return value
        # JSON allows integers beyond float range (comparing them with a float clock would
        # overflow); they are dates beyond any real clock.
        return math.inf if value > 0 else -math.inf
    if type(value) is float and math.isfinite(value):
        return value
    raise ClaimError(
        f"claim {name!r} must be a NumericDate (a number), found {type(value).__name__}"
    )


def check_times(payload: dict[str, Any], now: float, leeway: float) -> None:
    """Check ``exp`` (required), ``nbf`` and ``iat`` against *now* with *leeway* seconds.

    The token is expired when ``now >= exp + leeway``, not yet valid when
    ``now + leeway < nbf``, and refused when issued in the future (``iat > now + leeway``).
    """
    exp = payload.get("exp")
    if type(exp) is not int or not -_FLOAT_SAFE < exp < _FLOAT_SAFE:  # the usual case inline
        exp = numeric_date(payload, "exp")
        if exp is None:
            raise MissingClaimError("claim 'exp' is required")
    if now >= exp + leeway:
        raise ExpiredTokenError(
            f"token expired at {exp:.0f}, now is {now:.0f} (leeway {leeway:g} s)"
        )
    if "nbf" in payload:
        nbf = numeric_date(payload, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise NotYetValidError(
                f"token is not valid before {nbf:.0f}, now is {now:.0f} (leeway {leeway:g} s)"
            )
    iat = payload.get("iat")
    if type(iat) is not int or not -_FLOAT_SAFE < iat < _FLOAT_SAFE:
        iat = numeric_date(payload, "iat")
    if iat is not None and iat > now + leeway:
        raise NotYetValidError(
            f"token was issued in the future ({iat:.0f}), now is {now:.0f} (leeway {leeway:g} s)"
        )


def _show(value: object) -> str:
    return bounded_repr(value, 80)


def _expected(values: frozenset[str]) -> str:
    return ", ".join(_show(v) for v in sorted(values)[:5]) + (" ..." if len(values) > 5 else "")


def check_issuer(payload: dict[str, Any], issuers: frozenset[str]) -> None:
    """Check that ``iss`` equals one of *issuers* exactly (no normalisation)."""
    iss = payload.get("iss")
    if not isinstance(iss, str):
        raise IssuerMismatchError(
            f"claim 'iss' is missing or not a string; expected {_expected(issuers)}"
        )
    if iss not in issuers:
        raise IssuerMismatchError(f"issuer {_show(iss)} is not {_expected(issuers)}")


def check_audience(payload: dict[str, Any], audiences: frozenset[str]) -> None:
    """Check that ``aud`` (a string or a list of strings) contains one of *audiences*."""
    aud = payload.get("aud")
    if isinstance(aud, str):
        if aud in audiences:
            return
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        if not audiences.isdisjoint(aud):
            return
    elif aud is None:
        raise AudienceMismatchError(f"claim 'aud' is missing; expected {_expected(audiences)}")
    else:
        raise AudienceMismatchError("claim 'aud' must be a string or a non-empty list of strings")
    raise AudienceMismatchError(f"audience {_show(aud)} is not {_expected(audiences)}")


def check_required(payload: dict[str, Any], names: tuple[str, ...]) -> None:
    """Check that every claim in *names* is present (any value but ``null``)."""
    for name in names:
        if payload.get(name) is None:
            raise MissingClaimError(f"claim {name!r} is required")


def check_any_scope(payload: dict[str, Any], required: frozenset[str]) -> None:
    """Check that the space-separated ``scope`` claim holds at least one of *required*."""
    scope = payload.get("scope")
    if not isinstance(scope, str):
        raise InsufficientScopeError(
            f"claim 'scope' is missing or not a string; one of {_expected(required)} is required"
        )
    if required.isdisjoint(scope.split()):
        raise InsufficientScopeError(f"none of the scopes {_expected(required)} was granted")


def check_any_group(payload: dict[str, Any], required: frozenset[str]) -> None:
    """Check that ``cognito:groups`` (a list of strings) holds at least one of *required*."""
    groups = payload.get("cognito:groups")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise MissingGroupError(
            "claim 'cognito:groups' is missing or not a list of strings; "
            f"one of {_expected(required)} is required"
        )
    if required.isdisjoint(groups):
        raise MissingGroupError(f"the user is in none of the groups {_expected(required)}")


def check_custom(check: Callable[[Any], object], claims: object) -> None:
    """Run a caller's check: it accepts by returning ``None`` or ``True``.

    Any other return value (``False``, ``0``, ``"no"`` ...) rejects, so a predicate that
    forgets to return ``True`` fails closed. A :class:`JwtError` it raises passes through; any
    other exception becomes :class:`CustomCheckError` (its message is not copied, it may hold
    data the check looked up).
    """
    try:
        result = check(claims)
    except JwtError:
        raise
    except Exception as exc:
        raise CustomCheckError(f"custom_check raised {type(exc).__name__}") from exc
    if result is not None and result is not True:
        raise CustomCheckError("custom_check rejected the token")
