"""One web decision for every adapter: bearer parsing, requirements and RFC 6750 answers.

:func:`decide` is the decision; the WSGI and ASGI middleware, the Flask and FastAPI helpers,
the Lambda authorizer (and the Django adapter) only gather a request's facts, run the verify
call it asks for, and carry out its answer. What it decides:

* Bearer extraction (RFC 6750 §2.1): exactly one ``Authorization`` header whose scheme is
  ``Bearer`` in any case, followed by exactly one token; optionally a named cookie or header.
* Challenges (RFC 6750 §3): a missing token is 401 with ``WWW-Authenticate: Bearer realm=...``
  and no error code; a bad token is 401 ``error="invalid_token"``; a valid token without the
  scope or group a route needs is 403 ``error="insufficient_scope"``; keys unavailable is 503
  with ``Retry-After``, our outage rather than the client's fault; a verifier that can't serve
  the call (a configuration error) is 500.
* A 403 names scopes (``scope="..."`` in the challenge) only when the adapter's own
  ``scopes=`` refused the token, and then the scopes that would have been enough: never for
  a missing group (group names are configuration), never when the verifier's own check
  refused (the adapter does not know which scopes the verifier wanted).
* Every refusal body is JSON of one shape, ``{"error": ..., "error_description": ...,
  "code": ...}``: an OAuth error code, a generic sentence per error class and the library's
  stable code. Never the token, and never the detailed reason, which names the configuration
  (expected issuer, audiences, groups).
* Every refusal is logged once, the same way whatever the adapter, on the ``cognito_jwt``
  logger: ``refused with <status> (<code>): <detailed reason>``, at INFO for 401 and 403 (a
  missing token included), WARNING for 503 and ERROR for 500. Never the token: error
  messages don't carry it.
* Behind an Application Load Balancer (``token_source="alb"``) the token is the
  ``x-amzn-oidc-data`` header instead, and the unsigned ``x-amzn-oidc-identity`` and
  ``x-amzn-oidc-accesstoken`` are handed out only with the claims of a verified token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Literal, overload

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
from .._log import logger
from .._normalise import string_set, string_tuple
from .._record import dataclass, field

__all__ = [
    "ALB_KEY",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "MISSING_ALB",
    "NO_TOKEN_CODE",
    "PASS",
    "RETRY_AFTER",
    "TOKEN_HEADER",
    "Admit",
    "AlbIdentity",
    "Decision",
    "PathRules",
    "Rejection",
    "RequestFacts",
    "TokenSource",
    "Verify",
    "WebPolicy",
    "alb_identity",
    "alb_mode",
    "bearer_from_headers",
    "check_requirements",
    "cookie_value",
    "data_token",
    "decide",
    "describe",
    "names",
    "one_word",
    "read_token",
    "refusal",
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


def one_word(text: str) -> bool:
    """Whether *text* is one ASCII word without a comma (what ``split()`` leaves whole).

    ``str.split()`` splits ASCII text on these characters only; ``in`` scans fast.
    """
    return (
        text.isascii()
        and bool(text)
        and " " not in text
        and "," not in text
        and "\t" not in text
        and "\n" not in text
        and "\r" not in text
        and "\x0b" not in text
        and "\x0c" not in text
        and "\x1c" not in text
        and "\x1d" not in text
        and "\x1e" not in text
        and "\x1f" not in text
    )


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
    token = _bearer(authorization)
    if token is None and header:
        token = _named(header, header_name or "token")
    return cookie if token is None else token


def _bearer(authorization: Sequence[str]) -> str | None:
    """The ``Authorization`` bearer token; ``None`` when no bearer credential was sent.

    Raises:
        MalformedTokenError: A bearer credential that is not exactly one token.
    """
    if len(authorization) == 1:  # the usual case
        scheme, _, rest = authorization[0].partition(" ")
        if scheme.lower() == "bearer" and one_word(rest):
            return rest  # without splitting (and copying) the token: the rest is one word
    values = [v for v in authorization if v.strip()]
    if any(v.split()[0].lower() == "bearer" for v in values):
        token = bearer_from_headers(values)
        if token is None or "," in token:
            raise MalformedTokenError("the Authorization header must hold exactly one token")
        return token
    return None


def _named(header: Sequence[str], name: str) -> str | None:
    """The token of another header (``Bearer <token>`` or the bare token), ``None`` if absent.

    Raises:
        MalformedTokenError: Sent, but not one token.
    """
    values = [v for v in header if v.strip()]
    if not values:
        return None
    parts = values[0].split()
    if len(values) == 1 and parts[0].lower() == "bearer" and len(parts) == 2:
        return parts[1]
    if len(values) == 1 and len(parts) == 1 and "," not in parts[0]:
        return parts[0]
    raise MalformedTokenError(f"the {name} header must hold one token")


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
    """401 for a request without a token, and its log line (INFO).

    The challenge carries no error code (RFC 6750 §3.1); the body has the same shape as every
    other refusal: ``invalid_request`` and the code ``ERR_TOKEN_MISSING``.
    """
    logger.info("refused with 401 (%s): %s", NO_TOKEN_CODE, description)
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
        logger.error("refused with 500 (%s): %s; fix the configuration", exc.code, exc)
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


# --- The decision ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WebPolicy:
    """What a web adapter requires of a request, checked once when the adapter is built.

    Build it with :meth:`of`, which checks the options as every adapter takes them.

    Attributes:
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        paths: Paths served without a token.
        optional: Let requests without a token through, with no claims.
        scopes: Refuse (403) tokens granting none of these scopes; ``None``: no requirement.
        groups: Refuse (403) users in none of these ``cognito:groups``; ``None``: none.
        alb: The token is ``x-amzn-oidc-data`` (behind an Application Load Balancer).
        token_header: The lowercase name of a header carrying the token besides
            ``Authorization`` (``header=``), or :data:`DATA_HEADER` with *alb*; ``None``.
        cookie: A cookie carrying the bare token, or ``None``.
    """

    realm: str
    paths: PathRules
    optional: bool
    scopes: frozenset[str] | None
    groups: frozenset[str] | None
    alb: bool
    token_header: str | None
    cookie: str | None

    @classmethod
    def of(
        cls,
        *,
        realm: str = "api",
        exclude_paths: Iterable[str] | str = (),
        optional: bool = False,
        cookie: str | None = None,
        header: str | None = None,
        scopes: Iterable[str] | str | None = None,
        groups: Iterable[str] | str | None = None,
        token_source: TokenSource = "bearer",  # noqa: S107 - not a secret
    ) -> WebPolicy:
        """Check the options a web adapter takes and build its policy.

        Raises:
            ConfigurationError: An option has an unusable value (see :func:`alb_mode`,
                :func:`text_option`, :func:`names`, :meth:`PathRules.of`).
        """
        alb = alb_mode(token_source, cookie=cookie, header=header)
        text_option(realm, "realm")
        if not isinstance(optional, bool):
            raise ConfigurationError("optional must be True or False")
        return cls(
            realm,
            PathRules.of(exclude_paths),
            optional,
            names(scopes, "scopes"),
            names(groups, "groups"),
            alb,
            DATA_HEADER if alb else header.lower() if header is not None else None,
            cookie,
        )


@dataclass(slots=True)
class RequestFacts:
    """What :func:`decide` reads of a request: header values exactly as they were found.

    Each header is given as all its values, in order (none when absent, two when sent
    twice): :func:`decide` judges repeats, not the adapter. An adapter reads only the headers
    its :class:`WebPolicy` names; the rest keep their empty defaults.

    Attributes:
        method: The HTTP method (``"GET"``); WebSocket handshakes are ``"GET"``.
        path: The path the exclusion rules match (WSGI: ``PATH_INFO``; ASGI: ``path``).
        authorization: The ``Authorization`` header values.
        token_header: The values of the policy's ``token_header`` (``x-amzn-oidc-data`` with
            ``token_source="alb"``).
        cookie: The ``Cookie`` header values (read when the policy has a ``cookie``).
        preflight: A non-empty ``Access-Control-Request-Method`` header was sent.
        identity: ``x-amzn-oidc-identity`` values (with ``token_source="alb"``).
        access_token: ``x-amzn-oidc-accesstoken`` values (with ``token_source="alb"``).
    """

    method: str = "GET"
    path: str = "/"
    authorization: Sequence[str] = ()
    token_header: Sequence[str] = ()
    cookie: Sequence[str] = ()
    preflight: bool = False
    identity: Sequence[str] = ()
    access_token: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Verify:
    """:func:`decide`'s request to the adapter: verify *token*, then decide again with the result.

    Attributes:
        token: The token the request carries (never log it).
    """

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Admit:
    """:func:`decide`'s admission: pass the request on to the application.

    Attributes:
        claims: The verified claims to hand to the application; ``None`` for a request that
            passes without a token (excluded path, CORS preflight, optional mode).
        alb: With ``token_source="alb"``, the verified load balancer user (the unsigned
            headers may go back to the application); otherwise ``None``.
    """

    claims: Claims | None
    alb: AlbIdentity | None = None


PASS = Admit(None)
"""The admission of a request that needs no token (or, in optional mode, sent none)."""

Decision = Verify | Admit | Rejection
"""What :func:`decide` answers: verify a token first, admit, or refuse with an HTTP answer."""


@overload
def decide(policy: WebPolicy, request: RequestFacts, outcome: None = None) -> Decision: ...


@overload
def decide(
    policy: WebPolicy, request: RequestFacts, outcome: Claims | JwtError
) -> Admit | Rejection: ...


def decide(
    policy: WebPolicy, request: RequestFacts, outcome: Claims | JwtError | None = None
) -> Decision:
    """The one web decision: whether a request goes on, and if not, its RFC 6750 answer.

    A request is decided in two calls, around the one verify call the adapter makes::

        decision = decide(policy, facts)                      # Verify, Admit or Rejection
        if isinstance(decision, Verify):
            try:
                outcome = verifier.verify(decision.token)     # or await verify_async(...)
            except JwtError as exc:
                outcome = exc
            decision = decide(policy, facts, outcome)         # Admit or Rejection

    The first call (no *outcome*) admits CORS preflights (``OPTIONS`` with
    ``Access-Control-Request-Method``: browsers never send credentials on them) and excluded
    paths without a token, reads the token (see :func:`request_token`, or
    :func:`data_token` behind a load balancer) and asks for it to be verified; a malformed
    credential is refused, no token at all is refused (401 without an error code) unless the
    policy is optional. The second call checks the policy's ``scopes``/``groups`` against the
    claims, and behind a load balancer pairs them with the unsigned identity headers; an error
    is mapped by :func:`rejection_for`. A verifier that refuses with a missing scope or group
    gets 403 like the adapter's own requirement, without naming scopes.

    No I/O and no state besides one log line per refusal (``cognito_jwt`` logger, never the
    token): the same facts and outcome always get the same answer. An adapter with no
    request facts (the Lambda authorizer, which reads its events itself) passes
    ``RequestFacts()``: the first call is then the answer to a request without a token.

    Args:
        policy: The adapter's requirements (:meth:`WebPolicy.of`).
        request: The request's facts.
        outcome: ``None`` for the first call; then the verified claims, or the
            :class:`~cognito_jwt.JwtError` the verifier raised.

    Returns:
        :class:`Verify` (first call only), :class:`Admit`, or a :class:`Rejection` to send.
    """
    if outcome is None:
        return _before(policy, request)
    return _after(policy, request, outcome)


def _before(policy: WebPolicy, request: RequestFacts) -> Decision:
    """The first call: pass, refuse, or ask for the token to be verified."""
    if (request.preflight and request.method == "OPTIONS") or policy.paths.excluded(request.path):
        return PASS
    try:
        token = read_token(policy, request)
    except JwtError as exc:
        return rejection_for(exc, policy.realm)
    if token is not None:
        return Verify(token)
    if policy.optional:
        return PASS
    return unauthenticated(policy.realm, MISSING_ALB if policy.alb else _NO_TOKEN)


def _after(
    policy: WebPolicy, request: RequestFacts, outcome: Claims | JwtError
) -> Admit | Rejection:
    """The second call: the verifier's outcome against the policy's requirements."""
    if not isinstance(outcome, Claims):
        return rejection_for(outcome, policy.realm)  # the verifier's own scopes: not named
    refused = _unmet(policy, outcome)
    if refused is not None:
        return refused
    if policy.alb:
        try:
            return Admit(outcome, alb_identity(outcome, request.identity, request.access_token))
        except JwtError as exc:
            return rejection_for(exc, policy.realm)
    return Admit(outcome)


def refusal(policy: WebPolicy, outcome: Claims | JwtError) -> Rejection | None:
    """:func:`decide`'s second call without the admission: the refusal, or ``None``.

    For an adapter that needs no :class:`Admit` record (the Lambda authorizer, whose policy
    never reads load balancer headers): the same answer, one record fewer per request.
    """
    if not isinstance(outcome, Claims):
        return rejection_for(outcome, policy.realm)  # the verifier's own scopes: not named
    return _unmet(policy, outcome)


def _unmet(policy: WebPolicy, claims: Claims) -> Rejection | None:
    """The refusal (403) of claims that meet none of the policy's scopes or groups."""
    if policy.scopes is not None or policy.groups is not None:
        error = check_requirements(claims, scopes=policy.scopes, groups=policy.groups)
        if error is not None:
            return rejection_for(error, policy.realm, policy.scopes or ())
    return None


_NO_TOKEN = "a bearer token is required"


def read_token(policy: WebPolicy, request: RequestFacts) -> str | None:
    """The request's token under *policy*, or ``None`` (what :func:`decide` asks to verify).

    Raises:
        MalformedTokenError: A credential was sent but is not exactly one token.
    """
    if policy.alb:
        return data_token(request.token_header)
    return request_token(
        request.authorization,
        header=request.token_header,
        header_name=policy.token_header or "",
        cookie=cookie_value(request.cookie, policy.cookie) if policy.cookie else None,
    )
