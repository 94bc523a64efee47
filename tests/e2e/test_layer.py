"""The Lambda layer (``python -m nox -s layer``): published, attached, and the authorizer runs.

The layer is built by the same code as the nox session (``tests/e2e/package.py``,
``build_layer``), for the Python running the tests and this machine's architecture (MiniStack
runs functions with that interpreter, see tests/e2e/package.py), from the deployment package's
``pip install --target`` (same flags, same lock) rather than a second install. The function's
own zip holds nothing but the handler module: the library and every dependency must come from
the layer (``authorizer_app`` refuses to start otherwise, and hides the emulator's
site-packages).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import aws
from tests.e2e.conftest import LAMBDA_SRC, MEASUREMENTS, PROJECT_ROOT, Deployment
from tests.e2e.package import DeploymentPackage, Layer, build_layer, zip_folder
from tests.servers.ministack import MiniStack

# AWS Lambda quotas: 50 MB zipped for a direct upload, 250 MB unzipped (function and layers).
ZIP_QUOTA = 50 * 1024 * 1024
UNZIPPED_QUOTA = 250 * 1024 * 1024
ARCHITECTURE = "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"


@pytest.fixture(scope="module")
def layer(deployment_package: DeploymentPackage) -> Iterator[Layer]:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="cognito-jwt-layer-") as folder:
        built = build_layer(
            PROJECT_ROOT, Path(folder), here, ARCHITECTURE, reuse=deployment_package
        )
        MEASUREMENTS["layer"] = built.summary()
        yield built


def test_layer_is_laid_out_as_aws_documents(layer: Layer) -> None:
    with zipfile.ZipFile(layer.zip_path) as archive:
        names = archive.namelist()
        assert archive.testzip() is None
    assert all(name.startswith("python/") for name in names)
    assert "python/authorizer_app.py" not in names  # a layer holds libraries, not the handler
    for expected in (
        "python/cognito_jwt/__init__.py",
        "python/cognito_jwt/py.typed",
        "python/cognito_jwt/adapters/lambda_authorizer.py",
        "python/cryptography/__init__.py",
        "python/httpx/__init__.py",
        "python/cachetools/__init__.py",
        "python/certifi/cacert.pem",
        "python/typing_extensions.py",
    ):
        assert expected in names, expected
    assert layer.zip_bytes < ZIP_QUOTA
    assert layer.unzipped_bytes < UNZIPPED_QUOTA


def test_authorizer_runs_from_the_layer(
    ministack: MiniStack,
    deployment: Deployment,
    pool: aws.Pool,
    layer: Layer,
    tmp_path: Path,
) -> None:
    lam = ministack.client("lambda")
    layer_arn = lam.publish_layer_version(
        LayerName="cognito-jwt",
        Content={"ZipFile": layer.zip_path.read_bytes()},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=[ARCHITECTURE],
    )["LayerVersionArn"]
    source = tmp_path / "src"
    source.mkdir()
    (source / "authorizer_app.py").write_bytes((LAMBDA_SRC / "authorizer_app.py").read_bytes())
    zip_folder(source, tmp_path / "function.zip")
    name = "authz-layer"
    aws.create_function(
        ministack,
        name=name,
        code=(tmp_path / "function.zip").read_bytes(),
        handler="authorizer_app.handler",
        role=deployment.role,
        env={**deployment.authorizer_env, "HTTP_RESPONSE": "iam", "ON_INVALID": "unauthorized"},
        layers=[layer_arn],
    )
    arn = f"arn:aws:execute-api:{ministack.region}:{aws.ACCOUNT}:abcdef1234/{aws.STAGE}/GET/me"
    token = pool.tokens("alice")["AccessToken"]
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    answer = json.loads(response["Payload"].read())
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert answer["principalId"] == answer["context"]["sub"]
    # The library came from the layer: the function's own zip has only the handler.
    loaded_from = Path(answer["context"]["cognito_jwt_file"])
    assert loaded_from.parts[-3:] == ("python", "cognito_jwt", "__init__.py")
    assert not (source / "cognito_jwt").exists()
