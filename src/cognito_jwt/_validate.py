"""Pure claim checks: no I/O, the current time passed in.

Each check reads the payload dict, raises a :class:`ClaimError` subclass naming what was
expected and what was found, and returns nothing. They are plain functions so the verifiers
can call exactly the checks they need, in a fixed order, with no registry on the hot path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import (
    AudienceMismatchError,
    ClaimError,
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
    "groups_of",
    "numeric_date",
    "scopes_of",
]


#: The range of a NumericDate: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, what a
#: ``datetime`` can hold. Beyond it a date is not a date: ``exp: 1e308`` is a token that never
#: expires, which no issuer means to mint.
MIN_NUMERIC_DATE = -62_135_596_800
MAX_NUMERIC_DATE = 253_402_300_799

#: Seconds a token's ``nbf`` or ``iat`` may lie in the future when the verifier's ``leeway``
#: is smaller: ordinary clock skew between the issuer and this machine (1-3 s is common, a
#: minute happens) must not refuse a token minted a moment ago. ``exp`` gets no such grace:
#: it is checked with ``leeway`` alone (0 by default).
FUTURE_SKEW = 60.0


def numeric_date(payload: dict[str, Any], name: str) -> float | None:
    """Return a NumericDate claim, ``None`` when absent.

    Raises:
        ClaimError: Present but not a JSON number (strings, booleans, ``null`` refused), or a
            number outside year 1 to year 9999 (:data:`MIN_NUMERIC_DATE` ..
            :data:`MAX_NUMERIC_DATE`).
    """
    value = payload.get(name)
    if value is None and name not in payload:
        return None
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        if MIN_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE:
            return value
        raise ClaimError(
            f"claim {name!r} is a NumericDate beyond what a date can be (years 1 to 9999)",
            claim=name,
            expected="a NumericDate from year 1 to 9999",
            found=bounded_repr(value),
        )
    raise ClaimError(
        f"claim {name!r} must be a NumericDate (a number), found {type(value).__name__}",
        claim=name,
        expected="a NumericDate (a number)",
        found=bounded_repr(value),
    )


def check_times(
    payload: dict[str, Any], now: float, leeway: float, future_skew: float = FUTURE_SKEW
) -> None:
    """Check ``exp`` (required), ``nbf`` and ``iat`` against *now*.

    The token is expired when ``now >= exp + leeway``. It is not yet valid when
    ``now + skew < nbf``, and refused as issued in the future when ``iat > now + skew``, where
    ``skew = max(leeway, future_skew)``: a token minted a moment ago by an issuer whose clock
    runs a little ahead is accepted (see :data:`FUTURE_SKEW`), an expired one is not.

    Raises:
        MissingClaimError: No ``exp``.
        ClaimError: A time claim that is not a NumericDate from year 1 to 9999.
        ExpiredTokenError: ``exp`` has passed.
        NotYetValidError: ``nbf`` or ``iat`` is too far in the future.
    """
    exp = payload.get("exp")
    if type(exp) is not int or not MIN_NUMERIC_DATE <= exp <= MAX_NUMERIC_DATE:
        exp = numeric_date(payload, "exp")  # the usual case is inline above
        if exp is None:
            raise MissingClaimError("claim 'exp' is required", claim="exp", found="missing")
    if now >= exp + leeway:
        raise ExpiredTokenError(
            f"token expired at {exp:.0f}, now is {now:.0f} (leeway {leeway:g} s)",
            claim="exp",
            expected=f"after {now - leeway:.0f}",
            found=f"{exp:.0f}",
        )
    skew = leeway if leeway > future_skew else future_skew
    if "nbf" in payload:
        nbf = numeric_date(payload, "nbf")
        if nbf is not None and now + skew < nbf:
            raise NotYetValidError(
                f"token is not valid before {nbf:.0f}, now is {now:.0f} (skew {skew:g} s)",
                claim="nbf",
                expected=f"at most {now + skew:.0f}",
                found=f"{nbf:.0f}",
            )
    iat = payload.get("iat")
    if type(iat) is not int or not MIN_NUMERIC_DATE <= iat <= MAX_NUMERIC_DATE:
        iat = numeric_date(payload, "iat")
    if iat is not None and iat > now + skew:
        raise NotYetValidError(
            f"token was issued in the future ({iat:.0f}), now is {now:.0f} (skew {skew:g} s)",
            claim="iat",
            expected=f"at most {now + skew:.0f}",
            found=f"{iat:.0f}",
        )


def _show(value: object) -> str:
    return bounded_repr(value, 80)


def _expected(values: frozenset[str]) -> str:
    return ", ".join(_show(v) for v in sorted(values)[:5]) + (" ..." if len(values) > 5 else "")


def scopes_of(payload: Mapping[str, Any]) -> frozenset[str] | None:
    r"""The scopes a token grants: its ``scope`` claim, read strictly (RFC 6749 §3.3).

    ``scope`` must be a string of scope tokens separated by single spaces (U+0020), each token
    one or more printable ASCII characters other than ``"`` and ``\`` (%x21 / %x23-5B /
    %x5D-7E). Anything else (a tab, a no-break space or another Unicode space, an empty token
    from a leading, trailing or doubled space, a non-string) makes the whole claim unusable:
    ``None``, which grants no scope, rather than a guess at what the issuer meant. ``scp`` (a
    list some issuers send) is not read; read ``claims["scp"]`` yourself if you trust it.

    The verifier's ``scopes=`` check and :attr:`Claims.scopes` both use this reading.

    Returns:
        The set of scope tokens, or ``None`` when ``scope`` is absent or not such a string.
    """
    scope = payload.get("scope")
    if not isinstance(scope, str) or (_SCOPE or _scope_pattern()).fullmatch(scope) is None:
        return None
    return frozenset(scope.split(" "))


def groups_of(payload: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The user's Cognito groups: the ``cognito:groups`` claim, read strictly.

    The claim must be a JSON array of strings (as Cognito sends it). A string (even one group
    name), an array holding anything but strings, or any other type makes the claim unusable:
    ``None``, which is in no group.

    The verifier's ``groups=`` check and :attr:`Claims.groups` both use this reading.

    Returns:
        The group names in the token's order, or ``None`` when the claim is absent or not an
        array of strings.
    """
    groups = payload.get("cognito:groups")
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        return None
    return tuple(groups)


# RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*NQCHAR.
# Compiled by the first token whose scope is read, not at import (a cold start without a scope
# check never compiles it).
_SCOPE: re.Pattern[str] | None = None


def _scope_pattern() -> re.Pattern[str]:
    global _SCOPE  # noqa: PLW0603 - compiled once, on first use
    _SCOPE = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+(?: [\x21\x23-\x5B\x5D-\x7E]+)*")
    return _SCOPE


def check_issuer(payload: dict[str, Any], issuers: frozenset[str]) -> None:
    """Check that ``iss`` equals one of *issuers* exactly (no normalisation)."""
    iss = payload.get("iss")
    if not isinstance(iss, str):
        raise IssuerMismatchError(
            f"claim 'iss' is missing or not a string; expected {_expected(issuers)}",
            claim="iss",
            expected=_expected(issuers),
            found="missing" if "iss" not in payload else _show(iss),
        )
    if iss not in issuers:
        raise IssuerMismatchError(
            f"issuer {_show(iss)} is not {_expected(issuers)}",
            claim="iss",
            expected=_expected(issuers),
            found=_show(iss),
        )


def check_audience(payload: dict[str, Any], audiences: frozenset[str]) -> None:
    """Check that ``aud`` (a string or a list of strings) contains one of *audiences*."""
    aud = payload.get("aud")
    expected = _expected(audiences)
    if isinstance(aud, str):
        if aud in audiences:
            return
    elif isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        if not audiences.isdisjoint(aud):
            return
    elif aud is None:
        raise AudienceMismatchError(
            f"claim 'aud' is missing; expected {expected}",
            claim="aud",
            expected=expected,
            found="missing" if "aud" not in payload else "None",
        )
    else:
        raise AudienceMismatchError(
            "claim 'aud' must be a string or a non-empty list of strings",
            claim="aud",
            expected=expected,
            found=_show(aud),
        )
    raise AudienceMismatchError(
        f"audience {_show(aud)} is not {expected}", claim="aud", expected=expected, found=_show(aud)
    )


def check_required(payload: dict[str, Any], names: tuple[str, ...]) -> None:
    """Check that every claim in *names* is present (any value but ``null``)."""
    for name in names:
        if payload.get(name) is None:
            raise MissingClaimError(
                f"claim {bounded_repr(name)} is required",
                claim=name,
                expected="present",
                found="missing" if name not in payload else "None",
            )


def check_any_scope(payload: dict[str, Any], required: frozenset[str]) -> None:
    """Check that the ``scope`` claim (see :func:`scopes_of`) holds at least one of *required*."""
    granted = scopes_of(payload)
    if granted is None:
        scope = payload.get("scope")
        problem = (
            "is missing or not a string"
            if not isinstance(scope, str)
            else "is not a list of scope tokens separated by single spaces (RFC 6749 3.3)"
        )
        raise InsufficientScopeError(
            f"claim 'scope' {problem}; one of {_expected(required)} is required",
            claim="scope",
            expected=f"one of {_expected(required)}",
            found="missing" if "scope" not in payload else _show(scope),
        )
    if required.isdisjoint(granted):
        raise InsufficientScopeError(
            f"none of the scopes {_expected(required)} was granted",
            claim="scope",
            expected=f"one of {_expected(required)}",
            found=_show(payload["scope"]),
        )


def check_any_group(payload: dict[str, Any], required: frozenset[str]) -> None:
    """Check that ``cognito:groups`` (see :func:`groups_of`) holds at least one of *required*."""
    groups = groups_of(payload)
    if groups is None:
        raise MissingGroupError(
            "claim 'cognito:groups' is missing or not a list of strings; "
            f"one of {_expected(required)} is required",
            claim="cognito:groups",
            expected=f"one of {_expected(required)}",
            found="missing"
            if "cognito:groups" not in payload
            else _show(payload["cognito:groups"]),
        )
    if required.isdisjoint(groups):
        raise MissingGroupError(
            f"the user is in none of the groups {_expected(required)}",
            claim="cognito:groups",
            expected=f"one of {_expected(required)}",
            found=", ".join(_show(g) for g in groups[:5]) + (" ..." if len(groups) > 5 else ""),
        )


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
