"""The Lambda authorizer the end-to-end tests deploy: the library's own handler, set up by env.

Zipped at the root of the deployment package next to the library and its dependencies (see
``tests/e2e/package.py``); Lambda's handler setting is ``authorizer_app.handler``.

MiniStack runs it with the emulator's interpreter, whose site-packages stay importable (AWS's
runtime has only the standard library and boto3). So that a dependency missing from the
package fails here as it would on AWS, the module first keeps on ``sys.path`` only the package
(and the function's layers, if any) and the standard library, forgets modules already imported
from elsewhere, and once the handler is built checks that the library and its dependencies came
from the package (or a layer).

Environment (the function's configuration):
    POOL_ID, CLIENT_IDS (comma-separated), TOKEN_USE ("id" | "access"), JWKS_URI: the verifier.
        Tokens keep the real Cognito ``iss``; the keys come from the emulator (``jwks_uri``).
    HTTP_RESPONSE ("simple" | "iam"), ON_INVALID ("unauthorized" | "deny"): the handler.
    ROUTE_PREFIXES (comma-separated; default: none): the paths before the routes, ``/token``
        and ``/request`` on the REST API.
    Routes (the handler's ``routes=``): ``GET {prefix}/me`` (any valid token),
    ``GET {prefix}/admin`` (group ``admins``), ``GET {prefix}/write`` (scope
    ``https://api.example.com/write``). A policy answer allows exactly the routes the caller
    may call, so a cached policy stays right for every route; a simple answer checks the
    event's ``routeKey``, which the HTTP API puts in the cache key.
"""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import sysconfig
import time
import uuid

_BEGAN = time.perf_counter()
_ROOT = os.path.realpath(os.environ.get("LAMBDA_TASK_ROOT") or os.path.dirname(__file__))
# The function's layers, when the library comes in one (tests/e2e/test_layer.py): MiniStack
# extracts each to a folder it names in _LAMBDA_LAYERS_DIRS (AWS merges them into /opt).
_LAYERS = os.environ.get("_LAMBDA_LAYERS_DIRS", "").split(os.pathsep)
_ROOTS = [_ROOT, *(os.path.realpath(path) for path in _LAYERS if path)]


def _inside(path: str) -> bool:
    """In the deployment package or one of the function's layers."""
    real = os.path.realpath(path) if path else ""
    return any(real == root or real.startswith(root + os.sep) for root in _ROOTS)


def _standard(path: str) -> bool:
    """In the standard library (and not in a site-packages folder inside it)."""
    real = os.path.realpath(path) if path else ""
    if not real or "site-packages" in real or "dist-packages" in real:
        return False
    libraries = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    return any(real == lib or real.startswith(lib + os.sep) for lib in libraries)


def _isolate() -> None:
    """Make the interpreter see only the standard library and the deployment package.

    Everything else on ``sys.path`` goes (site-packages, ``.pth`` entries of editable
    installs, ``PYTHONPATH``), and modules already imported from there are forgotten.
    """
    sys.path[:] = [p for p in sys.path if _inside(p) or _standard(p)]
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if name != "__main__" and origin and not (_inside(origin) or _standard(origin)):
            del sys.modules[name]


_isolate()

from cognito_jwt import Claims, CognitoVerifier  # noqa: E402 - after the isolation above
from cognito_jwt.adapters.lambda_authorizer import (  # noqa: E402
    AuthorizerRequest,
    Decision,
    Route,
    authorizer,
)

IMPORT_MS = round((time.perf_counter() - _BEGAN) * 1000, 1)

WRITE_SCOPE = "https://api.example.com/write"
CONTAINER = uuid.uuid4().hex[:12]  # one per cold start
_INVOCATIONS = itertools.count(1)


RULES = {"me": Route(), "admin": Route(groups="admins"), "write": Route(scopes=WRITE_SCOPE)}
ROUTES = {
    f"GET {prefix}/{name}": rule
    for prefix in os.environ.get("ROUTE_PREFIXES", "").split(",")
    for name, rule in RULES.items()
}


def authorize(claims: Claims, request: AuthorizerRequest) -> Decision:
    """Every valid token passes here; ``routes=`` decides. This only adds to the context."""
    del claims, request
    context = {
        "invocation": next(_INVOCATIONS),
        "container": CONTAINER,
        "import_ms": IMPORT_MS,
        "init_ms": INIT_MS,
        "cognito_jwt_file": sys.modules["cognito_jwt"].__file__ or "",
    }
    return Decision(allow=True, context=context)


handler = authorizer(
    CognitoVerifier(
        user_pool_id=os.environ["POOL_ID"],
        client_id=os.environ["CLIENT_IDS"].split(","),
        token_use=os.environ["TOKEN_USE"],  # type: ignore[arg-type]
        jwks_uri=os.environ["JWKS_URI"],
    ),
    authorize=authorize,
    routes=ROUTES,
    http_response=os.environ["HTTP_RESPONSE"],  # type: ignore[arg-type]
    on_invalid=os.environ["ON_INVALID"],  # type: ignore[arg-type]
)
INIT_MS = round((time.perf_counter() - _BEGAN) * 1000, 1)

# The library and every runtime dependency it loads must have come from the package.
for _name in (
    "cognito_jwt",
    "cryptography",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "idna",
    "certifi",
    "cachetools",
    "typing_extensions",
):
    _file = getattr(importlib.import_module(_name), "__file__", None) or ""
    if not _inside(_file):
        raise RuntimeError(f"{_name} was not loaded from the package or a layer ({_file!r})")
