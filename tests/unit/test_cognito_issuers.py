"""Cognito's issuer formats, multi-Region replicas, per-issuer key sets, ``audience=``.

The key sets live under the real Cognito hosts, so a ``httpx.MockTransport`` stands in for
them, answering by host: the tests can say which format a pool uses (the other answers 404, as
Cognito does) and count the requests each host saw.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cognito_jwt import (
    AudienceMismatchError,
    CognitoVerifier,
    ConfigurationError,
    FetchOptions,
    IssuerMismatchError,
    KeyNotFoundError,
    KeySet,
    KeySetUnavailableError,
    MultiIssuerVerifier,
)
from cognito_jwt._cognito import cognito_issuer, cognito_issuers
from tests.helpers import CLIENT_ID, FIXED_NOW, POOL_ID, access_claims, all_keys, id_claims

REGION = POOL_ID.split("_")[0]
ORIGINAL = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
UPDATED = f"https://issuer-cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
REPLICA = f"https://cognito-idp.eu-central-1.amazonaws.com/{POOL_ID}"
RS = all_keys()["RS256"]
JWKS = {"keys": [dict(RS.jwk)]}


class Cognito:
    """Cognito's key-set URLs on a MockTransport: *serving* hosts answer, the others 404."""

    def __init__(self, serving: dict[str, int]) -> None:
        self.serving = serving  # host -> status (200: the JWKS)
        self.requests: Counter[str] = Counter()

    def handle(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.requests[host] += 1
        assert request.url.path == f"/{POOL_ID}/.well-known/jwks.json"
        status = self.serving.get(host, 404)
        if status != 200:
            return httpx.Response(status, json={"message": "not here"})
        return httpx.Response(200, json=JWKS, headers={"cache-control": "max-age=3600"})

    def fetch(self) -> FetchOptions:
        transport = httpx.MockTransport(self.handle)

        async def handle_async(request: httpx.Request) -> httpx.Response:
            return self.handle(request)

        return FetchOptions(
            client=httpx.Client(transport=transport),
            async_client=httpx.AsyncClient(transport=httpx.MockTransport(handle_async)),
            retries=0,
        )


def host(issuer: str) -> str:
    return httpx.URL(issuer).host


def make(cognito: Cognito, **options: Any) -> CognitoVerifier:
    settings: dict[str, Any] = {
        "user_pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "store": None,
        "clock": lambda: float(FIXED_NOW),
        "fetch": cognito.fetch(),
    }
    settings.update(options)
    return CognitoVerifier(**settings)


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Callable[[CognitoVerifier, str], Any]:
    if request.param == "sync":
        return lambda verifier, token: verifier.verify(token)
    return lambda verifier, token: asyncio.run(verifier.verify_async(token))


def token(iss: str, **claims: Any) -> str:
    return RS.sign(access_claims(iss=iss, **claims))


# === Which issuers ===============================================================================
def test_both_formats_by_default_primary_first() -> None:
    assert cognito_issuers(POOL_ID) == (ORIGINAL, UPDATED)
    assert cognito_issuer(POOL_ID, issuer_format="updated") == UPDATED
    assert cognito_issuers(POOL_ID, issuer_format="original") == (ORIGINAL,)
    assert cognito_issuers(POOL_ID, issuer_format="updated") == (UPDATED,)


def test_replica_regions_add_their_original_issuer() -> None:
    assert cognito_issuers(POOL_ID, replica_regions=["eu-central-1"]) == (
        ORIGINAL,
        REPLICA,
        UPDATED,
    )
    assert cognito_issuers(POOL_ID, replica_regions="eu-central-1") == (ORIGINAL, REPLICA, UPDATED)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"issuer_format": "UPDATED"}, "issuer_format"),
        ({"issuer_format": 1}, "issuer_format"),
        ({"replica_regions": ["eu-central-1"], "issuer_format": "updated"}, "original"),
        ({"replica_regions": [REGION]}, "own Region"),
        ({"replica_regions": ["eu-central-1", "eu-central-1"]}, "twice"),
        ({"replica_regions": ["cn-north-1"]}, "partition"),
        ({"replica_regions": ["us-gov-west-1"]}, "partition"),
        ({"replica_regions": ["Frankfurt"]}, "Region name"),
        ({"replica_regions": [None]}, "replica_regions"),
        ({"replica_regions": b"eu-central-1"}, "replica_regions"),
        ({"updated_issuer": UPDATED, "issuer_format": "original"}, "updated"),
        ({"updated_issuer": "http://x/" + POOL_ID}, "https"),
        ({"updated_issuer": "https://x/other_pool"}, POOL_ID),
    ],
    ids=repr,
)
def test_bad_issuer_settings_are_configuration_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        CognitoVerifier(
            user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", jwks=JWKS, **options
        )


@pytest.mark.parametrize("pool", ["cn-north-1_abc", "us-gov-west-1_abc", "us-iso-east-1_abc"])
def test_partitions_without_a_documented_updated_host(pool: str) -> None:
    # Original only by default; pinning the updated format asks for the URL.
    assert cognito_issuers(pool) == (cognito_issuer(pool),)
    with pytest.raises(ConfigurationError, match="updated_issuer="):
        cognito_issuers(pool, issuer_format="updated")
    given = f"https://issuer.example.internal/{pool}"
    assert cognito_issuers(pool, updated_issuer=given) == (cognito_issuer(pool), given)
    assert cognito_issuers(pool, issuer_format="updated", updated_issuer=given) == (given,)


# === Verification under each format ==============================================================
def test_tokens_of_either_format_verify_each_from_its_own_key_set(verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(UPDATED): 200})
    verifier = make(cognito)
    assert verify(verifier, token(ORIGINAL)).issuer == ORIGINAL
    assert cognito.requests == {host(ORIGINAL): 1}  # lazily: only the issuer a token named
    assert verify(verifier, token(UPDATED)).issuer == UPDATED
    assert cognito.requests == {host(ORIGINAL): 1, host(UPDATED): 1}
    verify(verifier, token(ORIGINAL))
    verify(verifier, token(UPDATED))
    assert sum(cognito.requests.values()) == 2  # each key set cached
    assert verifier.stats.fetches == 2


@pytest.mark.parametrize(
    ("pinned", "refused"),
    [("original", UPDATED), ("updated", ORIGINAL)],
    ids=["original", "updated"],
)
def test_a_pinned_format_refuses_the_other_and_never_fetches_its_keys(
    pinned: str, refused: str, verify: Any
) -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(UPDATED): 200})
    verifier = make(cognito, issuer_format=pinned)
    with pytest.raises(IssuerMismatchError):
        verify(verifier, token(refused))
    # One issuer, one key set: the signature is checked first, with the pinned issuer's keys.
    assert host(refused) not in cognito.requests


@pytest.mark.parametrize(
    "iss",
    [
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool",
        f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}",  # a replica not listed
        f"https://attacker.example/{POOL_ID}",
        ORIGINAL + "/",
        ORIGINAL.upper(),
    ],
)
def test_other_issuers_are_refused_before_any_request(iss: str, verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(UPDATED): 200})
    verifier = make(cognito, replica_regions=["eu-central-1"])
    with pytest.raises(IssuerMismatchError) as info:
        verify(verifier, token(iss))
    assert info.value.claim == "iss"
    assert cognito.requests == {}


@pytest.mark.parametrize("iss", [None, 5, ["x"]], ids=repr)
def test_a_missing_or_non_string_iss_is_refused_before_any_request(iss: Any, verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 200})
    claims = access_claims()
    if iss is None:
        del claims["iss"]
    else:
        claims["iss"] = iss
    with pytest.raises((IssuerMismatchError, KeyNotFoundError)):
        verify(make(cognito), RS.sign(claims))
    assert cognito.requests == {}


def test_a_replica_issuer_verifies_from_the_replica_key_set(verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(REPLICA): 200})
    verifier = make(cognito, replica_regions=["eu-central-1"], issuer_format="original")
    assert verify(verifier, token(REPLICA)).issuer == REPLICA
    assert cognito.requests == {host(REPLICA): 1}


def test_a_format_the_pool_does_not_use_refuses_its_tokens_as_401_not_503(verify: Any) -> None:
    # The pool is on the original format: the updated key-set URL answers 404.
    cognito = Cognito({host(ORIGINAL): 200})
    verifier = make(cognito)
    with pytest.raises(KeyNotFoundError, match="404"):
        verify(verifier, token(UPDATED))
    assert verify(verifier, token(ORIGINAL)).issuer == ORIGINAL  # never breaks the other


def test_an_outage_of_an_issuer_is_still_an_outage(verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 503})
    with pytest.raises(KeySetUnavailableError) as info:
        verify(make(cognito), token(ORIGINAL))
    assert not isinstance(info.value, KeyNotFoundError)
    assert info.value.status_code == 503


# === hydrate() ===================================================================================
@pytest.mark.parametrize("face", ["sync", "async"])
@pytest.mark.parametrize(
    ("serving", "loaded"),
    [
        ({ORIGINAL: 200}, {ORIGINAL}),
        ({UPDATED: 200}, {UPDATED}),
        ({ORIGINAL: 200, UPDATED: 200}, {ORIGINAL, UPDATED}),
        ({ORIGINAL: 200, UPDATED: 403}, {ORIGINAL}),
        ({UPDATED: 200, ORIGINAL: 500}, {UPDATED}),
    ],
    ids=["original", "updated", "both", "403", "500"],
)
def test_hydrate_loads_every_issuer_and_reports_each(
    face: str, serving: dict[str, int], loaded: set[str]
) -> None:
    cognito = Cognito({host(iss): status for iss, status in serving.items()})
    verifier = make(cognito)
    report = verifier.hydrate() if face == "sync" else asyncio.run(verifier.hydrate_async())
    assert set(report) == {ORIGINAL, UPDATED}
    assert {iss for iss, result in report.items() if isinstance(result, KeySet)} == loaded
    for iss in {ORIGINAL, UPDATED} - loaded:
        result = report[iss]
        assert isinstance(result, KeySetUnavailableError)
        assert result.status_code == serving.get(iss, 404)


@pytest.mark.parametrize(
    ("serving", "status"),
    [({}, 404), ({ORIGINAL: 503}, 503), ({UPDATED: 503}, 503)],
    ids=["none", "outage-original", "outage-updated"],
)
def test_hydrate_fails_only_when_no_issuer_loads_naming_an_outage_first(
    serving: dict[str, int], status: int
) -> None:
    cognito = Cognito({host(iss): code for iss, code in serving.items()})
    with pytest.raises(KeySetUnavailableError) as info:
        make(cognito).hydrate()
    assert info.value.status_code == status


def test_multi_issuer_verifier_routes_both_formats_of_each_pool() -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(UPDATED): 200})
    multi = MultiIssuerVerifier([make(cognito)])
    assert multi.issuers == {ORIGINAL, UPDATED}
    assert multi.verify(token(UPDATED)).issuer == UPDATED
    assert cognito.requests == {host(UPDATED): 1}


def test_token_cache_hits_use_the_key_set_of_the_token_issuer() -> None:
    cognito = Cognito({host(ORIGINAL): 200, host(UPDATED): 200})
    verifier = make(cognito, token_cache_size=8)
    for iss in (ORIGINAL, UPDATED, ORIGINAL, UPDATED):
        assert verifier.verify(token(iss)).issuer == iss
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["hits"] == 2
    assert sum(cognito.requests.values()) == 2


# === audience= for access tokens that carry aud ==================================================
def test_audience_checks_aud_of_access_tokens(verify: Any) -> None:
    cognito = Cognito({host(ORIGINAL): 200})
    verifier = make(cognito, audience="https://api.example.com")
    assert verify(verifier, token(ORIGINAL, aud="https://api.example.com"))
    assert verify(verifier, token(ORIGINAL, aud=["x", "https://api.example.com"]))
    for aud in ("https://other.example.com", None):
        claims = access_claims(aud=aud)
        if aud is None:
            claims.pop("aud", None)
        with pytest.raises(AudienceMismatchError) as info:
            verify(verifier, RS.sign(claims))
        assert info.value.claim == "aud"


def test_audience_does_not_apply_to_id_tokens() -> None:
    with pytest.raises(ConfigurationError, match="client_id"):
        CognitoVerifier(
            user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="id", audience="x", jwks=JWKS
        )
    # With token_use=None it checks access tokens only: an ID token's aud is its client.
    either = CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=CLIENT_ID,
        token_use=None,
        audience="https://api.example.com",
        jwks=JWKS,
        clock=lambda: float(FIXED_NOW),
    )
    assert either.verify(RS.sign(id_claims())).token_use == "id"
    with pytest.raises(AudienceMismatchError):
        either.verify(RS.sign(access_claims()))


# === endpoint_url= (an emulator) =================================================================
def test_endpoint_url_fetches_keys_from_the_emulator_for_every_issuer() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=JWKS)

    verifier = CognitoVerifier(
        user_pool_id=POOL_ID,
        client_id=CLIENT_ID,
        token_use="access",
        endpoint_url="http://127.0.0.1:4566/",
        store=None,
        clock=lambda: float(FIXED_NOW),
        fetch=FetchOptions(client=httpx.Client(transport=httpx.MockTransport(handle))),
    )
    assert verifier.verify(token(ORIGINAL)).issuer == ORIGINAL
    assert verifier.verify(token(UPDATED)).issuer == UPDATED
    assert seen == [f"http://127.0.0.1:4566/{POOL_ID}/.well-known/jwks.json"]
    with pytest.raises(ConfigurationError, match="endpoint_url"):
        CognitoVerifier(
            user_pool_id=POOL_ID,
            client_id=CLIENT_ID,
            token_use="access",
            endpoint_url="http://127.0.0.1:4566",
            jwks_uri="http://127.0.0.1:4566/x",
        )
    with pytest.raises(ConfigurationError):  # plain http to a host that is not loopback
        CognitoVerifier(
            user_pool_id=POOL_ID,
            client_id=CLIENT_ID,
            token_use="access",
            endpoint_url="http://emulator.example:4566",
        )
