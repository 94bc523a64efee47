"""The Lambda authorizer the end-to-end tests deploy: the library's own handler, set up by env.

Zipped at the root of the deployment package next to the library and its dependencies (see
``tests/e2e/package.py``); Lambda's handler setting is ``authorizer_app.handler``.

MiniStack runs it with the emulator's interpreter, whose site-packages stay importable (AWS's
runtime has only the standard library and boto3). So that a dependency missing from the
package fails here as it would on AWS, the module first drops every ``site-packages``
directory outside the package from ``sys.path``, forgets modules already imported from them,
and then checks that the library and its dependencies come from the package.

Environment (the function's configuration):
    POOL_ID, CLIENT_IDS (comma-separated), TOKEN_USE ("id" | "access"), JWKS_URI: the verifier.
        Tokens keep the real Cognito ``iss``; the keys come from the emulator (``jwks_uri``).
    HTTP_RESPONSE ("simple" | "iam"), ON_INVALID ("unauthorized" | "deny"): the handler.
    Routes: every route ends in ``/me`` (any valid token), ``/admin`` (group ``admins``) or
    ``/write`` (scope ``https://api.example.com/write``). A policy answer allows exactly the
    routes the caller may use (``Decision.resources``), so a cached policy stays right for
    every route; a simple answer (no resources) allows the route asked about only.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import uuid

_BEGAN = time.perf_counter()
_ROOT = os.path.realpath(os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(__file__))


def _inside(path: str) -> bool:
    real = os.path.realpath(path or ".")
    return real == _ROOT or real.startswith(_ROOT + os.sep)


def _isolate() -> None:
    """Make the interpreter see only the standard library and the deployment package."""
    foreign = [
        p for p in sys.path if not _inside(p) and ("site-packages" in p or "dist-packages" in p)
    ]
    sys.path[:] = [p for p in sys.path if p not in foreign]
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if origin and any(
            os.path.realpath(origin).startswith(os.path.realpath(f)) for f in foreign
        ):
            del sys.modules[name]


_isolate()

from cognito_jwt import Claims, CognitoVerifier  # noqa: E402 - after the isolation above
from cognito_jwt.adapters.lambda_authorizer import (  # noqa: E402
    AuthorizerRequest,
    Decision,
    authorizer,
)

IMPORT_MS = round((time.perf_counter() - _BEGAN) * 1000, 1)
_PACKAGED = ("cognito_jwt", "cryptography", "httpx", "httpcore", "cachetools", "certifi")
for _name in _PACKAGED:
    _file = getattr(sys.modules.get(_name), "__file__", None) or ""
    if not _inside(_file):
        raise RuntimeError(f"{_name} was not loaded from the deployment package ({_file!r})")

WRITE_SCOPE = "https://api.example.com/write"
CONTAINER = uuid.uuid4().hex[:12]  # one per cold start
_INVOCATIONS = itertools.count(1)


def _allowed(claims: Claims) -> list[str]:
    allowed = ["me"]
    if "admins" in claims.groups:
        allowed.append("admin")
    if WRITE_SCOPE in claims.scopes:
        allowed.append("write")
    return allowed


def authorize(claims: Claims, request: AuthorizerRequest) -> Decision:
    allowed = _allowed(claims)
    context = {
        "invocation": next(_INVOCATIONS),
        "container": CONTAINER,
        "import_ms": IMPORT_MS,
        "init_ms": INIT_MS,
        "cognito_jwt_file": sys.modules["cognito_jwt"].__file__ or "",
    }
    if request.kind == "http" and os.environ["HTTP_RESPONSE"] == "simple":
        return Decision(allow=request.arn.route.rsplit("/", 1)[-1] in allowed, context=context)
    # Every method of every path ending in an allowed name, on this API and stage only.
    resources = [request.arn.resource(f"*/{name}") for name in allowed]
    return Decision(allow=True, resources=resources, context=context)


handler = authorizer(
    CognitoVerifier(
        user_pool_id=os.environ["POOL_ID"],
        client_id=os.environ["CLIENT_IDS"].split(","),
        token_use=os.environ["TOKEN_USE"],  # type: ignore[arg-type]
        jwks_uri=os.environ["JWKS_URI"],
    ),
    authorize=authorize,
    http_response=os.environ["HTTP_RESPONSE"],  # type: ignore[arg-type]
    on_invalid=os.environ["ON_INVALID"],  # type: ignore[arg-type]
)
INIT_MS = round((time.perf_counter() - _BEGAN) * 1000, 1)
