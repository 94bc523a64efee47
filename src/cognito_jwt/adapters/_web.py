"""What the WSGI, ASGI, Flask and FastAPI adapters share: bearer parsing and RFC 6750 answers.

* Bearer extraction (RFC 6750 §2.1): exactly one ``Authorization`` header whose scheme is
  ``Bearer`` in any case, followed by exactly one token; optionally a named cookie or header.
* Challenges (RFC 6750 §3): a missing token is 401 with ``WWW-Authenticate: Bearer realm=...``
  and no error code; a bad token is 401 ``error="invalid_token"``; a valid token without the
  scope or group a route needs is 403 ``error="insufficient_scope"`` (with ``scope=``); keys
  unavailable is 503 with ``Retry-After``, our outage rather than the client's fault; a
  verifier that can't serve the call (a configuration error) is 500.
* Every refusal body is JSON of one shape, ``{"error": ..., "error_description": ...,
  "code": ...}``: an OAuth error code, a generic sentence per error class and the library's
  stable code. Never the token, and never the detailed reason, which names the configuration
  (expected issuer, audiences, groups): that goes to the ``cognito_jwt`` logger.
* Behind an Application Load Balancer (``token_source="alb"``) the token is the
  ``x-amzn-oidc-data`` header instead, and the unsigned ``x-amzn-oidc-identity`` and
  ``x-amzn-oidc-accesstoken`` are handed out only with the claims of a verified token.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Literal

from .. import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    ClaimError,
    Claims,
    ConfigurationError,
    CustomCheckError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    RefreshPolicy,
    RevocationUnavailableError,
    TokenRevokedError,
    TokenUseMismatchError,
    UnsupportedCriticalHeaderError,
)
from .._normalise import string_set, string_tuple
from .._record import dataclass

logger = logging.getLogger("cognito_jwt")

__all__ = [
    "ALB_KEY",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "MISSING_ALB",
    "NO_TOKEN_CODE",
    "RETRY_AFTER",
    "TOKEN_HEADER",
    "AlbIdentity",
    "PathRules",
    "Rejection",
    "TokenSource",
    "alb_identity",
    "alb_mode",
    "bearer_from_headers",
    "check_requirements",
    "cookie_value",
    "data_token",
    "describe",
    "names",
    "rejection_for",
    "request_token",
    "retry_after",
    "text_option",
    "unauthenticated",
]

# Characters allowed in a quoted-string of a challenge parameter, after we drop the rest.
_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -._~:/+=,;()[]'!?@#$%&*"
)


def _quote(text: str, limit: int = 200) -> str:
    cleaned = "".join(c for c in text if c in _SAFE)
    return cleaned[:limit]


def bearer_from_headers(values: Sequence[str]) -> str | None:
    """The token of the ``Authorization`` header values of a request, or ``None``.

    Exactly one header, scheme ``Bearer`` (any case), exactly one token of the RFC 6750
    ``b64token`` alphabet: anything else (two headers, ``Basic``, extra words) is no token.
    """
    if len(values) != 1:
        return None
    parts = values[0].split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    return parts[1]


def cookie_value(headers: Sequence[str], name: str) -> str | None:
    """Cookie *name* from ``Cookie`` header values; ``None`` if absent, empty or sent twice."""
    found = [
        value.strip().strip('"')
        for header in headers
        for key, sep, value in (pair.partition("=") for pair in header.split(";"))
        if sep and key.strip() == name
    ]
    return found[0] if len(found) == 1 and found[0] else None


def request_token(
    authorization: Sequence[str],
    *,
    header: Sequence[str] = (),
    header_name: str = "",
    cookie: str | None = None,
) -> str | None:
    """Pick a request's token under one policy for every web adapter.

    ``Authorization`` first: ``Bearer <token>`` with exactly one token. A ``Bearer`` header
    that is not that (no token, extra words, two headers, comma-joined values) is a malformed
    token, not a missing one, so optional-auth mode can't mistake it for an anonymous request.
    Another scheme (``Basic``) is not a bearer token: the configured header, then the cookie,
    are looked at. The header carries ``Bearer <token>`` or the bare token.

    Raises:
        MalformedTokenError: A bearer credential was sent but is not exactly one token.
    """
    values = [v for v in authorization if v.strip()]
    bearer = [v for v in values if v.split()[0].lower() == "bearer"]
    if bearer:
        token = bearer_from_headers(values)
        if token is None or "," in token:
            raise MalformedTokenError("the Authorization header must hold exactly one token")
        return token
    values = [v for v in header if v.strip()]
    if values:
        parts = values[0].split()
        if len(values) == 1 and parts[0].lower() == "bearer" and len(parts) == 2:
            return parts[1]
        if len(values) == 1 and len(parts) == 1 and "," not in parts[0]:
            return parts[0]
        raise MalformedTokenError(f"the {header_name or 'token'} header must hold one token")
    return cookie


@dataclass(frozen=True, slots=True)
class PathRules:
    """Paths served without a token: exact paths, or prefixes given with a trailing ``/``.

    A path with ``.`` or ``..`` segments is never excluded, whatever it starts with.
    """

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, paths: Iterable[str]) -> PathRules:
        """Build the rules; one string is one path.

        Raises:
            ConfigurationError: An entry is not a path starting with ``/``.
        """
        listed = string_tuple(paths, "exclude_paths", allow_empty=True)
        if not all(p.startswith("/") for p in listed):
            raise ConfigurationError("every entry of exclude_paths must be a path beginning '/'")
        return cls(
            frozenset(p for p in listed if not p.endswith("/")),
            tuple(p for p in listed if p.endswith("/")),
        )

    def excluded(self, path: str) -> bool:
        """Whether *path* is served without a token."""
        if not (self.exact or self.prefixes):
            return False
        if any(segment in {".", ".."} for segment in path.split("/")):
            return False
        return path in self.exact or path.startswith(self.prefixes)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An HTTP answer refusing a request.

    Attributes:
        status: 401, 403, 503 or 500.
        headers: Response headers (``WWW-Authenticate``, ``Content-Type`` ...).
        body: The JSON body, encoded: ``{"error", "error_description", "code"}``.
        error: The OAuth error code (``invalid_token``, ``insufficient_scope``,
            ``invalid_request`` when no token was sent, ``temporarily_unavailable``,
            ``server_error``).
        code: This library's stable error code (``ERR_TOKEN_MISSING`` when no token was sent).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str
    code: str

    @property
    def reason(self) -> str:
        """The status line's reason phrase."""
        return {
            401: "Unauthorized",
            403: "Forbidden",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }[self.status]


# What a caller is told: the RFC 6750 code, this library's stable code, and one generic sentence
# per error class. The detailed message ("issuer X is not Y") names the configuration (issuer,
# audiences, client ids, groups), so it goes to the `cognito_jwt` logger only, never to the
# response. The most specific class listed wins (looked up along the exception's MRO).
_DESCRIPTIONS: dict[type[JwtError], str] = {
    MalformedTokenError: "the token is malformed",
    UnsupportedCriticalHeaderError: "the token has an unsupported critical header",
    AlgorithmNotAllowedError: "the token's algorithm is not accepted",
    KeyNotFoundError: "the token's signing key is not known",
    InvalidSignatureError: "the token's signature is invalid",
    ClaimError: "the token's claims are invalid",
    ExpiredTokenError: "the token is expired",
    NotYetValidError: "the token is not yet valid",
    MissingClaimError: "the token lacks a required claim",
    IssuerMismatchError: "the token was not issued by a trusted issuer",
    AudienceMismatchError: "the token was not issued for this API",
    TokenUseMismatchError: "the token is not of the expected type",
    InsufficientScopeError: "the token does not grant a required scope",
    MissingGroupError: "the user is not in a required group",
    CustomCheckError: "the token was refused",
    TokenRevokedError: "the token was revoked",
    KeySetUnavailableError: "token keys are unavailable; try again later",
    RevocationUnavailableError: "token revocation cannot be checked; try again later",
    ConfigurationError: "the server is misconfigured",
    JwtError: "the token is invalid",
}

NO_TOKEN_CODE = "ERR_TOKEN_MISSING"
"""The ``code`` of the body answering a request that carried no token."""

RETRY_AFTER = max(1, math.ceil(RefreshPolicy().backoff_initial))
"""Seconds in ``Retry-After`` of a 503 when the error does not say when keys are retried:
the key source's first back-off after a failed fetch (``RefreshPolicy.backoff_initial``)."""


def describe(exc: JwtError) -> str:
    """The generic description of *exc* a caller may see (no configuration, no token)."""
    for klass in type(exc).__mro__:
        description = _DESCRIPTIONS.get(klass)
        if description is not None:
            return description
    return _DESCRIPTIONS[JwtError]  # pragma: no cover - every JwtError has JwtError in its MRO


def retry_after(exc: JwtError) -> int:
    """``Retry-After`` seconds for a 503: the error's own ``retry_after`` when it has one."""
    seconds = getattr(exc, "retry_after", None)
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        return max(1, min(math.ceil(seconds), 3600))
    return RETRY_AFTER


def _rejection(
    status: int,
    realm: str,
    *,
    error: str,
    description: str,
    code: str,
    challenge_error: bool = True,
    scope: Iterable[str] = (),
    retry: int = RETRY_AFTER,
) -> Rejection:
    params = [f'realm="{_quote(realm)}"']
    if challenge_error:
        params.append(f'error="{error}"')
        params.append(f'error_description="{_quote(description)}"')
    scopes = " ".join(sorted(scope))
    if scopes:
        params.append(f'scope="{_quote(scopes, 1000)}"')
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if status in (401, 403):
        headers.append(("WWW-Authenticate", "Bearer " + ", ".join(params)))
    if status == 503:
        headers.append(("Retry-After", str(retry)))
    body = {"error": error, "error_description": description, "code": code}
    return Rejection(status, tuple(headers), json.dumps(body).encode(), error, code)


def unauthenticated(realm: str, description: str = "a bearer token is required") -> Rejection:
    """401 for a request without a token.

    The challenge carries no error code (RFC 6750 §3.1); the body has the same shape as every
    other refusal: ``invalid_request`` and the code ``ERR_TOKEN_MISSING``.
    """
    return _rejection(
        401,
        realm,
        error="invalid_request",
        description=description,
        code=NO_TOKEN_CODE,
        challenge_error=False,
    )


def rejection_for(exc: JwtError, realm: str, scopes: Iterable[str] = ()) -> Rejection:
    """The answer for a verification failure, and a log line with the full reason.

    Every refusal has one shape: ``{"error": <RFC 6750/6749 code>, "error_description":
    <a generic sentence for the error class>, "code": <the library's stable code>}``; the
    detailed message is logged (``cognito_jwt`` logger, never the token), not sent.

    * :class:`KeySetUnavailableError`: 503 ``temporarily_unavailable`` with ``Retry-After``;
    * a missing scope or group: 403 ``insufficient_scope`` (*scopes*, the ones that would
      have been enough, named in the challenge for a missing scope only);
    * :class:`ConfigurationError` (a verifier that can't serve this call): 500
      ``server_error``, logged as an error;
    * anything else: 401 ``invalid_token``.
    """
    description = describe(exc)
    if isinstance(exc, KeySetUnavailableError):
        logger.warning("refused with 503 (%s): %s", exc.code, exc)
        return _rejection(
            503,
            realm,
            error="temporarily_unavailable",
            description=description,
            code=exc.code,
            challenge_error=False,
            retry=retry_after(exc),
        )
    if isinstance(exc, ConfigurationError):
        logger.error("refused with 500, fix the configuration (%s): %s", exc.code, exc)
        return _rejection(
            500,
            realm,
            error="server_error",
            description=description,
            code=exc.code,
            challenge_error=False,
        )
    if isinstance(exc, InsufficientScopeError | MissingGroupError):
        logger.info("refused with 403 (%s): %s", exc.code, exc)
        return _rejection(
            403,
            realm,
            error="insufficient_scope",
            description=description,
            code=exc.code,
            scope=scopes if isinstance(exc, InsufficientScopeError) else (),
        )
    logger.info("refused with 401 (%s): %s", exc.code, exc)
    return _rejection(401, realm, error="invalid_token", description=description, code=exc.code)


def names(value: Iterable[str] | str | None, what: str) -> frozenset[str] | None:
    """Normalise a ``scopes=``/``groups=`` option (see ``cognito_jwt._normalise``).

    Raises:
        ConfigurationError: Not ``None``, one string or a collection of non-empty strings.
    """
    return string_set(value, what)


def text_option(value: object, what: str, *, optional: bool = False) -> None:
    """Check a one-string setting (``realm=``, ``cookie=``, ``header=`` ...).

    Raises:
        ConfigurationError: Not a non-empty string (nor ``None`` when *optional*).
    """
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{what} must be a non-empty string, got {type(value).__name__}")


def check_requirements(
    claims: Claims, *, scopes: Iterable[str] | None = None, groups: Iterable[str] | None = None
) -> JwtError | None:
    """Any-of scope and group requirements of a route; the error to answer with, or ``None``."""
    if scopes is not None:
        wanted = frozenset(scopes)
        if wanted.isdisjoint(claims.scopes):
            return InsufficientScopeError(
                f"one of the scopes {', '.join(sorted(wanted))} is required"
            )
    if groups is not None:
        wanted = frozenset(groups)
        if wanted.isdisjoint(claims.groups):
            return MissingGroupError(f"one of the groups {', '.join(sorted(wanted))} is required")
    return None


# --- Behind an Application Load Balancer ---------------------------------------------------------
TokenSource = Literal["bearer", "alb"]

DATA_HEADER = "x-amzn-oidc-data"
"""The signed claims the load balancer adds (a JWT for an ``AlbVerifier``)."""
IDENTITY_HEADER = "x-amzn-oidc-identity"
"""The user's ``sub``, in plain text (unsigned)."""
TOKEN_HEADER = "x-amzn-oidc-accesstoken"
"""The IdP's access token, in plain text (unsigned)."""
ALB_KEY = "cognito_jwt.alb"
"""The WSGI ``environ`` / ASGI ``scope`` key of the :class:`AlbIdentity` of a request."""
MISSING_ALB = "the load balancer's x-amzn-oidc-data header is required"


@dataclass(frozen=True, slots=True)
class AlbIdentity:
    """A user the load balancer authenticated, known once ``x-amzn-oidc-data`` verified.

    Attributes:
        claims: The verified claims of ``x-amzn-oidc-data`` (the IdP's user info).
        identity: ``x-amzn-oidc-identity``, checked equal to the verified ``sub``; ``None``
            when the request did not carry it.
        access_token: ``x-amzn-oidc-accesstoken`` as sent: the load balancer does not sign
            it, so nothing ties it to the verified claims. Verify it (e.g. with a
            ``CognitoVerifier``) before you rely on it; ``None`` when absent.
    """

    claims: Claims
    identity: str | None
    access_token: str | None


def alb_mode(token_source: object, *, cookie: str | None, header: str | None) -> bool:
    """Check a middleware's ``token_source`` option; whether it reads the ALB header.

    Raises:
        ConfigurationError: Not ``"bearer"`` or ``"alb"``, or ``"alb"`` with ``cookie`` or
            ``header``, or ``cookie``/``header`` not a non-empty string.
    """
    if token_source not in ("bearer", "alb"):
        raise ConfigurationError(
            f"token_source must be 'bearer' or 'alb', got {str(token_source)[:40]!r}"
        )
    text_option(cookie, "cookie", optional=True)
    text_option(header, "header", optional=True)
    if token_source == "alb" and (cookie is not None or header is not None):
        raise ConfigurationError(
            "token_source='alb' reads x-amzn-oidc-data only: drop cookie= and header="
        )
    return token_source == "alb"


def _single(values: Sequence[str], name: str) -> str | None:
    present = [v.strip() for v in values if v.strip()]
    if not present:
        return None
    if len(present) != 1:
        raise MalformedTokenError(f"the {name} header was sent more than once")
    return present[0]


def data_token(values: Sequence[str]) -> str | None:
    """The token of the ``x-amzn-oidc-data`` header values of a request, or ``None``.

    Raises:
        MalformedTokenError: The header was sent twice, or holds more than one word.
    """
    token = _single(values, DATA_HEADER)
    if token is not None and (len(token.split()) != 1 or "," in token):
        raise MalformedTokenError(f"the {DATA_HEADER} header must hold one token")
    return token


def alb_identity(
    claims: Claims, identity: Sequence[str], access_token: Sequence[str]
) -> AlbIdentity:
    """Pair the verified *claims* with the unsigned identity and access token headers.

    Raises:
        MalformedTokenError: One of the headers was sent twice.
        ClaimError: ``x-amzn-oidc-identity`` is not the verified ``sub``.
    """
    sub = _single(identity, IDENTITY_HEADER)
    if sub is not None and sub != claims.sub:
        raise ClaimError(f"the {IDENTITY_HEADER} header is not the verified 'sub'")
    return AlbIdentity(claims, sub, _single(access_token, TOKEN_HEADER))
