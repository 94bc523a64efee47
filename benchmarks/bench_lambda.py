"""The Lambda authorizer's cost: warm overhead over verify(), and cold starts.

1. Warm: ``handler(event)`` for a REST TOKEN event against a bare ``verifier.verify(token)``,
   interleaved in shuffled rounds; the difference is what the adapter adds.
2. Cold start: a fresh Python process imports a handler module and answers its first event.
   cognito-jwt reads its keys from a warm file store (as in a re-initialised container; the
   child asserts no fetch happened); the hand-written PyJWT handler (the usual
   ``PyJWKClient`` + ``jwt.decode`` + policy dict) has no persistent cache and fetches the JWKS
   from a local issuer on 127.0.0.1. Wall time per process, medians.

    python -m nox -s bench -- lambda     # needs PyJWT: the bench session installs it
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile

from _timing import interleaved_medians, process_ms

from cognito_jwt import CognitoVerifier, FileStore
from cognito_jwt.adapters.lambda_authorizer import authorizer
from cognito_jwt.testing import LocalIssuer

POOL, CLIENT = "eu-west-1_BenchPool1", "bench-client"
ARN = "arn:aws:execute-api:eu-west-1:123456789012:abcdef123/prod/GET/orders"

OURS = """
import json, sys
from cognito_jwt import CognitoVerifier, FileStore
from cognito_jwt.adapters.lambda_authorizer import authorizer
verifier = CognitoVerifier(user_pool_id=sys.argv[1], client_id=sys.argv[2], token_use="access",
                           jwks_uri=sys.argv[3], store=FileStore(sys.argv[4]))
handler = authorizer(verifier)
answer = handler(json.loads(sys.argv[5]), None)
assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
assert verifier.stats.fetches == 0
"""

PYJWT = """
import json, sys
import jwt
client = jwt.PyJWKClient(sys.argv[3])
def handler(event, context):
    token = event["authorizationToken"].split(" ", 1)[1]
    key = client.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=sys.argv[6],
                        options={"require": ["exp", "iss"]})
    if claims.get("token_use") != "access" or claims.get("client_id") != sys.argv[2]:
        raise Exception("Unauthorized")
    arn = event["methodArn"].split("/")
    return {"principalId": claims["sub"], "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
                           "Resource": "/".join(arn[:2]) + "/*"}]}}
answer = handler(json.loads(sys.argv[5]), None)
assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--processes", type=int, default=9)
    args = parser.parse_args(argv)

    with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as store_dir:
        token = issuer.cognito_access_token(user_pool_id=POOL, client_id=CLIENT, scope="a")
        event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": ARN}
        verifier = CognitoVerifier(
            user_pool_id=POOL,
            client_id=CLIENT,
            token_use="access",
            jwks_uri=issuer.jwks_uri,
            store=FileStore(store_dir),
        )
        handler = authorizer(verifier)  # hydrates: fetches once and warms the file store
        candidates = {
            "verify()": lambda: verifier.verify(token),
            "handler(event)": lambda: handler(event, None),
        }
        medians = interleaved_medians(candidates, args.rounds, args.calls)
        bare, full = medians["verify()"], medians["handler(event)"]
        print("| warm invocation | µs |")
        print("| --- | ---: |")
        print(f"| verifier.verify(token) | {bare:.1f} |")
        print(f"| handler(TOKEN event) | {full:.1f} |")
        print(f"| adapter overhead | {full - bare:.1f} |")

        issuer_url = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
        child = [POOL, CLIENT, issuer.jwks_uri, store_dir, json.dumps(event), issuer_url]
        cold: dict[str, list[float]] = {
            "cognito-jwt, warm /tmp store, no network": [],
            "PyJWT hand-written, fetches the JWKS": [],
        }
        for _ in range(args.processes):
            runs = [
                ("cognito-jwt, warm /tmp store, no network", OURS),
                ("PyJWT hand-written, fetches the JWKS", PYJWT),
            ]
            random.shuffle(runs)
            for name, code in runs:
                cold[name].append(process_ms(code, child))
        print("\n| cold start: process start to first answered event | ms |")
        print("| --- | ---: |")
        for name, values in cold.items():
            print(f"| {name} | {statistics.median(values):.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
