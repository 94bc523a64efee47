"""``DynamoDBDenyList`` against DynamoDB as MiniStack serves it: shared, bounded staleness,
conditional writes, outages (throttling as DynamoDB answers it), items that do not parse."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from cognito_jwt import (
    Claims,
    CognitoVerifier,
    ConfigurationError,
    RevocationUnavailableError,
    TokenRevokedError,
)
from cognito_jwt.stores import DynamoDBDenyList
from tests.fake_issuer import FakeClock
from tests.helpers import FIXED_NOW, SigningKey, access_claims
from tests.integration.shared_denylist import JTI, ORIGIN, SUB
from tests.servers.dynamodb_requests import THROTTLED, Requests
from tests.servers.ministack import MiniStack


@pytest.fixture
def clock() -> FakeClock:  # type: ignore[override]
    return FakeClock()


@pytest.fixture
def token(keys: dict[str, SigningKey]) -> str:
    return keys["RS256"].sign(access_claims())


@pytest.fixture
def make(
    dynamodb_server: MiniStack, dynamodb_table: str, clock: FakeClock
) -> Callable[..., DynamoDBDenyList]:
    def build(**options: Any) -> DynamoDBDenyList:
        options.setdefault("client", dynamodb_server.client("dynamodb"))
        return DynamoDBDenyList(dynamodb_table, clock=clock, **options)

    return build


def _item(server: MiniStack, table: str, name: str) -> dict[str, Any] | None:
    reply = server.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": name}}, ConsistentRead=True
    )
    item: dict[str, Any] | None = reply.get("Item")
    return item


def _messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and "shared deny-list" in r.getMessage()
    ]


def test_a_revocation_in_one_process_is_seen_by_every_verifier(
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    make: Callable[..., DynamoDBDenyList],
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
) -> None:
    there = make()
    verifier = make_cognito(revocation=there, token_cache_size=8)
    assert verifier.verify(token)["jti"] == JTI
    # Another process (its own interpreter) signs the session out.
    code = (
        "import sys; from cognito_jwt.stores import DynamoDBDenyList\n"
        "d = DynamoDBDenyList(sys.argv[1], region_name='eu-west-1', endpoint_url=sys.argv[2])\n"
        "d.revoke_origin(sys.argv[3], expires_at=float(sys.argv[4]))\n"
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    expiry = str(FIXED_NOW + 3600)  # the tokens' expiry, on this test's clock
    subprocess.run(
        [sys.executable, "-c", code, dynamodb_table, dynamodb_server.endpoint_url, ORIGIN, expiry],
        check=True,
        timeout=60,
        env=env,
    )
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)  # a cache hit: still asked
    with pytest.raises(TokenRevokedError):
        asyncio.run(verifier.verify_async(token))
    here = make()
    here.revoke(JTI, expires_at=FIXED_NOW + 3600)
    assert here.is_revoked(Claims(access_claims(origin_jti="another-session")))
    assert not here.is_revoked(Claims(access_claims(origin_jti="x", jti="y")))


def test_a_check_is_one_consistent_batch_get(
    make: Callable[..., DynamoDBDenyList], clock: FakeClock
) -> None:
    deny = make()
    requests = Requests(deny.client)
    consistent: list[Any] = []
    deny.client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **_: consistent.append(
            [(len(v["Keys"]), v["ConsistentRead"]) for v in params["RequestItems"].values()]
        ),
    )
    assert not deny.is_revoked(Claims(access_claims()))
    assert requests.sent == ["BatchGetItem"]
    assert consistent == [[(3, True)]]  # jti, origin_jti and sub: 3 read units
    assert not deny.is_revoked(Claims({"sub": "only-a-subject"}))
    assert consistent[-1] == [(1, True)]
    assert not deny.is_revoked(Claims({"aud": "nothing to look up"}))
    assert len(requests.sent) == 2


def test_entries_live_as_long_as_the_tokens_they_cover(
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    make: Callable[..., DynamoDBDenyList],
    clock: FakeClock,
) -> None:
    deny = make(default_lifetime=3600)
    deny.revoke(JTI, expires_at=FIXED_NOW + 600)
    deny.revoke_origin(ORIGIN)
    deny.revoke_subject(SUB, before=FIXED_NOW - 10)
    deny.revoke_subject(SUB, before=FIXED_NOW - 1000)  # older: the later cut-off stays
    deny.revoke("long-gone", expires_at=FIXED_NOW - 400)  # expired: not written

    def item(kind: Any, value: str) -> dict[str, Any] | None:
        return _item(dynamodb_server, dynamodb_table, deny.entry_key(kind, value))

    jti, origin, sub = item("jti", JTI), item("origin", ORIGIN), item("sub", SUB)
    assert jti == {"pk": jti and jti["pk"], "expires_at": {"N": str(FIXED_NOW + 900)}}
    assert origin is not None
    assert origin["expires_at"] == {"N": str(FIXED_NOW + 3900)}  # default lifetime + margin
    assert sub is not None
    assert sub["expires_at"] == {"N": str(FIXED_NOW + 3890)}
    assert float(sub["cutoff"]["N"]) == FIXED_NOW - 10
    assert item("jti", "long-gone") is None
    # A later cut-off and a longer life replace the entry's; a shorter one never does.
    deny.revoke_subject(SUB, before=FIXED_NOW + 5, expires_at=FIXED_NOW - 200)
    sub = item("sub", SUB)
    assert sub is not None
    assert float(sub["cutoff"]["N"]) == FIXED_NOW + 5
    assert sub["expires_at"] == {"N": str(FIXED_NOW + 3890)}
    deny.revoke(JTI, expires_at=FIXED_NOW + 7200)
    assert item("jti", JTI) == {"pk": jti["pk"], "expires_at": {"N": str(FIXED_NOW + 7500)}}
    # The subject entry, judged against the token's iat/auth_time.
    assert deny.is_revoked(Claims(access_claims(jti="a", origin_jti="b")))  # iat = now - 60
    assert not deny.is_revoked(
        Claims(access_claims(jti="a", origin_jti="b", iat=FIXED_NOW + 10, auth_time=FIXED_NOW + 10))
    )


def test_an_entry_past_its_expiry_is_ignored_and_replaced(
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    make: Callable[..., DynamoDBDenyList],
    clock: FakeClock,
) -> None:
    deny = make()
    deny.revoke_subject(SUB, before=FIXED_NOW, expires_at=FIXED_NOW + 100)
    claims = Claims(access_claims(jti="a", origin_jti="b"))
    assert deny.is_revoked(claims)
    clock.now += 401  # past expires_at (+ margin): DynamoDB deletes it "eventually"
    assert _item(dynamodb_server, dynamodb_table, deny.entry_key("sub", SUB)) is not None
    assert not deny.is_revoked(claims)
    # A new revocation overwrites the expired entry (its old cut-off and life are gone).
    deny.revoke_subject(SUB, before=FIXED_NOW - 3000, expires_at=clock.now + 10)
    item = _item(dynamodb_server, dynamodb_table, deny.entry_key("sub", SUB))
    assert item is not None
    assert float(item["cutoff"]["N"]) == FIXED_NOW - 3000
    assert not deny.is_revoked(claims)  # issued after that cut-off


def test_the_local_cache_is_stale_for_at_most_local_ttl(
    make: Callable[..., DynamoDBDenyList],
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
) -> None:
    writer = make()
    cached = make(local_ttl=5)
    requests = Requests(cached.client)
    verifier = make_cognito(revocation=cached)
    verifier.verify(token)  # "not revoked", remembered
    writer.revoke(JTI)
    clock.now += 4.9
    verifier.verify(token)  # within the bound: the cached answer
    assert requests.sent == ["BatchGetItem"]
    clock.now += 0.1
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)  # 5 s old: asked again
    assert requests.sent == ["BatchGetItem", "BatchGetItem"]
    # A revocation through the same object is seen at once.
    cached.revoke_subject("someone", before=FIXED_NOW)
    other = Claims(access_claims(sub="someone", jti="j2", origin_jti="o2"))
    assert cached.is_revoked(other)


@pytest.mark.parametrize(
    ("attributes", "revoked"),
    [
        ({"cutoff": {"S": "yesterday"}}, True),  # a cut-off of the wrong type: covers all
        ({}, True),  # a subject entry without a cut-off: covers all
        ({"cutoff": {"N": "1"}, "expires_at": {"S": "never"}}, False),  # live; cut-off in 1970
        ({"cutoff": {"N": str(FIXED_NOW)}, "expires_at": {"S": "never"}}, True),
    ],
)
def test_subject_entries_that_do_not_parse_are_strict(
    dynamodb_server: MiniStack,
    dynamodb_table: str,
    make: Callable[..., DynamoDBDenyList],
    attributes: dict[str, Any],
    revoked: bool,
) -> None:
    deny = make()
    item = {"pk": {"S": deny.entry_key("sub", SUB)}, **attributes}
    dynamodb_server.client("dynamodb").put_item(TableName=dynamodb_table, Item=item)
    assert deny.is_revoked(Claims(access_claims(jti="a", origin_jti="b"))) is revoked


def test_a_jti_entry_written_by_another_party_still_revokes(
    dynamodb_server: MiniStack, dynamodb_table: str, make: Callable[..., DynamoDBDenyList]
) -> None:
    deny = make()
    item = {"pk": {"S": deny.entry_key("jti", JTI)}, "expires_at": {"B": b"\x00"}}
    dynamodb_server.client("dynamodb").put_item(TableName=dynamodb_table, Item=item)
    assert deny.is_revoked(Claims(access_claims()))  # no readable expiry: live


def test_a_throttled_table_fails_closed_by_default_then_recovers(
    make: Callable[..., DynamoDBDenyList],
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deny = make(retry_interval=5)
    requests = Requests(deny.client)
    verifier = make_cognito(revocation=deny)
    verifier.verify(token)
    caplog.set_level(logging.INFO, logger="cognito_jwt")
    requests.answer = THROTTLED
    for _ in range(3):
        with pytest.raises(RevocationUnavailableError) as info:
            verifier.verify(token)
        assert token not in str(info.value)
    with pytest.raises(RevocationUnavailableError):
        asyncio.run(verifier.verify_async(token))
    assert not deny.available
    warnings = _messages(caplog, logging.WARNING)
    assert len(warnings) == 1  # once per outage
    assert "ProvisionedThroughputExceededException" in warnings[0]
    assert "refusing tokens" in warnings[0]
    assert requests.sent == ["BatchGetItem", "BatchGetItem"]  # then left alone
    with pytest.raises(RevocationUnavailableError):
        deny.revoke(JTI)  # a revocation that was not recorded is never silent

    requests.answer = None
    with pytest.raises(RevocationUnavailableError):
        verifier.verify(token)  # left alone for retry_interval: no request paid
    clock.now += 5
    assert verifier.verify(token)["jti"] == JTI
    assert deny.available
    assert len(_messages(caplog, logging.INFO)) == 1
    deny.revoke(JTI)
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)


def test_keys_left_unprocessed_are_an_outage(
    make: Callable[..., DynamoDBDenyList], dynamodb_table: str, caplog: pytest.LogCaptureFixture
) -> None:
    deny = make()
    requests = Requests(deny.client)
    keys = [{"pk": {"S": deny.entry_key("jti", JTI)}}]
    requests.answer = (
        200,
        {"Responses": {}, "UnprocessedKeys": {dynamodb_table: {"Keys": keys}}},
    )
    with (
        caplog.at_level(logging.WARNING, logger="cognito_jwt"),
        pytest.raises(RevocationUnavailableError),
    ):
        deny.is_revoked(Claims(access_claims()))
    assert "IncompleteReadError" in _messages(caplog, logging.WARNING)[0]


def test_a_throttled_table_with_on_error_open_accepts_and_warns_once(
    make: Callable[..., DynamoDBDenyList],
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    deny = make(on_error="open")
    requests = Requests(deny.client)
    deny.revoke("some-other-token")
    verifier = make_cognito(revocation=deny)
    caplog.set_level(logging.WARNING, logger="cognito_jwt")
    requests.answer = THROTTLED
    for _ in range(3):
        assert verifier.verify(token)["jti"] == JTI
    assert asyncio.run(verifier.verify_async(token))["jti"] == JTI
    assert len(_messages(caplog, logging.WARNING)) == 1
    assert "on_error='open'" in _messages(caplog, logging.WARNING)[0]
    with pytest.raises(RevocationUnavailableError):
        asyncio.run(deny.revoke_async(JTI))  # writes fail loudly, open or not


def test_the_async_face(make: Callable[..., DynamoDBDenyList]) -> None:
    deny = make()
    claims = Claims(access_claims())

    async def session() -> tuple[bool, bool]:
        before = await deny.is_revoked_async(claims)
        await deny.revoke_subject_async(SUB)
        after = await deny.is_revoked_async(claims)
        await deny.revoke_async("j")
        await deny.revoke_origin_async("o")
        return before, after

    assert asyncio.run(session()) == (False, True)
    assert deny.is_revoked(Claims(access_claims(jti="j", sub="x", origin_jti="y")))
    assert deny.is_revoked(Claims(access_claims(jti="z", sub="x", origin_jti="o")))


@pytest.mark.parametrize(
    "options",
    [
        {"on_error": "maybe"},
        {"local_ttl": -1},
        {"local_ttl": True},
        {"namespace": ""},
        {"retry_interval": 0},
        {"default_lifetime": -5},
        {"table_name": "x"},
        {"client": object()},
        {"endpoint_url": "http://127.0.0.1:1"},  # with a client: it would be ignored
    ],
)
def test_bad_options_are_configuration_errors(
    dynamodb_server: MiniStack, options: dict[str, Any]
) -> None:
    arguments: dict[str, Any] = {"table_name": "jwks", "client": dynamodb_server.client("dynamodb")}
    arguments.update(options)
    with pytest.raises(ConfigurationError):
        DynamoDBDenyList(**arguments)
