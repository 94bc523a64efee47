"""FastAPI dependencies: ``Depends(require_token(verifier))`` gives a route the token's claims.

```python
from fastapi import Depends, FastAPI

from cognito_jwt import Claims, CognitoVerifier
from cognito_jwt.adapters.fastapi import require_token

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789abcdefghij", token_use="access"
)
app = FastAPI()


@app.get("/orders")
async def orders(claims: Claims = Depends(require_token(verifier, scopes=["orders/read"]))):
    return {"user": claims.sub}
```

The dependency declares an HTTP bearer security scheme (``fastapi.security.HTTPBearer``), so
the OpenAPI document names it and the interactive docs offer to send a token. It reads the
token from exactly one ``Authorization: Bearer <token>`` header, verifies it with
``verify_async`` (claims already verified by
:class:`~cognito_jwt.adapters.asgi.BearerAuthMiddleware` are reused), and refuses with
:class:`TokenRejected`, an ``HTTPException`` carrying the RFC 6750 status, ``WWW-Authenticate``
(and ``Retry-After``) headers, and ``detail = {"error", "error_description", "code"}``.

Only FastAPI applications import this module; the rest of the package never imports FastAPI.
"""

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Literal, overload

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import AsyncVerifier, Claims, JwtError
from ._web import Admit, Decision, Rejection, RequestFacts, Verify, WebPolicy, decide
from .asgi import CLAIMS_KEY

__all__ = ["TokenRejected", "require_token"]

_BEARER_DESCRIPTION = "A JWT access token: `Authorization: Bearer <token>`."


class TokenRejected(HTTPException):
    """The ``HTTPException`` a ``require_token`` dependency raises.

    Attributes:
        rejection: The full answer (status, headers, JSON body, error codes).
    """

    def __init__(self, rejection: Rejection) -> None:
        headers = {k: v for k, v in rejection.headers if k.lower() != "content-type"}
        detail: dict[str, str] = json.loads(rejection.body)
        super().__init__(status_code=rejection.status, detail=detail, headers=headers)
        self.rejection = rejection


@overload
def require_token(
    verifier: AsyncVerifier,
    *,
    scopes: Iterable[str] | str | None = ...,
    groups: Iterable[str] | str | None = ...,
    realm: str = ...,
    optional: Literal[False] = ...,
) -> Callable[..., Awaitable[Claims]]: ...


@overload
def require_token(
    verifier: AsyncVerifier,
    *,
    scopes: Iterable[str] | str | None = ...,
    groups: Iterable[str] | str | None = ...,
    realm: str = ...,
    optional: bool,
) -> Callable[..., Awaitable[Claims | None]]: ...


def require_token(
    verifier: AsyncVerifier,
    *,
    scopes: Iterable[str] | str | None = None,
    groups: Iterable[str] | str | None = None,
    realm: str = "api",
    optional: bool = False,
) -> Callable[..., Awaitable[Claims | None]]:
    """A FastAPI dependency that verifies the request's bearer token and returns its claims.

    Args:
        verifier: Any verifier of this package; only ``verify_async`` is used.
        scopes: Refuse (403 ``insufficient_scope``) tokens granting none of these scopes.
        groups: Refuse (403) users in none of these ``cognito:groups``.
        realm: The ``realm`` of ``WWW-Authenticate`` challenges.
        optional: Return ``None`` for requests without a token instead of answering 401; a
            token that is sent must still be valid.

    Returns:
        An async dependency for ``Depends(...)``: it returns the :class:`~cognito_jwt.Claims`
        (``None`` only when *optional* and no token was sent), or raises
        :class:`TokenRejected`.
    """
    policy = WebPolicy.of(realm=realm, optional=optional, scopes=scopes, groups=groups)
    bearer = HTTPBearer(auto_error=False, bearerFormat="JWT", description=_BEARER_DESCRIPTION)
    verified = RequestFacts()

    async def dependency(
        request: Request,
        _credentials: HTTPAuthorizationCredentials | None = Security(bearer),  # noqa: B008
    ) -> Claims | None:
        # _credentials only declares the scheme in OpenAPI; HTTPBearer's own parsing is lax
        # ("Bearer a b" passes), so the token is read with the shared RFC 6750 rules.
        claims = request.scope.get(CLAIMS_KEY)
        decision: Decision
        if isinstance(claims, Claims):  # the middleware verified it: the requirements remain
            decision = decide(policy, verified, claims)
        else:
            facts = RequestFacts(authorization=request.headers.getlist("authorization"))
            decision = decide(policy, facts)
            if isinstance(decision, Verify):
                try:
                    outcome: Claims | JwtError = await verifier.verify_async(decision.token)
                except JwtError as exc:
                    outcome = exc
                decision = decide(policy, facts, outcome)
        if isinstance(decision, Admit):
            return decision.claims
        raise TokenRejected(decision)

    return dependency
