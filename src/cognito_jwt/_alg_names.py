"""The names of the supported JWS algorithms and the allowlist rules, without ``cryptography``.

The verifier needs only names to apply its allowlist; the signature code that needs
``cryptography`` lives in :mod:`._algorithms`, imported when the first key is processed, so
that ``import cognito_jwt`` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._errors import ConfigurationError, bounded_repr

__all__ = ["ALGORITHM_NAMES", "DEFAULT_ALGORITHMS", "FORBIDDEN", "check_allowlist", "is_forbidden"]

ALGORITHM_NAMES: frozenset[str] = frozenset(
    {
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA", "Ed25519",
    }
)  # fmt: skip
"""Every supported algorithm (RFC 7518 §3.3-3.5, RFC 8037 §3.1, RFC 9864 §2.2)."""

DEFAULT_ALGORITHMS: frozenset[str] = ALGORITHM_NAMES
"""The allowlist a verifier uses when none is given: every supported asymmetric algorithm."""

# Case-insensitive: "None", "NONE", "hs256" ... are all refused with the same clear error.
FORBIDDEN = frozenset({"none", "hs256", "hs384", "hs512"})


def is_forbidden(alg: str) -> bool:
    """Return whether *alg* is ``none`` or HMAC in any casing."""
    return alg.lower() in FORBIDDEN or alg.upper().startswith("HS")


def check_allowlist(algorithms: Iterable[str]) -> frozenset[str]:
    """Validate a verifier's allowlist.

    Raises:
        ConfigurationError: The list is empty, is a bare string, names ``none``/HMAC, or names
            an algorithm this library does not implement.
    """
    if isinstance(algorithms, str | bytes):
        raise ConfigurationError("algorithms must be a collection of names, not a single string")
    try:
        allowed = frozenset(algorithms)
    except TypeError:
        raise ConfigurationError("algorithms must be a collection of algorithm names") from None
    if not allowed:
        raise ConfigurationError("algorithms must name at least one algorithm")
    for alg in sorted(allowed, key=lambda a: a if isinstance(a, str) else ""):
        if not isinstance(alg, str):
            raise ConfigurationError(f"algorithm names must be strings, found {bounded_repr(alg)}")
        if is_forbidden(alg):
            raise ConfigurationError(
                f"algorithm {bounded_repr(alg)} can never be used to verify with public keys"
            )
        if alg not in ALGORITHM_NAMES:
            raise ConfigurationError(
                f"unsupported algorithm {bounded_repr(alg)}; "
                f"supported: {', '.join(sorted(ALGORITHM_NAMES))}"
            )
    return allowed
