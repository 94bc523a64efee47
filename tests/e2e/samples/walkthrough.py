"""The Lambda authorizer behind an HTTP API, end to end on MiniStack (a local AWS emulator).

Start MiniStack (``pip install ministack cryptography``, then ``ministack``; it listens on
http://127.0.0.1:4566), then ``python walkthrough.py`` next to ``authorizer.py``. The same
boto3 calls work against AWS, less the emulator's details marked below.
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
import httpx

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
REGION = "eu-west-1"
PASSWORD = "Corr3ct-Horse-Battery!"
ECHO = """
import json
def handler(event, context):
    body = {"authorizer": event["requestContext"].get("authorizer")}
    return {"statusCode": 200, "body": json.dumps(body)}
"""


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",  # the emulator takes any credentials
        aws_secret_access_key="test",
    )


def build_package(
    requirements: Sequence[str], handler_module: Path, pip: Sequence[str], python: str
) -> bytes:
    """``pip install --target`` for Lambda's platform, the handler at the root, zipped."""
    arch = {"x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}[platform.machine()]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder)
        subprocess.run(
            [*pip, "install", "--target", folder, "--platform", f"manylinux2014_{arch}",
             "--implementation", "cp", "--python-version", python, "--only-binary=:all:",
             *requirements],
            check=True, capture_output=True,
        )  # fmt: skip
        (target / handler_module.name).write_bytes(handler_module.read_bytes())
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(target.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(target).as_posix())
        return buffer.getvalue()


def create_pool(endpoint: str) -> tuple[str, str]:
    """A user pool, an app client, alice (group ``admins``) and bob (no group)."""
    cognito = client("cognito-idp", endpoint)
    pool = cognito.create_user_pool(PoolName="walkthrough")["UserPool"]["Id"]
    app = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=pool, GroupName="admins")
    for user in ("alice", "bob"):
        cognito.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool, Username=user, Password=PASSWORD, Permanent=True
        )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="alice", GroupName="admins")
    return pool, app


def sign_in(endpoint: str, pool: str, app: str, user: str) -> str:
    """The user's access token (``AdminInitiateAuth``)."""
    result = client("cognito-idp", endpoint).admin_initiate_auth(
        UserPoolId=pool,
        ClientId=app,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"]["AccessToken"])


def create_function(
    endpoint: str, name: str, code: bytes, handler: str, env: dict[str, str]
) -> str:
    iam, lam = client("iam", endpoint), client("lambda", endpoint)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ],
    }  # fmt: skip
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Handler=handler,
        Role=role["Role"]["Arn"],
        Code={"ZipFile": code},
        Environment={"Variables": env},
        Timeout=10,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    lam.add_permission(
        FunctionName=name,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    return str(arn)


def create_http_api(endpoint: str, authorizer_arn: str, backend_arn: str) -> str:
    """``GET /me`` and ``GET /admin`` behind the authorizer: IAM answers, cached 300 s."""
    v2 = client("apigatewayv2", endpoint)
    api = v2.create_api(Name="walkthrough", ProtocolType="HTTP")["ApiId"]
    invoke = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{{}}/invocations"
    integration = v2.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=backend_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    authorizer = v2.create_authorizer(
        ApiId=api,
        Name="cognito-jwt",
        AuthorizerType="REQUEST",
        AuthorizerUri=invoke.format(authorizer_arn),
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=False,  # IAM policies: one answer, cached for every route
        IdentitySource=["$request.header.Authorization"],
        AuthorizerResultTtlInSeconds=300,
    )["AuthorizerId"]
    for route in ("GET /me", "GET /admin"):
        v2.create_route(
            ApiId=api,
            RouteKey=route,
            Target=f"integrations/{integration}",
            AuthorizationType="CUSTOM",
            AuthorizerId=authorizer,
        )
    v2.create_stage(ApiId=api, StageName="prod", AutoDeploy=True)
    return str(api)


def call(endpoint: str, api: str, path: str, token: str | None) -> int:
    """``GET /prod{path}`` through the gateway; the status code."""
    # AWS: https://{api}.execute-api.{region}.amazonaws.com/prod{path}. MiniStack routes by
    # the Host header on its own port.
    host = f"{api}.execute-api.localhost:{httpx.URL(endpoint).port}"
    headers = {"Host": host} | ({"Authorization": f"Bearer {token}"} if token else {})
    with httpx.Client(trust_env=False, timeout=30) as http:
        return http.get(f"{endpoint}/prod{path}", headers=headers).status_code


def main(
    endpoint: str = ENDPOINT,
    requirements: Sequence[str] = ("cognito-jwt",),
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    python: str = "3.12",
) -> dict[str, int]:
    """Deploy everything, call the API as alice, bob and strangers; the status codes seen."""
    pool, app = create_pool(endpoint)
    handler_module = Path(__file__).with_name("authorizer.py")
    package = build_package(requirements, handler_module, pip, python)
    print(f"deployment package: {'under' if len(package) < 50 * 2**20 else 'OVER'} 50 MB")
    env = {"USER_POOL_ID": pool, "APP_CLIENT_ID": app}
    # Emulator only: its Cognito serves the keys at {endpoint}/{pool}/.well-known/jwks.json,
    # while tokens name the real issuer https://cognito-idp.{region}.amazonaws.com/{pool}.
    env["COGNITO_ENDPOINT_URL"] = endpoint
    authorizer = create_function(
        endpoint, "cognito-jwt-authorizer", package, "authorizer.handler", env
    )
    echo_zip = io.BytesIO()
    with zipfile.ZipFile(echo_zip, "w") as archive:
        archive.writestr("echo.py", ECHO)
    backend = create_function(endpoint, "walkthrough-echo", echo_zip.getvalue(), "echo.handler", {})
    api = create_http_api(endpoint, authorizer, backend)

    alice, bob = (sign_in(endpoint, pool, app, user) for user in ("alice", "bob"))
    seen = {
        "alice /me": call(endpoint, api, "/me", alice),  # 200
        "alice /admin": call(endpoint, api, "/admin", alice),  # 200
        "bob /me": call(endpoint, api, "/me", bob),  # 200, and his policy is cached
        "bob /admin": call(endpoint, api, "/admin", bob),  # 403: the cached policy says no
        "no token /me": call(endpoint, api, "/me", None),  # 401, from API Gateway itself
        "garbage /me": call(endpoint, api, "/me", "not-a-jwt"),  # 403 (on_invalid="deny")
    }
    for what, status in seen.items():
        print(f"{what:>14}: {status}")
    return seen


if __name__ == "__main__":
    main()
