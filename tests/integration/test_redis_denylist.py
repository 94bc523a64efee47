"""``RedisDenyList`` against a real redis-server: shared, bounded staleness, outages."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import redis

from cognito_jwt import (
    Claims,
    CognitoVerifier,
    ConfigurationError,
    RevocationUnavailableError,
    TokenRevokedError,
)
from cognito_jwt.stores import RedisDenyList
from tests.fake_issuer import FakeClock
from tests.helpers import FIXED_NOW, SigningKey, access_claims
from tests.integration.shared_denylist import JTI, ORIGIN, SUB
from tests.servers.redis_server import RedisServer


@pytest.fixture
def clock() -> FakeClock:  # type: ignore[override]
    return FakeClock()


@pytest.fixture
def token(keys: dict[str, SigningKey]) -> str:
    return keys["RS256"].sign(access_claims())


def deny_list(url: str, namespace: str, clock: FakeClock, **options: Any) -> RedisDenyList:
    return RedisDenyList.from_url(url, namespace=namespace, clock=clock, **options)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == level and "shared deny-list" in r.getMessage()
    ]


def test_a_revocation_in_one_process_is_seen_by_every_verifier(
    redis_server: RedisServer,
    redis_namespace: str,
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
) -> None:
    here = deny_list(redis_server.url, redis_namespace, clock)
    there = deny_list(redis_server.url, redis_namespace, clock)
    verifier = make_cognito(revocation=there, token_cache_size=8)
    assert verifier.verify(token)["jti"] == JTI
    # Another process (its own interpreter) signs the session out.
    code = (
        "import sys; from cognito_jwt.stores import RedisDenyList\n"
        "d = RedisDenyList.from_url(sys.argv[1], namespace=sys.argv[2])\n"
        "d.revoke_origin(sys.argv[3])\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, redis_server.url, redis_namespace, ORIGIN],
        check=True,
        timeout=60,
    )
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)  # a cache hit: still asked
    with pytest.raises(TokenRevokedError):
        asyncio.run(_verify_async(verifier, there, token))
    here.revoke(JTI, expires_at=FIXED_NOW + 3600)
    assert here.is_revoked(Claims(access_claims(origin_jti="another-session")))
    assert not here.is_revoked(Claims(access_claims(origin_jti="x", jti="y")))
    here.close()
    there.close()


async def _verify_async(verifier: CognitoVerifier, deny: RedisDenyList, token: str) -> Any:
    try:
        return await verifier.verify_async(token)
    finally:
        await deny.aclose()


def test_entries_live_as_long_as_the_tokens_they_cover(
    redis_server: RedisServer, redis_namespace: str, clock: FakeClock
) -> None:
    deny = deny_list(redis_server.url, redis_namespace, clock, default_lifetime=3600)
    deny.revoke(JTI, expires_at=FIXED_NOW + 600)
    deny.revoke_origin(ORIGIN)
    deny.revoke_subject(SUB, before=FIXED_NOW - 10)
    deny.revoke_subject(SUB, before=FIXED_NOW - 1000)  # older: the later cut-off stays
    deny.revoke("long-gone", expires_at=FIXED_NOW - 400)  # expired: not written
    with redis.Redis.from_url(redis_server.url) as raw:
        jti_ttl = raw.pttl(deny.entry_key("jti", JTI))
        origin_ttl = raw.pttl(deny.entry_key("origin", ORIGIN))
        sub_ttl = raw.pttl(deny.entry_key("sub", SUB))
        assert 899_000 <= jti_ttl <= 900_000  # 600 s + 300 s of margin
        assert 3_899_000 <= origin_ttl <= 3_900_000
        assert 3_889_000 <= sub_ttl <= 3_890_000
        assert float(raw.get(deny.entry_key("sub", SUB))) == FIXED_NOW - 10
        assert raw.exists(deny.entry_key("jti", "long-gone")) == 0
        assert len(raw.keys(f"{redis_namespace}:deny:*")) == 3
    # The subject entry, judged against the token's iat/auth_time.
    assert deny.is_revoked(Claims(access_claims(jti="a", origin_jti="b")))  # iat = now - 60
    assert not deny.is_revoked(
        Claims(access_claims(jti="a", origin_jti="b", iat=FIXED_NOW, auth_time=FIXED_NOW))
    )
    deny.close()


def test_the_local_cache_is_stale_for_at_most_local_ttl(
    redis_server: RedisServer,
    redis_namespace: str,
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
) -> None:
    writer = deny_list(redis_server.url, redis_namespace, clock)
    cached = deny_list(redis_server.url, redis_namespace, clock, local_ttl=5)
    verifier = make_cognito(revocation=cached)
    verifier.verify(token)  # "not revoked", remembered
    writer.revoke(JTI)
    clock.now += 4.9
    verifier.verify(token)  # within the bound: the cached answer
    clock.now += 0.1
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)  # 5 s old: asked again
    # A revocation through the same object is seen at once.
    cached.revoke_subject("someone", before=FIXED_NOW)
    other = Claims(access_claims(sub="someone", jti="j2", origin_jti="o2"))
    assert cached.is_revoked(other)
    writer.close()
    cached.close()


def test_redis_down_fails_closed_by_default_then_recovers(
    redis_server_factory: Callable[[], RedisServer],
    redis_namespace: str,
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = redis_server_factory()
    deny = deny_list(server.url, redis_namespace, clock, retry_interval=5)
    verifier = make_cognito(revocation=deny)
    verifier.verify(token)
    caplog.set_level(logging.INFO, logger="cognito_jwt")
    server.kill()
    for _ in range(3):
        with pytest.raises(RevocationUnavailableError) as info:
            verifier.verify(token)
        assert token not in str(info.value)
    with pytest.raises(RevocationUnavailableError):
        asyncio.run(_verify_async(verifier, deny, token))
    assert not deny.available
    assert len(messages(caplog, logging.WARNING)) == 1  # once per outage
    assert "refusing tokens" in messages(caplog, logging.WARNING)[0]
    with pytest.raises(RevocationUnavailableError):
        deny.revoke(JTI)  # a revocation that was not recorded is never silent

    server.start()  # back, on the same port, empty
    with pytest.raises(RevocationUnavailableError):
        verifier.verify(token)  # left alone for retry_interval: no timeout per request
    clock.now += 5
    assert verifier.verify(token)["jti"] == JTI
    assert deny.available
    assert len(messages(caplog, logging.INFO)) == 1
    deny.revoke(JTI)
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)
    deny.close()


def test_redis_down_with_on_error_open_accepts_and_warns_once(
    redis_server_factory: Callable[[], RedisServer],
    redis_namespace: str,
    clock: FakeClock,
    make_cognito: Callable[..., CognitoVerifier],
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = redis_server_factory()
    deny = deny_list(server.url, redis_namespace, clock, on_error="open")
    deny.revoke("some-other-token")
    verifier = make_cognito(revocation=deny)
    caplog.set_level(logging.WARNING, logger="cognito_jwt")
    server.kill()
    for _ in range(3):
        assert verifier.verify(token)["jti"] == JTI
    assert asyncio.run(_verify_async(verifier, deny, token))["jti"] == JTI
    assert len(messages(caplog, logging.WARNING)) == 1
    assert "on_error='open'" in messages(caplog, logging.WARNING)[0]
    with pytest.raises(RevocationUnavailableError):
        asyncio.run(deny.revoke_async(JTI))  # writes fail loudly, open or not
    deny.close()


def test_the_async_face_uses_one_client_per_event_loop(
    redis_server: RedisServer, redis_namespace: str, clock: FakeClock
) -> None:
    deny = deny_list(redis_server.url, redis_namespace, clock)
    claims = Claims(access_claims())

    async def session() -> tuple[bool, bool]:
        before = await deny.is_revoked_async(claims)
        await deny.revoke_subject_async(SUB)
        after = await deny.is_revoked_async(claims)
        await deny.aclose()
        return before, after

    assert asyncio.run(session()) == (False, True)
    assert asyncio.run(session()) == (True, True)  # a second loop: a client of its own
    deny.close()


@pytest.mark.parametrize("planted", [b"nan", b"yesterday", b"inf"])
def test_a_subject_entry_that_does_not_parse_covers_every_token(
    redis_server: RedisServer, redis_namespace: str, clock: FakeClock, planted: bytes
) -> None:
    """Strict: an unreadable cut-off (NaN once compared as "not revoked") covers all."""
    deny = deny_list(redis_server.url, redis_namespace, clock)
    with redis.Redis.from_url(redis_server.url) as raw:
        raw.set(deny.entry_key("sub", SUB), planted)
    assert deny.is_revoked(Claims(access_claims(jti="a", origin_jti="b")))
    deny.close()


@pytest.mark.parametrize(
    "options",
    [
        {"on_error": "maybe"},
        {"local_ttl": -1},
        {"local_ttl": True},
        {"namespace": ""},
        {"retry_interval": 0},
        {"default_lifetime": -5},
    ],
)
def test_bad_options_are_configuration_errors(
    redis_server: RedisServer, options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        RedisDenyList.from_url(redis_server.url, **options)


def test_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="RedisDenyList URL"):
        RedisDenyList.from_url("http://localhost:6379")
