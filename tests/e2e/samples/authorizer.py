"""The authorizer function: this module at the root of the zip, handler ``authorizer.handler``."""

import os

from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.lambda_authorizer import Route, authorizer

# Module scope: built once per container, in the init phase, where hydrate() loads the keys.
handler = authorizer(
    CognitoVerifier(
        user_pool_id=os.environ["USER_POOL_ID"],
        client_id=os.environ["APP_CLIENT_ID"],
        token_use="access",
        # Unset on AWS; an emulator (MiniStack) serves the keys at its own address.
        endpoint_url=os.environ.get("COGNITO_ENDPOINT_URL"),
    ),
    routes={
        "GET /me": Route(),  # any valid token
        "GET /admin": Route(groups="admins"),
    },
    http_response="iam",  # the HTTP API's authorizer has simple responses off
    on_invalid="deny",  # a bad token: an explicit Deny, 403
)
