"""``decode_unverified``: a token's header and claims, read without checking anything.

For debugging and for routing (which issuer, which tenant, which verifier) before the real
verification. It reuses the verifier's parser (:mod:`._token`), so it applies the same size caps
and header rules; it never touches a key, the network or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ._errors import ConfigurationError
from ._record import dataclass
from ._token import DEFAULT_LIMITS, TokenLimits, decode_payload, parse_token

__all__ = ["UnverifiedToken", "decode_unverified"]


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """What a token *says* about itself: never trust it, never authorize with it.

    The signature was not checked, nor the issuer, audience, expiry or any other claim: anyone
    can write a token with these values. Use it to log, to debug, or to pick which verifier
    checks the token; then verify, and act on the verified claims only.

    Attributes:
        header: The JOSE header, read-only.
        claims: The payload (the JWT claims set), read-only at the top level; unverified.
        alg: ``header["alg"]``, always a string (not necessarily one any verifier accepts).
        kid: ``header["kid"]`` when present, else ``None``.
    """

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    alg: str
    kid: str | None


def decode_unverified(token: str | bytes, *, limits: TokenLimits | None = None) -> UnverifiedToken:
    """Decode *token*'s header and claims WITHOUT verifying anything: never trust the result.

    No signature, issuer, audience or time check is made and no key is fetched. The parsing is
    the verifier's own: the same size caps (*limits*, by default those every verifier uses) and
    the same header rules, so a token this refuses is one every verifier refuses as malformed.

    ```python
    from cognito_jwt import decode_unverified

    unverified = decode_unverified(access_token)
    print(unverified.kid, unverified.claims["iss"])  # for logs or routing; then verify
    ```

    Args:
        token: The compact JWS, as ``str`` or ASCII ``bytes`` (no ``Bearer`` prefix).
        limits: Size caps; pass a verifier's own ``limits=`` when it was given larger ones.

    Returns:
        The header and claims, marked unverified.

    Raises:
        MalformedTokenError: Anything that is not a compact JWS with a JSON-object header and
            payload within the caps (wrong type, too large, bad base64url, bad JSON, ``alg``
            missing, ``kid`` not a string); its subclass ``UnsupportedCriticalHeaderError`` for
            a ``crit`` or ``b64: false`` header, which every verifier refuses too. The message
            never contains the token.
        ConfigurationError: *limits* is not a ``TokenLimits``.
    """
    if limits is not None and not isinstance(limits, TokenLimits):
        raise ConfigurationError("limits must be a TokenLimits")
    parsed = parse_token(token, DEFAULT_LIMITS if limits is None else limits)
    return UnverifiedToken(
        header=parsed.header,
        claims=MappingProxyType(decode_payload(parsed)),
        alg=parsed.alg,
        kid=parsed.kid,
    )
