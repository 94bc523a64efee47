"""Revocation: the ``revocation=`` step of every verifier, and the in-memory ``DenyList``."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from cognito_jwt import (
    ClaimError,
    Claims,
    CognitoVerifier,
    ConfigurationError,
    CustomCheckError,
    DenyList,
    ExpiredTokenError,
    JwtVerifier,
    KeySetUnavailableError,
    RevocationCheck,
    RevocationUnavailableError,
    TokenRevokedError,
    VerificationRecord,
)
from cognito_jwt.adapters._web import rejection_for
from cognito_jwt.adapters.lambda_authorizer import Unauthorized, authorizer
from tests.helpers import FIXED_NOW, SigningKey, access_claims, id_claims

SUB = "8d2f5f0e-1111-4222-8333-444455556666"
JTI = "f00dfeed-0000-4000-8000-000000000002"
ORIGIN = "0c5c6f0e-aaaa-4bbb-8ccc-dddd0000eeee"
REST_TOKEN_EVENT = {
    "type": "TOKEN",
    "authorizationToken": "",
    "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/orders",
}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class Clock:
    def __init__(self, now: float = FIXED_NOW) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A revocation check that answers what it is told and records what it was asked."""

    def __init__(self, answer: object = False, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    def _answer(self, face: str, claims: Claims, token: str | None) -> Any:
        self.calls.append((face, claims.to_dict(), token))
        if self.error is not None:
            raise self.error
        return self.answer

    def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
        return self._answer("sync", claims, token)  # type: ignore[no-any-return]

    async def is_revoked_async(self, claims: Claims, token: str | None = None) -> bool:
        return self._answer("async", claims, token)  # type: ignore[no-any-return]


@pytest.fixture
def token(keys: dict[str, SigningKey]) -> str:
    return keys["RS256"].sign(access_claims())


# --- The protocol and the pipeline ---------------------------------------------------------------
def test_the_protocol_names_what_other_checks_implement() -> None:
    assert isinstance(DenyList(), RevocationCheck)
    assert isinstance(Recorder(), RevocationCheck)
    assert not isinstance(object(), RevocationCheck)


@pytest.mark.parametrize("cache", [0, 8])
def test_sync_verify_asks_is_revoked_with_claims_and_token(
    make_cognito: Callable[..., CognitoVerifier], token: str, cache: int
) -> None:
    check = Recorder()
    verifier = make_cognito(revocation=check, token_cache_size=cache)
    assert verifier.verify(token)["sub"] == SUB
    assert verifier.verify(token.encode())["sub"] == SUB  # bytes: the check gets text
    assert [(face, claims["jti"], raw) for face, claims, raw in check.calls] == [
        ("sync", JTI, token),
        ("sync", JTI, token),
    ]


@pytest.mark.parametrize("cache", [0, 8])
def test_async_verify_awaits_is_revoked_async(
    make_cognito: Callable[..., CognitoVerifier], token: str, cache: int
) -> None:
    check = Recorder()
    verifier = make_cognito(revocation=check, token_cache_size=cache)

    async def twice() -> None:
        await verifier.verify_async(token)
        await verifier.verify_async(token)

    run(twice())
    assert [face for face, _, _ in check.calls] == ["async", "async"]


@pytest.mark.parametrize("face", ["sync", "async"])
def test_the_audit_record_names_a_revocation_once_also_on_a_cache_hit(
    make_cognito: Callable[..., CognitoVerifier], token: str, face: str
) -> None:
    records: list[VerificationRecord] = []
    deny = DenyList(clock=Clock())
    verifier = make_cognito(revocation=deny, token_cache_size=8, on_decision=records.append)
    verify = verifier.verify if face == "sync" else lambda t: run(verifier.verify_async(t))
    verify(token)
    deny.revoke(JTI, expires_at=FIXED_NOW + 3600)
    with pytest.raises(TokenRevokedError):
        verify(token)
    assert [(r.outcome, r.error, r.cache_hit) for r in records] == [
        ("allow", None, False),
        ("deny", "ERR_TOKEN_REVOKED", True),
    ]


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_cached_token_revoked_later_is_refused(
    make_cognito: Callable[..., CognitoVerifier], token: str, face: str
) -> None:
    deny = DenyList(clock=Clock())
    verifier = make_cognito(revocation=deny, token_cache_size=8)
    verify = verifier.verify if face == "sync" else lambda t: run(verifier.verify_async(t))
    verify(token)
    verify(token)
    assert verifier.token_cache_stats is not None
    assert verifier.token_cache_stats["hits"] == 1
    deny.revoke(JTI, expires_at=FIXED_NOW + 3600)
    with pytest.raises(TokenRevokedError) as info:
        verify(token)
    assert verifier.token_cache_stats["hits"] == 2  # refused on a cache hit
    assert info.value.code == "ERR_TOKEN_REVOKED"
    assert isinstance(info.value, ClaimError)
    assert info.value.unverified_claims is not None
    assert info.value.unverified_claims["jti"] == JTI
    assert token not in str(info.value)


def test_revocation_runs_after_the_claim_checks_and_the_custom_check(
    make_cognito: Callable[..., CognitoVerifier], keys: dict[str, SigningKey]
) -> None:
    check = Recorder(answer=True)
    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 10))
    verifier = make_cognito(revocation=check, custom_check=lambda claims: False)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(expired)
    with pytest.raises(CustomCheckError):
        verifier.verify(keys["RS256"].sign(access_claims()))
    assert check.calls == []  # never asked about a token refused before


def test_every_verifier_takes_revocation(
    make_oidc: Callable[..., JwtVerifier], keys: dict[str, SigningKey]
) -> None:
    from cognito_jwt import AlbVerifier

    alb = AlbVerifier(
        alb_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/a/1",
        issuer=None,
        client_id=None,
        store=None,
        revocation=DenyList(),
    )
    assert alb._revocation
    deny = DenyList(clock=Clock())
    deny.revoke_subject("user-1", before=FIXED_NOW)
    oidc = make_oidc(revocation=deny)
    from tests.helpers import oidc_claims

    with pytest.raises(TokenRevokedError):
        oidc.verify(keys["RS256"].sign(oidc_claims(sub="user-1", iat=FIXED_NOW - 5)))
    assert oidc.verify(keys["RS256"].sign(oidc_claims(sub="user-2")))


@pytest.mark.parametrize("face", ["sync", "async"])
def test_a_sequence_of_checks_any_revoked_is_revoked(
    make_cognito: Callable[..., CognitoVerifier], token: str, face: str
) -> None:
    first, second, third = Recorder(), Recorder(answer=True), Recorder()
    verifier = make_cognito(revocation=[first, second, third])
    with pytest.raises(TokenRevokedError, match="Recorder"):
        verifier.verify(token) if face == "sync" else run(verifier.verify_async(token))
    assert (len(first.calls), len(second.calls), len(third.calls)) == (1, 1, 0)
    all_clear = make_cognito(revocation=(Recorder(), Recorder()))
    assert all_clear.verify(token) if face == "sync" else run(all_clear.verify_async(token))


@pytest.mark.parametrize("face", ["sync", "async"])
@pytest.mark.parametrize(
    "check",
    [
        Recorder(error=ConnectionError("redis down")),
        Recorder(error=KeyError("boom")),
        Recorder(error=ConfigurationError("a JwtError of another kind")),
        Recorder(answer=None),
        Recorder(answer="yes"),
        Recorder(answer=1),
    ],
    ids=["network", "bug", "jwt-error", "none", "str", "int"],
)
def test_a_check_that_cannot_decide_fails_closed(
    make_cognito: Callable[..., CognitoVerifier], token: str, face: str, check: Recorder
) -> None:
    verifier = make_cognito(revocation=check)
    with pytest.raises(RevocationUnavailableError) as info:
        verifier.verify(token) if face == "sync" else run(verifier.verify_async(token))
    assert info.value.code == "ERR_REVOCATION_UNAVAILABLE"
    assert isinstance(info.value, KeySetUnavailableError)
    if check.error is not None:
        assert info.value.__cause__ is check.error
    assert info.value.unverified_claims is not None
    assert token not in str(info.value)


def test_a_later_revoked_answer_wins_over_an_earlier_failure(
    make_cognito: Callable[..., CognitoVerifier], token: str
) -> None:
    verifier = make_cognito(revocation=[Recorder(error=OSError("down")), Recorder(answer=True)])
    with pytest.raises(TokenRevokedError):
        verifier.verify(token)


@pytest.mark.parametrize(
    "error", [TokenRevokedError("signed out"), RevocationUnavailableError("timeout")]
)
def test_a_check_may_raise_the_revocation_errors_itself(
    make_cognito: Callable[..., CognitoVerifier], token: str, error: Exception
) -> None:
    with pytest.raises(type(error)) as info:
        make_cognito(revocation=Recorder(error=error)).verify(token)
    assert info.value is error


def test_an_async_is_revoked_in_sync_verify_is_refused_not_leaked(
    make_cognito: Callable[..., CognitoVerifier], token: str
) -> None:
    class AsyncOnly(Recorder):
        def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
            return self.is_revoked_async(claims, token)  # type: ignore[return-value]

    with pytest.raises(RevocationUnavailableError, match="verify_async"):
        make_cognito(revocation=AsyncOnly()).verify(token)


@pytest.mark.parametrize("value", [object(), "deny", [DenyList(), 3], lambda claims: False])
def test_revocation_must_be_checks(
    make_cognito: Callable[..., CognitoVerifier], value: object
) -> None:
    with pytest.raises(ConfigurationError, match="RevocationCheck"):
        make_cognito(revocation=value)


# --- The adapters' answers ------------------------------------------------------------------------
def test_web_adapters_answer_401_revoked_and_503_unavailable() -> None:
    revoked = rejection_for(TokenRevokedError("the token was revoked (DenyList)"), "api")
    assert revoked.status == 401
    assert json.loads(revoked.body) == {
        "error": "invalid_token",
        "error_description": "the token was revoked",
        "code": "ERR_TOKEN_REVOKED",
    }
    unknown = rejection_for(RevocationUnavailableError("redis down"), "api")
    assert unknown.status == 503
    body = json.loads(unknown.body)
    assert body["error"] == "temporarily_unavailable"
    assert body["code"] == "ERR_REVOCATION_UNAVAILABLE"
    assert "redis" not in body["error_description"]
    assert dict(unknown.headers).get("Retry-After")


def test_lambda_authorizer_refuses_revoked_and_errors_when_unknown(
    make_cognito: Callable[..., CognitoVerifier], token: str
) -> None:
    deny = DenyList(clock=Clock())
    handler = authorizer(make_cognito(revocation=deny), hydrate=False)
    event = dict(REST_TOKEN_EVENT, authorizationToken=f"Bearer {token}")
    assert handler(event, None)["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    deny.revoke_origin(ORIGIN)
    with pytest.raises(Unauthorized):
        handler(event, None)
    down = authorizer(make_cognito(revocation=Recorder(error=OSError("down"))), hydrate=False)
    with pytest.raises(RevocationUnavailableError):
        down(event, None)  # our outage: an error (API Gateway answers 500), not a 401


def test_asgi_middleware_answers_401_revoked_and_503_unavailable(
    make_cognito: Callable[..., CognitoVerifier], token: str
) -> None:
    from cognito_jwt.adapters.asgi import BearerAuthMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def call(check: object) -> tuple[int, dict[str, Any]]:
        middleware = BearerAuthMiddleware(app, make_cognito(revocation=check))
        sent: list[dict[str, Any]] = []
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/orders",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        run(middleware(scope, receive, send))
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return sent[0]["status"], (json.loads(body) if sent[0]["status"] != 200 else {})

    deny = DenyList(clock=Clock())
    assert call(deny)[0] == 200
    deny.revoke(JTI)
    assert call(deny) == (
        401,
        {
            "error": "invalid_token",
            "error_description": "the token was revoked",
            "code": "ERR_TOKEN_REVOKED",
        },
    )
    status, body = call(Recorder(error=TimeoutError()))
    assert (status, body["code"]) == (503, "ERR_REVOCATION_UNAVAILABLE")


# --- DenyList -------------------------------------------------------------------------------------
def claims_of(**overrides: Any) -> Claims:
    return Claims(access_claims(**overrides))


def test_revoke_by_jti_covers_that_token_only() -> None:
    deny = DenyList(clock=Clock())
    deny.revoke(JTI)
    assert deny.is_revoked(claims_of())
    assert not deny.is_revoked(claims_of(jti="another"))
    assert not deny.is_revoked(claims_of(jti=None, origin_jti=None))


def test_revoke_origin_covers_the_access_and_id_tokens_of_one_session() -> None:
    deny = DenyList(clock=Clock())
    deny.revoke_origin(ORIGIN)
    assert deny.is_revoked(claims_of(jti="access-1"))
    assert deny.is_revoked(Claims(id_claims(origin_jti=ORIGIN, jti="id-1")))
    assert not deny.is_revoked(claims_of(origin_jti="other-session"))
    assert run(deny.is_revoked_async(claims_of(jti="access-2")))


def test_revoke_subject_covers_tokens_issued_at_or_before_the_cutoff() -> None:
    deny = DenyList(clock=Clock())
    deny.revoke_subject(SUB, before=FIXED_NOW)
    assert deny.is_revoked(claims_of(iat=FIXED_NOW - 1, auth_time=FIXED_NOW - 1))
    assert deny.is_revoked(claims_of(iat=FIXED_NOW, auth_time=FIXED_NOW))  # same second
    assert not deny.is_revoked(claims_of(iat=FIXED_NOW + 1, auth_time=FIXED_NOW + 1))
    # A session that signed in before the cut-off stays covered after a refresh.
    assert deny.is_revoked(claims_of(iat=FIXED_NOW + 60, auth_time=FIXED_NOW - 600))
    # Nothing shows the token is newer: covered.
    assert deny.is_revoked(claims_of(iat=None, auth_time=None))
    assert deny.is_revoked(claims_of(iat="late", auth_time=None))
    assert not deny.is_revoked(claims_of(sub="someone-else", iat=FIXED_NOW - 1))


def test_revoke_subject_defaults_to_now_and_keeps_the_later_cutoff() -> None:
    clock = Clock()
    deny = DenyList(clock=clock)
    deny.revoke_subject(SUB)
    deny.revoke_subject(SUB, before=FIXED_NOW - 100)  # older: ignored
    assert deny.is_revoked(claims_of(iat=FIXED_NOW - 50, auth_time=FIXED_NOW - 50))
    assert len(deny) == 1


def test_entries_expire_with_the_tokens_they_cover() -> None:
    clock = Clock()
    deny = DenyList(clock=clock, default_lifetime=3600)
    deny.revoke("by-exp", expires_at=FIXED_NOW + 60)
    deny.revoke("by-default")
    deny.revoke_subject(SUB, before=FIXED_NOW)
    deny.revoke("already-expired", expires_at=FIXED_NOW - 301)
    assert len(deny) == 3  # the expired one was never stored
    clock.now = FIXED_NOW + 60 + 299  # within the 5-minute margin
    assert deny.is_revoked(claims_of(jti="by-exp", sub="x"))
    clock.now = FIXED_NOW + 60 + 300
    assert not deny.is_revoked(claims_of(jti="by-exp", sub="x"))
    assert deny.is_revoked(claims_of(jti="by-default", sub="x"))
    clock.now = FIXED_NOW + 3600 + 300
    assert not deny.is_revoked(claims_of(jti="by-default", sub="x"))
    assert not deny.is_revoked(claims_of(iat=FIXED_NOW - 1))
    assert deny.purge() == 3
    assert len(deny) == 0


def test_a_full_list_purges_expired_entries_then_refuses_loudly() -> None:
    clock = Clock()
    deny = DenyList(clock=clock, max_entries=2)
    deny.revoke("a", expires_at=FIXED_NOW + 10)
    deny.revoke_origin("b", expires_at=FIXED_NOW + 1000)
    with pytest.raises(RevocationUnavailableError, match="full"):
        deny.revoke_subject("c")
    deny.revoke("a", expires_at=FIXED_NOW + 20)  # an existing entry: no room needed
    assert deny.is_revoked(claims_of(jti="a", origin_jti=None))
    assert deny.is_revoked(claims_of(jti=None, origin_jti="b"))  # nothing was evicted
    clock.now = FIXED_NOW + 400  # "a" expired: its room is taken back
    deny.revoke("c")
    assert len(deny) == 2
    assert deny.is_revoked(claims_of(jti="c"))


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.revoke(""),
        lambda d: d.revoke(None),
        lambda d: d.revoke("x" * 1025),
        lambda d: d.revoke("x", expires_at="soon"),
        lambda d: d.revoke("x", expires_at=float("nan")),
        lambda d: d.revoke_origin(3),
        lambda d: d.revoke_subject("s", before=True),
    ],
)
def test_bad_input_to_revoke_is_a_configuration_error(call: Callable[[DenyList], None]) -> None:
    with pytest.raises(ConfigurationError):
        call(DenyList())


@pytest.mark.parametrize(
    "options", [{"max_entries": 0}, {"max_entries": True}, {"default_lifetime": 0}, {"clock": 3}]
)
def test_bad_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        DenyList(**options)


def test_the_async_faces_do_the_same() -> None:
    deny = DenyList(clock=Clock())

    async def revoke_all() -> None:
        await deny.revoke_async("j")
        await deny.revoke_origin_async("o")
        await deny.revoke_subject_async("s", before=FIXED_NOW)

    run(revoke_all())
    assert deny.is_revoked(claims_of(jti="j", origin_jti=None))
    assert deny.is_revoked(claims_of(jti=None, origin_jti="o"))
    assert deny.is_revoked(claims_of(jti=None, origin_jti=None, sub="s"))


def test_concurrent_revokes_respect_the_bound() -> None:
    deny = DenyList(clock=Clock(), max_entries=500)
    barrier = threading.Barrier(4)
    refused: list[int] = []

    def revoke_or_refuse(jti: str) -> int:
        try:
            deny.revoke(jti)
        except RevocationUnavailableError:
            return 1
        return 0

    def work(n: int) -> None:
        barrier.wait()
        refused.extend(revoke_or_refuse(f"{n}-{i}") for i in range(200))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(deny) == 500
    assert sum(refused) == 300
