"""Lambda SnapStart: keys hydrated at init are restored, in many copies, minutes or days later.

The clock jumps forward (a restore days after the snapshot) and :func:`cognito_jwt.after_restore`
runs as the runtime would run it; the connections side is in ``test_http_own_connections``.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import cognito_jwt
from cognito_jwt import ExpiredTokenError, JwtVerifier
from cognito_jwt.testing import LocalIssuer
from tests.fake_issuer import FakeClock

DAY = 86400.0


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


def fake_runtime() -> tuple[Callable[..., Any], list[Callable[[], None]]]:
    """``snapshot_restore_py.register_after_restore`` as the runtime offers it, and a way to
    run the registered hooks as the runtime does after a restore."""
    hooks: list[Callable[[], None]] = []

    def register_after_restore(func: Callable[..., None], *args: Any, **kwargs: Any) -> Any:
        hooks.append(lambda: func(*args, **kwargs))
        return func

    return register_after_restore, hooks


def init_phase(issuer: LocalIssuer, clock: FakeClock, **options: Any) -> JwtVerifier:
    """What a handler module does at init: build a verifier, hydrate it, register the hook."""
    register_after_restore, _ = fake_runtime()
    verifier = JwtVerifier(
        issuer=issuer.issuer,
        audience="api",
        jwks_uri=issuer.jwks_uri,
        store=None,
        clock=clock,
        **options,
    )
    verifier.hydrate()
    register_after_restore(cognito_jwt.after_restore)
    return verifier


def mint(issuer: LocalIssuer, clock: FakeClock, lifetime: float = 600) -> str:
    now = int(clock())
    return issuer.mint({"sub": "u", "aud": "api", "iat": now, "exp": now + int(lifetime)})


def test_the_hook_registers_in_one_line_and_runs_without_arguments() -> None:
    register_after_restore, hooks = fake_runtime()
    assert register_after_restore(cognito_jwt.after_restore) is cognito_jwt.after_restore
    for hook in hooks:  # the runtime, after a restore
        hook()
    assert "after_restore" in cognito_jwt.__all__


def test_keys_hydrated_at_init_refresh_when_used_days_later(issuer: LocalIssuer) -> None:
    clock = FakeClock(time.time())
    verifier = init_phase(issuer, clock)
    assert verifier.stats.fetches == 1
    issuer.rotate()  # the issuer rotated its keys while the snapshot slept
    issuer.retire()
    clock.advance(3 * DAY)  # restored three days after the snapshot
    cognito_jwt.after_restore()
    assert verifier.verify(mint(issuer, clock))["sub"] == "u"
    assert verifier.stats.fetches == 2  # the key set's age is taken now: it was refreshed
    assert set(verifier.stats.refreshes) - {"initial"}  # by age or by the unknown kid


def test_a_token_cached_before_the_snapshot_expires_on_the_clock_after_it(
    issuer: LocalIssuer,
) -> None:
    clock = FakeClock(time.time())
    verifier = init_phase(issuer, clock, token_cache_size=8)
    token = mint(issuer, clock, lifetime=600)
    assert verifier.verify(token)["sub"] == "u"  # e.g. a warm-up call at init
    clock.advance(DAY)
    cognito_jwt.after_restore()
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)


def test_after_restore_mixes_fresh_entropy_into_the_ssl_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mixed: list[tuple[bytes, float]] = []
    monkeypatch.setattr(ssl, "RAND_add", lambda data, entropy: mixed.append((data, entropy)))
    cognito_jwt.after_restore()
    cognito_jwt.after_restore()
    assert len(mixed) == 2
    assert all(len(data) == 64 and entropy == 64.0 for data, entropy in mixed)
    assert mixed[0][0] != mixed[1][0]  # from os.urandom, fresh in every restored copy


def test_client_assertion_ids_come_from_the_operating_system(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``jti`` is drawn from :mod:`secrets` (the OS generator, never copied by a snapshot)."""
    import secrets

    from cognito_jwt._client._assertion import ClientAssertionSigner

    drawn: list[int] = []
    real = secrets.token_urlsafe

    def spy(nbytes: int | None = None) -> str:
        drawn.append(nbytes or 0)
        return real(nbytes)

    monkeypatch.setattr(secrets, "token_urlsafe", spy)
    key = cognito_jwt.generate_client_key("ES256")
    signer = ClientAssertionSigner(
        client_id="c", key=key.private_key, kid=key.kid, audience="https://idp/token"
    )
    a, b = signer.sign(), signer.sign()
    assert a != b
    assert drawn == [32, 32]


class _Pool:
    """A client whose connection pool after_restore empties (stands for boto3's and redis')."""

    def __init__(self) -> None:
        self.emptied = 0

    def empty(self) -> None:
        self.emptied += 1


def test_after_restore_empties_every_registered_pool_and_forgets_the_gone() -> None:
    import gc

    from cognito_jwt._http import drop_pool_on_restore

    live, failing, gone = _Pool(), _Pool(), _Pool()
    drop_pool_on_restore(live, _Pool.empty)

    def cannot(pool: _Pool) -> None:
        raise RuntimeError("this pool can't be closed now")

    drop_pool_on_restore(failing, cannot)  # its failure stops neither the hook nor the others
    drop_pool_on_restore(42, _Pool.empty)  # not weakly held: left alone, no error
    emptied: list[object] = []
    drop_pool_on_restore(gone, emptied.append)
    del gone
    gc.collect()

    cognito_jwt.after_restore()
    cognito_jwt.after_restore()

    assert live.emptied == 2
    assert emptied == []  # a client nobody holds any more is forgotten, not kept alive
