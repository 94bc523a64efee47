"""The deployment package (what it holds, what it weighs) and the authorizer's cold start.

The figures are printed in the test report's "MiniStack end to end: measurements" section.
MiniStack reports no ``Init Duration`` (``Invoke`` with ``LogType="Tail"`` returns no log), so
the handler measures its own init phase (module import, verifier and handler built, keys
loaded by ``hydrate()``) and hands it over in the authorizer context; the round trips of a
first (cold) and a second (warm) ``Invoke`` are timed from here.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from tests.e2e import aws
from tests.e2e.conftest import LAMBDA_SRC, MEASUREMENTS, Deployment
from tests.e2e.package import DeploymentPackage, zip_folder
from tests.servers.ministack import MiniStack

# AWS Lambda quotas: 50 MB zipped for a direct upload, 250 MB unzipped (layers included).
ZIP_QUOTA = 50 * 1024 * 1024
UNZIPPED_QUOTA = 250 * 1024 * 1024


def test_package_is_laid_out_as_aws_documents(deployment_package: DeploymentPackage) -> None:
    with zipfile.ZipFile(deployment_package.zip_path) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    for name in names:
        path = PurePosixPath(name)
        assert not path.is_absolute()
        assert ".." not in path.parts
    # The handler and every runtime dependency at the root, as `pip install --target` lays them.
    for expected in (
        "authorizer_app.py",
        "cognito_jwt/__init__.py",
        "cognito_jwt/adapters/lambda_authorizer.py",
        "cryptography/__init__.py",
        "httpx/__init__.py",
        "cachetools/__init__.py",
        "certifi/cacert.pem",
        "typing_extensions.py",
    ):
        assert expected in names, expected
    assert any(n.startswith("cognito_jwt-") and n.endswith(".dist-info/METADATA") for n in names)
    assert deployment_package.zip_bytes < ZIP_QUOTA
    assert deployment_package.unzipped_bytes < UNZIPPED_QUOTA


def _invoke(ministack: MiniStack, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], float]:
    lam = ministack.client("lambda")
    began = time.perf_counter()
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    elapsed = (time.perf_counter() - began) * 1000
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response, response["Payload"].read()
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    return answer, elapsed


def test_cold_start_of_the_authorizer(
    ministack: MiniStack,
    deployment: Deployment,
    deployment_package: DeploymentPackage,
    pool: aws.Pool,
) -> None:
    # A function of its own, so that its first invocation is certainly a cold start.
    name = "authz-cold-start"
    aws.create_function(
        ministack,
        name=name,
        code=deployment_package.code,
        handler="authorizer_app.handler",
        role=deployment.role,
        env={**deployment.authorizer_env, "HTTP_RESPONSE": "iam", "ON_INVALID": "unauthorized"},
    )
    arn = f"arn:aws:execute-api:{ministack.region}:{aws.ACCOUNT}:abcdef1234/{aws.STAGE}/GET/me"
    token = pool.tokens("alice")["AccessToken"]
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}

    cold, cold_ms = _invoke(ministack, name, event)
    warm, warm_ms = _invoke(ministack, name, event)

    for answer in (cold, warm):
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert answer["principalId"] == answer["context"]["sub"]
    # The second invocation ran in the container the first one started (a warm start).
    assert warm["context"]["container"] == cold["context"]["container"]
    assert (cold["context"]["invocation"], warm["context"]["invocation"]) == (1, 2)
    init_ms = cold["context"]["init_ms"]
    import_ms = cold["context"]["import_ms"]
    assert 0 < import_ms <= init_ms
    MEASUREMENTS["authorizer init phase (in the function)"] = (
        f"{init_ms} ms, of which {import_ms} ms importing cognito_jwt and its Lambda adapter "
        f"(the rest: verifier and handler built, keys fetched by hydrate(), which is also "
        f"where cryptography is first imported)"
    )
    MEASUREMENTS["authorizer Invoke round trip"] = (
        f"cold {cold_ms:.0f} ms (MiniStack unzips the package and starts a worker), "
        f"warm {warm_ms:.0f} ms"
    )


def test_handler_without_its_dependencies_does_not_start(
    ministack: MiniStack,
    deployment: Deployment,
    tmp_path: Path,
) -> None:
    # The emulator's interpreter has cognito_jwt and cryptography installed; AWS's runtime does
    # not. The handler hides them, so a package that forgot its dependencies fails here too.
    source = tmp_path / "src"
    source.mkdir()
    (source / "authorizer_app.py").write_bytes((LAMBDA_SRC / "authorizer_app.py").read_bytes())
    zip_folder(source, tmp_path / "bare.zip")
    name = "authz-bare"
    aws.create_function(
        ministack,
        name=name,
        code=(tmp_path / "bare.zip").read_bytes(),
        handler="authorizer_app.handler",
        role=deployment.role,
        env={**deployment.authorizer_env, "HTTP_RESPONSE": "iam", "ON_INVALID": "unauthorized"},
    )
    response = ministack.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert response.get("FunctionError"), response
    assert "No module named 'cognito_jwt'" in response["Payload"].read().decode()
