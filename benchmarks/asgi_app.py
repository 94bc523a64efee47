"""Two Starlette apps for benchmarks/bench_asgi.py: the same route with and without auth."""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cognito_jwt import JwtVerifier
from cognito_jwt.adapters.asgi import BearerAuthMiddleware


async def orders(request: Request) -> JSONResponse:
    claims = getattr(request.state, "claims", None)
    return JSONResponse({"orders": [], "sub": claims.sub if claims else None})


open_app = Starlette(routes=[Route("/orders", orders)])
verifier = JwtVerifier(issuer=os.environ["BENCH_ISSUER"], audience="api", store=None)
protected = BearerAuthMiddleware(Starlette(routes=[Route("/orders", orders)]), verifier)
