"""Provisioning on the emulated AWS account: Cognito pools, Lambda functions, API Gateway APIs.

Everything goes through boto3 against `MiniStack`, with the same calls a deployment script
would make against AWS.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from tests.servers.ministack import MiniStack

RESOURCE_SERVER = "https://api.example.com"
READ_SCOPE = f"{RESOURCE_SERVER}/read"
WRITE_SCOPE = f"{RESOURCE_SERVER}/write"
PASSWORD = "Corr3ct-Horse-Battery!"  # an emulator-only user
ACCOUNT = "000000000000"  # MiniStack's default account
STAGE = "prod"
TTL = 300  # authorizer result caching: on (AWS's default TTL)


@dataclass
class Pool:
    """A user pool with an app client for users, a second one, and a machine-to-machine one."""

    ministack: MiniStack
    pool_id: str
    client_id: str
    other_client_id: str
    m2m_client_id: str
    m2m_client_secret: str
    users: dict[str, list[str]] = field(default_factory=dict)  # username -> groups

    @property
    def issuer(self) -> str:
        """The ``iss`` the emulator writes: the real Cognito URL of the pool."""
        region = self.pool_id.split("_", 1)[0]
        return f"https://cognito-idp.{region}.amazonaws.com/{self.pool_id}"

    @property
    def discovery_url(self) -> str:
        return self.ministack.discovery_url(self.pool_id)

    def tokens(self, username: str, client_id: str | None = None) -> dict[str, str]:
        """``AdminInitiateAuth`` (``ADMIN_USER_PASSWORD_AUTH``): the AuthenticationResult."""
        cognito = self.ministack.client("cognito-idp")
        result = cognito.admin_initiate_auth(
            UserPoolId=self.pool_id,
            ClientId=client_id or self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return dict(result)

    def m2m_token(self, scopes: list[str]) -> str:
        """A ``client_credentials`` access token from ``/oauth2/token`` for *scopes*."""
        basic = base64.b64encode(f"{self.m2m_client_id}:{self.m2m_client_secret}".encode())
        with self.ministack.http() as http:
            response = http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials", "scope": " ".join(scopes)},
                headers={"Authorization": f"Basic {basic.decode()}"},
            )
        response.raise_for_status()
        return str(response.json()["access_token"])


def create_pool(ministack: MiniStack, name: str, users: dict[str, list[str]]) -> Pool:
    """A pool, its clients and resource server, its groups and *users* (name -> groups)."""
    cognito = ministack.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName=name)["UserPool"]["Id"]
    flows = ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    client_ids = [
        cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=client, GenerateSecret=False, ExplicitAuthFlows=flows
        )["UserPoolClient"]["ClientId"]
        for client in ("web", "other")
    ]
    cognito.create_resource_server(
        UserPoolId=pool_id,
        Identifier=RESOURCE_SERVER,
        Name="api",
        Scopes=[
            {"ScopeName": "read", "ScopeDescription": "read"},
            {"ScopeName": "write", "ScopeDescription": "write"},
        ],
    )
    m2m = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="m2m",
        GenerateSecret=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=[READ_SCOPE, WRITE_SCOPE],
        AllowedOAuthFlowsUserPoolClient=True,
    )["UserPoolClient"]
    for group in sorted({g for groups in users.values() for g in groups}):
        cognito.create_group(UserPoolId=pool_id, GroupName=group)
    for username, groups in users.items():
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[
                {"Name": "email", "Value": f"{username}@example.com"},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
        )
        for group in groups:
            cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    return Pool(
        ministack=ministack,
        pool_id=pool_id,
        client_id=client_ids[0],
        other_client_id=client_ids[1],
        m2m_client_id=m2m["ClientId"],
        m2m_client_secret=m2m["ClientSecret"],
        users=dict(users),
    )


# --- Lambda ---------------------------------------------------------------------------------------
def create_role(ministack: MiniStack) -> str:
    """The execution role every function uses."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = ministack.client("iam")
    role = iam.create_role(RoleName="e2e-lambda", AssumeRolePolicyDocument=json.dumps(trust))
    return str(role["Role"]["Arn"])


def create_function(
    ministack: MiniStack,
    *,
    name: str,
    code: bytes,
    handler: str,
    role: str,
    env: dict[str, str] | None = None,
    layers: list[str] | None = None,
) -> str:
    """Create a Python function from a zip (and layer version ARNs); return its ARN."""
    lam = ministack.client("lambda")
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=handler,
        Code={"ZipFile": code},
        Timeout=30,
        MemorySize=256,
        Environment={"Variables": env or {}},
        Layers=layers or [],
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    lam.add_permission(
        FunctionName=name,
        StatementId="apigateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    return str(arn)


def invocation_uri(ministack: MiniStack, function_arn: str) -> str:
    """The ``authorizerUri`` / integration URI API Gateway calls a function by."""
    return (
        f"arn:aws:apigateway:{ministack.region}:lambda:path/2015-03-31/functions/"
        f"{function_arn}/invocations"
    )


# --- API Gateway ----------------------------------------------------------------------------------
ROUTES = ("me", "admin", "write")


def create_http_api(
    ministack: MiniStack,
    *,
    name: str,
    authorizer_arn: str,
    backend_arn: str,
    simple_responses: bool,
    identity_source: list[str],
) -> str:
    """An HTTP API (payload 2.0), ``GET /me|/admin|/write`` behind a Lambda authorizer."""
    v2 = ministack.client("apigatewayv2")
    api_id: str = v2.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    integration = v2.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=backend_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    authorizer = v2.create_authorizer(
        ApiId=api_id,
        Name=f"{name}-authorizer",
        AuthorizerType="REQUEST",
        AuthorizerUri=invocation_uri(ministack, authorizer_arn),
        AuthorizerPayloadFormatVersion="2.0",
        EnableSimpleResponses=simple_responses,
        IdentitySource=identity_source,
        AuthorizerResultTtlInSeconds=TTL,
    )["AuthorizerId"]
    for route in ROUTES:
        v2.create_route(
            ApiId=api_id,
            RouteKey=f"GET /{route}",
            Target=f"integrations/{integration}",
            AuthorizationType="CUSTOM",
            AuthorizerId=authorizer,
        )
    v2.create_stage(ApiId=api_id, StageName=STAGE, AutoDeploy=True)
    return api_id


def create_rest_api(
    ministack: MiniStack, *, name: str, authorizer_arn: str, backend_arn: str
) -> str:
    """A REST API: ``GET /token/{route}`` behind a ``TOKEN`` authorizer and
    ``GET /request/{route}`` behind a ``REQUEST`` authorizer (both the same function, both
    caching for `TTL` seconds on the ``Authorization`` header), deployed to `STAGE`.
    """
    v1 = ministack.client("apigateway")
    api_id: str = v1.create_rest_api(name=name)["id"]
    root = next(r["id"] for r in v1.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    uri = invocation_uri(ministack, authorizer_arn)
    authorizers = {
        kind: v1.create_authorizer(
            restApiId=api_id,
            name=f"{name}-{kind}",
            type=kind.upper(),
            authorizerUri=uri,
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=TTL,
        )["id"]
        for kind in ("token", "request")
    }
    for kind, authorizer in authorizers.items():
        parent = v1.create_resource(restApiId=api_id, parentId=root, pathPart=kind)["id"]
        for route in ROUTES:
            resource = v1.create_resource(restApiId=api_id, parentId=parent, pathPart=route)["id"]
            v1.put_method(
                restApiId=api_id,
                resourceId=resource,
                httpMethod="GET",
                authorizationType="CUSTOM",
                authorizerId=authorizer,
            )
            v1.put_integration(
                restApiId=api_id,
                resourceId=resource,
                httpMethod="GET",
                type="AWS_PROXY",
                integrationHttpMethod="POST",
                uri=invocation_uri(ministack, backend_arn),
            )
    v1.create_deployment(restApiId=api_id, stageName=STAGE)
    return api_id


def body(response: Any) -> dict[str, Any]:
    """The echo backend's JSON answer."""
    parsed: dict[str, Any] = json.loads(response.text)
    return parsed
