"""Requests authenticated by an Application Load Balancer: trust its headers only once verified.

A load balancer with an ``authenticate-cognito`` or ``authenticate-oidc`` rule adds three
headers to the requests it forwards (Elastic Load Balancing user guide, "User claims encoding
and signature verification"):

* ``x-amzn-oidc-data``: the user's claims, a JWT the load balancer signs;
* ``x-amzn-oidc-identity``: the user's ``sub``, in plain text;
* ``x-amzn-oidc-accesstoken``: the IdP's access token, in plain text.

Anyone who reaches the application without passing the load balancer can send all three.
The helpers here verify ``x-amzn-oidc-data`` with an ``AlbVerifier`` and only then hand out
the other two, in an :class:`AlbIdentity` (the identity must equal the verified ``sub``):

```python
from cognito_jwt import AlbVerifier
from cognito_jwt.adapters.alb import authenticate

verifier = AlbVerifier(
    alb_arn="arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
    issuer="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
    client_id="1example23456789abcdefghij",
)
user = authenticate(verifier, request_headers)  # None when the header is absent
```

The WSGI and ASGI middleware do the same for every request with ``token_source="alb"``
(see :class:`~cognito_jwt.adapters.wsgi.BearerAuthMiddleware`,
:class:`~cognito_jwt.adapters.asgi.BearerAuthMiddleware`, and ``init_app`` for Flask).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .. import AsyncVerifier, Verifier
from ._web import (
    ALB_KEY,
    DATA_HEADER,
    IDENTITY_HEADER,
    TOKEN_HEADER,
    AlbIdentity,
    alb_identity,
    data_token,
)

__all__ = [
    "ALB_KEY",
    "DATA_HEADER",
    "IDENTITY_HEADER",
    "TOKEN_HEADER",
    "AlbIdentity",
    "Headers",
    "authenticate",
    "authenticate_async",
]

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""A request's headers: a mapping (names in any case) or ``(name, value)`` pairs."""


def _values(headers: Headers) -> tuple[list[str], list[str], list[str]]:
    """The values of the data, identity and access token headers, in that order."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, list[str]] = {DATA_HEADER: [], IDENTITY_HEADER: [], TOKEN_HEADER: []}
    for name, value in pairs:
        values = found.get(name.lower())
        if values is not None:
            values.append(value)
    return found[DATA_HEADER], found[IDENTITY_HEADER], found[TOKEN_HEADER]


def authenticate(verifier: Verifier, headers: Headers) -> AlbIdentity | None:
    """Verify a request's ``x-amzn-oidc-data`` and pair it with the unsigned headers.

    Args:
        verifier: An ``AlbVerifier`` for your load balancer.
        headers: The request's headers.

    Returns:
        The verified user, or ``None`` when the request has no ``x-amzn-oidc-data`` (the load
        balancer forwards unauthenticated requests that way with ``OnUnauthenticatedRequest:
        allow``).

    Raises:
        JwtError: The token is invalid (a subclass names why), a header was sent twice, or
            ``x-amzn-oidc-identity`` is not the verified ``sub``.
    """
    data, identity, access_token = _values(headers)
    token = data_token(data)
    if token is None:
        return None
    return alb_identity(verifier.verify(token), identity, access_token)


async def authenticate_async(verifier: AsyncVerifier, headers: Headers) -> AlbIdentity | None:
    """Like :func:`authenticate`, with ``verify_async``: key fetches never block the loop.

    Raises:
        JwtError: As :func:`authenticate`.
    """
    data, identity, access_token = _values(headers)
    token = data_token(data)
    if token is None:
        return None
    return alb_identity(await verifier.verify_async(token), identity, access_token)
