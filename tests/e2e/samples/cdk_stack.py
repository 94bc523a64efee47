"""The same two APIs with the AWS CDK v2 (``pip install aws-cdk-lib``)."""

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct


class ApiStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, user_pool_id: str, app_client_id: str
    ) -> None:
        super().__init__(scope, construct_id)
        authorizer_function = lambda_.Function(
            self,
            "Authorizer",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.X86_64,  # ARM_64: manylinux2014_aarch64 wheels
            code=lambda_.Code.from_asset("build/package"),  # pip install --target's folder
            handler="authorizer.handler",
            memory_size=512,
            timeout=Duration.seconds(10),
            environment={"USER_POOL_ID": user_pool_id, "APP_CLIENT_ID": app_client_id},
        )
        backend = lambda_.Function(
            self,
            "Backend",
            runtime=lambda_.Runtime.PYTHON_3_12,
            code=lambda_.Code.from_asset("backend"),
            handler="app.handler",
        )

        # REST API: a TOKEN authorizer, results cached 5 minutes by the token.
        token_authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=Duration.minutes(5),
        )
        rest = apigw.RestApi(self, "RestApi", deploy_options=apigw.StageOptions(stage_name="prod"))
        for path in ("me", "admin"):
            rest.root.add_resource(path).add_method(
                "GET", apigw.LambdaIntegration(backend), authorizer=token_authorizer
            )

        # HTTP API: payload 2.0, IAM policy answers (http_response="iam"), cached 5 minutes.
        http_authorizer = authorizers.HttpLambdaAuthorizer(
            "HttpAuthorizer",
            authorizer_function,
            response_types=[authorizers.HttpLambdaResponseType.IAM],
            identity_source=["$request.header.Authorization"],
            results_cache_ttl=Duration.minutes(5),
        )
        http = apigwv2.HttpApi(self, "HttpApi")
        for path in ("/me", "/admin"):
            http.add_routes(
                path=path,
                methods=[apigwv2.HttpMethod.GET],
                integration=integrations.HttpLambdaIntegration(f"Backend{path}", backend),
                authorizer=http_authorizer,
            )
