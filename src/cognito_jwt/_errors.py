"""The exception tree: every failure of this library is a ``JwtError``.

```
JwtError                                  ERR_JWT
├── ConfigurationError (also ValueError)  ERR_CONFIGURATION
├── MalformedTokenError                   ERR_MALFORMED_TOKEN
│   └── UnsupportedCriticalHeaderError    ERR_CRIT_UNSUPPORTED
├── AlgorithmNotAllowedError              ERR_ALG_NOT_ALLOWED
├── KeyNotFoundError                      ERR_KEY_NOT_FOUND
│   └── KeyAlgorithmMismatchError         ERR_KEY_ALG_MISMATCH
├── InvalidSignatureError                 ERR_INVALID_SIGNATURE
├── ClaimError                            ERR_CLAIM_INVALID
│   ├── ExpiredTokenError                 ERR_TOKEN_EXPIRED
│   ├── NotYetValidError                  ERR_TOKEN_NOT_YET_VALID
│   ├── MissingClaimError                 ERR_CLAIM_MISSING
│   ├── IssuerMismatchError               ERR_ISSUER_MISMATCH
│   ├── AudienceMismatchError             ERR_AUDIENCE_MISMATCH
│   ├── TokenUseMismatchError             ERR_TOKEN_USE_MISMATCH
│   ├── InsufficientScopeError            ERR_SCOPE_MISSING
│   ├── MissingGroupError                 ERR_GROUP_MISSING
│   ├── CustomCheckError                  ERR_CUSTOM_CHECK_FAILED
│   └── TokenRevokedError                 ERR_TOKEN_REVOKED
├── KeySetUnavailableError                ERR_JWKS_UNAVAILABLE
│   ├── InvalidJwksError                  ERR_JWKS_INVALID
│   ├── DiscoveryError                    ERR_DISCOVERY
│   ├── TenantRateLimitError              ERR_TENANT_RATE_LIMITED
│   └── RevocationUnavailableError        ERR_REVOCATION_UNAVAILABLE
├── SigningError                          ERR_SIGNING
└── OAuthError                            ERR_OAUTH
    ├── InvalidClientError                ERR_OAUTH_INVALID_CLIENT
    ├── InvalidGrantError                 ERR_OAUTH_INVALID_GRANT
    └── TokenEndpointUnavailableError     ERR_TOKEN_ENDPOINT_UNAVAILABLE
```

In words: a configuration error is the caller's bug; malformed, algorithm, key and signature
errors mean the token is not authentic; claim errors mean it is authentic but not acceptable
here (a revoked token among them); key-set errors mean *we* could not get usable keys, or could
not learn whether the token was revoked, which is not the token's fault (an HTTP adapter
answers 503, not 401). The last two branches belong to the client side
(``private_key_jwt``): a signer callable that failed, and what a token endpoint answered.

```

Every class has a stable string ``code`` a caller can log, count or branch on. Messages say what
was expected and what was found; they never contain the token, a key's private parts or a
secret. When the token could be parsed, its header and (for claim errors) its claims ride on the
error as ``unverified_header`` / ``unverified_claims``: data an attacker may have written, to be
logged with care and never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AlgorithmNotAllowedError",
    "AudienceMismatchError",
    "ClaimError",
    "ConfigurationError",
    "CustomCheckError",
    "DiscoveryError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidJwksError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "JwtError",
    "KeyAlgorithmMismatchError",
    "KeyNotFoundError",
    "KeySetUnavailableError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingGroupError",
    "NotYetValidError",
    "OAuthError",
    "RevocationUnavailableError",
    "SigningError",
    "TenantRateLimitError",
    "TokenEndpointUnavailableError",
    "TokenRevokedError",
    "TokenUseMismatchError",
    "UnsupportedCriticalHeaderError",
]


class JwtError(Exception):
    """Base class of every error this library raises.

    Attributes:
        code: A stable identifier of the failure (``"ERR_TOKEN_EXPIRED"`` ...), the same for
            every instance of a class.
        unverified_header: The token's JOSE header when it could be decoded, else ``None``.
            Attacker-controlled: log it with care, never trust it.
        unverified_claims: The token's payload when the failure happened after it was decoded
            (claim errors), else ``None``. The signature may have verified, but the claims were
            rejected: do not act on them.
    """

    code: ClassVar[str] = "ERR_JWT"

    def __init__(
        self,
        message: str,
        *,
        unverified_header: Mapping[str, Any] | None = None,
        unverified_claims: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.unverified_header = unverified_header
        self.unverified_claims = unverified_claims

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        # The unverified context stays out of repr() so it can't slip into logs by accident.
        return f"{type(self).__name__}({self.message!r})"


_SCALARS = (bool, int, float, type(None))


def bounded_repr(value: object, limit: int = 40) -> str:
    """Show a value from outside (a JWK member, a claim, a header member) in a message, safely.

    Never raises and never runs the value's own ``__repr__``: strings and bytes are cut to
    *limit* characters before they are quoted, an integer too large to print (Python refuses
    more than 4300 digits) is shown by its size, and containers and other objects are shown
    by their type only (no deep or huge ``repr``, no recursion).
    """
    try:
        # The base class slices, so a subclass's own __getitem__/__repr__ never runs.
        if isinstance(value, str):
            text = repr(str.__getitem__(value, slice(limit + 1)))
        elif isinstance(value, bytes):
            text = repr(bytes.__getitem__(value, slice(limit + 1)))
        elif type(value) is int and value.bit_length() > 128:
            return f"an int of {value.bit_length()} bits"
        elif type(value) in _SCALARS:
            text = repr(value)
        else:
            return f"a {type(value).__name__}"
    except Exception:  # noqa: BLE001 - a message helper must never be the error
        return "a value that cannot be shown"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigurationError(JwtError, ValueError):
    """A verifier or key set was configured with values that cannot work."""

    code = "ERR_CONFIGURATION"


class MalformedTokenError(JwtError):
    """The input is not a well-formed compact JWS carrying a JSON claims set."""

    code = "ERR_MALFORMED_TOKEN"


class UnsupportedCriticalHeaderError(MalformedTokenError):
    """The header's ``crit`` list names an extension this library does not implement."""

    code = "ERR_CRIT_UNSUPPORTED"


class AlgorithmNotAllowedError(JwtError):
    """The token's ``alg`` is ``none``, HMAC, unknown, or not in the verifier's allowlist."""

    code = "ERR_ALG_NOT_ALLOWED"


class KeyNotFoundError(JwtError):
    """The key set has no key for the token's ``kid`` (or, lacking ``kid``, no single fit)."""

    code = "ERR_KEY_NOT_FOUND"


class KeyAlgorithmMismatchError(KeyNotFoundError):
    """The ``kid`` names a key whose type, curve or pinned ``alg`` cannot verify this ``alg``."""

    code = "ERR_KEY_ALG_MISMATCH"


class InvalidSignatureError(JwtError):
    """The signature does not verify with the selected key."""

    code = "ERR_INVALID_SIGNATURE"


class ClaimError(JwtError):
    """The signature verified but a claim has the wrong type or value.

    Attributes:
        claim: The name of the claim that failed (``"exp"``, ``"iss"``, ``"aud"``,
            ``"scope"``, ``"cognito:groups"`` ...), or ``None`` when no single claim is to
            blame (a ``custom_check`` that returned ``False``).
        expected: What the check wanted, as short text (``"'https://issuer'"``, ``"one of
            'a', 'b'"``, ``"a NumericDate"`` ...), or ``None``.
        found: What the token held, as a short, bounded ``repr`` (``"'https://attacker'"``,
            ``"1700000000"``, ``"missing"``), or ``None``. Attacker-written and for logs only:
            like the message, never send ``expected``/``found`` in an HTTP answer (they tell a
            caller your configuration).
    """

    code = "ERR_CLAIM_INVALID"

    def __init__(
        self,
        message: str,
        *,
        claim: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        **context: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(message, **context)
        self.claim = claim
        self.expected = expected
        self.found = found


class ExpiredTokenError(ClaimError):
    """The token's ``exp`` has passed (after leeway)."""

    code = "ERR_TOKEN_EXPIRED"


class NotYetValidError(ClaimError):
    """The token's ``nbf`` or ``iat`` lies in the future (after leeway)."""

    code = "ERR_TOKEN_NOT_YET_VALID"


class MissingClaimError(ClaimError):
    """A required claim is absent."""

    code = "ERR_CLAIM_MISSING"


class IssuerMismatchError(ClaimError):
    """The ``iss`` claim is not one of the expected issuers."""

    code = "ERR_ISSUER_MISMATCH"


class AudienceMismatchError(ClaimError):
    """The ``aud`` claim (or a Cognito access token's ``client_id``) is not an expected value."""

    code = "ERR_AUDIENCE_MISMATCH"


class TokenUseMismatchError(ClaimError):
    """The Cognito ``token_use`` claim is not the expected ``id`` or ``access``."""

    code = "ERR_TOKEN_USE_MISMATCH"


class InsufficientScopeError(ClaimError):
    """The token carries none of the required scopes."""

    code = "ERR_SCOPE_MISSING"


class MissingGroupError(ClaimError):
    """The token's ``cognito:groups`` holds none of the required groups."""

    code = "ERR_GROUP_MISSING"


class CustomCheckError(ClaimError):
    """The caller's ``custom_check`` rejected the claims."""

    code = "ERR_CUSTOM_CHECK_FAILED"


class TokenRevokedError(ClaimError):
    """The token verified, but the verifier's ``revocation=`` check says it was revoked.

    Signed out everywhere, its session's refresh token revoked, its ``jti`` denied: an HTTP
    adapter answers 401 ``invalid_token``, like any other claim error.
    """

    code = "ERR_TOKEN_REVOKED"


class KeySetUnavailableError(JwtError):
    """No usable key set could be obtained: the issuer's problem or ours, not the token's.

    Attributes:
        status_code: The HTTP status the issuer answered when that was the failure (a 500, a
            404, a refused redirect), else ``None`` (network failure, timeout, bad document).
    """

    code = "ERR_JWKS_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        **context: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(message, **context)
        self.status_code = status_code


class InvalidJwksError(KeySetUnavailableError):
    """A JWKS document is not a JSON object with a ``keys`` array holding a usable key."""

    code = "ERR_JWKS_INVALID"


class DiscoveryError(KeySetUnavailableError):
    """The issuer's metadata is unusable: wrong ``issuer``, no ``jwks_uri``, or a URL refused."""

    code = "ERR_DISCOVERY"


class TenantRateLimitError(KeySetUnavailableError):
    """A token from a new issuer came after the cap on new issuers per minute was spent.

    Nothing was built or fetched. It is a :class:`KeySetUnavailableError` because the token
    may well be good: we could not get its keys *now*. An HTTP adapter answers 503 with
    ``Retry-After`` (a Lambda authorizer fails with an error, API Gateway answers 500), so the
    client retries rather than throwing its token away, as a 401 would make it.

    Attributes:
        retry_after: Seconds until the next new issuer may be tried.
    """

    code = "ERR_TENANT_RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float = 60.0,
        unverified_header: Mapping[str, Any] | None = None,
        unverified_claims: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message, unverified_header=unverified_header, unverified_claims=unverified_claims
        )
        self.retry_after = retry_after


class RevocationUnavailableError(KeySetUnavailableError):
    """A ``revocation=`` check could not decide whether the token was revoked.

    Its store or server was unreachable (a shared deny-list's Redis down with
    ``on_error="closed"``, an introspection endpoint timing out), or the check raised
    something else (chained as ``__cause__``). The token is refused (fail closed), and, as
    with key sets, it is not the token's fault: an HTTP adapter answers 503.
    """

    code = "ERR_REVOCATION_UNAVAILABLE"


class SigningError(JwtError):
    """A signer callable (KMS, HSM ...) failed or returned something that is not a signature.

    The original exception, if any, is chained as ``__cause__``.
    """

    code = "ERR_SIGNING"


class OAuthError(JwtError):
    """A token endpoint refused a request (RFC 6749 §5.2) or could not be used.

    Attributes:
        error: The OAuth ``error`` code the server sent (``"invalid_client"``,
            ``"invalid_grant"``, ``"invalid_scope"`` ...), or ``None`` when there was no OAuth
            error response (network failure, unusable answer).
        error_description: The server's ``error_description``, shortened and stripped of
            control characters, or ``None``.
        error_uri: The server's ``error_uri``, or ``None``.
        status_code: The HTTP status of the answer, or ``None`` when there was none.
    """

    code = "ERR_OAUTH"

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_description: str | None = None,
        error_uri: str | None = None,
        status_code: int | None = None,
        **context: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(message, **context)
        self.error = error
        self.error_description = error_description
        self.error_uri = error_uri
        self.status_code = status_code


class InvalidClientError(OAuthError):
    """``invalid_client``: the provider refused the client's authentication.

    Wrong key, wrong ``aud``, expired or replayed assertion, unknown client ...: providers
    rarely say which, on purpose.
    """

    code = "ERR_OAUTH_INVALID_CLIENT"


class InvalidGrantError(OAuthError):
    """``invalid_grant``: the code, refresh token or PKCE verifier was refused.

    It is invalid, expired, already used, or was issued to another client or redirect URI.
    """

    code = "ERR_OAUTH_INVALID_GRANT"


class TokenEndpointUnavailableError(OAuthError):
    """The token endpoint could not be reached or gave no usable answer.

    A network failure, a timeout, a redirect, a server error, or a body that is not an OAuth
    JSON response.
    """

    code = "ERR_TOKEN_ENDPOINT_UNAVAILABLE"
