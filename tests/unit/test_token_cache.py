"""The opt-in verified-token cache: what a hit skips, and every rule that still holds on a hit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from cognito_jwt import (
    CognitoVerifier,
    ConfigurationError,
    CustomCheckError,
    ExpiredTokenError,
    InvalidSignatureError,
    JwtVerifier,
    KeyNotFoundError,
    MalformedTokenError,
    NotYetValidError,
)
from cognito_jwt import _verifier as verifier_module
from cognito_jwt._b64 import b64url_decode, b64url_encode
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt._token_cache import MAX_CACHED_TOKEN_LENGTH, MAX_TOKEN_CACHE_SIZE

from ..fake_issuer import FakeClock, FakeIssuer, oidc_token
from ..helpers import (
    AUDIENCE,
    CLIENT_ID,
    FIXED_NOW,
    OIDC_ISSUER,
    POOL_ID,
    access_claims,
    all_keys,
    jwks_of,
    oidc_claims,
    rsa_private,
)

RS = all_keys()["RS256"]
ES = all_keys()["ES256"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FIXED_NOW)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every token the verifier parses: a hit parses nothing."""
    seen: list[object] = []
    real = verifier_module.parse_token

    def counting(token: object, *args: Any) -> Any:
        seen.append(token)
        return real(token, *args)

    monkeypatch.setattr(verifier_module, "parse_token", counting)
    return seen


def cognito(clock: Callable[[], float], **kwargs: Any) -> CognitoVerifier:
    options: dict[str, Any] = {
        "user_pool_id": POOL_ID,
        "client_id": CLIENT_ID,
        "token_use": "access",
        "jwks": jwks_of(RS, ES),
        "algorithms": ["RS256", "ES256"],
        "clock": clock,
        "token_cache_size": 16,
    }
    options.update(kwargs)
    return CognitoVerifier(**options)


def test_off_by_default(clock: FakeClock, parses: list[object]) -> None:
    verifier = cognito(clock, token_cache_size=0)
    token = RS.sign(access_claims())
    verifier.verify(token)
    verifier.verify(token)
    assert verifier.token_cache_stats is None
    assert len(parses) == 2
    default = CognitoVerifier(
        user_pool_id=POOL_ID, client_id=CLIENT_ID, token_use="access", jwks=jwks_of(RS)
    )
    assert default.token_cache_stats is None


def test_a_repeat_is_a_hit_and_parses_nothing(clock: FakeClock, parses: list[object]) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims())
    first = verifier.verify(token)
    second = verifier.verify(token)
    assert second == first
    assert second.header == first.header
    assert len(parses) == 1
    assert verifier.token_cache_stats == {"hits": 1, "misses": 1, "size": 1, "max_size": 16}


@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_str_and_bytes_forms_share_an_entry(
    clock: FakeClock, parses: list[object], kind: str
) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims())
    verifier.verify(token)
    assert verifier.verify(token.encode() if kind == "bytes" else token)["sub"]
    assert len(parses) == 1


def test_any_changed_byte_is_a_different_entry(clock: FakeClock) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims())
    verifier.verify(token)
    head, payload, sig = token.split(".")
    flipped = bytearray(b64url_decode(sig))
    flipped[-1] ^= 1
    with pytest.raises(InvalidSignatureError):
        verifier.verify(f"{head}.{payload}.{b64url_encode(bytes(flipped))}")
    with pytest.raises((MalformedTokenError, InvalidSignatureError)):
        verifier.verify(token + "A")


def test_expiry_is_checked_on_every_hit(clock: FakeClock) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims(exp=FIXED_NOW + 100))
    verifier.verify(token)
    clock.advance(99)
    verifier.verify(token)
    clock.advance(1)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 0  # dropped


def test_leeway_applies_on_a_hit(clock: FakeClock) -> None:
    verifier = cognito(clock, leeway=30)
    token = RS.sign(access_claims(exp=FIXED_NOW + 10))
    verifier.verify(token)
    clock.advance(39)
    assert verifier.verify(token)["sub"]
    clock.advance(1)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)


def test_nbf_is_checked_on_a_hit_when_the_clock_goes_back(clock: FakeClock) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims(nbf=FIXED_NOW - 5))
    verifier.verify(token)
    clock.advance(-70)  # nbf 65 s ahead: beyond the default 60 s skew
    with pytest.raises(NotYetValidError):
        verifier.verify(token)
    clock.advance(70)
    assert verifier.verify(token)["sub"]


def test_a_token_within_the_default_skew_is_a_hit(clock: FakeClock, parses: list[object]) -> None:
    # nbf 30 s ahead: accepted by the default 60 s skew, so a repeat must hit the cache too.
    verifier = cognito(clock)
    token = RS.sign(access_claims(nbf=FIXED_NOW + 30, iat=FIXED_NOW + 30))
    verifier.verify(token)
    verifier.verify(token)
    assert len(parses) == 1
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["hits"] == 1


def test_custom_check_runs_on_every_hit(clock: FakeClock) -> None:
    revoked: set[str] = set()
    calls: list[str] = []

    def not_revoked(claims: Any) -> bool:
        calls.append(claims["jti"])
        return claims["jti"] not in revoked

    verifier = cognito(clock, custom_check=not_revoked)
    token = RS.sign(access_claims(jti="j-1"))
    verifier.verify(token)
    verifier.verify(token)
    assert calls == ["j-1", "j-1"]
    revoked.add("j-1")
    with pytest.raises(CustomCheckError) as caught:
        verifier.verify(token)
    assert caught.value.unverified_claims is not None


def test_a_caller_mutating_nested_claims_does_not_change_the_next_hit(clock: FakeClock) -> None:
    verifier = cognito(clock)
    token = RS.sign(access_claims(**{"cognito:groups": ["staff"], "ext": {"roles": ["r"]}}))
    first = verifier.verify(token)
    first["cognito:groups"].append("admins")
    first["ext"]["roles"].append("root")
    second = verifier.verify(token)
    assert second["cognito:groups"] == ["staff"]
    assert second["ext"] == {"roles": ["r"]}
    second["cognito:groups"].clear()
    assert verifier.verify(token).groups == ("staff",)


def test_size_is_bounded_oldest_first(clock: FakeClock, parses: list[object]) -> None:
    verifier = cognito(clock, token_cache_size=3)
    tokens = [RS.sign(access_claims(jti=f"j-{i}")) for i in range(5)]
    for token in tokens:
        verifier.verify(token)
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 3
    parses.clear()
    for token in tokens[2:]:
        verifier.verify(token)
    assert parses == []  # the three newest are cached
    verifier.verify(tokens[0])
    assert parses == [tokens[0]]  # the oldest were evicted


def test_not_cached_long_tokens_and_nested_headers(clock: FakeClock, parses: list[object]) -> None:
    verifier = cognito(clock)
    long = RS.sign(access_claims(padding="x" * MAX_CACHED_TOKEN_LENGTH))
    nested = RS.sign(access_claims(), headers={"x5t#S256": "abc", "ext": ["a"]})
    for token in (long, long, nested, nested):
        verifier.verify(token)
    assert len(parses) == 4
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 0


def test_a_nested_header_after_flat_ones_is_still_not_cached(
    clock: FakeClock, parses: list[object]
) -> None:
    # The cache looks at a header object once it was found flat; another header, nested, is
    # looked at on its own (and never cached), whatever came before it.
    verifier = cognito(clock)
    flat = [RS.sign(access_claims(username=f"user-{i}")) for i in range(2)]
    nested = RS.sign(access_claims(), headers={"ext": {"a": 1}})
    for token in (*flat, nested, nested, *flat):
        verifier.verify(token)
    assert parses == [*flat, nested, nested]
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 2


def test_rejected_tokens_are_never_stored(clock: FakeClock) -> None:
    verifier = cognito(clock)
    wrong_client = RS.sign(access_claims(client_id="other"))
    for _ in range(2):
        with pytest.raises(Exception, match="client"):
            verifier.verify(wrong_client)
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 0


def test_caches_are_per_verifier(clock: FakeClock) -> None:
    lax = cognito(clock, client_id=None)
    strict = cognito(clock)
    token = RS.sign(access_claims(client_id="other-client"))
    lax.verify(token)
    lax.verify(token)
    with pytest.raises(Exception, match="client"):
        strict.verify(token)


@pytest.mark.parametrize("size", [-1, True, 1.5, "10", MAX_TOKEN_CACHE_SIZE + 1])
def test_bad_sizes_are_configuration_errors(clock: FakeClock, size: object) -> None:
    with pytest.raises(ConfigurationError, match="token_cache_size"):
        cognito(clock, token_cache_size=size)


@pytest.mark.parametrize("token", [None, 42, "", "a.b", "é.é.é", b"\xff"])
def test_malformed_input_with_the_cache_on(clock: FakeClock, token: Any) -> None:
    with pytest.raises(MalformedTokenError):
        cognito(clock).verify(token)


# --- the key that verified an entry ---------------------------------------------------------------
def remote(issuer: FakeIssuer, clock: FakeClock, **kwargs: Any) -> JwtVerifier:
    return JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks_uri=issuer.jwks_uri,
        fetch=issuer.fetch_options(),
        store=None,
        clock=clock,
        token_cache_size=8,
        **kwargs,
    )


def test_entry_dropped_when_its_key_leaves_the_key_set(
    clock: FakeClock, parses: list[object]
) -> None:
    issuer = FakeIssuer(keys=(RS, ES))
    verifier = remote(issuer, clock)
    token = oidc_token(RS, FIXED_NOW)
    verifier.verify(token)
    issuer.rotate(ES)
    verifier.refresh()
    with pytest.raises(KeyNotFoundError):
        verifier.verify(token)
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] == 0
    assert len(parses) == 2


def test_entry_kept_when_a_refresh_republishes_its_key(
    clock: FakeClock, parses: list[object]
) -> None:
    issuer = FakeIssuer(keys=(RS,))
    verifier = remote(issuer, clock)
    token = oidc_token(RS, FIXED_NOW)
    verifier.verify(token)
    issuer.rotate(RS, ES)
    verifier.refresh()
    verifier.verify(token)
    verifier.verify(token)
    assert len(parses) == 1


def test_entry_dropped_when_the_kid_now_names_another_key(clock: FakeClock) -> None:
    issuer = FakeIssuer(keys=(RS,))
    verifier = remote(issuer, clock)
    token = oidc_token(RS, FIXED_NOW)
    verifier.verify(token)
    other = jwk_from_public_key(rsa_private(2048, seed=1).public_key())
    issuer.document = {"keys": [dict(other, kid=RS.kid, alg="RS256")]}  # same kid, other key
    verifier.refresh()
    with pytest.raises(InvalidSignatureError):
        verifier.verify(token)


def test_a_hit_still_drives_scheduled_refreshes(clock: FakeClock) -> None:
    issuer = FakeIssuer(keys=(RS,))
    verifier = remote(issuer, clock)
    token = oidc_token(RS, FIXED_NOW, exp=FIXED_NOW + 10 * 86_400)
    verifier.verify(token)
    before = issuer.total
    clock.advance(2 * 86_400)  # far past any max age: the key set must be fetched again
    issuer.rotate(ES)
    with pytest.raises(KeyNotFoundError):
        verifier.verify(token)
    assert issuer.total > before


def test_async_hits(clock: FakeClock, parses: list[object]) -> None:
    issuer = FakeIssuer(keys=(RS,))
    verifier = remote(issuer, clock)
    token = oidc_token(RS, FIXED_NOW)

    async def main() -> None:
        await verifier.verify_async(token)
        await verifier.verify_async(token)
        clock.advance(600)
        with pytest.raises(ExpiredTokenError):
            await verifier.verify_async(token)

    asyncio.run(main())
    assert len(parses) == 2


def test_threads_share_one_cache_under_eviction_churn(clock: FakeClock) -> None:
    verifier = cognito(clock, token_cache_size=4)
    good = [RS.sign(access_claims(jti=f"j-{i}")) for i in range(12)]
    bad = RS.sign(access_claims(client_id="other"))
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(offset: int) -> None:
        start.wait()
        try:
            for i in range(300):
                token = good[(i + offset) % len(good)]
                assert verifier.verify(token)["jti"] == f"j-{(i + offset) % len(good)}"
                if i % 50 == 0:
                    with pytest.raises(Exception, match="client"):
                        verifier.verify(bad)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["size"] <= 4


def test_oidc_verifier_has_the_option_too(clock: FakeClock, parses: list[object]) -> None:
    verifier = JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks=jwks_of(ES),
        clock=clock,
        token_cache_size=2,
    )
    token = ES.sign(oidc_claims())
    assert verifier.verify(token) == verifier.verify(token)
    assert len(parses) == 1
