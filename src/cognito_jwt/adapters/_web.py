"""What the WSGI, ASGI, Flask and FastAPI adapters share: bearer parsing and RFC 6750 answers.

* Bearer extraction (RFC 6750 §2.1): exactly one ``Authorization`` header whose scheme is
  ``Bearer`` in any case, followed by exactly one token; optionally a named cookie or header.
* Challenges (RFC 6750 §3): a missing token is 401 with ``WWW-Authenticate: Bearer realm=...``
  and no error code; a bad token is 401 ``error="invalid_token"``; a valid token without the
  scope or group a route needs is 403 ``error="insufficient_scope"`` (with ``scope=``); keys
  unavailable is 503, our outage rather than the client's fault.
* Bodies are JSON: ``{"error": ..., "error_description": ..., "code": ...}``, never the token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .. import (
    Claims,
    InsufficientScopeError,
    JwtError,
    KeySetUnavailableError,
    MissingGroupError,
)

__all__ = [
    "Rejection",
    "bearer_from_headers",
    "check_requirements",
    "rejection_for",
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


@dataclass(frozen=True, slots=True)
class Rejection:
    """An HTTP answer refusing a request.

    Attributes:
        status: 401, 403 or 503.
        headers: Response headers (``WWW-Authenticate``, ``Content-Type`` ...).
        body: The JSON body, encoded.
        error: The RFC 6750 error code (``invalid_token``, ``insufficient_scope``) or ``""``.
        code: This library's stable error code, or ``""`` when no token was sent.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str
    code: str

    @property
    def reason(self) -> str:
        """The status line's reason phrase."""
        return {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}[self.status]


def _rejection(
    status: int,
    realm: str,
    *,
    error: str = "",
    description: str = "",
    code: str = "",
    scope: Iterable[str] = (),
) -> Rejection:
    params = [f'realm="{_quote(realm)}"']
    if error:
        params.append(f'error="{error}"')
        if description:
            params.append(f'error_description="{_quote(description)}"')
    scopes = " ".join(sorted(scope))
    if scopes:
        params.append(f'scope="{_quote(scopes, 1000)}"')
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if status in (401, 403):
        headers.append(("WWW-Authenticate", "Bearer " + ", ".join(params)))
    if status == 503:
        headers.append(("Retry-After", "30"))
    body = {"error": error or "unauthorized", "error_description": description, "code": code}
    return Rejection(status, tuple(headers), json.dumps(body).encode(), error, code)


def unauthenticated(realm: str) -> Rejection:
    """401 for a request without a token (RFC 6750 §3.1: no error code)."""
    return _rejection(401, realm, description="a bearer token is required")


def rejection_for(exc: JwtError, realm: str, scopes: Iterable[str] = ()) -> Rejection:
    """The answer for a verification failure.

    *scopes* are named in the 403 challenge (the ones that would have been enough).
    """
    if isinstance(exc, KeySetUnavailableError):
        return _rejection(
            503,
            realm,
            error="temporarily_unavailable",
            description="token keys are unavailable; try again later",
            code=exc.code,
        )
    if isinstance(exc, InsufficientScopeError | MissingGroupError):
        return _rejection(
            403,
            realm,
            error="insufficient_scope",
            description=str(exc),
            code=exc.code,
            scope=scopes,
        )
    # The message of a JwtError never contains the token; it may name claim values.
    return _rejection(401, realm, error="invalid_token", description=str(exc), code=exc.code)


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
