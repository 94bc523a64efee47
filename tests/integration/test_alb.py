"""AlbVerifier against a load balancer's key endpoint on 127.0.0.1 (`LocalLoadBalancer`).

Tokens are minted in the exact ALB format (ES256, the `signer`/`client`/`iss`/`exp` header,
base64url with `=` padding); keys are fetched as PEM over HTTP, one URL per `kid`. Every
verification runs sync and async through one fixture. `AlbVerifier` is imported from
`cognito_jwt._alb` until `cognito_jwt` exports it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cognito_jwt import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    Claims,
    ConfigurationError,
    ExpiredTokenError,
    FileStore,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    MemoryStore,
    MissingClaimError,
    MultiIssuerVerifier,
    NotYetValidError,
    RefreshPolicy,
    TokenLimits,
)
from cognito_jwt._alb import AlbVerifier
from cognito_jwt.testing import LocalLoadBalancer

ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
CLIENT = "1example23456789abcdefghij"
USER = {"sub": "0d1f-user", "email": "alice@example.com", "email_verified": "true"}

Verify = Callable[[AlbVerifier, str], Claims]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def alb() -> Iterator[LocalLoadBalancer]:
    with LocalLoadBalancer(alb_arn=ARN, issuer=ISSUER, client_id=CLIENT) as local:
        yield local


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(alb: LocalLoadBalancer, clock: Clock) -> Callable[..., AlbVerifier]:
    """A verifier for `alb` without a store (cold caches), on the test's clock."""

    def build(**options: Any) -> AlbVerifier:
        return alb.verifier(**{"store": None, "clock": clock, **options})

    return build


@pytest.fixture(params=["sync", "async"])
def verify(request: pytest.FixtureRequest) -> Verify:
    if request.param == "sync":
        return lambda verifier, token: verifier.verify(token)
    return lambda verifier, token: asyncio.run(verifier.verify_async(token))


def fetches(alb: LocalLoadBalancer) -> int:
    return sum(alb.requests.values())


def tamper(token: str, index: int, position: int = 10) -> str:
    """Change one character of a segment into another of the alphabet."""
    parts = token.split(".")
    segment = parts[index]
    swapped = "B" if segment[position] != "B" else "C"
    parts[index] = segment[:position] + swapped + segment[position + 1 :]
    return ".".join(parts)


# --- Accepted -------------------------------------------------------------------------------------
@pytest.mark.parametrize("padded", [True, False])
def test_a_token_as_the_load_balancer_sends_it_verifies(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify, padded: bool
) -> None:
    verifier = make()
    token = alb.mint(USER, padded=padded)
    assert ("=" in token) is padded
    claims = verify(verifier, token)
    assert claims.sub == "0d1f-user"
    assert claims["email"] == "alice@example.com"
    assert claims.header["signer"] == ARN
    assert claims.header["client"] == CLIENT
    assert claims.header["kid"] == alb.kids[0]
    assert verify(verifier, token).sub == "0d1f-user"
    assert fetches(alb) == 1  # the key was fetched once, then served from memory
    assert verifier.stats.fetches == 1
    assert verifier.stats.l1_hits >= 1


def test_the_payload_may_carry_exp_and_iss_or_not(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    # The user guide documents exp and iss in the header; the payload is the user info.
    assert "exp" not in verify(make(), alb.mint(USER))
    both = {**USER, "exp": int(time.time()) + 60, "iss": ISSUER}
    assert verify(make(), alb.mint(both))["iss"] == ISSUER
    with pytest.raises(JwtError):  # present, so it must be a NumericDate
        verify(make(), alb.mint({**USER, "exp": None}))


def test_issuer_and_client_checks_can_be_skipped_explicitly(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    token = alb.mint(USER, header={"iss": "https://other", "client": "other"})
    verifier = make(issuer=None, client_id=None)
    claims = verify(verifier, alb.mint({**USER, "iss": "https://other"}, header={"iss": "x"}))
    assert claims.sub == "0d1f-user"
    assert verify(verifier, token).sub == "0d1f-user"


def test_several_load_balancers_and_clients(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    other = ARN.replace("shop", "admin")
    verifier = make(alb_arn=[ARN, other], client_id=[CLIENT, "second"])
    assert verify(verifier, alb.mint(USER, header={"signer": other, "client": "second"}))


# --- Refused before any key is fetched ------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "error"),
    [
        ({"signer": ARN.replace("123456789012", "210987654321")}, IssuerMismatchError),
        ({"signer": ARN.replace("shop", "shop2")}, IssuerMismatchError),
        ({"signer": None}, IssuerMismatchError),
        ({"signer": [ARN]}, IssuerMismatchError),
        ({"client": "another-client"}, AudienceMismatchError),
        ({"client": None}, AudienceMismatchError),
        ({"alg": "none"}, AlgorithmNotAllowedError),
        ({"alg": "HS256"}, AlgorithmNotAllowedError),
        ({"alg": "ES384"}, AlgorithmNotAllowedError),
        ({"alg": "RS256"}, AlgorithmNotAllowedError),
        ({"alg": "es256"}, AlgorithmNotAllowedError),
        ({"kid": "../../admin"}, MalformedTokenError),
        ({"kid": "e38c2a2d-bf84-4c42-ba20-ad9eedfa9a47/../x"}, MalformedTokenError),
        ({"kid": "%2e%2e%2f-bf84-4c42-ba20-ad9eedfa9a47"}, MalformedTokenError),
        ({"kid": "https://evil.example/key"}, MalformedTokenError),
        ({"kid": ""}, MalformedTokenError),
        ({"kid": None}, MalformedTokenError),
        ({"kid": 7}, MalformedTokenError),
    ],
)
def test_refused_without_a_fetch(
    alb: LocalLoadBalancer,
    make: Callable[..., AlbVerifier],
    verify: Verify,
    header: dict[str, Any],
    error: type[JwtError],
) -> None:
    fields = {k: v for k, v in header.items() if v is not None}
    token = alb.mint(USER, header=fields)
    for name in header.keys() - fields.keys():  # None: no such field at all
        token = _without(alb, token, name)
    with pytest.raises(error) as caught:
        verify(make(), token)
    assert fetches(alb) == 0
    assert caught.value.unverified_header is not None
    assert token not in str(caught.value)


def _without(alb: LocalLoadBalancer, token: str, field: str) -> str:
    """Re-mint *token*'s header without *field* (and sign it)."""
    import base64
    import json

    from cognito_jwt._algorithms import ALGORITHMS

    header_b64, payload_b64, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64))
    del header[field]
    new = base64.urlsafe_b64encode(json.dumps(header).encode()).decode()
    data = f"{new}.{payload_b64}"
    key = alb._keys[alb.kids[-1]]
    signature = base64.urlsafe_b64encode(ALGORITHMS["ES256"].sign(key, data.encode())).decode()
    return f"{data}.{signature}"


def test_oversized_tokens_are_refused_before_anything_else(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    token = alb.mint({**USER, "groups": ["g" * 100] * 200})
    with pytest.raises(MalformedTokenError, match="above the limit"):
        verify(make(limits=TokenLimits(max_token_length=8192)), token)
    with pytest.raises(MalformedTokenError, match="above the limit"):
        verify(make(), alb.mint({"sub": "x" * 70_000}))
    assert fetches(alb) == 0


# --- Refused after the signature ------------------------------------------------------------------
def test_a_key_of_another_kid_does_not_verify(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    first, second = alb.kids[0], alb.rotate()
    token = alb.mint(USER, kid=first, signing_kid=second)
    with pytest.raises(InvalidSignatureError):
        verify(make(), token)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_tampered_tokens_do_not_verify(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify, index: int
) -> None:
    token = alb.mint(USER)
    changed = tamper(token, index, position=-5 if index == 0 else 20)
    with pytest.raises((InvalidSignatureError, MalformedTokenError)):
        verify(make(), changed)


def test_padding_is_part_of_what_is_signed(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    token = alb.mint(USER)
    header, payload, signature = token.split(".")
    assert header.endswith("=") or payload.endswith("=")
    stripped = ".".join((header.rstrip("="), payload.rstrip("="), signature))
    with pytest.raises(InvalidSignatureError):
        verify(make(), stripped)
    # ... and the other way round: padding added to an unpadded token changes it too.
    unpadded = alb.mint(USER, padded=False)
    h, p, s = unpadded.split(".")
    repadded = ".".join(x + "=" * (-len(x) % 4) for x in (h, p)) + "." + s
    if repadded.rsplit(".", 1)[0] != unpadded.rsplit(".", 1)[0]:
        with pytest.raises(InvalidSignatureError):
            verify(make(), repadded)


def test_expiry_uses_the_injected_clock_and_leeway(
    alb: LocalLoadBalancer,
    make: Callable[..., AlbVerifier],
    verify: Verify,
    clock: Clock,
) -> None:
    token = alb.mint(USER, lifetime=60)
    verifier = make()
    assert verify(verifier, token)
    clock.now += 61
    with pytest.raises(ExpiredTokenError) as caught:
        verify(verifier, token)
    assert caught.value.unverified_claims is not None
    assert verify(make(leeway=30), token)


def test_the_header_exp_is_required_and_the_payload_exp_counts_too(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    no_header_exp = _without(alb, alb.mint(USER), "exp")
    with pytest.raises(MissingClaimError):
        verify(make(), no_header_exp)
    payload_expired = alb.mint({**USER, "exp": int(time.time()) - 10})
    with pytest.raises(ExpiredTokenError):
        verify(make(), payload_expired)
    future = alb.mint({**USER, "nbf": int(time.time()) + 600})
    with pytest.raises(NotYetValidError):
        verify(make(), future)
    header_expired = alb.mint(USER, header={"exp": int(time.time()) - 10})
    with pytest.raises(ExpiredTokenError):
        verify(make(), header_expired)


@pytest.mark.parametrize(
    ("header", "claims"),
    [({"iss": "https://evil.example"}, {}), ({}, {"iss": "https://evil.example"})],
)
def test_wrong_issuer_in_header_or_payload(
    alb: LocalLoadBalancer,
    make: Callable[..., AlbVerifier],
    verify: Verify,
    header: dict[str, Any],
    claims: dict[str, Any],
) -> None:
    with pytest.raises(IssuerMismatchError):
        verify(make(), alb.mint({**USER, **claims}, header=header))


def test_custom_check_and_required_claims(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    token = alb.mint(USER)
    with pytest.raises(JwtError):
        verify(make(required_claims=["phone_number"]), token)
    with pytest.raises(JwtError):
        verify(make(custom_check=lambda c: c.get("email_verified") == "false"), token)


def test_a_multi_issuer_verifier_refuses_an_alb_verifier(make: Callable[..., AlbVerifier]) -> None:
    # ALB tokens carry iss in the header and may be padded: a router can't route them by the
    # payload's iss, so it refuses the verifier instead of failing every token (hardening 2.9).
    with pytest.raises(ConfigurationError, match="AlbVerifier"):
        MultiIssuerVerifier([make()])


# --- The key endpoint misbehaving -----------------------------------------------------------------
def _pem(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"<html>oops</html>", 500),
        (b"", 503),
        (b"garbage", 200),
        (b'{"keys": []}', 200),
        (_pem(ec.generate_private_key(ec.SECP384R1())), 200),
        (b"-----BEGIN PUBLIC KEY-----\n" + b"A" * 4000 + b"\n-----END PUBLIC KEY-----\n", 200),
    ],
)
def test_a_broken_key_endpoint_is_key_set_unavailable(
    alb: LocalLoadBalancer,
    make: Callable[..., AlbVerifier],
    verify: Verify,
    body: bytes,
    status: int,
) -> None:
    alb.publish(alb.kids[0], body, status=status)
    verifier = make()
    with pytest.raises(KeySetUnavailableError):
        verify(verifier, alb.mint(USER))
    assert fetches(alb) == 1
    # Backoff: the next token is refused the same way, without another fetch.
    with pytest.raises(KeySetUnavailableError):
        verify(verifier, alb.mint(USER))
    assert fetches(alb) == 1


def test_non_p256_keys_are_invalid_jwks(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    alb.publish(alb.kids[0], _pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(InvalidJwksError, match="P-256"):
        verify(make(), alb.mint(USER))


def test_an_endpoint_that_is_down(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify, clock: Clock
) -> None:
    token = alb.mint(USER)
    alb.stop()
    verifier = make()
    with pytest.raises(KeySetUnavailableError):
        verify(verifier, token)
    assert verifier.stats.fetch_failures == 1
    alb.available = False
    alb.start()  # same port, now answering 503
    clock.now += 10  # past the first backoff
    with pytest.raises(KeySetUnavailableError):
        verify(verifier, token)
    alb.available = True
    clock.now += 20
    assert verify(verifier, token).sub == "0d1f-user"


def test_the_load_balancer_can_be_slow_but_not_endless(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    from cognito_jwt import FetchOptions

    alb.delay = 1.0
    with pytest.raises(KeySetUnavailableError):
        verify(
            make(fetch=FetchOptions(timeout=0.2, connect_timeout=0.2, retries=0)), alb.mint(USER)
        )


# --- The penalty box ------------------------------------------------------------------------------
def test_a_flood_of_random_kids_costs_one_fetch_per_window(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify, clock: Clock
) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    verifier = make(
        refresh=RefreshPolicy(cooldown=30, negative_kid_ttl=120),
        on_event=lambda name, details: events.append((name, dict(details))),
    )
    real = alb.kids[0]

    def forged(kid: str) -> str:
        return alb.mint(USER, kid=kid, signing_kid=real, lifetime=3600)

    first = str(uuid.uuid4())
    for kid in [first, *(str(uuid.uuid4()) for _ in range(99))]:
        with pytest.raises(KeyNotFoundError):
            verify(verifier, forged(kid))
    assert fetches(alb) == 1
    assert verifier.stats.fetches == 1
    assert verifier.stats.unknown_kid_rejections == 100
    assert any(name == "unknown_kid" and d["refreshed"] for name, d in events)

    clock.now += 31  # a new window: one more lookup ...
    for _ in range(50):
        with pytest.raises(KeyNotFoundError):
            verify(verifier, forged(str(uuid.uuid4())))
    assert fetches(alb) == 2
    clock.now += 31  # ... and a kid that was not found stays refused (negative cache)
    with pytest.raises(KeyNotFoundError, match="has no key"):
        verify(verifier, forged(first))
    assert fetches(alb) == 2
    assert alb.requests[f"/{first}"] == 1


def test_real_keys_are_not_held_back_by_each_other(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    kids = [alb.kids[0], alb.rotate(), alb.rotate()]
    verifier = make()
    for kid in kids:  # each lookup found its key: the cooldown is not charged
        assert verify(verifier, alb.mint(USER, kid=kid)).sub == "0d1f-user"
    assert fetches(alb) == 3


def test_the_number_of_keys_held_is_bounded(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    kids = [alb.kids[0], alb.rotate(), alb.rotate()]
    verifier = make(max_cached_keys=2)
    for kid in kids:
        verify(verifier, alb.mint(USER, kid=kid))
    source = verifier._keys
    assert source.kids == set(kids[1:])  # type: ignore[attr-defined]
    verify(verifier, alb.mint(USER, kid=kids[0]))  # dropped, so looked up again
    assert fetches(alb) == 4


# --- Single flight --------------------------------------------------------------------------------
def test_concurrent_first_requests_share_one_fetch_threads(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier]
) -> None:
    alb.delay = 0.3
    verifier = make()
    token = alb.mint(USER)
    barrier = threading.Barrier(16)

    def call(_: int) -> str | None:
        barrier.wait()
        return verifier.verify(token).sub

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(call, range(16)))
    assert results == ["0d1f-user"] * 16
    assert fetches(alb) == 1


def test_concurrent_first_requests_share_one_fetch_tasks(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier]
) -> None:
    alb.delay = 0.3
    verifier = make()
    token = alb.mint(USER)

    async def main() -> list[str | None]:
        claims = await asyncio.gather(*(verifier.verify_async(token) for _ in range(16)))
        return [c.sub for c in claims]

    assert asyncio.run(main()) == ["0d1f-user"] * 16
    assert fetches(alb) == 1


def test_concurrent_first_requests_with_different_real_kids_all_pass(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier]
) -> None:
    alb.delay = 0.2
    kids = [alb.kids[0], alb.rotate(), alb.rotate()]
    verifier = make()
    tokens = [alb.mint(USER, kid=kid) for kid in kids] * 4

    async def main() -> list[str | None]:
        claims = await asyncio.gather(*(verifier.verify_async(t) for t in tokens))
        return [c.sub for c in claims]

    assert asyncio.run(main()) == ["0d1f-user"] * 12
    assert fetches(alb) == 3


# --- The persistent store (L2) --------------------------------------------------------------------
def test_a_second_verifier_finds_the_key_in_the_file_store(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify, tmp_path: Path
) -> None:
    store = FileStore(tmp_path)
    token = alb.mint(USER)
    assert verify(make(store=store), token)
    assert fetches(alb) == 1
    assert store.path_for(f"{alb.public_key_url}/{alb.kids[0]}").exists()
    alb.stop()  # the second verifier never needs the endpoint
    second = make(store=FileStore(tmp_path))
    assert verify(second, token).sub == "0d1f-user"
    assert second.stats.fetches == 0
    assert second.stats.l2_loads == 1


def test_keys_in_the_store_are_served_through_a_flood_and_an_outage(
    alb: LocalLoadBalancer, make: Callable[..., AlbVerifier], verify: Verify
) -> None:
    store = MemoryStore()
    token = alb.mint(USER)
    make(store=store).verify(token)
    verifier = make(store=store)
    with pytest.raises(KeyNotFoundError):
        verify(verifier, alb.mint(USER, kid=str(uuid.uuid4()), signing_kid=alb.kids[0]))
    # The cooldown is charged now, but a stored key needs no lookup.
    assert verify(verifier, token).sub == "0d1f-user"
    # And during an outage (backoff) too.
    other = alb.rotate()
    make(store=store).verify(alb.mint(USER, kid=other))
    alb.available = False
    broken = make(store=store)
    with pytest.raises(KeySetUnavailableError):
        verify(broken, alb.mint(USER, kid=alb.rotate()))
    assert verify(broken, alb.mint(USER, kid=other)).sub == "0d1f-user"
