"""docs/guides/lambda-deploy.md: its packaging command, SAM template and CDK stack.

The page shows ``tests/e2e/samples/*`` verbatim (``--8<--``). The SAM template is parsed (with
CloudFormation's short-form tags) and held to the function it deploys; the CDK stack compiles
(``aws-cdk-lib`` is not a test dependency, so it is not type-checked or synthesised).
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.conftest import PROJECT_ROOT
from tests.e2e.package import lambda_platform_flags

SAMPLES = Path(__file__).parent / "samples"
GUIDE = PROJECT_ROOT / "docs" / "guides" / "lambda-deploy.md"


class _CloudFormationLoader(yaml.SafeLoader):
    """``!Ref``, ``!GetAtt``, ``!Sub`` ... read as ``{"Ref": ...}``, ``{"Fn::GetAtt": ...}``."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def _template() -> dict[str, Any]:
    text = (SAMPLES / "template.yaml").read_text(encoding="utf-8")
    template: dict[str, Any] = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506
    return template


def _sample_routes() -> set[str]:
    """The keys of ``routes=`` in the function's module, read from its source."""
    tree = ast.parse((SAMPLES / "authorizer.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "routes":
            assert isinstance(node.value, ast.Dict)
            return {ast.literal_eval(key) for key in node.value.keys if key is not None}
    raise AssertionError("authorizer.py passes no routes=")


def _blocks(language: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.DOTALL | re.MULTILINE)


def test_the_guide_includes_the_tested_files() -> None:
    for name in ("authorizer.py", "walkthrough.py", "cdk_stack.py", "template.yaml"):
        assert f'--8<-- "tests/e2e/samples/{name}"' in GUIDE.read_text(encoding="utf-8"), name


def test_the_packaging_command_is_the_one_the_tests_build_with() -> None:
    (command,) = [b for b in _blocks("bash") if "pip install" in b]
    words = shlex.split(command.replace("\\\n", " ").splitlines()[0])
    assert words[:4] == ["pip", "install", "--target", "build/package"]
    assert words[-1] == "cognito-jwt"
    assert words[4:-1] == lambda_platform_flags("3.12", "x86_64")
    assert lambda_platform_flags("3.12", "arm64")[1] == "manylinux2014_aarch64"  # as the page says
    assert "manylinux2014_aarch64" in GUIDE.read_text(encoding="utf-8")


def test_sam_template_deploys_the_sample_behind_both_apis() -> None:
    template = _template()
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"
    resources = template["Resources"]
    function = resources["AuthorizerFunction"]
    assert function["Type"] == "AWS::Serverless::Function"
    assert function["Properties"]["Handler"] == "authorizer.handler"  # samples/authorizer.py
    variables = function["Properties"]["Environment"]["Variables"]
    source = (SAMPLES / "authorizer.py").read_text(encoding="utf-8")
    assert {name for name in variables if f'os.environ["{name}"]' in source} == set(variables)
    arn = {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}

    rest = resources["RestApi"]
    assert rest["Type"] == "AWS::Serverless::Api"
    rest_authorizer = rest["Properties"]["Auth"]["Authorizers"]["CognitoJwt"]
    assert rest["Properties"]["Auth"]["DefaultAuthorizer"] == "CognitoJwt"
    assert rest_authorizer["FunctionArn"] == arn
    assert rest_authorizer["FunctionPayloadType"] == "TOKEN"
    assert rest_authorizer["Identity"] == {"Header": "Authorization", "ReauthorizeEvery": 300}

    http = resources["HttpApi"]
    assert http["Type"] == "AWS::Serverless::HttpApi"
    http_authorizer = http["Properties"]["Auth"]["Authorizers"]["CognitoJwt"]
    assert http["Properties"]["Auth"]["DefaultAuthorizer"] == "CognitoJwt"
    assert http_authorizer["FunctionArn"] == arn
    assert http_authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    # IAM answers, as the function's http_response="iam"; cached by token, which routes= keeps
    # right for every route.
    assert http_authorizer["EnableSimpleResponses"] is False
    assert 'http_response="iam"' in source
    assert http_authorizer["Identity"]["Headers"] == ["Authorization"]
    assert http_authorizer["Identity"]["ReauthorizeEvery"] > 0

    # Every route of both APIs is in the function's routes= (a route not listed is denied).
    by_api: dict[str, set[str]] = {"RestApi": set(), "HttpApi": set()}
    for event in resources["BackendFunction"]["Properties"]["Events"].values():
        properties = event["Properties"]
        api = properties["RestApiId" if event["Type"] == "Api" else "ApiId"]["Ref"]
        by_api[api].add(f"{properties['Method'].upper()} {properties['Path']}")
    assert by_api == {"RestApi": _sample_routes(), "HttpApi": _sample_routes()}


def test_cdk_stack_compiles_and_matches_the_sample() -> None:
    source = (SAMPLES / "cdk_stack.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    compile(tree, "cdk_stack.py", "exec")
    modules = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules <= {"aws_cdk", "constructs"}
    assert 'handler="authorizer.handler"' in source
    assert "HttpLambdaResponseType.IAM" in source
    assert "lambda_.Runtime.PYTHON_3_12" in source
    paths = {f"GET /{p}" for p in ("me", "admin")}
    assert paths == _sample_routes()
