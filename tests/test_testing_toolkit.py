"""cognito_jwt.testing.LocalIssuer's extras and the pytest plugin (cognito_jwt.pytest_plugin)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cognito_jwt import FetchOptions, KeySetUnavailableError
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.testing import LocalIssuer

pytest_plugins = ["pytester"]

POOL, CLIENT = "eu-west-1_AbCdEf123", "app-client"


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


def test_fail_answers_every_request_with_the_status_until_recover(issuer: LocalIssuer) -> None:
    issuer.fail(500)
    assert httpx.get(issuer.jwks_uri).status_code == 500
    verifier = issuer.verifier(audience="api")
    with pytest.raises(KeySetUnavailableError, match="HTTP 500"):
        verifier.verify(issuer.mint({"aud": "api"}))
    issuer.recover()
    assert httpx.get(issuer.jwks_uri).status_code == 200
    verifier.refresh()
    assert verifier.verify(issuer.mint({"sub": "a", "aud": "api"})).sub == "a"


def test_fail_takes_only_error_statuses(issuer: LocalIssuer) -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        issuer.fail(200)
    with pytest.raises(ValueError, match="zero or more"):
        issuer.slow(-1)


def test_slow_makes_a_fetch_time_out_and_recover_undoes_it(issuer: LocalIssuer) -> None:
    issuer.slow(1.0)
    verifier = issuer.verifier(audience="api", fetch=FetchOptions(timeout=0.2))
    with pytest.raises(KeySetUnavailableError, match="timed out"):
        verifier.verify(issuer.mint({"aud": "api"}))
    issuer.recover()
    assert issuer.delay == 0
    verifier.refresh()
    verifier.verify(issuer.mint({"aud": "api"}))


def test_recover_also_undoes_available_false(issuer: LocalIssuer) -> None:
    issuer.available = False
    assert httpx.get(issuer.jwks_uri).status_code == 503
    issuer.recover()
    assert httpx.get(issuer.jwks_uri).status_code == 200


def test_add_jwk_publishes_a_key_as_is_and_verifiers_skip_it(issuer: LocalIssuer) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    weak = {**jwk_from_public_key(small.public_key()), "kid": "w"}
    issuer.add_jwk(weak)
    first = issuer.kids[0]
    issuer.rotate()
    assert issuer.retire() == [first]
    published = httpx.get(issuer.jwks_uri).json()["keys"]
    assert [key["kid"] for key in published] == [*issuer.kids, "w"]  # kept by retire()
    assert published[-1] == weak
    verifier = issuer.verifier(audience="api")
    assert verifier.verify(issuer.mint({"sub": "a", "aud": "api"})).sub == "a"


def test_cognito_tokens_and_verifiers(issuer: LocalIssuer) -> None:
    access = issuer.cognito_verifier(user_pool_id=POOL, client_id=CLIENT, token_use="access")
    claims = access.verify(issuer.cognito_access_token(user_pool_id=POOL, client_id=CLIENT))
    assert claims.issuer == f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
    assert claims.token_use == "access"
    id_verifier = issuer.cognito_verifier(user_pool_id=POOL, client_id=CLIENT, token_use="id")
    id_claims = id_verifier.verify(
        issuer.cognito_id_token(user_pool_id=POOL, client_id=CLIENT, email="a@example.com")
    )
    assert (id_claims.audience, id_claims["email"]) == ((CLIENT,), "a@example.com")


def test_verifiers_follow_the_issuer_algorithm() -> None:
    with LocalIssuer(algorithm="EdDSA") as issuer:
        verifier = issuer.verifier(audience=None)
        assert verifier.algorithms == frozenset({"EdDSA"})
        assert verifier.verify(issuer.mint({"sub": "x"})).sub == "x"


# --- the pytest plugin, as a user's test suite loads it ---------------------------------------
USER_TESTS = """
import time

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from cognito_jwt import Claims
from cognito_jwt.adapters.fastapi import require_token

POOL, CLIENT = "eu-west-1_AbCdEf123", "my-client"


def create_app(verifier):
    app = FastAPI()

    @app.get("/orders")
    async def orders(claims: Claims = Depends(require_token(verifier, scopes=["orders/read"]))):
        return {"user": claims.username}

    return app


def test_protected_route(jwt_issuer):
    verifier = jwt_issuer.cognito_verifier(user_pool_id=POOL, client_id=CLIENT, token_use="access")
    client = TestClient(create_app(verifier))
    token = jwt_issuer.cognito_access_token(
        user_pool_id=POOL, client_id=CLIENT, scope="orders/read", username="alice"
    )
    ok = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert ok.json() == {"user": "alice"}
    assert client.get("/orders").status_code == 401
    expired = jwt_issuer.cognito_access_token(
        user_pool_id=POOL, client_id=CLIENT, scope="orders/read", exp=int(time.time()) - 5
    )
    bad = client.get("/orders", headers={"Authorization": f"Bearer {expired}"})
    assert bad.json()["detail"]["code"] == "ERR_TOKEN_EXPIRED"


SEEN = []


def test_session_issuer_is_shared_one(jwt_issuer_session, jwt_issuer):
    SEEN.append(jwt_issuer_session.issuer)
    assert jwt_issuer.issuer != jwt_issuer_session.issuer


def test_session_issuer_is_shared_two(jwt_issuer_session):
    SEEN.append(jwt_issuer_session.issuer)
    assert len(set(SEEN)) == 1
"""


def _load_plugin() -> tuple[str, ...]:
    """``-p cognito_jwt.pytest_plugin``, unless the installed entry point loads it already."""
    if entry_points(group="pytest11", name="cognito_jwt"):
        return ()
    return ("-p", "cognito_jwt.pytest_plugin")


def test_plugin_fixtures_protect_a_fastapi_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user_app=USER_TESTS)
    result = pytester.runpytest_subprocess(*_load_plugin(), "-W", "error")
    result.assert_outcomes(passed=3)


def test_plugin_stops_the_issuer_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_stop="""
        import httpx
        import pytest

        URLS = []

        def test_first(jwt_issuer):
            URLS.append(jwt_issuer.jwks_uri)
            assert httpx.get(jwt_issuer.jwks_uri).status_code == 200

        def test_after(jwt_issuer):
            with pytest.raises(httpx.ConnectError):
                httpx.get(URLS[0])
        """
    )
    result = pytester.runpytest_subprocess(*_load_plugin())
    result.assert_outcomes(passed=2)
